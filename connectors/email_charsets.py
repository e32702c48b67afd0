"""Charsets and encoded headers as real mail uses them: supersets, broken labels, raw 8-bit."""

from __future__ import annotations

import codecs
import re
from email.header import decode_header

# Mail labels a charset by its old name; the superset reads what senders actually wrote.
SUPERSETS = {
    "euc-kr": "cp949",
    "euc_kr": "cp949",
    "euckr": "cp949",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "ksc5601": "cp949",
    "ksc_5601": "cp949",
    "windows-949": "cp949",
    "x-windows-949": "cp949",
    "unified-hangul": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "iso-2022-jp": "iso2022_jp_ext",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
}
# Undeclared or wrongly declared 8-bit text: the likely candidates in this order.
GUESSES = ("utf-8", "cp949", "cp1252")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_FOLD = re.compile(r"\r?\n[ \t]*")


def codec_for(label: str | None) -> str | None:
    """The Python codec to read a declared charset with, or None when it is unknown."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    name = SUPERSETS.get(name, name)
    try:
        codecs.lookup(name)
    except LookupError:
        return None
    return name


def decode_text(data: bytes, label: str | None = None) -> tuple[str, bool]:
    """Text from bytes: the declared charset, else the likely ones; True when it was a guess."""
    declared = codec_for(label)
    tried = [declared] if declared else []
    for name in (*tried, *GUESSES):
        try:
            return data.decode(name), name != declared
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("utf-8", errors="replace"), True


def header_text(raw: object) -> str:
    """A header value decoded for people: RFC 2047 words, raw 8-bit, one line, no controls."""
    if raw is None:
        return ""
    value = _FOLD.sub(" ", str(raw))
    if any(ord(c) > 127 for c in value):
        # The parser kept raw 8-bit header bytes as surrogates (or UTF-8 per RFC 6532).
        value = decode_text(value.encode("utf-8", "surrogateescape"))[0]
    try:
        parts = decode_header(value)
    except Exception:  # a broken encoded word: show what was there
        return one_line(value)
    out = []
    for chunk, charset in parts:
        if isinstance(chunk, bytes):
            out.append(decode_text(chunk, charset)[0] if charset else _ascii(chunk))
        else:
            out.append(chunk)
    return one_line("".join(out))


def _ascii(chunk: bytes) -> str:
    return decode_text(chunk)[0]


def one_line(text: str) -> str:
    """No CR, LF or other control characters: what may go in a header or a subject line."""
    return _CONTROL.sub("", text.replace("\r", " ").replace("\n", " ").replace("\t", " ")).strip()
