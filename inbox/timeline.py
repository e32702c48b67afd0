"""The agent's view of a customer's timeline: it opens at the newest messages and pages back.

The REST timeline reads oldest first from a cursor; the conversation page needs the other end
first, so this walks the same index (`ix_message_customer_timeline`) backwards by keyset.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.access import Viewer, message_visible
from inbox.errors import Invalid
from inbox.models import Message, is_id
from inbox.queries import (
    Page,
    clamp_limit,
    decode_cursor,
    encode_cursor,
    message_objects,
    visible_customer,
)

PAGE = 50
MAX_IDS = 50


async def timeline_before(
    session: AsyncSession,
    viewer: Viewer,
    customer_id: int,
    before: str | None = None,
    limit: int | None = None,
) -> Page:
    """The newest messages older than `before` (all, without it), oldest first within the page.

    `next` is the cursor for the page before this one, or None at the start of the history.
    """
    await visible_customer(session, viewer, customer_id)
    size = clamp_limit(limit, default=PAGE)
    query = select(Message).where(Message.customer_id == customer_id, message_visible(viewer))
    edge = decode_cursor(before, "ti")
    if edge:
        at, mid = edge
        query = query.where(
            or_(Message.created_at < at, and_(Message.created_at == at, Message.id < mid))  # type: ignore[operator]
        )
    query = query.order_by(Message.created_at.desc(), Message.id.desc()).limit(size + 1)  # type: ignore[attr-defined, union-attr]
    rows = list((await session.exec(query)).all())
    more = len(rows) > size
    rows = rows[:size]
    rows.reverse()
    nxt = encode_cursor(rows[0].created_at, rows[0].id) if more and rows else None
    return Page(await message_objects(session, rows), nxt)


def parse_ids(raw: str) -> list[int]:
    """A comma-separated list of message ids, as the page asks for live ones."""
    parts = [p for p in raw.split(",") if p]
    if not parts or len(parts) > MAX_IDS:
        raise Invalid(f"ids must list 1 to {MAX_IDS} message ids")
    ids = []
    for part in parts:
        if not part.isdigit() or not is_id(int(part)):
            raise Invalid("ids must be message ids")
        ids.append(int(part))
    return ids


async def timeline_messages(
    session: AsyncSession, viewer: Viewer, customer_id: int, ids: Sequence[int]
) -> list[dict[str, Any]]:
    """These messages of the customer the viewer may see (others are left out), in time order."""
    await visible_customer(session, viewer, customer_id)
    rows = (
        await session.exec(
            select(Message)
            .where(
                Message.id.in_(list(ids)),  # type: ignore[union-attr]
                Message.customer_id == customer_id,
                message_visible(viewer),
            )
            .order_by(Message.created_at, Message.id)  # type: ignore[arg-type]
        )
    ).all()
    return await message_objects(session, rows)
