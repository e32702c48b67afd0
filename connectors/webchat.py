"""Website chat: visitors write from the embedded widget; replies go to their open widgets.

Config: `allowed_origins` (list of origins allowed to embed the widget; empty allows any),
`identity_secret` (generated when absent: the host site signs `user_id` with HMAC-SHA256),
`business_hours` ({"timezone": "Asia/Seoul", "days": {"mon": ["09:00", "18:00"], ...}}).
The widget posts to `/widget/...` (web/widget.py), not to the generic webhook path.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import filetype

from connectors.base import (
    ChannelInbox,
    IdentityClaim,
    InboundAttachment,
    InboundMessage,
    InvalidInbound,
    OutboundMessage,
    RawRequest,
    Reply,
    SendReceipt,
    SignatureError,
)
from inbox.errors import Invalid, TooLarge, Unsupported
from inbox.ingest import safe_filename
from inbox.settings import Settings

VISITOR_ID = re.compile(r"[A-Za-z0-9-]{16,64}")  # no LIKE wildcards: it prefixes external ids
CLIENT_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
MAX_TEXT = 4000
MAX_FIELD = 320
SOCKET_QUEUE = 100
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_ATTACHMENT = 10 * 1024 * 1024
MAX_FILES = 5
OLE = ("application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint")
ZIP = ("application/zip",)
_OOXML = "application/vnd.openxmlformats-officedocument."
_ODF = "application/vnd.oasis.opendocument."
# Extension -> (the type we store, what the bytes may be recognised as; () means plain text).
# The browser's claimed type is never trusted: the name picks the type, the bytes must agree.
ATTACHMENT_TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "png": ("image/png", ("image/png", "image/apng")),
    "jpg": ("image/jpeg", ("image/jpeg",)),
    "jpeg": ("image/jpeg", ("image/jpeg",)),
    "gif": ("image/gif", ("image/gif",)),
    "webp": ("image/webp", ("image/webp",)),
    "pdf": ("application/pdf", ("application/pdf",)),
    "doc": ("application/msword", OLE),
    "xls": ("application/vnd.ms-excel", OLE),
    "ppt": ("application/vnd.ms-powerpoint", OLE),
    "hwp": ("application/x-hwp", OLE),
    "docx": (_OOXML + "wordprocessingml.document", (_OOXML + "wordprocessingml.document", *ZIP)),
    "xlsx": (_OOXML + "spreadsheetml.sheet", (_OOXML + "spreadsheetml.sheet", *ZIP)),
    "pptx": (
        _OOXML + "presentationml.presentation",
        (_OOXML + "presentationml.presentation", *ZIP),
    ),
    "odt": (_ODF + "text", (_ODF + "text", *ZIP)),
    "ods": (_ODF + "spreadsheet", (_ODF + "spreadsheet", *ZIP)),
    "odp": (_ODF + "presentation", (_ODF + "presentation", *ZIP)),
    "txt": ("text/plain", ()),
    "csv": ("text/csv", ()),
}


@dataclass(frozen=True)
class Visitor:
    """Who is writing from a widget, and which of their claims are proven."""

    visitor_id: str
    user_id: str | None = None  # set only when the host site's signature checked out
    email: str | None = None
    name: str | None = None

    @property
    def prefixes(self) -> tuple[str, ...]:
        """External-id prefixes of this visitor's messages (what they may read back)."""
        own = f"v:{self.visitor_id}:"
        return (own,) if self.user_id is None else (_user_prefix(self.user_id), own)

    def claims(self) -> tuple[IdentityClaim, ...]:
        # The visitor id is a 128-bit secret only this browser holds: possession proves it.
        found = [IdentityClaim("webchat", self.visitor_id, verified=True)]
        if self.user_id is not None:
            found.append(IdentityClaim("external", self.user_id, verified=True))
        if self.email:
            # Signed by the host site: verified. Typed into the form: only a claim.
            found.append(IdentityClaim("email", self.email, verified=self.user_id is not None))
        return tuple(found)


@dataclass(eq=False)
class WidgetSocket:
    """One open widget: the frames waiting to be written to it."""

    visitor: Visitor
    inbox_id: int = 0
    queue: asyncio.Queue[dict[str, Any]] = field(
        default_factory=lambda: asyncio.Queue(SOCKET_QUEUE)
    )
    shown: set[int] = field(default_factory=set)  # replies this widget was given: it may read
    given: set[int] = field(default_factory=set)  # every message id queued: none goes twice
    following: set[int] = field(default_factory=set)  # conversation ids
    current: int | None = None  # the conversation it follows most recently
    typed_at: float = 0.0  # when the visitor's typing was last announced

    @property
    def key(self) -> tuple[int, str]:
        """The inbox and the external-id prefix of the visitor's own messages."""
        return (self.inbox_id, self.visitor.prefixes[0])

    def showed(self, messages: list[dict[str, Any]]) -> None:
        self.shown.update(m["id"] for m in messages if m.get("direction") == "out")
        self.given.update(m["id"] for m in messages)

    def put(self, frame: dict[str, Any]) -> bool:
        message = frame.get("message")
        if isinstance(message, dict):
            if message.get("id") in self.given:
                return True  # the catch-up, the bus and the hello may each bring it
            self.given.add(message["id"])
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            return False  # a stuck widget catches up by `since=` when it reconnects
        return True


