"""The admin pages over HTTP: inboxes (connect, webhook URL, signature state, edit, members) and
agents (invite, role, deactivate, password, membership). Admins only, CSRF on every form."""

import asyncio
import re
from contextlib import asynccontextmanager
from urllib.parse import parse_qs

import pytest
from websockets.asyncio.client import connect

from inbox.models import Agent, Inbox
from tests.connectors.provider_server import Answer, ProviderServer
from tests.factories import count, make_agent, make_inbox
from tests.web.test_pages import PASSWORD, csrf_from, login

TWILIO = {
    "account_sid": "AC" + "1" * 32,
    "auth_token": "twilio-auth-token-0123456789abcd",
    "phone_number": "+14155550100",
}


@asynccontextmanager
async def admin_client(server, db):
    """A browser signed in as an admin, and that admin."""
    admin = await make_agent(db, "ada@support.example", name="Ada", admin=True)
    async with server.client() as client:
        await login(client, admin.email)
        yield client, admin


async def post_form(client, page_path, action, fields):
    """Submit a form as a browser does: the CSRF token taken from the page."""
    page = await client.get(page_path)
    assert page.status_code == 200, page.text
    return await client.post(action, data={**fields, "_csrf_token": csrf_from(page.text)})


async def stored(db, model):
    async with db.read() as session:
        from sqlmodel import select

        return list((await session.exec(select(model))).all())


# --- access -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/admin", "/admin/inboxes", "/admin/agents", "/admin/canned-replies"]
)
async def test_agents_get_403_and_strangers_are_sent_to_login(server, db, path):
    agent = await make_agent(db, "jo@support.example")
    async with server.client() as client:
        anonymous = await client.get(path)
        await login(client, agent.email)
        refused = await client.get(path)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert refused.status_code == 403


async def test_an_agent_cannot_post_admin_forms(server, db):
    agent = await make_agent(db, "jo@support.example")
    async with server.client() as client:
        await login(client, agent.email)
        token = csrf_from((await client.get("/")).text)
        response = await client.post(
            "/admin/inboxes", data={"kind": "api", "name": "Sneaky", "_csrf_token": token}
        )
        promoted = await client.post(
            f"/admin/agents/{agent.id}/role", data={"role": "admin", "_csrf_token": token}
        )
    assert response.status_code == promoted.status_code == 403
    assert await count(db, "inbox") == 0
    assert (await stored(db, Agent))[0].role == "agent"


async def test_admin_link_leads_to_the_inboxes_page(server, db):
    async with admin_client(server, db) as (client, _):
        home = await client.get("/")
        admin = await client.get("/admin")
    assert 'href="/admin"' in home.text
    assert admin.status_code == 303 and admin.headers["location"] == "/admin/inboxes"


async def test_every_form_needs_the_csrf_token(server, db):
    inbox = await make_inbox(db, "api", "Shop")
    async with admin_client(server, db) as (client, admin):
        await client.get("/admin/inboxes")
        posts = [
            ("/admin/inboxes", {"kind": "api", "name": "No token"}),
            (f"/admin/inboxes/{inbox.id}", {"name": "Renamed"}),
            (f"/admin/inboxes/{inbox.id}/members", {"add": str(admin.id)}),
            ("/admin/agents", {"email": "x@support.example", "name": "X", "password": "x" * 10}),
            (f"/admin/agents/{admin.id}/password", {"password": "y" * 10}),
            ("/admin/canned-replies", {"shortcut": "hi", "title": "Hi", "body": "Hi!"}),
        ]
        answers = [(await client.post(path, data=data)).status_code for path, data in posts]
    assert answers == [403] * len(posts)
    assert [i.name for i in await stored(db, Inbox)] == ["Shop"]
    assert await count(db, "agent") == 1 and await count(db, "inbox_member") == 0
    assert await count(db, "canned_reply") == 0


# --- inboxes ------------------------------------------------------------------------------


