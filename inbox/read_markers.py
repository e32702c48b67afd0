"""Read markers: what an agent has seen of a conversation, so the list can count what is new."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import select

from inbox.access import Viewer, message_visible
from inbox.db import Database, Tx
from inbox.models import Message, ReadMarker, utcnow
from inbox.queries import visible_conversation

MARKER = ReadMarker.__table__  # type: ignore[attr-defined]


async def mark_read(db: Database, viewer: Viewer, conversation_id: int) -> None:
    """The agent has seen every message of the conversation they may see (markers only move
    forward). A page view that changes nothing writes nothing."""
    async with db.read() as session:
        await visible_conversation(session, viewer, conversation_id)
        newest = await session.scalar(
            select(func.max(Message.id)).where(
                Message.conversation_id == conversation_id, message_visible(viewer)
            )
        )
        seen = await session.scalar(
            select(MARKER.c.message_id).where(
                MARKER.c.agent_id == viewer.agent_id,
                MARKER.c.conversation_id == conversation_id,
            )
        )
    if newest is None or (seen is not None and seen >= newest):
        return

    async def work(tx: Tx) -> None:
        insert = (postgresql if tx.dialect == "postgresql" else sqlite).insert(MARKER)
        values = {
            "agent_id": viewer.agent_id,
            "conversation_id": conversation_id,
            "message_id": newest,
            "read_at": utcnow(),
        }
        statement = insert.values(**values)
        await tx.session.execute(
            statement.on_conflict_do_update(
                index_elements=["agent_id", "conversation_id"],
                set_={"message_id": statement.excluded.message_id, "read_at": values["read_at"]},
                where=MARKER.c.message_id < statement.excluded.message_id,
            )
        )

    await db.run_write(work)
