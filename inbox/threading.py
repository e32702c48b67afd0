"""Threading: which conversation a new inbound message joins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.channel import InboundMessage
from inbox.models import Conversation, Message, Status


@dataclass
class Thread:
    conversation: Conversation
    created: bool
    via: str  # "reply", "continuation" or "new"
    referenced_customer_id: int | None = None


async def pick_conversation(
    session: AsyncSession,
    inbound: InboundMessage,
    customer_id: int,
    now: datetime,
    window: timedelta,
) -> Thread:
    """Reply reference first, then the customer's open conversation in the window, else new."""
    replied = await _by_reference(session, inbound, customer_id)
    if replied is not None:
        conversation, owner = replied
        return Thread(conversation, created=False, via="reply", referenced_customer_id=owner)
    recent = await session.scalar(
        select(Conversation)
        .where(
            Conversation.customer_id == customer_id,
            Conversation.status != Status.resolved,
            Conversation.last_message_at >= now - window,
        )
        .order_by(Conversation.last_message_at.desc())  # type: ignore[attr-defined]
        .limit(1)
    )
    if recent is not None:
        return Thread(recent, created=False, via="continuation")
    conversation = Conversation(
        customer_id=customer_id,
        inbox_id=inbound.inbox_id,
        subject=inbound.subject,
        created_at=now,
        last_message_at=now,
    )
    session.add(conversation)
    await session.flush()
    return Thread(conversation, created=True, via="new")


async def _by_reference(
    session: AsyncSession, inbound: InboundMessage, customer_id: int
) -> tuple[Conversation, int] | None:
    """The conversation a reply header names, if the reference is one we may trust.

    Anyone can copy someone else's message id into a header, so a reference joins only the
    sender's own conversation unless the channel proved the reference (`reply_to_trusted`).
    """
    refs = [r for r in inbound.reply_to if r][:50]
    if not refs:
        return None
    rows = (
        await session.exec(
            select(Message.external_id, Message.conversation_id).where(
                Message.external_id.in_(refs)  # type: ignore[union-attr]
            )
        )
    ).all()
    by_ref = {ext: conv for ext, conv in rows}
    for ref in refs:
        conversation_id = by_ref.get(ref)
        if conversation_id is None:
            continue
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None:
            continue
        if conversation.customer_id == customer_id or inbound.reply_to_trusted:
            return conversation, conversation.customer_id
    return None
