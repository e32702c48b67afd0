"""A Korean agent's refused snooze, in headless Chromium: the domain's error shows in Korean under
the manage form. Screenshot: $INBOX_SCREENSHOTS/korean-error.png."""

from __future__ import annotations

from inbox.agents import set_locale
from inbox.ingest import ingest
from tests.browser.test_ui import browser, playwright_api, shoot, sign_in  # noqa: F401
from tests.factories import inbound, make_agent, make_inbox


async def test_a_korean_agent_reads_a_refused_snooze_in_korean(server, db, settings, browser):
    api = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[api])
    await set_locale(db, agent.id, "ko")
    result = await ingest(db, inbound(api, "배송이 언제 되나요?", email="k@example.org"), settings)
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await sign_in(page, server.url, agent.email)
    await page.goto(f"{server.url}/conversations/{result.conversation_id}")
    # A page left open since 2019: its `min` lets a time through that is past by now.
    await page.eval_on_selector("#snooze-until", "input => { input.min = '2019-01-01T00:00'; }")
    await page.fill("#snooze-until", "2020-01-01T09:00")
    await page.click("#snooze-form button[type=submit]")
    error = page.locator("#manage-error")
    await error.wait_for(state="visible")
    assert await error.text_content() == "다시 알림 시각은 미래의 시간이어야 합니다"
    await shoot(page, "korean-error")
