"""The simulator: a customer's message as its provider would post it, signed with the secret.

Each builder returns the exact webhook request (path, headers, body) a provider sends, so the
message goes through the same verify → parse → ingest path as production traffic. The provider
sink records what agents send to demo inboxes whose `api_base_url` points back at this app.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from typing import Any
from urllib.parse import parse_qsl, urlencode

from twilio.request_validator import RequestValidator

from connectors.base import ChannelInbox
from inbox.errors import Invalid

# What the customer plays, and the inbox kind that receives it.
CHANNELS = {
    "sms": ("twilio", "SMS (Twilio)", "phone number, e.g. +14155550142"),
    "whatsapp": ("twilio", "WhatsApp (Twilio)", "phone number, e.g. +821023456789"),
    "whatsapp_cloud": ("whatsapp", "WhatsApp Cloud API", "phone number, e.g. +821023456789"),
    "telegram": ("telegram", "Telegram", "numeric Telegram user id, e.g. 500123456"),
    "email": ("email", "Email", "email address"),
    "api": ("api", "Generic API", "email address or phone number"),
}
SINK_PREFIX = "/simulator/provider"


@dataclass(frozen=True)
class SimulatedRequest:
    """A provider's webhook request, ready to post to this app."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Customer:
    """Who the simulator plays: one sender identity, a display name and the message text."""

    sender: str
    name: str
    text: str
    subject: str = ""


def build_request(
    inbox: ChannelInbox, channel: str, customer: Customer, public_url: str
) -> SimulatedRequest:
    """The webhook request `channel`'s provider would send to `inbox` for this message."""
    if channel not in CHANNELS or CHANNELS[channel][0] != inbox.kind:
        raise Invalid(f"channel {channel!r} does not go to a {inbox.kind} inbox")
    if not customer.sender.strip():
        raise Invalid(f"the sender is required ({CHANNELS[channel][2]})")
    builders = {
        "twilio": _twilio,
        "whatsapp": _whatsapp_cloud,
        "telegram": _telegram,
        "email": _email,
        "api": _api,
    }
    return builders[inbox.kind](inbox, channel, customer, public_url)


def _twilio(inbox: ChannelInbox, channel: str, c: Customer, public_url: str) -> SimulatedRequest:
    phone = _phone(c.sender)
    whatsapp = channel == "whatsapp"
    number = str(inbox.config.get("phone_number") or "")
    params = {
        "MessageSid": "SM" + secrets.token_hex(16),
        "AccountSid": str(inbox.config.get("account_sid") or ""),
        "From": f"whatsapp:{phone}" if whatsapp else phone,
        "To": f"whatsapp:{number}" if whatsapp else number,
        "Body": c.text,
        "NumMedia": "0",
    }
    if whatsapp:
        params.update(WaId=phone.lstrip("+"), ProfileName=c.name)
    path = f"/webhooks/twilio/{inbox.id}"
    token = str(inbox.config.get("auth_token") or "")
    # Twilio signs the public URL it was configured with plus the sorted form fields.
    signature = RequestValidator(token).compute_signature(public_url + path, params)
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": signature,
    }
    return SimulatedRequest(path, headers, urlencode(params).encode())


def _whatsapp_cloud(
    inbox: ChannelInbox, channel: str, c: Customer, public_url: str
) -> SimulatedRequest:
    wa_id = _phone(c.sender).lstrip("+")
    value = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": str(inbox.config.get("display_phone_number") or ""),
            "phone_number_id": str(inbox.config.get("phone_number_id") or ""),
        },
        "contacts": [{"profile": {"name": c.name or wa_id}, "wa_id": wa_id}],
        "messages": [
            {
                "from": wa_id,
                "id": "wamid.SIM" + secrets.token_hex(12),
                "timestamp": str(int(time.time())),
                "type": "text",
                "text": {"body": c.text},
            }
        ],
    }
    data = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "0", "changes": [{"field": "messages", "value": value}]}],
    }
    body = json.dumps(data).encode()
    secret = str(inbox.config.get("app_secret") or "")
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {"content-type": "application/json", "x-hub-signature-256": f"sha256={signature}"}
    return SimulatedRequest(f"/webhooks/whatsapp/{inbox.id}", headers, body)


