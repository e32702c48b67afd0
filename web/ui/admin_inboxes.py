"""`/admin/inboxes`: connect a channel, see its webhook URL and signature checks, edit it, and
choose who works it. Admins only."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from connectors.base import ChannelInbox
from inbox import agents
from inbox.access import Viewer
from inbox.errors import Conflict, Invalid, NotFound
from inbox.inboxes import InboxRow, inbox_rows, update_inbox
from inbox.models import Agent, Inbox
from web.runtime import Runtime
from web.ui.channel_forms import KINDS, config_from_form, fields_of, shown_value, signature_state
from web.ui.language import translate_error
from web.ui.pages import Form
from web.urls import webhook_url


def require_admin(viewer: Viewer) -> None:
    """Admin pages answer 403 to agents."""
    if not viewer.is_admin:
        raise PermissionDeniedException("admins only")


def embed_snippet(runtime: Runtime, token: str) -> str:
    return f'<script src="{runtime.settings.public_url}/widget.js?inbox={token}" async></script>'


class AdminInboxesController(Controller):
    include_in_schema = False

    @get("/admin")
    async def admin_home(self, ui_viewer: NamedDependency[Viewer]) -> Redirect:
        require_admin(ui_viewer)
        return Redirect("/admin/inboxes", status_code=303)

    @get("/admin/inboxes")
    async def inboxes(
        self, runtime: NamedDependency[Runtime], ui_viewer: NamedDependency[Viewer]
    ) -> Template:
        require_admin(ui_viewer)
        return await self._list(runtime, ui_viewer)

    @post("/admin/inboxes", status_code=200)
    async def connect(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        data: Form,
    ) -> Template:
        """Create the inbox and show its webhook URL and token (the token only this once)."""
        require_admin(ui_viewer)
        kind, name = data.get("kind", ""), data.get("name", "")
        try:
            config = _prepared(runtime, kind, config_from_form(kind, data))
            inbox = await agents.create_inbox(runtime.db, kind, name, config)
        except (Invalid, Conflict) as exc:
            error = translate_error(request, exc)
            return await self._list(runtime, ui_viewer, error=error, form=data, status=400)
        url = webhook_url(runtime.settings, inbox.kind, inbox.id or 0, inbox.token)
        context = {
            "viewer": ui_viewer,
            "inbox": inbox,
            "webhook_url": url,
            "signature": signature_state(inbox.kind, inbox.config),
            "snippet": embed_snippet(runtime, inbox.token) if kind == "webchat" else None,
            "registration": await _register(runtime, inbox, url),
        }
        return Template("admin/inbox_created.html", context=context)

    @get("/admin/inboxes/{inbox_id:int}")
    async def inbox_page(
        self,
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        inbox_id: FromPath[int],
    ) -> Template:
        require_admin(ui_viewer)
        return await self._detail(runtime, ui_viewer, inbox_id)

    @post("/admin/inboxes/{inbox_id:int}", status_code=303)
    async def edit(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        inbox_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        """Change the name and config; secrets left empty stay as they are."""
        require_admin(ui_viewer)
        inbox = await _inbox(runtime, inbox_id)
        try:
            config = _prepared(
                runtime, inbox.kind, config_from_form(inbox.kind, data, inbox.config)
            )
            await update_inbox(runtime.db, inbox_id, data.get("name", ""), config)
        except (Invalid, Conflict) as exc:
            error = translate_error(request, exc)
            return await self._detail(runtime, ui_viewer, inbox_id, error=error, status=400)
        return Redirect(f"/admin/inboxes/{inbox_id}?saved=1", status_code=303)

    @post("/admin/inboxes/{inbox_id:int}/members", status_code=303)
    async def members(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        inbox_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        """Add (`add=<agent id>`) or remove (`remove=<agent id>`) a member."""
        require_admin(ui_viewer)
        await _inbox(runtime, inbox_id)
        try:
            await change_membership(runtime, inbox_id, data)
        except (Invalid, NotFound) as exc:
            error = translate_error(request, exc)
            return await self._detail(runtime, ui_viewer, inbox_id, error=error, status=400)
        return Redirect(f"/admin/inboxes/{inbox_id}", status_code=303)

    async def _list(
        self,
        runtime: Runtime,
        viewer: Viewer,
        *,
        error: str | None = None,
        form: dict[str, str] | None = None,
        status: int = 200,
    ) -> Template:
        async with runtime.db.read() as session:
            rows = await inbox_rows(session)
        context = {
            "viewer": viewer,
            "rows": [_row(runtime, row) for row in rows],
            "kinds": {kind: fields_of(kind) for kind in KINDS},
            "error": error,
            "form": {k: v for k, v in (form or {}).items() if not _is_secret(form, k)},
        }
        return Template("admin/inboxes.html", context=context, status_code=status)

    async def _detail(
        self,
        runtime: Runtime,
        viewer: Viewer,
        inbox_id: int,
        *,
        error: str | None = None,
        status: int = 200,
    ) -> Template:
        inbox = await _inbox(runtime, inbox_id)
        async with runtime.db.read() as session:
            row = next(r for r in await inbox_rows(session) if r.inbox.id == inbox_id)
            people = await agents.list_agents(session)
        fields = [(f, shown_value(f, inbox.config)) for f in fields_of(inbox.kind)]
        context = {
            "viewer": viewer,
            "row": _row(runtime, row),
            "inbox": inbox,
            "fields": fields,
            "members": [a for a in people if a.id in row.member_ids],
            "others": [a for a in people if a.id not in row.member_ids],
            "snippet": embed_snippet(runtime, inbox.token) if inbox.kind == "webchat" else None,
            "error": error,
        }
        return Template("admin/inbox.html", context=context, status_code=status)


async def change_membership(runtime: Runtime, inbox_id: int, data: dict[str, str]) -> None:
    """`add` or `remove` one agent (by id) to or from an inbox."""
    if data.get("add"):
        agent = await _agent(runtime, data["add"])
        await agents.add_member(runtime.db, agent.email, inbox_id, announce=True)
        return
    if data.get("remove"):
        agent = await _agent(runtime, data["remove"])
        await agents.remove_member(runtime.db, agent.email, inbox_id)
        return
    raise Invalid("choose an agent")


async def _agent(runtime: Runtime, raw: str) -> Agent:
    if not raw.isdigit() or len(raw) > 9:
        raise Invalid("choose an agent")
    async with runtime.db.read() as session:
        agent = await session.get(Agent, int(raw))
    if agent is None:
        raise NotFound("no such agent")
    return agent


async def _inbox(runtime: Runtime, inbox_id: int) -> Inbox:
    async with runtime.db.read() as session:
        inbox = await session.get(Inbox, inbox_id)
    if inbox is None:
        raise NotFound("inbox not found")
    return inbox


def _prepared(runtime: Runtime, kind: str, config: dict[str, Any]) -> dict[str, Any]:
    # The channel checks its keys and fills generated secrets, as `inbox create-inbox` does.
    prepare = getattr(runtime.connector(kind), "prepare_config", None)
    return prepare(config) if prepare is not None else config


async def _register(runtime: Runtime, inbox: Inbox, url: str) -> str | None:
    """Channels that can (Telegram) point the provider at the new webhook; what went wrong."""
    register = getattr(runtime.connector(inbox.kind), "register", None)
    if register is None:
        return None
    channel = ChannelInbox(inbox.id or 0, inbox.kind, inbox.name, dict(inbox.config), inbox.token)
    try:
        await register(channel, url)
    except Invalid as exc:
        return str(exc)
    return None


def _row(runtime: Runtime, row: InboxRow) -> dict[str, Any]:
    inbox = row.inbox
    return {
        "id": inbox.id,
        "kind": inbox.kind,
        "name": inbox.name,
        "members": len(row.member_ids),
        # A webchat inbox's URL carries its token, which is public anyway (it is in the page).
        "webhook_url": webhook_url(runtime.settings, inbox.kind, inbox.id or 0, inbox.token),
        "signature": signature_state(inbox.kind, inbox.config),
    }


def _is_secret(form: dict[str, str] | None, key: str) -> bool:
    kind = (form or {}).get("kind", "")
    return kind in KINDS and any(f.key == key and f.secret for f in fields_of(kind))
