"""One path for every provider: inbox → connector.verify → parse → ingest → acknowledge."""

from __future__ import annotations

import inspect
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import MethodNotAllowedException
from litestar.params import FromPath

from connectors.base import DeliveryUpdate, MessageEdit, RawRequest
from inbox.edits import record_edit
from inbox.errors import NotFound, TooLarge
from inbox.ingest import ingest
from inbox.outbox import record_delivery_status
from web.runtime import Runtime


async def _body(request: Request[Any, Any, Any], limit: int) -> bytes:
    # Read at most `limit` bytes: each channel has its own cap (raw MIME is far larger than JSON).
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"request body is larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _raw(
    runtime: Runtime, request: Request[Any, Any, Any], kind: str, action: str
) -> RawRequest:
    limit = getattr(runtime.connector(kind), "max_body", None)
    query = request.url.query
    return RawRequest(
        method=request.method,
        # Behind a proxy the request's own URL is wrong; providers sign the public one.
        url=runtime.settings.public_url + request.url.path + (f"?{query}" if query else ""),
        headers={k.lower(): v for k, v in request.headers.items()},
        query=dict(request.query_params),
        body=await _body(request, limit or runtime.settings.limits.json_body),
        action=action,
    )


async def receive(
    runtime: Runtime, request: Request[Any, Any, Any], inbox_id: int, kind: str, action: str = ""
) -> Response[Any]:
    """Verify, parse and ingest a provider's request; answer only after the commit."""
    inbox = await runtime.inbox(inbox_id, kind)
    connector = runtime.connector(kind)
    raw = await _raw(runtime, request, kind, action)
    connector.verify(inbox, raw)
    results: list[dict[str, Any]] = []
    parsed = connector.parse(inbox, raw)
    if inspect.isawaitable(parsed):
        parsed = await parsed  # connectors that download media parse asynchronously
    for item in parsed:
        if isinstance(item, DeliveryUpdate):
            changed = await record_delivery_status(
                runtime.db, inbox.id, item.external_id, item.status, item.error
            )
            results.append({"external_id": item.external_id, "updated": changed})
        elif isinstance(item, MessageEdit):
            limit = runtime.settings.limits.message_text
            changed = await record_edit(runtime.db, inbox.id, item, limit)
            results.append({"external_id": item.external_id, "edited": changed})
        else:
            result = await ingest(runtime.db, item, runtime.settings)
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


class WebhookController(Controller):
    """`/webhooks/{kind}/{inbox_id}[/{action}]` for every provider channel."""

    path = "/webhooks"
    tags = ["webhooks"]

    @post("/{kind:str}/{inbox_id:int}", status_code=200, request_max_body_size=None)
    async def deliver(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        kind: FromPath[str],
        inbox_id: FromPath[int],
    ) -> Response[Any]:
        """A provider delivers messages or delivery reports."""
        return await receive(runtime, request, inbox_id, _provider(kind))

    @post("/{kind:str}/{inbox_id:int}/{action:str}", status_code=200, request_max_body_size=None)
    async def deliver_action(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        kind: FromPath[str],
        inbox_id: FromPath[int],
        action: FromPath[str],
    ) -> Response[Any]:
        """A provider's secondary callback, e.g. Twilio's `/status`."""
        return await receive(runtime, request, inbox_id, _provider(kind), action)

    @get("/{kind:str}/{inbox_id:int}", status_code=200)
    async def handshake(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        kind: FromPath[str],
        inbox_id: FromPath[int],
    ) -> Response[Any]:
        """A provider's verification handshake (WhatsApp's hub.challenge)."""
        inbox = await runtime.inbox(inbox_id, _provider(kind))
        connector = runtime.connector(inbox.kind)
        answer = getattr(connector, "handshake", None)
        if answer is None:
            raise MethodNotAllowedException("this channel has no verification handshake")
        reply = answer(inbox, await _raw(runtime, request, inbox.kind, ""))
        return Response(
            reply.body, status_code=reply.status, media_type=reply.media_type, headers=reply.headers
        )


def _provider(kind: str) -> str:
    # The API channel has its own token-authenticated path; webhooks are for providers.
    if kind == "api":
        raise NotFound("no such webhook")
    return kind
