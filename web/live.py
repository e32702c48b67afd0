"""The agent websocket: one fan-out task per process writes each event's frame to every socket.

Frames are written straight to the sockets' transports (see `web.sockets`) and coalesced per
loop turn: events committed together reach a socket in one write. Under a server without that
protocol the same fan-out falls back to a queue and an ASGI send per frame.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from litestar import WebSocket, websocket
from litestar.di import NamedDependency
from litestar.exceptions import WebSocketDisconnect

from inbox.access import Viewer
from inbox.events import events_since, last_seq, revocations_since
from web.auth import viewer_from_token
from web.bus import BusEvent, frame_json, subscribe
from web.presence import AgentNotices
from web.runtime import Runtime
from web.sockets import EXTENSION, FrameWriter, text_frame
from web.ui.session import viewer_from_session

log = logging.getLogger(__name__)
QUEUE_LIMIT = 1000
REPLAY_BATCH = 500
COALESCE_SECONDS = 0.006
REVOCATION_POLL_SECONDS = 1.0


@dataclass(eq=False)
class Listener:
    """One agent socket: what it may see, and where its frames go."""

    viewer: Viewer
    writer: FrameWriter | None
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    # While the socket replays `since=`, live frames wait here with their seq.
    backlog: list[tuple[int, bytes]] | None = field(default_factory=list)
    queue: asyncio.Queue[bytes] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))

    def close(self) -> None:
        self.closed.set()


@dataclass(eq=False)
class _Group:
    """Live sockets that see the same inboxes: an event is checked and joined once for all."""

    scope: frozenset[int] | None
    members: set[Listener] = field(default_factory=set)
    pending: list[bytes] = field(default_factory=list)


class Fanout:
    """Receives each bus event once and hands its frame to every socket allowed to see it."""

    def __init__(self) -> None:
        self.listeners: set[Listener] = set()
        self._groups: dict[frozenset[int] | None, _Group] = {}
        self._single: set[Listener] = set()  # replaying, or without a FrameWriter
        self._dirty: list[_Group] = []
        self._flush_scheduled = False
        # Others that react to each event once per process (the chat widgets' relay).
        self.observers: list[Callable[[BusEvent], None]] = []

    def add(self, listener: Listener) -> None:
        self.listeners.add(listener)
        self._single.add(listener)

    def remove(self, listener: Listener) -> None:
        self.listeners.discard(listener)
        self._single.discard(listener)
        group = self._groups.get(listener.viewer.scope)
        if group is not None:
            group.members.discard(listener)

    async def run(self, runtime: Runtime) -> None:
        async for event in subscribe(runtime.backend):
            self.deliver(event)
            for observe in self.observers:
                observe(event)

    async def watch_revocations(self, runtime: Runtime, stop: asyncio.Event) -> None:
        """Close the sockets of agents revoked elsewhere: `inbox reset-token` and password
        changes from the CLI reach the log but not this process's bus."""
        async with runtime.db.read() as session:
            seen = await last_seq(session)
        while not stop.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), REVOCATION_POLL_SECONDS)
            try:
                async with runtime.db.read() as session:
                    revoked = await revocations_since(session, seen)
            except Exception:
                log.warning("could not read revocations; trying again", exc_info=True)
                continue
            for seq, agent_id in revoked:
                seen = seq
                self.close_agent(agent_id)

    def close_agent(self, agent_id: int) -> None:
        """End every socket of one agent (it reconnects only with a valid credential)."""
        for listener in self.listeners:
            if listener.viewer.agent_id == agent_id:
                listener.close()

    def deliver(self, event: BusEvent) -> None:
        if event.type == "agent.revoked":
            self.close_agent(int(event.payload.get("agent_id") or 0))
        ws_frame: bytes | None = None
        for group in self._groups.values():
            if group.members and _visible(event, group.scope):
                if ws_frame is None:
                    ws_frame = text_frame(event.frame)  # once for every socket
                if not group.pending:
                    self._dirty.append(group)
                group.pending.append(ws_frame)
                self._schedule_flush()
        for listener in self._single:
            if not listener.closed.is_set() and _visible(event, listener.viewer.scope):
                self._hand_single(listener, event.seq, event.frame)

    def _hand_single(self, listener: Listener, seq: int, payload: bytes) -> None:
        if listener.backlog is not None:
            listener.backlog.append((seq, payload))
            return
        try:
            listener.queue.put_nowait(payload)
        except asyncio.QueueFull:
            listener.close()  # too slow: the client reconnects with since= and catches up

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            # Events of the next few ms ride along: one write per socket, not per event.
            asyncio.get_running_loop().call_later(COALESCE_SECONDS, self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, []
        for group in dirty:
            data = b"".join(group.pending)
            group.pending = []
            for listener in list(group.members):
                writer = listener.writer
                if writer is None or listener.closed.is_set() or not writer.write(data):
                    listener.close()
                    group.members.discard(listener)

    def go_live(self, listener: Listener, last: int) -> None:
        """Replay is done: send what arrived meanwhile (past `last`), then go live."""
        backlog, listener.backlog = listener.backlog or [], None
        # Passing notices (typing, presence; seq 0) are in no log, so no replay sent them.
        backlog = [(seq, payload) for seq, payload in backlog if seq > last or seq == 0]
        if listener.writer is None:
            for seq, payload in backlog:
                self._hand_single(listener, seq, payload)
            return
        # Frames still pending for the group are in this backlog too: send those first.
        self._flush()
        frames = [text_frame(payload) for _seq, payload in backlog]
        if frames and not listener.writer.write(b"".join(frames)):
            listener.close()
        self._single.discard(listener)
        scope = listener.viewer.scope
        self._groups.setdefault(scope, _Group(scope)).members.add(listener)


def _visible(event: BusEvent, scope: frozenset[int] | None) -> bool:
    return scope is None or not event.inbox_ids.isdisjoint(scope)


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
    extensions: dict[str, Any] = socket.scope.get("extensions") or {}
    writer: FrameWriter | None = (extensions.get(EXTENSION) or {}).get("writer")
    listener = Listener(viewer, writer)
    # Listen before replaying, so nothing published during the replay is lost.
    fanout.add(listener)
    notices = AgentNotices(runtime, viewer)
    receiver = asyncio.ensure_future(_receive(socket, notices))
    try:
        last = await _replay(socket, runtime, viewer, since)
        fanout.go_live(listener, last)
        if listener.writer is None:
            await _pump(socket, listener, receiver)
        else:
            await _wait_for_end(listener, receiver)
        if listener.closed.is_set() and not receiver.done():
            await socket.close(code=4000, reason="reconnect")
    except (WebSocketDisconnect, ConnectionError):
        pass
    finally:
        receiver.cancel()
        fanout.remove(listener)
        with suppress(Exception):  # the socket is gone either way; this is only a courtesy
            await notices.close()


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
            await socket.send_text(frame_json(record).decode())
            last = record.seq
        if len(batch) < REPLAY_BATCH:
            break
    return last


async def _wait_for_end(listener: Listener, receiver: asyncio.Future[None]) -> None:
    closing: asyncio.Future[Any] = asyncio.ensure_future(listener.closed.wait())
    try:
        await asyncio.wait({closing, receiver}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        closing.cancel()


async def _pump(
    socket: WebSocket[Any, Any, Any], listener: Listener, receiver: asyncio.Future[None]
) -> None:
    """The fallback: one ASGI send per frame."""
    closing: asyncio.Future[Any] = asyncio.ensure_future(listener.closed.wait())
    try:
        while not receiver.done() and not listener.closed.is_set():
            getter: asyncio.Future[Any] = asyncio.ensure_future(listener.queue.get())
            done, _ = await asyncio.wait(
                {getter, receiver, closing}, return_when=asyncio.FIRST_COMPLETED
            )
            if getter not in done:
                getter.cancel()
                return
            await socket.send_text(getter.result().decode())
    finally:
        closing.cancel()


async def _receive(socket: WebSocket[Any, Any, Any], notices: AgentNotices) -> None:
    """The tab's own frames: which conversation it views and when its agent types."""
    with suppress(WebSocketDisconnect):
        while True:
            text = await socket.receive_data(mode="text")
            try:
                await notices.receive(text)
            except Exception:  # a notice that cannot be passed on must not end the socket
                log.warning("could not pass on an agent's notice", exc_info=True)
