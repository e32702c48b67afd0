"""The one way out: outgoing messages are queued with their row and sent by a dispatcher."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, text, update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.channel import (
    ChannelInbox,
    DeliveryError,
    IdentityClaim,
    OutboundMessage,
    PermanentDeliveryError,
    Recipient,
    SendReceipt,
    Transport,
)
from inbox.db import Database, Tx
from inbox.models import (
    DELIVERY_RANK,
    Conversation,
    Customer,
    Delivery,
    Direction,
    EarlyDeliveryStatus,
    Identity,
    Inbox,
    Message,
    OutboxItem,
    utcnow,
)
from inbox.objects import message_object
from inbox.queries import message_objects
from inbox.reply_files import message_files

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=60)
EARLY_STATUS_KEPT = timedelta(hours=1)
SEND_TIMEOUT = 30.0


def advance_status(message: Message, status: str, error: str | None = None) -> bool:
    """Move delivery status forward only (failed is final); True when it changed."""
    if status not in DELIVERY_RANK:
        return False
    current = Delivery(message.status)
    if current == Delivery.failed or DELIVERY_RANK[Delivery(status)] <= DELIVERY_RANK[current]:
        return False
    message.status = status
    if error is not None or status == Delivery.failed:
        message.error = (error or "delivery failed")[:1000]
    return True


async def enqueue(tx: Tx, message: Message) -> None:
    """Queue a stored outgoing message for sending, in the caller's transaction."""
    tx.session.add(OutboxItem(message_id=message.id or 0, inbox_id=message.inbox_id))
    await tx.session.flush()
    tx.after_commit.append(_wake_dispatchers)


_wakeups: set[asyncio.Event] = set()


def _wake_dispatchers() -> None:
    for event in _wakeups:
        event.set()


async def record_delivery_status(
    db: Database, inbox_id: int, external_id: str, status: str, error: str | None = None
) -> bool:
    """A provider reported on a message we sent; apply it if it moves the status forward."""

    async def work(tx: Tx) -> bool:
        await _lock_provider_id(tx, inbox_id, external_id)
        # Locked: the dispatcher recording the send may be writing this row at the same time.
        message = await tx.session.scalar(
            select(Message)
            .where(Message.inbox_id == inbox_id, Message.external_id == external_id)
            .with_for_update()
        )
        if message is None:
            # Sent, but the send is not recorded yet: the report waits for it (_sent).
            await _keep_early_status(tx, inbox_id, external_id, status, error)
            return False
        if not advance_status(message, status, error):
            return False
        tx.session.add(message)
        tx.emit("message.updated", await _with_files(tx, message), {message.inbox_id})
        return True

    return await db.run_write(work)


async def _lock_provider_id(tx: Tx, inbox_id: int, external_id: str) -> None:
    # A report and the recording of the send it is about take turns (PostgreSQL; SQLite
    # writes one at a time anyway), so no report falls between the two.
    if tx.dialect == "postgresql":
        key = hashlib.blake2b(f"status:{inbox_id}:{external_id}".encode(), digest_size=8)
        await tx.session.execute(
            text("SELECT pg_advisory_xact_lock(:k)"),
            {"k": int.from_bytes(key.digest(), "big", signed=True)},
        )


async def _keep_early_status(
    tx: Tx, inbox_id: int, external_id: str, status: str, error: str | None
) -> None:
    now = utcnow()
    # Reports about ids we never record (another system's sends) must not pile up.
    await tx.session.execute(
        delete(EarlyDeliveryStatus).where(
            EarlyDeliveryStatus.received_at < now - EARLY_STATUS_KEPT  # type: ignore[arg-type]
        )
    )
    tx.session.add(
        EarlyDeliveryStatus(
            inbox_id=inbox_id,
            external_id=external_id[:255],
            status=status[:16],
            error=(error or None) and error[:1000],
            received_at=now,
        )
    )


async def _apply_early_statuses(tx: Tx, message: Message) -> None:
    early = (
        await tx.session.exec(
            select(EarlyDeliveryStatus)
            .where(
                EarlyDeliveryStatus.inbox_id == message.inbox_id,
                EarlyDeliveryStatus.external_id == message.external_id,
            )
            .order_by(EarlyDeliveryStatus.id)  # type: ignore[arg-type]
        )
    ).all()
    for report in early:
        advance_status(message, report.status, report.error)
        await tx.session.delete(report)


