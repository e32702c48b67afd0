"""The website chat widget's public endpoints: its script, its websocket, its polling fallback.

Everything is addressed by the inbox's public widget token; the visitor reads only the
conversation they wrote in (see inbox.webchat), and writes through `inbox.ingest.ingest`.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from litestar import Controller, Request, Response, WebSocket, get, post, websocket
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, WebSocketDisconnect
from litestar.params import FromPath

from connectors.base import ChannelInbox, SignatureError
from connectors.payload import json_object
from connectors.webchat import MAX_TEXT, Visitor, WebchatConnector, WidgetSocket
from inbox.access import Viewer
from inbox.errors import Invalid, NotFound, TooLarge
from inbox.ingest import ingest
from inbox.queries import visible_conversation
from inbox.settings import Limits
from inbox.webchat import (
    mark_read,
    visitor_conversation,
    visitor_messages,
    webchat_inbox,
    widget_message,
)
from web.runtime import Runtime
from web.widget_throttle import WidgetThrottle

SCRIPT = Path(__file__).parent / "ui" / "static" / "widget.js"
MAX_BODY = 4 * MAX_TEXT + 2048  # a full message in JSON escapes, plus the identity fields
Params = dict[str, Any]
CATCH_UP_SECONDS = 2.0
READ_RETRIES = 25


def _connector(runtime: Runtime) -> WebchatConnector:
    found = runtime.connector("webchat")
    assert isinstance(found, WebchatConnector)
    return found


async def _inbox(runtime: Runtime, token: str | None) -> ChannelInbox:
    async with runtime.db.read() as session:
        return await webchat_inbox(session, token or "")


def _cors(origin: str | None) -> dict[str, str]:
    # Origins were checked already; answering with the caller's own lets its page read us.
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"} if origin else {}


async def post_visitor_message(
    runtime: Runtime,
    throttle: WidgetThrottle,
    inbox: ChannelInbox,
    visitor: Visitor,
    data: Params,
    address: str,
) -> dict[str, Any]:
    """Rate-limit, ingest and announce a visitor's message to their other open widgets."""
    connector = _connector(runtime)
    inbound = connector.inbound(inbox, visitor, data)
    await throttle.message(inbox.token, address, visitor.visitor_id)
    async with runtime.db.read() as session:
        current = await visitor_conversation(session, inbox.id, visitor.prefixes)
    if current is None:
        await throttle.new_conversation(inbox.token, address)
    result = await ingest(runtime.db, inbound, runtime.settings)
    connector.hub.join(visitor, result.conversation_id)
    if not result.duplicate:
        echo = widget_message(
            result.message_id, "in", "customer", inbound.text, datetime.now(UTC).isoformat()
        )
        connector.hub.publish(
            result.conversation_id,
            {"type": "message", "conversation_id": result.conversation_id, "message": echo},
        )
    return {"id": data.get("id"), **result.as_dict()}


async def conversation_page(
    runtime: Runtime, inbox: ChannelInbox, visitor: Visitor, since: int
) -> dict[str, Any]:
    """The visitor's current conversation's messages after `since` (a message id)."""
    async with runtime.db.read() as session:
        current = await visitor_conversation(session, inbox.id, visitor.prefixes)
        messages = (
            [] if current is None else await visitor_messages(session, inbox.id, current, since)
        )
    cursor = messages[-1]["id"] if messages else since
    return {"conversation_id": current, "messages": messages, "cursor": cursor}


def _since(raw: str | None) -> int:
    if raw in (None, ""):
        return 0
    if not raw.isdigit() or len(raw) > 18:
        raise Invalid("since must be a message id")
    return int(raw)