class WidgetHub:
    """Open widgets by conversation: a reply reaches only the sockets of that conversation."""

    def __init__(self) -> None:
        self._sockets: dict[int, set[WidgetSocket]] = {}
        self._open: dict[tuple[int, str], set[WidgetSocket]] = {}

    @property
    def busy(self) -> bool:
        """Whether any widget is open in this process (else events need no look)."""
        return bool(self._open)

    def open(self, socket: WidgetSocket) -> None:
        self._open.setdefault(socket.key, set()).add(socket)

    def close(self, socket: WidgetSocket) -> None:
        _discard(self._open, socket.key, socket)
        for conversation_id in socket.following:
            _discard(self._sockets, conversation_id, socket)

    def follow(self, socket: WidgetSocket, conversation_id: int) -> None:
        """Only for a conversation the socket's own visitor wrote in."""
        self._sockets.setdefault(conversation_id, set()).add(socket)
        socket.following.add(conversation_id)
        socket.current = conversation_id

    def join(self, inbox_id: int, prefix: str, conversation_id: int) -> None:
        """A visitor wrote in this conversation (their messages' external ids start with
        `prefix`): each of their open widgets on this inbox follows it."""
        for socket in list(self._open.get((inbox_id, prefix), ())):
            self.follow(socket, conversation_id)

    def follows(self, inbox_id: int, conversation_id: int) -> bool:
        """Whether an open widget of this inbox follows the conversation."""
        return any(s.inbox_id == inbox_id for s in self._sockets.get(conversation_id, ()))

    def wants(self, inbox_id: int, conversation_id: int, message_id: int) -> bool:
        """Whether a widget here follows the conversation and has not had this message."""
        return any(
            s.inbox_id == inbox_id and message_id not in s.given
            for s in self._sockets.get(conversation_id, ())
        )

    def publish(self, conversation_id: int, frame: dict[str, Any], inbox_id: int = 0) -> int:
        """Hand a frame to the conversation's widgets (of `inbox_id` when given)."""
        return sum(
            s.put(frame)
            for s in list(self._sockets.get(conversation_id, ()))
            if not inbox_id or s.inbox_id == inbox_id
        )


def _discard(index: dict[Any, set[WidgetSocket]], key: Any, socket: WidgetSocket) -> None:
    members = index.get(key)
    if members is not None:
        members.discard(socket)
        if not members:
            del index[key]


