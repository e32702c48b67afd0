"""Telegram without a public URL (development): long-poll getUpdates instead of a webhook.

Each update goes through the connector's own `parse` and then `inbox.ingest`, like a webhook
delivery; the last update id is the inbox's `telegram.update_id` cursor, written in the same
transaction as the message it came with, so a restart neither loses nor repeats an update.
"""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import suppress

from telegram.error import TelegramError

from connectors.base import ChannelInbox, DeliveryUpdate, InvalidInbound, MessageEdit, RawRequest
from connectors.telegram import UPDATES, TelegramConnector, _bot
from inbox.cursors import CursorUpdate, read_cursor, save_cursor
from inbox.db import Database
from inbox.edits import record_edit
from inbox.ingest import ingest
from inbox.settings import Settings

log = logging.getLogger(__name__)
CURSOR_KEY = "telegram.update_id"
LONG_POLL_SECONDS = 25
RETRY_SECONDS = 5.0


def polling(inbox: ChannelInbox) -> bool:
    """Whether this inbox pulls its updates (config `polling: true`) instead of a webhook."""
    return inbox.config.get("polling") is True


async def poll_updates(
    db: Database,
    settings: Settings,
    connector: TelegramConnector,
    inbox: ChannelInbox,
    stop: asyncio.Event,
    *,
    long_poll: int = LONG_POLL_SECONDS,
) -> None:
    """Fetch and store the bot's updates until `stop` is set."""
    async with _bot(inbox.config) as bot:
        # Telegram refuses getUpdates while a webhook is set.
        with suppress(TelegramError):
            await bot.delete_webhook()
        while not stop.is_set():
            offset = int(await read_cursor(db, inbox.id, CURSOR_KEY) or 0)
            try:
                updates = await bot.get_updates(
                    offset=offset + 1 if offset else None,
                    timeout=long_poll,
                    allowed_updates=UPDATES,
                )
            except TelegramError as exc:
                log.warning("telegram inbox %s: getUpdates failed (%s); retrying", inbox.id, exc)
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), RETRY_SECONDS)
                continue
            for update in updates:
                await _store(db, settings, connector, inbox, update.to_dict())


async def _store(
    db: Database,
    settings: Settings,
    connector: TelegramConnector,
    inbox: ChannelInbox,
    update: dict[str, object],
) -> None:
    cursor = CursorUpdate(inbox.id, CURSOR_KEY, str(update["update_id"]))
    raw = RawRequest("POST", "", {}, {}, json.dumps(update).encode())
    try:
        items = await connector.parse(inbox, raw)
    except InvalidInbound as exc:
        log.warning("telegram inbox %s: skipping update %s (%s)", inbox.id, cursor.value, exc)
        items = []
    stored = False
    for item in items:
        if isinstance(item, MessageEdit):
            await record_edit(db, inbox.id, item, settings.limits.message_text)
        elif not isinstance(item, DeliveryUpdate):
            await ingest(db, item, settings, cursor=cursor)
            stored = True
    if not stored:
        await save_cursor(db, cursor)  # an update that became no message: still past it
