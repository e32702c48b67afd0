"""The baseline of bench/ingest.py: a bare Litestar endpoint that parses JSON and inserts a row.

Same stack and style as the inbox: Litestar under uvicorn with its standard extras (uvloop,
httptools) and the same `uvicorn.run` settings as `inbox serve`, SQLAlchemy async sessions on
aiosqlite, WAL with synchronous=NORMAL, one writer at a time behind an asyncio.Lock (as
`inbox.db.Database.write` does), and a unique (inbox_id, external_id) key. It does none of the
inbox's work: no auth, no identity resolution, no threading, no search index, no event log.

    .venv/bin/python bench/bare_app.py --port 8610 --db /tmp/bare.db
"""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import uvicorn
from litestar import Litestar, MediaType, Request, Response, get, post
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    insert,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

metadata = MetaData()
bare_message = Table(
    "bare_message",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("inbox_id", Integer, nullable=False),
    Column("external_id", String(255), nullable=False),
    Column("customer", JSON, nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("inbox_id", "external_id"),
)


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_app(db_path: str) -> Litestar:
    engine = create_async_engine(f"sqlite+aiosqlite:///{db_path}", connect_args={"timeout": 30})
    event.listen(engine.sync_engine, "connect", _pragmas)
    sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
    write_lock = asyncio.Lock()

    async def startup() -> None:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

    async def shutdown() -> None:
        await engine.dispose()

    @get("/health", media_type=MediaType.JSON)
    async def health() -> dict[str, str]:
        async with sessions() as session:
            await session.execute(text("SELECT 1"))
        return {"status": "ok"}

    @post("/api/v1/inboxes/{inbox_id:int}/messages", status_code=201)
    async def post_message(request: Request[Any, Any, Any], inbox_id: int) -> Response[Any]:
        data = json.loads(await request.body())
        row = {
            "inbox_id": inbox_id,
            "external_id": str(data["external_id"]),
            "customer": data.get("customer") or {},
            "text": data.get("text", ""),
            "created_at": datetime.now(UTC),
        }
        async with write_lock, sessions() as session, session.begin():
            result = await session.execute(insert(bare_message).returning(bare_message.c.id), row)
            message_id = result.scalar_one()
        return Response({"message_id": message_id, "duplicate": False}, status_code=201)

    return Litestar(
        route_handlers=[health, post_message],
        on_startup=[startup],
        on_shutdown=[shutdown],
        debug=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="bare Litestar + SQLite insert endpoint")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8610)
    parser.add_argument("--db", required=True, help="SQLite file to write")
    args = parser.parse_args()
    # The same settings `inbox serve` passes to uvicorn.
    uvicorn.run(
        create_app(args.db),
        host=args.host,
        port=args.port,
        log_level="warning",
        ws="websockets-sansio",
    )


if __name__ == "__main__":
    main()
