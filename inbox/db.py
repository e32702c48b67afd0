"""The database: engines, one write transaction at a time on SQLite, events after commit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, nullcontext
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.events import EventPublisher, EventRecord, NullPublisher, PendingEvent, append_events
from inbox.writer import SqliteWriter, SyncTx, SyncWork, run_in_tx

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock


class Tx:
    """One write transaction: its session, the events it appends, what runs after commit."""

    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session = session
        self.dialect = dialect
        self.pending: list[PendingEvent] = []
        self.after_commit: list[Callable[[], Any]] = []
        self.committed: list[EventRecord] = []

    def emit(self, type_: str, payload: dict[str, Any], inbox_ids: Any = ()) -> None:
        """Queue an event; it is written with this transaction and published after commit."""
        self.pending.append(PendingEvent(type_, payload, frozenset(inbox_ids)))


class Database:
    """Connection pool, write transactions and the publisher of committed events."""

    def __init__(self, url: str, publisher: EventPublisher | None = None, echo: bool = False):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.dialect = "sqlite" if self.is_sqlite else "postgresql"
        self.engine: AsyncEngine = _make_engine(url, echo)
        self.sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        # Reads need no transaction: under READ COMMITTED each statement has its own snapshot
        # anyway, and without one PostgreSQL is spared a BEGIN and a ROLLBACK round trip each.
        reader = (
            self.engine
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self.read_sessions = async_sessionmaker(reader, class_=AsyncSession, expire_on_commit=False)
        self.publisher: EventPublisher = publisher or NullPublisher()
        # SQLite has one writer; taking turns here avoids "database is locked" under load.
        self._write_lock: asyncio.Lock | None = asyncio.Lock() if self.is_sqlite else None
        self._writer: SqliteWriter | None = None

    async def dispose(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        await self.engine.dispose()

    async def ping(self) -> None:
        """Raise unless the database answers."""
        async with self.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for queries; it writes nothing."""
        async with self.read_sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Tx]:
        """A transaction that commits on success, then publishes its events."""
        async with self._write_lock or nullcontext():
            async with self.sessions() as session:
                await session.begin()
                tx = Tx(session, self.dialect)
                try:
                    yield tx
                    tx.committed = await append_events(session, tx.pending, self.dialect)
                    await session.commit()
                except BaseException:
                    await session.rollback()
                    raise
        await self._after_commit(tx)

    async def run_write(self, work: Callable[[Tx], Awaitable[T]], attempts: int = 5) -> T:
        """Run `work` in a write transaction, retrying races the database settles for us."""
        for attempt in range(1, attempts + 1):
            try:
                async with self.write() as tx:
                    return await work(tx)
            except (IntegrityError, OperationalError, DBAPIError) as exc:
                if attempt == attempts or not _retryable(exc):
                    raise
                log.debug("retrying write after %s (attempt %d)", type(exc).__name__, attempt)
                await asyncio.sleep(0.005 * attempt)
        raise AssertionError("unreachable")

    async def run_sync_write(self, work: SyncWork[T], attempts: int = 5) -> T:
        """Run hot-path `work` (synchronous Core statements) in a write transaction."""
        if self._write_lock is not None:
            if self._writer is None:
                self._writer = SqliteWriter(self.url, self._write_lock, _sqlite_pragmas)
            value, tx = await self._writer.submit(work)
            await self._after_commit(tx)
            return value
        for attempt in range(1, attempts + 1):
            try:
                async with self.engine.begin() as conn:
                    value, tx = await conn.run_sync(run_in_tx, self.dialect, work)
                await self._after_commit(tx)
                return value
            except (IntegrityError, OperationalError, DBAPIError) as exc:
                if attempt == attempts or not _retryable(exc):
                    raise
                await asyncio.sleep(0.005 * attempt)
        raise AssertionError("unreachable")

    async def _after_commit(self, tx: Tx | SyncTx) -> None:
        if tx.committed:
            try:
                await self.publisher.publish(tx.committed)
            except Exception:  # the change is committed; a reconnecting client catches up
                log.exception("publishing %d events failed", len(tx.committed))
        for hook in getattr(tx, "after_commit", ()):
            result = hook()
            if asyncio.iscoroutine(result):
                await result


def _retryable(exc: Exception) -> bool:
    """Races worth another attempt: unique collisions, deadlocks, a busy SQLite file."""
    orig = getattr(exc, "orig", None)
    code = getattr(orig, "sqlstate", None) or getattr(
        getattr(orig, "__cause__", None), "sqlstate", None
    )
    if code in RETRYABLE_SQLSTATES:
        return True
    message = str(exc)
    if isinstance(exc, IntegrityError):
        # Another transaction inserted the same key first; a foreign key or NOT NULL failure
        # would fail again.
        return code == "23505" or "UNIQUE constraint failed" in message
    return "database is locked" in message


def _make_engine(url: str, echo: bool) -> AsyncEngine:
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, echo=echo, pool_size=10, max_overflow=10, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
