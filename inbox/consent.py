"""May we message this customer now? SMS opt-out (STOP/START) and WhatsApp's 24-hour window.

A connector marks a keyword message with `meta["consent"] = {"intent": "opt_out"|"opt_in",
"phone": E.164}`; `ingest()` hands it to `record_consent` inside the transaction that stores the
message, so a replayed STOP (deduplicated by ingest) changes nothing twice.
Outgoing messages ask `refusal()` before they are queued.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, delete, insert
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.channel import InboundMessage
from inbox.models import Conversation, Direction, Identity, Inbox, Message, utcnow

OPT_OUT_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "수신거부"})
OPT_IN_WORDS = frozenset({"start", "unstop"})
WHATSAPP_WINDOW = timedelta(hours=24)
# Channels that carry SMS (a twilio inbox replying where the customer never wrote sends SMS).
SMS_CHANNELS = frozenset({"sms", "twilio"})


class OptOut(SQLModel, table=True):
    """A phone that texted STOP to an inbox: no SMS goes to it from there until START."""

    __tablename__ = "opt_out"
    inbox_id: int = Field(foreign_key="inbox.id", primary_key=True)
    phone: str = Field(max_length=32, primary_key=True)
    keyword: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow)


OPT_OUT = OptOut.__table__  # type: ignore[attr-defined]


def keyword_intent(text: str) -> str | None:
    """'opt_out' or 'opt_in' when the whole message is one of the carrier keywords."""
    word = text.strip().strip(".!").strip().casefold()
    if word in OPT_OUT_WORDS:
        return "opt_out"
    if word in OPT_IN_WORDS:
        return "opt_in"
    return None


def record_consent(conn: Connection, inbound: InboundMessage) -> None:
    """Apply the opt-out or opt-in a connector marked (`meta["consent"]`) inside ingest's write."""
    marked = inbound.meta.get("consent")
    if not isinstance(marked, dict) or not isinstance(marked.get("phone"), str):
        return
    intent, phone = marked.get("intent"), marked["phone"][:32]
    key = (OPT_OUT.c.inbox_id == inbound.inbox_id) & (OPT_OUT.c.phone == phone)
    if intent == "opt_in":
        conn.execute(delete(OPT_OUT).where(key))
    elif intent == "opt_out" and conn.execute(select(OPT_OUT.c.phone).where(key)).first() is None:
        keyword = inbound.text.strip()[:32]
        conn.execute(
            insert(OPT_OUT).values(
                inbox_id=inbound.inbox_id, phone=phone, keyword=keyword, created_at=utcnow()
            )
        )


async def refusal(
    session: AsyncSession, conversation: Conversation, inbox: Inbox, channel: str
) -> str | None:
    """Why a message to the conversation's customer may not go out on `channel`, if it may not."""
    if inbox.kind != "twilio":
        return None
    if channel == "whatsapp":
        return await _closed_window(session, conversation.customer_id, inbox.id or 0)
    if channel in SMS_CHANNELS:
        return await _opted_out(session, conversation.customer_id, inbox.id or 0)
    return None


async def sms_phone(session: AsyncSession, customer_id: int) -> str | None:
    """The number SMS goes to: the customer's first verified phone, else their first phone."""
    rows = (
        await session.exec(
            select(Identity.value, Identity.verified)
            .where(Identity.customer_id == customer_id, Identity.kind == "phone")
            .order_by(Identity.id)  # type: ignore[arg-type]
        )
    ).all()
    verified = [value for value, ok in rows if ok]
    return verified[0] if verified else rows[0][0] if rows else None


async def _opted_out(session: AsyncSession, customer_id: int, inbox_id: int) -> str | None:
    phone = await sms_phone(session, customer_id)
    if phone is None:
        return None
    stopped = await session.get(OptOut, (inbox_id, phone))
    if stopped is None:
        return None
    return (
        f"{phone} opted out of SMS from this number (they sent {stopped.keyword!r}); "
        "nothing can be sent until they text START"
    )


async def _closed_window(session: AsyncSession, customer_id: int, inbox_id: int) -> str | None:
    last = await session.scalar(
        select(Message.created_at)
        .where(
            Message.customer_id == customer_id,
            Message.inbox_id == inbox_id,
            Message.direction == Direction.inbound,
            Message.channel == "whatsapp",
        )
        .order_by(col(Message.created_at).desc())
        .limit(1)
    )
    if last is not None and utcnow() - _aware(last) < WHATSAPP_WINDOW:
        return None
    return (
        "the WhatsApp 24-hour window is closed: the customer last wrote more than 24 hours ago, "
        "so only an approved template can be sent"
    )


def _aware(value: datetime) -> datetime:
    # SQLite hands timestamps back naive; they were stored in UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
