"""Hot-path writes as plain SQL on one connection: a writer thread with group commit on SQLite.

The ORM over aiosqlite pays a thread hop and statement building for every statement, which
caps ingest far below the HTTP layer. Hot-path work (`ingest`) is written as synchronous Core
statements against a `Connection` instead and runs

- on SQLite in one dedicated thread on the stdlib driver, many callers' work in one
  transaction (each in its own savepoint, so one failure spoils nothing else), one commit;
- on PostgreSQL through `AsyncConnection.run_sync`, one transaction per call, as usual.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import Engine

from inbox.events import EventRecord, PendingEvent, append_events_sync

T = TypeVar("T")
log = logging.getLogger(__name__)
GROUP_SECONDS = 0.008  # a group commits and yields to the loop after this long
CHECKPOINT_SECONDS = 1.0


@dataclass
class SyncTx:
    """A synchronous write transaction: its connection and the events it appends."""

    conn: Connection
    dialect: str
    pending: list[PendingEvent] = field(default_factory=list)
    committed: list[EventRecord] = field(default_factory=list)

    def emit(self, type_: str, payload: dict[str, Any], inbox_ids: Any = ()) -> None:
        """Queue an event; it is written with this transaction and published after commit."""
        self.pending.append(PendingEvent(type_, payload, frozenset(inbox_ids)))


SyncWork = Callable[[SyncTx], T]


@dataclass
class _Job(Generic[T]):
    work: SyncWork[T]
    future: asyncio.Future[tuple[T, SyncTx]]


def run_in_tx(conn: Connection, dialect: str, work: SyncWork[T]) -> tuple[T, SyncTx]:
    """Do `work` and append its events on an open transaction."""
    tx = SyncTx(conn, dialect)
    value = work(tx)
    tx.committed = append_events_sync(conn, tx.pending, dialect)
    return value, tx


class SqliteWriter:
    """Owns SQLite's write connection; concurrent callers share its transactions.

    The statements run on the event loop itself. In WAL mode with synchronous=NORMAL a commit
    only appends to the log in the page cache, microseconds, while a writer thread would
    trade the GIL with the loop on every statement and wait out the switch interval each time
    the loop is busy (the convoy that made ingest slow under load). What can take long, the
    checkpoint's fsync, is taken off the commit and done in a thread every second instead.
    """

    def __init__(self, url: str, lock: asyncio.Lock, pragmas: Callable[[Any, Any], None]) -> None:
        self.engine = _sync_engine(url, pragmas)
        self.lock = lock
        self._conn: Connection | None = None
        self._jobs: list[_Job[Any]] = []
        self._draining = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._checkpoints: asyncio.Task[None] | None = None

    async def submit(self, work: SyncWork[T]) -> tuple[T, SyncTx]:
        """Run `work` in the next group transaction; returns once it is committed."""
        loop = asyncio.get_running_loop()
        job: _Job[T] = _Job(work, loop.create_future())
        self._jobs.append(job)
        if not self._draining:
            # Started on the next loop turn, so requests arriving meanwhile join the group.
            self._draining = True
            task = loop.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if self._checkpoints is None:
            self._checkpoints = loop.create_task(self._checkpoint_every(CHECKPOINT_SECONDS))
        return await job.future

    async def _drain(self) -> None:
        try:
            while self._jobs:
                # The ORM's writes take the same turn, so the two never wait on the file lock.
                async with self.lock:
                    done = self._run_group()
                for job, outcome in done:
                    if job.future.done():
                        continue
                    if isinstance(outcome, BaseException):
                        job.future.set_exception(outcome)
                    else:
                        job.future.set_result(outcome)
                await asyncio.sleep(0)  # let the loop serve sockets between groups
        finally:
            self._draining = False

    def _run_group(self) -> list[tuple[_Job[Any], Any]]:
        """One transaction over queued jobs, each in a savepoint, for at most GROUP_SECONDS."""
        conn = self._connection()
        deadline = time.monotonic() + GROUP_SECONDS
        done: list[tuple[_Job[Any], Any]] = []
        try:
            with conn.begin():
                while self._jobs and time.monotonic() < deadline:
                    job = self._jobs.pop(0)
                    # Plain SAVEPOINTs on the driver: SQLAlchemy's nested transactions cost
                    # more than the statements of a whole message.
                    driver = conn.connection.driver_connection
                    assert driver is not None
                    driver.execute("SAVEPOINT job")
                    try:
                        done.append((job, run_in_tx(conn, "sqlite", job.work)))
                    except Exception as exc:
                        driver.execute("ROLLBACK TO job")
                        done.append((job, exc))
                    driver.execute("RELEASE job")
        except Exception as exc:  # the commit itself failed: nothing of the group was stored
            return [(job, exc) for job, _ in done]
        return done

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.closed:
            self._conn = self.engine.connect()
        return self._conn

    async def _checkpoint_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await asyncio.to_thread(self._checkpoint)
            except Exception:
                log.warning("WAL checkpoint failed; trying again later", exc_info=True)

    def _checkpoint(self) -> None:
        # A raw connection: outside any transaction, as a checkpoint must be.
        raw = self.engine.raw_connection()
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            raw.close()

    def close(self) -> None:
        if self._checkpoints is not None:
            self._checkpoints.cancel()
        if self._conn is not None:
            self._conn.close()
        self.engine.dispose()


def _sync_engine(url: str, pragmas: Callable[[Any, Any], None]) -> Engine:
    engine = create_engine(
        url.replace("sqlite+aiosqlite", "sqlite+pysqlite", 1),
        connect_args={"timeout": 30, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        pragmas(dbapi_connection, record)
        # Commits never checkpoint (an fsync) on the loop; _checkpoint_every does it aside.
        dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")
        # The stdlib driver's own transaction handling breaks savepoints; SQLAlchemy's
        # documented remedy is to turn it off and emit BEGIN ourselves.
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
