"""`inbox worker`: the outbox dispatcher as its own process (PostgreSQL + Redis deployments)."""

from __future__ import annotations

import asyncio
import logging
import signal

from inbox.settings import Settings
from web.bus import BusEvent, subscribe
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
    if settings.redis_url:
        runtime.start_task(_wake_on_replies(runtime))
    log.info("worker started (database %s)", runtime.db.dialect)
    await stopped.wait()
    await runtime.stop()


async def _wake_on_replies(runtime: Runtime) -> None:
    """Send a reply queued by a web process now, not at the dispatcher's next look."""
    while not runtime.stopping.is_set():
        try:
            async for event in subscribe(runtime.backend):
                if _queues_a_send(event):
                    runtime.dispatcher.wake()
        except Exception:  # Redis away for a moment: the dispatcher still polls meanwhile
            log.warning("lost the event bus; listening again shortly", exc_info=True)
            await asyncio.sleep(1.0)


def _queues_a_send(event: BusEvent) -> bool:
    if event.type not in ("message.created", "message.updated"):
        return False
    payload = event.payload
    return payload.get("direction") == "out" and payload.get("status") == "queued"
