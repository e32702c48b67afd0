"""The FAQ admin pages (admins only, CSRF, bad input stores nothing, import/export like the CLI),
bot answers in the timeline with their entry, score and a "Wrong answer" button, and the
session-authenticated reply-box suggestions."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import yaml

from tests.factories import make_agent, make_inbox
from tests.web.support import customer_writes, messages_of
from tests.web.test_pages import csrf_from, login

SHIPPING = {
    "question": "How much does shipping cost?",
    "alternatives": "What is the delivery fee?\nIs shipping free?",
    "answer": "Shipping is 3,000 KRW.",
    "answer_rich": "",
    "language": "en",
    "tags": "shipping, fees",
    "enabled": "on",
}
RETURNS = {
    **SHIPPING,
    "question": "What is your return policy?",
    "alternatives": "",
    "answer": "Within 14 days.",
    "tags": "returns",
}


@pytest.fixture
async def desk(server, db) -> dict[str, Any]:
    inbox = await make_inbox(db, "api")
    admin = await make_agent(db, admin=True)
    agent = await make_agent(db, inboxes=[inbox])
    return {"inbox": inbox, "admin": admin, "agent": agent}


async def entries(server, token: str) -> list[dict[str, Any]]:
    async with server.client(token) as client:
        return (await client.get("/api/v1/faq")).json()["items"]


async def post_form(client, page_path: str, path: str, form: dict[str, str]):
    """Submit a form the way the browser does: CSRF token taken from the page first."""
    page = await client.get(page_path)
    assert page.status_code == 200, page.text
    return await client.post(path, data={**form, "_csrf_token": csrf_from(page.text)})


async def bot_reply(server, token: str, text: str, inbox) -> dict[str, Any]:
    """A new customer asks; what the bot wrote back (an answer or a handover)."""
    sent = await customer_writes(server, inbox, text)
    deadline = time.monotonic() + 20
    async with server.client(token) as client:
        while time.monotonic() < deadline:
            bot = [
                m
                for m in await messages_of(client, sent["conversation_id"])
                if m["author"] == "bot"
            ]
            if bot:
                return {**bot[0], "conversation_id": sent["conversation_id"]}
            await asyncio.sleep(0.05)
    raise AssertionError(f"the bot never reacted to {text!r}")


async def test_create_edit_delete_are_used_by_the_bot_at_once(server, desk):
    admin, inbox = desk["admin"], desk["inbox"]
    async with server.client() as browser:
        await login(browser, admin.email)
        # A second entry keeps the knowledge base non-empty once the first is deleted.
        await post_form(browser, "/admin/faq/new", "/admin/faq/new", RETURNS)
        created = await post_form(browser, "/admin/faq/new", "/admin/faq/new", SHIPPING)
        assert created.status_code == 303 and created.headers["location"] == "/admin/faq"
        [returns, entry] = await entries(server, admin.token)
        assert entry["alternatives"] == ["What is the delivery fee?", "Is shipping free?"]
        assert entry["tags"] == ["shipping", "fees"] and entry["enabled"] is True
        listed = await browser.get("/admin/faq", params={"q": "delivery fee"})
        assert f'id="faq-{entry["id"]}"' in listed.text
        assert f'id="faq-{returns["id"]}"' not in listed.text
        assert 'id="faq-' not in (await browser.get("/admin/faq", params={"language": "ko"})).text
        assert 'id="faq-' not in (await browser.get("/admin/faq", params={"enabled": "no"})).text
        everything = (await browser.get("/admin/faq", params={"enabled": "yes"})).text
        assert everything.count('id="faq-') == 2

        first = await bot_reply(server, admin.token, "how much does shipping cost", inbox)
        assert first["text"] == "Shipping is 3,000 KRW.", first["faq"]
        assert first["faq"]["entry_id"] == entry["id"]

        edit = f"/admin/faq/{entry['id']}"
        changed = await post_form(browser, edit, edit, {**SHIPPING, "answer": "Shipping is free."})
        assert changed.status_code == 303
        second = await bot_reply(server, admin.token, "how much does shipping cost", inbox)
        assert second["text"] == "Shipping is free."

        confirm = await browser.get(f"{edit}/delete")
        assert confirm.status_code == 200 and "Shipping is free." in confirm.text
        assert await entries(server, admin.token), "asking to delete deletes nothing"
        gone = await post_form(browser, f"{edit}/delete", f"{edit}/delete", {})
        assert gone.status_code == 303 and await entries(server, admin.token) == [returns]
        third = await bot_reply(server, admin.token, "how much does shipping cost", inbox)
        assert third["faq"]["kind"] == "unsure" and third["text"] != "Shipping is free."


async def test_agents_get_403_and_change_nothing(server, desk):
    async with server.client() as browser:
        await login(browser, desk["agent"].email)
        for path in ("/admin/faq", "/admin/faq/new", "/admin/faq/export?format=csv"):
            assert (await browser.get(path)).status_code == 403, path
        refused = await post_form(browser, "/", "/admin/faq/new", SHIPPING)
        assert refused.status_code == 403
    assert await entries(server, desk["admin"].token) == []


async def test_writes_need_the_csrf_token(server, desk):
    async with server.client() as browser:
        await login(browser, desk["admin"].email)
        refused = await browser.post("/admin/faq/new", data=SHIPPING)
        assert refused.status_code == 403
    assert await entries(server, desk["admin"].token) == []


@pytest.mark.parametrize(
    "change",
    [
        {"question": "  "},
        {"answer": ""},
        {"language": "english!"},
        {"answer": "x" * 5001},
        {"alternatives": "fine\nnot\x00fine"},
    ],
)
async def test_bad_input_is_a_400_with_the_form_again_and_nothing_stored(server, desk, change):
    async with server.client() as browser:
        await login(browser, desk["admin"].email)
        refused = await post_form(
            browser, "/admin/faq/new", "/admin/faq/new", {**SHIPPING, **change}
        )
    assert refused.status_code == 400
    assert "Not saved:" in refused.text and 'name="question"' in refused.text
    assert await entries(server, desk["admin"].token) == []


async def test_a_bad_edit_changes_nothing(server, desk):
    async with server.client() as browser:
        await login(browser, desk["admin"].email)
        await post_form(browser, "/admin/faq/new", "/admin/faq/new", SHIPPING)
        [entry] = await entries(server, desk["admin"].token)
        edit = f"/admin/faq/{entry['id']}"
        refused = await post_form(browser, edit, edit, {**SHIPPING, "answer": " "})
        assert refused.status_code == 400
        assert (await browser.get("/admin/faq/999999")).status_code == 404
    assert await entries(server, desk["admin"].token) == [entry]


CSV = (
    "question,alternatives,answer,language\n"
    "배송비가 얼마인가요?,택배비는 얼마예요?|배송비 무료인가요?,3000원입니다.,ko\n"
    '"Can I return, or swap, an item?",How do I send it back?,"Yes, within ""14 days"".",en\n'
)


async def upload(browser, name: str, content: bytes):
    page = await browser.get("/admin/faq")
    return await browser.post(
        "/admin/faq/import",
        data={"_csrf_token": csrf_from(page.text)},
        files={"file": (name, content, "application/octet-stream")},
    )


async def test_import_and_export_use_the_cli_format(server, desk):
    async with server.client() as browser:
        await login(browser, desk["admin"].email)
        imported = await upload(browser, "faq.csv", CSV.encode())
        assert imported.status_code == 303
        shown = await browser.get(imported.headers["location"])
        assert "Imported: 2 new, 0 updated." in shown.text
        again = await upload(browser, "faq.csv", CSV.encode())
        assert (await browser.get(again.headers["location"])).text.count("0 new, 2 updated") == 1
        exported = await browser.get("/admin/faq/export", params={"format": "yaml"})
        as_csv = await browser.get("/admin/faq/export", params={"format": "csv"})
    assert exported.headers["content-disposition"] == 'attachment; filename="faq.yaml"'
    data = yaml.safe_load(exported.text)
    questions = ["배송비가 얼마인가요?", "Can I return, or swap, an item?"]
    assert [e["question"] for e in data] == questions
    assert data[0]["alternatives"] == ["택배비는 얼마예요?", "배송비 무료인가요?"]
    assert data[1]["answer"] == 'Yes, within "14 days".'
    assert as_csv.text.splitlines()[0] == "question,alternatives,answer,language"
    assert len(await entries(server, desk["admin"].token)) == 2


@pytest.mark.parametrize(
    "name, content",
    [
        ("faq.txt", b"question,alternatives,answer,language\n"),
        ("faq.yaml", b"- question: [unclosed"),
        ("faq.yaml", b"just: a mapping"),
        ("faq.csv", b"question,answer\nShipping?,Free.\n"),
        ("faq.csv", b"question,alternatives,answer,language\nA?,,Fine.,en\nB?,,,en\n"),
        ("faq.csv", b"\xff\xfe not utf-8"),
    ],
)
async def test_a_bad_import_file_is_a_400_and_stores_nothing(server, desk, name, content):
    async with server.client() as browser:
        await login(browser, desk["admin"].email)
        refused = await upload(browser, name, content)
    assert refused.status_code == 400
    assert "Import refused, nothing was stored" in refused.text
    assert await entries(server, desk["admin"].token) == []


async def test_a_bot_answer_shows_its_entry_and_score_and_can_be_marked_wrong(server, desk):
    admin, agent = desk["admin"], desk["agent"]
    async with server.client() as browser:
        await login(browser, admin.email)
        await post_form(browser, "/admin/faq/new", "/admin/faq/new", SHIPPING)
    answer = await bot_reply(server, agent.token, "how much is shiping?", desk["inbox"])
    page_path = f"/conversations/{answer['conversation_id']}"
    async with server.client() as browser:
        await login(browser, agent.email)
        page = await browser.get(page_path)
        assert f"#{answer['faq']['entry_id']}: How much does shipping cost?" in page.text
        assert f"score {answer['faq']['score']:.2f}" in page.text
        wrong = f"/conversations/{answer['conversation_id']}/faq-answers/{answer['id']}/wrong"
        button = f'action="{wrong}"'
        assert button in page.text
        marked = await browser.post(wrong, data={"_csrf_token": csrf_from(page.text)})
        assert marked.status_code == 303
        after = await browser.get(page_path)
    assert "marked wrong" in after.text and button not in after.text
    async with server.client(agent.token) as client:
        [bot] = [
            m for m in await messages_of(client, answer["conversation_id"]) if m["author"] == "bot"
        ]
        summary = (await client.get("/api/v1/reports/summary")).json()["bot"]
    assert bot["faq"]["wrong"] is True and summary["marked_wrong"] == 1


async def test_reply_box_suggestions_through_the_session(server, desk, db):
    admin, agent = desk["admin"], desk["agent"]
    async with server.client() as browser:
        await login(browser, admin.email)
        await post_form(browser, "/admin/faq/new", "/admin/faq/new", SHIPPING)
    sent = await customer_writes(server, desk["inbox"], "is delivery free?")
    path = f"/conversations/{sent['conversation_id']}/faq-suggestions"
    async with server.client() as browser:
        assert (await browser.get(path)).status_code in (302, 303)  # no session: to the login
        await login(browser, agent.email)
        found = (await browser.get(path)).json()
        page = await browser.get(f"/conversations/{sent['conversation_id']}")
    assert found["message_id"] == sent["message_id"]
    assert found["items"][0]["answer"] == "Shipping is 3,000 KRW."
    assert f'data-url="{path}"' in page.text and "/static/faq-suggestions.js" in page.text
    outsider = await make_agent(db, inboxes=[await make_inbox(db, "api")])
    async with server.client() as browser:
        await login(browser, outsider.email)
        assert (await browser.get(path)).status_code == 404
