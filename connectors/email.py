"""The email channel: raw MIME in (webhook or IMAP), SMTP out, threads that hold together."""

from __future__ import annotations

import hmac
from email.utils import getaddresses as parse_addresses
from typing import Any

from connectors.base import (
    ChannelInbox,
    DeliveryUpdate,
    IdentityClaim,
    InboundMessage,
    InvalidInbound,
    OutboundMessage,
    RawRequest,
    Reply,
    SendReceipt,
    SignatureError,
)
from connectors.email_auth import from_domain_proved
from connectors.email_charsets import header_text
from connectors.email_ids import content_key, is_ours, message_ids, referenced_by_address
from connectors.email_mime import ParsedMail, parse_mime
from connectors.email_noise import automatic_reason, bounce_report, is_report
from connectors.email_quotes import fold
from connectors.email_smtp import send_mail
from inbox.identity import normalise
from inbox.settings import Settings

MAX_DEFECTS = 20


class EmailConnector:
    """`POST /webhooks/email/{inbox_id}` with raw MIME (and the IMAP poller) in, SMTP out."""

    kind = "email"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.max_body = settings.limits.mime_body

    def verify(self, inbox: ChannelInbox, request: RawRequest) -> None:
        auth = request.header("authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), inbox.token.encode()
        ):
            raise SignatureError(
                "a valid inbox token is required (Authorization: Bearer ...)", status=401
            )

    def parse(
        self, inbox: ChannelInbox, request: RawRequest
    ) -> list[InboundMessage | DeliveryUpdate]:
        if not request.body.strip():
            raise InvalidInbound("the body must be a raw MIME message")
        return self.read(inbox, request.body)

    def read(self, inbox: ChannelInbox, raw: bytes) -> list[InboundMessage | DeliveryUpdate]:
        """One raw message as a customer message, or the delivery reports a bounce carries."""
        mail = parse_mime(raw, self.settings.limits.mime_nesting)
        address, name = _sender(mail)
        own = {str(inbox.config.get("address") or "").lower()} - {""}
        reason = automatic_reason(mail, address or "", own)
        if reason == "bounce" or is_report(mail):
            # A bounce is no customer message: it only tells us how our mail fared.
            report = bounce_report(mail, raw, self.settings.secret_key)
            if report is None:
                return []
            error = report.reason if report.status == "failed" else None
            return [DeliveryUpdate(ref, report.status, error) for ref in report.refs]
        reply_to, trusted = self._references(inbox, mail)
        verified = address is not None and from_domain_proved(
            mail.all_raw("authentication-results"),
            address.rsplit("@", 1)[-1],
            inbox.config.get("auth_serv_id"),
        )
        text, truncated = _clip(mail.text.replace("\x00", ""), self.settings.limits.message_text)
        html, held = mail.safe_html()
        if not text.strip() and not html and not mail.attachments:
            text = "(empty message)"  # still stored: an empty mail is a mail someone sent
        ids = message_ids(mail.raw("message-id"))
        return [
            InboundMessage(
                inbox_id=inbox.id,
                external_id=ids[0] if ids else content_key(raw),
                identities=(_identity(address, verified, raw),),
                text=text,
                channel="email",
                customer_name=name,
                stripped_text=_clip(self._stripped(mail, text), len(text))[0],
                html=html,
                subject=mail.subject[:1000] or None,
                sent_at=mail.sent_at,
                reply_to=reply_to,
                reply_to_trusted=trusted,
                attachments=self._attachments(mail),
                meta=_meta(mail, address, verified, reason, held, truncated),
            )
        ]

    def acknowledge(self, results: list[dict[str, Any]]) -> Reply:
        if not results or "message_id" not in results[0]:
            return Reply(status=200, body={"bounce": True, "updated": results})
        result = results[0]
        return Reply(status=200 if result["duplicate"] else 201, body=result)

    async def send(self, message: OutboundMessage) -> SendReceipt:
        return await send_mail(message, self.settings.secret_key)

    def _references(self, inbox: ChannelInbox, mail: ParsedMail) -> tuple[tuple[str, ...], bool]:
        """Ids this mail answers, nearest first; only our signed ids are trusted."""
        chain = message_ids(mail.raw("in-reply-to"))
        chain += list(reversed(message_ids(mail.raw("references"))))
        domain = str(inbox.config.get("address") or "").rpartition("@")[2]
        for name in ("to", "cc", "delivered-to", "x-original-to"):
            for _, addr in _addresses(mail.all_raw(name)):
                ours = referenced_by_address(self.settings.secret_key, addr, domain)
                if ours:
                    chain.append(ours)
        chain = list(dict.fromkeys(chain))
        signed = [ref for ref in chain if is_ours(self.settings.secret_key, ref)]
        if signed:
            # Only the ids we signed are proof; a customer id next to them proves nothing.
            return tuple(signed[:50]), True
        return tuple(chain[:50]), False

    def _stripped(self, mail: ParsedMail, text: str) -> str:
        if mail.text_from_html:
            # The HTML shows where the quote starts more reliably than its text rendering.
            return fold(mail.new_html_text() or text)
        return fold(text)

    def _attachments(self, mail: ParsedMail) -> tuple[Any, ...]:
        limit = self.settings.limits.attachment
        kept = [a for a in mail.inbound_attachments() if len(a.data) <= limit]
        if len(kept) < len(mail.attachments):
            mail.defects.append(f"attachments over {limit} bytes were left out")
        return tuple(kept)


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    """Parsed (name, address) pairs; a pathological header yields none rather than a crash."""
    try:
        return parse_addresses(values)
    except (RecursionError, ValueError, TypeError, IndexError):
        return []


