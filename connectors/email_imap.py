"""IMAP polling (aioimaplib): fetch `UID last+1:*`, ingest each mail, mark it \\Seen after the
commit and only then move the cursor past it; IDLE between rounds where the server can."""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from contextlib import suppress
from typing import Any

import aioimaplib

from connectors.base import ChannelInbox, DeliveryUpdate, InboundMessage
from connectors.email import EmailConnector
from inbox.cursors import CursorUpdate, read_cursor, save_cursor
from inbox.db import Database
from inbox.errors import Invalid, TooLarge
from inbox.ingest import ingest
from inbox.locks import run_exclusively
from inbox.outbox import record_delivery_status
from inbox.settings import Settings

log = logging.getLogger(__name__)
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_FETCHED_UID = re.compile(rb"UID (\d+)")
IMAP_TIMEOUT = 30.0


class ImapError(Exception):
    """The server refused a command (login, select, fetch)."""


class MailboxPoller:
    """One inbox's mailbox: pulls new mail into `ingest()`, exactly once across restarts."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        connector: EmailConnector,
        inbox: ChannelInbox,
        *,
        poll_seconds: float = 60.0,
    ) -> None:
        self.db, self.settings, self.connector, self.inbox = db, settings, connector, inbox
        self.mailbox = str(inbox.config.get("imap_mailbox") or "INBOX")
        self.key = f"imap:{self.mailbox}"[:255]
        self.poll_seconds = poll_seconds
        self.client: Any = None

    async def connect(self) -> None:
        config = self.inbox.config
        host = str(config["imap_host"])
        port = int(config.get("imap_port") or 993)
        context = imap_tls(config)
        if context is None:
            self.client = aioimaplib.IMAP4(host=host, port=port, timeout=IMAP_TIMEOUT)
        else:
            self.client = aioimaplib.IMAP4_SSL(
                host=host, port=port, timeout=IMAP_TIMEOUT, ssl_context=context
            )
        await self.client.wait_hello_from_server()
        _ok(
            await self.client.login(
                str(config.get("imap_user") or ""), str(config.get("imap_password") or "")
            ),
            "login",
        )

    async def close(self) -> None:
        if self.client is not None:
            with suppress(Exception):
                await self.client.logout()
            self.client = None

    async def sync(self) -> int:
        """Fetch and ingest every mail after the cursor; returns how many were handled."""
        selected = _ok(await self.client.select(self.mailbox), f"select {self.mailbox}")
        validity = _uidvalidity(selected.lines)
        last = await self._last_uid(validity)
        found = _ok(await self.client.uid_search(f"UID {last + 1}:*", charset=None), "search")
        # "N:*" always matches the newest mail, even when it is older than N.
        uids = sorted(u for u in _numbers(found.lines) if u > last)
        for uid in uids:
            await self._take(uid, validity)
        return len(uids)

    async def run(self, stop: asyncio.Event) -> None:
        """Sync, then wait (IDLE or sleep), until `stop`; reconnect after failures."""
        delay = 1.0
        while not stop.is_set():
            try:
                if self.client is None:
                    await self.connect()
                await self.sync()
                delay = 1.0
                await self._wait(stop)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("IMAP poll of inbox %s failed; retrying", self.inbox.id)
                await self.close()
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, 300.0)
        await self.close()

    async def _last_uid(self, validity: int) -> int:
        stored = await read_cursor(self.db, self.inbox.id, self.key)
        if stored:
            seen_validity, _, uid = stored.partition(":")
            if seen_validity == str(validity) and uid.isdigit():
                return int(uid)
            # UIDVALIDITY changed: every UID is new; the Message-ID dedupe stores nothing twice.
            log.info(
                "inbox %s mailbox %s: UIDVALIDITY changed, resyncing", self.inbox.id, self.mailbox
            )
        return 0

    async def _take(self, uid: int, validity: int) -> None:
        response = _ok(await self.client.uid("fetch", str(uid), "(UID BODY.PEEK[])"), "fetch")
        raw = _literal(response.lines)
        cursor = CursorUpdate(self.inbox.id, self.key, f"{validity}:{uid}")
        if raw is None:
            await save_cursor(self.db, cursor)  # expunged meanwhile
            return
        items = self.connector.read(self.inbox, raw)
        for item in items:
            if isinstance(item, DeliveryUpdate):
                await record_delivery_status(
                    self.db, self.inbox.id, item.external_id, item.status, item.error
                )
        messages = [item for item in items if isinstance(item, InboundMessage)]
        try:
            if messages:
                await ingest(self.db, messages[0], self.settings)
        except (Invalid, TooLarge) as exc:
            # It can never be stored; left unseen in the mailbox for a person to look at.
            log.warning("inbox %s UID %s refused: %s", self.inbox.id, uid, exc)
            await save_cursor(self.db, cursor)
            return
        # Seen after the commit, and the cursor moves only then: a crash anywhere before the
        # cursor is saved fetches the mail again, ingest dedupes it, and it is marked then.
        await self.client.uid("store", str(uid), "+FLAGS", "(\\Seen)")
        await save_cursor(self.db, cursor)

    async def _wait(self, stop: asyncio.Event) -> None:
        if not self.client.has_capability("IDLE"):
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.poll_seconds)
            return
        idle = await self.client.idle_start(timeout=self.poll_seconds)
        stopping = asyncio.ensure_future(stop.wait())
        pushed = asyncio.ensure_future(self.client.wait_server_push(timeout=self.poll_seconds))
        try:
            await asyncio.wait({stopping, pushed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            pushed.cancel()
            self.client.idle_done()
            with suppress(Exception):
                await asyncio.wait_for(idle, 5)


def imap_tls(config: dict[str, Any]) -> ssl.SSLContext | None:
    """The TLS settings of an inbox's IMAP connection; None only for `imap_security: none`.

    Implicit TLS is the default, certificates are always verified (against `imap_ca_file` when
    given), and STARTTLS is refused rather than quietly sending the password in clear:
    aioimaplib cannot upgrade a connection.
    """
    security = str(config.get("imap_security") or "tls").lower()
    if security == "none":
        return None
    if security != "tls":
        raise ImapError("imap_security must be tls or none (IMAP STARTTLS is not supported)")
    ca_file = str(config.get("imap_ca_file") or "") or None
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ImapError(f"imap_ca_file cannot be read: {type(exc).__name__}") from exc


def _ok(response: Any, what: str) -> Any:
    if response.result != "OK":
        raise ImapError(f"IMAP {what} failed: {response.result}")
    return response


def _uidvalidity(lines: list[Any]) -> int:
    for line in lines:
        found = _UIDVALIDITY.search(bytes(line))
        if found:
            return int(found.group(1))
    raise ImapError("the server announced no UIDVALIDITY")


def _numbers(lines: list[Any]) -> list[int]:
    numbers: list[int] = []
    for line in lines:
        text = bytes(line).decode("ascii", "replace")
        if text.upper().startswith("SEARCH"):
            text = text[6:]
        numbers += [int(n) for n in text.split() if n.isdigit()]
    return numbers


def _literal(lines: list[Any]) -> bytes | None:
    """The message bytes in a FETCH answer (aioimaplib hands the literal as a bytearray)."""
    for line in lines:
        if isinstance(line, bytearray):
            return bytes(line)
    return None


async def poll_mailbox(
    db: Database,
    settings: Settings,
    connector: EmailConnector,
    inbox: ChannelInbox,
    stop: asyncio.Event,
    **options: Any,
) -> None:
    """Run one poller for an inbox until `stop`; on PostgreSQL only where its lock is held."""
    poller = MailboxPoller(db, settings, connector, inbox, **options)
    # One poller per mailbox across workers: the others wait for the lock to free up.
    await run_exclusively(db, 7_341_000_000_000 + inbox.id, stop, lambda: poller.run(stop))
