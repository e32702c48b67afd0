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
from inbox.models import Agent, Attachment, Delivery, Direction, Inbox, Message
from inbox.objects import message_object
from inbox.outbox import advance_status

PAGE = 200
# Shown as thumbnails (the same types attachment downloads serve inline).
RASTER_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


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
        if row is not None and (newest is None or (row[0] or 0) > newest[0]):
            newest = (row[0] or 0, row[1])
    return None if newest is None else newest[1]


async def visitor_messages(
    session: AsyncSession, inbox_id: int, conversation_id: int, since: int = 0, limit: int = PAGE
) -> list[dict[str, Any]]:
    """The conversation's public web-chat messages after message id `since`, oldest first.

    Only what went through this inbox: a conversation that also holds the customer's email or
    SMS threads shows the widget none of them.
    """
    return await _widget_messages(
        session,
        Message.conversation_id == conversation_id,
        Message.inbox_id == inbox_id,
        Message.id > since,  # type: ignore[operator]
        limit=limit,
    )


async def widget_message_by_id(
    session: AsyncSession, inbox_id: int, message_id: int
) -> dict[str, Any] | None:
    """One public message of this inbox as a widget shows it (None if private or elsewhere)."""
    found = await _widget_messages(
        session, Message.id == message_id, Message.inbox_id == inbox_id, limit=1
    )
    return found[0] if found else None


async def _widget_messages(session: AsyncSession, *where: Any, limit: int) -> list[dict[str, Any]]:
    rows = (
        await session.exec(
            select(Message, Agent.name, Agent.avatar_url)
            .join(Agent, col(Agent.id) == Message.agent_id, isouter=True)
            .where(*where, col(Message.private).is_(False))
            .order_by(col(Message.id))
            .limit(limit)
        )
    ).all()
    files = await _attachments(session, [m.id or 0 for m, _, _ in rows])
    return [
        widget_message(
            m.id or 0,
            m.direction,
            m.author,
            m.text,
            m.created_at.isoformat(),
            name,
            agent_avatar=avatar,
            attachments=files.get(m.id or 0, ()),
        )
        for m, name, avatar in rows
    ]


async def _attachments(
    session: AsyncSession, message_ids: list[int]
) -> dict[int, list[dict[str, Any]]]:
    if not message_ids:
        return {}
    # sqlmodel's select is typed for up to four columns.
    rows = await session.execute(
        select(  # type: ignore[call-overload]
            Attachment.id,
            Attachment.message_id,
            Attachment.filename,
            Attachment.content_type,
            Attachment.size,
        )
        .where(col(Attachment.message_id).in_(message_ids))
        .order_by(col(Attachment.id))
    )
    found: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row.message_id, []).append(
            widget_attachment(row.id, row.filename, row.content_type, row.size)
        )
    return found


def widget_attachment(
    attachment_id: int, filename: str, content_type: str, size: int
) -> dict[str, Any]:
    """A file as the widget lists it; `image` when it may show as a thumbnail."""
    kind = content_type.split(";")[0].strip().lower()
    return {
        "id": attachment_id,
        "filename": filename,
        "content_type": kind,
        "size": size,
        "image": kind in RASTER_IMAGES,
    }


def widget_message(
    message_id: int,
    direction: str,
    author: str,
    text: str,
    created_at: str,
    agent_name: str | None = None,
    *,
    agent_avatar: str | None = None,
    attachments: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The little a widget shows of a message: no customer, inbox or delivery internals."""
    return {
        "id": message_id,
        "direction": direction,
        "author": author,
        "agent_name": agent_name,
        "agent_avatar": agent_avatar,
        "text": text,
        "attachments": list(attachments),
        "created_at": created_at,
    }


async def visitor_attachment(
    session: AsyncSession, inbox_id: int, conversation_id: int | None, attachment_id: int
) -> Attachment:
    """A file of a public message in the visitor's own conversation; NotFound otherwise."""
    if conversation_id is None:
        raise NotFound("attachment not found")
    found = (
        await session.exec(
            select(Attachment)
            .join(Message, col(Message.id) == Attachment.message_id)
            .where(
                Attachment.id == attachment_id,
                Message.conversation_id == conversation_id,
                Message.inbox_id == inbox_id,
                col(Message.private).is_(False),
            )
        )
    ).first()
    if found is None:
        raise NotFound("attachment not found")
    return found


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
