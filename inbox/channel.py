"""What a channel and the inbox exchange: inbound and outbound messages, delivery errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from inbox.errors import Invalid


class InvalidInbound(Invalid):
    """The payload cannot become a message (the sender gets a 4xx and nothing is stored)."""


@dataclass(frozen=True)
class IdentityClaim:
    """An identity a message carries; `verified` when the channel itself proves it."""

    kind: str
    value: str
    verified: bool = True


@dataclass(frozen=True)
class InboundAttachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class OutboundAttachment:
    """A file an agent attached to a reply: checked and stored before the outbox sends it."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class InboundMessage:
    """A customer's message as a connector parsed it; `ingest()` takes it from here."""

    inbox_id: int
    external_id: str
    identities: tuple[IdentityClaim, ...]
    text: str = ""
    channel: str | None = None  # defaults to the inbox kind; twilio says sms or whatsapp
    customer_name: str | None = None
    stripped_text: str | None = None
    html: str | None = None
    subject: str | None = None
    sent_at: datetime | None = None
    reply_to: tuple[str, ...] = ()  # external ids this message answers, nearest first
    reply_to_trusted: bool = False  # the channel proved the reference (our signed Message-ID)
    attachments: tuple[InboundAttachment, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DeliveryUpdate:
    """A provider's report on a message we sent (status callback, read receipt)."""

    external_id: str
    status: str  # a Delivery value: sent, delivered, read, failed
    error: str | None = None


@dataclass(frozen=True)
class MessageEdit:
    """The customer edited a message they sent (Telegram's edited_message)."""

    external_id: str
    text: str
    edited_at: datetime | None = None


@dataclass(frozen=True)
class ChannelInbox:
    """The inbox as a connector sees it: its kind, config and token."""

    id: int
    kind: str
    name: str
    config: dict[str, Any]
    token: str


@dataclass(frozen=True)
class Recipient:
    customer_id: int
    name: str | None
    identities: tuple[IdentityClaim, ...]

    def first(self, *kinds: str) -> str | None:
        """The recipient's verified address of the first kind it has, verified ones first."""
        for verified in (True, False):
            for kind in kinds:
                for identity in self.identities:
                    if identity.kind == kind and identity.verified is verified:
                        return identity.value
        return None


@dataclass(frozen=True)
class OutboundMessage:
    """A message to send: built by the outbox from the stored row, never from request data."""

    message_id: int
    conversation_id: int
    inbox: ChannelInbox
    recipient: Recipient
    text: str
    author: str
    subject: str | None = None
    reply_to_external_ids: tuple[str, ...] = ()
    payload: dict[str, Any] = field(default_factory=dict)  # the public message object
    attachments: tuple[OutboundAttachment, ...] = ()  # as stored: sanitised name, checked type


@dataclass(frozen=True)
class SendReceipt:
    external_id: str | None = None
    status: str = "sent"


class DeliveryError(Exception):
    """Sending failed; connectors turn their SDK's errors into one of these two."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason[:1000]


class TransientDeliveryError(DeliveryError):
    """Worth retrying later (timeouts, 5xx, rate limits)."""


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help (bad recipient, opted out, refused by the provider)."""


class Transport(Protocol):
    """The one thing the outbox needs from a connector."""

    async def send(self, message: OutboundMessage) -> SendReceipt: ...
