"""Cross-inbox access by id, by list filter, by search, by events and by websocket: an agent of
`north` gets a 404 (never a 403, never data) for everything of `south`, and nothing changes.
(tests/web/test_visibility.py covers merges, suggestions and shared conversations in depth.)"""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect

from tests.security.conftest import stored
from tests.web.support import customer_writes

SECRET_WORDS = ("zeppelin", "Sam South", "sam@example.com", "%PDF-secret")

BY_ID = [
    ("GET", "/api/v1/conversations/{conversation}", None),
    ("GET", "/api/v1/conversations/{conversation}/messages", None),
    ("GET", "/api/v1/conversations/{conversation}/faq-suggestions", None),
    ("PATCH", "/api/v1/conversations/{conversation}", {"status": "resolved"}),
    ("PATCH", "/api/v1/conversations/{conversation}", {"assignee_id": "{alice_id}"}),
    ("POST", "/api/v1/conversations/{conversation}/messages", {"text": "hijacked"}),
    (
        "POST",
        "/api/v1/conversations/{conversation}/messages",
        {"text": "private note", "private": True},
    ),
    ("GET", "/api/v1/customers/{customer}", None),
    ("GET", "/api/v1/customers/{customer}/timeline", None),
    ("POST", "/api/v1/customers/{customer}/merge", {"other_id": "{nora}"}),
    ("POST", "/api/v1/customers/{nora}/merge", {"other_id": "{customer}"}),
    ("GET", "/api/v1/attachments/{attachment}", None),
    ("POST", "/api/v1/faq/answers/{message}/wrong", None),
]


def _fill(value, ids):
    if isinstance(value, str):
        filled = value.format(**ids)
        return int(filled) if value.startswith("{") and filled.isdigit() else filled
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    ("method", "path", "body"), BY_ID, ids=[f"{m} {p} {b}" for m, p, b in BY_ID]
)
async def test_another_inboxs_records_by_id_are_404(server, db, world, method, path, body):
    ids = {
        "conversation": world["sam"]["conversation_id"],
        "customer": world["sam"]["customer_id"],
        "message": world["sam"]["message_id"],
        "attachment": world["attachment"],
        "nora": world["nora"]["customer_id"],
        "alice_id": world["alice"].id,
    }
    before = await stored(db)
    async with server.client(world["alice"].token) as client:
        response = await client.request(method, _fill(path, ids), json=_fill(body, ids))
        detail = await client.get(f"/api/v1/conversations/{world['nora']['conversation_id']}")
    assert response.status_code == 404, response.text
    assert not any(word in response.text for word in SECRET_WORDS)
    assert await stored(db) == before
    assert detail.json()["status"] == "open"
    async with server.client(world["bob"].token) as client:
        theirs = await client.get(f"/api/v1/conversations/{ids['conversation']}")
    assert theirs.json()["status"] == "open" and theirs.json().get("assignee_id") is None


async def test_lists_filters_and_search_show_nothing_of_another_inbox(server, world):
    south = world["south"].id
    async with server.client(world["alice"].token) as client:
        answers = [
            await client.get("/api/v1/conversations", params={"inbox_id": south}),
            await client.get("/api/v1/conversations", params={"status": "open"}),
            await client.get("/api/v1/customers", params={"q": "Sam"}),
            await client.get("/api/v1/customers", params={"q": "sam@example.com"}),
            await client.get("/api/v1/search", params={"q": "zeppelin"}),
            await client.get("/api/v1/search", params={"q": "invoice"}),
            await client.get("/api/v1/events", params={"since": 0, "limit": 500}),
            await client.get("/api/v1/merge-suggestions"),
        ]
    # Filtering by another inbox's id is answered like an inbox that does not exist.
    assert answers[0].status_code == 404, answers[0].text
    for response in answers:
        assert response.status_code in (200, 404), response.text  # 404: inbox filter
        assert not any(word in response.text for word in SECRET_WORDS), response.text
    ids = json.dumps([world["sam"]["conversation_id"], world["sam"]["customer_id"]])
    listed = answers[1].json()["items"]
    assert [c["id"] for c in listed] == [world["nora"]["conversation_id"]], ids


async def test_websocket_frames_of_another_inbox_never_reach_the_agent(server, world):
    alice, bob = world["alice"], world["bob"]
    async with (
        connect(f"{server.ws_url}/ws?token={alice.token}&since=0") as alice_socket,
        connect(f"{server.ws_url}/ws?token={bob.token}") as bob_socket,
    ):
        await customer_writes(
            server, world["south"], "the zeppelin again", name="Sam South", email="sam@example.com"
        )
        await customer_writes(server, world["north"], "kettle still cold", email="nora@example.com")
        frames: list[str] = []
        while not any("kettle still cold" in frame for frame in frames):
            frames.append(await asyncio.wait_for(alice_socket.recv(), 5))
        bob_saw = await asyncio.wait_for(bob_socket.recv(), 5)
    assert "zeppelin" in bob_saw
    assert not any(word in frame for frame in frames for word in SECRET_WORDS), frames


async def test_a_customer_of_both_inboxes_shows_each_agent_only_their_messages(server, world):
    from tests.security.test_browser import login

    await customer_writes(
        server,
        world["south"],
        "my south-only zeppelin secret",
        name="Nora North",
        email="nora@example.com",
    )
    nora = world["nora"]
    async with server.client(world["alice"].token) as client:
        timeline = await client.get(f"/api/v1/customers/{nora['customer_id']}/timeline")
        search = await client.get("/api/v1/search", params={"q": "zeppelin"})
    async with server.client() as browser:
        await login(browser, world["alice"].email)
        page = await browser.get(f"/conversations/{nora['conversation_id']}")
    assert timeline.status_code == 200 and page.status_code == 200
    assert "kettle" in timeline.text and "kettle" in page.text
    for response in (timeline, search, page):
        assert "zeppelin" not in response.text, response.text
    async with server.client(world["bob"].token) as client:
        theirs = await client.get(f"/api/v1/customers/{nora['customer_id']}/timeline")
    assert "zeppelin" in theirs.text and "kettle" not in theirs.text
