"""Agent actions: each checks its input, writes, and appends its events in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.access import Viewer
from inbox.channel import OutboundAttachment
from inbox.consent import refusal
from inbox.db import Database, Tx
from inbox.errors import Conflict, Invalid, NotFound
from inbox.identity import merge_customers, undo_merge
from inbox.ingest import conversation_inbox_ids
from inbox.models import (
    Agent,
    Author,
    Conversation,
    Customer,
    Delivery,
    Direction,
    Inbox,
    InboxMember,
    MergeRecord,
    MergeSuggestion,
    Message,
    Status,
    is_id,
    utcnow,
)
from inbox.objects import conversation_object, iso, message_object
from inbox.outbox import enqueue
from inbox.queries import customer_objects, visible_conversation, visible_customer
from inbox.reply_files import checked_files, message_files, refuse_channel, store_files
from inbox.search import index_message
from inbox.settings import Limits

UNSET: Any = object()


async def post_message(
    db: Database,
    viewer: Viewer,
    conversation_id: int,
    text: str,
    *,
    private: bool = False,
    inbox_id: int | None = None,
    max_length: int = 100_000,
    files: Sequence[OutboundAttachment] = (),
    limits: Limits | None = None,
) -> dict[str, Any]:
    """An agent's reply (queued for sending) or private note in a conversation, with files."""
    body = (text or "").strip()
    checked = checked_files(files, limits or Limits())
    if not body and not checked:
        raise Invalid("text is required")
    if "\x00" in body:
        raise Invalid("NUL characters are not allowed")
    if len(body) > max_length:
        raise Invalid("text is longer than %(limit)s characters", limit=max_length)

    async def work(tx: Tx) -> dict[str, Any]:
        conversation = await visible_conversation(tx.session, viewer, conversation_id)
        inbox = await _reply_inbox(tx.session, viewer, conversation, inbox_id)
        message = await write_outgoing(
            tx,
            conversation,
            inbox,
            body,
            Author.agent,
            agent_id=viewer.agent_id,
            private=private,
            files=checked,
        )
        stored, _ = await message_files(tx.session, message.id or 0)
        return message_object(message, stored)

    return await db.run_write(work)


async def write_outgoing(
    tx: Tx,
    conversation: Conversation,
    inbox: Inbox,
    text: str,
    author: str,
    *,
    agent_id: int | None = None,
    private: bool = False,
    meta: dict[str, Any] | None = None,
    files: Sequence[OutboundAttachment] = (),
) -> Message:
    """Store an agent, bot or system message; unless private, queue it on the outbox.

    `files` must have passed `checked_files`; a channel that cannot carry them refuses them.
    """
    now = utcnow()
    channel = await _outgoing_channel(tx.session, conversation, inbox)
    if files and not private:
        refuse_channel(channel)
    refused = None if private else await refusal(tx.session, conversation, inbox, channel)
    if refused and author == Author.agent:
        raise Conflict(refused)  # opted out or outside the WhatsApp window: the agent sees why
    message = Message(
        conversation_id=conversation.id or 0,
        customer_id=conversation.customer_id,
        inbox_id=inbox.id or 0,
        channel=channel,
        direction=Direction.outbound,
        author=author,
        agent_id=agent_id,
        text=text,
        stripped_text=text,
        private=private,
        status=Delivery.failed if refused else Delivery.received if private else Delivery.queued,
        error=refused,
        meta=meta or {},
        created_at=now,
        received_at=now,
    )
    tx.session.add(message)
    await tx.session.flush()
    stored = await store_files(tx, message.id or 0, files)
    if not private and not refused:
        await enqueue(tx, message)
        if author == Author.agent and conversation.first_response_at is None:
            conversation.first_response_at = now
    conversation.last_message_at = now
    tx.session.add(conversation)
    await tx.session.run_sync(
        lambda sync: index_message(sync.connection(), tx.dialect, message.id or 0, text)
    )
    await tx.session.flush()
    tx.emit("message.created", message_object(message, stored), {message.inbox_id})
    await _emit_conversation(tx, conversation)
    return message


async def update_conversation(
    db: Database,
    viewer: Viewer,
    conversation_id: int,
    *,
    status: Any = UNSET,
    assignee_id: Any = UNSET,
    snoozed_until: Any = UNSET,
) -> dict[str, Any]:
    """Change status, assignee or snooze time of a conversation the agent can see."""
    if status is not UNSET and status not in Status.__members__:
        raise Invalid(f"status must be one of {', '.join(Status.__members__)}")
    if snoozed_until is not UNSET and snoozed_until is not None:
        if not isinstance(snoozed_until, datetime):
            raise Invalid("snoozed_until must be a timestamp")
        moment = _aware(snoozed_until)
        if moment is not None and moment <= utcnow():
            raise Invalid("snooze until a time in the future")

    async def work(tx: Tx) -> dict[str, Any]:
        conversation = await visible_conversation(tx.session, viewer, conversation_id)
        if assignee_id is not UNSET:
            await _check_assignee(tx.session, conversation, assignee_id)
            conversation.assignee_id = assignee_id
        if status is not UNSET:
            _set_status(conversation, status)
        if snoozed_until is not UNSET:
            conversation.snoozed_until = _aware(snoozed_until)
            if snoozed_until is not None and status is UNSET:
                conversation.status = Status.snoozed
        tx.session.add(conversation)
        await tx.session.flush()
        await _emit_conversation(tx, conversation)
        return conversation_object(conversation)

    return await db.run_write(work)


