"""The website chat widget through the live server: its script, HTTP endpoints and websocket
(the `websockets` client), identities signed and unsigned, replies, origins and rate limits."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import socket
import struct
import sys
import time
import zlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import text
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.conftest import PG_URL, REDIS_URL, LiveServer
from tests.factories import make_agent, make_inbox
from tests.web.support import customer_writes, messages_of, run_cli, wait_for_message
from web.app import create_app, server_options
from web.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
SITE = "https://shop.example"
SECRET = "widget-identity-secret-0123456789"


@pytest.fixture
async def inbox(db):
    return await make_inbox(
        db, "webchat", "Website chat", {"allowed_origins": [SITE], "identity_secret": SECRET}
    )


@pytest.fixture
async def agent(db, inbox):
    return await make_agent(db, inboxes=[inbox])


def visitor_id() -> str:
    return secrets.token_hex(16)


def sign(user_id: str, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


async def post(server, inbox, visitor: str, text: str, *, origin: str = SITE, **extra: Any) -> Any:
    body = {"visitor": visitor, "id": secrets.token_hex(8), "text": text, **extra}
    async with server.client() as client:
        return await client.post(
            "/widget/messages",
            params={"inbox": inbox.token},
            content=json.dumps(body),
            headers={"Origin": origin, "Content-Type": "text/plain"},
        )


async def posted(server, inbox, visitor: str, text: str, **extra: Any) -> dict[str, Any]:
    response = await post(server, inbox, visitor, text, **extra)
    assert response.status_code == 201, response.text
    assert response.headers["access-control-allow-origin"] == SITE
    return response.json()


async def poll(server, inbox, visitor: str, since: int = 0, **extra: Any) -> dict[str, Any]:
    params = {"inbox": inbox.token, "visitor": visitor, "since": since, **extra}
    async with server.client() as client:
        response = await client.get("/widget/messages", params=params, headers={"Origin": SITE})
    assert response.status_code == 200, response.text
    return response.json()


def widget_socket(server, inbox, visitor: str, origin: str = SITE, **extra: Any) -> Any:
    query = "&".join(
        f"{k}={v}" for k, v in {"inbox": inbox.token, "visitor": visitor, **extra}.items()
    )
    return connect(f"{server.ws_url}/widget/ws?{query}", origin=origin)  # type: ignore[arg-type]


async def frame(ws, timeout: float = 10.0) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def agent_replies(server, agent, conversation_id: int, text: str) -> dict[str, Any]:
    """The agent's reply, once the outbox has handed it to the connector's `send`."""
    async with server.client(agent.token) as client:
        response = await client.post(
            f"/api/v1/conversations/{conversation_id}/messages", json={"text": text}
        )
        assert response.status_code == 201, response.text
        return await wait_for_message(
            client, conversation_id, response.json()["id"], lambda m: m["status"] != "queued"
        )


@pytest.fixture
async def admin(db):
    return await make_agent(db, admin=True)


async def customer(server, agent, customer_id: int) -> dict[str, Any]:
    async with server.client(agent.token) as client:
        response = await client.get(f"/api/v1/customers/{customer_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def test_the_script_is_served_for_a_webchat_token_only(server, inbox):
    async with server.client() as client:
        script = await client.get("/widget.js", params={"inbox": inbox.token})
        unknown = await client.get("/widget.js", params={"inbox": "nope"})
    assert script.status_code == 200
    assert script.headers["content-type"] == "application/javascript; charset=utf-8"
    assert "attachShadow" in script.text and "문의하기" in script.text
    assert unknown.status_code == 404


async def test_an_anonymous_visitor_is_stored_with_a_webchat_identity(server, inbox, agent):
    visitor = visitor_id()
    first = await posted(server, inbox, visitor, "Do you ship to Busan?", name="Minji")
    again = await posted(server, inbox, visitor, "And to Jeju?")
    assert again["conversation_id"] == first["conversation_id"]
    assert again["customer_id"] == first["customer_id"]
    found = await customer(server, agent, first["customer_id"])
    assert {"kind": "webchat", "value": visitor, "verified": True} in found["identities"]
    async with server.client(agent.token) as client:
        texts = [m["text"] for m in await messages_of(client, first["conversation_id"])]
    assert texts == ["Do you ship to Busan?", "And to Jeju?"]


async def test_a_returning_visitor_catches_up_on_the_websocket(server, inbox, agent):
    visitor = visitor_id()
    first = await posted(server, inbox, visitor, "Hello?")
    reply = await agent_replies(server, agent, first["conversation_id"], "Hi! How can I help?")
    assert reply["status"] == "sent"  # no widget was open: it waits for the visitor to come back
    reply_id = reply["id"]
    async with widget_socket(server, inbox, visitor) as ws:
        hello = await frame(ws)
    assert hello["type"] == "hello"
    assert hello["conversation_id"] == first["conversation_id"]
    assert [m["text"] for m in hello["messages"]] == ["Hello?", "Hi! How can I help?"]
    assert hello["messages"][1]["id"] == reply_id
    async with widget_socket(server, inbox, visitor, since=reply_id) as ws:
        assert (await frame(ws))["messages"] == []  # nothing repeats after the cursor
        await ws.send(json.dumps({"type": "message", "id": "m-2", "text": "Where is it?"}))
        got = {f["type"]: f for f in [await frame(ws), await frame(ws)]}
    echo, ack = got["message"], got["ack"]
    assert echo["message"]["text"] == "Where is it?"
    assert echo["message"]["id"] == ack["message_id"]
    assert ack["id"] == "m-2" and ack["conversation_id"] == first["conversation_id"]


async def test_a_reply_reaches_only_its_own_visitors_socket(server, inbox, agent):
    alice, bob = visitor_id(), visitor_id()
    a = await posted(server, inbox, alice, "Alice here")
    b = await posted(server, inbox, bob, "Bob here")
    assert a["conversation_id"] != b["conversation_id"]
    async with (
        widget_socket(server, inbox, alice) as alice_ws,
        widget_socket(server, inbox, bob) as bob_ws,
    ):
        assert [m["text"] for m in (await frame(alice_ws))["messages"]] == ["Alice here"]
        assert [m["text"] for m in (await frame(bob_ws))["messages"]] == ["Bob here"]
        to_a = await agent_replies(server, agent, a["conversation_id"], "For Alice only")
        await agent_replies(server, agent, b["conversation_id"], "For Bob")
        assert to_a["status"] == "delivered"  # an open widget took it
        to_alice = await frame(alice_ws)
        to_bob = await frame(bob_ws)
    assert to_alice["message"]["text"] == "For Alice only"
    assert to_alice["message"]["direction"] == "out"
    # Bob's first frame after both replies is his own: Alice's never reached his socket.
    assert to_bob["message"]["text"] == "For Bob"
    assert to_bob["conversation_id"] == b["conversation_id"]


async def test_a_signed_identity_links_to_the_customers_history(server, db, inbox, admin):
    api = await make_inbox(db, "api")
    known = await customer_writes(server, api, "My SMS order", email="minji@example.com")
    signed = {
        "user_id": "shop-user-42",
        "email": "minji@example.com",
        "name": "Minji",
        "signature": sign("shop-user-42"),
    }
    first = await posted(server, inbox, visitor_id(), "It's me again", **signed)
    assert first["customer_id"] == known["customer_id"]
    found = await customer(server, admin, known["customer_id"])
    assert {"kind": "external", "value": "shop-user-42", "verified": True} in found["identities"]
    # On another device the same signed user reads their web-chat conversation.
    page = await poll(
        server, inbox, visitor_id(), **{k: signed[k] for k in ("user_id", "signature")}
    )
    assert [m["text"] for m in page["messages"]] == ["It's me again"]  # not the API history


async def test_a_bad_signature_is_refused_and_nothing_stored(server, db, inbox, admin):
    api = await make_inbox(db, "api")
    known = await customer_writes(server, api, "Private", email="jun@example.com")
    visitor = visitor_id()
    response = await post(
        server,
        inbox,
        visitor,
        "Let me in",
        user_id="shop-user-7",
        email="jun@example.com",
        signature=sign("shop-user-7", "wrong-secret"),
    )
    assert response.status_code == 403
    assert (await poll(server, inbox, visitor))["conversation_id"] is None
    async with server.client(admin.token) as client:
        items = (await client.get("/api/v1/customers", params={"q": "jun@example.com"})).json()[
            "items"
        ]
    assert [c["id"] for c in items] == [known["customer_id"]]
    with pytest.raises(InvalidStatus) as refused:
        async with widget_socket(
            server, inbox, visitor, user_id="shop-user-7", signature="00" * 32
        ):
            pass
    assert refused.value.response.status_code == 403


async def test_an_unsigned_email_only_suggests_a_merge(server, db, inbox, admin):
    api = await make_inbox(db, "api")
    known = await customer_writes(server, api, "Card ending 4242", email="hana@example.com")
    visitor = visitor_id()
    claim = await posted(server, inbox, visitor, "I'm Hana", email="hana@example.com")
    assert claim["customer_id"] != known["customer_id"]
    page = await poll(server, inbox, visitor)
    assert [m["text"] for m in page["messages"]] == ["I'm Hana"]
    async with server.client(admin.token) as client:
        suggestions = (await client.get("/api/v1/merge-suggestions")).json()["items"]
    pairs = [{s["customer_id"], s["other_id"]} for s in suggestions]
    assert {claim["customer_id"], known["customer_id"]} in pairs


async def test_polling_returns_messages_after_the_cursor_once(server, inbox, agent):
    visitor = visitor_id()
    first = await posted(server, inbox, visitor, "one")
    await posted(server, inbox, visitor, "two")
    page = await poll(server, inbox, visitor)
    assert [m["text"] for m in page["messages"]] == ["one", "two"]
    await agent_replies(server, agent, first["conversation_id"], "three")
    later = await poll(server, inbox, visitor, since=page["cursor"])
    assert [m["text"] for m in later["messages"]] == ["three"]
    assert (await poll(server, inbox, visitor, since=later["cursor"]))["messages"] == []
    assert (await poll(server, inbox, visitor_id()))["messages"] == []  # another visitor


async def test_other_origins_are_refused(server, inbox):
    response = await post(server, inbox, visitor_id(), "hi", origin="https://evil.example")
    assert response.status_code == 403
    with pytest.raises(InvalidStatus) as refused:
        async with widget_socket(server, inbox, visitor_id(), origin="https://evil.example"):
            pass
    assert refused.value.response.status_code == 403


async def test_new_conversations_per_ip_are_rate_limited(server, inbox):
    for _ in range(6):
        await posted(server, inbox, visitor_id(), "hello")
    response = await post(server, inbox, visitor_id(), "one too many")
    assert response.status_code == 429
    assert response.headers["retry-after"]


async def test_bad_and_oversized_messages_are_refused(server, inbox):
    visitor = visitor_id()
    assert (await post(server, inbox, visitor, "x" * 4001)).status_code == 400
    assert (await post(server, inbox, visitor, "x" * 20000)).status_code == 413
    assert (await post(server, inbox, "short", "hi")).status_code == 400
    assert (await post(server, inbox, visitor, "   ")).status_code == 400
    assert (await poll(server, inbox, visitor))["conversation_id"] is None


async def test_the_generic_webhook_path_is_closed_to_the_widget(server, inbox):
    async with server.client() as client:
        response = await client.post(f"/webhooks/webchat/{inbox.id}", json={"text": "hi"})
    assert response.status_code == 403


async def test_the_config_shows_the_offline_form_outside_business_hours(server, db):
    closed = await make_inbox(
        db,
        "webchat",
        "Closed chat",
        {"identity_secret": SECRET, "business_hours": {"timezone": "Asia/Seoul", "days": {}}},
    )
    async with server.client() as client:
        config = (await client.get("/widget/config", params={"inbox": closed.token})).json()
    assert config["open"] is False and config["offline_form"] is True


async def test_the_faq_bot_answers_in_the_widget(server, inbox, admin):
    entry = {
        "question": "How much does shipping cost?",
        "answer": "Shipping is 3,000 KRW.",
        "language": "en",
    }
    async with server.client(admin.token) as client:
        assert (await client.post("/api/v1/faq", json=entry)).status_code == 201
    async with widget_socket(server, inbox, visitor_id()) as ws:
        await frame(ws)
        await ws.send(
            json.dumps({"type": "message", "id": "q-1", "text": "How much does shipping cost?"})
        )
        answers = []
        while not answers:
            got = await frame(ws)
            if got["type"] == "message" and got["message"]["direction"] == "out":
                answers.append(got["message"])
    assert answers[0]["author"] == "bot"
    assert answers[0]["text"].startswith("Shipping is 3,000 KRW.")


async def test_replies_sent_by_a_separate_worker_reach_the_widget(settings, db, inbox, agent):
    web = LiveServer(settings)
    await web.runtime.stop()  # the fixture's app dispatches; this one must not
    web.app = create_app(settings, dispatch=False)
    web.runtime = web.app.state.runtime
    web.server = uvicorn.Server(uvicorn.Config(web.app, **server_options(), lifespan="on"))
    worker = Runtime(settings, dispatch=True)  # what `inbox worker` runs
    await worker.start()
    try:
        async with web:
            visitor = visitor_id()
            first = await posted(web, inbox, visitor, "Anyone there?")
            async with widget_socket(web, inbox, visitor) as ws:
                await frame(ws)
                reply = await agent_replies(web, agent, first["conversation_id"], "Yes!")
                got = await frame(ws)
    finally:
        await worker.stop()
    # The worker's own hub had no socket for it; with Redis the web process may already have
    # marked it delivered.
    assert reply["status"] in ("sent", "delivered")
    assert got["message"]["id"] == reply["id"] and got["message"]["text"] == "Yes!"


async def test_a_widget_marks_only_replies_it_was_shown_as_read(server, inbox, agent):
    alice, bob = visitor_id(), visitor_id()
    a = await posted(server, inbox, alice, "Alice here")
    b = await posted(server, inbox, bob, "Bob here")
    to_alice = await agent_replies(server, agent, a["conversation_id"], "Hi Alice")
    to_bob = await agent_replies(server, agent, b["conversation_id"], "Hi Bob")
    async with widget_socket(server, inbox, alice) as ws:
        await frame(ws)
        await ws.send(json.dumps({"type": "read", "message_id": to_bob["id"]}))
        refused = await frame(ws)
        await ws.send(json.dumps({"type": "read", "message_id": to_alice["id"]}))
        async with server.client(agent.token) as client:
            read = await wait_for_message(
                client, a["conversation_id"], to_alice["id"], lambda m: m["status"] == "read"
            )
            others = await messages_of(client, b["conversation_id"])
    assert refused["type"] == "error" and refused["status"] == 404
    assert read["status"] == "read"
    assert [m["status"] for m in others if m["id"] == to_bob["id"]] == ["sent"]


async def test_agent_typing_reaches_only_that_conversations_widget(server, db, inbox, agent):
    alice, bob = visitor_id(), visitor_id()
    a = await posted(server, inbox, alice, "Alice here")
    b = await posted(server, inbox, bob, "Bob here")
    outsider = await make_agent(db, inboxes=[await make_inbox(db, "api")])
    async with (
        widget_socket(server, inbox, alice) as alice_ws,
        widget_socket(server, inbox, bob) as bob_ws,
    ):
        await frame(alice_ws), await frame(bob_ws)
        async with server.client(outsider.token) as client:
            hidden = await client.post(f"/api/v1/conversations/{a['conversation_id']}/typing")
        async with server.client(agent.token) as client:
            told = await client.post(f"/api/v1/conversations/{a['conversation_id']}/typing")
            await client.post(f"/api/v1/conversations/{b['conversation_id']}/typing")
        to_alice, to_bob = await frame(alice_ws), await frame(bob_ws)
    assert hidden.status_code == 404
    assert told.status_code == 202
    assert to_alice == {
        "type": "typing",
        "conversation_id": a["conversation_id"],
        "author": "agent",
        "agent_name": "Jamie Agent",
        "agent_avatar": None,
    }
    assert to_bob["conversation_id"] == b["conversation_id"]


async def test_an_agents_private_note_typing_stays_with_the_agents(server, db, inbox, agent):
    alice = visitor_id()
    a = await posted(server, inbox, alice, "Alice here")
    async with widget_socket(server, inbox, alice) as alice_ws:
        await frame(alice_ws)
        async with server.client(agent.token) as client:
            note = await client.post(
                f"/api/v1/conversations/{a['conversation_id']}/typing", params={"private": "true"}
            )
            with pytest.raises(TimeoutError):
                await frame(alice_ws, timeout=0.6)
            reply = await client.post(f"/api/v1/conversations/{a['conversation_id']}/typing")
            told = await frame(alice_ws)
    assert (note.status_code, reply.status_code) == (202, 202)
    assert told["type"] == "typing" and told["agent_name"] == "Jamie Agent"


async def test_create_inbox_generates_the_identity_secret(server, settings, db):
    code, out, err = await run_cli(
        settings,
        "create-inbox",
        "--kind",
        "webchat",
        "--name",
        "Shop chat",
        "--json",
        "--config",
        json.dumps({"allowed_origins": [SITE]}),
    )
    assert code == 0, err
    created = json.loads(out)
    assert created["webhook_url"] == f"https://inbox.test/widget.js?inbox={created['token']}"
    async with db.read() as session:
        raw = await session.scalar(
            text("SELECT config FROM inbox WHERE id = :id"), {"id": created["id"]}
        )
    secret = (raw if isinstance(raw, dict) else json.loads(raw))["identity_secret"]
    assert len(secret) >= 32
    new = SimpleNamespace(token=created["token"])
    signed = {"user_id": "u-1", "signature": sign("u-1", secret)}
    assert (await post(server, new, visitor_id(), "hi", **signed)).status_code == 201
    bad = await run_cli(
        settings,
        "create-inbox",
        "--kind",
        "webchat",
        "--name",
        "Bad",
        "--config",
        json.dumps({"allowed_origins": "https://x.example"}),
    )
    assert bad[0] != 0 and "allowed_origins" in bad[2]


async def test_a_visitor_sending_too_fast_gets_429_on_the_socket(server, inbox):
    async with widget_socket(server, inbox, visitor_id()) as ws:
        await frame(ws)
        await ws.send("x" * 20000)
        too_large = await frame(ws)
        statuses = []
        for n in range(21):
            await ws.send(json.dumps({"type": "message", "id": f"m-{n}", "text": f"hi {n}"}))
            while True:
                got = await frame(ws)
                if got["type"] in ("ack", "error"):
                    statuses.append(got.get("status", 201))
                    break
    assert too_large["type"] == "error" and too_large["status"] == 413
    assert statuses == [201] * 20 + [429]


def png(width: int = 48, height: int = 32, rgb: tuple[int, int, int] = (37, 99, 235)) -> bytes:
    """A real PNG of one colour (what a phone's photo is, to every check we make)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def upload(
    server,
    inbox,
    visitor: str,
    filename: str,
    data: bytes,
    content_type: str = "application/octet-stream",
    **fields: Any,
) -> Any:
    form = {"visitor": visitor, "id": secrets.token_hex(8), **fields}
    async with server.client() as client:
        return await client.post(
            "/widget/attachments",
            params={"inbox": inbox.token},
            data=form,
            files={"file": (filename, data, content_type)},
            headers={"Origin": SITE},
        )


