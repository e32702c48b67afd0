"""The one way in: every channel hands its messages to `ingest()`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, select, text, update
from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.channel import IdentityClaim, InboundMessage, InvalidInbound
from inbox.consent import record_consent
from inbox.cursors import CursorUpdate, write_cursor
from inbox.db import Database, Tx
from inbox.errors import NotFound, TooLarge
from inbox.identity import known_customer, normalise_claims, resolve_customer, suggest_merge
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
from inbox.statements import Prepared, prepared_insert, row_record
from inbox.threading import CONVERSATION, MESSAGE, pick_conversation
from inbox.writer import SyncTx

CUSTOMER_LOCK = 7_340_000_000_000
ATTACHMENT = Attachment.__table__  # type: ignore[attr-defined]
INBOX = Inbox.__table__  # type: ignore[attr-defined]


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


class _Unresolved(Exception):
    """The claims need `resolve_customer` (a new customer, identity, merge or suggestion)."""


async def ingest(
    db: Database, inbound: InboundMessage, settings: Settings, cursor: CursorUpdate | None = None
) -> IngestResult:
    """Store an inbound message once, threaded to its one customer, and announce it.

    A pulling channel passes `cursor`: it is written in the same transaction (IMAP's last UID).
    """
    check_limits(inbound, settings.limits)
    claims = normalise_claims(inbound.identities, settings.default_region)
    if not claims:
        raise InvalidInbound("a message needs at least one customer identity")
    window = timedelta(hours=settings.continuation_hours)
    try:
        return await db.run_sync_write(lambda tx: _store_known(tx, inbound, claims, window, cursor))
    except _Unresolved:
        # Rare and involved (new customer, merges, suggestions): the ORM resolves the
        # customer, and the same statements store the message, in one transaction.
        return await db.run_write(
            lambda tx: _resolve_and_store(tx, inbound, claims, window, cursor)
        )


def _store_known(
    tx: SyncTx,
    inbound: InboundMessage,
    claims: list[IdentityClaim],
    window: timedelta,
    cursor: CursorUpdate | None = None,
) -> IngestResult:
    """The hot path: a known customer, nothing about them to change."""
    if cursor is not None:
        write_cursor(tx.conn, cursor)
    seen = _claim(tx, inbound)
    if seen is not None:
        return seen
    customer_id = known_customer(tx.conn, tx.dialect, claims, inbound.customer_name)
    if customer_id is None:
        raise _Unresolved
    stored = _store(tx, inbound, customer_id, window)
    if stored.suggest_with is not None:
        raise _Unresolved
    return stored.result


async def _resolve_and_store(
    tx: Tx,
    inbound: InboundMessage,
    claims: list[IdentityClaim],
    window: timedelta,
    cursor: CursorUpdate | None = None,
) -> IngestResult:
    sync = await tx.session.run_sync(lambda s: SyncTx(s.connection(), tx.dialect))
    if cursor is not None:
        await tx.session.run_sync(lambda _: write_cursor(sync.conn, cursor))
    seen = await tx.session.run_sync(lambda _: _claim(sync, inbound))
    if seen is not None:
        return seen
    resolution = await resolve_customer(tx, claims, inbound.customer_name)
    await tx.session.flush()
    stored = await tx.session.run_sync(
        lambda _: _store(sync, inbound, resolution.customer_id, window)
    )
    tx.pending.extend(sync.pending)
    if stored.suggest_with is not None:
        # Someone replied into another customer's thread: maybe one person, agents decide.
        await suggest_merge(
            tx, resolution.customer_id, stored.suggest_with, claims[0], "replied-to-thread"
        )
    return stored.result


def check_text(text: str, limit: int) -> None:
    """Refuse NUL characters and text past the limit."""
    if "\x00" in text:
        raise InvalidInbound("NUL characters are not allowed")
    if len(text) > limit:
        raise TooLarge(f"text is longer than {limit} characters")


def check_limits(inbound: InboundMessage, limits: Limits) -> None:
    """Refuse what is empty or past the limits before anything is written."""
    if not inbound.external_id or len(inbound.external_id) > 255:
        raise InvalidInbound("external_id must be 1 to 255 characters")
    if "\x00" in inbound.external_id or "\x00" in inbound.text:
        raise InvalidInbound("NUL characters are not allowed")
    check_text(inbound.text, limits.message_text)
    if not inbound.text.strip() and not inbound.attachments and not inbound.html:
        raise InvalidInbound("a message needs text or an attachment")
    for attachment in inbound.attachments:
        if len(attachment.data) > limits.attachment:
            raise TooLarge(f"attachment is larger than {limits.attachment} bytes")


@dataclass
class _Stored:
    result: IngestResult
    suggest_with: int | None = None  # the other customer of a thread this message replied to


_ADVISORY_LOCK = Prepared(text("SELECT pg_advisory_xact_lock(:k)"))
_SEEN = Prepared(
    select(MESSAGE.c.id, MESSAGE.c.conversation_id, MESSAGE.c.customer_id).where(
        MESSAGE.c.inbox_id == bindparam("inbox"), MESSAGE.c.external_id == bindparam("external")
    )
)
_INSERT_MESSAGE = prepared_insert(MESSAGE, returning="id")
_INSERT_ATTACHMENT = prepared_insert(ATTACHMENT, returning="id")
_TOUCH = Prepared(
    update(CONVERSATION)
    .where(CONVERSATION.c.id == bindparam("conversation"))
    .values(
        last_message_at=bindparam("now"),
        last_inbound_at=bindparam("now"),
        status=bindparam("status"),
        snoozed_until=bindparam("snoozed_until"),
        resolved_at=bindparam("resolved_at"),
    )
)
_INBOX_IDS = Prepared(
    select(MESSAGE.c.inbox_id).distinct().where(MESSAGE.c.conversation_id == bindparam("conv"))
)
_INBOX_KIND = Prepared(select(INBOX.c.kind).where(INBOX.c.id == bindparam("inbox")))


def _claim(tx: SyncTx, inbound: InboundMessage) -> IngestResult | None:
    """Take this external id's turn; the stored message if it is a replay."""
    if tx.dialect == "postgresql":
        # Concurrent deliveries of one message queue here; the second then sees the first.
        _ADVISORY_LOCK.rows(tx.conn, k=_lock_key(inbound))
    seen = _SEEN.one(tx.conn, inbox=inbound.inbox_id, external=inbound.external_id)
    return None if seen is None else IngestResult(seen[0], seen[1], seen[2], duplicate=True)


def _store(tx: SyncTx, inbound: InboundMessage, customer_id: int, window: timedelta) -> _Stored:
    conn = tx.conn
    channel = inbound.channel or _inbox_kind(conn, inbound.inbox_id)
    if tx.dialect == "postgresql":
        # One customer's simultaneous messages must agree on one conversation.
        _ADVISORY_LOCK.rows(conn, k=CUSTOMER_LOCK + customer_id)
    now = utcnow()
    thread = pick_conversation(conn, inbound, customer_id, now, window)
    message = _insert_message(conn, inbound, thread.conversation, customer_id, channel, now)
    attachments = _store_attachments(conn, message.id or 0, inbound)
    record_consent(conn, inbound)  # STOP/START a connector marked: same transaction
    conversation = thread.conversation
    _touch(conn, conversation, now)
    index_message(conn, tx.dialect, message.id or 0, f"{inbound.subject or ''} {inbound.text}")
    tx.emit("message.created", message_object(message, attachments), {message.inbox_id})
    tx.emit(
        "conversation.created" if thread.created else "conversation.updated",
        conversation_object(conversation),
        inbox_ids_of(conn, conversation.id or 0),
    )
    referenced = thread.referenced_customer_id
    return _Stored(
        IngestResult(message.id or 0, conversation.id or 0, customer_id, False),
        referenced if referenced not in (None, customer_id) else None,
    )


def _insert_message(
    conn: Connection,
    inbound: InboundMessage,
    conversation: Conversation,
    customer_id: int,
    channel: str,
    now: datetime,
) -> Message:
    values: dict[str, Any] = {
        "conversation_id": conversation.id or 0,
        "customer_id": customer_id,
        "inbox_id": inbound.inbox_id,
        "channel": channel,
        "direction": Direction.inbound,
        "author": Author.customer,
        "agent_id": None,
        "text": inbound.text,
        "stripped_text": inbound.stripped_text
        if inbound.stripped_text is not None
        else inbound.text,
        "html": inbound.html,
        "subject": inbound.subject,
        "external_id": inbound.external_id,
        "status": Delivery.received,
        "error": None,
        "private": False,
        "meta": inbound.meta,
        "created_at": _sent_at(inbound.sent_at, now),
        "received_at": now,
    }
    values["id"] = _INSERT_MESSAGE.scalar(conn, **values)
    return row_record(Message, values)


def _touch(conn: Connection, conversation: Conversation, now: datetime) -> None:
    """A customer wrote: the conversation is active and needs an agent again."""
    conversation.last_message_at = now
    conversation.last_inbound_at = now
    if conversation.status != Status.open:
        conversation.status = Status.open
        conversation.snoozed_until = None
        conversation.resolved_at = None
    _TOUCH.rows(
        conn,
        conversation=conversation.id,
        now=now,
        status=conversation.status,
        snoozed_until=conversation.snoozed_until,
        resolved_at=conversation.resolved_at,
    )


def _store_attachments(
    conn: Connection, message_id: int, inbound: InboundMessage
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
        attachment.id = _INSERT_ATTACHMENT.scalar(conn, **attachment.model_dump(exclude={"id"}))
        stored.append(attachment)
    return [attachment_object(a) for a in stored]


def safe_filename(name: str) -> str:
    """A filename without paths, control characters or leading dots."""
    base = name.replace("\\", "/").split("/")[-1]
    cleaned = "".join(c for c in base if c.isprintable() and c not in '<>:"|?*').strip()
    cleaned = cleaned.lstrip(".").strip()
    return cleaned[:200] or "attachment"


def inbox_ids_of(conn: Connection, conversation_id: int) -> set[int]:
    """Inboxes with messages in the conversation: whose agents may hear about it."""
    return {row[0] for row in _INBOX_IDS.rows(conn, conv=conversation_id)}


async def conversation_inbox_ids(session: AsyncSession, conversation_id: int) -> set[int]:
    """`inbox_ids_of` for the ORM's actions."""
    return await session.run_sync(lambda sync: inbox_ids_of(sync.connection(), conversation_id))


def _inbox_kind(conn: Connection, inbox_id: int) -> str:
    kind = _INBOX_KIND.scalar(conn, inbox=inbox_id)
    if kind is None:
        raise NotFound(f"inbox {inbox_id} not found")
    return str(kind)


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
