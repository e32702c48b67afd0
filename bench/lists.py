"""Conversation list, timeline, conversation messages and search at scale, via the HTTP API.

Budget (DESIGN.md): < 50 ms p95 at 100,000 conversations and 1,000,000 messages, on SQLite
and PostgreSQL, for an admin and for an agent who belongs to some of the inboxes.

    .venv/bin/python bench/lists.py --scale 0.1          # 10,000 conversations, 100,000 messages
    .venv/bin/python bench/lists.py                      # full scale on SQLite (loads once)
    .venv/bin/python bench/lists.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench

The data comes from `inbox demo --customers N --messages M` (the demo story, six inboxes, then
N customers with one conversation each and M messages). A SQLite file is kept in /tmp and
reused by later runs at the same scale (--reload starts over); the PostgreSQL database `bench`
is created when missing and reloaded when its size does not match the scale. Every request
goes to `inbox serve` running as a subprocess and is timed by a client in this process, one at
a time (latency, not throughput); each percentile is over --samples requests after a warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import _common as c
import httpx

TARGET_MS = 50.0
AGENT_EMAIL = "bench-agent@example.com"
ADMIN_EMAIL = "bench-admin@example.com"


@dataclass
class Query:
    name: str
    paths: list[str]  # one per sample, cycled
    timings: list[float] = field(default_factory=list)
    items: list[int] = field(default_factory=list)


async def _db_facts(url: str, agent_inboxes: int, rng: random.Random) -> dict[str, Any]:
    from sqlalchemy import text

    from inbox.db import Database

    db = Database(url)
    try:
        async with db.engine.connect() as s:  # plain SQLAlchemy: sqlmodel warns on text()
            conversations = await s.scalar(text("SELECT COUNT(*) FROM conversation"))
            messages = await s.scalar(text("SELECT COUNT(*) FROM message"))
            inboxes = [r[0] for r in await s.execute(text("SELECT id FROM inbox ORDER BY id"))]
            mine = inboxes[:agent_inboxes]
            in_list = ",".join(str(i) for i in mine) or "0"
            # Random samples, drawn once; ORDER BY random() over 100,000 rows is fine here.
            rows = await s.execute(
                text(
                    "SELECT id, customer_id, inbox_id FROM conversation ORDER BY random() LIMIT 400"
                )
            )
            sample = [tuple(r) for r in rows]
            rows = await s.execute(
                text(
                    "SELECT id, customer_id FROM conversation "
                    f"WHERE inbox_id IN ({in_list}) ORDER BY random() LIMIT 400"
                )
            )
            agent_sample = [tuple(r) for r in rows]
    finally:
        await db.dispose()
    rng.shuffle(sample)
    return {
        "conversations": int(conversations or 0),
        "messages": int(messages or 0),
        "inboxes": inboxes,
        "agent_inboxes": mine,
        "sample": sample,
        "agent_sample": agent_sample,
    }


async def _ensure_labels(url: str) -> None:
    """Label every 10th conversation `refund` and every 1,000th `vip` (once per database)."""
    from sqlalchemy import text

    from inbox.db import Database

    db = Database(url)
    try:
        async with db.write() as tx:
            conn = await tx.session.connection()
            if (await conn.execute(text("SELECT COUNT(*) FROM label"))).scalar():
                return
            now = datetime.now(UTC)
            for name, every in (("refund", 10), ("vip", 1000)):
                await conn.execute(
                    text("INSERT INTO label (name, created_at) VALUES (:n, :t)"),
                    {"n": name, "t": now},
                )
                await conn.execute(
                    text(
                        "INSERT INTO conversation_label (conversation_id, label_id, created_at) "
                        "SELECT c.id, l.id, :t FROM conversation c, label l "
                        f"WHERE l.name = :n AND c.id % {every} = 0"
                    ),
                    {"n": name, "t": now},
                )
        # Statistics for the new rows now, as autovacuum would give them a minute later: the
        # planner would otherwise think a label has no conversations and sort all of them.
        async with db.write() as tx:
            conn = await tx.session.connection()
            await conn.execute(text("ANALYZE"))
    finally:
        await db.dispose()


def facts(url: str, agent_inboxes: int, seed: int) -> dict[str, Any]:
    return asyncio.run(_db_facts(url, agent_inboxes, random.Random(seed)))


def ensure_postgres_database(url: str) -> None:
    parts = urlsplit(url.replace("+asyncpg", ""))
    name = parts.path.lstrip("/")
    if name == "test":
        raise SystemExit("refusing to use the database named `test` (the tests own it)")
    base = [
        "psql",
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
        "-tAc",
    ]
    exists = subprocess.run(
        [*base, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if exists != "1":
        subprocess.run([*base, f'CREATE DATABASE "{name}"'], check=True, capture_output=True)
        print(f"created PostgreSQL database {name}")


def reset_postgres_database(url: str) -> None:
    parts = urlsplit(url.replace("+asyncpg", ""))
    name = parts.path.lstrip("/")
    if name == "test":
        raise SystemExit("refusing to use the database named `test` (the tests own it)")
    base = [
        "psql",
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
        "-tAc",
    ]
    subprocess.run(
        [*base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'], check=True, capture_output=True
    )
    subprocess.run([*base, f'CREATE DATABASE "{name}"'], check=True, capture_output=True)


def prepare(args: argparse.Namespace) -> str:
    """The database URL, migrated and loaded with the demo plus bulk data at this scale."""
    customers = int(100_000 * args.scale)
    messages = int(1_000_000 * args.scale)
    if args.database_url:
        url = args.database_url
        if url.startswith("postgresql"):
            ensure_postgres_database(url)
    else:
        path = Path(f"/tmp/inbox-bench-lists-{args.scale:g}.db")
        if args.reload:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite+aiosqlite:///{path}"
    c.cli(url, "migrate")
    have = facts(url, 0, 0)
    loaded = have["conversations"] >= customers and have["messages"] >= messages
    if loaded and not args.reload:
        print(f"reusing {have['conversations']:,} conversations, {have['messages']:,} messages")
        return url
    if have["conversations"] and url.startswith("postgresql"):
        reset_postgres_database(url)
        c.cli(url, "migrate")
    elif have["conversations"]:
        raise SystemExit(f"{url} holds other data; pass --reload to start over")
    print(
        f"loading {customers:,} customers/conversations and {messages:,} messages ...", flush=True
    )
    started = time.monotonic()
    subprocess.run(
        [c.INBOX, "demo", "--customers", str(customers), "--messages", str(messages)],
        env=c.inbox_env(url),
        check=True,
        stdout=sys.stdout,
        stderr=sys.stderr,
    )
    print(f"loaded in {time.monotonic() - started:.0f} s")
    if url.startswith("postgresql"):
        subprocess.run(
            ["psql", *_psql_target(url), "-c", "VACUUM ANALYZE"], check=True, capture_output=True
        )
    else:
        import sqlite3

        with sqlite3.connect(url.split("///", 1)[1]) as conn:
            conn.execute("ANALYZE")
    return url


def _psql_target(url: str) -> list[str]:
    parts = urlsplit(url.replace("+asyncpg", ""))
    return [
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or "postgres",
        "-d",
        parts.path.lstrip("/"),
    ]


def deep_cursor(client: httpx.Client, path: str, pages: int) -> tuple[str, int]:
    """Follow `next` cursors `pages` times; the path of the page reached and its depth."""
    cursor = None
    depth = 0
    for depth in range(pages):  # noqa: B007 (the depth reached is returned)
        sep = "&" if "?" in path else "?"
        response = client.get(path + (f"{sep}cursor={cursor}" if cursor else ""))
        response.raise_for_status()
        nxt = response.json()["next"]
        if not nxt:
            break
        cursor = nxt
    if cursor is None:
        return path, 0
    sep = "&" if "?" in path else "?"
    return f"{path}{sep}cursor={cursor}", depth + 1


def plan(
    client: httpx.Client, data: dict[str, Any], admin: bool, args: argparse.Namespace
) -> list[Query]:
    sample = data["sample"] if admin else data["agent_sample"]
    inbox_id = data["inboxes"][0] if admin else data["agent_inboxes"][0]
    conv = [row[0] for row in sample]
    customers = [row[1] for row in sample]
    base = "/api/v1/conversations"
    deep, depth = deep_cursor(client, base, args.deep_pages)
    return [
        Query("conversations page 1", ["/api/v1/conversations"]),
        Query(f"conversations page {depth + 1} (cursor)", [deep]),
        Query("conversations ?status=open", ["/api/v1/conversations?status=open"]),
        Query(f"conversations ?inbox_id={inbox_id}", [f"{base}?inbox_id={inbox_id}"]),
        Query("conversations ?assignee=none", ["/api/v1/conversations?assignee=none"]),
        Query("conversations ?assignee=me&status=open", [f"{base}?assignee=me&status=open"]),
        Query("conversations ?assignee=none&status=open", [f"{base}?assignee=none&status=open"]),
        Query("conversations ?label=refund (1 in 10)", [f"{base}?label=refund"]),
        Query("conversations ?label=vip (1 in 1,000)", [f"{base}?label=vip"]),
        Query(
            f"conversations ?inbox_id={inbox_id}&status=open&label=refund",
            [f"{base}?inbox_id={inbox_id}&status=open&label=refund"],
        ),
        Query("customer timeline", [f"/api/v1/customers/{i}/timeline" for i in customers]),
        Query("conversation messages", [f"/api/v1/conversations/{i}/messages" for i in conv]),
        Query("search ?q=refund", ["/api/v1/search?q=refund"]),
        Query("search ?q=배송", ["/api/v1/search?q=배송"]),
        Query("search ?q=환불 (2nd)", ["/api/v1/search?q=환불"]),
    ]


def time_queries(client: httpx.Client, queries: list[Query], samples: int, warmup: int) -> None:
    for q in queries:
        for n in range(warmup + samples):
            path = q.paths[n % len(q.paths)]
            t0 = time.perf_counter()
            response = client.get(path)
            elapsed = (time.perf_counter() - t0) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"GET {path} -> {response.status_code}: {response.text[:300]}")
            if n >= warmup:
                q.timings.append(elapsed)
                if not response.headers.get("content-type", "").startswith("application/json"):
                    q.items.append(response.text.count("<li data-conversation="))
                    continue
                body = response.json()
                q.items.append(len(body.get("items", body.get("messages", []))))


def page_queries() -> list[Query]:
    """The agent UI's list page (cards, unread, labels), the views' counts it asks for next
    (a request of its own, see web/ui/list_page.py), and the search page."""
    return [
        Query("UI list /?view=all&status=open", ["/?view=all&status=open"]),
        Query("UI list /?view=unassigned&status=open", ["/?view=unassigned&status=open"]),
        Query("UI list /?status=&label=vip", ["/?status=&label=vip"]),
        Query("UI counts /view-counts?status=open", ["/view-counts?view=all&status=open"]),
        Query("UI counts /view-counts?status=&label=vip", ["/view-counts?status=&label=vip"]),
        Query("UI search /search?q=refund", ["/search?q=refund"]),
        Query("UI search /search?q=배송", ["/search?q=배송"]),
    ]


def signed_in(port: int, email: str) -> httpx.Client:
    """A browser-like client with the agent's session cookie."""
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
    form = client.get("/login").text
    token = form.split('name="_csrf_token" value="', 1)[1].split('"', 1)[0]
    client.post(
        "/login",
        data={"email": email, "password": "bench-password-1", "_csrf_token": token, "next": "/"},
    )
    return client


