"""The conversation page beyond its first render: timeline pages and live messages as the
server's partials, retry, snooze, assignment, and the customer panel's edits and merges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect, Template

from inbox import actions, queries
from inbox.access import Viewer
from inbox.customer_profile import customer_conversations, undoable_merges, update_customer
from inbox.errors import Invalid
from inbox.events import last_seq
from inbox.models import Status
from inbox.reply_options import customer_suggestions, reply_options
from inbox.timeline import parse_ids, timeline_before, timeline_messages
from inbox.triage import assignable_agents, retry_message, snooze_conversation
from web.runtime import Runtime
from web.ui.local_time import day_labels, parse_local

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
SHORTCUTS = (
    ("r", "Focus the reply box"),
    ("e", "Resolve"),
    ("a", "Assign to me"),
    ("z", "Snooze"),
    ("?", "Show these shortcuts"),
)


async def conversation_view(
    request: Request[Any, Any, Any],
    runtime: Runtime,
    viewer: Viewer,
    conversation_id: int,
    *,
    partial: bool = False,
    merge_q: str = "",
) -> Template:
    """The whole page (or, with `partial`, the timeline's newest page)."""
    if len(merge_q) > 200:
        raise Invalid("the search is too long")
    async with runtime.db.read() as session:
        conversation = await queries.conversation_detail(session, viewer, conversation_id)
        customer_id = conversation["customer_id"]
        customer = await queries.customer_detail(session, viewer, customer_id)
        page = await timeline_before(session, viewer, customer_id)
        seq = await last_seq(session)
        context: dict[str, Any] = {
            "conversation": conversation,
            "customer": customer,
            "messages": page.items,
            "before": page.next,
            "days": day_labels(request, [m["created_at"] for m in page.items]),
            "seq": seq,
            "viewer": viewer,
            "statuses": list(Status.__members__),
        }
        if partial:
            return Template("_timeline.html", context=context)
        found = []
        if merge_q.strip():
            hits = (await queries.list_customers(session, viewer, q=merge_q, limit=10)).items
            found = [c for c in hits if c["id"] != customer_id]
        context |= {
            "reply_options": await reply_options(session, viewer, conversation_id),
            "suggestions": await customer_suggestions(session, viewer, customer_id),
            "agents": await assignable_agents(session, viewer, conversation_id),
            "conversations": await customer_conversations(session, viewer, customer_id),
            "merges": await undoable_merges(session, viewer, customer_id),
            "merge_q": merge_q,
            "merge_results": found,
            "shortcuts": SHORTCUTS,
        }
    return Template("conversation.html", context=context)


def _wants_json(request: Request[Any, Any, Any]) -> bool:
    return "application/json" in request.headers.get("accept", "")


def answer(request: Request[Any, Any, Any], conversation_id: int, data: Any) -> Any:
    """JSON for the page's script, a redirect back to the page for a plain form."""
    if _wants_json(request):
        return Response(data, status_code=200)
    return Redirect(f"/conversations/{conversation_id}", status_code=303)


def assignee_choice(raw: str, viewer: Viewer) -> Any:
    """The manage form's `assign`: me, none, an agent id; empty keeps the assignee."""
    if raw == "me":
        return viewer.agent_id
    if raw == "none":
        return None
    if raw.isdigit() and len(raw) <= 18:
        return int(raw)
    raise Invalid("assign must be me, none or an agent id")


def snooze_moment(raw: str, offset: str, zone: str) -> datetime:
    """A `datetime-local` value in the agent's zone; before one is set, the browser's UTC offset
    in minutes (as JS gives it)."""
    try:
        if zone:
            return parse_local(raw, ZoneInfo(zone))
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid("snooze until must be a date and time") from None
    if moment.tzinfo is not None:
        return moment
    minutes = int(offset) if offset.lstrip("-").isdigit() and len(offset) < 6 else 0
    if abs(minutes) > 16 * 60:
        raise Invalid("the time zone offset is out of range")
    return (moment + timedelta(minutes=minutes)).replace(tzinfo=UTC)


class ConversationPageController(Controller):
    path = "/conversations/{conversation_id:int}"
    include_in_schema = False

    @get("/timeline")
    async def earlier(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        conversation_id: FromPath[int],
        before: FromQuery[str | None] = None,
        ids: FromQuery[str | None] = None,
    ) -> Template:
        """Older messages before a cursor, or the messages `ids` (live arrivals and updates)."""
        async with runtime.db.read() as session:
            conversation = await queries.conversation_detail(session, ui_viewer, conversation_id)
            customer_id = conversation["customer_id"]
            if ids is not None:
                items = await timeline_messages(session, ui_viewer, customer_id, parse_ids(ids))
                cursor = None
            else:
                if not before:
                    raise Invalid("before or ids is required")
                page = await timeline_before(session, ui_viewer, customer_id, before)
                items, cursor = page.items, page.next
        context = {
            "conversation": conversation,
            "messages": items,
            "before": cursor,
            "days": day_labels(request, [m["created_at"] for m in items]),
        }
        return Template("_timeline_page.html", context=context)

    @get("/customer-panel")
    async def customer_panel(
        self,
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        conversation_id: FromPath[int],
    ) -> Template:
        """The panel's identities, suggestions, attributes and other conversations as they are
        now (for live frames)."""
        async with runtime.db.read() as session:
            conversation = await queries.conversation_detail(session, ui_viewer, conversation_id)
            customer_id = conversation["customer_id"]
            context = {
                "conversation": conversation,
                "customer": await queries.customer_detail(session, ui_viewer, customer_id),
                "suggestions": await customer_suggestions(session, ui_viewer, customer_id),
                "conversations": await customer_conversations(session, ui_viewer, customer_id),
            }
        return Template("_customer_live.html", context=context)

    @get("/reply-options")
    async def reply_channels(
        self,
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        conversation_id: FromPath[int],
    ) -> Template:
        """The reply box's "Send via" choices as they are now (the customer may have written on
        another channel since the page was made)."""
        async with runtime.db.read() as session:
            options = await reply_options(session, ui_viewer, conversation_id)
        return Template("_reply_to.html", context={"reply_options": options})

    @post("/messages/{message_id:int}/retry", status_code=303)
    async def retry(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        conversation_id: FromPath[int],
        message_id: FromPath[int],
    ) -> Any:
        """Send a failed reply again."""
        async with runtime.db.read() as session:
            await queries.visible_conversation(session, ui_viewer, conversation_id)
        result = await retry_message(runtime.db, ui_viewer, message_id)
        return answer(request, conversation_id, result)

    @post("/manage", status_code=303)
    async def manage(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        conversation_id: FromPath[int],
        data: Form,
    ) -> Any:
        """Status and assignee; `snooze_until` (with `tz_offset`) snoozes instead."""
        if data.get("snooze_until"):
            moment = snooze_moment(
                data["snooze_until"], data.get("tz_offset", "0"), ui_viewer.time_zone
            )
            result = await snooze_conversation(runtime.db, ui_viewer, conversation_id, moment)
            return answer(request, conversation_id, result)
        changes: dict[str, Any] = {}
        if data.get("status"):
            if data["status"] == Status.snoozed:
                raise Invalid("choose a time to snooze until")
            changes["status"] = data["status"]
        if data.get("assign"):
            changes["assignee_id"] = assignee_choice(data["assign"], ui_viewer)
        result = await actions.update_conversation(
            runtime.db, ui_viewer, conversation_id, **changes
        )
        return answer(request, conversation_id, result)

    @post("/customer", status_code=303)
    async def edit_customer(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        conversation_id: FromPath[int],
        data: Form,
    ) -> Any:
        """Rename the customer, or set (`key`, `value`) or remove (`remove`) an attribute."""
        customer_id = await self._customer_of(runtime, ui_viewer, conversation_id)
        changes: dict[str, Any] = {}
        if "name" in data:
            changes["name"] = data["name"]
        if data.get("key") is not None and "value" in data:
            changes["set_attributes"] = {data["key"]: data["value"]}
        if data.get("remove"):
            changes["remove_attributes"] = (data["remove"],)
        if not changes:
            raise Invalid("nothing to change")
        result = await update_customer(runtime.db, ui_viewer, customer_id, **changes)
        return answer(request, conversation_id, result)

    @get("/merge/{other_id:int}")
    async def confirm_merge(
        self,
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        conversation_id: FromPath[int],
        other_id: FromPath[int],
    ) -> Template:
        """Ask before merging another customer into this conversation's customer."""
        async with runtime.db.read() as session:
            conversation = await queries.conversation_detail(session, ui_viewer, conversation_id)
            customer = await queries.customer_detail(
                session, ui_viewer, conversation["customer_id"]
            )
            other = await queries.customer_detail(session, ui_viewer, other_id)
            seq = await last_seq(session)
        if other["id"] == customer["id"] or other["merged_into_id"]:
            raise Invalid("that customer cannot be merged into this one")
        context = {
            "conversation": conversation,
            "customer": customer,
            "other": other,
            "seq": seq,
            "viewer": ui_viewer,
        }
        return Template("merge_confirm.html", context=context)

    @post("/merge/{other_id:int}", status_code=303)
    async def merge(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        conversation_id: FromPath[int],
        other_id: FromPath[int],
    ) -> Any:
        """Merge the other customer into this conversation's customer (recorded, undoable)."""
        customer_id = await self._customer_of(runtime, ui_viewer, conversation_id)
        result = await actions.merge_for_agent(runtime.db, ui_viewer, customer_id, other_id)
        return answer(request, conversation_id, result)

    @post("/merges/{merge_id:int}/undo", status_code=303)
    async def undo_merge(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        conversation_id: FromPath[int],
        merge_id: FromPath[int],
    ) -> Any:
        """Undo a merge into this customer."""
        await self._customer_of(runtime, ui_viewer, conversation_id)
        result = await actions.undo_merge_for_agent(runtime.db, ui_viewer, merge_id)
        return answer(request, conversation_id, result)

    async def _customer_of(self, runtime: Runtime, viewer: Viewer, conversation_id: int) -> int:
        async with runtime.db.read() as session:
            conversation = await queries.visible_conversation(session, viewer, conversation_id)
        return conversation.customer_id
