"""Browser rules over HTTP: cookie flags, CSRF on every cookie-authenticated write, `?next=` only
to local paths, a CSP without inline script on every page, no credentialed CORS, attachments
never served as a page, and customer-supplied text rendered as text."""

from __future__ import annotations

import asyncio
import re

import pytest

from inbox.ingest import ingest
from tests.factories import inbound, make_agent, make_inbox
from tests.security.conftest import stored

PASSWORD = "correct horse battery"
PAYLOADS = [
    '<script>alert("x1")</script>',
    '<img src=x onerror=alert("x2")>',
    '"><svg onload=alert("x3")>',
    "</textarea><script>alert('x4')</script>",
]


def csrf_from(html: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field in the form"
    return found.group(1)


async def login(client, email: str, next_path: str = "/"):
    page = await client.get("/login")
    return await client.post(
        "/login",
        data={
            "email": email,
            "password": PASSWORD,
            "next": next_path,
            "_csrf_token": csrf_from(page.text),
        },
    )


def session_cookie(response) -> str:
    return next(
        v
        for k, v in response.headers.multi_items()
        if k == "set-cookie" and v.startswith("inbox_session=")
    )


@pytest.mark.parametrize(
    "target",
    [
        "//evil.com",
        "https://evil.com",
        "/\\evil.com",
        "javascript:alert(1)",
        "\\\\evil.com",
        "/\t/evil.com",
        "http:/evil.com",
        "///evil.com",
        " //evil.com",
        "%2F%2Fevil.com",
        "https:evil.com",
        "/%09/evil.com",
        "\x00//evil.com",
    ],
)
async def test_next_never_leaves_the_site(server, db, target):
    agent = await make_agent(db)
    async with server.client() as client:
        form = await client.get("/login", params={"next": target})
        response = await login(client, agent.email, next_path=target)
    assert form.status_code == 200
    hidden = re.search(r'name="next" value="([^"]*)"', form.text).group(1)
    assert hidden.startswith("/") and not hidden.startswith(("//", "/\\")), hidden
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location
    assert "evil.com" not in location or location.startswith("/%")


async def test_a_local_next_is_kept(server, db):
    agent = await make_agent(db)
    async with server.client() as client:
        response = await login(client, agent.email, next_path="/?view=mine")
    assert response.headers["location"] == "/?view=mine"


@pytest.mark.parametrize(
    ("public_url", "env", "secure"),
    [
        ("http://inbox.test", "development", False),
        ("https://inbox.example", "development", True),
        ("http://inbox.test", "production", True),
    ],
)
async def test_the_session_cookie_is_httponly_lax_and_secure_behind_https_or_in_production(
    settings, db, public_url, env, secure
):
    from tests.conftest import LiveServer

    changed = settings.with_(public_url=public_url, env=env, secret_key="s" * 48)
    async with LiveServer(changed) as server:
        agent = await make_agent(db)
        async with server.client() as client:
            page = await client.get("/login")
            csrf_cookie = next(
                v
                for k, v in page.headers.multi_items()
                if k == "set-cookie" and v.startswith("inbox_csrf=")
            )
            # httpx keeps Secure cookies off plain http, as a browser would; hand it back.
            response = await client.post(
                "/login",
                headers={"Cookie": csrf_cookie.split(";")[0]},
                data={
                    "email": agent.email,
                    "password": PASSWORD,
                    "_csrf_token": csrf_from(page.text),
                },
            )
            cookie = session_cookie(response).lower()
    flags = {part.strip() for part in cookie.split(";")}
    assert {"httponly", "samesite=lax"} <= flags
    assert ("secure" in flags) == secure
    assert ("secure" in {p.strip() for p in csrf_cookie.lower().split(";")}) == secure


async def test_cookie_authenticated_writes_need_the_csrf_token(server, db, settings):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    result = await ingest(db, inbound(inbox, "help", email="c@example.com"), settings)
    conversation = result.conversation_id
    async with server.client() as client:
        assert (await login(client, agent.email)).status_code == 303
        before = await stored(db)
        forged = [
            await client.post(f"/conversations/{conversation}/reply", data={"text": "forged"}),
            await client.post(
                f"/conversations/{conversation}/reply",
                data={"text": "forged", "_csrf_token": "x" * 64},
            ),
            await client.post(f"/conversations/{conversation}/manage", data={"status": "resolved"}),
            await client.post("/logout"),
        ]
        page = await client.get(f"/conversations/{conversation}")
        good = await client.post(
            f"/conversations/{conversation}/reply",
            data={"text": "real", "_csrf_token": csrf_from(page.text)},
        )
    assert [r.status_code for r in forged] == [403, 403, 403, 403]
    assert page.status_code == 200 and "status st-open" in page.text
    assert good.status_code == 303
    assert (await stored(db))["message"] == before["message"] + 1


async def test_every_html_page_has_a_csp_without_inline_script(server, db, settings):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    result = await ingest(db, inbound(inbox, "help", email="c@example.com"), settings)
    async with server.client() as client:
        pages = [await client.get("/login"), await client.get("/login?next=/x")]
        await login(client, agent.email)
        pages += [
            await client.get("/"),
            await client.get("/?view=mine&partial=true"),
            await client.get(f"/conversations/{result.conversation_id}"),
            await client.get(f"/conversations/{result.conversation_id}?partial=1"),
            await client.get("/conversations/999999"),
            await client.get("/nowhere"),
        ]
    for page in pages:
        policy = page.headers.get("content-security-policy", "")
        script = re.search(r"script-src ([^;]*)", policy) or re.search(
            r"default-src ([^;]*)", policy
        )
        assert script, (page.url, policy)
        assert "'unsafe-inline'" not in script.group(1) and "'unsafe-eval'" not in policy
        assert page.headers["x-content-type-options"] == "nosniff"
        if "text/html" in page.headers.get("content-type", ""):
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text), page.url


