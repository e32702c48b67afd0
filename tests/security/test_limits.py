"""Bodies past every limit and junk the decoders never expected: 413 or 400, never a 5xx,
nothing stored. (tests/web/test_api_channel.py holds the API channel's exact-limit cases.)"""

from __future__ import annotations

import json

import pytest

from tests.factories import make_agent, make_inbox
from tests.security.conftest import stored
from tests.security.test_browser import csrf_from, login
from tests.web.support import customer_writes

HUGE = "9" * 30


def nested(levels: int) -> dict:
    value: object = "deep"
    for _ in range(levels):
        value = [value]
    return {"text": "hi", "extra": value}


@pytest.fixture
async def case(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    sent = await customer_writes(server, inbox, "hello", email="lim@example.com")
    return inbox, agent, sent


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/conversations/{c}/messages"),
        ("PATCH", "/api/v1/conversations/{c}"),
        ("POST", "/api/v1/customers/{u}/merge"),
        ("POST", "/api/v1/inboxes/{i}/messages"),
    ],
)
async def test_agent_and_channel_bodies_past_the_limits(server, db, case, method, path):
    inbox, agent, sent = case
    url = path.format(c=sent["conversation_id"], u=sent["customer_id"], i=inbox.id)
    token = inbox.token if "/inboxes/" in url else agent.token
    before = await stored(db)
    async with server.client(token) as client:
        too_big = await client.request(
            method,
            url,
            content=b'{"text":"' + b"a" * (1 << 20) + b'"}',
            headers={"Content-Type": "application/json"},
        )
        too_deep = await client.request(method, url, json=nested(65))
        pathological = await client.request(
            method, url, content=b"[" * 500_000, headers={"Content-Type": "application/json"}
        )
        huge_number = await client.request(
            method,
            url,
            content=f'{{"other_id": {HUGE}, "assignee_id": {HUGE}, "text": "x"}}'.encode(),
            headers={"Content-Type": "application/json"},
        )
    assert too_big.status_code == 413, too_big.text
    assert too_deep.status_code == 400, too_deep.text
    assert 400 <= pathological.status_code < 500, pathological.text
    assert 400 <= huge_number.status_code < 500, huge_number.text
    assert await stored(db) == before


@pytest.mark.parametrize(
    "path",
    [
        f"/conversations/{HUGE}",
        f"/attachments/{HUGE}",
        "/conversations/-1",
        "/conversations/0",
        f"/api/v1/conversations/{HUGE}",
        f"/api/v1/customers/{HUGE}/timeline",
        f"/api/v1/attachments/{HUGE}",
        f"/api/v1/events?since={HUGE}",
        "/api/v1/events?since=-5",
        f"/api/v1/conversations?inbox_id={HUGE}",
        "/api/v1/conversations?cursor=%00%ff",
        "/api/v1/conversations?limit=-1",
        f"/api/v1/conversations?limit={HUGE}",
        "/api/v1/customers?cursor=eyJ4IjoxfQ",
        "/api/v1/search?q=%00",
        "/api/v1/search?q=%22%27*",
        "/?cursor=junk",
        "/?view=%00",
        "/?partial=maybe",
        "/api/v1/search?q=%ED%A0%80",
        "/api/v1/customers?q=%FF%FE",
        "/api/v1/conversations?cursor=%ED%A0%80",
        "/api/v1/conversations?status=%ED%A0%80",
        "/login?next=%ED%A0%80",
    ],
)
async def test_junk_ids_cursors_and_queries_are_4xx(server, db, case, path):
    _, agent, _ = case
    async with server.client(agent.token) as api, server.client() as browser:
        await login(browser, agent.email)
        answers = [await api.get(path), await browser.get(path)]
    for response in answers:
        assert response.status_code < 500, (path, response.text)
        assert response.status_code in (200, 303, 400, 401, 404), (path, response.text)


@pytest.mark.parametrize("text", ["%ED%A0%80", "%FF%FE", "%00", "a" * 100_001])
async def test_the_reply_form_refuses_undecodable_or_oversized_text(server, db, case, text):
    _, agent, sent = case
    conversation = sent["conversation_id"]
    async with server.client() as client:
        await login(client, agent.email)
        page = await client.get(f"/conversations/{conversation}")
        before = await stored(db)
        response = await client.post(
            f"/conversations/{conversation}/reply",
            content=f"text={text}&_csrf_token={csrf_from(page.text)}".encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert await stored(db) == before


@pytest.mark.parametrize("field", ["email", "password", "next"])
async def test_the_login_form_refuses_undecodable_text(server, db, field):
    agent = await make_agent(db)
    async with server.client() as client:
        page = await client.get("/login")
        values = {"email": agent.email, "password": "x", "next": "/", field: "%ED%A0%80%FF"}
        body = "&".join(f"{k}={v}" for k, v in values.items())
        response = await client.post(
            "/login",
            content=(f"{body}&_csrf_token={csrf_from(page.text)}").encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert 300 <= response.status_code < 500, response.text
    assert "inbox_session" not in client.cookies


def _nested_mime(levels: int) -> bytes:
    head = (
        b"From: Sam <sam@example.com>\r\nTo: support@shop.example\r\n"
        b"Message-ID: <nest@example.com>\r\nSubject: nest\r\nMIME-Version: 1.0\r\n"
    )
    parts = b"Content-Type: text/plain\r\n\r\ninner\r\n"
    for n in range(levels):
        parts = (
            f'Content-Type: multipart/mixed; boundary="b{n}"\r\n\r\n--b{n}\r\n'.encode()
            + parts
            + f"\r\n--b{n}--\r\n".encode()
        )
    return head + parts


@pytest.mark.parametrize(
    "raw",
    [
        _nested_mime(60),
        _nested_mime(2000),
        b"From: a\r\n" * 50_000 + b"\r\n",
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n" + b"--x\r\n" * 20_000,
        b"From: =?utf-8?b?!!!?= <a@b.c>\r\nSubject: =?bogus-8?q?=FF?=\r\n\r\n\xff\xfe",
        b"From: <a@b.c>\r\nContent-Transfer-Encoding: base64\r\n\r\n@@@@====",
        b'From: <a@b.c>\r\nContent-Type: text/plain; charset="utf-7"\r\n\r\n+2D3cAA-',
    ],
)
async def test_hostile_mime_never_5xx(server, db, raw):
    inbox = await make_inbox(db, "email", config={"address": "support@shop.example"})
    before = await stored(db)
    async with server.client(inbox.token) as client:
        response = await client.post(
            f"/webhooks/email/{inbox.id}", content=raw, headers={"Content-Type": "message/rfc822"}
        )
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert await stored(db) == before
    else:
        assert json.loads(response.text)["message_id"]


@pytest.mark.parametrize(
    "kind", ["bogus", "api", "webchat", "EMAIL", "twilio", "%2e%2e", "whatsapp", "telegram"]
)
async def test_webhook_paths_of_the_wrong_kind_or_junk_are_4xx(server, db, kind):
    inbox = await make_inbox(db, "webchat")
    before = await stored(db)
    async with server.client() as client:
        answers = [await client.get(f"/webhooks/{kind}/{inbox.id}")]
        for action in ("", "/status", "/%00", "/" + "x" * 300):
            answers.append(await client.post(f"/webhooks/{kind}/{inbox.id}{action}", content=b"{}"))
    for response in answers:
        assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert await stored(db) == before
