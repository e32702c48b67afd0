"""Canned replies: the REST API (shared ones for admins, personal ones for their owner), prefix
search, the variables filled for a conversation, and the admin page."""

import pytest

from tests.factories import count, make_agent, make_inbox
from tests.web.support import customer_writes
from tests.web.test_pages import csrf_from, login

API = "/api/v1/canned-replies"
THANKS = {
    "shortcut": "thanks",
    "title": "Thank you",
    "body": "Thanks {{customer.name}}! — {{agent.name}}",
}


async def people(db):
    inbox = await make_inbox(db, "api", "Shop")
    admin = await make_agent(db, "ada@support.example", name="Ada", admin=True)
    jo = await make_agent(db, "jo@support.example", name="Jo", inboxes=[inbox])
    kim = await make_agent(db, "kim@support.example", name="Kim", inboxes=[inbox])
    return inbox, admin, jo, kim


async def test_admins_write_shared_replies_and_agents_only_read_them(server, db):
    _, admin, jo, _ = await people(db)
    async with server.client(admin.token) as ada, server.client(jo.token) as agent:
        created = await ada.post(API, json={**THANKS, "shared": True})
        reply = created.json()
        refused = await agent.post(API, json={**THANKS, "shortcut": "hi", "shared": True})
        change = await agent.patch(f"{API}/{reply['id']}", json={"title": "Mine now"})
        delete = await agent.delete(f"{API}/{reply['id']}")
        seen = await agent.get(API)
        edited = await ada.patch(f"{API}/{reply['id']}", json={"title": "Thanks!"})
    assert created.status_code == 201
    assert reply["shared"] is True and reply["owner_id"] is None
    assert refused.status_code == change.status_code == delete.status_code == 403
    assert [r["title"] for r in seen.json()["items"]] == ["Thank you"]
    assert edited.status_code == 200 and edited.json()["title"] == "Thanks!"
    assert await count(db, "canned_reply") == 1


async def test_personal_replies_belong_to_their_owner_alone(server, db):
    _, admin, jo, kim = await people(db)
    async with (
        server.client(jo.token) as jo_api,
        server.client(kim.token) as kim_api,
        server.client(admin.token) as ada,
    ):
        mine = (await jo_api.post(API, json={**THANKS, "shortcut": "bye"})).json()
        same_shortcut = await kim_api.post(API, json={**THANKS, "shortcut": "bye"})
        taken = await jo_api.post(API, json={**THANKS, "shortcut": "BYE"})
        kim_sees = [r["shortcut"] for r in (await kim_api.get(API)).json()["items"]]
        admin_sees = [r["shortcut"] for r in (await ada.get(API)).json()["items"]]
        kim_reads = await kim_api.get(f"{API}/{mine['id']}")
        kim_edits = await kim_api.patch(f"{API}/{mine['id']}", json={"body": "hijacked"})
        kim_deletes = await kim_api.delete(f"{API}/{mine['id']}")
        jo_edits = await jo_api.patch(f"{API}/{mine['id']}", json={"body": "See you"})
        jo_shares = await jo_api.patch(f"{API}/{mine['id']}", json={"shared": True})
        jo_deletes = await jo_api.delete(f"{API}/{mine['id']}")
    assert mine["shared"] is False and mine["owner_id"] == jo.id
    assert same_shortcut.status_code == 201  # each agent has their own namespace
    assert taken.status_code == 409
    assert kim_sees == ["bye"] and admin_sees == []  # Kim sees her own, nobody sees Jo's
    assert kim_reads.status_code == kim_edits.status_code == kim_deletes.status_code == 404
    assert jo_edits.json()["body"] == "See you"
    assert jo_shares.status_code == 400
    assert jo_deletes.status_code == 204
    assert await count(db, "canned_reply") == 1


