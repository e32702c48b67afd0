"""Errors the domain raises for the edge to translate (404, 400, 409, 413, 415).

A message is English with `%(name)s` placeholders and the values apart (`Invalid("%(name)s is
empty", name=filename)`), so the agent UI can show it in the agent's language; `str()` is the
English text that API clients read.
"""

from __future__ import annotations


class DomainError(Exception):
    """An error whose message is an English template and the values that fill it."""

    def __init__(self, message: str = "", **values: object) -> None:
        self.template = message
        self.values = values
        super().__init__(message % values if values else message)


class NotFound(DomainError, LookupError):
    """Missing, or not visible to this agent (the two look the same from outside)."""


class Invalid(DomainError, ValueError):
    """The request cannot be carried out as asked (400)."""


class TooLarge(Invalid):
    """Past one of the size limits (413)."""


class Unsupported(Invalid):
    """A kind of content this endpoint does not take (415)."""


class Conflict(DomainError):
    """The request clashes with the current state (409)."""