def _sender(mail: ParsedMail) -> tuple[str | None, str | None]:
    """The sender's address and a display name that claims no address of its own."""
    for header in ("from", "sender", "return-path"):
        raw = mail.raw(header)
        if not raw:
            continue
        # Addresses come from the raw header: an encoded display name cannot smuggle one in.
        for display, addr in _addresses([raw]):
            try:
                _, value = normalise("email", addr)
            except InvalidInbound:
                continue
            name = header_text(display)[:200] if display else None
            return value, (name if name and "@" not in name else None)
    return None, None


def _identity(address: str | None, verified: bool, raw: bytes) -> IdentityClaim:
    if address is None:
        # No readable sender: a customer of its own, so it can still be read and answered by hand.
        return IdentityClaim("external", f"email-unknown-sender:{content_key(raw)[7:39]}", False)
    return IdentityClaim("email", address, verified)


def _clip(text: str, limit: int) -> tuple[str, bool]:
    return (text, False) if len(text) <= limit else (text[:limit], True)


def _meta(
    mail: ParsedMail,
    address: str | None,
    verified: bool,
    reason: str | None,
    held: int,
    truncated: bool,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "email": {
            "from": address,
            "to": [a for _, a in _addresses(mail.all_raw("to"))][:50],
            "cc": [a for _, a in _addresses(mail.all_raw("cc"))][:50],
            "message_id": next(iter(message_ids(mail.raw("message-id"))), None),
        },
        "sender_verified": verified,
        "auto_generated": reason is not None,
    }
    if reason:
        meta["auto_reason"] = reason
    if not verified:
        meta["warning"] = "sender-unverified"  # the UI shows a badge: From is not proof
    if held:
        meta["remote_images_held"] = held
    inline = [
        {"content_id": a.content_id, "filename": a.filename}
        for a in mail.attachments
        if a.content_id
    ]
    if inline:
        meta["inline_images"] = inline[:50]
    if mail.defects:
        meta["malformed"] = True
        meta["mime_defects"] = sorted(set(mail.defects))[:MAX_DEFECTS]
    if truncated:
        meta["truncated"] = True
    return meta


def connector(settings: Settings) -> EmailConnector:
    return EmailConnector(settings)
