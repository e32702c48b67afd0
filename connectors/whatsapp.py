"""WhatsApp Cloud API: Meta's signed webhooks in, Graph API messages out (over httpx).

Config: `phone_number_id`, `access_token`, `app_secret`, `verify_token`, `api_base_url`
(default https://graph.facebook.com) and optionally `api_version` (default v21.0).
"""

from __future__ import annotations

import hashlib
import hmac
import mimetypes
from datetime import UTC, datetime
from typing import Any

import httpx

from connectors.base import (
    ChannelInbox,
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
from connectors.media import MediaError, MediaFetcher, Origin
from connectors.payload import field, json_object
from inbox.errors import Invalid
from inbox.settings import Settings

DEFAULT_API = "https://graph.facebook.com"
DEFAULT_VERSION = "v21.0"
REQUIRED = ("phone_number_id", "access_token", "app_secret", "verify_token")
MEDIA_TYPES = ("image", "video", "audio", "document", "sticker")
MEDIA_HOSTS = ("fbsbx.com", "facebook.com", "fbcdn.net", "whatsapp.net")
STATUSES = ("sent", "delivered", "read", "failed")
# Graph error codes that mean "slow down or try later" even when the HTTP status is 400.
RETRYABLE_CODES = {1, 2, 4, 17, 341, 80007, 130429, 131000, 131016, 131048, 131056}
SEND_TIMEOUT = 15.0

Item = InboundMessage | DeliveryUpdate


class WhatsAppConnector:
    """Meta's Cloud API for one business phone number per inbox."""

    kind = "whatsapp"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def prepare_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """Check a new inbox's config: every credential is required."""
        missing = [k for k in REQUIRED if not isinstance(config.get(k), str) or not config[k]]
        if missing:
            raise Invalid(f"whatsapp inboxes need config {', '.join(missing)}")
        return config

    def handshake(self, inbox: ChannelInbox, request: RawRequest) -> Reply:
        """Meta's subscription check: echo hub.challenge when hub.verify_token matches."""
        expected = str(inbox.config.get("verify_token") or "")
        given = request.query.get("hub.verify_token", "")
        if (
            request.query.get("hub.mode") != "subscribe"
            or not expected
            or not hmac.compare_digest(given.encode(), expected.encode())
        ):
            return Reply(403, "verification failed", media_type="text/plain")
        return Reply(200, request.query.get("hub.challenge", ""), media_type="text/plain")

    def verify(self, inbox: ChannelInbox, request: RawRequest) -> None:
        secret = str(inbox.config.get("app_secret") or "")
        header = request.header("x-hub-signature-256") or ""
        if not secret or not header.startswith("sha256="):
            raise SignatureError("missing X-Hub-Signature-256")
        expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(header[len("sha256=") :].strip().encode(), expected.encode()):
            raise SignatureError("X-Hub-Signature-256 does not match the body")

    async def parse(self, inbox: ChannelInbox, request: RawRequest) -> list[Item]:
        data = json_object(request.body, self.settings.limits.json_nesting)
        if data.get("object") != "whatsapp_business_account":
            raise InvalidInbound("not a WhatsApp Business Account notification")
        timed: list[tuple[int, Item]] = []
        for value in _values(data, str(inbox.config.get("phone_number_id", ""))):
            names = _profile_names(value)
            for raw in field(value, "messages", list, "value", []):
                timed.append((_timestamp(raw), await self._message(inbox, raw, names)))
            for raw in field(value, "statuses", list, "value", []):
                update = _status(raw)
                if update is not None:
                    timed.append((_timestamp(raw), update))
        # A batch may list events out of order; the provider's timestamp says which came first.
        timed.sort(key=lambda pair: pair[0])
        return [item for _, item in timed]

    def acknowledge(self, results: list[dict[str, Any]]) -> Reply:
        return Reply(200, {"received": len(results)})

    async def _message(
        self, inbox: ChannelInbox, raw: Any, names: dict[str, str]
    ) -> InboundMessage:
        wamid = field(raw, "id", str, "message")
        sender = field(raw, "from", str, "message")
        kind = field(raw, "type", str, "message")
        stamp = _timestamp(raw)
        if not wamid or not sender or not sender.isdigit():
            raise InvalidInbound("message needs an id and a numeric from")
        text, attachments, meta = _describe(raw, kind), [], {"type": kind}
        if kind in MEDIA_TYPES:
            fetched, error = await self._media(inbox, field(raw, kind, dict, "message"), kind)
            if fetched is not None:
                attachments.append(fetched)
            else:
                meta["media_error"] = error
                text = text or f"[{kind} could not be downloaded]"
        context = field(raw, "context", dict, "message", {})
        reply_to = field(context, "id", str, "message.context")
        return InboundMessage(
            inbox_id=inbox.id,
            external_id=wamid,
            # wa_id is the E.164 number without "+": the same phone identity as SMS.
            identities=(IdentityClaim("phone", "+" + sender, verified=True),),
            text=text,
            channel="whatsapp",
            customer_name=names.get(sender),
            sent_at=datetime.fromtimestamp(stamp, UTC) if stamp else None,
            reply_to=(reply_to,) if reply_to else (),
            attachments=tuple(attachments),
            meta=meta,
        )

    async def _media(
        self, inbox: ChannelInbox, media: dict[str, Any], kind: str
    ) -> tuple[InboundAttachment | None, str | None]:
        """Look the media id up on the Graph API, then download it with the bearer token."""
        media_id = field(media, "id", str, kind)
        if not media_id or "/" in media_id or "?" in media_id:
            raise InvalidInbound(f"{kind}.id is required")
        base, token = _api_base(inbox.config), str(inbox.config.get("access_token", ""))
        auth = {"Authorization": f"Bearer {token}"}
        fetcher = MediaFetcher(
            max_bytes=self.settings.limits.attachment,
            allowed_hosts=MEDIA_HOSTS,
            trusted_origin=base,
        )
        try:
            info = await fetcher.fetch(
                f"{base}/{_version(inbox.config)}/{media_id}", auth, {Origin.of(base).host}
            )
            url = _media_url(info.data)
            fetched = await fetcher.fetch(url, auth, {Origin.of(base).host, "lookaside.fbsbx.com"})
        except MediaError as exc:
            return None, str(exc)
        content_type = str(media.get("mime_type") or fetched.content_type).split(";")[0].strip()
        return InboundAttachment(
            _filename(media, kind, content_type), content_type, fetched.data
        ), None

    async def send(self, message: OutboundMessage) -> SendReceipt:
        config = message.inbox.config
        to = message.recipient.first("phone")
        if not to:
            raise PermanentDeliveryError("the customer has no phone number for WhatsApp")
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to.lstrip("+"),
            "type": "text",
            "text": {"preview_url": False, "body": message.text},
        }
        url = f"{_api_base(config)}/{_version(config)}/{config.get('phone_number_id')}/messages"
        headers = {"Authorization": f"Bearer {config.get('access_token', '')}"}
        try:
            async with httpx.AsyncClient(timeout=SEND_TIMEOUT, follow_redirects=False) as client:
                response = await client.post(url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise TransientDeliveryError(f"WhatsApp API unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 400:
            raise _delivery_error(response)
        return SendReceipt(external_id=_wamid(response), status="sent")


def _values(data: dict[str, Any], phone_number_id: str) -> list[dict[str, Any]]:
    """Every `messages` change for this inbox's number (one app may serve several numbers)."""
    values = []
    for entry in field(data, "entry", list, "body", []):
        for change in field(entry, "changes", list, "entry", []):
            if field(change, "field", str, "change") != "messages":
                continue
            value = field(change, "value", dict, "change", {})
            metadata = field(value, "metadata", dict, "value", {})
            number = field(metadata, "phone_number_id", str, "metadata")
            if phone_number_id and number and number != phone_number_id:
                continue
            values.append(value)
    return values


def _profile_names(value: dict[str, Any]) -> dict[str, str]:
    names = {}
    for contact in field(value, "contacts", list, "value", []):
        wa_id = field(contact, "wa_id", str, "contact")
        profile = field(contact, "profile", dict, "contact", {})
        name = field(profile, "name", str, "contact.profile")
        if wa_id and name:
            names[wa_id] = name
    return names


def _timestamp(raw: Any) -> int:
    stamp = field(raw, "timestamp", (str, int), "item", "0")
    try:
        return int(stamp)
    except ValueError as exc:
        raise InvalidInbound("timestamp must be seconds since the epoch") from exc


def _status(raw: Any) -> DeliveryUpdate | None:
    wamid = field(raw, "id", str, "status")
    status = field(raw, "status", str, "status")
    if not wamid or status not in STATUSES:
        return None  # "deleted", "warning" and future values move nothing
    error = None
    errors = field(raw, "errors", list, "status", [])
    if errors and isinstance(errors[0], dict):
        first = errors[0]
        error = _reason(f"{first.get('code')}: {first.get('title') or first.get('message')}", first)
    return DeliveryUpdate(wamid, status, error)


def _reason(summary: str, error: dict[str, Any]) -> str:
    """A Graph error as the agent reads it: code, title and Meta's details when given."""
    data = error.get("error_data")
    details = data.get("details") if isinstance(data, dict) else None
    return f"{summary} ({details})" if details else summary


def _describe(raw: dict[str, Any], kind: str) -> str:
    """The message's text as an agent should read it, whatever its type."""
    part = raw.get(kind)
    if kind == "text":
        return str(field(part, "body", str, "text", ""))
    if not isinstance(part, dict):
        return f"[{kind}]" if kind not in MEDIA_TYPES else ""
    if kind in MEDIA_TYPES:
        return str(part.get("caption") or "")
    if kind == "location":
        label = " ".join(str(part[k]) for k in ("name", "address") if part.get(k))
        return f"[location] {label} ({part.get('latitude')}, {part.get('longitude')})".strip()
    if kind == "button":
        return str(part.get("text") or part.get("payload") or "")
    if kind == "interactive":
        reply = part.get("button_reply") or part.get("list_reply") or {}
        return str(reply.get("title") or "") if isinstance(reply, dict) else ""
    if kind == "reaction":
        return f"[reaction] {part.get('emoji') or ''}".strip()
    return f"[{kind}]"


def _media_url(info: bytes) -> str:
    data = json_object(info, 8)
    url = data.get("url")
    if not isinstance(url, str) or not url:
        raise MediaError("the Graph API gave no media URL")
    return url


def _filename(media: dict[str, Any], kind: str, content_type: str) -> str:
    name = media.get("filename")
    if isinstance(name, str) and name.strip():
        return name
    return f"{kind}{mimetypes.guess_extension(content_type) or ''}"


def _api_base(config: dict[str, Any]) -> str:
    return str(config.get("api_base_url") or DEFAULT_API).rstrip("/")


def _version(config: dict[str, Any]) -> str:
    return str(config.get("api_version") or DEFAULT_VERSION).strip("/")


def _delivery_error(response: httpx.Response) -> Exception:
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    error = error if isinstance(error, dict) else {}
    code = error.get("code")
    reason = _reason(
        f"WhatsApp error {code}: {error.get('message') or response.reason_phrase}", error
    )
    status = response.status_code
    if status >= 500 or status == 429 or code in RETRYABLE_CODES:
        return TransientDeliveryError(reason)
    return PermanentDeliveryError(reason)


def _wamid(response: httpx.Response) -> str | None:
    try:
        messages = response.json().get("messages") or []
        return str(messages[0]["id"])
    except (ValueError, AttributeError, LookupError, TypeError):
        return None  # accepted without an id: it was sent, status callbacks cannot match


def connector(settings: Settings) -> WhatsAppConnector:
    return WhatsAppConnector(settings)