class WidgetController(Controller):
    """`/widget.js` and the widget's HTTP endpoints (the fallback when websockets are blocked)."""

    tags = ["chat widget"]

    @get("/widget.js", media_type="application/javascript; charset=utf-8")
    async def script(
        self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]
    ) -> Response[bytes]:
        """The widget's script for one inbox (`<script src=".../widget.js?inbox=TOKEN">`)."""
        await _inbox(runtime, request.query_params.get("inbox"))
        return Response(
            SCRIPT.read_bytes(),
            media_type="application/javascript; charset=utf-8",
            headers={
                "Cache-Control": "public, max-age=300",
                "Cross-Origin-Resource-Policy": "cross-origin",
            },
        )

    @get("/widget/config")
    async def config(
        self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]
    ) -> Response[Any]:
        """Inbox name, business hours state and which forms to show."""
        inbox = await _inbox(runtime, request.query_params.get("inbox"))
        origin = request.headers.get("origin")
        _connector(runtime).check_origin(inbox, origin)
        return Response(_connector(runtime).widget_config(inbox), headers=_cors(origin))

    @post("/widget/messages", status_code=201, request_max_body_size=MAX_BODY)
    async def post_message(
        self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]
    ) -> Response[Any]:
        """A visitor's message (JSON, sent as text/plain so browsers need no preflight)."""
        inbox = await _inbox(runtime, request.query_params.get("inbox"))
        origin = request.headers.get("origin")
        connector = _connector(runtime)
        connector.check_origin(inbox, origin)
        data = _json(await request.body())
        visitor = connector.visitor(inbox, data)
        address = request.client.host if request.client else "unknown"
        throttle = request.app.state.widget_throttle
        answer = await post_visitor_message(runtime, throttle, inbox, visitor, data, address)
        status = 200 if answer["duplicate"] else 201
        return Response(answer, status_code=status, headers=_cors(origin))

    @get("/widget/messages")
    async def messages(
        self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]
    ) -> Response[Any]:
        """The visitor's conversation after `since`; `cursor` is the next `since`."""
        params = dict(request.query_params)
        inbox = await _inbox(runtime, params.get("inbox"))
        origin = request.headers.get("origin")
        connector = _connector(runtime)
        connector.check_origin(inbox, origin)
        visitor = connector.visitor(inbox, params)
        page = await conversation_page(runtime, inbox, visitor, _since(params.get("since")))
        return Response(page, headers=_cors(origin))


class AgentTypingController(Controller):
    """An agent's typing notice, shown in the widgets of the conversation's visitor."""

    path = "/api/v1/conversations"
    tags = ["chat widget"]

    @post("/{conversation_id:int}/typing", status_code=202)
    async def typing(self, runtime: NamedDependency[Runtime], viewer: NamedDependency[Viewer],
                     conversation_id: FromPath[int]) -> dict[str, int]:
        """Tell the visitor's open widgets an agent is typing; answers how many were told."""
        async with runtime.db.read() as session:
            await visible_conversation(session, viewer, conversation_id)
        told = _connector(runtime).hub.publish(conversation_id, {
            "type": "typing", "conversation_id": conversation_id, "author": "agent"})
        return {"widgets": told}


def _json(body: bytes) -> Params:
    # The channels' one decoder: junk, deep nesting and unpaired surrogates are a 400.
    return json_object(body, Limits.json_nesting)


@websocket("/widget/ws")
async def widget_socket(
    socket: WebSocket[Any, Any, Any], runtime: NamedDependency[Runtime]
) -> None:
    """Live chat for one visitor: their conversation's messages only, both ways."""
    params = dict(socket.query_params)
    connector = _connector(runtime)
    try:
        inbox = await _inbox(runtime, params.get("inbox"))
        connector.check_origin(inbox, socket.headers.get("origin"))
        visitor = connector.visitor(inbox, params)
        since = _since(params.get("since"))
    except NotFound:
        await socket.close(code=4404, reason="no such chat widget")
        return
    except SignatureError as exc:
        await socket.close(code=4403, reason=str(exc)[:120])
        return
    except Invalid as exc:
        await socket.close(code=4400, reason=str(exc)[:120])
        return
    await socket.accept()
    listener = WidgetSocket(visitor)
    connector.hub.open(listener)
    try:
        # Follow first, then catch up: a reply sent in between arrives twice, never zero times.
        async with runtime.db.read() as session:
            current = await visitor_conversation(session, inbox.id, visitor.prefixes)
        if current is not None:
            connector.hub.follow(listener, current)
        page = await conversation_page(runtime, inbox, visitor, since)
        listener.showed(page["messages"])
        await socket.send_json({"type": "hello", **page, **connector.widget_config(inbox)})
        address = socket.client.host if socket.client else "unknown"
        await _serve(socket, runtime, inbox, listener, address, page["cursor"])
    except (WebSocketDisconnect, ConnectionError):
        pass
    finally:
        connector.hub.close(listener)