async def merge_for_agent(
    db: Database, viewer: Viewer, customer_id: int, other_id: int
) -> dict[str, Any]:
    """Merge `other_id` into `customer_id`; both must be visible to the agent."""

    if not is_id(other_id):
        raise NotFound("customer not found")

    async def work(tx: Tx) -> dict[str, Any]:
        await visible_customer(tx.session, viewer, customer_id)
        await visible_customer(tx.session, viewer, other_id)
        record = await merge_customers(tx, customer_id, other_id, "agent", viewer.agent_id)
        return await _customer_with_merge(tx.session, customer_id, record)

    return await db.run_write(work)


async def undo_merge_for_agent(db: Database, viewer: Viewer, merge_id: int) -> dict[str, Any]:
    """Undo a recorded merge of customers the agent can see."""

    async def work(tx: Tx) -> dict[str, Any]:
        record = await tx.session.get(MergeRecord, merge_id)
        if record is None:
            raise NotFound("merge not found")
        await visible_customer(tx.session, viewer, record.survivor_id)
        record = await undo_merge(tx, merge_id, viewer.agent_id)
        return {
            "id": record.id,
            "survivor_id": record.survivor_id,
            "merged_id": record.merged_id,
            "undone_at": iso(record.undone_at),
        }

    return await db.run_write(work)


async def decide_suggestion(
    db: Database, viewer: Viewer, suggestion_id: int, accept: bool
) -> dict[str, Any]:
    """Accept (merge, the older customer survives) or reject a merge suggestion."""

    async def work(tx: Tx) -> dict[str, Any]:
        suggestion = await tx.session.get(MergeSuggestion, suggestion_id)
        if suggestion is None:
            raise NotFound("merge suggestion not found")
        await visible_customer(tx.session, viewer, suggestion.customer_id)
        await visible_customer(tx.session, viewer, suggestion.other_id)
        if suggestion.status != "pending":
            raise Invalid("this suggestion is already %(status)s", status=suggestion.status)
        result: dict[str, Any] = {"id": suggestion.id, "status": "rejected"}
        if accept:
            survivor, merged = sorted((suggestion.customer_id, suggestion.other_id))
            record = await merge_customers(tx, survivor, merged, "suggestion", viewer.agent_id)
            result = {
                "id": suggestion.id,
                "status": "accepted",
                "customer": await _customer_with_merge(tx.session, survivor, record),
            }
        suggestion.status = "accepted" if accept else "rejected"
        suggestion.decided_by, suggestion.decided_at = viewer.agent_id, utcnow()
        tx.session.add(suggestion)
        return result

    return await db.run_write(work)


async def _customer_with_merge(
    session: AsyncSession, customer_id: int, record: MergeRecord
) -> dict[str, Any]:
    customer = await session.get(Customer, customer_id)
    assert customer is not None
    data = (await customer_objects(session, [customer]))[0]
    data["merge_id"] = record.id
    return data


async def _reply_inbox(
    session: AsyncSession, viewer: Viewer, conversation: Conversation, inbox_id: int | None
) -> Inbox:
    """The agent's chosen channel, else the one the customer last wrote on."""
    if inbox_id is None:
        inbox_id = (
            await session.scalar(
                select(Message.inbox_id)
                .where(
                    Message.conversation_id == conversation.id,
                    Message.direction == Direction.inbound,
                )
                .order_by(col(Message.created_at).desc(), col(Message.id).desc())
                .limit(1)
            )
            or conversation.inbox_id
        )
        if not viewer.can_use_inbox(inbox_id):
            inbox_id = next(
                iter(
                    sorted(
                        viewer.inbox_ids
                        & await conversation_inbox_ids(session, conversation.id or 0)
                    )
                ),
                inbox_id,
            )
    if not is_id(inbox_id):
        raise NotFound("inbox not found")
    inbox = await session.get(Inbox, inbox_id)
    if inbox is None or not viewer.can_use_inbox(inbox_id):
        raise NotFound("inbox not found")
    return inbox


async def _outgoing_channel(session: AsyncSession, conversation: Conversation, inbox: Inbox) -> str:
    """Twilio carries SMS and WhatsApp: answer on the one the customer used there."""
    last = await session.scalar(
        select(Message.channel)
        .where(
            Message.conversation_id == conversation.id,
            Message.inbox_id == inbox.id,
            Message.direction == Direction.inbound,
        )
        .order_by(col(Message.id).desc())
        .limit(1)
    )
    return last or inbox.kind


async def _check_assignee(
    session: AsyncSession, conversation: Conversation, assignee_id: int | None
) -> None:
    if assignee_id is None:
        return
    if not is_id(assignee_id):
        raise Invalid("assignee_id must be an agent id or null")
    agent = await session.get(Agent, assignee_id)
    if agent is None or not agent.active:
        raise Invalid("no such active agent")
    if agent.role == "admin":
        return
    inboxes = await conversation_inbox_ids(session, conversation.id or 0)
    member = await session.scalar(
        select(InboxMember.inbox_id)
        .where(
            InboxMember.agent_id == assignee_id,
            col(InboxMember.inbox_id).in_(inboxes),
        )
        .limit(1)
    )
    if member is None:
        raise Invalid("that agent does not belong to this conversation's inboxes")


def _set_status(conversation: Conversation, status: str) -> None:
    conversation.status = status
    if status == Status.resolved:
        conversation.resolved_at = utcnow()
    else:
        conversation.resolved_at = None
    if status != Status.snoozed:
        conversation.snoozed_until = None


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def _emit_conversation(tx: Tx, conversation: Conversation) -> None:
    inboxes = await conversation_inbox_ids(tx.session, conversation.id or 0)
    tx.emit("conversation.updated", conversation_object(conversation), inboxes)
