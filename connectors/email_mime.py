"""Read a raw MIME message into its parts: never raises, notes every defect it works around."""

from __future__ import annotations

import email.utils
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import Message
from email.parser import BytesParser
from typing import cast

from connectors.email_charsets import decode_text, header_text
from connectors.email_html import sanitise, to_text, without_quote
from inbox.channel import InboundAttachment, InvalidInbound

TEXT_TYPES = {"text/plain", "text/html"}


@dataclass
class MailPart:
    """An attachment or inline image found in the message."""

    filename: str
    content_type: str
    data: bytes
    content_id: str | None = None
    inline: bool = False


@dataclass
class ParsedMail:
    """What could be read of one message."""

    message: Message
    text: str = ""
    html_source: str | None = None
    attachments: list[MailPart] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    reports: list[Message] = field(default_factory=list)  # delivery/disposition report parts
    text_from_html: bool = False

    def header(self, name: str) -> str:
        """The first value of a header, decoded for people (empty when absent)."""
        raw = raw_header(self.message, name)
        return header_text(raw) if raw is not None else ""

    def raw(self, name: str) -> str | None:
        return raw_header(self.message, name)

    def all_raw(self, name: str) -> list[str]:
        wanted = name.lower()
        return [_readable(str(v)) for k, v in _raw_items(self.message) if k.lower() == wanted]

    @property
    def subject(self) -> str:
        return self.header("subject")

    @property
    def sent_at(self) -> datetime | None:
        raw = self.raw("date")
        try:
            return email.utils.parsedate_to_datetime(header_text(raw)) if raw else None
        except (TypeError, ValueError, IndexError, OverflowError):
            return None

    def safe_html(self) -> tuple[str | None, int]:
        """The sanitised HTML body and the number of remote images held back."""
        if not self.html_source:
            return None, 0
        return sanitise(self.html_source)

    def new_html_text(self) -> str:
        """The text of the HTML body before the client's quoted original."""
        return to_text(without_quote(self.html_source or ""))

    def inbound_attachments(self) -> tuple[InboundAttachment, ...]:
        return tuple(
            InboundAttachment(a.filename, a.content_type, a.data) for a in self.attachments
        )


def parse_mime(raw: bytes, max_depth: int) -> ParsedMail:
    """Parse `raw`; whatever is broken is skipped and listed in `defects`."""
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except RecursionError as exc:
        # The stdlib parser recurses per level; thousands of levels are an attack, not mail.
        raise InvalidInbound(f"MIME is nested far deeper than {max_depth} levels") from exc
    mail = ParsedMail(message=message)
    plain: list[str] = []
    html: list[str] = []
    stack: list[tuple[Message, int]] = [(message, 0)]
    while stack:
        part, depth = stack.pop()
        mail.defects.extend(type(d).__name__ for d in getattr(part, "defects", ()))
        if depth > max_depth:
            mail.defects.append(f"MIME nesting deeper than {max_depth} levels: rest skipped")
            continue
        try:
            _visit(part, depth, stack, mail, plain, html)
        except Exception as exc:  # one broken part must not lose the rest of the message
            mail.defects.append(f"unreadable part: {type(exc).__name__}")
    mail.text = "\n\n".join(t.strip("\n") for t in plain if t.strip()).rstrip()
    mail.html_source = "\n".join(html) or None
    if not mail.text.strip() and mail.html_source:
        mail.text = to_text(mail.html_source)
        mail.text_from_html = True
    return mail


def _visit(
    part: Message,
    depth: int,
    stack: list[tuple[Message, int]],
    mail: ParsedMail,
    plain: list[str],
    html: list[str],
) -> None:
    ctype = part.get_content_type()
    if ctype in (
        "message/delivery-status",
        "message/disposition-notification",
        "message/feedback-report",
        "text/rfc822-headers",
    ):
        mail.reports.append(part)
        return
    if part.is_multipart():
        payload = part.get_payload()
        if not isinstance(payload, list):
            return
        # The parser fills a multipart payload with Messages only (typeshed also allows str).
        children = cast(list[Message], payload)
        if ctype == "message/rfc822":
            mail.reports.append(part)
            _attach(part, mail, "message/rfc822")
            return
        if ctype == "multipart/alternative":
            children = _best_alternatives(children)
        for child in reversed(children):
            stack.append((child, depth + 1))
        return
    disposition = (part.get_content_disposition() or "").lower()
    filename = _filename(part, mail)
    if ctype in TEXT_TYPES and disposition != "attachment" and not filename:
        body = _decoded(part)
        text, guessed = decode_text(body, part.get_content_charset())
        if guessed and body and not body.isascii():
            mail.defects.append(f"charset {part.get_content_charset() or 'undeclared'} guessed")
        # Line endings are the transport's; the text is the same either way.
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        (html if ctype == "text/html" else plain).append(text)
        return
    _attach(part, mail, ctype)


def _best_alternatives(children: list[Message]) -> list[Message]:
    """Of alternatives, the plain-text and the HTML version (clients put the richest last)."""
    chosen: dict[str, Message] = {}
    others: list[Message] = []
    for child in children:
        ctype = child.get_content_type()
        if ctype in TEXT_TYPES:
            chosen[ctype] = child
        elif child.is_multipart():
            others.append(child)
    if "text/html" in chosen and any(c.get_content_type() == "multipart/related" for c in others):
        del chosen["text/html"]  # the related part holds the HTML with its inline images
    return [*chosen.values(), *others]


def _decoded(part: Message) -> bytes:
    """The body of a part that is not multipart, its transfer encoding undone."""
    # Such a part decodes to bytes (or None when empty); typeshed also allows a Message.
    return cast(bytes, part.get_payload(decode=True) or b"")


def _attach(part: Message, mail: ParsedMail, ctype: str) -> None:
    if ctype == "message/rfc822":
        inner = part.get_payload()
        # The parser keeps the attached message as a one-Message list (typeshed also allows str).
        data = cast(Message, inner[0]).as_bytes() if isinstance(inner, list) and inner else b""
    else:
        data = _decoded(part)
    content_id = (part.get("content-id") or "").strip().strip("<>") or None
    name = _filename(part, mail) or _default_name(ctype)
    inline = (part.get_content_disposition() or "") == "inline" or content_id is not None
    mail.attachments.append(MailPart(name, ctype, data, content_id, inline))


def _filename(part: Message, mail: ParsedMail) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        mail.defects.append("unreadable attachment filename")
        return None
    return header_text(name) if name else None


def _default_name(ctype: str) -> str:
    if ctype == "message/rfc822":
        return "message.eml"
    subtype = ctype.split("/")[-1] if "/" in ctype else "bin"
    return f"attachment.{subtype[:10]}"


def raw_header(message: Message, name: str) -> str | None:
    """A header's raw value as received (RFC 2047 words still encoded)."""
    wanted = name.lower()
    for key, value in _raw_items(message):
        if key.lower() == wanted:
            return _readable(str(value))
    return None


def _readable(value: str) -> str:
    """Raw 8-bit header bytes (kept by the parser as surrogates) decoded as text."""
    if value.isascii():
        return value
    return decode_text(value.encode("utf-8", "surrogateescape"))[0]


def _raw_items(message: Message) -> list[tuple[str, str]]:
    try:
        return list(message.raw_items())  # type: ignore[attr-defined]
    except AttributeError:
        return [(k, str(v)) for k, v in message.items()]
