"""Working a conversation from its page: who it may be assigned to, snoozing until a time that
is still ahead, and sending a failed reply again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.access import Viewer, message_visible
from inbox.actions import update_conversation
from inbox.db import Database, Tx
from inbox.errors import Invalid, NotFound
from inbox.ingest import conversation_inbox_ids
from inbox.models import (
    Agent,
    Delivery,
    Direction,
    InboxMember,
    Message,
    OutboxItem,
    Role,
    Status,
    is_id,
)
from inbox.objects import message_object
from inbox.outbox import retry_failed
from inbox.queries import visible_conversation


async def assignable_agents(
    session: AsyncSession, viewer: Viewer, conversation_id: int
) -> list[dict[str, Any]]:
    """Active agents who can see the conversation (admins, members of its inboxes), by name."""
    conversation = await visible_conversation(session, viewer, conversation_id)
    inboxes = await conversation_inbox_ids(session, conversation.id or 0)
    members = select(InboxMember.agent_id).where(InboxMember.inbox_id.in_(inboxes))  # type: ignore[attr-defined]
    rows = (
        await session.exec(
            select(Agent)
            .where(Agent.active, or_(Agent.role == Role.admin, Agent.id.in_(members)))  # type: ignore[arg-type, union-attr]
            .order_by(Agent.name, Agent.id)  # type: ignore[arg-type]
            .limit(500)
        )
    ).all()
    return [{"id": a.id, "name": a.name, "email": a.email} for a in rows]


async def snooze_conversation(
    db: Database, viewer: Viewer, conversation_id: int, until: datetime
) -> dict[str, Any]:
    """Snooze until a moment that is still ahead (`update_conversation` refuses a past one)."""
    return await update_conversation(
        db, viewer, conversation_id, status=Status.snoozed, snoozed_until=until
    )


async def retry_message(db: Database, viewer: Viewer, message_id: int) -> dict[str, Any]:
    """Queue a failed reply on the outbox again (the agent pressed Retry)."""
    if not is_id(message_id):
        raise NotFound("message not found")

    async def work(tx: Tx) -> dict[str, Any]:
        message = (
            await tx.session.exec(
                select(Message).where(Message.id == message_id, message_visible(viewer))
            )
        ).first()
        if message is None:
            raise NotFound("message not found")
        if message.direction != Direction.outbound or message.status != Delivery.failed:
            raise Invalid("only a failed reply can be sent again")
        queued = await tx.session.scalar(
            select(OutboxItem.id).where(OutboxItem.message_id == message.id)
        )
        if queued is None:
            # Refused before sending (opt-out, closed WhatsApp window): retrying cannot help.
            raise Invalid(message.error or "this message was never queued and cannot be retried")
        await retry_failed(tx, message)
        return message_object(message)

    return await db.run_write(work)
