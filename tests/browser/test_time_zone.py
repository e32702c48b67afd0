"""The agent's time zone in headless Chromium: the browser's zone (Asia/Seoul) becomes the agent's
on first login, and the timeline shows Seoul times and days; the customer panel follows another
agent's edit live. Screenshots: $INBOX_SCREENSHOTS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text

from inbox.ingest import ingest
from tests.browser.test_ui import agent_page, browser, playwright_api, shoot  # noqa: F401
from tests.factories import inbound, make_agent, make_inbox
from tests.web.test_pages import csrf_from, login


async def test_the_browsers_zone_becomes_the_agents_and_times_are_local(
    server,
    db,
    settings,
    browser,
):
    api = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[api])
    # 08:30 yesterday in Seoul: 23:30 UTC the day before that.
    seoul_yesterday = datetime.now(ZoneInfo("Asia/Seoul")).date() - timedelta(days=1)
    sent = datetime(*seoul_yesterday.timetuple()[:3], 8, 30, tzinfo=ZoneInfo("Asia/Seoul"))
    result = await ingest(
        db,
        inbound(api, "morning in Seoul", email="seoul@example.org", sent_at=sent.astimezone(UTC)),
        settings,
    )
    async with agent_page(
        browser,
        server,
        agent.email,
        viewport={"width": 1280, "height": 900},
        timezone_id="Asia/Seoul",
    ) as page:
        async with db.read() as session:
            stored = await session.execute(
                text("SELECT time_zone FROM agent WHERE id = :i"), {"i": agent.id}
            )
            assert stored.scalar_one() == "Asia/Seoul"
        await page.goto(f"{server.url}/conversations/{result.conversation_id}")
        expect = playwright_api.expect
        message = page.locator(f"#m{result.message_id}")
        await expect(message.locator("time").first).to_have_text("08:30")
        day = page.locator("#timeline li.day").first
        await expect(day).to_have_attribute("data-day", seoul_yesterday.isoformat())
        await expect(day).to_have_text("Yesterday")
        await expect(page.locator(".time-zone-link")).to_have_text("Asia/Seoul")
        await shoot(page, "conversation-seoul-time")
        await page.click(".time-zone-link")
        await expect(page.locator("#time-zone")).to_have_value("Asia/Seoul")
        await shoot(page, "time-zone-page")


async def test_an_attribute_set_by_another_agent_appears_in_the_open_panel(
    server,
    db,
    settings,
    browser,
):
    api = await make_inbox(db, "api")
    viewer = await make_agent(db, inboxes=[api])
    editor = await make_agent(db, inboxes=[api])
    result = await ingest(db, inbound(api, "hi", email="live@example.org"), settings)
    url = f"/conversations/{result.conversation_id}"
    async with agent_page(
        browser, server, viewer.email, url, viewport={"width": 1280, "height": 900}
    ) as page:
        expect = playwright_api.expect
        await expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
        await expect(page.locator("#customer-live dl.attributes dt")).to_have_count(0)
        async with server.client() as client:  # the other agent, in another browser
            await login(client, editor.email)
            token = csrf_from((await client.get(url)).text)
            edited = await client.post(
                f"{url}/customer", data={"key": "plan", "value": "gold", "_csrf_token": token}
            )
            assert edited.status_code == 303
        await expect(page.locator("#customer-live dl.attributes dt")).to_have_text(
            ["plan"], timeout=5000
        )
        await expect(page.locator("#customer-live dl.attributes dd").first).to_contain_text("gold")
        await shoot(page, "customer-panel-live-attribute")
