"""Work one process at a time may do (polling one mailbox): across workers on PostgreSQL a
second holder waits for the first, and gives up when told to stop."""

import asyncio

import pytest

from inbox.db import Database
from inbox.locks import run_exclusively

KEY = 7_341_000_999_001


async def test_a_second_worker_waits_for_the_first_and_stops_when_told(db, settings):
    if db.dialect != "postgresql":
        pytest.skip("one process on SQLite: nothing to exclude (see the next test)")
    other = Database(settings.database_url)  # a second worker process's own pool
    order: list[str] = []
    release = asyncio.Event()

    async def first() -> None:
        order.append("first starts")
        await release.wait()
        order.append("first ends")

    async def second() -> None:
        order.append("second starts")

    never = asyncio.Event()
    try:
        holding = asyncio.create_task(run_exclusively(db, KEY, never, first))
        while not order:
            await asyncio.sleep(0.01)
        waiting = asyncio.create_task(run_exclusively(other, KEY, never, second, 0.05))
        await asyncio.sleep(0.3)
        assert order == ["first starts"]  # the lock is held: the second has not begun
        release.set()
        await asyncio.wait_for(asyncio.gather(holding, waiting), 5)
        assert order == ["first starts", "first ends", "second starts"]

        stop = asyncio.Event()
        release.clear()
        holding = asyncio.create_task(run_exclusively(db, KEY, never, first))
        while len(order) < 4:
            await asyncio.sleep(0.01)
        given_up = asyncio.create_task(run_exclusively(other, KEY, stop, second, 0.05))
        stop.set()
        await asyncio.wait_for(given_up, 5)
        release.set()
        await holding
        assert order.count("second starts") == 1  # stopped while waiting: never ran
    finally:
        await other.dispose()


async def test_on_sqlite_the_work_runs_at_once(db):
    if db.dialect != "sqlite":
        pytest.skip("SQLite only")
    ran: list[bool] = []

    async def work() -> None:
        ran.append(True)

    await asyncio.wait_for(run_exclusively(db, KEY, asyncio.Event(), work), 1)
    assert ran == [True]
