"""Customers editing what they sent: the stored message changes in place, and says so."""

from __future__ import annotations

from sqlalchemy import Connection
from sqlmodel import select

from inbox.channel import MessageEdit
from inbox.db import Database, Tx
from inbox.ingest import check_text
from inbox.models import Direction, Message
from inbox.objects import iso, message_object
from inbox.search import index_message, unindex_message


async def record_edit(db: Database, inbox_id: int, edit: MessageEdit, limit: int) -> bool:
    """Apply a customer's edit to their stored message; False when there is none to edit."""
    check_text(edit.text, limit)

    async def work(tx: Tx) -> bool:
        message = await tx.session.scalar(
            select(Message).where(
                Message.inbox_id == inbox_id,
                Message.external_id == edit.external_id,
                Message.direction == Direction.inbound,
            )
        )
        if message is None or message.text == edit.text:
            return False  # the original never arrived, or this edit is a retry
        history = list(message.meta.get("edits", []))[-9:]
        history.append({"text": message.text, "replaced_at": iso(edit.edited_at)})
        message.meta = {**message.meta, "edits": history, "edited_at": iso(edit.edited_at)}
        message.text = message.stripped_text = edit.text
        tx.session.add(message)
        await tx.session.flush()
        message_id, dialect = message.id or 0, tx.dialect
        await tx.session.run_sync(
            lambda sync: _reindex(sync.connection(), dialect, message_id, edit.text)
        )
        tx.emit("message.updated", message_object(message), {inbox_id})
        return True

    return await db.run_write(work)


def _reindex(conn: Connection, dialect: str, message_id: int, text: str) -> None:
    unindex_message(conn, dialect, message_id)
    index_message(conn, dialect, message_id, text)
