"""The website chat widget's public endpoints: its script, its websocket, its polling fallback.

Everything is addressed by the inbox's public widget token; the visitor reads only the
conversation they wrote in (see inbox.webchat), and writes through `inbox.ingest.ingest`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

from litestar import Controller, Request, Response, WebSocket, get, post, websocket
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, WebSocketDisconnect
from litestar.params import FromPath, FromQuery

from connectors.base import ChannelInbox, InboundAttachment, InvalidInbound, SignatureError
from connectors.payload import json_object
from connectors.webchat import (
    CLIENT_ID,
    MAX_ATTACHMENT,
    MAX_FILES,
    MAX_TEXT,
    Visitor,
    WebchatConnector,
    WidgetSocket,
)
from inbox.access import Viewer
from inbox.errors import Invalid, NotFound, TooLarge, Unsupported
from inbox.ingest import conversation_inbox_ids, ingest
from inbox.queries import visible_conversation
from inbox.settings import Limits
from inbox.webchat import (
    mark_read,
    visitor_attachment,
    visitor_conversation,
    visitor_messages,
    webchat_inbox,
    widget_message_by_id,
)
from web.api.attachments import attachment_response
from web.bus import announce_passing
from web.errors import HANDLERS
from web.presence import announce_agent_typing
from web.runtime import Runtime
from web.widget_throttle import WidgetThrottle

SCRIPT = Path(__file__).parent / "ui" / "static" / "widget.js"
MAX_BODY = 4 * MAX_TEXT + 2048  # a full message in JSON escapes, plus the identity fields
Params = dict[str, Any]
CATCH_UP_SECONDS = 2.0
UPLOAD_BODY = MAX_ATTACHMENT + 64 * 1024  # the files plus the form's own fields
TYPING_EVERY_SECONDS = 2.0
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
    files: Sequence[InboundAttachment] = (),
) -> dict[str, Any]:
    """Rate-limit and ingest a visitor's message (their other widgets hear it on the bus)."""
    connector = _connector(runtime)
    inbound = connector.inbound(inbox, visitor, data, files)
    await throttle.message(inbox.token, address, visitor.visitor_id)
    async with runtime.db.read() as session:
        current = await visitor_conversation(session, inbox.id, visitor.prefixes)
    if current is None:
        await throttle.new_conversation(inbox.token, address)
    result = await ingest(runtime.db, inbound, runtime.settings)
    connector.hub.join(inbox.id, visitor.prefixes[0], result.conversation_id)
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


def _allow_origin(
    request: Request[Any, Any, Any],
    connector: WebchatConnector,
    inbox: ChannelInbox,
    origin: str | None,
) -> None:
    """Refuse a site the inbox does not list; remember an allowed one for error answers."""
    connector.check_origin(inbox, origin)
    request.state.widget_origin = origin


def _readable_by_the_page(handler: Any) -> Any:
    """An error handler whose answers the embedding page may read (to explain a 413 or 415)."""

    def answer(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        response: Response[Any] = handler(request, exc)
        response.headers.update(_cors(getattr(request.state, "widget_origin", None)))
        return response

    return answer


class WidgetController(Controller):
    """`/widget.js` and the widget's HTTP endpoints (the fallback when websockets are blocked)."""

    tags = ["chat widget"]
    exception_handlers = {kind: _readable_by_the_page(h) for kind, h in HANDLERS.items()}

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
        _allow_origin(request, _connector(runtime), inbox, origin)
        return Response(_connector(runtime).widget_config(inbox), headers=_cors(origin))

    @post("/widget/messages", status_code=201, request_max_body_size=MAX_BODY)
    async def post_message(
        self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]
    ) -> Response[Any]:
        """A visitor's message (JSON, sent as text/plain so browsers need no preflight)."""
        inbox = await _inbox(runtime, request.query_params.get("inbox"))
        origin = request.headers.get("origin")
        connector = _connector(runtime)
        _allow_origin(request, connector, inbox, origin)
        data = _json(await request.body())
        visitor = connector.visitor(inbox, data)
        address = request.client.host if request.client else "unknown"
        throttle = request.app.state.widget_throttle
        answer = await post_visitor_message(runtime, throttle, inbox, visitor, data, address)
        status = 200 if answer["duplicate"] else 201
        return Response(answer, status_code=status, headers=_cors(origin))

    @post("/widget/attachments", request_max_body_size=UPLOAD_BODY)
    async def post_attachment(
        self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]
    ) -> Response[Any]:
        """A visitor's files (multipart: `file`, with the identity fields, `id` and `text`)."""
        inbox = await _inbox(runtime, request.query_params.get("inbox"))
        origin = request.headers.get("origin")
        connector = _connector(runtime)
        _allow_origin(request, connector, inbox, origin)
        if request.content_type[0] != "multipart/form-data":
            raise Unsupported("send the files as multipart/form-data")
        fields, uploads = await _form(request)
        visitor = connector.with_form(connector.visitor(inbox, fields), fields)
        files = [connector.attachment(name, data) for name, data in uploads]
        address = request.client.host if request.client else "unknown"
        throttle = request.app.state.widget_throttle
        answer = await post_visitor_message(
            runtime, throttle, inbox, visitor, fields, address, files
        )
        async with runtime.db.read() as session:
            answer["message"] = await widget_message_by_id(session, inbox.id, answer["message_id"])
        status = 200 if answer["duplicate"] else 201
        return Response(answer, status_code=status, headers=_cors(origin))

    @get("/widget/attachments/{attachment_id:int}", media_type="application/octet-stream")
    async def attachment(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        attachment_id: FromPath[int],
    ) -> Response[Any]:
        """A file of the visitor's own conversation (served like agents' downloads)."""
        params = dict(request.query_params)
        inbox = await _inbox(runtime, params.get("inbox"))
        origin = request.headers.get("origin")
        connector = _connector(runtime)
        _allow_origin(request, connector, inbox, origin)
        visitor = connector.visitor(inbox, params)
        async with runtime.db.read() as session:
            current = await visitor_conversation(session, inbox.id, visitor.prefixes)
            found = await visitor_attachment(session, inbox.id, current, attachment_id)
        response = attachment_response(found)
        response.headers.update(_cors(origin))
        return response

    @get("/widget/messages")
    async def messages(
        self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]
    ) -> Response[Any]:
        """The visitor's conversation after `since`; `cursor` is the next `since`."""
        params = dict(request.query_params)
        inbox = await _inbox(runtime, params.get("inbox"))
        origin = request.headers.get("origin")
        connector = _connector(runtime)
        _allow_origin(request, connector, inbox, origin)
        visitor = connector.visitor(inbox, params)
        page = await conversation_page(runtime, inbox, visitor, _since(params.get("since")))
        return Response(page, headers=_cors(origin))


