"""Search and the event log (what a reconnecting client missed)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get

from inbox import queries
from inbox.access import Viewer
from inbox.errors import Invalid
from inbox.events import events_since
from web.runtime import Runtime


class SearchController(Controller):
    path = "/api/v1"
    tags = ["search", "events"]

    @get("/search")
    async def search(
        self, runtime: Runtime, viewer: Viewer, q: str = "", limit: int | None = None
    ) -> dict[str, Any]:
        """Customers and messages matching `q` (English and Korean)."""
        async with runtime.db.read() as session:
            return await queries.search(session, viewer, q, limit)

    @get("/events")
    async def events(
        self, runtime: Runtime, viewer: Viewer, since: int = 0, limit: int | None = None
    ) -> dict[str, Any]:
        """Events after `since` that the agent may see, oldest first."""
        if since < 0:
            raise Invalid("since must not be negative")
        size = queries.clamp_limit(limit, default=100)
        async with runtime.db.read() as session:
            records = await events_since(session, since, viewer.scope, size + 1)
        more = len(records) > size
        records = records[:size]
        return {
            "items": [r.frame() for r in records],
            "next": records[-1].seq if more and records else None,
        }