async def fetch_file(server, inbox, visitor: str, attachment_id: int, **extra: Any) -> Any:
    params = {"inbox": inbox.token, "visitor": visitor, **extra}
    async with server.client() as client:
        return await client.get(
            f"/widget/attachments/{attachment_id}", params=params, headers={"Origin": SITE}
        )


async def test_a_visitors_image_is_stored_with_their_message_and_shown_to_both_sides(
    server, db, inbox, agent
):
    visitor, photo = visitor_id(), png()
    response = await upload(
        server, inbox, visitor, "../../kettle.png", photo, "text/html", text="The lid is cracked"
    )
    assert response.status_code == 201, response.text
    assert response.headers["access-control-allow-origin"] == SITE
    answer = response.json()
    [shown] = answer["message"]["attachments"]
    assert shown["filename"] == "kettle.png"  # no path; the claimed text/html is not believed
    assert shown["content_type"] == "image/png" and shown["image"] is True
    assert shown["size"] == len(photo) and answer["message"]["text"] == "The lid is cracked"
    async with server.client(agent.token) as client:
        [message] = await messages_of(client, answer["conversation_id"])
        served = await client.get(f"/api/v1/attachments/{shown['id']}")
    assert message["attachments"] == [
        {
            "id": shown["id"],
            "filename": "kettle.png",
            "content_type": "image/png",
            "size": len(photo),
        }
    ]
    assert served.content == photo and served.headers["content-type"] == "image/png"
    own = await fetch_file(server, inbox, visitor, shown["id"])
    assert own.status_code == 200 and own.content == photo
    assert own.headers["content-disposition"].startswith("inline")
    assert own.headers["x-content-type-options"] == "nosniff"
    assert own.headers["access-control-allow-origin"] == SITE
    # Another visitor guessing the id, or another widget's token, reads nothing.
    await posted(server, inbox, (other := visitor_id()), "me too")
    assert (await fetch_file(server, inbox, other, shown["id"])).status_code == 404
    elsewhere = await make_inbox(db, "webchat", "Other shop", {"identity_secret": SECRET})
    guessed = await fetch_file(server, elsewhere, visitor, shown["id"])
    assert guessed.status_code == 404
    async with widget_socket(server, inbox, visitor) as ws:
        hello = await frame(ws)
    assert hello["messages"][0]["attachments"] == [shown]


