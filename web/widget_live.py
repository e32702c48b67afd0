"""The chat widget's side of the event bus: which events reach which open widget sockets.

Every web process hears each committed event once (the fan-out in web.live hands it here).
The relay picks the web-chat ones, reads the message as a widget shows it (files, agent name
and avatar) and queues it on this process's widget sockets. So a visitor gets the reply, their
own message sent from another tab, and an agent's typing, whichever process they are connected
to and whichever process (web or worker) did the work. Typing is announced on the same bus
but never stored: it is a passing notice, not a change.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from connectors.webchat import WidgetHub, reply_key
from inbox.outbox import record_delivery_status
from inbox.webchat import widget_message_by_id
from web.bus import BusEvent
from web.runtime import Runtime

log = logging.getLogger(__name__)
WIDGET_EVENTS = frozenset({"message.created", "message.updated", "typing"})
SHOWN_STATUSES = frozenset({"sent", "delivered", "read"})  # the outbox has handed it over
QUEUE_LIMIT = 10_000
VISITOR_KEY = re.compile(r"([uv]:[A-Za-z0-9-]{16,64}:)")


class WidgetRelay:
    """Committed web-chat events to this process's widget sockets, in the order they came."""

    def __init__(self, runtime: Runtime, hub: WidgetHub) -> None:
        self.runtime = runtime
        self.hub = hub
        self.queue: asyncio.Queue[BusEvent] = asyncio.Queue(QUEUE_LIMIT)

    def observe(self, event: BusEvent) -> None:
        """Called by the fan-out for every event: cheap unless a widget is open here."""
        if event.type not in WIDGET_EVENTS or not self.hub.busy:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            log.warning("widget relay is behind; widgets catch up when they reconnect")

    async def run(self) -> None:
        while True:
            event = await self.queue.get()
            try:
                await self.handle(event)
            except Exception:  # one bad event must not end live chat for everyone
                log.exception("widget relay could not handle event %s", event.seq)

    async def handle(self, event: BusEvent) -> None:
        payload = event.payload
        if event.type == "typing":
            self._typing(payload)
            return
        if payload.get("private") or payload.get("channel") != "webchat":
            return
        inbox_id = int(payload.get("inbox_id") or 0)
        conversation_id = int(payload.get("conversation_id") or 0)
        message_id = int(payload.get("id") or 0)
        if payload.get("direction") == "in":
            if event.type != "message.created":
                return
            key = VISITOR_KEY.match(str(payload.get("external_id") or ""))
            if key is not None:  # the visitor's widgets open here follow their conversation
                self.hub.join(inbox_id, key.group(1), conversation_id)
        elif payload.get("status") not in SHOWN_STATUSES:
            return
        if not self.hub.wants(inbox_id, conversation_id, message_id):
            return
        async with self.runtime.db.read() as session:
            message = await widget_message_by_id(session, inbox_id, message_id)
        if message is None:
            return
        frame = {"type": "message", "conversation_id": conversation_id, "message": message}
        reached = self.hub.publish(conversation_id, frame, inbox_id)
        if reached and payload.get("direction") == "out" and payload.get("status") == "sent":
            # Sent by a process without this widget (a worker, another web process): it is
            # delivered now that an open widget has it.
            await record_delivery_status(
                self.runtime.db, inbox_id, reply_key(message_id), "delivered"
            )

    def _typing(self, payload: dict[str, Any]) -> None:
        if payload.get("author") != "agent" or payload.get("private"):
            return  # a visitor's typing, or an agent's private note, is for agents only
        frame = {
            "type": "typing",
            "conversation_id": payload.get("conversation_id"),
            "author": "agent",
            "agent_name": payload.get("agent_name"),
            "agent_avatar": payload.get("agent_avatar"),
        }
        self.hub.publish(int(payload.get("conversation_id") or 0), frame)
