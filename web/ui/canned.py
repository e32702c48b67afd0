"""Canned replies in the browser: the admin page for shared ones, and the reply box's picker
(`/` and a shortcut), which gets each body with the conversation's variables filled."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
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
from web.ui.pages import Form


class CannedPagesController(Controller):
    include_in_schema = False
    exception_handlers = {canned.NotAllowed: forbidden}

    @get("/admin/canned-replies")
    async def page(
        self, runtime: NamedDependency[Runtime], ui_viewer: NamedDependency[Viewer]
    ) -> Template:
        require_admin(ui_viewer)
        return await _page(runtime, ui_viewer)

    @post("/admin/canned-replies", status_code=303)
    async def create(
        self, runtime: NamedDependency[Runtime], ui_viewer: NamedDependency[Viewer], data: Form
    ) -> Template | Redirect:
        """A new shared reply."""
        require_admin(ui_viewer)
        try:
            await canned.create_reply(runtime.db, ui_viewer, {**_fields(data), "shared": True})
        except (Invalid, Conflict) as exc:
            return await _page(runtime, ui_viewer, error=str(exc), form=_fields(data))
        return Redirect("/admin/canned-replies", status_code=303)

    @post("/admin/canned-replies/{reply_id:int}", status_code=303)
    async def change(
        self,
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        reply_id: FromPath[int],
        data: Form,
    ) -> Template | Redirect:
        """Save (`action=save`) or delete (`action=delete`) a shared reply."""
        require_admin(ui_viewer)
        try:
            if data.get("action") == "delete":
                await canned.delete_reply(runtime.db, ui_viewer, reply_id)
            else:
                await canned.update_reply(runtime.db, ui_viewer, reply_id, _fields(data))
        except (Invalid, Conflict) as exc:
            return await _page(runtime, ui_viewer, error=str(exc), editing=reply_id)
        return Redirect("/admin/canned-replies", status_code=303)

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


def _fields(data: dict[str, str]) -> dict[str, str]:
    return {k: data.get(k, "") for k in ("shortcut", "title", "body")}


async def _page(
    runtime: Runtime,
    viewer: Viewer,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    editing: int | None = None,
) -> Template:
    async with runtime.db.read() as session:
        replies = await canned.list_replies(session, viewer, shared_only=True)
    context = {
        "viewer": viewer,
        "replies": replies,
        "variables": NAMES,
        "error": error,
        "form": form or {},
        "editing": editing,
    }
    return Template("admin/canned.html", context=context, status_code=400 if error else 200)