async def test_connecting_an_api_inbox_shows_the_webhook_url_and_the_token_once(server, db):
    async with admin_client(server, db) as (client, _):
        created = await post_form(
            client,
            "/admin/inboxes",
            "/admin/inboxes",
            {
                "kind": "api",
                "name": "Shop backend",
                "callback_url": "https://shop.example/hook",
                "bot_enabled": "on",
                "bot_threshold": "0.8",
            },
        )
        listing = await client.get("/admin/inboxes")
    inbox = (await stored(db, Inbox))[0]
    assert created.status_code == 200
    url = f"http://inbox.test/api/v1/inboxes/{inbox.id}/messages"  # as `create-inbox --json`
    assert f'id="webhook-url">{url}<' in created.text
    assert inbox.token in created.text
    assert inbox.config == {
        "callback_url": "https://shop.example/hook",
        "bot_enabled": True,
        "bot_threshold": 0.8,
    }
    assert url in listing.text and inbox.token not in listing.text
    assert "Shop backend" in listing.text


async def test_the_list_says_which_inboxes_check_signatures(server, db):
    await make_inbox(db, "twilio", "Checked SMS", TWILIO)
    await make_inbox(db, "twilio", "Open SMS", {**TWILIO, "verify_signatures": False})
    await make_inbox(db, "whatsapp", "WA without secret", {"phone_number_id": "1"})
    async with admin_client(server, db) as (client, _):
        page = await client.get("/admin/inboxes")
    rows = dict(re.findall(r'<tr id="inbox-\d+">.*?>([^<>]+)</a>(.*?)</tr>', page.text, re.S))
    assert 'class="sig-on"' in rows["Checked SMS"] and "sig-off" not in rows["Checked SMS"]
    assert 'class="sig-off"' in rows["Open SMS"]
    assert "anyone who knows the URL" in rows["Open SMS"]
    assert 'class="sig-off"' in rows["WA without secret"]
    assert "/webhooks/twilio/" in rows["Checked SMS"]


async def test_connecting_twilio_keeps_the_secret_and_never_shows_it_back(server, db):
    async with admin_client(server, db) as (client, _):
        created = await post_form(
            client,
            "/admin/inboxes",
            "/admin/inboxes",
            {"kind": "twilio", "name": "SMS", **TWILIO, "verify_signatures": "on"},
        )
        inbox = (await stored(db, Inbox))[0]
        edit_page = await client.get(f"/admin/inboxes/{inbox.id}")
        listing = await client.get("/admin/inboxes")
    assert created.status_code == 200
    assert inbox.config["auth_token"] == TWILIO["auth_token"]
    assert inbox.config["verify_signatures"] is True
    for page in (created, edit_page, listing):
        assert TWILIO["auth_token"] not in page.text
    assert "••••abcd" in edit_page.text  # enough to recognise it


async def test_editing_keeps_an_unchanged_secret_and_turning_checks_off_warns(server, db):
    inbox = await make_inbox(db, "twilio", "SMS", {**TWILIO, "polling_hint": "kept"})
    async with admin_client(server, db) as (client, _):
        saved = await post_form(
            client,
            f"/admin/inboxes/{inbox.id}",
            f"/admin/inboxes/{inbox.id}",
            {
                "name": "SMS Seoul",
                "account_sid": TWILIO["account_sid"],
                "auth_token": "",
                "phone_number": "+14155550199",
                "bot_threshold": "",
            },
        )
        page = await client.get(f"/admin/inboxes/{inbox.id}")
    after = (await stored(db, Inbox))[0]
    assert saved.status_code == 303
    assert after.name == "SMS Seoul"
    assert after.config["auth_token"] == TWILIO["auth_token"]
    assert after.config["phone_number"] == "+14155550199"
    assert after.config["verify_signatures"] is False and after.config["bot_enabled"] is False
    assert after.config["polling_hint"] == "kept"  # keys the form does not show stay
    assert 'class="sig-off"' in page.text


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "api", "name": ""},
        {"kind": "nonsense", "name": "X"},
        {"kind": "api", "name": "X", "callback_url": "javascript:alert(1)"},
        {"kind": "api", "name": "X", "bot_threshold": "7"},
        {"kind": "api", "name": "X", "bot_threshold": "nan"},
        {"kind": "whatsapp", "name": "WA", "phone_number_id": "1"},
        {"kind": "email", "name": "Mail", "imap_port": "99999"},
        {"kind": "webchat", "name": "Chat", "business_hours": "[1, 2"},
        {"kind": "webchat", "name": "Chat", "business_hours": "[1, 2]"},
        {"kind": "email", "name": "Mail", "smtp_security": "ssl3"},
    ],
)
async def test_bad_input_is_400_and_stores_nothing(server, db, fields):
    async with admin_client(server, db) as (client, _):
        response = await post_form(client, "/admin/inboxes", "/admin/inboxes", fields)
    assert response.status_code == 400
    assert 'id="admin-error"' in response.text
    assert await count(db, "inbox") == 0