async def _serve(
    socket: WebSocket[Any, Any, Any],
    runtime: Runtime,
    inbox: ChannelInbox,
    listener: WidgetSocket,
    address: str,
    cursor: int,
) -> None:
    """Write queued frames while reading the visitor's frames, until either side ends."""

    async def write() -> None:
        while True:
            frame = await listener.queue.get()
            if frame.get("type") == "message":
                listener.showed([frame["message"]])
            await socket.send_json(frame)

    tasks = [asyncio.ensure_future(write())]
    if not runtime.dispatch:
        # Replies are sent by `inbox worker` in another process, whose hub has no sockets.
        tasks.append(asyncio.ensure_future(_catch_up(runtime, inbox, listener, cursor)))
    try:
        while not any(task.done() for task in tasks):
            raw = await socket.receive_text()
            await _incoming(socket, runtime, inbox, listener, raw, address)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError, Exception):
                await task


async def _catch_up(
    runtime: Runtime, inbox: ChannelInbox, listener: WidgetSocket, cursor: int
) -> None:
    """Queue the conversation's new messages every few seconds (the widget drops repeats)."""
    while True:
        await asyncio.sleep(CATCH_UP_SECONDS)
        page = await conversation_page(runtime, inbox, listener.visitor, cursor)
        for message in page["messages"]:
            listener.put(
                {"type": "message", "conversation_id": page["conversation_id"], "message": message}
            )
        cursor = page["cursor"]


async def _incoming(
    socket: WebSocket[Any, Any, Any],
    runtime: Runtime,
    inbox: ChannelInbox,
    listener: WidgetSocket,
    raw: str,
    address: str,
) -> None:
    """One frame from the widget: a message (acknowledged), a read receipt or typing."""
    visitor = listener.visitor
    try:
        if len(raw) > MAX_BODY:
            raise TooLarge("message is too large")
        frame = _json(raw.encode())
        if frame.get("type") == "typing":
            return  # agents' typing view is not wired yet; accepted and dropped
        if frame.get("type") == "read":
            await _read(runtime, inbox, listener, frame.get("message_id"))
            return
        if frame.get("type") != "message":
            raise Invalid("type must be message or typing")
        visitor = _connector(runtime).with_form(visitor, frame)
        throttle = socket.app.state.widget_throttle
        answer = await post_visitor_message(runtime, throttle, inbox, visitor, frame, address)
        await socket.send_json({"type": "ack", **answer})
    except (Invalid, NotFound, TooLarge, SignatureError, HTTPException) as exc:
        await socket.send_json(
            {"type": "error", "id": _frame_id(raw), "status": _status(exc), "error": _detail(exc)}
        )


async def _read(
    runtime: Runtime, inbox: ChannelInbox, listener: WidgetSocket, message_id: Any
) -> None:
    """The visitor saw a reply: mark it read (only a reply this widget was given)."""
    if not isinstance(message_id, int) or message_id not in listener.shown:
        raise NotFound("no such reply in this conversation")
    for _ in range(READ_RETRIES):
        if await mark_read(runtime.db, inbox.id, message_id) is not None:
            return
        await asyncio.sleep(0.2)  # the outbox is still recording the send


def _status(exc: Exception) -> int:
    if isinstance(exc, HTTPException):
        return exc.status_code
    if isinstance(exc, TooLarge):
        return 413
    if isinstance(exc, SignatureError):
        return exc.status
    return 404 if isinstance(exc, NotFound) else 400


def _detail(exc: Exception) -> str:
    return str(exc.detail if isinstance(exc, HTTPException) else exc)[:200]


def _frame_id(raw: str) -> Any:
    with suppress(ValueError, RecursionError):
        data = json.loads(raw)
        if isinstance(data, dict):
            return data.get("id")
    return None
