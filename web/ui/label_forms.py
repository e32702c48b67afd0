"""The conversation panel's label control: add a label, take one off (plain forms)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect

from inbox.access import Viewer
from inbox.labels import add_label, remove_label
from web.runtime import Runtime

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


class LabelFormsController(Controller):
    path = "/conversations/{conversation_id:int}/labels"
    include_in_schema = False

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
