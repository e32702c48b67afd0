"""What the bot does about one customer message, inside the bot's transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.actions import write_outgoing
from inbox.db import Tx
from inbox.faq.index import Snapshot
from inbox.faq.matcher import Match, language_of
from inbox.faq.models import FaqEntry, FaqOutcome
from inbox.faq.policy import bot_config, format_answer, silence_reason, wants_person
from inbox.models import Author, Conversation, Inbox, Message, utcnow


async def react(
    tx: Tx,
    payload: dict[str, Any],
    best: tuple[FaqEntry, Match] | None,
    snapshot: Snapshot | None,
    max_age: timedelta,
) -> None:
    """Answer, say it is unsure, hand over, or stay silent — and record which."""
    session = tx.session
    message = await session.get(Message, payload.get("id") or 0)
    if message is None or message.author != Author.customer:
        return
    if await session.scalar(select(FaqOutcome.id).where(FaqOutcome.message_id == message.id)):
        return  # at most one bot reaction per inbound message
    inbox = await session.get(Inbox, message.inbox_id)
    conversation = await session.get(Conversation, message.conversation_id)
    config = bot_config(inbox.config if inbox else {})
    if inbox is None or conversation is None or not config.enabled:
        return
    if snapshot is None or not snapshot.entries or utcnow() - _aware(message.received_at) > max_age:
        return  # no knowledge base yet: nothing to be sure or unsure about
    outcome = FaqOutcome(
        message_id=message.id or 0,
        conversation_id=conversation.id or 0,
        customer_id=message.customer_id,
        inbox_id=message.inbox_id,
        kind="skipped",
    )
    text = message.stripped_text or message.text
    reason = silence_reason(text, bool(payload.get("attachments")), message.meta or {})
    if reason is None and await _agent_has_it(session, conversation):
        reason = "agent"
    if reason is None and await _said(session, conversation.id or 0, ("handover",)):
        reason = "handed-over"
    if reason is not None:
        outcome.reason = reason
        session.add(outcome)
        return
    language = language_of(text)
    if best is not None:
        outcome.entry_id, outcome.score = best[0].id, round(best[1].confidence, 4)
    if wants_person(text):
        outcome.kind, outcome.reason = "handover", "asked"
    elif best is not None and best[1].confidence > config.threshold:
        if await _answered_recently(session, message.customer_id, best[0].id, config):
            outcome.kind, outcome.reason = "unsure", "repeat"
        else:
            outcome.kind = "answered"
    else:
        outcome.kind, outcome.reason = "unsure", "low-confidence"
    said: Message | None = None
    if outcome.kind == "answered" and best is not None:
        entry = best[0]
        body = format_answer(entry.answer, entry.answer_rich, message.channel)
        said = await _say(tx, conversation, inbox, body, outcome, message, entry.question)
    elif outcome.kind == "handover" or not await _said(session, conversation.id or 0):
        # Unsure says so once per conversation; agents see it open and unassigned.
        said = await _say(
            tx, conversation, inbox, config.say(outcome.kind, language), outcome, message, None
        )
    outcome.bot_message_id = said.id if said else None
    session.add(outcome)


async def _say(
    tx: Tx,
    conversation: Conversation,
    inbox: Inbox,
    body: str,
    outcome: FaqOutcome,
    message: Message,
    question: str | None,
) -> Message:
    meta = {
        "faq": {
            "kind": outcome.kind,
            "entry_id": outcome.entry_id if outcome.kind == "answered" else None,
            "question": question,
            "score": outcome.score,
            "in_reply_to": message.id,
            "wrong": False,
        }
    }
    return await write_outgoing(tx, conversation, inbox, body, Author.bot, meta=meta)


async def _agent_has_it(session: AsyncSession, conversation: Conversation) -> bool:
    """An agent took the conversation: it is assigned, or an agent has replied in it."""
    if conversation.assignee_id is not None:
        return True
    replied = await session.scalar(
        select(Message.id)
        .where(
            Message.conversation_id == conversation.id,
            Message.author == Author.agent,
            Message.private == False,  # noqa: E712
        )
        .limit(1)
    )
    return replied is not None


async def _said(
    session: AsyncSession, conversation_id: int, kinds: tuple[str, ...] = ("unsure", "handover")
) -> bool:
    """Whether the bot already handed this conversation over (with words)."""
    found = await session.scalar(
        select(FaqOutcome.id)
        .where(
            FaqOutcome.conversation_id == conversation_id,
            FaqOutcome.kind.in_(kinds),  # type: ignore[attr-defined]
            FaqOutcome.bot_message_id.is_not(None),  # type: ignore[union-attr]
        )
        .limit(1)
    )
    return found is not None


async def _answered_recently(
    session: AsyncSession, customer_id: int, entry_id: int | None, config: Any
) -> bool:
    """The same answer went to this customer within the window, on any channel."""
    since = utcnow() - config.repeat_window
    count = await session.scalar(
        select(func.count(FaqOutcome.id)).where(  # type: ignore[arg-type]
            FaqOutcome.customer_id == customer_id,
            FaqOutcome.entry_id == entry_id,
            FaqOutcome.kind == "answered",
            FaqOutcome.created_at >= since,
        )
    )
    return bool(count)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