async def test_documents_are_links_and_refused_files_store_nothing(server, inbox, agent):
    visitor = visitor_id()
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    ok = await upload(server, inbox, visitor, "invoice.pdf", pdf, "application/pdf")
    assert ok.status_code == 201, ok.text
    [document] = ok.json()["message"]["attachments"]
    assert document["image"] is False and document["content_type"] == "application/pdf"
    served = await fetch_file(server, inbox, visitor, document["id"])
    assert served.headers["content-disposition"].startswith("attachment")
    assert served.headers["content-type"] == "application/octet-stream"
    notes = await upload(server, inbox, visitor, "주문.txt", "배송 주소: 부산".encode())
    assert (
        notes.status_code == 201
        and notes.json()["message"]["attachments"][0]["content_type"] == "text/plain"
    )

    stranger = visitor_id()
    refusals = [
        (await upload(server, inbox, stranger, "setup.exe", b"MZ\x90\x00" * 100), 415),
        (await upload(server, inbox, stranger, "page.html", b"<script>x</script>"), 415),
        (await upload(server, inbox, stranger, "photo.png", b"<svg onload=alert(1)>"), 415),
        (await upload(server, inbox, stranger, "a.txt", b"\x00\x01binary"), 415),
        (await upload(server, inbox, stranger, "big.png", b"\x89PNG" + b"0" * (11 << 20)), 413),
        (await upload(server, inbox, stranger, "empty.pdf", b""), 400),
    ]
    for response, status in refusals:
        assert response.status_code == status, response.text
        assert response.headers["access-control-allow-origin"] == SITE  # the widget says why
    async with server.client() as client:
        no_file = await client.post(
            "/widget/attachments",
            params={"inbox": inbox.token},
            data={"visitor": stranger, "id": "x-1"},
            files={"photo": ("a.png", png(), "image/png")},
            headers={"Origin": SITE},
        )
        as_json = await client.post(
            "/widget/attachments",
            params={"inbox": inbox.token},
            json={"visitor": stranger, "id": "x-2"},
            headers={"Origin": SITE},
        )
    assert (no_file.status_code, as_json.status_code) == (400, 415)
    assert (await poll(server, inbox, stranger))["conversation_id"] is None


