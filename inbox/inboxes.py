"""Reading the inbox list (for admin pages and the simulator)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.access import Viewer
from inbox.channel import ChannelInbox
from inbox.models import Inbox


async def channel_inboxes(
    session: AsyncSession, viewer: Viewer, kinds: Iterable[str] | None = None
) -> list[ChannelInbox]:
    """The inboxes this viewer may use, oldest first, optionally only of some kinds."""
    query = select(Inbox).order_by(Inbox.id)
    if kinds is not None:
        query = query.where(Inbox.kind.in_(list(kinds)))  # type: ignore[attr-defined]
    if viewer.scope is not None:
        query = query.where(Inbox.id.in_(list(viewer.scope)))  # type: ignore[union-attr]
    rows = (await session.exec(query)).all()
    return [ChannelInbox(r.id or 0, r.kind, r.name, dict(r.config), r.token) for r in rows]
