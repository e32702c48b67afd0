"""The one way in: every channel hands its messages to `ingest()`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.channel import IdentityClaim, InboundMessage, InvalidInbound
from inbox.consent import record_consent
from inbox.db import Database, Tx
from inbox.errors import NotFound, TooLarge
from inbox.identity import normalise_claims, resolve_customer, suggest_merge
from inbox.models import (
    Attachment,
    Author,
    Conversation,
    Delivery,
    Direction,
    Inbox,
    Message,
    Status,
    utcnow,
)
from inbox.objects import attachment_object, conversation_object, message_object
from inbox.search import index_message
from inbox.settings import Limits, Settings
from inbox.threading import pick_conversation

CUSTOMER_LOCK = 7_340_000_000_000


@dataclass(frozen=True)
class IngestResult:
    message_id: int
    conversation_id: int
    customer_id: int
    duplicate: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "message_id": self.message_id,
            "conversation_id": self.conversation_id,
            "customer_id": self.customer_id,
            "duplicate": self.duplicate,
        }


async def ingest(db: Database, inbound: InboundMessage, settings: Settings) -> IngestResult:
    """Store an inbound message once, threaded to its one customer, and announce it."""
    check_limits(inbound, settings.limits)
    claims = normalise_claims(inbound.identities, settings.default_region)
    if not claims:
        raise InvalidInbound("a message needs at least one customer identity")
    async with db.read() as session:
        # Most replays are caught here without taking the write turn.
        seen = await _existing(session, inbound)
    if seen is not None:
        return seen
    window = timedelta(hours=settings.continuation_hours)
    return await db.run_write(lambda tx: _store(tx, inbound, claims, window))


def check_limits(inbound: InboundMessage, limits: Limits) -> None:
    """Refuse what is empty or past the limits before anything is written."""
    if not inbound.external_id or len(inbound.external_id) > 255:
        raise InvalidInbound("external_id must be 1 to 255 characters")
    if "\x00" in inbound.external_id or "\x00" in inbound.text:
        raise InvalidInbound("NUL characters are not allowed")
    if len(inbound.text) > limits.message_text:
        raise TooLarge(f"text is longer than {limits.message_text} characters")
    if not inbound.text.strip() and not inbound.attachments and not inbound.html:
        raise InvalidInbound("a message needs text or an attachment")
    for attachment in inbound.attachments:
        if len(attachment.data) > limits.attachment:
            raise TooLarge(f"attachment is larger than {limits.attachment} bytes")


async def _existing(session: AsyncSession, inbound: InboundMessage) -> IngestResult | None:
    row = (
        await session.execute(
            select(Message.id, Message.conversation_id, Message.customer_id).where(
                Message.inbox_id == inbound.inbox_id, Message.external_id == inbound.external_id
            )
        )
    ).first()
    if row is None:
        return None
    return IngestResult(row[0], row[1], row[2], duplicate=True)


async def _store(
    tx: Tx, inbound: InboundMessage, claims: list[IdentityClaim], window: timedelta
) -> IngestResult:
    session = tx.session
    if tx.dialect == "postgresql":
        # Concurrent deliveries of one message queue here; the second then sees the first.
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(inbound)})
    seen = await _existing(session, inbound)
    if seen is not None:
        return seen
    channel = inbound.channel or await _inbox_kind(session, inbound.inbox_id)
    resolution = await resolve_customer(tx, claims, inbound.customer_name)
    if tx.dialect == "postgresql":
        # One customer's simultaneous messages must agree on one conversation.
        await session.execute(
            text("SELECT pg_advisory_xact_lock(:k)"), {"k": CUSTOMER_LOCK + resolution.customer_id}
        )
    now = utcnow()
    thread = await pick_conversation(session, inbound, resolution.customer_id, now, window)
    conversation = thread.conversation
    if thread.referenced_customer_id not in (None, resolution.customer_id):
        await suggest_merge(
            tx, resolution.customer_id, conversation.customer_id, claims[0], "replied-to-thread"
        )
    message = Message(
        conversation_id=conversation.id or 0,
        customer_id=resolution.customer_id,
        inbox_id=inbound.inbox_id,
        channel=channel,
        direction=Direction.inbound,
        author=Author.customer,
        text=inbound.text,
        stripped_text=inbound.stripped_text if inbound.stripped_text is not None else inbound.text,
        html=inbound.html,
        subject=inbound.subject,
        external_id=inbound.external_id,
        status=Delivery.received,
        meta=inbound.meta,
        created_at=_sent_at(inbound.sent_at, now),
        received_at=now,
    )
    session.add(message)
    await session.flush()
    assert message.id is not None
    attachments = await _store_attachments(session, message.id, inbound)
    # STOP/START a connector marked, in the same transaction as the message.
    await session.run_sync(lambda sync: record_consent(sync.connection(), inbound))
    _touch(conversation, now)
    session.add(conversation)
    await index_message(session, tx.dialect, message.id, f"{inbound.subject or ''} {inbound.text}")
    await session.flush()
    inboxes = await conversation_inbox_ids(session, conversation.id or 0)
    tx.emit("message.created", message_object(message, attachments), {message.inbox_id})
    tx.emit(
        "conversation.created" if thread.created else "conversation.updated",
        conversation_object(conversation),
        inboxes,
    )
    return IngestResult(message.id, conversation.id or 0, resolution.customer_id, False)


def _touch(conversation: Conversation, now: datetime) -> None:
    """A customer wrote: the conversation is active and needs an agent again."""
    conversation.last_message_at = now
    conversation.last_inbound_at = now
    if conversation.status != Status.open:
        conversation.status = Status.open
        conversation.snoozed_until = None
        conversation.resolved_at = None


async def _store_attachments(
    session: AsyncSession, message_id: int, inbound: InboundMessage
) -> list[dict[str, object]]:
    stored = []
    for item in inbound.attachments:
        attachment = Attachment(
            message_id=message_id,
            filename=safe_filename(item.filename),
            content_type=(item.content_type or "application/octet-stream")[:255],
            size=len(item.data),
            data=item.data,
        )
        session.add(attachment)
        stored.append(attachment)
    if stored:
        await session.flush()
    return [attachment_object(a) for a in stored]


def safe_filename(name: str) -> str:
    """A filename without paths, control characters or leading dots."""
    base = name.replace("\\", "/").split("/")[-1]
    cleaned = "".join(c for c in base if c.isprintable() and c not in '<>:"|?*').strip()
    cleaned = cleaned.lstrip(".").strip()
    return cleaned[:200] or "attachment"


async def conversation_inbox_ids(session: AsyncSession, conversation_id: int) -> set[int]:
    """Inboxes with messages in the conversation: whose agents may hear about it."""
    rows = await session.execute(
        select(Message.inbox_id).distinct().where(Message.conversation_id == conversation_id)
    )
    return {r[0] for r in rows}


async def _inbox_kind(session: AsyncSession, inbox_id: int) -> str:
    kind = await session.scalar(select(Inbox.kind).where(Inbox.id == inbox_id))
    if kind is None:
        raise NotFound(f"inbox {inbox_id} not found")
    return kind


def _sent_at(sent_at: datetime | None, now: datetime) -> datetime:
    if sent_at is None:
        return now
    sent_at = sent_at.replace(tzinfo=UTC) if sent_at.tzinfo is None else sent_at.astimezone(UTC)
    # A clock far ahead must not pin the message to the top of every list.
    return min(sent_at, now)


def _lock_key(inbound: InboundMessage) -> int:
    digest = hashlib.blake2b(
        f"{inbound.inbox_id}:{inbound.external_id}".encode(), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big", signed=True)
