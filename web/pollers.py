"""Start the channels that pull instead of being called: IMAP mailboxes, Telegram polling.

Inboxes created later are picked up at the next start (a restart of the worker or server).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from connectors.base import ChannelInbox
from connectors.email import EmailConnector
from connectors.email_imap import poll_mailbox
from connectors.telegram import TelegramConnector
from connectors.telegram_polling import poll_updates, polling
from inbox.queries import channel_inboxes

log = logging.getLogger(__name__)

# kind → (the connector class, whether an inbox pulls, its poller)
PULLING: dict[
    str, tuple[type, Callable[[ChannelInbox], bool], Callable[..., Coroutine[Any, Any, None]]]
] = {
    "email": (EmailConnector, lambda inbox: bool(inbox.config.get("imap_host")), poll_mailbox),
    "telegram": (TelegramConnector, polling, poll_updates),
}


async def start_pollers(runtime: Any, stop: asyncio.Event) -> int:
    """Start one poller per pulling inbox, running until `stop`; returns how many started."""
    started = 0
    for kind, (connector_class, pulls, poll) in PULLING.items():
        connector = runtime.connectors.get(kind)
        if not isinstance(connector, connector_class):
            continue
        try:
            async with runtime.db.read() as session:
                inboxes = await channel_inboxes(session, kind)
        except Exception:  # e.g. a database not migrated yet: serve, without pollers
            log.exception("%s pollers could not start", kind)
            continue
        for inbox in inboxes:
            if pulls(inbox):
                runtime.start_task(poll(runtime.db, runtime.settings, connector, inbox, stop))
                started += 1
    return started
