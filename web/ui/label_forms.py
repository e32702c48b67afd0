"""The conversation panel's label control: add a label, take one off (plain forms), and the
panel's partial that open pages re-render when another tab changes the labels."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from inbox import queries
from inbox.access import Viewer
from inbox.labels import add_label, remove_label
from web.runtime import Runtime

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


class LabelFormsController(Controller):
    path = "/conversations/{conversation_id:int}/labels"
    include_in_schema = False

    @get("/")
    async def panel(
        self,
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        conversation_id: FromPath[int],
    ) -> Template:
        """The panel's label section, as the page first rendered it."""
        async with runtime.db.read() as session:
            conversation = await queries.conversation_detail(session, ui_viewer, conversation_id)
        return Template("_labels_panel.html", context={"conversation": conversation})

    @post("/", status_code=303)
    async def add(
        self,
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        conversation_id: FromPath[int],
        data: Form,
    ) -> Redirect:
        """Put the typed label on the conversation (created on first use)."""
        await add_label(runtime.db, ui_viewer, conversation_id, data.get("label", ""))
        return Redirect(f"/conversations/{conversation_id}", status_code=303)

    @post("/remove", status_code=303)
    async def remove(
        self,
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        conversation_id: FromPath[int],
        data: Form,
    ) -> Redirect:
        """Take a label off the conversation."""
        await remove_label(runtime.db, ui_viewer, conversation_id, data.get("label", ""))
        return Redirect(f"/conversations/{conversation_id}", status_code=303)