async def agent_socket(server, agent):
    return connect(f"{server.ws_url}/ws?token={agent.token}")


async def typing_frames(ws, timeout: float) -> list[dict[str, Any]]:
    """Every typing frame an agent socket gets within `timeout` seconds."""
    found: list[dict[str, Any]] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            while True:
                got = json.loads(await ws.recv())
                if got["type"] == "typing":
                    found.append(got)
    return found


async def test_the_visitors_typing_reaches_only_agents_of_that_inbox(server, db, inbox, agent):
    outsider = await make_agent(db, inboxes=[await make_inbox(db, "api")])
    visitor = visitor_id()
    async with (
        await agent_socket(server, agent) as agent_ws,
        await agent_socket(server, outsider) as outsider_ws,
        widget_socket(server, inbox, visitor) as ws,
    ):
        await frame(ws)
        await ws.send(json.dumps({"type": "typing"}))  # no conversation yet: nothing to show
        first = await posted(server, inbox, visitor, "Hi")
        for _ in range(3):  # one notice per few seconds however often the widget says so
            await ws.send(json.dumps({"type": "typing"}))
        seen = await typing_frames(agent_ws, 1.5)
        unseen = await typing_frames(outsider_ws, 0.2)
    assert seen == [
        {
            "seq": 0,
            "type": "typing",
            "payload": {
                "conversation_id": first["conversation_id"],
                "inbox_id": inbox.id,
                "author": "customer",
                "name": None,
            },
        }
    ]
    assert unseen == []


