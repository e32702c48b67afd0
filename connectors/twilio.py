"""Twilio SMS and WhatsApp: signed form webhooks in, the Twilio REST API (async client) out.

One inbox is one Twilio number. `From: whatsapp:+8210…` and `From: +8210…` are the same `phone`
identity, so a customer's SMS and WhatsApp history is one. Media is fetched with the inbox's
credentials from Twilio's hosts only (connectors/media.py). STOP/START keywords are marked on the
message for `ingest()` to record (inbox/consent.py).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import mimetypes
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse

from connectors.base import (
    ChannelInbox,
    DeliveryError,
    DeliveryUpdate,
    IdentityClaim,
    InboundAttachment,
    InboundMessage,
    InvalidInbound,
    OutboundMessage,
    PermanentDeliveryError,
    RawRequest,
    Reply,
    SendReceipt,
    SignatureError,
    TransientDeliveryError,
)
from connectors.media import MediaError, MediaFetcher
from inbox.consent import keyword_intent
from inbox.errors import NotFound
from inbox.identity import normalise_phone
from inbox.settings import Settings

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
# MediaUrl is on api.twilio.com, which redirects to a short-lived URL on Twilio's media CDN
# (or, for media stored before HTTP auth was enforced, Twilio's S3 bucket host).
MEDIA_HOSTS = ("api.twilio.com", "twiliocdn.com", "s3-external-1.amazonaws.com")
MAX_MEDIA = 10  # Twilio's own limit per message
SEND_TIMEOUT = 15.0
STATUSES = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "failed": "failed",
    "undelivered": "failed",
    "canceled": "failed",
}
# What the agent reads next to a failed message; other codes show their number.
ERRORS = {
    21211: "the 'To' number is not a valid phone number",
    21408: "sending to this country is not enabled on the Twilio account",
    21610: "the customer opted out (texted STOP); they must text START first",
    21614: "the number cannot receive SMS (not a mobile number)",
    21617: "the message is longer than 1600 characters",
    30003: "the handset is unreachable (off or out of coverage)",
    30004: "the carrier blocked the message",
    30005: "the number is unknown or no longer in service",
    30006: "the number is a landline or its carrier cannot receive SMS",
    30007: "the carrier filtered the message as spam",
    30008: "the carrier reported an unknown error",
    63016: "outside the WhatsApp 24-hour window: only an approved template can be sent",
}
_warned_unsigned: set[int] = set()


class TwilioConnector:
    """`/webhooks/twilio/{id}` (messages) and `/webhooks/twilio/{id}/status` in, REST out."""

    kind = "twilio"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def verify(self, inbox: ChannelInbox, request: RawRequest) -> None:
        """Check X-Twilio-Signature over the public URL and the form, unless turned off."""
        if not signatures_checked(inbox.config):
            if inbox.id not in _warned_unsigned:
                _warned_unsigned.add(inbox.id)
                log.warning(
                    "SECURITY: Twilio inbox %s accepts UNSIGNED webhooks (verify_signatures is "
                    "false); anyone who knows its URL can post messages as any phone number",
                    inbox.id,
                )
            return
        token = inbox.config.get("auth_token")
        if not isinstance(token, str) or not token:
            raise SignatureError("this Twilio inbox has no auth_token to check signatures with")
        signature = request.header("x-twilio-signature")
        if not signature:
            raise SignatureError("X-Twilio-Signature is missing")
        if not RequestValidator(token).validate(request.url, form(request.body), signature):
            raise SignatureError("X-Twilio-Signature does not match this request")

    async def parse(
        self, inbox: ChannelInbox, request: RawRequest
    ) -> list[InboundMessage | DeliveryUpdate]:
        """An incoming SMS/WhatsApp message, or a status report on one we sent."""
        fields = form(request.body)
        if request.action == "status":
            update = delivery_update(fields)
            return [update] if update else []
        if request.action:
            raise NotFound("no such Twilio webhook")
        return [await self._message(inbox, fields)]

    def acknowledge(self, results: list[dict[str, Any]]) -> Reply:
        # Empty TwiML: reply later from the outbox, never inline.
        return Reply(status=200, body=str(MessagingResponse()), media_type="text/xml")

    async def send(self, message: OutboundMessage) -> SendReceipt:
        """Send through Twilio's Messages API; WhatsApp when the conversation is on WhatsApp."""
        config = message.inbox.config
        sid, token, number = (config.get(k) for k in ("account_sid", "auth_token", "phone_number"))
        if not all(isinstance(v, str) and v for v in (sid, token, number)):
            raise PermanentDeliveryError(
                "this Twilio inbox needs account_sid, auth_token and phone_number"
            )
        phone = message.recipient.first("phone")
        if phone is None:
            raise PermanentDeliveryError("the customer has no phone number to text")
        whatsapp = message.payload.get("channel") == "whatsapp"
        http = AsyncTwilioHttpClient(timeout=SEND_TIMEOUT)
        try:
            client = Client(sid, token, http_client=http)
            client.api.base_url = _base_url(config)
            created = await client.api.v2010.account.messages.create_async(
                to=f"whatsapp:{phone}" if whatsapp else phone,
                from_=_address(str(number), whatsapp),
                body=message.text,
                status_callback=(
                    f"{self.settings.public_url}/webhooks/twilio/{message.inbox.id}/status"
                ),
            )
        except TwilioRestException as exc:
            raise delivery_error(exc) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransientDeliveryError(f"Twilio did not answer: {type(exc).__name__}") from exc
        finally:
            await http.close()
        return SendReceipt(external_id=created.sid, status=STATUSES.get(created.status, "queued"))

    async def _message(self, inbox: ChannelInbox, fields: dict[str, str]) -> InboundMessage:
        sid = fields.get("MessageSid") or fields.get("SmsMessageSid")
        sender = fields.get("From", "").strip()
        if not sid or not sender:
            raise InvalidInbound("MessageSid and From are required")
        whatsapp = sender.lower().startswith("whatsapp:")
        channel = "whatsapp" if whatsapp else "sms"
        body = fields.get("Body", "")
        attachments, failures = await self._media(inbox, fields)
        meta: dict[str, Any] = {"to": fields.get("To", "")}
        if fields.get("WaId"):
            meta["wa_id"] = fields["WaId"]
        if failures:
            meta["media_errors"] = failures
        consent = self._consent(inbox, channel, sender, body)
        if consent:
            meta["consent"] = consent
        if not body.strip() and not attachments and failures:
            body = "(media could not be downloaded: " + "; ".join(failures) + ")"
        return InboundMessage(
            inbox_id=inbox.id,
            external_id=sid,
            # Twilio's signature proves the sender; an unsigned inbox proves nothing.
            identities=(IdentityClaim("phone", sender, signatures_checked(inbox.config)),),
            text=body,
            channel=channel,
            customer_name=(fields.get("ProfileName") or "").strip()[:200] or None,
            attachments=tuple(attachments),
            meta=meta,
        )

    def _consent(
        self, inbox: ChannelInbox, channel: str, sender: str, body: str
    ) -> dict[str, str] | None:
        """STOP/START on SMS, for ingest to record against the sender's number."""
        intent = keyword_intent(body) if channel == "sms" else None
        # Honour any STOP; only a signed START may let messages flow again.
        if intent is None or (intent == "opt_in" and not signatures_checked(inbox.config)):
            return None
        return {"intent": intent, "phone": normalise_phone(sender, self.settings.default_region)}

    async def _media(
        self, inbox: ChannelInbox, fields: dict[str, str]
    ) -> tuple[list[InboundAttachment], list[str]]:
        raw = fields.get("NumMedia", "0") or "0"
        if not raw.isdigit() or int(raw) > MAX_MEDIA:
            raise InvalidInbound(f"NumMedia must be a number from 0 to {MAX_MEDIA}")
        count = int(raw)
        if not count:
            return [], []
        fetcher, headers, credential_hosts = self._fetcher(inbox)
        urls = [fields.get(f"MediaUrl{i}", "") for i in range(count)]
        fetched = await asyncio.gather(
            *(fetcher.fetch(url, headers, credential_hosts) for url in urls),
            return_exceptions=True,
        )
        attachments, failures = [], []
        sid = fields.get("MessageSid", "media")
        for i, result in enumerate(fetched):
            if isinstance(result, MediaError):
                log.warning("Twilio inbox %s: media %d of %s refused: %s", inbox.id, i, sid, result)
                failures.append(f"media {i + 1}: {result}")
                continue
            if isinstance(result, BaseException):
                raise result
            content_type = result.content_type or fields.get(f"MediaContentType{i}", "")
            extension = mimetypes.guess_extension(content_type or "") or ""
            name = result.filename or f"{sid}-{i + 1}{extension}"
            attachments.append(InboundAttachment(name, content_type, result.data))
        return attachments, failures

    def _fetcher(self, inbox: ChannelInbox) -> tuple[MediaFetcher, dict[str, str], set[str]]:
        config = inbox.config
        configured = config.get("api_base_url")
        trusted = configured if isinstance(configured, str) and configured else None
        fetcher = MediaFetcher(
            max_bytes=self.settings.limits.attachment,
            allowed_hosts=MEDIA_HOSTS,
            # The admin-configured API origin (a test or on-premise proxy) may be on loopback.
            trusted_origin=trusted,
        )
        pair = f"{config.get('account_sid', '')}:{config.get('auth_token', '')}"
        headers = {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
        # Credentials go to Twilio's API host only, never to the CDN it redirects to.
        hosts = {urlsplit(TWILIO_API).hostname or ""}
        if trusted:
            hosts.add((urlsplit(trusted).hostname or "").lower())
        return fetcher, headers, hosts


def form(body: bytes) -> dict[str, str]:
    """The urlencoded form Twilio posts; 400 for bytes that are not one."""
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInbound("body is not a UTF-8 urlencoded form") from exc
    fields: dict[str, str] = {}
    for key, value in pairs:
        if key in fields:
            raise InvalidInbound(f"form field {key!r} appears twice")
        if "\x00" in key or "\x00" in value:
            raise InvalidInbound("NUL characters are not allowed")
        fields[key] = value
    return fields


def delivery_update(fields: dict[str, str]) -> DeliveryUpdate | None:
    """A status callback as a forward-only delivery report; None for states we do not track."""
    sid = fields.get("MessageSid") or fields.get("SmsSid")
    raw = (fields.get("MessageStatus") or fields.get("SmsStatus") or "").lower()
    if not sid:
        raise InvalidInbound("MessageSid is required")
    status = STATUSES.get(raw)
    if status is None:
        return None
    error = None
    if status == "failed":
        error = describe_error(fields.get("ErrorCode"), fields.get("ErrorMessage"), raw)
    return DeliveryUpdate(external_id=sid, status=status, error=error)


def describe_error(code: str | int | None, message: str | None = None, status: str = "") -> str:
    """Twilio's error code as the agent reads it: number and meaning."""
    digits = "" if code is None else str(code)
    number = int(digits) if digits.isdigit() else None
    if number is None:
        return f"Twilio reported the message {status or 'failed'}" + (
            f": {message}" if message else ""
        )
    meaning = ERRORS.get(number) or message or "see Twilio's error reference"
    return f"Twilio error {number}: {meaning}"


def delivery_error(exc: TwilioRestException) -> DeliveryError:
    """A refused API call: rate limits and Twilio outages are retried, the rest are final."""
    reason = describe_error(exc.code, exc.msg)
    if exc.status == 429 or exc.status >= 500:
        return TransientDeliveryError(reason)
    return PermanentDeliveryError(reason)


def signatures_checked(config: dict[str, Any]) -> bool:
    """Whether the inbox checks X-Twilio-Signature (on unless explicitly turned off)."""
    value = config.get("verify_signatures", True)
    return not (value is False or str(value).strip().lower() in ("false", "0", "no", "off"))


def config_warnings(config: dict[str, Any]) -> list[str]:
    """What an admin must be told loudly about a Twilio inbox's config."""
    if signatures_checked(config):
        return []
    return [
        "Twilio signature checks are OFF for this inbox (verify_signatures: false): anyone "
        "who knows its webhook URL can post messages as any phone number"
    ]


def _base_url(config: dict[str, Any]) -> str:
    configured = config.get("api_base_url")
    return configured.rstrip("/") if isinstance(configured, str) and configured else TWILIO_API


def _address(number: str, whatsapp: bool) -> str:
    bare = number.removeprefix("whatsapp:")
    return f"whatsapp:{bare}" if whatsapp else bare


def connector(settings: Settings) -> TwilioConnector:
    return TwilioConnector(settings)
