"""Threading: which conversation a new inbound message joins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, select

from inbox.channel import InboundMessage
from inbox.models import Conversation, Message, Status
from inbox.statements import Prepared, prepared_insert, row_record

CONVERSATION = Conversation.__table__  # type: ignore[attr-defined]
MESSAGE = Message.__table__  # type: ignore[attr-defined]
_COLUMNS = [c.name for c in CONVERSATION.columns]
_RECENT = Prepared(
    select(CONVERSATION)
    .where(
        CONVERSATION.c.customer_id == bindparam("customer"),
        CONVERSATION.c.status != bindparam("resolved"),
        CONVERSATION.c.last_message_at >= bindparam("since"),
    )
    .order_by(CONVERSATION.c.last_message_at.desc())
    .limit(1),
    result_types=tuple(c.type for c in CONVERSATION.columns),
)
_INSERT = prepared_insert(CONVERSATION, returning="id")


@dataclass
class Thread:
    conversation: Conversation
    created: bool
    via: str  # "reply", "continuation" or "new"
    referenced_customer_id: int | None = None


def pick_conversation(
    conn: Connection,
    inbound: InboundMessage,
    customer_id: int,
    now: datetime,
    window: timedelta,
) -> Thread:
    """Reply reference first, then the customer's open conversation in the window, else new."""
    replied = _by_reference(conn, inbound, customer_id)
    if replied is not None:
        conversation, owner = replied
        return Thread(conversation, created=False, via="reply", referenced_customer_id=owner)
    recent = _RECENT.one(conn, customer=customer_id, resolved=Status.resolved, since=now - window)
    if recent is not None:
        conversation = row_record(Conversation, dict(zip(_COLUMNS, recent, strict=True)))
        return Thread(conversation, created=False, via="continuation")
    conversation = row_record(
        Conversation,
        id=None,
        customer_id=customer_id,
        inbox_id=inbound.inbox_id,
        status=Status.open,
        assignee_id=None,
        subject=inbound.subject,
        snoozed_until=None,
        created_at=now,
        last_message_at=now,
        last_inbound_at=None,
        first_response_at=None,
        resolved_at=None,
    )
    values = {k: v for k, v in vars(conversation).items() if k != "id"}
    conversation.id = _INSERT.scalar(conn, **values)
    return Thread(conversation, created=True, via="new")


def _by_reference(
    conn: Connection, inbound: InboundMessage, customer_id: int
) -> tuple[Conversation, int] | None:
    """The conversation a reply header names, if the reference is one we may trust.

    Anyone can copy someone else's message id into a header, so a reference joins only the
    sender's own conversation unless the channel proved the reference (`reply_to_trusted`).
    """
    refs = [r for r in inbound.reply_to if r][:50]
    if not refs:
        return None
    rows = conn.execute(
        select(MESSAGE.c.external_id, CONVERSATION)
        .join(CONVERSATION, CONVERSATION.c.id == MESSAGE.c.conversation_id)
        .where(MESSAGE.c.external_id.in_(refs))
    ).all()
    by_ref = {row[0]: row for row in rows}
    for ref in refs:
        row = by_ref.get(ref)
        if row is None:
            continue
        fields = {k: v for k, v in row._mapping.items() if k != "external_id"}
        conversation = Conversation(**fields)
        if conversation.customer_id == customer_id or inbound.reply_to_trusted:
            return conversation, conversation.customer_id
    return None