async def test_a_bad_edit_is_400_and_changes_nothing(server, db):
    inbox = await make_inbox(db, "api", "Shop", {"callback_url": "https://shop.example/a"})
    async with admin_client(server, db) as (client, _):
        response = await post_form(
            client,
            f"/admin/inboxes/{inbox.id}",
            f"/admin/inboxes/{inbox.id}",
            {"name": "Renamed", "callback_url": "ftp://nope"},
        )
        missing = await post_form(
            client, "/admin/inboxes", "/admin/inboxes/999999", {"name": "Ghost"}
        )
    assert response.status_code == 400 and "callback_url" in response.text
    assert missing.status_code == 404
    after = (await stored(db, Inbox))[0]
    assert after.name == "Shop" and after.config == {"callback_url": "https://shop.example/a"}


async def test_a_webchat_inbox_shows_its_embed_snippet(server, db):
    async with admin_client(server, db) as (client, _):
        created = await post_form(
            client,
            "/admin/inboxes",
            "/admin/inboxes",
            {
                "kind": "webchat",
                "name": "Shop chat",
                "allowed_origins": "https://shop.example",
                "bot_enabled": "on",
            },
        )
        inbox = (await stored(db, Inbox))[0]
        page = await client.get(f"/admin/inboxes/{inbox.id}")
    snippet = (
        f"&lt;script src=&#34;http://inbox.test/widget.js?inbox={inbox.token}&#34; "
        "async&gt;&lt;/script&gt;"
    )
    assert snippet in created.text and snippet in page.text
    assert inbox.config["allowed_origins"] == ["https://shop.example"]
    assert len(inbox.config["identity_secret"]) >= 16  # generated, as the CLI does
    assert inbox.config["identity_secret"] not in page.text
    assert 'class="sig-on"' in page.text


async def test_members_are_added_and_removed_and_lose_the_inbox_at_once(server, db):
    inbox = await make_inbox(db, "api", "Shop")
    jo = await make_agent(db, "jo@support.example", name="Jo")
    async with admin_client(server, db) as (client, _):
        path = f"/admin/inboxes/{inbox.id}"
        before = await connect(f"{server.ws_url}/ws?token={jo.token}")
        added = await post_form(client, path, f"{path}/members", {"add": str(jo.id)})
        await asyncio.wait_for(
            before.wait_closed(), 5
        )  # it reconnects, now scoped to the new inbox too
        listed = await client.get("/admin/inboxes")
        assert added.status_code == 303 and await count(db, "inbox_member") == 1
        assert re.search(rf'<tr id="inbox-{inbox.id}">.*?<td>1</td>', listed.text, re.S)
        async with server.client(jo.token) as jo_api:
            assert (
                await jo_api.get("/api/v1/conversations", params={"inbox_id": inbox.id})
            ).status_code == 200
        socket = await connect(f"{server.ws_url}/ws?token={jo.token}")
        removed = await post_form(client, path, f"{path}/members", {"remove": str(jo.id)})
        bad = await post_form(client, path, f"{path}/members", {"add": "x1"})
    assert removed.status_code == 303 and await count(db, "inbox_member") == 0
    assert bad.status_code == 400
    # The socket was scoped to the old membership; it is closed, a new one gets the new scope.
    await asyncio.wait_for(socket.wait_closed(), 5)
    assert socket.close_code is not None


# --- agents -------------------------------------------------------------------------------


