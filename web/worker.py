"""`inbox worker`: the outbox dispatcher as its own process (PostgreSQL + Redis deployments)."""

from __future__ import annotations

import asyncio
import logging
import signal

from inbox.settings import Settings
from web.runtime import Runtime

log = logging.getLogger(__name__)


async def run_worker(settings: Settings) -> None:
    """Dispatch the outbox until SIGTERM or SIGINT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    runtime = Runtime(settings, dispatch=True)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopped.set)
    await runtime.start()
    log.info("worker started (database %s)", runtime.db.dialect)
    await stopped.wait()
    await runtime.stop()