async def test_q_finds_replies_by_shortcut_prefix(server, db):
    _, admin, jo, _ = await people(db)
    async with server.client(admin.token) as ada, server.client(jo.token) as agent:
        for shortcut in ("thanks", "thanks-ko", "refund", "a_b", "axb"):
            assert (
                await ada.post(API, json={**THANKS, "shortcut": shortcut, "shared": True})
            ).status_code == 201, shortcut
        await agent.post(API, json={**THANKS, "shortcut": "thx"})
        found = {
            q: [r["shortcut"] for r in (await agent.get(API, params={"q": q})).json()["items"]]
            for q in ("th", "/thanks", "THANKS-", "re", "a_", "%", "zzz", "")
        }
    assert found["th"] == ["thanks", "thanks-ko", "thx"]
    assert found["/thanks"] == ["thanks", "thanks-ko"]
    assert found["THANKS-"] == ["thanks-ko"]
    assert found["re"] == ["refund"]
    assert found["a_"] == ["a_b"]  # a LIKE wildcard is a plain character here
    assert found["%"] == []
    assert found["zzz"] == []
    assert len(found[""]) == 6


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"shortcut": "", "title": "T", "body": "B"},
        {"shortcut": "has space", "title": "T", "body": "B"},
        {"shortcut": "x" * 33, "title": "T", "body": "B"},
        {"shortcut": "ok", "title": "", "body": "B"},
        {"shortcut": "ok", "title": "T", "body": "  "},
        {"shortcut": "ok", "title": "T", "body": "x" * 10_001},
        {"shortcut": "ok", "title": "T", "body": "nul \x00"},
        {"shortcut": "ok", "title": ["T"], "body": "B"},
        {"shortcut": "ok", "title": "T", "body": "B", "shared": "yes"},
        {"shortcut": "ok", "title": "T", "body": "B", "owner": 3},
        [1, 2],
        "text",
    ],
)
async def test_bad_replies_are_400_and_store_nothing(server, db, body):
    _, admin, _, _ = await people(db)
    async with server.client(admin.token) as ada:
        response = await ada.post(API, json=body)
    assert response.status_code == 400, response.text
    assert await count(db, "canned_reply") == 0


async def test_the_api_needs_an_agent_token(server, db):
    inbox, *_ = await people(db)
    async with server.client() as anonymous, server.client(inbox.token) as with_inbox_token:
        assert (await anonymous.get(API)).status_code == 401
        assert (await with_inbox_token.post(API, json=THANKS)).status_code == 401
    assert await count(db, "canned_reply") == 0


async def test_variables_are_filled_for_a_conversation_and_never_evaluated(server, db):
    inbox, admin, jo, _ = await people(db)
    hidden = await make_inbox(db, "api", "Other team")
    sent = await customer_writes(server, inbox, "Hi", name="Sarah Kim", email="sarah@example.com")
    other = await customer_writes(server, hidden, "Psst", email="x@example.org")
    body = (
        "Hi {{customer.name}} <{{ customer.email }}>, phone: [{{customer.phone}}], "
        "#{{conversation.id}}, {{agent.name}}. {{customer.secret}} {{ 7*7 }} "
        "{{ config.__class__ }} {% if 1 %}x{% endif %}"
    )
    async with server.client(admin.token) as ada, server.client(jo.token) as agent:
        await ada.post(
            API, json={"shortcut": "hello", "title": "Hello", "body": body, "shared": True}
        )
        filled = await agent.get(
            API, params={"q": "hel", "conversation_id": sent["conversation_id"]}
        )
        plain = await agent.get(API, params={"q": "hel"})
        not_mine = await agent.get(API, params={"conversation_id": other["conversation_id"]})
        huge = await agent.get(API, params={"conversation_id": 2**40})
    item = filled.json()["items"][0]
    assert item["filled"] == (
        f"Hi Sarah Kim <sarah@example.com>, phone: [], #{sent['conversation_id']}, Jo. "
        "{{customer.secret}} {{ 7*7 }} {{ config.__class__ }} {% if 1 %}x{% endif %}"
    )
    assert item["body"] == body
    assert "filled" not in plain.json()["items"][0]
    assert not_mine.status_code == 404 and huge.status_code == 404


async def test_the_reply_box_picker_fills_variables_over_the_session(server, db):
    inbox, admin, jo, _ = await people(db)
    sent = await customer_writes(server, inbox, "Hi", name="Hana", phone="+82 10-1234-5678")
    other_inbox = await make_inbox(db, "api")
    other = await customer_writes(server, other_inbox, "Hi", email="z@example.org")
    async with server.client(admin.token) as ada:
        await ada.post(
            API,
            json={
                **THANKS,
                "shared": True,
                "body": "Thanks {{customer.name}}, we will text {{customer.phone}}.",
            },
        )
    async with server.client() as browser:
        await login(browser, jo.email)
        picked = await browser.get(
            f"/conversations/{sent['conversation_id']}/canned-replies", params={"q": "tha"}
        )
        hidden = await browser.get(f"/conversations/{other['conversation_id']}/canned-replies")
        page = await browser.get(f"/conversations/{sent['conversation_id']}")
    assert picked.json()["items"] == [
        {
            "shortcut": "thanks",
            "title": "Thank you",
            "text": "Thanks Hana, we will text +821012345678.",
        }
    ]
    assert hidden.status_code == 404
    assert 'id="canned-picker"' in page.text and "/static/canned.js" in page.text