class AgentTypingController(Controller):
    """An agent's typing notice, shown in the widgets of the conversation's visitor."""

    path = "/api/v1/conversations"
    tags = ["chat widget"]

    @post("/{conversation_id:int}/typing", status_code=202)
    async def typing(
        self,
        runtime: NamedDependency[Runtime],
        viewer: NamedDependency[Viewer],
        conversation_id: FromPath[int],
        private: FromQuery[bool] = False,
    ) -> dict[str, int]:
        """Tell the other agents and, unless `private`, the visitor's open widgets (on any web
        process) that this agent is typing."""
        async with runtime.db.read() as session:
            await visible_conversation(session, viewer, conversation_id)
            inbox_ids = await conversation_inbox_ids(session, conversation_id)
        await announce_agent_typing(runtime, viewer, conversation_id, inbox_ids, private)
        return {"conversation_id": conversation_id}


async def _form(request: Request[Any, Any, Any]) -> tuple[Params, list[tuple[str, bytes]]]:
    """The text fields and the uploaded files of a multipart body."""
    form = await request.form()
    fields: Params = {}
    files: list[tuple[str, bytes]] = []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            if name == "file":
                files.append((value.filename or "", await value.read()))
        elif isinstance(value, str) and name not in fields:
            fields[name] = value
    if not files:
        raise InvalidInbound("attach a file in the `file` field")
    if len(files) > MAX_FILES:
        raise InvalidInbound(f"at most {MAX_FILES} files per message")
    return fields, files


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
    listener = WidgetSocket(visitor, inbox.id)
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
    if not runtime.dispatch and not runtime.settings.redis_url:
        # Replies are sent by `inbox worker` in another process, and without Redis its
        # events never reach this process's bus: read them from the database instead.
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
            await _visitor_typing(runtime, inbox, listener)
            return
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


async def _visitor_typing(runtime: Runtime, inbox: ChannelInbox, listener: WidgetSocket) -> None:
    """Tell the inbox's agents (on any web process) the visitor is typing, at most every
    few seconds per widget; before their first message there is no conversation to show it in."""
    now = time.monotonic()
    if listener.current is None or now - listener.typed_at < TYPING_EVERY_SECONDS:
        return
    listener.typed_at = now
    await announce_passing(
        runtime.backend,
        {inbox.id},
        {
            "conversation_id": listener.current,
            "inbox_id": inbox.id,
            "author": "customer",
            "name": listener.visitor.name,
        },
        "typing",
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


def _frame_id(raw: str) -> str | None:
    """The refused frame's client id, echoed only when it is one (junk such as an unpaired
    surrogate cannot be encoded into the error frame and would take the socket down)."""
    with suppress(ValueError, RecursionError):
        data = json.loads(raw)
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            return data["id"] if CLIENT_ID.fullmatch(data["id"]) else None
    return None
