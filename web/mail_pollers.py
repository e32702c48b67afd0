"""Start one IMAP poller per email inbox that has `imap_host` (where the outbox is dispatched)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from connectors.email import EmailConnector
from connectors.email_imap import poll_mailbox
from inbox.queries import channel_inboxes

log = logging.getLogger(__name__)


async def start_mail_pollers(runtime: Any, stop: asyncio.Event) -> int:
    """Poll every IMAP-configured email inbox until `stop`; returns how many were started.

    Inboxes created later are picked up at the next start (a restart of the worker)."""
    connector = runtime.connectors.get("email")
    if not isinstance(connector, EmailConnector):
        return 0
    try:
        async with runtime.db.read() as session:
            inboxes = await channel_inboxes(session, "email")
    except Exception:  # e.g. a database not migrated yet: serve, without pollers
        log.exception("email pollers could not start")
        return 0
    started = 0
    for inbox in inboxes:
        if not inbox.config.get("imap_host"):
            continue
        runtime.start_task(poll_mailbox(runtime.db, runtime.settings, connector, inbox, stop))
        started += 1
    return started
