"""The customer panel: edit a customer's name and attributes, list their other conversations
and the merges that can still be undone. Only for agents who can see the customer."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.access import Viewer, has_visible_message, message_visible
from inbox.db import Database, Tx
from inbox.errors import Invalid
from inbox.identity import customer_inbox_ids, reindex_customer
from inbox.models import Conversation, Customer, MergeRecord, Message
from inbox.objects import conversation_object, iso
from inbox.queries import customer_objects, visible_customer

UNSET: Any = object()
MAX_ATTRIBUTES = 50
MAX_KEY = 64
MAX_VALUE = 1000


def _clean(value: str, field: str, limit: int, *, required: bool) -> str:
    if not isinstance(value, str):
        raise Invalid("%(field)s must be text", field=field)
    if any(not c.isprintable() for c in value):
        raise Invalid("%(field)s may not contain control characters", field=field)
    cleaned = value.strip()
    if required and not cleaned:
        raise Invalid("%(field)s is required", field=field)
    if len(cleaned) > limit:
        raise Invalid("%(field)s is longer than %(limit)s characters", field=field, limit=limit)
    return cleaned


async def update_customer(
    db: Database,
    viewer: Viewer,
    customer_id: int,
    *,
    name: Any = UNSET,
    set_attributes: dict[str, str] | None = None,
    remove_attributes: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Rename a customer and set or remove attributes; appends `customer.updated`."""
    new_name = UNSET if name is UNSET else _clean(name or "", "name", 200, required=False) or None
    additions = {
        _clean(k, "attribute name", MAX_KEY, required=True): _clean(
            v, "attribute value", MAX_VALUE, required=False
        )
        for k, v in (set_attributes or {}).items()
    }
    removals = [_clean(k, "attribute name", MAX_KEY, required=True) for k in remove_attributes]

    async def work(tx: Tx) -> dict[str, Any]:
        customer = await visible_customer(tx.session, viewer, customer_id)
        if customer.merged_into_id is not None:
            raise Invalid("this customer was merged into another; edit that one")
        if new_name is not UNSET:
            customer.name = new_name
        attributes = {**customer.attributes, **additions}
        for key in removals:
            attributes.pop(key, None)
        if len(attributes) > MAX_ATTRIBUTES:
            raise Invalid("a customer has at most %(most)s attributes", most=MAX_ATTRIBUTES)
        customer.attributes = attributes  # a new dict, so the JSON column is written
        tx.session.add(customer)
        await tx.session.flush()
        await reindex_customer(tx, customer_id)
        data = (await customer_objects(tx.session, [customer]))[0]
        tx.emit("customer.updated", data, await customer_inbox_ids(tx.session, [customer_id]))
        return data

    return await db.run_write(work)


async def customer_conversations(
    session: AsyncSession, viewer: Viewer, customer_id: int, limit: int = 20
) -> list[dict[str, Any]]:
    """The customer's conversations the viewer may see, latest activity first, each with the
    channel of its last visible message."""
    await visible_customer(session, viewer, customer_id)
    query = select(Conversation).where(Conversation.customer_id == customer_id)
    if not viewer.is_admin:
        query = query.where(has_visible_message(viewer, Message.conversation_id, Conversation.id))
    rows = (
        await session.exec(
            query.order_by(Conversation.last_message_at.desc(), Conversation.id.desc()).limit(limit)  # type: ignore[attr-defined, union-attr]
        )
    ).all()
    ids = [c.id for c in rows]
    last = (
        select(func.max(Message.id))
        .where(col(Message.conversation_id).in_(ids), message_visible(viewer))
        .group_by(col(Message.conversation_id))
    )
    channels: dict[int, str] = dict(
        (
            await session.execute(
                select(Message.conversation_id, Message.channel).where(Message.id.in_(last))  # type: ignore[union-attr]
            )
        ).all()
    )
    return [{**conversation_object(c), "channel": channels.get(c.id or 0, "")} for c in rows]


async def undoable_merges(
    session: AsyncSession, viewer: Viewer, customer_id: int
) -> list[dict[str, Any]]:
    """Merges into this customer that are not undone yet, newest first."""
    await visible_customer(session, viewer, customer_id)
    rows = (
        await session.exec(
            select(MergeRecord, Customer.name)
            .join(Customer, Customer.id == MergeRecord.merged_id)  # type: ignore[arg-type]
            .where(MergeRecord.survivor_id == customer_id, MergeRecord.undone_at.is_(None))  # type: ignore[union-attr]
            .order_by(MergeRecord.id.desc())  # type: ignore[union-attr]
            .limit(20)
        )
    ).all()
    return [
        {
            "id": record.id,
            "merged_id": record.merged_id,
            "merged_name": name,
            "reason": record.reason,
            "created_at": iso(record.created_at),
        }
        for record, name in rows
    ]