async def test_agent_name_and_avatar_ride_on_live_replies(server, inbox, agent):
    async with server.client(agent.token) as client:
        bad = await client.put(
            "/api/v1/agents/me/avatar", json={"avatar_url": "javascript:alert(1)"}
        )
        good = await client.put(
            "/api/v1/agents/me/avatar", json={"avatar_url": "https://cdn.example/jamie.png"}
        )
    assert bad.status_code == 400
    assert good.json() == {"avatar_url": "https://cdn.example/jamie.png"}
    visitor = visitor_id()
    first = await posted(server, inbox, visitor, "Hello")
    async with widget_socket(server, inbox, visitor) as ws:
        await frame(ws)
        await agent_replies(server, agent, first["conversation_id"], "Hi, Jamie here")
        live = (await frame(ws))["message"]
    assert live["text"] == "Hi, Jamie here"
    assert (live["agent_name"], live["agent_avatar"]) == (
        "Jamie Agent",
        "https://cdn.example/jamie.png",
    )
    async with server.client(agent.token) as client:
        cleared = await client.put("/api/v1/agents/me/avatar", json={"avatar_url": None})
    assert cleared.json() == {"avatar_url": None}
    page = await poll(server, inbox, visitor)
    assert page["messages"][1]["agent_avatar"] is None