async def test_an_admin_invites_an_agent_who_can_then_log_in(server, db):
    async with admin_client(server, db) as (client, _):
        created = await post_form(
            client,
            "/admin/agents",
            "/admin/agents",
            {
                "email": "Kim@Support.example",
                "name": "Kim",
                "role": "agent",
                "password": "a good long password",
            },
        )
        listing = await client.get("/admin/agents")
    kim = next(a for a in await stored(db, Agent) if a.name == "Kim")
    assert created.status_code == 303 and created.headers["location"] == f"/admin/agents/{kim.id}"
    assert kim.email == "kim@support.example" and kim.role == "agent"
    assert "kim@support.example" in listing.text
    async with server.client() as browser:
        assert (await login(browser, kim.email, "a good long password")).status_code == 303


@pytest.mark.parametrize(
    "fields",
    [
        {"email": "not an email", "name": "X", "role": "agent", "password": "long enough pw"},
        {"email": "x@support.example", "name": " ", "role": "agent", "password": "long enough pw"},
        {"email": "x@support.example", "name": "X", "role": "root", "password": "long enough pw"},
        {"email": "x@support.example", "name": "X", "role": "agent", "password": "short"},
        {"email": "ada@support.example", "name": "Dup", "role": "agent", "password": "long enough"},
    ],
)
async def test_bad_invitations_are_400_and_store_nothing(server, db, fields):
    async with admin_client(server, db) as (client, _):
        response = await post_form(client, "/admin/agents", "/admin/agents", fields)
    assert response.status_code == 400
    assert 'id="admin-error"' in response.text
    assert await count(db, "agent") == 1


async def test_role_changes_and_the_last_admin_stays_an_admin(server, db):
    jo = await make_agent(db, "jo@support.example", name="Jo")
    async with admin_client(server, db) as (client, admin):
        promoted = await post_form(
            client, f"/admin/agents/{jo.id}", f"/admin/agents/{jo.id}/role", {"role": "admin"}
        )
        async with server.client() as jo_browser:
            await login(jo_browser, jo.email)
            assert (await jo_browser.get("/admin/agents")).status_code == 200
        bogus = await post_form(
            client, f"/admin/agents/{jo.id}", f"/admin/agents/{jo.id}/role", {"role": "owner"}
        )
        await post_form(
            client, f"/admin/agents/{jo.id}", f"/admin/agents/{jo.id}/role", {"role": "agent"}
        )
        last = await post_form(
            client, f"/admin/agents/{admin.id}", f"/admin/agents/{admin.id}/role", {"role": "agent"}
        )
    assert promoted.status_code == 303
    assert bogus.status_code == 400
    assert last.status_code == 409 and "last active admin" in last.text
    roles = {a.email: a.role for a in await stored(db, Agent)}
    assert roles == {"ada@support.example": "admin", "jo@support.example": "agent"}


async def test_deactivation_ends_sessions_sockets_and_tokens_and_reactivation_allows_login(
    server, db
):
    inbox = await make_inbox(db, "api")
    jo = await make_agent(db, "jo@support.example", name="Jo", inboxes=[inbox])
    async with admin_client(server, db) as (client, _), server.client() as jo_browser:
        await login(jo_browser, jo.email)
        assert (await jo_browser.get("/")).status_code == 200
        socket = await connect(f"{server.ws_url}/ws?token={jo.token}")
        path = f"/admin/agents/{jo.id}"
        off = await post_form(client, path, f"{path}/active", {"active": "0"})
        assert off.status_code == 303
        after = await jo_browser.get("/")
        await asyncio.wait_for(socket.wait_closed(), 5)
        async with server.client(jo.token) as api:
            token_answer = await api.get("/api/v1/conversations")
        relogin = await login(jo_browser, jo.email)
        on = await post_form(client, path, f"{path}/active", {"active": "1"})
        back = await login(jo_browser, jo.email)
        bad = await post_form(client, path, f"{path}/active", {"active": "maybe"})
    assert after.status_code == 303 and after.headers["location"].startswith("/login")
    assert socket.close_code is not None
    assert token_answer.status_code == 401
    assert relogin.status_code == 401
    assert on.status_code == 303 and back.status_code == 303
    assert bad.status_code == 400


