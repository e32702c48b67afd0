"""The FAQ bot: follows the event log and reacts to each new customer message.

It runs in the process that dispatches the outbox. Its cursor lives in `faq_state`; matching
happens outside any transaction, then one transaction locks the cursor row (PostgreSQL), checks
that no other worker moved it, applies the policy to each message with fresh state, writes the
answers through the outgoing-message path and advances the cursor — so each event is handled
once, even with several workers and across restarts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from inbox.db import Database, Tx
from inbox.events import EventRecord, events_since, last_seq
from inbox.faq.index import Snapshot, knowledge_base
from inbox.faq.matcher import Match
from inbox.faq.models import FaqEntry, FaqState
from inbox.faq.reaction import react
from inbox.faq.state import lock_state, write_state
from inbox.models import Author, Direction

log = logging.getLogger(__name__)
CURSOR = "bot_cursor"
BATCH = 200
STORE_SECONDS = 10.0  # how stale the stored cursor may get while no message needs the bot
MAX_AGE = timedelta(hours=1)  # after an outage, stale questions go to agents, not the bot


@dataclass(frozen=True)
class Candidate:
    """A customer message from the log and the best entry for it (if any)."""

    payload: dict[str, Any]
    best: tuple[FaqEntry, Match] | None


class FaqBot:
    """Answers what it is sure of, hands the rest to agents."""

    def __init__(self, db: Database, poll_seconds: float = 0.2) -> None:
        self.db = db
        self.poll_seconds = poll_seconds
        self.kb = knowledge_base(db.url)
        # Where this worker has read to, and what it last stored: events that need no
        # reaction move only the first, and the row is written a few times a minute.
        self._read: int | None = None
        self._stored: int | None = None
        self._stored_at = 0.0

    async def prepare(self) -> None:
        """On a database the bot never ran on, start at the end of the log, not its history."""
        async with self.db.read() as session:
            if await session.get(FaqState, CURSOR) is not None:
                return
            seq = await last_seq(session)
        await self.db.run_write(lambda tx: _start_cursor(tx, seq))

    async def run(self, stop: asyncio.Event) -> None:
        """React to new events until `stop` is set."""
        while not stop.is_set():
            try:
                handled = await self.step()
            except Exception:
                log.exception("FAQ bot step failed; trying again shortly")
                handled = 0
            if handled < BATCH:
                # Caught up: wait a moment, so the cursor is written a few times a second
                # at most instead of once per burst of messages.
                try:
                    await asyncio.wait_for(stop.wait(), self.poll_seconds)
                except TimeoutError:
                    pass

    async def step(self) -> int:
        """Handle the next batch of events; returns how many were read."""
        async with self.db.read() as session:
            if self._read is None or self._stored is None:
                row = await session.get(FaqState, CURSOR)
                if row is None:
                    await self.prepare()
                    return 0
                self._read = self._stored = int(row.value or 0)
            # The log's end first, then the knowledge base: on PostgreSQL each statement sees
            # the latest commits, and a snapshot older than a message (an entry created just
            # before it, while a rebuild was encoding) would answer it with the old entries.
            newest = await last_seq(session)
            snapshot = await self.kb.current(session)
            if not snapshot.entries:
                # No knowledge base: skip the log's events unread instead of decoding them.
                self._read = max(self._read, newest)
                events = []
            else:
                events = await events_since(session, self._read, None, BATCH)
                events = [e for e in events if e.seq <= newest]  # later ones: the next step
            wanted = [e.payload for e in events if _from_customer(e)]
        last = events[-1].seq if events else self._read
        idle = last == self._stored or time.monotonic() - self._stored_at < STORE_SECONDS
        if not wanted and idle:
            self._read = last  # nothing to do about these; the row catches up later
            return len(events)
        candidates = await asyncio.to_thread(_match_all, snapshot, wanted) if wanted else []
        expected = self._stored
        moved = await self.db.run_write(
            lambda tx: self._apply(tx, expected, last, candidates, snapshot)
        )
        self._stored_at = time.monotonic()
        if moved:
            self._read = self._stored = last
        else:
            self._read = self._stored = None  # another worker moved it: read it again
        return len(events)

    async def _apply(
        self, tx: Tx, cursor: int, last: int, candidates: list[Candidate], snapshot: Snapshot | None
    ) -> bool:
        current = await lock_state(tx, CURSOR)
        if int(current or 0) != cursor:
            return False  # another worker handled these events
        for candidate in candidates:
            await react(tx, candidate.payload, candidate.best, snapshot, MAX_AGE)
        await write_state(tx, CURSOR, str(last))
        return True


def _from_customer(event: EventRecord) -> bool:
    payload = event.payload
    return (
        event.type == "message.created"
        and payload.get("author") == Author.customer
        and payload.get("direction") == Direction.inbound
    )


def _match_all(snapshot: Snapshot | None, payloads: list[dict[str, Any]]) -> list[Candidate]:
    out = []
    for payload in payloads:
        text = payload.get("stripped_text") or payload.get("text") or ""
        found = snapshot.rank(text, limit=1) if snapshot else []
        out.append(Candidate(payload, found[0] if found else None))
    return out


async def _start_cursor(tx: Tx, seq: int) -> None:
    if await lock_state(tx, CURSOR) is None:
        await write_state(tx, CURSOR, str(seq))
