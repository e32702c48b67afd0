"""The inbox list (for admin pages and the simulator) and changing an inbox's settings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.access import Viewer
from inbox.channel import ChannelInbox
from inbox.db import Database, Tx
from inbox.errors import Invalid, NotFound
from inbox.models import Inbox, InboxMember


async def channel_inboxes(
    session: AsyncSession, viewer: Viewer | None = None, kinds: Iterable[str] | None = None
) -> list[ChannelInbox]:
    """The inboxes this viewer may use (without one: all, as the pollers need), oldest first,
    optionally only of some kinds."""
    query = select(Inbox).order_by(col(Inbox.id))
    if kinds is not None:
        query = query.where(Inbox.kind.in_(list(kinds)))  # type: ignore[attr-defined]
    if viewer is not None and viewer.scope is not None:
        query = query.where(Inbox.id.in_(list(viewer.scope)))  # type: ignore[union-attr]
    rows = (await session.exec(query)).all()
    return [ChannelInbox(r.id or 0, r.kind, r.name, dict(r.config), r.token) for r in rows]


@dataclass(frozen=True)
class InboxRow:
    """An inbox as the admin pages list it."""

    inbox: Inbox
    member_ids: tuple[int, ...]


async def inbox_rows(session: AsyncSession) -> list[InboxRow]:
    """Every inbox with its members' ids, oldest first."""
    inboxes = (await session.exec(select(Inbox).order_by(col(Inbox.id)))).all()
    members: dict[int, list[int]] = {}
    for agent_id, inbox_id in (
        await session.exec(select(InboxMember.agent_id, InboxMember.inbox_id))
    ).all():
        members.setdefault(inbox_id, []).append(agent_id)
    return [InboxRow(i, tuple(sorted(members.get(i.id or 0, [])))) for i in inboxes]


async def agent_inbox_ids(session: AsyncSession) -> dict[int, set[int]]:
    """Agent id → the inboxes they work."""
    out: dict[int, set[int]] = {}
    for agent_id, inbox_id in (
        await session.exec(select(InboxMember.agent_id, InboxMember.inbox_id))
    ).all():
        out.setdefault(agent_id, set()).add(inbox_id)
    return out


async def update_inbox(db: Database, inbox_id: int, name: str, config: dict[str, Any]) -> Inbox:
    """Rename an inbox and replace its config (the channel has checked the config's keys)."""
    if not name.strip():
        raise Invalid("name is required")

    async def work(tx: Tx) -> Inbox:
        inbox = await tx.session.get(Inbox, inbox_id)
        if inbox is None:
            raise NotFound(f"inbox {inbox_id} not found")
        inbox.name = name.strip()[:200]
        inbox.config = dict(config)
        tx.session.add(inbox)
        tx.emit("inbox.updated", {"inbox_id": inbox.id, "kind": inbox.kind, "name": inbox.name})
        return inbox

    return await db.run_write(work, attempts=1)
