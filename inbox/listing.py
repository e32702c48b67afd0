"""What the conversation list shows besides the conversations: labels, unread counts, the
inboxes and labels to filter by, and how many conversations each view holds.

Everything here is computed for one page of cards at a time, in one query per kind, and only
from what the viewer may see.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, func, or_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.access import Viewer, has_visible_message, message_visible
from inbox.errors import Invalid
from inbox.models import (
    LABEL_MAX,
    Author,
    Conversation,
    ConversationLabel,
    Customer,
    Inbox,
    Label,
    Message,
    ReadMarker,
)

COUNT_CAP = 1000  # views count up to this many conversations, then say "1000+"
# Above this many conversations a label is "common": the list walks conversations by activity
# and probes the label, instead of sorting all of the label's conversations.
LABEL_WALK = 2000
_LABEL = re.compile(r"[\w-]+")


def normalise_label(raw: str) -> str:
    """A label as stored: NFKC, lower case, spaces as hyphens; letters, digits, `-` and `_` only.

    So "Refund Request", "refund  request" and full-width "REFUND request" are one label.
    """
    name = "-".join(unicodedata.normalize("NFKC", raw or "").casefold().split())
    if not name:
        raise Invalid("a label needs a name")
    if len(name) > LABEL_MAX:
        raise Invalid("a label has at most %(most)s characters", most=LABEL_MAX)
    if not _LABEL.fullmatch(name):
        raise Invalid("a label has only letters, digits, '-' and '_'")
    return name


async def labels_by_conversation(
    session: AsyncSession, conversation_ids: Iterable[int]
) -> dict[int, list[str]]:
    """Each conversation's label names, alphabetically, in one query."""
    ids = list(conversation_ids)
    found: dict[int, list[str]] = {cid: [] for cid in ids}
    if not ids:
        return found
    rows = await session.execute(
        select(ConversationLabel.conversation_id, Label.name)
        .join(Label, Label.id == ConversationLabel.label_id)  # type: ignore[arg-type]
        .where(ConversationLabel.conversation_id.in_(ids))  # type: ignore[attr-defined]
        .order_by(Label.name)
    )
    for cid, name in rows:
        found[cid].append(name)
    return found


async def unread_counts(
    session: AsyncSession, viewer: Viewer, conversation_ids: Sequence[int]
) -> dict[int, int]:
    """Customer messages after the viewer's read marker, per conversation, in one query."""
    if not conversation_ids:
        return {}
    marker = ReadMarker.__table__  # type: ignore[attr-defined]
    rows = await session.execute(
        select(Message.conversation_id, func.count())
        .select_from(Message)
        .outerjoin(
            marker,
            and_(
                marker.c.conversation_id == Message.conversation_id,
                marker.c.agent_id == viewer.agent_id,
            ),
        )
        .where(
            Message.conversation_id.in_(conversation_ids),  # type: ignore[attr-defined]
            Message.author == Author.customer,
            message_visible(viewer),
            or_(marker.c.message_id.is_(None), Message.id > marker.c.message_id),  # type: ignore[operator]
        )
        .group_by(col(Message.conversation_id))
    )
    return {cid: int(count) for cid, count in rows}


async def visible_inboxes(session: AsyncSession, viewer: Viewer) -> list[dict[str, Any]]:
    """The inboxes the viewer may filter by: id, name and channel kind."""
    query = select(Inbox.id, Inbox.name, Inbox.kind).order_by(Inbox.name, Inbox.id)  # type: ignore[arg-type]
    if not viewer.is_admin:
        query = query.where(Inbox.id.in_(viewer.inbox_ids))  # type: ignore[union-attr]
    return [{"id": i, "name": n, "kind": k} for i, n, k in await session.execute(query)]


async def visible_labels(session: AsyncSession, viewer: Viewer) -> list[str]:
    """Label names on at least one conversation the viewer can see (others' stay unknown)."""
    used = select(ConversationLabel.conversation_id).where(ConversationLabel.label_id == Label.id)
    if not viewer.is_admin:
        used = used.where(
            has_visible_message(viewer, Message.conversation_id, ConversationLabel.conversation_id)
        )
    rows = await session.execute(select(Label.name).where(used.exists()).order_by(Label.name))
    return [name for (name,) in rows]


async def label_id(session: AsyncSession, name: str) -> int | None:
    """The id of a label by its normalised name, or None when nobody has used it."""
    return await session.scalar(select(Label.id).where(Label.name == name))


async def label_size(session: AsyncSession, label: int) -> int:
    """How many conversations carry the label, counted up to LABEL_WALK + 1 (index only)."""
    limited = (
        select(ConversationLabel.conversation_id)
        .where(ConversationLabel.label_id == label)
        .limit(LABEL_WALK + 1)
    )
    return int(await session.scalar(select(func.count()).select_from(limited.subquery())) or 0)


def has_label(label: int) -> ColumnElement[bool]:
    """A condition on `Conversation` rows carrying the label."""
    return (
        select(ConversationLabel.conversation_id)
        .where(
            ConversationLabel.conversation_id == Conversation.id,
            ConversationLabel.label_id == label,
        )
        .exists()
    )


async def count_capped(session: AsyncSession, query: Any) -> int:
    """How many rows `query` (a select of conversations) has, counting at most COUNT_CAP + 1."""
    limited = query.with_only_columns(Conversation.id).order_by(None).limit(COUNT_CAP + 1)
    return int(await session.scalar(select(func.count()).select_from(limited.subquery())) or 0)


async def latest_conversations(
    session: AsyncSession, viewer: Viewer, customer_ids: Iterable[int]
) -> dict[int, int]:
    """Each customer's newest conversation the viewer can see (where a search result leads)."""
    ids = list(customer_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(Message.customer_id, func.max(Message.conversation_id))
        .where(Message.customer_id.in_(ids), message_visible(viewer))  # type: ignore[attr-defined]
        .group_by(col(Message.customer_id))
    )
    return {customer: conversation for customer, conversation in rows}


async def customer_names(session: AsyncSession, customer_ids: Iterable[int]) -> dict[int, str]:
    """Names of customers by id (those without a name are left out), in one query."""
    ids = set(customer_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(Customer.id, Customer.name).where(Customer.id.in_(ids), Customer.name.is_not(None))  # type: ignore[union-attr]
    )
    return {cid: name for cid, name in rows}
