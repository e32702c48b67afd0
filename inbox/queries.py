"""The read side: lists, timelines and search, each limited to what the viewer may see.

Every list uses keyset pagination on an indexed sort key, so page 1,000 costs what page 1 does.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.access import Viewer, has_visible_message, message_visible
from inbox.channel import ChannelInbox
from inbox.errors import Invalid, NotFound
from inbox.listing import (
    LABEL_WALK,
    count_capped,
    has_label,
    label_id,
    label_size,
    labels_by_conversation,
    normalise_label,
    unread_counts,
)
from inbox.models import (
    Attachment,
    Conversation,
    ConversationLabel,
    Customer,
    Identity,
    Inbox,
    MergeSuggestion,
    Message,
    Status,
    is_id,
)
from inbox.objects import (
    attachment_object,
    conversation_object,
    customer_object,
    iso,
    message_object,
)
from inbox.search import Match, matching

MAX_LIMIT = 200


@dataclass
class Page:
    items: list[dict[str, Any]]
    next: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"items": self.items, "next": self.next}


def encode_cursor(*values: Any) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, shape: str) -> list[Any] | None:
    """Read a cursor made by `encode_cursor`; `shape` is "ti" (time, id) or "i" (id)."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if not isinstance(values, list) or len(values) != len(shape):
            raise ValueError("wrong length")
        out: list[Any] = []
        for kind, value in zip(shape, values, strict=True):
            if kind == "t":
                moment = datetime.fromisoformat(value)
                out.append(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
            elif is_id(value):
                out.append(value)
            else:
                raise ValueError("not an id")
        return out
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, json.JSONDecodeError):
        raise Invalid("invalid cursor") from None


def clamp_limit(limit: int | None, default: int = 50) -> int:
    if limit is None:
        return default
    if limit < 1:
        raise Invalid("limit must be at least 1")
    return min(limit, MAX_LIMIT)


async def visible_conversation(session: AsyncSession, viewer: Viewer, cid: int) -> Conversation:
    """The conversation, if the viewer may see it; NotFound otherwise."""
    conversation = await session.get(Conversation, cid)
    if conversation is None or not await _conversation_visible(session, viewer, conversation):
        raise NotFound("conversation not found")
    return conversation


async def _conversation_visible(
    session: AsyncSession, viewer: Viewer, conversation: Conversation
) -> bool:
    if viewer.is_admin:
        return True
    found = await session.scalar(
        select(Message.id)
        .where(Message.conversation_id == conversation.id, message_visible(viewer))
        .limit(1)
    )
    return found is not None


async def visible_customer(session: AsyncSession, viewer: Viewer, customer_id: int) -> Customer:
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise NotFound("customer not found")
    if not viewer.is_admin:
        found = await session.scalar(
            select(Message.id)
            .where(Message.customer_id == customer_id, message_visible(viewer))
            .limit(1)
        )
        if found is None:
            raise NotFound("customer not found")
    return customer


