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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import Engine

from inbox.events import EventRecord, PendingEvent, append_events_sync

T = TypeVar("T")
BATCH = 64


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
    """One thread owns the write connection; concurrent callers share its transactions."""

    def __init__(self, url: str, lock: asyncio.Lock, pragmas: Callable[[Any, Any], None]) -> None:
        self.engine = _sync_engine(url, pragmas)
        self.lock = lock
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="inbox-writer")
        self._jobs: list[_Job[Any]] = []
        self._draining = False
        self._task: asyncio.Task[None] | None = None

    async def submit(self, work: SyncWork[T]) -> tuple[T, SyncTx]:
        """Run `work` in the next group transaction; returns once it is committed."""
        loop = asyncio.get_running_loop()
        job: _Job[T] = _Job(work, loop.create_future())
        self._jobs.append(job)
        if not self._draining:
            self._draining = True
            self._task = loop.create_task(self._drain())
        return await job.future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._jobs:
                batch, self._jobs = self._jobs[:BATCH], self._jobs[BATCH:]
                try:
                    # The ORM's writes take the same turn, so the two never wait on the file lock.
                    async with self.lock:
                        outcomes = await loop.run_in_executor(self._executor, self._run, batch)
                except BaseException as exc:  # the commit itself failed: nothing was stored
                    outcomes = [exc] * len(batch)
                for job, outcome in zip(batch, outcomes, strict=True):
                    if job.future.done():
                        continue
                    if isinstance(outcome, BaseException):
                        job.future.set_exception(outcome)
                    else:
                        job.future.set_result(outcome)
        finally:
            self._draining = False

    def _run(self, batch: list[_Job[Any]]) -> list[Any]:
        outcomes: list[Any] = []
        with self.engine.connect() as conn, conn.begin():
            for job in batch:
                savepoint = conn.begin_nested()
                try:
                    outcomes.append(run_in_tx(conn, "sqlite", job.work))
                    savepoint.commit()
                except Exception as exc:
                    savepoint.rollback()
                    outcomes.append(exc)
        return outcomes

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.engine.dispose()


def _sync_engine(url: str, pragmas: Callable[[Any, Any], None]) -> Engine:
    engine = create_engine(
        url.replace("sqlite+aiosqlite", "sqlite+pysqlite", 1),
        connect_args={"timeout": 30, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        pragmas(dbapi_connection, record)
        # The stdlib driver's own transaction handling breaks savepoints; SQLAlchemy's
        # documented remedy is to turn it off and emit BEGIN ourselves.
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
