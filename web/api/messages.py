"""Messages by id: send a failed outbound message again."""

from __future__ import annotations

from typing import Any

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from inbox.access import Viewer
from inbox.triage import retry_message
from web.runtime import Runtime


class MessagesController(Controller):
    path = "/api/v1/messages"
    tags = ["messages"]

    @post("/{message_id:int}/retry", status_code=200)
    async def retry(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        message_id: FromPath[int],
    ) -> dict[str, Any]:
        """Queue a failed reply on the outbox again; 400 with the reason when it cannot be."""
        return await retry_message(runtime.db, viewer, message_id)
