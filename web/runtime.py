"""Everything one process runs: database, connectors, event bus, fan-out, outbox dispatcher."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from contextlib import suppress
from typing import Any

from connectors import channels as _channels  # noqa: F401  (registers the channels)
from connectors.base import ChannelInbox, Connector, registry
from inbox.channel import OutboundMessage, PermanentDeliveryError, SendReceipt, Transport
from inbox.db import Database
from inbox.errors import NotFound
from inbox.faq.bot import FaqBot
from inbox.outbox import Dispatcher
from inbox.queries import channel_inbox
from inbox.settings import Settings
from web.bus import BusPublisher, make_backend
from web.pollers import start_pollers

log = logging.getLogger(__name__)
INBOX_CACHE_SECONDS = 2.0


class Runtime:
    """The composition root's parts, started and stopped with the app or the worker."""

    def __init__(self, settings: Settings, *, dispatch: bool = True) -> None:
        self.settings = settings
        self.backend = make_backend(settings.redis_url)
        self.db = Database(settings.database_url, publisher=BusPublisher(self.backend))
        self.connectors: dict[str, Connector] = registry.build(settings)
        self.dispatcher = Dispatcher(
            self.db,
            self.transport,
            max_attempts=settings.outbox_max_attempts,
            backoff_seconds=settings.outbox_backoff_seconds,
            idle_seconds=settings.outbox_poll_seconds,
        )
        self.dispatch = dispatch
        self.bot = FaqBot(self.db)
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._inboxes: dict[int, tuple[float, ChannelInbox]] = {}

    def connector(self, kind: str) -> Connector:
        """The connector of an inbox kind; 404 when this build has none."""
        found = self.connectors.get(kind)
        if found is None:
            raise NotFound("no such channel")
        return found

    def transport(self, kind: str) -> Transport:
        return self.connectors.get(kind) or _Unavailable(kind)

    @property
    def stopping(self) -> asyncio.Event:
        """Set when the process shuts down; background loops end on it."""
        return self._stop

    def start_task(self, coro: Coroutine[Any, Any, None]) -> None:
        self._tasks.append(asyncio.ensure_future(coro))

    async def start(self) -> None:
        await self.backend.on_startup()
        if self.dispatch:
            self.start_task(self.dispatcher.run(self._stop))
            await start_pollers(self, self._stop)
            await self._start_bot()

    async def _start_bot(self) -> None:
        """The FAQ bot reacts to events where the outbox is dispatched."""
        try:
            await self.bot.prepare()
        except Exception:  # e.g. a database not migrated yet: serve, without the bot
            log.exception("the FAQ bot could not start")
            return
        self.start_task(self.bot.run(self._stop))

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        with suppress(Exception):
            await self.backend.on_shutdown()
        await self.db.dispose()

    async def inbox(self, inbox_id: int, kind: str | None = None) -> ChannelInbox:
        """An inbox's kind and config, cached briefly: webhooks ask on every request."""
        cached = self._inboxes.get(inbox_id)
        if cached is None or cached[0] < time.monotonic():
            async with self.db.read() as session:
                channel = await channel_inbox(session, inbox_id)
            if channel is None:
                raise NotFound("inbox not found")
            cached = (time.monotonic() + INBOX_CACHE_SECONDS, channel)
            self._inboxes[inbox_id] = cached
        if kind is not None and cached[1].kind != kind:
            raise NotFound("inbox not found")
        return cached[1]


class _Unavailable:
    """The transport of an inbox kind this build has no connector for."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    async def send(self, message: OutboundMessage) -> SendReceipt:
        raise PermanentDeliveryError(f"the {self.kind} channel is not available in this build")
