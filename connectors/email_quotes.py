"""Fold quoted replies and signatures out of a plain-text mail body (English and Korean)."""

from __future__ import annotations

import re

# The line a client writes above the quoted original.
_HEADER_LINE = re.compile(
    r"^\s*(?:"
    r"-{2,}\s*(?:original message|원본 메시지|원본 메일|forwarded message|전달된 메시지)\s*-{2,}"
    r"|on\b.{0,200}\bwrote:$"  # On Mon, 2 Apr 2012, Bob <b@x> wrote:
    r"|.{0,200}님이 (?:작성|쓴 글|보낸 메일):?$"  # 2024년 1월 5일 (금) ..., 홍길동 <..>님이 작성:
    r"|.{0,200}\d{4}\.\s?\d{1,2}\.\s?\d{1,2}\.?.{0,100}작성:$"
    r"|_{20,}$"  # Outlook's rule above From:/Sent:
    r")",
    re.IGNORECASE,
)
# Outlook-style header blocks: a From line followed closely by Sent/Date/To.
_FROM_LINE = re.compile(r"^\s*\*?(?:from|보낸 사람|보낸사람)\s*:\*?\s", re.IGNORECASE)
_FROM_NEXT = re.compile(
    r"^\s*\*?(?:sent|date|to|보낸 날짜|날짜|받는 사람|받는사람)\s*:", re.IGNORECASE
)
_SIGNATURE_DELIMITER = re.compile(r"^--\s?$")
_MOBILE_SIGNATURE = re.compile(
    r"^\s*(?:sent from my \w[\w ]{0,40}|sent from (?:mail|outlook) for \w+|sent with sparrow.*"
    r"|get outlook for \w+.*|sent from yahoo mail.*|sent via .{0,40}"
    r"|.{0,30}에서 보냄|.{0,30}에서 보냈습니다\.?|네이버 메일.{0,20}|iphone에서 보냄)\s*$",
    re.IGNORECASE,
)


def fold(text: str) -> str:
    """The new content of a reply: quoted originals and signatures folded away."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = _quote_start(lines)
    kept = lines[:start] if start is not None else lines
    if not _has_content(kept):
        # Bottom-posting: the quote came first; keep what is not quoted.
        kept = [ln for i, ln in enumerate(lines) if not _quoted(ln) and i != start]
    kept = _drop_trailing_quote(kept)
    kept = _drop_signature(kept)
    folded = "\n".join(kept).strip("\n").rstrip()
    return folded if folded.strip() else text


def _quote_start(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        joined = f"{stripped} {lines[i + 1].strip()}" if i + 1 < len(lines) else stripped
        if _HEADER_LINE.match(stripped) or (
            stripped.lower().startswith("on ") and _HEADER_LINE.match(joined)
        ):
            return i
        if _FROM_LINE.match(line) and any(_FROM_NEXT.match(n) for n in lines[i + 1 : i + 4]):
            return i
        if stripped.endswith(":") and _next_is_quote(lines, i):
            return i  # "<date> <name> написал:" and other languages' reply headers
        wrapped = i + 1 < len(lines) and not _quoted(lines[i + 1])
        if wrapped and joined.endswith(":") and _next_is_quote(lines, i + 1):
            return i  # the same, wrapped over two lines
    return None


def _next_is_quote(lines: list[str], i: int) -> bool:
    for line in lines[i + 1 : i + 3]:
        if line.strip():
            return _quoted(line)
    return False


def _quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _has_content(lines: list[str]) -> bool:
    return any(ln.strip() and not _quoted(ln) for ln in lines)


def _drop_trailing_quote(lines: list[str]) -> list[str]:
    end = len(lines)
    while end > 0 and (not lines[end - 1].strip() or _quoted(lines[end - 1])):
        end -= 1
    return lines[:end]


def _drop_signature(lines: list[str]) -> list[str]:
    for i in range(1, len(lines)):
        if _SIGNATURE_DELIMITER.match(lines[i]) and _has_content(lines[:i]):
            lines = lines[:i]
            break
    end = len(lines)
    while end > 1 and (not lines[end - 1].strip() or _MOBILE_SIGNATURE.match(lines[end - 1])):
        end -= 1
    return lines[:end] if _has_content(lines[:end]) else lines