async def list_conversations(
    session: AsyncSession,
    viewer: Viewer,
    *,
    status: str | None = None,
    inbox_id: int | None = None,
    assignee: str | None = None,
    label: str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page:
    """Conversations by last activity, newest first, each with its labels."""
    size = clamp_limit(limit)
    plan = await _label_plan(session, label)
    query = _conversation_filter(viewer, status, inbox_id, assignee, plan)
    if query is None:
        return Page([], None)
    after = decode_cursor(cursor, "ti")
    if after:
        at, cid = after
        query = query.where(
            or_(
                Conversation.last_message_at < at,
                and_(Conversation.last_message_at == at, Conversation.id < cid),  # type: ignore[operator]
            )
        )
    query = query.order_by(
        col(Conversation.last_message_at).desc(), col(Conversation.id).desc()
    ).limit(size + 1)
    rows = list((await session.exec(query)).all())
    more = len(rows) > size
    rows = rows[:size]
    nxt = encode_cursor(rows[-1].last_message_at, rows[-1].id) if more and rows else None
    labels = await labels_by_conversation(session, [c.id or 0 for c in rows])
    return Page([{**conversation_object(c), "labels": labels[c.id or 0]} for c in rows], nxt)


async def view_counts(
    session: AsyncSession,
    viewer: Viewer,
    *,
    status: str | None = None,
    inbox_id: int | None = None,
    label: str | None = None,
) -> dict[str, int]:
    """How many conversations Mine, Unassigned and All hold under the other filters (capped)."""
    counts = {}
    plan = await _label_plan(session, label)  # once for the three counts
    for view, assignee in (("mine", "me"), ("unassigned", "none"), ("all", None)):
        query = _conversation_filter(viewer, status, inbox_id, assignee, plan)
        counts[view] = 0 if query is None else await count_capped(session, query)
    return counts


_UNUSED_LABEL = (0, False)  # a label no conversation carries: nothing matches


async def _label_plan(session: AsyncSession, label: str | None) -> tuple[int, bool] | None:
    """A label filter as (label id, common?); None without one."""
    if label is None:
        return None
    found = await label_id(session, normalise_label(label))
    if found is None:
        return _UNUSED_LABEL
    return found, await label_size(session, found) > LABEL_WALK


def _conversation_filter(
    viewer: Viewer,
    status: str | None,
    inbox_id: int | None,
    assignee: str | None,
    label: tuple[int, bool] | None,
) -> Any:
    """The conversations matching the filters that the viewer may see; None if none can."""
    query = select(Conversation)
    if label is not None:
        found, common = label
        if label == _UNUSED_LABEL:
            return None
        if common:
            # A common label: walk the conversations newest first and keep the labelled ones;
            # a page fills after a few hundred rows, where sorting all of them would not.
            query = query.where(has_label(found))
        else:
            # A rarer one: its index lists its few conversations, sorted after.
            query = query.join(
                ConversationLabel,
                and_(
                    col(ConversationLabel.conversation_id) == Conversation.id,
                    col(ConversationLabel.label_id) == found,
                ),
            )
    if status:
        if status not in Status.__members__:
            raise Invalid(f"unknown status {status!r}")
        query = query.where(Conversation.status == status)
    if assignee == "me":
        query = query.where(Conversation.assignee_id == viewer.agent_id)
    elif assignee == "none":
        query = query.where(Conversation.assignee_id.is_(None))  # type: ignore[union-attr]
    elif assignee:
        if not assignee.isdigit() or not is_id(int(assignee)):
            raise Invalid("assignee must be me, none or an agent id")
        query = query.where(Conversation.assignee_id == int(assignee))
    if inbox_id is not None:
        if not is_id(inbox_id) or not viewer.can_use_inbox(inbox_id):
            raise NotFound("inbox not found")
        query = query.where(
            has_visible_message(
                Viewer(viewer.agent_id, False, frozenset({inbox_id})),
                Message.conversation_id,
                Conversation.id,
            )
        )
    elif not viewer.is_admin:
        query = query.where(has_visible_message(viewer, Message.conversation_id, Conversation.id))
    return query


async def conversation_messages(
    session: AsyncSession,
    viewer: Viewer,
    conversation_id: int,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page:
    """A conversation's messages the viewer may see, oldest first."""
    await visible_conversation(session, viewer, conversation_id)
    return await _message_page(
        session, viewer, Message.conversation_id == conversation_id, cursor, limit
    )


async def customer_timeline(
    session: AsyncSession,
    viewer: Viewer,
    customer_id: int,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page:
    """Every message of the customer across channels and conversations, oldest first."""
    await visible_customer(session, viewer, customer_id)
    return await _message_page(session, viewer, Message.customer_id == customer_id, cursor, limit)


async def _message_page(
    session: AsyncSession, viewer: Viewer, condition: Any, cursor: str | None, limit: int | None
) -> Page:
    size = clamp_limit(limit)
    query = select(Message).where(condition, message_visible(viewer))
    after = decode_cursor(cursor, "ti")
    if after:
        at, mid = after
        query = query.where(
            or_(Message.created_at > at, and_(Message.created_at == at, Message.id > mid))  # type: ignore[operator]
        )
    query = query.order_by(Message.created_at, Message.id).limit(size + 1)  # type: ignore[arg-type]
    rows = list((await session.exec(query)).all())
    more = len(rows) > size
    rows = rows[:size]
    items = await message_objects(session, rows)
    nxt = encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
    return Page(items, nxt)


async def message_objects(session: AsyncSession, rows: Sequence[Message]) -> list[dict[str, Any]]:
    """Public objects for messages, loading all their attachments in one query."""
    ids = [m.id for m in rows]
    by_message: dict[int, list[dict[str, Any]]] = {}
    if ids:
        found = await session.execute(
            # sqlmodel's select() overloads stop at four columns; this takes five.
            select(  # type: ignore[call-overload]
                Attachment.id,
                Attachment.message_id,
                Attachment.filename,
                Attachment.content_type,
                Attachment.size,
            ).where(col(Attachment.message_id).in_(ids))
        )
        for row in found:
            by_message.setdefault(row.message_id, []).append(attachment_object(row))  # type: ignore[arg-type]
    return [message_object(m, by_message.get(m.id or 0, [])) for m in rows]


async def customer_objects(
    session: AsyncSession, customers: Sequence[Customer]
) -> list[dict[str, Any]]:
    """Public objects for customers, their identities loaded in one query."""
    ids = [c.id for c in customers]
    by_customer: dict[int, list[Identity]] = {}
    if ids:
        rows = await session.exec(
            select(Identity).where(Identity.customer_id.in_(ids)).order_by(Identity.id)  # type: ignore[attr-defined, arg-type]
        )
        for identity in rows.all():
            by_customer.setdefault(identity.customer_id, []).append(identity)
    return [customer_object(c, by_customer.get(c.id or 0, [])) for c in customers]


async def list_customers(
    session: AsyncSession,
    viewer: Viewer,
    q: str | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page:
    """Customers (not merged away), newest first, optionally matching `q`."""
    size = clamp_limit(limit)
    query = select(Customer).where(Customer.merged_into_id.is_(None))  # type: ignore[union-attr]
    key: Any = Customer.id
    if q:
        found = matching(_dialect(session), "customer_search", q)
        if found is None:
            return Page([], None)
        if _dialect(session) == "postgresql":
            # Its GIN index finds the (few) customers a name or address matches; walking the
            # newest rows instead, as for messages, costs a full scan when nobody matches.
            matches = (
                select(found.key.label("id"))
                .where(found.condition)
                .cte("customer_matches")
                .prefix_with("MATERIALIZED")
            )
            key = matches.c.id
            query = query.join(matches, matches.c.id == Customer.id)
        else:
            # Ordered by the search table's key: FTS5 walks its index newest first.
            key = found.key
            query = query.join_from(Customer, found.key.table, found.key == Customer.id).where(
                found.condition
            )
    if not viewer.is_admin:
        query = query.where(has_visible_message(viewer, Message.customer_id, Customer.id))
    after = decode_cursor(cursor, "i")
    if after:
        query = query.where(key < after[0])
    query = query.order_by(key.desc()).limit(size + 1)
    rows = list((await session.exec(query)).all())
    more = len(rows) > size
    rows = rows[:size]
    nxt = encode_cursor(rows[-1].id) if more and rows else None
    return Page(await customer_objects(session, rows), nxt)


RECENT_ROWS = 5000  # how far back PostgreSQL walks the newest rows before asking its GIN index


def _dialect(session: AsyncSession) -> str:
    return str(session.bind.dialect.name)  # type: ignore[union-attr]


async def search(
    session: AsyncSession, viewer: Viewer, q: str, limit: int | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Customers and messages matching `q`, newest messages first."""
    size = clamp_limit(limit, default=20)
    if not q or not q.strip():
        raise Invalid("q is required")
    customers = (await list_customers(session, viewer, q=q, limit=size)).items
    found = matching(_dialect(session), "message_search", q)
    if found is None:
        return {"customers": customers, "messages": []}
    rows = await _newest_matching_messages(session, viewer, found, size)
    return {"customers": customers, "messages": await message_objects(session, rows)}


async def search_messages(
    session: AsyncSession,
    viewer: Viewer,
    q: str,
    cursor: str | None = None,
    limit: int | None = None,
) -> Page:
    """Messages matching `q`, newest first, a page at a time (the search page's "more")."""
    size = clamp_limit(limit, default=20)
    if not q or not q.strip():
        raise Invalid("q is required")
    after = decode_cursor(cursor, "i")
    found = matching(_dialect(session), "message_search", q)
    if found is None:
        return Page([], None)
    rows = await _newest_matching_messages(
        session, viewer, found, size + 1, before=after[0] if after else None
    )
    more = len(rows) > size
    rows = rows[:size]
    nxt = encode_cursor(rows[-1].id) if more and rows else None
    return Page(await message_objects(session, rows), nxt)


async def _newest_matching_messages(
    session: AsyncSession, viewer: Viewer, found: Match, size: int, before: int | None = None
) -> list[Message]:
    """Newest matches first, straight from the full-text index, filtered by visibility as they
    come: the database stops at a page, and an agent of a small inbox still gets a full one."""
    query = (
        select(Message)
        .join_from(Message, found.key.table, found.key == Message.id)
        .where(found.condition, message_visible(viewer))
        .order_by(found.key.desc())
        .limit(size)
    )
    if before is not None:
        query = query.where(found.key < before)
    if _dialect(session) != "postgresql":
        return list((await session.exec(query)).all())  # FTS5 walks its index newest first
    # PostgreSQL cannot estimate a prefix query's matches: it walks the newest rows for a word
    # in every tenth message and for a word in none alike (seconds at a million messages).
    # So walk only the newest rows; a page still short means a rare word, which the GIN
    # index finds directly among the older ones.
    newest = await session.scalar(select(func.max(Message.id)))
    if before is not None:
        newest = min(int(newest or 0), before - 1)
    floor = max(0, int(newest or 0) - RECENT_ROWS)
    rows = list((await session.exec(query.where(found.key > floor))).all())
    if len(rows) < size:
        older = (
            select(found.key.label("id"))
            .where(found.condition, found.key <= floor)
            .cte("older_matches")
            .prefix_with("MATERIALIZED")
        )
        rest = (
            select(Message)
            .join(older, older.c.id == Message.id)
            .where(message_visible(viewer))
            .order_by(older.c.id.desc())
            .limit(size - len(rows))
        )
        rows += list((await session.exec(rest)).all())
    return rows


async def list_suggestions(
    session: AsyncSession,
    viewer: Viewer,
    status: str = "pending",
    cursor: str | None = None,
    limit: int | None = None,
) -> Page:
    """Merge suggestions about customers the viewer can see, newest first."""
    size = clamp_limit(limit)
    query = select(MergeSuggestion).where(MergeSuggestion.status == status)
    if not viewer.is_admin:
        query = query.where(
            has_visible_message(viewer, Message.customer_id, MergeSuggestion.customer_id),
            has_visible_message(viewer, Message.customer_id, MergeSuggestion.other_id),
        )
    after = decode_cursor(cursor, "i")
    if after:
        query = query.where(MergeSuggestion.id < after[0])  # type: ignore[operator]
    query = query.order_by(MergeSuggestion.id.desc()).limit(size + 1)  # type: ignore[union-attr]
    rows = list((await session.exec(query)).all())
    more = len(rows) > size
    rows = rows[:size]
    items = [suggestion_object(s) for s in rows]
    return Page(items, encode_cursor(rows[-1].id) if more and rows else None)


def suggestion_object(s: MergeSuggestion) -> dict[str, Any]:
    return {
        "id": s.id,
        "customer_id": s.customer_id,
        "other_id": s.other_id,
        "identity": {"kind": s.identity_kind, "value": s.identity_value},
        "reason": s.reason,
        "status": s.status,
        "created_at": iso(s.created_at),
    }


async def customer_detail(
    session: AsyncSession, viewer: Viewer, customer_id: int
) -> dict[str, Any]:
    customer = await visible_customer(session, viewer, customer_id)
    return (await customer_objects(session, [customer]))[0]


async def conversation_detail(session: AsyncSession, viewer: Viewer, cid: int) -> dict[str, Any]:
    conversation = conversation_object(await visible_conversation(session, viewer, cid))
    conversation["labels"] = (await labels_by_conversation(session, [cid]))[cid]
    return conversation


async def conversation_cards(
    session: AsyncSession, viewer: Viewer, page: Page
) -> list[dict[str, Any]]:
    """List rows for the agent UI: each conversation with its customer, last message and the
    viewer's unread count."""
    ids = [c["id"] for c in page.items]
    if not ids:
        return []
    unread = await unread_counts(session, viewer, ids)
    customer_ids = {c["customer_id"] for c in page.items}
    names: dict[int | None, str | None] = dict(
        (
            await session.execute(
                select(Customer.id, Customer.name).where(Customer.id.in_(customer_ids))  # type: ignore[union-attr]
            )
        ).all()
    )
    latest = (
        select(func.max(Message.id))
        .where(col(Message.conversation_id).in_(ids), message_visible(viewer))
        .group_by(col(Message.conversation_id))
    )
    last = {
        m.conversation_id: m
        for m in (await session.exec(select(Message).where(Message.id.in_(latest)))).all()  # type: ignore[union-attr]
    }
    cards = []
    for item in page.items:
        message = last.get(item["id"])
        cards.append(
            {
                **item,
                "customer_name": names.get(item["customer_id"])
                or f"Customer {item['customer_id']}",
                "preview": (message.stripped_text or message.text)[:140] if message else "",
                "channel": message.channel if message else "",
                "last_author": message.author if message else "",
                "unread": unread.get(item["id"], 0),
            }
        )
    return cards


async def visible_attachment(
    session: AsyncSession, viewer: Viewer, attachment_id: int
) -> Attachment:
    """An attachment of a message the viewer may see; NotFound otherwise."""
    row = (
        await session.exec(
            select(Attachment)
            .join(Message, Message.id == Attachment.message_id)  # type: ignore[arg-type]
            .where(Attachment.id == attachment_id, message_visible(viewer))
        )
    ).first()
    if row is None:
        raise NotFound("attachment not found")
    return row


async def channel_inbox(session: AsyncSession, inbox_id: int) -> ChannelInbox | None:
    """An inbox as its connector sees it (kind, config, token), or None."""
    row = (await session.exec(select(Inbox).where(Inbox.id == inbox_id))).first()
    return None if row is None else _channel(row)


def _channel(row: Inbox) -> ChannelInbox:
    return ChannelInbox(row.id or 0, row.kind, row.name, dict(row.config), row.token)
