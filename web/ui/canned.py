"""Canned replies in the browser: the admin page for shared ones, each agent's page for their
own, and the reply box's picker (`/` and a shortcut), which gets each body with the
conversation's variables filled."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from inbox import canned
from inbox.access import Viewer
from inbox.errors import Conflict, Invalid
from inbox.reply_variables import NAMES, fill, reply_values
from web.errors import forbidden
from web.runtime import Runtime
from web.ui.admin_inboxes import require_admin
from web.ui.language import translate_error
from web.ui.pages import Form

SHARED, MINE = "/admin/canned-replies", "/canned-replies"


class CannedPagesController(Controller):
    include_in_schema = False
    exception_handlers = {canned.NotAllowed: forbidden}

    @get(SHARED)
    async def shared_page(
        self, runtime: NamedDependency[Runtime], ui_viewer: NamedDependency[Viewer]
    ) -> Template:
        require_admin(ui_viewer)
        return await _page(runtime, ui_viewer, mine=False)

    @post(SHARED, status_code=303)
    async def create_shared(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        data: Form,
    ) -> Template | Redirect:
        """A new shared reply."""
        require_admin(ui_viewer)
        return await _create(request, runtime, ui_viewer, data, mine=False)

    @post(SHARED + "/{reply_id:int}", status_code=303)
    async def change_shared(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        reply_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        """Save (`action=save`) or delete (`action=delete`) a shared reply."""
        require_admin(ui_viewer)
        return await _change(request, runtime, ui_viewer, reply_id, data, mine=False)

    @get(MINE)
    async def my_page(
        self, runtime: NamedDependency[Runtime], ui_viewer: NamedDependency[Viewer]
    ) -> Template:
        """Any agent's own replies (only they see and use them)."""
        return await _page(runtime, ui_viewer, mine=True)

    @post(MINE, status_code=303)
    async def create_mine(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        data: Form,
    ) -> Template | Redirect:
        return await _create(request, runtime, ui_viewer, data, mine=True)

    @post(MINE + "/{reply_id:int}", status_code=303)
    async def change_mine(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        reply_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        await _own(runtime, ui_viewer, reply_id)
        return await _change(request, runtime, ui_viewer, reply_id, data, mine=True)

    @get("/conversations/{conversation_id:int}/canned-replies", media_type="application/json")
    async def picker(
        self,
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        conversation_id: FromPath[int],
        q: FromQuery[str] = "",
    ) -> dict[str, Any]:
        """The reply box's picker: matching replies, each body filled for this conversation."""
        async with runtime.db.read() as session:
            values = await reply_values(session, ui_viewer, conversation_id)
            replies = await canned.list_replies(session, ui_viewer, q)
        return {
            "items": [
                {"shortcut": r.shortcut, "title": r.title, "text": fill(r.body, values)}
                for r in replies
            ]
        }


async def _create(
    request: Request[Any, Any, Any],
    runtime: Runtime,
    viewer: Viewer,
    data: dict[str, str],
    *,
    mine: bool,
) -> Template | Redirect:
    try:
        await canned.create_reply(runtime.db, viewer, {**_fields(data), "shared": not mine})
    except (Invalid, Conflict) as exc:
        error = translate_error(request, exc)
        return await _page(runtime, viewer, mine=mine, error=error, form=_fields(data))
    return Redirect(MINE if mine else SHARED, status_code=303)


async def _change(
    request: Request[Any, Any, Any],
    runtime: Runtime,
    viewer: Viewer,
    reply_id: int,
    data: dict[str, str],
    *,
    mine: bool,
) -> Template | Redirect:
    try:
        if data.get("action") == "delete":
            await canned.delete_reply(runtime.db, viewer, reply_id)
        else:
            await canned.update_reply(runtime.db, viewer, reply_id, _fields(data))
    except (Invalid, Conflict) as exc:
        return await _page(runtime, viewer, mine=mine, error=translate_error(request, exc))
    return Redirect(MINE if mine else SHARED, status_code=303)


async def _own(runtime: Runtime, viewer: Viewer, reply_id: int) -> None:
    # The personal page never touches shared replies, even for an admin.
    async with runtime.db.read() as session:
        reply = await canned.get_reply(session, viewer, reply_id)
    if reply.owner_id is None:
        raise canned.NotAllowed("shared replies are changed on the admin page")


def _fields(data: dict[str, str]) -> dict[str, str]:
    return {k: data.get(k, "") for k in ("shortcut", "title", "body")}


async def _page(
    runtime: Runtime,
    viewer: Viewer,
    *,
    mine: bool,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Template:
    async with runtime.db.read() as session:
        replies = await canned.list_replies(session, viewer, scope="mine" if mine else "shared")
    context = {
        "viewer": viewer,
        "replies": replies,
        "variables": NAMES,
        "mine": mine,
        "base": MINE if mine else SHARED,
        "error": error,
        "form": form or {},
    }
    return Template("admin/canned.html", context=context, status_code=400 if error else 200)
