"""Start the channels that pull instead of being called: Telegram in polling mode."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from connectors.telegram import TelegramConnector
from connectors.telegram_polling import poll_updates, polling
from inbox.queries import channel_inboxes

log = logging.getLogger(__name__)


async def start_telegram_pollers(runtime: Any, stop: asyncio.Event) -> int:
    """Poll every telegram inbox configured with `polling: true`; returns how many started."""
    connector = runtime.connectors.get("telegram")
    if not isinstance(connector, TelegramConnector):
        return 0
    try:
        async with runtime.db.read() as session:
            inboxes = await channel_inboxes(session, "telegram")
    except Exception:  # e.g. a database not migrated yet: serve, without pollers
        log.exception("telegram pollers could not start")
        return 0
    started = 0
    for inbox in inboxes:
        if polling(inbox):
            runtime.start_task(poll_updates(runtime.db, runtime.settings, connector, inbox, stop))
            started += 1
    return started
