"""The agent pages over HTTP: login with CSRF, the list, one conversation, safe rendering."""

import re

from inbox.ingest import ingest
from tests.factories import inbound, make_agent, make_inbox

PASSWORD = "correct horse battery"


def csrf_from(html: str) -> str:
    return re.search(r'name="_csrf_token" value="([^"]+)"', html).group(1)


async def login(client, email, password=PASSWORD, next_path="/"):
    page = await client.get("/login")
    return await client.post(
        "/login",
        data={
            "email": email,
            "password": password,
            "next": next_path,
            "_csrf_token": csrf_from(page.text),
        },
    )


async def test_login_form_has_the_public_fields_and_a_csrf_token(server):
    async with server.client() as client:
        page = await client.get("/login")
    assert page.status_code == 200
    assert 'name="email"' in page.text and 'name="password"' in page.text
    assert csrf_from(page.text)
    assert "script-src 'self'" in page.headers["content-security-policy"]


async def test_pages_need_a_login(server):
    async with server.client() as client:
        response = await client.get("/conversations/1")
    assert response.status_code in (302, 303, 307)
    assert response.headers["location"] == "/login?next=/conversations/1"


async def test_wrong_password_is_refused_and_sets_no_session(server, db):
    agent = await make_agent(db)
    async with server.client() as client:
        response = await login(client, agent.email, "not the password")
        assert response.status_code == 401
        assert "Wrong email or password" in response.text
        assert "inbox_session" not in client.cookies


async def test_login_without_the_csrf_token_is_refused(server, db):
    agent = await make_agent(db)
    async with server.client() as client:
        await client.get("/login")
        response = await client.post("/login", data={"email": agent.email, "password": PASSWORD})
    assert response.status_code == 403


async def test_login_sets_an_httponly_session_and_never_redirects_off_site(server, db):
    agent = await make_agent(db)
    async with server.client() as client:
        response = await login(client, agent.email, next_path="//evil.example/phish")
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = next(
        v
        for k, v in response.headers.multi_items()
        if k == "set-cookie" and v.startswith("inbox_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("samesite", "SameSite")


async def test_agent_sees_the_list_and_the_cross_channel_timeline(server, db, settings):
    api = await make_inbox(db, "api")
    sms = await make_inbox(db, "twilio")
    agent = await make_agent(db, inboxes=[api, sms])
    first = await ingest(
        db, inbound(api, "Order 77 is late", phone="010-1111-2222", name="Hana"), settings
    )
    await ingest(db, inbound(sms, "Any news?", phone="01011112222", channel="sms"), settings)
    async with server.client() as client:
        await login(client, agent.email)
        listing = await client.get("/")
        page = await client.get(f"/conversations/{first.conversation_id}")
    assert "Hana" in listing.text and "Any news?" in listing.text
    assert page.status_code == 200
    assert page.text.index("Order 77 is late") < page.text.index("Any news?")
    assert ">sms<" in page.text and ">api<" in page.text


async def test_customer_supplied_text_renders_as_text(server, db, settings):
    api = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[api])
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    result = await ingest(db, inbound(api, payload, email="x@example.org", name=payload), settings)
    async with server.client() as client:
        await login(client, agent.email)
        page = await client.get(f"/conversations/{result.conversation_id}")
        listing = await client.get("/")
    for html in (page.text, listing.text):
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(" in html


async def test_agent_replies_from_the_page(server, db, settings):
    api = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[api])
    result = await ingest(db, inbound(api, "hello", email="x@example.org"), settings)
    async with server.client() as client:
        await login(client, agent.email)
        page = await client.get(f"/conversations/{result.conversation_id}")
        response = await client.post(
            f"/conversations/{result.conversation_id}/reply",
            data={"text": "Hi! Looking into it.", "_csrf_token": csrf_from(page.text)},
        )
        assert response.status_code == 303
        after = await client.get(f"/conversations/{result.conversation_id}")
    assert "Hi! Looking into it." in after.text


async def test_agent_without_access_gets_404(server, db, settings):
    theirs = await make_inbox(db, "api")
    outsider = await make_agent(db, inboxes=[await make_inbox(db, "api")])
    result = await ingest(db, inbound(theirs, "secret", email="x@example.org"), settings)
    async with server.client() as client:
        await login(client, outsider.email)
        page = await client.get(f"/conversations/{result.conversation_id}")
    assert page.status_code == 404
    assert "secret" not in page.text


async def test_ten_failures_lock_the_account_with_retry_after(server, db):
    agent = await make_agent(db)
    async with server.client() as client:
        for _ in range(10):
            assert (await login(client, agent.email, "guess")).status_code == 401
        locked = await login(client, agent.email)  # even the right password waits
    assert locked.status_code == 429
    assert 0 < int(locked.headers["retry-after"]) <= 15 * 60
