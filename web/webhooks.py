"""One path for every provider: inbox → connector.verify → parse → ingest → acknowledge."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from connectors.base import RawRequest
from inbox.ingest import ingest
from web.runtime import Runtime


async def receive(
    runtime: Runtime, request: Request[Any, Any, Any], inbox_id: int, kind: str
) -> Response[Any]:
    """Verify, parse and ingest a provider's request; answer only after the commit."""
    inbox = await runtime.inbox(inbox_id, kind)
    connector = runtime.connectors[kind]
    body = await request.body()
    query = request.url.query
    raw = RawRequest(
        method=request.method,
        # Behind a proxy the request's own URL is wrong; providers sign the public one.
        url=runtime.settings.public_url + request.url.path + (f"?{query}" if query else ""),
        headers={k.lower(): v for k, v in request.headers.items()},
        query=dict(request.query_params),
        body=body,
    )
    connector.verify(inbox, raw)
    results = []
    for message in connector.parse(inbox, raw):
        result = await ingest(runtime.db, message, runtime.settings)
        results.append(result.as_dict())
    reply = connector.acknowledge(results)
    return Response(
        reply.body, status_code=reply.status, media_type=reply.media_type, headers=reply.headers
    )


class ApiChannelController(Controller):
    """The generic API channel (inbox token auth)."""

    path = "/api/v1/inboxes"
    tags = ["api channel"]

    @post("/{inbox_id:int}/messages", status_code=201)
    async def post_message(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        inbox_id: FromPath[int],
    ) -> Response[Any]:
        """Post a customer's message; answers message, conversation and customer ids."""
        return await receive(runtime, request, inbox_id, "api")