class InboxProcess:
    """`inbox serve --no-worker` or `inbox worker` as an OS process of its own (production's
    shape: web processes behind a balancer, a worker, one PostgreSQL and one Redis)."""

    def __init__(self, settings, *args: str, **env: str) -> None:
        self.args = args
        self.settings = settings
        self.env = env
        self.port = 0
        if args[0] == "serve":
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.port = probe.getsockname()[1]
            self.args = (*args, "--port", str(self.port))
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> InboxProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("INBOX_")}
        env.update(
            INBOX_DATABASE_URL=self.settings.database_url,
            INBOX_REDIS_URL=self.settings.redis_url or "",
            INBOX_PUBLIC_URL="http://inbox.test",
            INBOX_DEFAULT_REGION="KR",
            **self.env,
        )
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "web.cli",
            *self.args,
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        if self.port:
            await self._healthy()
        else:
            await self._said("worker started")
        return self

    async def _said(self, line: str) -> None:
        assert self.process is not None and self.process.stderr is not None
        async with asyncio.timeout(90):
            while line.encode() not in await self.process.stderr.readline():
                assert self.process.returncode is None
        # Keep reading what it logs, or a full pipe would stall it.
        self.drain = asyncio.ensure_future(self.process.stderr.read())

    async def _healthy(self) -> None:
        async with asyncio.timeout(60):
            while True:
                assert self.process is not None and self.process.returncode is None
                with contextlib.suppress(httpx.TransportError):
                    async with self.client() as client:
                        if (await client.get("/health")).status_code == 200:
                            return
                await asyncio.sleep(0.2)

    async def __aexit__(self, *exc: object) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await asyncio.wait_for(self.process.wait(), 30)

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=10.0)