async def test_the_admin_page_manages_shared_replies(server, db):
    _, admin, jo, _ = await people(db)
    async with server.client() as browser, server.client(jo.token) as jo_api:
        await jo_api.post(API, json={**THANKS, "shortcut": "personal", "body": "Jo's own"})
        await login(browser, admin.email)
        page = await browser.get("/admin/canned-replies")
        token = csrf_from(page.text)
        created = await browser.post("/admin/canned-replies", data={**THANKS, "_csrf_token": token})
        bad = await browser.post(
            "/admin/canned-replies",
            data={"shortcut": "no spaces allowed", "title": "T", "body": "B", "_csrf_token": token},
        )
        duplicate = await browser.post(
            "/admin/canned-replies", data={**THANKS, "_csrf_token": token}
        )
        listing = await browser.get("/admin/canned-replies")
        reply_id = (await jo_api.get(API, params={"q": "thanks"})).json()["items"][0]["id"]
        saved = await browser.post(
            f"/admin/canned-replies/{reply_id}",
            data={
                "action": "save",
                "shortcut": "thanks",
                "title": "Thanks",
                "body": "Thank you!",
                "_csrf_token": token,
            },
        )
        after_save = (await jo_api.get(f"{API}/{reply_id}")).json()
        deleted = await browser.post(
            f"/admin/canned-replies/{reply_id}", data={"action": "delete", "_csrf_token": token}
        )
    assert created.status_code == 303
    assert bad.status_code == 400 and "shortcut must be" in bad.text
    assert duplicate.status_code == 400 and "already taken" in duplicate.text
    assert "{{customer.name}}" in listing.text.replace("&#123;", "{").replace("&#125;", "}")
    assert "Jo&#39;s own" not in listing.text and "Jo's own" not in listing.text
    assert saved.status_code == 303 and after_save["body"] == "Thank you!"
    assert deleted.status_code == 303
    assert await count(db, "canned_reply") == 1  # Jo's personal one


async def test_each_agent_manages_their_own_replies_on_their_page(server, db):
    _, admin, jo, kim = await people(db)
    async with server.client(admin.token) as ada, server.client(kim.token) as kim_api:
        shared = (await ada.post(API, json={**THANKS, "shared": True})).json()
        kims = (await kim_api.post(API, json={**THANKS, "shortcut": "kim"})).json()
    async with server.client() as browser:
        await login(browser, jo.email)
        page = await browser.get("/canned-replies")
        token = csrf_from(page.text)
        created = await browser.post(
            "/canned-replies",
            data={
                "shortcut": "mine",
                "title": "Mine",
                "body": "Jo's {{agent.name}}",
                "_csrf_token": token,
            },
        )
        no_csrf = await browser.post(
            "/canned-replies", data={"shortcut": "x", "title": "X", "body": "X"}
        )
        listing = await browser.get("/canned-replies")
        touch_shared = await browser.post(
            f"/canned-replies/{shared['id']}", data={"action": "delete", "_csrf_token": token}
        )
        touch_kims = await browser.post(
            f"/canned-replies/{kims['id']}", data={"action": "delete", "_csrf_token": token}
        )
    async with server.client(jo.token) as jo_api:
        own = [r for r in (await jo_api.get(API)).json()["items"] if not r["shared"]]
    assert page.status_code == 200 and "admin-nav" not in page.text
    assert created.status_code == 303 and no_csrf.status_code == 403
    assert [(r["shortcut"], r["owner_id"]) for r in own] == [("mine", jo.id)]
    assert "mine" in listing.text and "Thank you" not in listing.text  # shared ones not here
    assert touch_shared.status_code == 403 and touch_kims.status_code == 404
    assert await count(db, "canned_reply") == 3
