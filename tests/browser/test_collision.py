"""Collision in headless Chromium: two agents in one conversation see each other there, see each
other type (a reply or a private note), and see the other go when their tab closes.
Screenshots (English, Korean): $INBOX_SCREENSHOTS."""

from __future__ import annotations

from contextlib import AsyncExitStack

from inbox.ingest import ingest
from tests.browser.test_conversation_view import open_page
from tests.browser.test_ui import browser, playwright_api, shoot  # noqa: F401
from tests.factories import inbound, make_agent, make_inbox


async def test_agents_in_one_conversation_see_each_other_view_type_and_leave(
    server,
    db,
    settings,
    browser,
):
    expect = playwright_api.expect
    inbox = await make_inbox(db, "api", "Shop backend")
    ada = await make_agent(db, "ada@support.example", name="Ada Lovelace", inboxes=[inbox])
    bo = await make_agent(db, "bo@support.example", name="Bo Kim", inboxes=[inbox])
    first = await ingest(
        db, inbound(inbox, "My parcel is late", email="sam@example.org", name="Sam Lee"), settings
    )
    async with open_page(browser, server, ada, first.conversation_id) as ada_page:
        # Nobody else is here yet.
        assert await ada_page.locator("#collision").is_hidden()
        async with open_page(browser, server, bo, first.conversation_id) as bo_page:
            # Each learns of the other at once: Bo's hello is answered by Ada's tab.
            await expect(ada_page.locator("#collision")).to_contain_text("Bo Kim is viewing")
            await expect(bo_page.locator("#collision")).to_contain_text("Ada Lovelace is viewing")
            assert "Ada" not in await ada_page.locator("#collision").inner_text()

            await bo_page.fill("form.reply textarea", "Let me check the tracking")
            await expect(ada_page.locator("#collision")).to_contain_text(
                "Bo Kim is typing a reply…"
            )
            await expect(ada_page.locator("#collision .presence.busy")).to_have_count(1)
            await shoot(ada_page, "collision-typing")

            # Bo's reply arrives: Bo is no longer typing, only viewing.
            await bo_page.click("form.reply button[type=submit]")
            await expect(ada_page.locator("#timeline")).to_contain_text("Let me check the tracking")
            await expect(ada_page.locator("#collision .presence.busy")).to_have_count(0)
            await expect(ada_page.locator("#collision")).to_contain_text("Bo Kim is viewing")

            await ada_page.check("form.reply input[name=private]")
            await ada_page.fill("form.reply textarea", "VIP customer, be quick")
            await expect(bo_page.locator("#collision")).to_contain_text(
                "Ada Lovelace is writing a private note…"
            )
        # Bo's tab closes (no script errors in it), and Ada sees Bo go.
        await expect(ada_page.locator("#collision")).to_be_hidden()


async def test_an_agent_of_another_inbox_never_shows_up(server, db, settings, browser):
    expect = playwright_api.expect
    inbox = await make_inbox(db, "api", "Shop backend")
    ada = await make_agent(db, "ada@support.example", name="Ada Lovelace", inboxes=[inbox])
    admin = await make_agent(db, "root@support.example", name="Root Admin", admin=True)
    other = await make_inbox(db, "api", "Other team")
    outsider = await make_agent(db, "eve@support.example", name="Eve Outsider", inboxes=[other])
    first = await ingest(
        db, inbound(inbox, "Hello?", email="kim@example.org", name="Kim"), settings
    )
    async with AsyncExitStack() as pages:  # each page closes at the end, without script errors
        ada_page = await pages.enter_async_context(
            open_page(browser, server, ada, first.conversation_id)
        )
        theirs = await ingest(db, inbound(other, "Hi", email="x@example.org"), settings)
        outsider_page = await pages.enter_async_context(
            open_page(browser, server, outsider, theirs.conversation_id)
        )
        # The outsider cannot open Ada's conversation (404) and so is never announced in it.
        response = await outsider_page.goto(f"{server.url}/conversations/{first.conversation_id}")
        assert response is not None and response.status == 404
        await pages.enter_async_context(open_page(browser, server, admin, first.conversation_id))
        # Admins see every inbox, so Ada sees the admin arrive; by then the outsider had long tried.
        await expect(ada_page.locator("#collision")).to_contain_text("Root Admin is viewing")
        assert "Eve" not in await ada_page.locator("#collision").inner_text()

        # In Korean.
        await ada_page.select_option("header select[name=language]", "ko")
        await ada_page.click("header form.language button")
        await expect(ada_page.locator("#collision")).to_contain_text("Root Admin 님이 보는 중")
        await shoot(ada_page, "collision-korean")
