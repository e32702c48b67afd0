"""What agents do with the bot: suggestions for the reply box, marking an answer wrong, the
bot's share of the report."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.access import Viewer, message_visible
from inbox.db import Database, Tx
from inbox.errors import Invalid, NotFound
from inbox.faq.index import KnowledgeBase
from inbox.faq.models import FaqOutcome, entry_object
from inbox.models import Author, Direction, Message, is_id
from inbox.objects import message_object
from inbox.queries import visible_conversation


async def suggestions(
    session: AsyncSession, viewer: Viewer, conversation_id: int, kb: KnowledgeBase, limit: int = 3
) -> dict[str, Any]:
    """The best entries for the conversation's latest customer message the agent can see."""
    await visible_conversation(session, viewer, conversation_id)
    latest = (
        await session.exec(
            select(Message)
            .where(
                Message.conversation_id == conversation_id,
                Message.direction == Direction.inbound,
                message_visible(viewer),
            )
            .order_by(Message.created_at.desc(), Message.id.desc())  # type: ignore[attr-defined, union-attr]
            .limit(1)
        )
    ).first()
    if latest is None:
        return {"message_id": None, "items": []}
    snapshot = await kb.current(session)
    found = snapshot.rank(latest.stripped_text or latest.text, limit=max(1, min(limit, 10)))
    return {
        "message_id": latest.id,
        "items": [{**entry_object(entry), "score": round(m.confidence, 4)} for entry, m in found],
    }


async def mark_wrong(db: Database, viewer: Viewer, message_id: int) -> dict[str, Any]:
    """An agent says a bot answer was wrong: it shows on the message and in the report."""
    if not is_id(message_id):
        raise NotFound("message not found")

    async def work(tx: Tx) -> dict[str, Any]:
        message = await tx.session.scalar(
            select(Message).where(Message.id == message_id, message_visible(viewer))
        )
        if message is None:
            raise NotFound("message not found")
        faq = dict((message.meta or {}).get("faq") or {})
        if message.author != Author.bot or faq.get("kind") != "answered":
            raise Invalid("only a bot's FAQ answer can be marked wrong")
        outcome = await tx.session.scalar(
            select(FaqOutcome).where(FaqOutcome.bot_message_id == message.id)
        )
        if outcome is not None and not outcome.wrong:
            outcome.wrong, outcome.marked_by = True, viewer.agent_id
            tx.session.add(outcome)
        faq.update(wrong=True, marked_by=viewer.agent_id)
        message.meta = {
            **(message.meta or {}),
            "faq": faq,
        }  # a new dict: JSON columns diff by value
        tx.session.add(message)
        await tx.session.flush()
        data = message_object(message)
        tx.emit("message.updated", data, {message.inbox_id})
        return data

    return await db.run_write(work)


async def bot_summary(session: AsyncSession, viewer: Viewer) -> dict[str, int]:
    """How often the bot answered, handed over (asked or unsure), and was marked wrong."""
    query = select(FaqOutcome.kind, FaqOutcome.wrong, func.count(col(FaqOutcome.id))).group_by(
        col(FaqOutcome.kind), col(FaqOutcome.wrong)
    )
    if not viewer.is_admin:
        query = query.where(FaqOutcome.inbox_id.in_(viewer.inbox_ids))  # type: ignore[attr-defined]
    counts = {"answered": 0, "handed_over": 0, "marked_wrong": 0, "skipped": 0}
    for kind, wrong, count in (await session.execute(query)).all():
        if kind == "answered":
            counts["answered"] += count
            counts["marked_wrong"] += count if wrong else 0
        elif kind in ("unsure", "handover"):
            counts["handed_over"] += count
        else:
            counts["skipped"] += count
    return counts
