"""Fixtures: a migrated database per test (SQLite, or PostgreSQL when INBOX_TEST_DATABASE_URL is
set), the app served by a real uvicorn on loopback, and small factories."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from inbox.db import Database
from inbox.settings import Settings
from web import migrate
from web.app import create_app, server_options

BASE_PG_URL = os.environ.get("INBOX_TEST_DATABASE_URL")
# Each run works in its own database beside the given one, so runs started at the same time
# (several checkouts, CI and a developer) never truncate each other's tables.
PG_URL = f"{BASE_PG_URL}_run{os.getpid()}" if BASE_PG_URL else None
REDIS_URL = os.environ.get("INBOX_TEST_REDIS_URL")


def pytest_report_header(config: pytest.Config) -> list[str]:
    database = f"PostgreSQL {PG_URL}" if PG_URL else "SQLite (INBOX_TEST_DATABASE_URL unset)"
    bus = f"Redis {REDIS_URL}" if REDIS_URL else "in-process (INBOX_TEST_REDIS_URL unset)"
    return [f"database: {database}", f"event bus: {bus}"]


@pytest.fixture(scope="session")
def _schema(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> str:
    """Migrate once per run: a template SQLite file, or a fresh PostgreSQL schema."""
    if PG_URL:
        asyncio.run(_pg_database("CREATE"))
        request.addfinalizer(lambda: asyncio.run(_pg_database("DROP")))
        migrate.upgrade(PG_URL)
        return PG_URL
    template = tmp_path_factory.mktemp("template") / "inbox.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{template}")
    return str(template)


async def _pg_database(verb: str) -> None:
    assert BASE_PG_URL and PG_URL
    engine = create_async_engine(BASE_PG_URL, isolation_level="AUTOCOMMIT")
    name = PG_URL.rsplit("/", 1)[1]
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if verb == "CREATE":
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()


@pytest.fixture
async def database_url(_schema: str, tmp_path: Path) -> str:
    """An empty, migrated database for this test."""
    if PG_URL:
        engine = create_async_engine(PG_URL)
        async with engine.begin() as conn:
            # Every table the revisions made, so new tables need no edit here.
            tables = (
                await conn.execute(
                    text(
                        "SELECT string_agg(quote_ident(tablename), ', ') FROM pg_tables "
                        "WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                    )
                )
            ).scalar_one()
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        await engine.dispose()
        return PG_URL
    path = tmp_path / "inbox.db"
    shutil.copy(_schema, path)
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        redis_url=REDIS_URL,
        public_url="http://inbox.test",
        default_region="KR",
        outbox_backoff_seconds=0.05,
    )


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = Database(settings.database_url)
    yield database
    await database.dispose()


class LiveServer:
    """The real app on a loopback port, served by uvicorn in this test's event loop."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.runtime = self.app.state.runtime
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, **server_options(), lifespan="on")
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LiveServer:
        if self.settings.redis_url:
            await _forget_login_failures(self.settings.redis_url)
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        while not self.server.started:
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task
        self.sock.close()

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=10.0)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"


async def _forget_login_failures(redis_url: str) -> None:
    """Login throttling counts per IP, and every test logs in from 127.0.0.1."""
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    keys = [key async for key in redis.scan_iter("INBOX_LOGIN*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[LiveServer]:
    async with LiveServer(settings) as live:
        yield live
