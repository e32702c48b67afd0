"""Search and the event log (what a reconnecting client missed)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from inbox import queries
from inbox.access import Viewer
from inbox.errors import Invalid
from inbox.events import events_since
from inbox.models import MAX_ID
from web.runtime import Runtime


class SearchController(Controller):
    path = "/api/v1"
    tags = ["search", "events"]

    @get("/search")
    async def search(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        q: FromQuery[str] = "",
        limit: FromQuery[int | None] = None,
    ) -> dict[str, Any]:
        """Customers and messages matching `q` (English and Korean)."""
        async with runtime.db.read() as session:
            return await queries.search(session, viewer, q, limit)

    @get("/events")
    async def events(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        since: FromQuery[int] = 0,
        limit: FromQuery[int | None] = None,
    ) -> dict[str, Any]:
        """Events after `since` that the agent may see, oldest first."""
        if not 0 <= since <= MAX_ID:
            raise Invalid("since must be a sequence number")
        size = queries.clamp_limit(limit, default=100)
        async with runtime.db.read() as session:
            records = await events_since(session, since, viewer.scope, size + 1)
        more = len(records) > size
        records = records[:size]
        return {
            "items": [r.frame() for r in records],
            "next": records[-1].seq if more and records else None,
        }
