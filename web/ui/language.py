"""The agent UI's languages: English source strings, Korean from gettext catalogs.

Templates call `_("...")` (Jinja's i18n extension, new style, so `%(name)s` values are escaped).
The language is the signed-in agent's choice, else the browser's `Accept-Language`.
Each UI area keeps its own catalog file in `locale/ko/`, so areas never edit one shared file.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po
from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from inbox.errors import DomainError
from web.ui.session import NO_BROWSER_STATE

LOCALES = Path(__file__).parent / "locale"
LANGUAGES = ("en", "ko")
DEFAULT = "en"
NAMES = {"en": "English", "ko": "한국어"}
# API, webhook and widget answers stay English: integrators' tests read those messages.
MACHINE_PATH = re.compile("|".join(NO_BROWSER_STATE))


@cache
def catalog(language: str) -> dict[str, str]:
    """Every translated string of one language, merged from its catalog files."""
    strings: dict[str, str] = {}
    for path in sorted((LOCALES / language).glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle):
                if message.id and isinstance(message.id, str) and message.string:
                    strings[message.id] = str(message.string)
    return strings


def from_accept_language(header: str | None) -> str:
    """The first supported language in an Accept-Language header, by quality."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else DEFAULT


def language_of(request: Any) -> str:
    """The page's language: the agent's choice (set with the viewer), else the browser's."""
    chosen = request.scope.get("state", {}).get("ui_language")
    if chosen in LANGUAGES:
        return str(chosen)
    return from_accept_language(request.headers.get("accept-language"))


def translate(language: str, text: str) -> str:
    """One string in `language`; English (the source) when there is no translation."""
    return text if language == DEFAULT else catalog(language).get(text, text)


def translate_error(request: Any, error: str | BaseException) -> str:
    """An error message in the agent UI's language; English on machine paths."""
    # Plain str, never Markup: messages can carry what a user typed, so templates escape them.
    text = str(error)
    if MACHINE_PATH.match(request.url.path):
        return text
    language = language_of(request)
    if isinstance(error, DomainError) and error.values:
        # The template is translated, then filled: the values (a file name, a limit) stay as is.
        return translate(language, error.template) % error.values
    return translate(language, text)


@pass_context
def _gettext(context: Context, text: str) -> str:
    request = context.get("request")
    return translate(language_of(request) if request is not None else DEFAULT, text)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, count: int) -> str:
    return _gettext(context, singular if count == 1 else plural)


@pass_context
def _page_language(context: Context) -> str:
    request = context.get("request")
    return language_of(request) if request is not None else DEFAULT


def install(environment: Environment) -> None:
    """Give the templates `_`, `ngettext`, `ui_language()` and the language names."""
    environment.add_extension("jinja2.ext.i18n")
    environment.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    environment.globals["ui_language"] = _page_language
    environment.globals["ui_languages"] = NAMES
