"""Tokens have one use each: agent tokens never open inbox endpoints, inbox tokens never open
agent endpoints or the websocket, a webchat token (public, in the page) never opens the API
channel, and `inbox reset-token` revokes the old token everywhere. (Secrets are compared with
hmac.compare_digest in inbox/agents.py and every connector's verify(); reviewed, not timed.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.factories import make_inbox
from tests.security.conftest import stored
from tests.web.support import run_cli

ROOT = Path(__file__).resolve().parents[2]
MIME = (
    b"From: Eve <eve@example.net>\r\nTo: support@shop.example\r\nSubject: hi\r\n"
    b"Message-ID: <t1@example.net>\r\n\r\nhello\r\n"
)


def message_body(n: int = 1) -> dict:
    return {"external_id": f"tok-{n}", "customer": {"email": "eve@example.net"}, "text": "hi"}


@pytest.mark.parametrize("who", ["alice", "admin"])
async def test_agent_tokens_are_refused_by_every_inbox_endpoint(server, db, world, who):
    email = await make_inbox(db, "email", config={"address": "support@shop.example"})
    before = await stored(db)
    token = world[who].token
    async with server.client(token) as client:
        api = await client.post(
            f"/api/v1/inboxes/{world['north'].id}/messages", json=message_body()
        )
        mail = await client.post(
            f"/webhooks/email/{email.id}", content=MIME, headers={"Content-Type": "message/rfc822"}
        )
    assert (api.status_code, mail.status_code) == (401, 401), (api.text, mail.text)
    assert await stored(db) == before


AGENT_READS = [
    "/api/v1/conversations",
    "/api/v1/customers",
    "/api/v1/search?q=zeppelin",
    "/api/v1/events?since=0",
    "/api/v1/merge-suggestions",
    "/api/v1/faq",
    "/api/v1/reports/summary",
    "/api/v1/conversations/{conversation}",
    "/api/v1/conversations/{conversation}/messages",
    "/api/v1/customers/{customer}",
    "/api/v1/customers/{customer}/timeline",
    "/api/v1/attachments/{attachment}",
]


@pytest.mark.parametrize("inbox", ["north", "south", "chat", "email"])
async def test_inbox_tokens_are_refused_by_every_agent_endpoint(server, db, world, inbox):
    if inbox == "email":
        world["email"] = await make_inbox(db, "email", config={"address": "a@shop.example"})
    token = world[inbox].token
    ids = {
        "conversation": world["sam"]["conversation_id"],
        "customer": world["sam"]["customer_id"],
        "attachment": world["attachment"],
    }
    before = await stored(db)
    async with server.client(token) as client:
        for path in AGENT_READS:
            response = await client.get(path.format(**ids))
            assert response.status_code == 401, (path, response.status_code, response.text)
            assert "zeppelin" not in response.text
        writes = [
            client.post(
                f"/api/v1/conversations/{ids['conversation']}/messages",
                json={"text": "forged reply"},
            ),
            client.patch(
                f"/api/v1/conversations/{ids['conversation']}", json={"status": "resolved"}
            ),
            client.post(
                f"/api/v1/customers/{ids['customer']}/merge",
                json={"other_id": world["nora"]["customer_id"]},
            ),
        ]
        for response in await asyncio.gather(*writes):
            assert response.status_code == 401, response.text
    assert await stored(db) == before
    with pytest.raises((InvalidStatus, ConnectionClosed)):
        async with connect(f"{server.ws_url}/ws?token={token}") as socket:
            await asyncio.wait_for(socket.recv(), 2)


async def test_a_webchat_token_never_opens_the_api_channel(server, db, world):
    chat = world["chat"]
    before = await stored(db)
    async with server.client(chat.token) as client:
        own = await client.post(f"/api/v1/inboxes/{chat.id}/messages", json=message_body(2))
        other = await client.post(
            f"/api/v1/inboxes/{world['south'].id}/messages", json=message_body(3)
        )
    assert own.status_code in (401, 404), own.text
    assert other.status_code == 401, other.text
    assert await stored(db) == before


@pytest.mark.parametrize(
    "header",
    [
        "Bearer {token}x",
        "Bearer {short}",
        "Basic {token}",
        "{token}",
        "Bearer",
        "Bearer {token} {token}",
        "Bearer {upper}",
    ],
)
async def test_near_miss_inbox_tokens_are_refused(server, db, world, header):
    north = world["north"]
    token = north.token
    value = header.format(token=token, short=token[:-1], upper=token.upper())
    before = await stored(db)
    async with server.client() as client:
        response = await client.post(
            f"/api/v1/inboxes/{north.id}/messages",
            json=message_body(4),
            headers={"Authorization": value},
        )
    assert response.status_code == 401, response.text
    assert await stored(db) == before


async def test_reset_token_revokes_the_old_token_on_rest_and_websocket(server, settings, world):
    import json

    old = world["alice"].token
    code, out, err = await run_cli(
        settings, "reset-token", "--agent", "alice@support.example", "--json"
    )
    assert code == 0, err
    new = json.loads(out)["token"]
    assert new != old
    async with server.client(old) as client:
        assert (await client.get("/api/v1/conversations")).status_code == 401
    with pytest.raises((InvalidStatus, ConnectionClosed)):
        async with connect(f"{server.ws_url}/ws?token={old}") as socket:
            await asyncio.wait_for(socket.recv(), 2)
    async with server.client(new) as client:
        items = (await client.get("/api/v1/conversations")).json()["items"]
    assert [c["id"] for c in items] == [world["nora"]["conversation_id"]]