def _telegram(inbox: ChannelInbox, channel: str, c: Customer, public_url: str) -> SimulatedRequest:
    user_id = c.sender.strip()
    if not user_id.isdigit() or len(user_id) > 15:
        raise Invalid("a Telegram sender is a numeric user id")
    person = {"id": int(user_id), "first_name": c.name or f"User {user_id}"}
    update = {
        "update_id": secrets.randbelow(2**31),
        "message": {
            "message_id": secrets.randbelow(2**31),
            "from": {**person, "is_bot": False},
            "chat": {**person, "type": "private"},
            "date": int(time.time()),
            "text": c.text,
        },
    }
    headers = {
        "content-type": "application/json",
        "x-telegram-bot-api-secret-token": str(inbox.config.get("secret_token") or ""),
    }
    return SimulatedRequest(f"/webhooks/telegram/{inbox.id}", headers, json.dumps(update).encode())


def _email(inbox: ChannelInbox, channel: str, c: Customer, public_url: str) -> SimulatedRequest:
    address = c.sender.strip()
    if "@" not in address or any(ch in address for ch in "<>\r\n ,"):
        raise Invalid("an email sender is an address like name@example.org")
    mail = EmailMessage()
    mail["From"] = formataddr((c.name, address))
    mail["To"] = str(inbox.config.get("address") or "support@example.com")
    mail["Subject"] = c.subject or "Message from the simulator"
    mail["Date"] = format_datetime(datetime.now(UTC))
    mail["Message-ID"] = make_msgid(domain=address.rpartition("@")[2])
    mail.set_content(c.text)
    headers = {"content-type": "message/rfc822", "authorization": f"Bearer {inbox.token}"}
    return SimulatedRequest(f"/webhooks/email/{inbox.id}", headers, mail.as_bytes())


def _api(inbox: ChannelInbox, channel: str, c: Customer, public_url: str) -> SimulatedRequest:
    sender = c.sender.strip()
    customer: dict[str, str] = {"email": sender} if "@" in sender else {"phone": _phone(sender)}
    if c.name:
        customer["name"] = c.name
    data = {"external_id": "sim-" + secrets.token_hex(8), "text": c.text, "customer": customer}
    headers = {"content-type": "application/json", "authorization": f"Bearer {inbox.token}"}
    return SimulatedRequest(
        f"/api/v1/inboxes/{inbox.id}/messages", headers, json.dumps(data).encode()
    )


def _phone(raw: str) -> str:
    digits = "".join(ch for ch in raw if ch.isdigit())
    if not 6 <= len(digits) <= 15:
        raise Invalid("a phone sender needs 6 to 15 digits, e.g. +14155550142")
    return "+" + digits


@dataclass
class ProviderSink:
    """Stands in for Twilio, WhatsApp Cloud and Telegram when a demo inbox sends a reply."""

    sent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=200))

    def accept(self, kind: str, path: str, content_type: str, body: bytes) -> tuple[int, Any]:
        """Record one outbound API call and answer as the provider's API would."""
        data = _decoded(content_type, body)
        if kind == "twilio" and path.endswith("/Messages.json"):
            sid = "SM" + secrets.token_hex(16)
            self._record(kind, data.get("To", ""), data.get("Body", ""))
            return 201, {"sid": sid, "status": "queued", "to": data.get("To")}
        if kind == "whatsapp" and path.endswith("/messages"):
            text = (data.get("text") or {}).get("body", "")
            self._record(kind, "+" + str(data.get("to", "")), text)
            return 200, {
                "messaging_product": "whatsapp",
                "contacts": [{"input": data.get("to"), "wa_id": data.get("to")}],
                "messages": [{"id": "wamid.SIM" + secrets.token_hex(12)}],
            }
        if kind == "telegram" and path.endswith("/sendMessage"):
            chat_id = str(data.get("chat_id", "0"))
            self._record(kind, chat_id, str(data.get("text", "")))
            chat = {"id": int(chat_id) if chat_id.lstrip("-").isdigit() else 0, "type": "private"}
            result = {
                "message_id": secrets.randbelow(2**31),
                "date": int(time.time()),
                "chat": chat,
                "text": data.get("text", ""),
            }
            return 200, {"ok": True, "result": result}
        return 404, {"error": f"the simulator does not implement {kind} {path}"}

    def _record(self, kind: str, to: str, text: str) -> None:
        self.sent.appendleft(
            {"kind": kind, "to": to, "text": text, "at": datetime.now(UTC).strftime("%H:%M:%S")}
        )


def _decoded(content_type: str, body: bytes) -> dict[str, Any]:
    try:
        if "json" in content_type:
            data = json.loads(body or b"{}")
            return data if isinstance(data, dict) else {}
        return dict(parse_qsl(body.decode("utf-8")))
    except (ValueError, UnicodeDecodeError):
        return {}
