"""HTML mail made safe to show (nh3), turned into text, and its quoted part found."""

from __future__ import annotations

import html
import re

import nh3

# Only schemes that cannot run code; cid: names an inline image of the same mail.
URL_SCHEMES = {"http", "https", "mailto", "cid"}
DROP_WITH_CONTENT = {
    "script",
    "style",
    "title",
    "head",
    "template",
    "noscript",
    "iframe",
    "object",
    "embed",
    "textarea",
    "select",
    "svg",
    "math",
    "form",
}
_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
# Every image source but the mail's own cid: parts is held back: a remote one tracks the reader,
# and a relative one would make the agent's browser request the app's own URLs with its cookie.
_REMOTE_SRC = re.compile(r'\ssrc="((?!cid:)[^"]*)"', re.IGNORECASE)
_BLOCK_END = re.compile(
    r"<(?:br\s*/?|/p|/div|/tr|/li|/h[1-6]|/blockquote|/table)\s*>", re.IGNORECASE
)
_BLANKS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
# Where mail clients start the quoted original inside an HTML reply.
_QUOTE_STARTS = re.compile(
    r"<(?:div|blockquote)[^>]*(?:class=\"?[^\">]*(?:gmail_quote|yahoo_quoted|moz-cite-prefix)"
    r"|id=\"?(?:divRplyFwdMsg|appendonsend|reply-intro)|type=\"?cite)"
    r"|<hr[^>]*id=\"?stopSpelling"
    r"|<div[^>]*style=\"[^\"]*border-top:\s*solid\s*#(?:E1E1E1|B5C4DF)",
    re.IGNORECASE,
)


def sanitise(source: str) -> tuple[str, int]:
    """Safe HTML and how many remote images were held back (moved to data-remote-src)."""
    cleaned = nh3.clean(
        source,
        clean_content_tags=DROP_WITH_CONTENT,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    held = 0

    def hold(tag: re.Match[str]) -> str:
        nonlocal held
        # nh3 escapes quotes and angle brackets inside attributes, so this match is exact.
        replaced, count = _REMOTE_SRC.subn(r' data-remote-src="\1"', tag.group(0))
        held += count
        return replaced

    return _IMG.sub(hold, cleaned), held


def to_text(source: str) -> str:
    """The readable text of an HTML body (for mail that has no plain-text part)."""
    marked = _BLOCK_END.sub("\n", source)
    bare = nh3.clean(marked, tags=set(), clean_content_tags=DROP_WITH_CONTENT)
    text = html.unescape(bare).replace("\xa0", " ")
    lines = [line.rstrip() for line in text.splitlines()]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def without_quote(source: str) -> str:
    """The HTML before the first quoted original a mail client appended, else all of it."""
    found = _QUOTE_STARTS.search(source)
    if found is None or found.start() == 0:
        return source
    return source[: found.start()]