class Dispatcher:
    """Claims due outbox rows, sends them through their connector, records the outcome."""

    def __init__(
        self,
        db: Database,
        transports: Callable[[str], Transport],
        *,
        max_attempts: int = 5,
        backoff_seconds: float = 2.0,
        batch: int = 20,
        idle_seconds: float = 1.0,
    ) -> None:
        self.db = db
        self.transports = transports
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.batch = batch
        self.idle_seconds = idle_seconds
        self._wakeup = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Dispatch until `stop` is set, sleeping while nothing is due."""
        _wakeups.add(self._wakeup)
        try:
            while not stop.is_set():
                try:
                    sent = await self.dispatch_due()
                except Exception:
                    log.exception("outbox dispatch failed; trying again shortly")
                    sent = 0
                if sent:
                    continue
                self._wakeup.clear()
                waiters = [
                    asyncio.ensure_future(stop.wait()),
                    asyncio.ensure_future(self._wakeup.wait()),
                ]
                await asyncio.wait(
                    waiters, timeout=self.idle_seconds, return_when=asyncio.FIRST_COMPLETED
                )
                for waiter in waiters:
                    waiter.cancel()
        finally:
            _wakeups.discard(self._wakeup)

    def wake(self) -> None:
        """Look at the outbox now: a reply was queued, here or in another process."""
        self._wakeup.set()

    async def dispatch_due(self) -> int:
        """Send every row that is due now; returns how many were tried."""
        ids = await self.db.run_write(self._claim)
        for item_id in ids:
            await self._deliver(item_id)
        return len(ids)

    async def _claim(self, tx: Tx) -> list[int]:
        now = utcnow()
        # A row stays "sending" under a lease: if its worker dies, it is due again later.
        due = (
            select(OutboxItem.id)
            .where(
                OutboxItem.state.in_(("pending", "sending")),  # type: ignore[attr-defined]
                OutboxItem.next_attempt_at <= now,
            )
            .order_by(OutboxItem.next_attempt_at)  # type: ignore[arg-type]
            .limit(self.batch)
        )
        if tx.dialect == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = list((await tx.session.execute(due)).scalars().all())
        if ids:
            await tx.session.execute(
                update(OutboxItem)
                .where(OutboxItem.id.in_(ids))  # type: ignore[union-attr]
                .values(state="sending", next_attempt_at=now + LEASE, updated_at=now)
            )
        return ids

    async def _deliver(self, item_id: int) -> None:
        async with self.db.read() as session:
            loaded = await _load_outbound(session, item_id)
        if loaded is None:
            return
        outbound, kind = loaded
        try:
            transport = self.transports(kind)
            receipt = await asyncio.wait_for(transport.send(outbound), SEND_TIMEOUT)
        except DeliveryError as exc:
            await self._failed(item_id, exc.reason, isinstance(exc, PermanentDeliveryError))
        except TimeoutError:
            await self._failed(
                item_id, f"no answer from the channel in {SEND_TIMEOUT:.0f} s", False
            )
        except Exception as exc:  # a connector bug must not stop the queue
            log.exception("connector %s crashed sending outbox item %s", kind, item_id)
            await self._failed(item_id, f"{type(exc).__name__}: {exc}", False)
        else:
            await self._sent(item_id, receipt)

    async def _sent(self, item_id: int, receipt: SendReceipt) -> None:
        async def work(tx: Tx) -> None:
            item = await tx.session.get(OutboxItem, item_id)
            if item is None:
                return
            # Locked, and read fresh: a provider's status callback may have moved it meanwhile.
            message = await tx.session.get(
                Message, item.message_id, with_for_update=True, populate_existing=True
            )
            assert message is not None
            item.state, item.updated_at, item.last_error = "done", utcnow(), None
            item.attempts += 1
            if receipt.external_id and not message.external_id:
                await _lock_provider_id(tx, message.inbox_id, receipt.external_id[:255])
                message.external_id = receipt.external_id[:255]
            advance_status(message, receipt.status)
            message.error = None
            if message.external_id:
                await _apply_early_statuses(tx, message)
            tx.session.add_all([item, message])
            tx.emit("message.updated", await _with_files(tx, message), {message.inbox_id})

        await self.db.run_write(work)

    async def _failed(self, item_id: int, reason: str, permanent: bool) -> None:
        async def work(tx: Tx) -> None:
            item = await tx.session.get(OutboxItem, item_id)
            if item is None:
                return
            # Locked, and read fresh: a provider's status callback may have moved it meanwhile.
            message = await tx.session.get(
                Message, item.message_id, with_for_update=True, populate_existing=True
            )
            assert message is not None
            item.attempts += 1
            item.last_error = reason[:1000]
            item.updated_at = utcnow()
            if permanent or item.attempts >= self.max_attempts:
                item.state = "failed"
                advance_status(message, Delivery.failed, reason)
            else:
                item.state = "pending"
                item.next_attempt_at = utcnow() + self.backoff(item.attempts)
                message.error = f"retrying: {reason}"[:1000]
            tx.session.add_all([item, message])
            tx.emit("message.updated", await _with_files(tx, message), {message.inbox_id})

        await self.db.run_write(work)

    def backoff(self, attempts: int) -> timedelta:
        """Exponential backoff with jitter, so a provider outage is not hammered in step."""
        base = self.backoff_seconds * (2 ** (attempts - 1))
        return timedelta(seconds=min(base, 3600) * random.uniform(0.8, 1.2))


async def retry_failed(tx: Tx, message: Message, now: datetime | None = None) -> None:
    """Queue a failed message again (an agent pressed retry)."""
    item = await tx.session.scalar(select(OutboxItem).where(OutboxItem.message_id == message.id))
    if item is None:
        return
    item.state, item.attempts, item.next_attempt_at = "pending", 0, now or utcnow()
    message.status, message.error = Delivery.queued, None
    tx.session.add_all([item, message])
    tx.emit("message.updated", await _with_files(tx, message), {message.inbox_id})
    tx.after_commit.append(_wake_dispatchers)


async def _with_files(tx: Tx, message: Message) -> dict[str, Any]:
    """The message object with its attachments, as every event about an agent's reply carries."""
    [found] = await message_objects(tx.session, [message])
    return found