async def test_no_credentialed_cors_anywhere(server, world):
    origin = {"Origin": "https://evil.com"}
    async with server.client(world["alice"].token) as client:
        answers = [
            await client.options(
                "/api/v1/conversations",
                headers={
                    **origin,
                    "Access-Control-Request-Method": "GET",
                    "Access-Control-Request-Headers": "authorization",
                },
            ),
            await client.get("/api/v1/conversations", headers=origin),
            await client.get("/login", headers=origin),
            await client.options(
                f"/api/v1/inboxes/{world['north'].id}/messages",
                headers={**origin, "Access-Control-Request-Method": "POST"},
            ),
        ]
    for response in answers:
        assert response.headers.get("access-control-allow-credentials") is None
        assert response.headers.get("access-control-allow-origin") in (None, "*")


async def test_a_cookie_session_websocket_from_another_origin_is_refused(server, db):
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    agent = await make_agent(db)
    async with server.client() as client:
        await login(client, agent.email)
        cookie = f"inbox_session={client.cookies['inbox_session']}"
    same = server.url
    async with connect(
        f"{server.ws_url}/ws", origin=same, additional_headers={"Cookie": cookie}
    ) as socket:
        assert socket.state.name == "OPEN"
    with pytest.raises((InvalidStatus, ConnectionClosed)):
        async with connect(
            f"{server.ws_url}/ws", origin="https://evil.com", additional_headers={"Cookie": cookie}
        ) as socket:
            await asyncio.wait_for(socket.recv(), 2)


@pytest.mark.parametrize(
    ("name", "ctype", "body"),
    [
        ("page.html", "text/html", b"<script>alert(1)</script>"),
        ("page.htm", "text/html; charset=utf-8", b"<script>alert(1)</script>"),
        ("logo.svg", "image/svg+xml", b"<svg onload=alert(1)/>"),
        ("x.png", "IMAGE/SVG+XML ; q=1", b"<svg onload=alert(1)/>"),
        ("x.xhtml", "application/xhtml+xml", b"<html/>"),
        ("../../etc/passwd\r\nSet-Cookie: a=b", "text/plain", b"root"),
        ("evil\x00.html", "text/html", b"<b>"),
    ],
)
async def test_attachments_are_never_a_page_on_any_path(server, db, settings, name, ctype, body):
    from inbox.channel import InboundAttachment
    from tests.factories import events

    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    message = inbound(inbox, "see file", email="f@example.com")
    message = message.__class__(
        **{**message.__dict__, "attachments": (InboundAttachment(name, ctype, body),)}
    )
    await ingest(db, message, settings)
    created = next(e for e in await events(db) if e.type == "message.created")
    [attachment] = created.payload["attachments"]
    async with server.client(agent.token) as api:
        answers = [await api.get(f"/api/v1/attachments/{attachment['id']}")]
    async with server.client() as browser:
        await login(browser, agent.email)
        answers.append(await browser.get(f"/attachments/{attachment['id']}"))
    for response in answers:
        assert response.status_code == 200, response.text
        assert response.headers["content-disposition"].startswith("attachment;")
        assert "\r" not in response.headers["content-disposition"]
        assert response.headers["content-type"] == "application/octet-stream"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "set-cookie" not in {k.lower() for k in response.headers if k.lower() == "a"}
        assert response.content == body


async def test_script_in_names_subjects_and_text_renders_as_text(server, db, settings):
    inbox = await make_inbox(db, "email", config={"address": "support@shop.example"})
    agent = await make_agent(db, inboxes=[inbox])
    result = None
    for n, payload in enumerate(PAYLOADS):
        result = await ingest(
            db,
            inbound(
                inbox,
                f"body {payload}",
                email=f"x{n}@example.com",
                name=f"Mallory {payload}",
                subject=f"Re: {payload}",
            ),
            settings,
        )
    assert result is not None
    async with server.client() as client:
        await login(client, agent.email)
        pages = [
            await client.get("/"),
            await client.get(f"/conversations/{result.conversation_id}"),
        ]
        page = pages[1]
        await client.post(
            f"/conversations/{result.conversation_id}/reply",
            data={"text": PAYLOADS[0], "_csrf_token": csrf_from(page.text)},
        )
        pages.append(await client.get(f"/conversations/{result.conversation_id}"))
    for page in pages:
        assert page.status_code == 200
        for payload in PAYLOADS:
            assert payload not in page.text
        assert "<script>alert" not in page.text and "<img src=x" not in page.text
        assert "<svg onload" not in page.text
    assert "&lt;script&gt;alert(" in pages[2].text
    assert "Mallory &lt;" in pages[1].text
