"""Work that one process at a time may do, such as polling one mailbox, across every worker."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import suppress

from sqlalchemy import text

from inbox.db import Database

_TRY = text("SELECT pg_try_advisory_lock(:k)")
_RELEASE = text("SELECT pg_advisory_unlock(:k)")


async def run_exclusively(
    db: Database,
    key: int,
    stop: asyncio.Event,
    work: Callable[[], Awaitable[None]],
    retry_seconds: float = 30,
) -> None:
    """Run `work` once this process holds the lock `key` (waiting while another holds it), or
    not at all if `stop` is set first. On SQLite there is one process, so it runs at once."""
    if db.dialect != "postgresql":
        await work()
        return
    # A session-level lock on a connection of its own: it lasts as long as the work, however
    # many transactions the work commits, and dies with the process if it crashes.
    async with db.engine.connect() as conn:
        while not stop.is_set():
            got = await conn.scalar(_TRY, {"k": key})
            await conn.commit()
            if got:
                try:
                    await work()
                finally:
                    await conn.execute(_RELEASE, {"k": key})
                    await conn.commit()
                return
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), retry_seconds)