def report(label: str, queries: list[Query]) -> list[tuple[str, float]]:
    print(f"\n{label}")
    print(f"  {'query':42} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'items':>6}")
    misses = []
    for q in queries:
        p50, p95 = c.percentile(q.timings, 50), c.percentile(q.timings, 95)
        flag = "" if p95 < TARGET_MS else "  <-- over budget"
        if flag:
            misses.append((q.name, p95))
        items = sum(q.items) / max(len(q.items), 1)
        print(f"  {q.name:42} {p50:8.1f} {p95:8.1f} {max(q.timings):8.1f} {items:6.0f}{flag}")
    return misses


def main() -> int:
    parser = argparse.ArgumentParser(description="lists, timeline and search at scale")
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="1.0 = 100,000 conversations and 1,000,000 messages",
    )
    parser.add_argument("--database-url", help="default: a SQLite file in /tmp, reused")
    parser.add_argument("--reload", action="store_true", help="drop and load the data again")
    parser.add_argument("--samples", type=int, default=40, help="timed requests per query")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per query")
    parser.add_argument("--deep-pages", type=int, default=40, help="cursor pages to walk")
    parser.add_argument("--agent-inboxes", type=int, default=2, help="inboxes of the agent")
    parser.add_argument("--port", type=int, default=8630)
    args = parser.parse_args()

    print(f"lists benchmark on {c.machine()}; load average {os.getloadavg()[0]:.2f}")
    url = prepare(args)
    admin = c.agent_token(url, ADMIN_EMAIL, "Bench Admin", admin=True)
    agent = c.agent_token(url, AGENT_EMAIL, "Bench Agent")
    asyncio.run(_ensure_labels(url))
    data = facts(url, args.agent_inboxes, seed=11)
    for inbox_id in data["agent_inboxes"]:
        c.cli(url, "add-member", "--agent", AGENT_EMAIL, "--inbox", str(inbox_id), check=False)
    dialect = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(
        f"{dialect}: {data['conversations']:,} conversations, {data['messages']:,} messages, "
        f"{len(data['inboxes'])} inboxes; agent belongs to inboxes {data['agent_inboxes']}"
    )

    port = c.free_port(args.port)
    log = Path(f"/tmp/inbox-bench-lists-server-{port}.log")
    server = c.start_inbox(url, port, log=log)
    misses: list[tuple[str, float]] = []
    try:
        for who, token, is_admin in (
            ("admin", admin["token"], True),
            ("agent (2 of 6 inboxes)", agent["token"], False),
        ):
            with httpx.Client(
                base_url=f"http://127.0.0.1:{port}",
                timeout=120,
                headers={"Authorization": f"Bearer {token}"},
            ) as client:
                queries = plan(client, data, is_admin, args)
                time_queries(client, queries, args.samples, args.warmup)
            misses += [(f"{who}: {n}", p) for n, p in report(f"{dialect}, as {who}", queries)]
        for who, email in (("admin", ADMIN_EMAIL), ("agent (2 of 6 inboxes)", AGENT_EMAIL)):
            client = signed_in(port, email)
            try:
                pages = page_queries()
                time_queries(client, pages, args.samples, args.warmup)
            finally:
                client.close()
            misses += [(f"{who}: {n}", p) for n, p in report(f"{dialect} pages, {who}", pages)]
    finally:
        c.stop(server)
    if misses:
        print(f"\nRESULT {len(misses)} queries over the {TARGET_MS:.0f} ms p95 budget:")
        for name, p95 in misses:
            print(f"  {name}: p95 {p95:.1f} ms")
    else:
        print(f"\nRESULT every query under {TARGET_MS:.0f} ms p95")
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
