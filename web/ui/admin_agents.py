"""`/admin/agents`: invite agents, change roles, deactivate, reset passwords, inbox membership.
Admins only."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from inbox import agents
from inbox.access import Viewer
from inbox.errors import Conflict, Invalid, NotFound
from inbox.inboxes import agent_inbox_ids, inbox_rows
from inbox.models import Agent, Role
from web.runtime import Runtime
from web.ui.admin_inboxes import change_membership, require_admin
from web.ui.language import translate_error
from web.ui.pages import Form


class AdminAgentsController(Controller):
    path = "/admin/agents"
    include_in_schema = False

    @get("/")
    async def agents_page(
        self, runtime: NamedDependency[Runtime], ui_viewer: NamedDependency[Viewer]
    ) -> Template:
        require_admin(ui_viewer)
        return await self._list(runtime, ui_viewer)

    @post("/", status_code=303)
    async def invite(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        data: Form,
    ) -> Template | Redirect:
        """Create an agent with an initial password (they change it later)."""
        require_admin(ui_viewer)
        role = data.get("role", "agent")
        try:
            if role not in Role.__members__:
                raise Invalid("role must be admin or agent")
            issued = await agents.create_agent(
                runtime.db,
                data.get("email", ""),
                data.get("name", ""),
                data.get("password", ""),
                admin=role == Role.admin,
            )
        except (Invalid, Conflict) as exc:
            form = {k: data.get(k, "") for k in ("email", "name", "role")}
            error = translate_error(request, exc)
            return await self._list(runtime, ui_viewer, error=error, form=form, status=400)
        return Redirect(f"/admin/agents/{issued.id}", status_code=303)

    @get("/{agent_id:int}")
    async def agent_page(
        self,
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        agent_id: FromPath[int],
    ) -> Template:
        require_admin(ui_viewer)
        return await self._detail(runtime, ui_viewer, agent_id)

    @post("/{agent_id:int}/{change:str}", status_code=303)
    async def change(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        agent_id: FromPath[int],
        change: FromPath[str],
        data: Form,
    ) -> Template | Redirect:
        """One change: `role`, `active`, `password` or `inboxes` (add/remove membership)."""
        require_admin(ui_viewer)
        agent = await _agent(runtime, agent_id)
        try:
            if change == "role":
                await agents.set_role(runtime.db, agent_id, data.get("role", ""))
            elif change == "active":
                if data.get("active") not in ("0", "1"):
                    raise Invalid("active must be 0 or 1")
                await agents.set_active(runtime.db, agent_id, data["active"] == "1")
            elif change == "password":
                await agents.set_password(runtime.db, agent.email, data.get("password", ""))
            elif change == "inboxes":
                await _membership(runtime, agent, data)
            else:
                raise NotFound("no such change")
        except (Invalid, Conflict) as exc:
            status = 409 if isinstance(exc, Conflict) else 400
            error = translate_error(request, exc)
            return await self._detail(runtime, ui_viewer, agent_id, error=error, status=status)
        return Redirect(f"/admin/agents/{agent_id}?saved={change}", status_code=303)

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
            people = await agents.list_agents(session)
            memberships = await agent_inbox_ids(session)
            inboxes = {row.inbox.id: row.inbox for row in await inbox_rows(session)}
        rows = [
            (a, [inboxes[i] for i in sorted(memberships.get(a.id or 0, ())) if i in inboxes])
            for a in people
        ]
        context = {"viewer": viewer, "rows": rows, "error": error, "form": form or {}}
        return Template("admin/agents.html", context=context, status_code=status)

    async def _detail(
        self,
        runtime: Runtime,
        viewer: Viewer,
        agent_id: int,
        *,
        error: str | None = None,
        status: int = 200,
    ) -> Template:
        agent = await _agent(runtime, agent_id)
        async with runtime.db.read() as session:
            mine = (await agent_inbox_ids(session)).get(agent_id, set())
            inboxes = [row.inbox for row in await inbox_rows(session)]
        context = {
            "viewer": viewer,
            "agent": agent,
            "member_of": [i for i in inboxes if i.id in mine],
            "others": [i for i in inboxes if i.id not in mine],
            "error": error,
        }
        return Template("admin/agent.html", context=context, status_code=status)


async def _membership(runtime: Runtime, agent: Agent, data: dict[str, str]) -> None:
    """`add=<inbox id>` or `remove=<inbox id>` for this agent."""
    for verb in ("add", "remove"):
        raw = data.get(verb, "")
        if raw:
            if not raw.isdigit() or len(raw) > 9:
                raise Invalid("choose an inbox")
            await change_membership(runtime, int(raw), {verb: str(agent.id)})
            return
    raise Invalid("choose an inbox")


async def _agent(runtime: Runtime, agent_id: int) -> Agent:
    async with runtime.db.read() as session:
        agent = await session.get(Agent, agent_id)
    if agent is None:
        raise NotFound("agent not found")
    return agent