async def _load_outbound(session: AsyncSession, item_id: int) -> tuple[OutboundMessage, str] | None:
    item = await session.get(OutboxItem, item_id)
    if item is None or item.state != "sending":
        return None
    message = await session.get(Message, item.message_id)
    inbox = await session.get(Inbox, item.inbox_id)
    assert message is not None and inbox is not None
    conversation = await session.get(Conversation, message.conversation_id)
    assert conversation is not None
    # Replies go to the conversation's customer, never to whoever merely joined the thread.
    customer = await session.get(Customer, conversation.customer_id)
    identities = (
        await session.exec(select(Identity).where(Identity.customer_id == conversation.customer_id))
    ).all()
    refs = (
        await session.exec(
            select(Message.external_id)
            .where(
                Message.conversation_id == conversation.id,
                Message.inbox_id == inbox.id,
                Message.direction == Direction.inbound,
                Message.external_id.is_not(None),  # type: ignore[union-attr]
            )
            .order_by(Message.created_at.desc())  # type: ignore[attr-defined]
            .limit(10)
        )
    ).all()
    stored, files = await message_files(session, message.id or 0)
    outbound = OutboundMessage(
        message_id=message.id or 0,
        conversation_id=conversation.id or 0,
        inbox=ChannelInbox(inbox.id or 0, inbox.kind, inbox.name, dict(inbox.config), inbox.token),
        recipient=Recipient(
            customer_id=conversation.customer_id,
            name=customer.name if customer else None,
            identities=tuple(IdentityClaim(i.kind, i.value, i.verified) for i in identities),
        ),
        text=message.text,
        author=message.author,
        subject=conversation.subject,
        reply_to_external_ids=tuple(r for r in refs if r),
        payload=message_object(message, stored),
        attachments=files,
    )
    return outbound, inbox.kind
