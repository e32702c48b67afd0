"""The Connector interface every channel implements, and the registry of channels."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from inbox.channel import (
    ChannelInbox,
    DeliveryError,
    DeliveryUpdate,
    IdentityClaim,
    InboundAttachment,
    InboundMessage,
    InvalidInbound,
    MessageEdit,
    OutboundMessage,
    PermanentDeliveryError,
    SendReceipt,
    TransientDeliveryError,
)
from inbox.settings import Settings

__all__ = [
    "ChannelInbox",
    "Connector",
    "DeliveryError",
    "DeliveryUpdate",
    "IdentityClaim",
    "InboundAttachment",
    "InboundMessage",
    "InvalidInbound",
    "MessageEdit",
    "OutboundMessage",
    "PermanentDeliveryError",
    "RawRequest",
    "Reply",
    "SendReceipt",
    "SignatureError",
    "TransientDeliveryError",
    "registry",
]


# What a request can carry: a customer's message, an edit of one, or a delivery report.
Parsed = InboundMessage | MessageEdit | DeliveryUpdate


class SignatureError(Exception):
    """The request does not prove it comes from the provider (403; 401 for a bearer token)."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RawRequest:
    """An HTTP request as a connector sees it: no framework types."""

    method: str
    url: str  # the public URL the provider called (INBOX_PUBLIC_URL + path)
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    action: str = ""  # the path's last part after the inbox id, e.g. "status" for Twilio

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class Reply:
    """What the webhook answers the provider with."""

    status: int = 200
    body: Any = None
    media_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


class Connector(Protocol):
    """A channel: verify a request, parse it into messages, send a reply."""

    kind: str

    def verify(self, inbox: ChannelInbox, request: RawRequest) -> None:
        """Raise SignatureError unless the request provably comes from the provider."""
        ...

    def parse(
        self, inbox: ChannelInbox, request: RawRequest
    ) -> Sequence[Parsed] | Awaitable[Sequence[Parsed]]:
        """The messages, edits and delivery reports in the request; InvalidInbound when
        malformed.

        May be a coroutine, for channels that download media before the message is stored.
        """
        ...

    def acknowledge(self, results: list[dict[str, Any]]) -> Reply:
        """The answer once every message in the request is committed."""
        ...

    async def send(self, message: OutboundMessage) -> SendReceipt:
        """Deliver a message; raise Transient/PermanentDeliveryError on failure."""
        ...


class Handshake(Protocol):
    """Optional: a connector that answers the provider's GET verification (WhatsApp)."""

    def handshake(self, inbox: ChannelInbox, request: RawRequest) -> Reply: ...


class InboxSetup(Protocol):
    """Optional: a connector that checks a new inbox's config and tells the provider about it.

    `inbox create-inbox` calls `prepare_config` before storing the inbox (validate, generate
    secrets) and `register` after (e.g. Telegram's setWebhook); `register` answers whether it
    registered anything and raises `inbox.errors.Invalid` when the provider refuses.
    """

    def prepare_config(self, config: dict[str, Any]) -> dict[str, Any]: ...

    async def register(self, inbox: ChannelInbox, webhook_url: str) -> bool: ...


ConnectorFactory = Callable[[Settings], Connector]


class Registry:
    """Inbox kind → connector. Adding a channel is one `register` line."""

    def __init__(self) -> None:
        self._factories: dict[str, ConnectorFactory] = {}

    def register(self, kind: str, factory: ConnectorFactory) -> None:
        self._factories[kind] = factory

    def kinds(self) -> list[str]:
        return sorted(self._factories)

    def build(self, settings: Settings) -> dict[str, Connector]:
        return {kind: factory(settings) for kind, factory in self._factories.items()}


registry = Registry()
