"""The event bus: committed events go out on a Litestar channels backend (memory or Redis).

Each event crosses the bus as a short routing header and the websocket frame, already JSON:
the fan-out routes on the header and writes the frame bytes to every socket as they are, so
an event is encoded once per process however many agents listen.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend

from inbox.events import EventRecord

CHANNEL = "inbox.events"


def make_backend(redis_url: str | None) -> ChannelsBackend:
    """In-process on one process; Redis pub/sub when several processes share the work."""
    if not redis_url:
        return MemoryChannelsBackend()
    from redis.asyncio import Redis

    return RedisChannelsPubSubBackend(redis=Redis.from_url(redis_url), key_prefix="INBOX")


@dataclass(frozen=True)
class BusEvent:
    """An event as the bus delivers it: routing fields and the encoded frame."""

    seq: int
    type: str
    inbox_ids: frozenset[int]
    frame: bytes  # {"seq", "type", "payload"} as UTF-8 JSON

    @cached_property
    def payload(self) -> dict[str, Any]:
        return dict(json.loads(self.frame)["payload"])


def frame_json(record: EventRecord) -> bytes:
    """The websocket frame of an event (also what `GET /events` items look like)."""
    return json.dumps(record.frame(), separators=(",", ":"), ensure_ascii=False).encode()


def encode(record: EventRecord) -> bytes:
    inboxes = ",".join(str(i) for i in sorted(record.inbox_ids))
    return f"{record.seq}\t{record.type}\t{inboxes}\n".encode() + frame_json(record)


def decode(raw: bytes | str) -> BusEvent:
    data = raw.encode() if isinstance(raw, str) else raw
    header, _, frame = data.partition(b"\n")
    seq, type_, inboxes = header.decode().split("\t")
    ids = frozenset(int(i) for i in inboxes.split(",") if i)
    return BusEvent(int(seq), type_, ids, frame)


class BusPublisher:
    """Implements `inbox.events.EventPublisher` over a channels backend."""

    def __init__(self, backend: ChannelsBackend) -> None:
        self.backend = backend

    async def publish(self, events: Sequence[EventRecord]) -> None:
        for event in events:
            await self.backend.publish(encode(event), [CHANNEL])


async def announce_passing(
    backend: ChannelsBackend, inbox_ids: Iterable[int], payload: dict[str, Any], event_type: str
) -> None:
    """Send a passing notice (seq 0, never stored or replayed) to every process, for `inbox_ids`."""
    record = EventRecord(seq=0, type=event_type, payload=payload, inbox_ids=frozenset(inbox_ids))
    await BusPublisher(backend).publish([record])


async def subscribe(backend: ChannelsBackend) -> AsyncIterator[BusEvent]:
    """Every event published on the bus, in this process, once."""
    await backend.subscribe([CHANNEL])
    async for _channel, raw in backend.stream_events():
        yield decode(raw)
