"""`create_app(settings)`: the composition root of the web process."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, MediaType, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.openapi import OpenAPIConfig
from sqlalchemy import text

from inbox.errors import NotFound
from inbox.settings import Settings
from web.api.conversations import ConversationsController
from web.api.customers import CustomersController
from web.api.stream import SearchController
from web.auth import provide_viewer
from web.errors import HANDLERS
from web.live import Fanout, agent_socket
from web.runtime import Runtime
from web.webhooks import ApiChannelController

MAX_ID = 2**63 - 1


@get("/health", media_type=MediaType.JSON, tags=["health"])
async def health(runtime: NamedDependency[Runtime]) -> dict[str, str]:
    """Answers once the database answers (for load balancers)."""
    async with runtime.db.read() as session:
        await session.execute(text("SELECT 1"))
    return {"status": "ok"}


def create_app(settings: Settings | None = None, *, dispatch: bool = True) -> Litestar:
    """Build the app; tests pass their own settings."""
    settings = settings or Settings.from_env()
    settings.check()
    runtime = Runtime(settings, dispatch=dispatch)
    fanout = Fanout()

    async def start() -> None:
        await runtime.start()
        runtime.start_task(fanout.run(runtime))

    async def stop() -> None:
        await runtime.stop()

    def provide_runtime() -> Runtime:
        return runtime

    return Litestar(
        route_handlers=[
            health,
            ApiChannelController,
            ConversationsController,
            CustomersController,
            SearchController,
            agent_socket,
        ],
        dependencies={
            "runtime": Provide(provide_runtime, sync_to_thread=False),
            "viewer": Provide(provide_viewer),
        },
        exception_handlers=HANDLERS,
        before_request=_refuse_huge_ids,
        on_startup=[start],
        on_shutdown=[stop],
        request_max_body_size=settings.limits.json_body,
        openapi_config=OpenAPIConfig(title="Omnichannel inbox API", version="1", path="/schema"),
        state=State({"runtime": runtime, "fanout": fanout}),
        debug=False,
    )


async def _refuse_huge_ids(request: Any) -> None:
    """An id past 64 bits cannot exist; say 404 before a database overflows on it."""
    for value in request.path_params.values():
        if isinstance(value, int) and not 0 < value <= MAX_ID:
            raise NotFound("not found")
    return None