class WebchatConnector:
    """Visitor messages in (through web/widget.py), replies out to open widget sockets."""

    kind = "webchat"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.hub = WidgetHub()

    def prepare_config(self, config: dict[str, Any]) -> dict[str, Any]:
        """Check the keys and give the inbox an identity secret if it has none."""
        origins = config.get("allowed_origins", [])
        if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
            raise Invalid("allowed_origins must be a list of origins like https://shop.example")
        hours = config.get("business_hours")
        if hours is not None and not isinstance(hours, dict):
            raise Invalid("business_hours must be an object")
        secret = config.get("identity_secret")
        if secret in (None, ""):
            return {**config, "identity_secret": secrets.token_urlsafe(32)}
        if not isinstance(secret, str) or len(secret) < 16:
            raise Invalid("identity_secret must be a string of at least 16 characters")
        return config

    def check_origin(self, inbox: ChannelInbox, origin: str | None) -> None:
        """Refuse a browser on a site the inbox does not list (when it lists any)."""
        allowed = [o.rstrip("/") for o in inbox.config.get("allowed_origins") or []]
        if allowed and (origin or "").rstrip("/") not in allowed:
            raise SignatureError("this site may not embed the chat widget")

    def visitor(self, inbox: ChannelInbox, params: dict[str, Any]) -> Visitor:
        """The visitor from the widget's parameters; a bad identity signature is refused."""
        visitor_id = params.get("visitor")
        if not isinstance(visitor_id, str) or not VISITOR_ID.fullmatch(visitor_id):
            raise InvalidInbound("visitor must be 16-64 letters, digits or dashes")
        email, name = _text_field(params, "email"), _text_field(params, "name")
        user_id = _text_field(params, "user_id")
        if user_id is None:
            return Visitor(visitor_id, None, email, name)
        secret = str(inbox.config.get("identity_secret") or "")
        expected = hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()
        given = str(params.get("signature") or "")
        if not secret or not hmac.compare_digest(given.lower().encode(), expected.encode()):
            raise SignatureError("the identity signature does not match user_id")
        return Visitor(visitor_id, user_id, email, name)

    def with_form(self, visitor: Visitor, data: dict[str, Any]) -> Visitor:
        """The visitor plus the name and email typed into the widget's form (claims only)."""
        if visitor.user_id is not None:
            return visitor  # the host site vouched for who this is; a form cannot change it
        email, name = _text_field(data, "email"), _text_field(data, "name")
        return replace(visitor, email=email or visitor.email, name=name or visitor.name)

    def inbound(
        self,
        inbox: ChannelInbox,
        visitor: Visitor,
        data: dict[str, Any],
        files: Sequence[InboundAttachment] = (),
    ) -> InboundMessage:
        """The visitor's message; its client id makes a resent message a duplicate."""
        client_id, text = data.get("id"), data.get("text", "" if files else None)
        if not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id):
            raise InvalidInbound("id must be 1-64 letters, digits or dashes")
        if not isinstance(text, str) or not (text.strip() or files):
            raise InvalidInbound("text is required")
        if len(text) > MAX_TEXT:
            raise InvalidInbound(f"text is longer than {MAX_TEXT} characters")
        return InboundMessage(
            inbox_id=inbox.id,
            external_id=f"{visitor.prefixes[0]}{client_id}",
            identities=visitor.claims(),
            text=text,
            channel="webchat",
            customer_name=visitor.name,
            attachments=tuple(files),
            meta={"visitor": visitor.visitor_id},
        )

    def attachment(self, filename: str, data: bytes) -> InboundAttachment:
        """An uploaded file, if its size and type are allowed (413 / 415 otherwise)."""
        if len(data) > MAX_ATTACHMENT:
            raise TooLarge(f"a file may be at most {MAX_ATTACHMENT // (1024 * 1024)} MB")
        if not data:
            raise InvalidInbound("the file is empty")
        name = safe_filename(filename)
        extension = name.rpartition(".")[2].lower() if "." in name else ""
        allowed = ATTACHMENT_TYPES.get(extension)
        if allowed is None:
            raise Unsupported("images, PDF, office documents and text files only")
        content_type, recognised = allowed
        if not _looks_like(data, recognised):
            raise Unsupported(f"the file's content is not a .{extension} file")
        return InboundAttachment(name, content_type, data)

    def widget_config(self, inbox: ChannelInbox, now: datetime | None = None) -> dict[str, Any]:
        """What the widget needs before the visitor writes: name, open now, forms to show."""
        is_open = _within_hours(inbox.config.get("business_hours"), now or datetime.now(UTC))
        return {
            "name": inbox.name,
            "open": is_open,
            "offline_form": not is_open,
            "prechat_form": bool(inbox.config.get("prechat_form", False)),
            "max_text": MAX_TEXT,
            "max_attachment": MAX_ATTACHMENT,
            "attachment_types": sorted(f".{e}" for e in ATTACHMENT_TYPES),
        }

    def verify(self, inbox: ChannelInbox, request: RawRequest) -> None:
        # The widget has its own rate-limited, origin-checked endpoints.
        raise SignatureError("the chat widget posts to /widget/messages")

    def parse(self, inbox: ChannelInbox, request: RawRequest) -> list[InboundMessage]:
        return []

    def acknowledge(self, results: list[dict[str, Any]]) -> Reply:
        return Reply(200, {"stored": len(results)})

    async def send(self, message: OutboundMessage) -> SendReceipt:
        """Recorded as sent; the web processes push it to open widgets on that event.

        Every web process hears the outbox's `message.updated` on the bus and writes the reply
        (with its files, agent name and avatar) to its own widget sockets (web/widget_live.py),
        so a visitor reaches it whichever process they are connected to. "delivered" when a
        widget of this conversation is open in this very process.
        """
        here = self.hub.follows(message.inbox.id, message.conversation_id)
        return SendReceipt(
            external_id=reply_key(message.message_id), status="delivered" if here else "sent"
        )


def reply_key(message_id: int) -> str:
    """The external id a reply gets when sent: read receipts find it by this."""
    return f"out:{message_id}"


def _text_field(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    if not isinstance(value, str) or len(value) > MAX_FIELD:
        raise InvalidInbound(f"{name} must be a string of at most {MAX_FIELD} characters")
    return value.strip() or None


def _within_hours(hours: Any, now: datetime) -> bool:
    """Open when no hours are set, else when `now` falls in today's span in the inbox's zone."""
    if not isinstance(hours, dict) or not isinstance(hours.get("days"), dict):
        return True
    try:
        local = now.astimezone(ZoneInfo(str(hours.get("timezone") or "UTC")))
    except (ZoneInfoNotFoundError, ValueError):
        return True  # a misconfigured zone should not hide the chat
    span = hours["days"].get(DAYS[local.weekday()])
    if not isinstance(span, list) or len(span) != 2:
        return False
    clock = local.strftime("%H:%M")
    return str(span[0]) <= clock < str(span[1])


def _looks_like(data: bytes, recognised: tuple[str, ...]) -> bool:
    if recognised:
        return filetype.guess_mime(data[:8192]) in recognised
    # Plain text: no recognisable binary format, no NULs, and readable as UTF-8 or CP949.
    if filetype.guess_mime(data[:8192]) is not None or b"\x00" in data:
        return False
    for charset in ("utf-8", "cp949"):
        try:
            data.decode(charset)
        except UnicodeDecodeError:
            continue
        return True
    return False


def _user_prefix(user_id: str) -> str:
    return f"u:{hashlib.sha256(user_id.encode()).hexdigest()[:32]}:"


def connector(settings: Settings) -> WebchatConnector:
    return WebchatConnector(settings)
