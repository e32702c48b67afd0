"""Labels over REST: the labels an agent can see, and labelling a conversation."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from inbox.access import Viewer
from inbox.labels import add_label, remove_label
from inbox.listing import visible_labels
from web.runtime import Runtime


class NewLabel(msgspec.Struct, forbid_unknown_fields=True):
    label: str


class LabelsController(Controller):
    path = "/api/v1"
    tags = ["labels"]

    @get("/labels")
    async def list_labels(
        self, runtime: NamedDependency[Runtime], viewer: NamedDependency[Viewer]
    ) -> dict[str, Any]:
        """Label names on conversations the agent can see, alphabetically."""
        async with runtime.db.read() as session:
            names = await visible_labels(session, viewer)
        return {"items": [{"name": n} for n in names], "next": None}

    @post("/conversations/{conversation_id:int}/labels", status_code=200)
    async def add(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        conversation_id: FromPath[int],
        data: JSONBody[NewLabel],
    ) -> dict[str, Any]:
        """Label the conversation (the name is normalised; created on first use)."""
        return await add_label(runtime.db, viewer, conversation_id, data.label)

    @delete("/conversations/{conversation_id:int}/labels/{name:str}", status_code=200)
    async def remove(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        conversation_id: FromPath[int],
        name: FromPath[str],
    ) -> dict[str, Any]:
        """Take a label off the conversation; answers the conversation with its labels."""
        return await remove_label(runtime.db, viewer, conversation_id, name)
