"""Canned replies over REST: shared ones (admins write them) and each agent's personal ones."""

from __future__ import annotations

from typing import Any

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from inbox import canned
from inbox.access import Viewer
from inbox.reply_variables import fill, reply_values
from web.errors import forbidden
from web.runtime import Runtime


class CannedRepliesController(Controller):
    path = "/api/v1/canned-replies"
    tags = ["canned-replies"]
    exception_handlers = {canned.NotAllowed: forbidden}

    @get("/")
    async def list_replies(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        q: FromQuery[str] = "",
        conversation_id: FromQuery[int | None] = None,
    ) -> dict[str, Any]:
        """Shared replies and the caller's own whose shortcut starts with `q`; with
        `conversation_id`, each also carries `filled`: the body with its variables filled."""
        async with runtime.db.read() as session:
            replies = await canned.list_replies(session, viewer, q)
            values = (
                await reply_values(session, viewer, conversation_id)
                if conversation_id is not None
                else None
            )
        items = [canned.canned_object(r) for r in replies]
        if values is not None:
            for item in items:
                item["filled"] = fill(item["body"], values)
        return {"items": items, "next": None}

    @post("/", status_code=201)
    async def create_reply(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        data: JSONBody[Any],
    ) -> dict[str, Any]:
        """`{"shortcut", "title", "body", "shared": false}`; shared ones need an admin."""
        return await canned.create_reply(runtime.db, viewer, data)

    @get("/{reply_id:int}")
    async def get_reply(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        reply_id: FromPath[int],
    ) -> dict[str, Any]:
        async with runtime.db.read() as session:
            return canned.canned_object(await canned.get_reply(session, viewer, reply_id))

    @patch("/{reply_id:int}")
    async def update_reply(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        reply_id: FromPath[int],
        data: JSONBody[Any],
    ) -> dict[str, Any]:
        """Change the fields given (shared: admins; personal: the owner)."""
        return await canned.update_reply(runtime.db, viewer, reply_id, data)

    @delete("/{reply_id:int}", status_code=204)
    async def delete_reply(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        reply_id: FromPath[int],
    ) -> None:
        await canned.delete_reply(runtime.db, viewer, reply_id)
