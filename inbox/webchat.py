"""What a website-chat visitor may read: their own conversation's public messages, nothing else.

A visitor is known by the prefix of the external ids of the messages they wrote (their random
visitor id, or the host site's signed user id): the conversations they wrote in are theirs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.channel import ChannelInbox
from inbox.db import Database, Tx
from inbox.errors import NotFound
from inbox.models import Agent, Delivery, Direction, Inbox, Message
from inbox.objects import message_object
from inbox.outbox import advance_status

PAGE = 200


async def webchat_inbox(session: AsyncSession, token: str) -> ChannelInbox:
    """The webchat inbox whose public widget token this is; NotFound otherwise."""
    if not token or len(token) > 80:
        raise NotFound("no such chat widget")
    row = (
        await session.exec(select(Inbox).where(Inbox.token == token, Inbox.kind == "webchat"))
    ).first()
    if row is None:
        raise NotFound("no such chat widget")
    return ChannelInbox(row.id or 0, row.kind, row.name, dict(row.config), row.token)


async def visitor_conversation(
    session: AsyncSession, inbox_id: int, prefixes: Sequence[str]
) -> int | None:
    """The newest conversation in this inbox a visitor with these key prefixes wrote in."""
    newest: tuple[int, int] | None = None
    for prefix in prefixes:
        # Prefixes are built from [A-Za-z0-9:-] only, so LIKE has no wildcard to escape.
        row = (
            await session.exec(
                select(Message.id, Message.conversation_id)
                .where(
                    Message.inbox_id == inbox_id,
                    Message.direction == Direction.inbound,
                    col(Message.external_id).like(f"{prefix}%"),
                )
                .order_by(col(Message.id).desc())
                .limit(1)
            )
        ).first()
        if row is not None and (newest is None or row[0] > newest[0]):
            newest = (row[0] or 0, row[1])
    return None if newest is None else newest[1]


async def visitor_messages(
    session: AsyncSession, inbox_id: int, conversation_id: int, since: int = 0, limit: int = PAGE
) -> list[dict[str, Any]]:
    """The conversation's public web-chat messages after message id `since`, oldest first.

    Only what went through this inbox: a conversation that also holds the customer's email or
    SMS threads shows the widget none of them.
    """
    rows = (
        await session.exec(
            select(Message, Agent.name)
            .join(Agent, col(Agent.id) == Message.agent_id, isouter=True)
            .where(
                Message.conversation_id == conversation_id,
                Message.inbox_id == inbox_id,
                Message.id > since,  # type: ignore[operator]
                col(Message.private).is_(False),
            )
            .order_by(col(Message.id))
            .limit(limit)
        )
    ).all()
    return [
        widget_message(m.id or 0, m.direction, m.author, m.text, m.created_at.isoformat(), agent)
        for m, agent in rows
    ]


def widget_message(
    message_id: int,
    direction: str,
    author: str,
    text: str,
    created_at: str,
    agent_name: str | None = None,
) -> dict[str, Any]:
    """The little a widget shows of a message: no customer, inbox or delivery internals."""
    return {
        "id": message_id,
        "direction": direction,
        "author": author,
        "agent_name": agent_name,
        "text": text,
        "created_at": created_at,
    }


async def mark_read(db: Database, inbox_id: int, message_id: int) -> bool | None:
    """The visitor saw this reply: move its status forward to read; None while still queued.

    By id, not external id: the widget can see a reply before the outbox records it as sent,
    and marking it then would race the outbox's own update, so the caller retries shortly.
    """

    async def work(tx: Tx) -> bool | None:
        message = await tx.session.get(Message, message_id)
        if message is None or message.inbox_id != inbox_id or message.direction != "out":
            return False
        if message.status == Delivery.queued:
            return None
        if not advance_status(message, Delivery.read):
            return False
        tx.session.add(message)
        tx.emit("message.updated", message_object(message), {message.inbox_id})
        return True

    return await db.run_write(work)
