"""What the reply box offers: the customer's channels an agent may answer on, and why one may be
closed (WhatsApp's 24-hour window, an SMS opt-out); and the merge suggestions about a customer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.access import Viewer
from inbox.consent import refusal
from inbox.models import Direction, Inbox, MergeSuggestion, Message
from inbox.queries import suggestion_object, visible_conversation, visible_customer


async def reply_options(
    session: AsyncSession, viewer: Viewer, conversation_id: int
) -> list[dict[str, Any]]:
    """Each inbox the customer wrote in (that the viewer may use), most recently used first."""
    conversation = await visible_conversation(session, viewer, conversation_id)
    last = func.max(Message.id).label("last")
    rows = (
        await session.exec(
            select(Message.inbox_id, last)
            .where(
                Message.customer_id == conversation.customer_id,
                Message.direction == Direction.inbound,
            )
            .group_by(col(Message.inbox_id))
            .order_by(last.desc())
        )
    ).all()
    options = []
    for inbox_id, last_id in rows:
        if not viewer.can_use_inbox(inbox_id):
            continue
        inbox = await session.get(Inbox, inbox_id)
        message = await session.get(Message, last_id)
        if inbox is None or message is None:
            continue
        channel = message.channel
        options.append(
            {
                "inbox_id": inbox_id,
                "name": inbox.name,
                "channel": channel,
                "closed": await refusal(session, conversation, inbox, channel),
            }
        )
    return options


async def customer_suggestions(
    session: AsyncSession, viewer: Viewer, customer_id: int
) -> list[dict[str, Any]]:
    """Pending merge suggestions naming this customer, each with the other customer's name."""
    await visible_customer(session, viewer, customer_id)
    rows = (
        await session.exec(
            select(MergeSuggestion)
            .where(
                MergeSuggestion.status == "pending",
                or_(
                    col(MergeSuggestion.customer_id) == customer_id,
                    col(MergeSuggestion.other_id) == customer_id,
                ),
            )
            .order_by(MergeSuggestion.id.desc())  # type: ignore[union-attr]
            .limit(20)
        )
    ).all()
    found = []
    for row in rows:
        other_id = row.other_id if row.customer_id == customer_id else row.customer_id
        try:
            other = await visible_customer(session, viewer, other_id)
        except LookupError:
            continue  # the other customer is in an inbox this agent does not work
        found.append({**suggestion_object(row), "other": {"id": other_id, "name": other.name}})
    return found
