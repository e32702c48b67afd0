"""Where a channel's pull stands (an IMAP mailbox's UIDVALIDITY and last UID), kept in the same
transaction as the messages it fetched, so a crash in between fetches them again."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from inbox.db import Database
from inbox.models import ChannelCursor, utcnow

CURSOR = ChannelCursor.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CursorUpdate:
    """Set the cursor `key` of an inbox to `value` together with a stored message."""

    inbox_id: int
    key: str
    value: str


def write_cursor(conn: Connection, cursor: CursorUpdate) -> None:
    """Upsert the cursor inside the caller's transaction (one poller per key writes it)."""
    values = {"value": cursor.value[:255], "updated_at": utcnow()}
    changed = conn.execute(
        update(CURSOR)
        .where(CURSOR.c.inbox_id == cursor.inbox_id, CURSOR.c.key == cursor.key)
        .values(**values)
    )
    if not changed.rowcount:
        conn.execute(insert(CURSOR).values(inbox_id=cursor.inbox_id, key=cursor.key, **values))


async def save_cursor(db: Database, cursor: CursorUpdate) -> None:
    """Move the cursor on its own (past mail that became no message, e.g. a bounce)."""
    async with db.write() as tx:
        await tx.session.run_sync(lambda s: write_cursor(s.connection(), cursor))


async def read_cursor(db: Database, inbox_id: int, key: str) -> str | None:
    """The cursor's value, or None before the first pull."""
    async with db.read() as session:
        return await session.scalar(
            select(CURSOR.c.value).where(CURSOR.c.inbox_id == inbox_id, CURSOR.c.key == key)
        )
