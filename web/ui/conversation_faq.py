"""The FAQ in the conversation page: reply-box suggestions and marking a bot answer wrong
(the session twins of `GET /api/v1/conversations/{id}/faq-suggestions` and
`POST /api/v1/faq/answers/{id}/wrong`, for a page that holds no bearer token)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from inbox.access import Viewer
from inbox.faq import answers
from inbox.faq.index import knowledge_base
from web.runtime import Runtime


class ConversationFaqController(Controller):
    path = "/conversations/{conversation_id:int}"
    include_in_schema = False

    @get("/faq-suggestions", media_type="application/json")
    async def suggestions(
        self,
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        conversation_id: FromPath[int],
        limit: FromQuery[int] = 3,
    ) -> dict[str, Any]:
        """The top FAQ matches for the conversation's latest customer message."""
        async with runtime.db.read() as session:
            return await answers.suggestions(
                session, ui_viewer, conversation_id, knowledge_base(runtime.db.url), limit
            )

    @post("/faq-answers/{message_id:int}/wrong", status_code=303)
    async def mark_wrong(
        self,
        runtime: NamedDependency[Runtime],
        ui_viewer: NamedDependency[Viewer],
        conversation_id: FromPath[int],
        message_id: FromPath[int],
    ) -> Redirect:
        """An agent marks a bot answer in the timeline wrong (it counts in the report)."""
        await answers.mark_wrong(runtime.db, ui_viewer, message_id)
        return Redirect(f"/conversations/{conversation_id}#m{message_id}", status_code=303)
