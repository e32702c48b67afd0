"""The event log: events are appended inside the change's transaction, published after commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Connection, or_, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from inbox.models import Event, utcnow
from inbox.statements import Prepared, prepared_insert

# Any constant works; it only has to be the same in every process.
EVENT_LOG_LOCK = 7_340_001
_EVENT_LOG_LOCK = Prepared(text("SELECT pg_advisory_xact_lock(:k)"))
_INSERT_EVENT = prepared_insert(Event.__table__, returning="seq")  # type: ignore[attr-defined]


@dataclass(frozen=True)
class EventRecord:
    """One committed event: what the websocket and `GET /events` deliver."""

    seq: int
    type: str
    payload: dict[str, Any]
    inbox_ids: frozenset[int] = frozenset()

    def frame(self) -> dict[str, Any]:
        return {"seq": self.seq, "type": self.type, "payload": self.payload}


@dataclass
class PendingEvent:
    type: str
    payload: dict[str, Any]
    inbox_ids: frozenset[int] = field(default_factory=frozenset)


class EventPublisher(Protocol):
    """Where committed events go: the in-process bus or Redis pub/sub."""

    async def publish(self, events: Sequence[EventRecord]) -> None: ...


class NullPublisher:
    """Publishes nowhere (CLI commands, tests that only read the log)."""

    async def publish(self, events: Sequence[EventRecord]) -> None:
        return None


def encode_inbox_ids(ids: Iterable[int]) -> str:
    ids = sorted(set(ids))
    return "," + ",".join(str(i) for i in ids) + "," if ids else ""


def decode_inbox_ids(raw: str) -> frozenset[int]:
    return frozenset(int(part) for part in raw.split(",") if part)


async def append_events(
    session: AsyncSession, pending: Sequence[PendingEvent], dialect: str
) -> list[EventRecord]:
    """Insert the transaction's events and return them with their sequence numbers."""
    if not pending:
        return []
    return await session.run_sync(
        lambda sync: append_events_sync(sync.connection(), pending, dialect)
    )


def append_events_sync(
    conn: Connection, pending: Sequence[PendingEvent], dialect: str
) -> list[EventRecord]:
    """`append_events` on a synchronous connection (the hot-path writer)."""
    if not pending:
        return []
    if dialect == "postgresql":
        # Sequence numbers must become visible in order, or a reader polling `since=` could
        # skip one that commits late; the lock makes appends (and so commits) take turns.
        _EVENT_LOG_LOCK.rows(conn, k=EVENT_LOG_LOCK)
    now = utcnow()
    seqs = [
        _INSERT_EVENT.scalar(
            conn,
            type=p.type,
            payload=p.payload,
            inbox_ids=encode_inbox_ids(p.inbox_ids),
            created_at=now,
        )
        for p in pending
    ]
    return [
        EventRecord(seq=seq, type=p.type, payload=p.payload, inbox_ids=p.inbox_ids)
        for seq, p in zip(seqs, pending, strict=True)
    ]


def visible_to(record: EventRecord, inbox_ids: frozenset[int] | None) -> bool:
    """Whether a viewer with these inboxes (None: admin, sees all) may see the event."""
    if inbox_ids is None:
        return True
    return not record.inbox_ids.isdisjoint(inbox_ids)


async def events_since(
    session: AsyncSession, since: int, inbox_ids: frozenset[int] | None, limit: int
) -> list[EventRecord]:
    """Events after `since` that a viewer (None: admin) may see, oldest first."""
    query = select(Event).where(Event.seq > since)  # type: ignore[operator]
    if inbox_ids is not None:
        if not inbox_ids:
            return []
        query = query.where(or_(*(Event.inbox_ids.contains(f",{i},") for i in inbox_ids)))  # type: ignore[attr-defined]
    query = query.order_by(Event.seq).limit(limit)  # type: ignore[arg-type]
    rows = (await session.execute(query)).scalars().all()
    return [
        EventRecord(
            seq=row.seq or 0,
            type=row.type,
            payload=row.payload,
            inbox_ids=decode_inbox_ids(row.inbox_ids),
        )
        for row in rows
    ]


async def revocations_since(session: AsyncSession, since: int) -> list[tuple[int, int]]:
    """`(seq, agent_id)` of agents revoked after `since` (from any process, CLI included)."""
    rows = await session.execute(
        select(Event.seq, Event.payload)
        .where(Event.seq > since, Event.type == "agent.revoked")  # type: ignore[operator]
        .order_by(Event.seq)  # type: ignore[arg-type]
    )
    return [(int(seq), int(payload.get("agent_id") or 0)) for seq, payload in rows]


async def last_seq(session: AsyncSession) -> int:
    """The newest sequence number (0 when the log is empty)."""
    value = await session.scalar(select(Event.seq).order_by(Event.seq.desc()).limit(1))  # type: ignore[union-attr]
    return int(value or 0)
