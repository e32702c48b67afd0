"""The event bus: committed events go out on a Litestar channels backend (memory or Redis)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence

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


def encode(event: EventRecord) -> bytes:
    return json.dumps(
        {**event.frame(), "inbox_ids": sorted(event.inbox_ids)}, separators=(",", ":")
    ).encode()


def decode(raw: bytes | str) -> EventRecord:
    data = json.loads(raw)
    return EventRecord(data["seq"], data["type"], data["payload"], frozenset(data["inbox_ids"]))


class BusPublisher:
    """Implements `inbox.events.EventPublisher` over a channels backend."""

    def __init__(self, backend: ChannelsBackend) -> None:
        self.backend = backend

    async def publish(self, events: Sequence[EventRecord]) -> None:
        for event in events:
            await self.backend.publish(encode(event), [CHANNEL])


async def subscribe(backend: ChannelsBackend) -> AsyncIterator[EventRecord]:
    """Every event published on the bus, in this process, once."""
    await backend.subscribe([CHANNEL])
    async for _channel, raw in backend.stream_events():
        yield decode(raw)
