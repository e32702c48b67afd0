"""Helpers for web tests: customers writing in through the API channel or a connector's
`ingest()`, waiting on the outbox, and a tiny HTTP peer that receives signed callbacks."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from inbox.ingest import IngestResult, ingest
from inbox.models import Inbox
from inbox.settings import Settings
from tests.factories import inbound

_seq = itertools.count(1)


async def customer_writes(
    server: Any,
    inbox: Inbox,
    text: str = "Hello, where is my order?",
    *,
    email: str | None = None,
    phone: str | None = None,
    name: str | None = None,
    external: str | None = None,
    external_id: str | None = None,
    sent_at: str | None = None,
) -> dict[str, Any]:
    """A customer's message posted by the integrator through the API channel (must be 201)."""
    customer: dict[str, Any] = {}
    for key, value in (
        ("email", email),
        ("phone", phone),
        ("name", name),
        ("external_id", external),
    ):
        if value is not None:
            customer[key] = value
    if not customer or customer.keys() == {"name"}:
        customer["email"] = f"customer{next(_seq)}@example.com"
    body: dict[str, Any] = {
        "external_id": external_id or f"web-{next(_seq)}",
        "customer": customer,
        "text": text,
    }
    if sent_at is not None:
        body["sent_at"] = sent_at
    async with server.client(inbox.token) as client:
        response = await client.post(f"/api/v1/inboxes/{inbox.id}/messages", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def arrives(
    db: Any, settings: Settings, inbox: Inbox, text: str = "Hello", **claims: Any
) -> IngestResult:
    """A message arriving on a non-API channel, as its connector hands it to ingest()."""
    return await ingest(db, inbound(inbox, text, **claims), settings)


async def messages_of(client: httpx.AsyncClient, conversation_id: int) -> list[dict[str, Any]]:
    response = await client.get(
        f"/api/v1/conversations/{conversation_id}/messages", params={"limit": 200}
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def wait_for_message(
    client: httpx.AsyncClient,
    conversation_id: int,
    message_id: int,
    until: Callable[[dict[str, Any]], bool],
    timeout: float = 10.0,
) -> dict[str, Any]:
    """Poll the REST API until the message satisfies `until`; the last state otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in await messages_of(client, conversation_id) if m["id"] == message_id]
        assert found, f"message {message_id} is not in conversation {conversation_id}"
        if until(found[0]) or time.monotonic() > deadline:
            return found[0]
        await asyncio.sleep(0.05)


async def everything(client: httpx.AsyncClient) -> dict[str, list[Any]]:
    """What an admin can list: events, customers, conversations (to prove nothing was stored)."""
    out: dict[str, list[Any]] = {}
    for name, path in (
        ("events", "/api/v1/events?since=0"),
        ("customers", "/api/v1/customers"),
        ("conversations", "/api/v1/conversations"),
    ):
        response = await client.get(path)
        assert response.status_code == 200, response.text
        out[name] = response.json()["items"]
    return out


async def walk(
    client: httpx.AsyncClient, path: str, limit: int, **params: Any
) -> list[list[dict[str, Any]]]:
    """Every page of a list, following `next` until it is null."""
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        query = {**params, "limit": limit}
        if cursor is not None:
            query["cursor"] = cursor
        response = await client.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        cursor = body["next"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "pagination does not end"


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class CallbackReceiver:
    """An integrator's endpoint on loopback: records each POST, answers the next status."""

    statuses: list[int] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.deliveries.append(
                    Delivery(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks/inbox"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> CallbackReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    async def wait(self, count: int, timeout: float = 10.0) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while len(self.deliveries) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return list(self.deliveries)


ROOT = Path(__file__).resolve().parents[2]


async def run_cli(
    settings: Settings, *args: str, public_url: str = "https://inbox.test"
) -> tuple[int, str, str]:
    """`inbox ARGS` in a process of its own against the test's database, as an operator runs
    it; its exit code, stdout and stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INBOX_")}
    env.update(INBOX_DATABASE_URL=settings.database_url, INBOX_PUBLIC_URL=public_url)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "web.cli",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode(), err.decode()