async def next_frame(ws, wanted, timeout: float = 5.0) -> dict[str, Any]:
    """The first frame within `timeout` seconds that `wanted` accepts."""
    async with asyncio.timeout(timeout):
        while True:
            got = json.loads(await ws.recv())
            if wanted(got):
                return got


@pytest.mark.skipif(
    not (REDIS_URL and PG_URL),
    reason="several processes share PostgreSQL "
    "and Redis (INBOX_TEST_DATABASE_URL, INBOX_TEST_REDIS_URL)",
)
async def test_two_web_processes_and_a_worker_chat_live_through_redis(settings, inbox, agent):
    visitor = visitor_id()
    async with (
        InboxProcess(settings, "serve", "--no-worker") as a,
        InboxProcess(settings, "serve", "--no-worker") as b,
        InboxProcess(settings, "worker", INBOX_OUTBOX_POLL_SECONDS="60"),
    ):
        first = await posted(a, inbox, visitor, "Hello from my phone")
        conversation_id = first["conversation_id"]
        async with (
            widget_socket(b, inbox, visitor) as on_b,
            widget_socket(a, inbox, visitor) as on_a,
            connect(f"{a.ws_url}/ws?token={agent.token}") as desk,
        ):
            assert (await frame(on_b))["conversation_id"] == conversation_id
            await frame(on_a)
            # Written on B's socket: the visitor's other tab, on A, shows it too.
            await on_b.send(json.dumps({"type": "message", "id": "m-2", "text": "Still there?"}))
            echo = await next_frame(on_a, lambda f: f["type"] == "message")
            assert echo["message"]["text"] == "Still there?"
            # Typing on B reaches the agent on A; the agent typing on A reaches B.
            await on_b.send(json.dumps({"type": "typing"}))
            typed = await next_frame(desk, lambda f: f["type"] == "typing")
            assert typed["payload"]["conversation_id"] == conversation_id
            async with a.client(agent.token) as client:
                await client.post(f"/api/v1/conversations/{conversation_id}/typing")
                assert (await next_frame(on_b, lambda f: f["type"] == "typing"))[
                    "agent_name"
                ] == "Jamie Agent"
                # Posted through A, sent by the worker, pushed live by B.
                started = time.monotonic()
                posted_reply = await client.post(
                    f"/api/v1/conversations/{conversation_id}/messages", json={"text": "Yes, here!"}
                )
                live = await next_frame(
                    on_b,
                    lambda f: f["type"] == "message" and f["message"]["direction"] == "out",
                    timeout=8,
                )
                took = time.monotonic() - started
                reply = await wait_for_message(
                    client,
                    conversation_id,
                    live["message"]["id"],
                    lambda m: m["status"] == "delivered",
                )
    assert posted_reply.status_code == 201
    assert live["message"]["id"] == posted_reply.json()["id"]
    assert live["message"]["text"] == "Yes, here!"
    assert live["message"]["agent_name"] == "Jamie Agent"
    assert reply["status"] == "delivered"  # B, which has the widget, says so
    # B runs no database catch-up when Redis is set: only the bus can have brought it. The
    # worker looks at an idle outbox only once a minute here: the bus woke it for this reply.
    assert took < 5, took
