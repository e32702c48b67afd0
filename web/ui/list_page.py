"""The conversation list: views Mine / Unassigned / All, filters by status, inbox and label."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from inbox import queries
from inbox.access import Viewer
from inbox.errors import Invalid
from inbox.events import last_seq
from inbox.listing import COUNT_CAP, normalise_label, visible_inboxes, visible_labels
from inbox.models import Status
from inbox.read_markers import mark_read
from web.runtime import Runtime

VIEWS = {"mine": "me", "unassigned": "none", "all": None}


@dataclass(frozen=True)
class ListFilters:
    """The list's query string, checked: anything unknown is a 400 before any query runs."""

    view: str
    status: str
    inbox: int | None
    label: str | None

    @classmethod
    def parse(cls, view: str, status: str, inbox: str, label: str) -> ListFilters:
        if view not in VIEWS:
            raise Invalid("view must be mine, unassigned or all")
        if status and status not in Status.__members__:
            raise Invalid(f"status must be one of {', '.join(Status.__members__)} or empty")
        if inbox and (not inbox.isdigit() or len(inbox) > 10):
            raise Invalid("inbox must be an inbox id")
        return cls(
            view, status, int(inbox) if inbox else None, normalise_label(label) if label else None
        )

    def where(self) -> dict[str, Any]:
        """The filters as `queries.list_conversations` and `queries.view_counts` take them."""
        return {"status": self.status or None, "inbox_id": self.inbox, "label": self.label}

    def link(self, **changes: Any) -> str:
        """This list's URL with some filters changed (what the tabs and "more" link to)."""
        values = {
            "view": self.view,
            "status": self.status,
            "inbox": self.inbox or "",
            "label": self.label or "",
            **changes,
        }
        return "/?" + urlencode({k: v for k, v in values.items() if v != "" or k == "status"})


async def provide_list_filters(
    view: FromQuery[str] = "all",
    status: FromQuery[str] = "open",
    inbox: FromQuery[str] = "",
    label: FromQuery[str] = "",
) -> ListFilters:
    """Dependency: the list's filters from the query string (400 when malformed)."""
    return ListFilters.parse(view, status, inbox, label)


class ListController(Controller):
    include_in_schema = False
    dependencies = {"filters": Provide(provide_list_filters)}

    @get("/")
    async def conversation_list(
        self,
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        filters: NamedDependency[ListFilters],
        cursor: FromQuery[str | None] = None,
        partial: FromQuery[bool] = False,
    ) -> Template:
        """The list, newest activity first; `partial` renders only what live updates replace.

        The views' counts come from `/view-counts`, asked by the page after it shows: for an
        agent of some inboxes they cost as much as the rest of the page together."""
        where = filters.where()
        async with runtime.db.read() as session:
            page = await queries.list_conversations(
                session, ui_viewer, assignee=VIEWS[filters.view], cursor=cursor, **where
            )
            cards = await queries.conversation_cards(session, ui_viewer, page)
            options = (
                {}
                if partial
                else {
                    "inboxes": await visible_inboxes(session, ui_viewer),
                    "labels": await visible_labels(session, ui_viewer),
                }
            )
            seq = await last_seq(session)
        context = {
            **options,
            "cards": cards,
            "next": page.next,
            "filters": filters,
            "views": list(VIEWS),
            "statuses": list(Status.__members__),
            "seq": seq,
            "viewer": ui_viewer,
        }
        return Template("_list.html" if partial else "conversations.html", context=context)

    @get("/view-counts")
    async def view_counts(
        self,
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        filters: NamedDependency[ListFilters],
    ) -> dict[str, int]:
        """How many conversations Mine, Unassigned and All hold under the list's other filters,
        each counted up to `cap` (more shows as "1000+")."""
        async with runtime.db.read() as session:
            counts = await queries.view_counts(session, ui_viewer, **filters.where())
        return {**counts, "cap": COUNT_CAP}

    @post("/conversations/{conversation_id:int}/read", status_code=204)
    async def read(
        self,
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        conversation_id: FromPath[int],
    ) -> None:
        """The open conversation page saw new messages arrive live: nothing in it is unread."""
        await mark_read(runtime.db, ui_viewer, conversation_id)
