"""The agent websocket: one fan-out task per process encodes each event once for every socket."""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from litestar import WebSocket, websocket
from litestar.di import NamedDependency
from litestar.exceptions import WebSocketDisconnect

from inbox.access import Viewer
from inbox.events import EventRecord, events_since, visible_to
from web.auth import viewer_from_token
from web.bus import subscribe
from web.runtime import Runtime
from web.ui.session import viewer_from_session

log = logging.getLogger(__name__)
QUEUE_LIMIT = 1000
REPLAY_BATCH = 500


@dataclass(eq=False)
class Listener:
    """One agent socket: what it may see and the frames waiting to be written."""

    viewer: Viewer
    queue: asyncio.Queue[tuple[int, str] | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_LIMIT)
    )


class Fanout:
    """Receives each bus event once and hands its encoded frame to every allowed socket."""

    def __init__(self) -> None:
        self.listeners: set[Listener] = set()

    async def run(self, runtime: Runtime) -> None:
        async for event in subscribe(runtime.backend):
            self.deliver(event)

    def deliver(self, event: EventRecord) -> None:
        frame: str | None = None
        for listener in list(self.listeners):
            if (
                event.type == "agent.revoked"
                and event.payload.get("agent_id") == listener.viewer.agent_id
            ):
                _close(listener)
                continue
            if not visible_to(event, listener.viewer.scope):
                continue
            if frame is None:
                frame = json.dumps(event.frame(), separators=(",", ":"), ensure_ascii=False)
            try:
                listener.queue.put_nowait((event.seq, frame))
            except asyncio.QueueFull:
                # Too slow to keep up: close; the client reconnects with since= and catches up.
                _close(listener)


def _close(listener: Listener) -> None:
    with suppress(asyncio.QueueFull):
        while not listener.queue.empty():
            listener.queue.get_nowait()
        listener.queue.put_nowait(None)


@websocket("/ws")
async def agent_socket(socket: WebSocket[Any, Any, Any], runtime: NamedDependency[Runtime]) -> None:
    """Live events for an agent; `?since=SEQ` replays what was missed first."""
    token = socket.query_params.get("token")
    viewer = await viewer_from_token(runtime, token) if token else None
    if viewer is None and not token:
        viewer = await viewer_from_session(runtime, socket)
    if viewer is None:
        await socket.close(code=4401, reason="agent token required")
        return
    raw_since = socket.query_params.get("since")
    since = int(raw_since) if raw_since and raw_since.isdigit() else None
    await socket.accept()
    fanout: Fanout = socket.app.state.fanout
    listener = Listener(viewer)
    # Listen before replaying, so nothing published during the replay is lost.
    fanout.listeners.add(listener)
    try:
        last = await _replay(socket, runtime, viewer, since)
        await _pump(socket, listener, last)
    except (WebSocketDisconnect, ConnectionError):
        pass
    finally:
        fanout.listeners.discard(listener)


async def _replay(
    socket: WebSocket[Any, Any, Any], runtime: Runtime, viewer: Viewer, since: int | None
) -> int:
    if since is None:
        return 0
    last = since
    while True:
        async with runtime.db.read() as session:
            batch = await events_since(session, last, viewer.scope, REPLAY_BATCH)
        for record in batch:
            await socket.send_text(
                json.dumps(record.frame(), separators=(",", ":"), ensure_ascii=False)
            )
            last = record.seq
        if len(batch) < REPLAY_BATCH:
            break
    return last


async def _pump(socket: WebSocket[Any, Any, Any], listener: Listener, last: int) -> None:
    receiver = asyncio.ensure_future(_drain_incoming(socket))
    try:
        while True:
            getter = asyncio.ensure_future(listener.queue.get())
            done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if receiver in done:
                getter.cancel()
                return
            item = getter.result()
            if item is None:
                await socket.close(code=4000, reason="reconnect")
                return
            seq, frame = item
            if seq > last:  # replay may already have sent it
                await socket.send_text(frame)
                last = seq
    finally:
        receiver.cancel()


async def _drain_incoming(socket: WebSocket[Any, Any, Any]) -> None:
    while True:
        await socket.receive_data(mode="text")
