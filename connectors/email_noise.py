"""Mail no automation may answer (auto-replies, bulk, lists, bounces) and what bounces report."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from typing import cast

from connectors.email_charsets import header_text
from connectors.email_ids import is_ours, message_ids
from connectors.email_mime import ParsedMail, raw_header

_BOUNCE_SENDERS = re.compile(r"^(?:mailer-daemon|mail-daemon)@", re.IGNORECASE)
_OUR_ID_IN_TEXT = re.compile(rb"inbox\.\d{1,12}\.[0-9a-f]{20}@[A-Za-z0-9.\-]+")


@dataclass(frozen=True)
class BounceReport:
    """A report on mail we sent: which Message-IDs, and failed or read."""

    refs: tuple[str, ...]
    status: str
    reason: str


def automatic_reason(mail: ParsedMail, sender: str, own_addresses: set[str]) -> str | None:
    """Why this mail was sent by a machine (never to be answered), or None."""
    auto = header_text(mail.raw("auto-submitted")).lower()
    if auto and auto != "no":
        return "auto-submitted"
    if mail.raw("x-autoreply") is not None or mail.raw("x-autorespond") is not None:
        return "auto-reply"
    precedence = header_text(mail.raw("precedence")).lower()
    if precedence in ("bulk", "list", "junk", "auto_reply"):
        return f"precedence-{precedence}"
    if mail.raw("list-id") is not None or mail.raw("list-unsubscribe") is not None:
        return "mailing-list"
    if _BOUNCE_SENDERS.match(sender) or is_report(mail):
        return "bounce"
    if sender and sender in own_addresses:
        return "own-address"
    return None


def is_report(mail: ParsedMail) -> bool:
    """A delivery-status or disposition report (multipart/report)."""
    return mail.message.get_content_type() == "multipart/report"


def bounce_report(mail: ParsedMail, raw: bytes, secret: str) -> BounceReport | None:
    """What a bounce or read receipt says about our messages; None when it names none of ours."""
    # Parsed with policy.default, whose headers give RFC 2231 parameters as plain str.
    report_type = (cast(str | None, mail.message.get_param("report-type")) or "").lower()
    status, reason = "failed", "the recipient's mail server bounced the message"
    fields = _report_fields(mail)
    if report_type == "disposition-notification" or "disposition" in fields:
        status, reason = "read", ""
        if "deleted" in fields.get("disposition", "") or "denied" in fields.get("disposition", ""):
            return None
    elif "action" in fields and fields["action"] not in ("failed",):
        return None  # delayed, delivered, relayed: not a failure
    if fields.get("diagnostic-code"):
        reason = f"bounced: {fields['diagnostic-code']}"[:1000]
    elif fields.get("status"):
        reason = f"bounced with status {fields['status']}"
    refs = _referenced_ids(mail, raw, fields)
    ours = tuple(dict.fromkeys(r for r in refs if is_ours(secret, r)))
    return BounceReport(ours, status, reason) if ours else None


def _report_fields(mail: ParsedMail) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in mail.reports:
        payload = part.get_payload() if part.is_multipart() else [part]
        # The parser fills a multipart payload with Messages only (typeshed also allows str).
        blocks = cast(list[Message], payload) if isinstance(payload, list) else []
        for block in blocks:
            for key in (
                "action",
                "status",
                "diagnostic-code",
                "disposition",
                "original-message-id",
            ):
                value = raw_header(block, key)
                if value is not None and key not in fields:
                    fields[key] = header_text(value)[:500]
        if not part.is_multipart():
            _fields_from_text(part, fields)
    return fields


def _fields_from_text(part: object, fields: dict[str, str]) -> None:
    # Some reports arrive as a single text block the parser did not split into fields.
    get_payload = getattr(part, "get_payload", None)
    payload = get_payload(decode=True) if get_payload else None
    if not isinstance(payload, bytes):
        return
    for line in payload.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition(":")
        key = key.strip().lower()
        if (
            sep
            and key
            in (
                "action",
                "status",
                "diagnostic-code",
                "disposition",
                "original-message-id",
                "message-id",
            )
            and key not in fields
        ):
            fields[key] = value.strip()[:500]


def _referenced_ids(mail: ParsedMail, raw: bytes, fields: dict[str, str]) -> list[str]:
    refs: list[str] = []
    for key in ("original-message-id", "message-id"):
        refs += message_ids(fields.get(key))
    for part in mail.reports:
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            refs += message_ids(raw_header(inner[0], "message-id"))
    for name in ("in-reply-to", "references"):
        refs += message_ids(mail.raw(name))
    # Bounces that quote the original only as text still name our Message-ID somewhere.
    refs += [m.decode() for m in _OUR_ID_IN_TEXT.findall(raw[:2_000_000])]
    return refs
