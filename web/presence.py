"""Collision notices: which agents have a conversation open, and who is typing in it.

An agent tab says so over its own websocket (`/ws`): `{"type": "viewing", "conversation_id",
"tab", "hello"}` when it opens a conversation and every few seconds after, `{"type": "typing",
"conversation_id", "private"}` while the agent writes, `{"type": "left", ...}` when it goes. Each
is checked (the agent must see the conversation) and passed on the bus to the agents of the
conversation's inboxes, on every web process, as a `presence` or `typing` frame without a seq:
like typing, presence is a passing notice, never stored and never replayed.

No process keeps a list of who is where. A tab that opens a conversation says `hello`, and the
tabs already there answer with their own `viewing`; a tab that stops answering fades out of the
others' view. When a socket ends, its process says `left` for it, so a closed tab goes at once.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from inbox.access import Viewer
from inbox.avatars import agent_face
from inbox.errors import NotFound
from inbox.ingest import conversation_inbox_ids
from inbox.queries import visible_conversation
from web.bus import announce_passing
from web.runtime import Runtime

NOTICES_PER_WINDOW = 30  # a tab sends a few per minute; a flood is dropped, not relayed
WINDOW_SECONDS = 10.0
ACCESS_SECONDS = 60.0  # how long one access check stands for a socket's later notices
TAB = re.compile(r"[A-Za-z0-9-]{1,40}")


@dataclass
class _Seen:
    inbox_ids: frozenset[int]
    checked_at: float


@dataclass(eq=False)
class AgentNotices:
    """What one agent socket says about itself, checked and relayed to the other agents."""

    runtime: Runtime
    viewer: Viewer
    _face: tuple[str | None, str | None] | None = None
    _seen: dict[int, _Seen] = field(default_factory=dict)
    _viewing: tuple[int, str] | None = None  # conversation and tab, for `left` at the end
    _window: tuple[float, int] = (0.0, 0)

    async def receive(self, text: str) -> None:
        """One frame from the tab; anything malformed, unknown or unseen is ignored."""
        notice = _parse(text)
        if notice is None or not self._within_rate():
            return
        kind, conversation_id, tab = notice["type"], notice["conversation_id"], notice["tab"]
        inbox_ids = await self._inbox_ids(conversation_id)
        if inbox_ids is None:
            return
        if kind == "typing":
            face = await self._agent_face()
            await announce_agent_typing(
                self.runtime, self.viewer, conversation_id, inbox_ids, notice["private"], face
            )
            return
        self._viewing = (conversation_id, tab) if kind == "viewing" else None
        await self._announce(conversation_id, inbox_ids, kind, tab, bool(notice["hello"]))

    async def close(self) -> None:
        """The socket ended: its tab no longer views anything."""
        if self._viewing is None:
            return
        conversation_id, tab = self._viewing
        self._viewing = None
        seen = self._seen.get(conversation_id)
        if seen is not None:
            await self._announce(conversation_id, seen.inbox_ids, "left", tab, False)

    async def _announce(
        self, conversation_id: int, inbox_ids: frozenset[int], state: str, tab: str, hello: bool
    ) -> None:
        name, avatar = await self._agent_face()
        payload = {
            "conversation_id": conversation_id,
            "agent_id": self.viewer.agent_id,
            "agent_name": name,
            "agent_avatar": avatar,
            "state": state,
            "tab": tab,
            "hello": hello,
        }
        await announce_passing(self.runtime.backend, inbox_ids, payload, "presence")

    async def _inbox_ids(self, conversation_id: int) -> frozenset[int] | None:
        now = time.monotonic()
        seen = self._seen.get(conversation_id)
        if seen is not None and now - seen.checked_at < ACCESS_SECONDS:
            return seen.inbox_ids
        async with self.runtime.db.read() as session:
            try:
                await visible_conversation(session, self.viewer, conversation_id)
            except NotFound:
                return None
            inbox_ids = frozenset(await conversation_inbox_ids(session, conversation_id))
        if len(self._seen) > 20:  # a tab views one conversation; keep the memory small
            self._seen.clear()
        self._seen[conversation_id] = _Seen(inbox_ids, now)
        return inbox_ids

    async def _agent_face(self) -> tuple[str | None, str | None]:
        if self._face is None:
            async with self.runtime.db.read() as session:
                self._face = await agent_face(session, self.viewer.agent_id)
        return self._face

    def _within_rate(self) -> bool:
        start, count = self._window
        now = time.monotonic()
        if now - start > WINDOW_SECONDS:
            start, count = now, 0
        self._window = (start, count + 1)
        return count < NOTICES_PER_WINDOW


async def announce_agent_typing(
    runtime: Runtime,
    viewer: Viewer,
    conversation_id: int,
    inbox_ids: frozenset[int] | set[int],
    private: bool,
    face: tuple[str | None, str | None] | None = None,
) -> None:
    """Tell the other agents, and unless it is a private note the visitor's widgets."""
    if face is None:
        async with runtime.db.read() as session:
            face = await agent_face(session, viewer.agent_id)
    name, avatar = face
    payload = {
        "conversation_id": conversation_id,
        "author": "agent",
        "agent_id": viewer.agent_id,
        "agent_name": name,
        "agent_avatar": avatar,
        "private": private,
    }
    await announce_passing(runtime.backend, inbox_ids, payload, "typing")


def _parse(text: str) -> dict[str, Any] | None:
    try:
        frame = json.loads(text)
    except ValueError:
        return None
    if not isinstance(frame, dict) or frame.get("type") not in ("viewing", "typing", "left"):
        return None
    conversation_id = frame.get("conversation_id")
    tab = frame.get("tab", "")
    if type(conversation_id) is not int or conversation_id < 1:
        return None
    if not isinstance(tab, str) or (tab and not TAB.fullmatch(tab)):
        return None
    return {
        "type": frame["type"],
        "conversation_id": conversation_id,
        "tab": tab,
        "hello": frame.get("hello") is True,
        "private": frame.get("private") is True,
    }
