"""Start one IMAP poller per email inbox that has `imap_host` (where the outbox is dispatched)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlmodel import select

from connectors.email import EmailConnector
from connectors.email_imap import poll_mailbox
from inbox.channel import ChannelInbox
from inbox.models import Inbox

log = logging.getLogger(__name__)


async def start_mail_pollers(runtime: Any, stop: asyncio.Event) -> int:
    """Poll every IMAP-configured email inbox until `stop`; returns how many were started.

    Inboxes created later are picked up at the next start (a restart of the worker)."""
    connector = runtime.connectors.get("email")
    if not isinstance(connector, EmailConnector):
        return 0
    try:
        async with runtime.db.read() as session:
            rows = (await session.exec(select(Inbox).where(Inbox.kind == "email"))).all()
    except Exception:  # e.g. a database not migrated yet: serve, without pollers
        log.exception("email pollers could not start")
        return 0
    started = 0
    for row in rows:
        if not (row.config or {}).get("imap_host"):
            continue
        inbox = ChannelInbox(row.id or 0, row.kind, row.name, dict(row.config), row.token)
        runtime.start_task(poll_mailbox(runtime.db, runtime.settings, connector, inbox, stop))
        started += 1
    return started
