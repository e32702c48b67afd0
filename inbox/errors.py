"""Errors the domain raises for the edge to translate (404, 400, 409, 413, 415)."""


class NotFound(LookupError):
    """Missing, or not visible to this agent (the two look the same from outside)."""


class Invalid(ValueError):
    """The request cannot be carried out as asked (400)."""


class TooLarge(Invalid):
    """Past one of the size limits (413)."""


class Unsupported(Invalid):
    """A kind of content this endpoint does not take (415)."""


class Conflict(Exception):
    """The request clashes with the current state (409)."""
