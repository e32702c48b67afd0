"""Outgoing mail: a threaded message with our signed Message-ID and the agent's files, sent with
aiosmtplib over STARTTLS or TLS (certificates always verified)."""

from __future__ import annotations

import html
import os
import re
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from connectors.email_charsets import one_line
from connectors.email_ids import our_message_id, reply_address
from inbox.channel import (
    OutboundMessage,
    PermanentDeliveryError,
    SendReceipt,
    TransientDeliveryError,
)

_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,253})")
_REF = re.compile(r"[\x21-\x3b\x3d\x3f-\x7e]{1,255}")  # printable, no spaces, no < or >
_REPLY_PREFIX = re.compile(r"^\s*(?:re|aw|sv|vs|답장|회신)\s*:", re.IGNORECASE)
SMTP_TIMEOUT = 20.0


async def send_mail(message: OutboundMessage, secret: str) -> SendReceipt:
    """Send `message` to the conversation customer's address; our Message-ID is the receipt."""
    config = message.inbox.config
    host = str(config.get("smtp_host") or "")
    if not host:
        raise PermanentDeliveryError("this email inbox has no smtp_host configured")
    sender = _address(config.get("address"), "the inbox address")
    recipient = _address(message.recipient.first("email"), "the customer's email address")
    mail, message_id = build_mail(message, sender, recipient, secret)
    security = str(config.get("smtp_security") or "starttls").lower()
    if security not in ("starttls", "tls", "none"):
        raise PermanentDeliveryError("smtp_security must be starttls, tls or none")
    ca_file = _ca_file(config)
    try:
        await aiosmtplib.send(
            mail,
            sender=sender,
            recipients=[recipient],
            hostname=host,
            port=int(config.get("smtp_port") or (465 if security == "tls" else 587)),
            username=config.get("smtp_user") or None,
            password=config.get("smtp_password") or None,
            use_tls=security == "tls",
            start_tls=True if security == "starttls" else False,
            validate_certs=True,
            cert_bundle=ca_file,
            timeout=SMTP_TIMEOUT,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        raise _by_code(min(codes, default=550), "recipient refused") from exc
    except aiosmtplib.SMTPResponseException as exc:
        raise _by_code(exc.code, one_line(exc.message)[:300]) from exc
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise _transient(exc) from exc
    return SendReceipt(external_id=message_id, status="sent")


def build_mail(
    message: OutboundMessage, sender: str, recipient: str, secret: str
) -> tuple[EmailMessage, str]:
    """The MIME message and its Message-ID (without brackets)."""
    domain = sender.rpartition("@")[2]
    message_id = our_message_id(secret, message.message_id, domain)
    refs = [r for r in message.reply_to_external_ids if _REF.fullmatch(r)][:10]  # nearest first
    mail = EmailMessage()
    mail["From"] = Address(display_name=one_line(message.inbox.name)[:200], addr_spec=sender)
    mail["To"] = Address(
        display_name=one_line(message.recipient.name or "")[:200], addr_spec=recipient
    )
    mail["Subject"] = subject_for(message.subject, message.conversation_id)
    mail["Date"] = formatdate(usegmt=True)
    mail["Message-ID"] = f"<{message_id}>"
    if refs:
        mail["In-Reply-To"] = f"<{refs[0]}>"
        mail["References"] = " ".join(f"<{r}>" for r in reversed(refs))
    if message.inbox.config.get("plus_addressing"):
        mail["Reply-To"] = reply_address(secret, sender, message.message_id)
    if message.author == "bot":
        mail["Auto-Submitted"] = "auto-replied"  # other robots must not answer it
    mail.set_content(message.text)
    mail.add_alternative(_html(message.text), subtype="html")
    for attachment in message.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        # The stored name has no line breaks or paths; a non-ASCII name is written RFC 2231
        # encoded (filename*=utf-8''...) by the email package's default policy.
        mail.add_attachment(
            attachment.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=one_line(attachment.filename)[:200] or "attachment",
        )
    return mail, message_id


def subject_for(subject: str | None, conversation_id: int) -> str:
    """`Re: <original>` for a thread the customer started; a fresh subject otherwise."""
    original = one_line(subject or "")[:900]
    if not original:
        return f"Your conversation #{conversation_id}"
    return original if _REPLY_PREFIX.match(original) else f"Re: {original}"


def _ca_file(config: dict[str, object]) -> str | None:
    # Certificates are always verified: against the system's CAs, or the configured CA file
    # (a private CA); a certificate that does not verify fails the send, never falls back.
    ca_file = str(config.get("smtp_ca_file") or "") or None
    if ca_file is not None and not os.path.isfile(ca_file):
        raise PermanentDeliveryError("smtp_ca_file is not a readable file")
    return ca_file


def _address(value: object, what: str) -> str:
    text = str(value or "").strip()
    if not _ADDRESS.fullmatch(text):
        # CR, LF or anything else outside an address must never reach a header or RCPT TO.
        raise PermanentDeliveryError(f"{what} is not a valid email address")
    return text


def _html(text: str) -> str:
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    body = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return f"<!DOCTYPE html><html><body>{body}</body></html>"


def _transient(exc: BaseException) -> TransientDeliveryError:
    """Outages, timeouts and TLS failures: retried later, and never sent without TLS."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            # aiosmtplib wraps it (implicit TLS) or not (STARTTLS): the reason is in the chain.
            return TransientDeliveryError(
                f"SMTP server's TLS certificate did not verify: {cause.verify_message}"
            )
        cause = cause.__cause__
    if isinstance(exc, (OSError, TimeoutError)):  # aiosmtplib's connect errors are OSErrors
        return TransientDeliveryError(f"SMTP server unreachable: {type(exc).__name__}")
    # e.g. STARTTLS required but not offered
    return TransientDeliveryError(f"SMTP failed: {one_line(str(exc))[:300]}")


def _by_code(code: int, reason: str) -> TransientDeliveryError | PermanentDeliveryError:
    if 400 <= code < 500 or code < 0:
        return TransientDeliveryError(f"SMTP {code}: {reason}")
    return PermanentDeliveryError(f"SMTP {code}: {reason}")