async def test_an_admin_cannot_deactivate_the_last_admin(server, db):
    async with admin_client(server, db) as (client, admin):
        path = f"/admin/agents/{admin.id}"
        response = await post_form(client, path, f"{path}/active", {"active": "0"})
        still = await client.get("/admin/agents")
    assert response.status_code == 409
    assert still.status_code == 200


async def test_a_password_reset_ends_the_agents_sessions(server, db):
    jo = await make_agent(db, "jo@support.example", name="Jo")
    async with admin_client(server, db) as (client, _), server.client() as jo_browser:
        await login(jo_browser, jo.email)
        path = f"/admin/agents/{jo.id}"
        short = await post_form(client, path, f"{path}/password", {"password": "short"})
        assert (await jo_browser.get("/")).status_code == 200  # a refused reset changes nothing
        reset = await post_form(client, path, f"{path}/password", {"password": "brand new pass"})
        after = await jo_browser.get("/")
        old = await login(jo_browser, jo.email, PASSWORD)
        new = await login(jo_browser, jo.email, "brand new pass")
    assert short.status_code == 400
    assert reset.status_code == 303
    assert after.status_code == 303
    assert old.status_code == 401 and new.status_code == 303


async def test_inbox_membership_from_the_agent_page(server, db):
    inbox = await make_inbox(db, "twilio", "SMS", TWILIO)
    jo = await make_agent(db, "jo@support.example", name="Jo")
    async with admin_client(server, db) as (client, _):
        path = f"/admin/agents/{jo.id}"
        added = await post_form(client, path, f"{path}/inboxes", {"add": str(inbox.id)})
        page = await client.get(path)
        removed = await post_form(client, path, f"{path}/inboxes", {"remove": str(inbox.id)})
        ghost = await post_form(client, path, f"{path}/inboxes", {"add": "987654"})
    assert added.status_code == 303
    assert re.search(r'id="member-of">\s*<li><span class="badge ch-twilio">', page.text)
    assert removed.status_code == 303 and ghost.status_code == 404
    assert await count(db, "inbox_member") == 0


async def test_a_refused_form_does_not_echo_the_secrets_typed_into_it(server, db):
    async with admin_client(server, db) as (client, _):
        response = await post_form(
            client,
            "/admin/inboxes",
            "/admin/inboxes",
            {
                "kind": "whatsapp",
                "name": "WA",
                "phone_number_id": "1066",
                "access_token": "EAAG-typed-access-token-123",
                "app_secret": "typed-app-secret-456",
            },
        )
    assert response.status_code == 400 and "verify_token" in response.text
    assert "EAAG-typed-access-token-123" not in response.text
    assert "typed-app-secret-456" not in response.text
    assert 'value="1066"' in response.text  # the rest is kept for another try
    assert await count(db, "inbox") == 0


@pytest.mark.parametrize("refused", [False, True])
async def test_connecting_telegram_registers_the_webhook_with_a_generated_secret(
    server, db, refused
):
    bot_token = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
    with ProviderServer() as bot_api:
        answer = (
            Answer(400, {"ok": False, "error_code": 400, "description": "Bad Request: no"})
            if refused
            else Answer(200, {"ok": True, "result": True, "description": "Webhook was set"})
        )
        bot_api.route("POST", f"/bot{bot_token}/setWebhook", answer)
        async with admin_client(server, db) as (client, _):
            created = await post_form(
                client,
                "/admin/inboxes",
                "/admin/inboxes",
                {
                    "kind": "telegram",
                    "name": "Shop bot",
                    "bot_token": bot_token,
                    "api_base_url": bot_api.url,
                    "register_webhook": "on",
                },
            )
    inbox = (await stored(db, Inbox))[0]
    [request] = bot_api.requests
    sent = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
    assert sent["url"] == f"http://inbox.test/webhooks/telegram/{inbox.id}"
    assert sent["secret_token"] == inbox.config["secret_token"]
    assert len(inbox.config["secret_token"]) >= 32
    assert created.status_code == 200
    assert inbox.config["secret_token"] not in created.text and bot_token not in created.text
    assert 'class="sig-on"' in created.text
    assert ("the provider refused the webhook" in created.text) is refused
