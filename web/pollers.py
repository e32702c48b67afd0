"""Start the channels that pull instead of being called: IMAP mailboxes, Telegram polling.

The inbox table is read again every few seconds, so an inbox created later (`inbox create-inbox`
from another process, the admin pages) starts pulling without a restart, and one whose config
changed restarts its poller with the new settings. Rescanning is one cheap query per kind; it
needs no event from whoever created the inbox, so every way of creating one is covered.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from connectors.base import ChannelInbox
from connectors.email import EmailConnector
from connectors.email_imap import poll_mailbox
from connectors.telegram import TelegramConnector
from connectors.telegram_polling import poll_updates, polling
from inbox.inboxes import channel_inboxes

log = logging.getLogger(__name__)
RESCAN_SECONDS = 5.0

# kind → (the connector class, whether an inbox pulls, its poller)
PULLING: dict[
    str, tuple[type, Callable[[ChannelInbox], bool], Callable[..., Coroutine[Any, Any, None]]]
] = {
    "email": (EmailConnector, lambda inbox: bool(inbox.config.get("imap_host")), poll_mailbox),
    "telegram": (TelegramConnector, polling, poll_updates),
}


@dataclass
class _Running:
    config: str  # the config the poller was started with, to notice a change
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)


async def _run(
    poll: Coroutine[Any, Any, None], poller: _Running, previous: _Running | None
) -> None:
    try:
        if previous is not None:
            # The old poller lets go of the mailbox (and its PostgreSQL lock) first.
            with suppress(TimeoutError):
                await asyncio.wait_for(previous.finished.wait(), 30)
        await poll
    finally:
        poller.finished.set()


async def start_pollers(
    runtime: Any, stop: asyncio.Event, *, rescan_seconds: float = RESCAN_SECONDS
) -> int:
    """Start one poller per pulling inbox, and keep following the inbox table until `stop`.

    Returns how many pollers started now.
    """
    running: dict[int, _Running] = {}
    started = await _reconcile(runtime, running)
    runtime.start_task(_follow(runtime, stop, running, rescan_seconds))
    return started


async def _follow(
    runtime: Any, stop: asyncio.Event, running: dict[int, _Running], rescan_seconds: float
) -> None:
    try:
        while not stop.is_set():
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), rescan_seconds)
            if not stop.is_set():
                await _reconcile(runtime, running)
    finally:
        for poller in running.values():
            poller.stop.set()


async def _reconcile(runtime: Any, running: dict[int, _Running]) -> int:
    """Start pollers for new pulling inboxes, restart changed ones, stop those that stopped."""
    started = 0
    wanted: set[int] = set()
    for kind, (connector_class, pulls, poll) in PULLING.items():
        connector = runtime.connectors.get(kind)
        if not isinstance(connector, connector_class):
            continue
        try:
            async with runtime.db.read() as session:
                inboxes = await channel_inboxes(session, kinds=[kind])
        except Exception:  # e.g. a database not migrated yet: serve, and look again later
            log.exception("%s pollers could not start", kind)
            return started
        for inbox in inboxes:
            if not pulls(inbox):
                continue
            wanted.add(inbox.id)
            config = json.dumps(inbox.config, sort_keys=True, default=str)
            current = running.get(inbox.id)
            if current is not None and current.config == config:
                continue
            if current is not None:
                log.info("inbox %s changed its settings: restarting its poller", inbox.id)
                current.stop.set()
            fresh = running[inbox.id] = _Running(config)
            work = poll(runtime.db, runtime.settings, connector, inbox, fresh.stop)
            runtime.start_task(_run(work, fresh, current))
            started += 1
    for inbox_id in set(running) - wanted:
        running.pop(inbox_id).stop.set()  # deleted, or no longer pulling
    return started
