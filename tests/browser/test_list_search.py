"""The conversation list and search in Chromium: a new customer message bumps the unread badge
without a reload, and a Korean search from the header finds the message. Screenshots of both
pages in English and Korean go to $INBOX_SCREENSHOTS."""

from __future__ import annotations

from tests.browser.test_ui import (  # noqa: F401  (fixtures and the chromium skip mark)
    _screens_folder,
    browser,
    playwright_api,
    pytestmark,
    shoot,
    sign_in,
)
from tests.factories import make_agent, make_inbox
from tests.web.support import customer_writes


async def test_unread_badge_bumps_live_and_korean_search_finds_the_message(
    server,
    db,
    browser,
):
    shop = await make_inbox(db, "api", "Shop")
    sms = await make_inbox(db, "twilio", "SMS line")
    agent = await make_agent(db, "jo@support.example", name="Jo", inboxes=[shop, sms])
    first = await customer_writes(
        server, shop, "Where is my order?", email="hana@example.com", name="Hana Kim"
    )
    jeju = await customer_writes(
        server, shop, "제주도까지 배송비가 얼마예요?", email="minji@example.com", name="김민지"
    )
    async with server.client(agent.token) as api:
        labelled = await api.post(
            f"/api/v1/conversations/{first['conversation_id']}/labels", json={"label": "VIP"}
        )
        assert labelled.status_code == 200
    expect = playwright_api.expect
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    page = await context.new_page()
    await sign_in(page, server.url, agent.email)
    await expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    row = page.locator(f'li[data-conversation="{first["conversation_id"]}"]')
    await expect(row.locator(".unread-badge")).to_have_text("1")
    await expect(row.locator(".label-chip")).to_have_text("vip")
    # The views' counts arrive in their own request once the list shows.
    await expect(page.locator('.views .count[data-view="all"]')).to_have_text("2")
    await expect(page.locator('.views .count[data-view="unassigned"]')).to_have_text("2")
    await expect(page.locator('.views .count[data-view="mine"]')).to_have_text("0")

    await customer_writes(server, shop, "Hello? Anyone there?", email="hana@example.com")
    # The websocket frame re-renders the list: the badge counts two, no reload.
    await expect(row.locator(".unread-badge")).to_have_text("2", timeout=3000)
    await expect(row.locator(".preview")).to_have_text("Hello? Anyone there?")
    # The re-rendered list keeps showing the counts it had.
    await expect(page.locator('.views .count[data-view="all"]')).to_have_text("2")
    await shoot(page, "list-en")

    await page.fill("header .search input", "배송비")
    await page.press("header .search input", "Enter")
    await page.wait_for_url("**/search?q=*")
    results = page.locator(".results.messages")
    await expect(results).to_contain_text("제주도까지 배송비가 얼마예요?")
    await expect(results.locator("mark")).to_have_text("배송비")
    await shoot(page, "search-ko-query-en")
    await results.locator("a").first.click()
    await page.wait_for_url("**/conversations/*")
    # The panel's label control: add one, see the chip, and the list filters by it.
    await page.fill("section.labels input[name=label]", "Shipping cost")
    await page.click("section.labels button[type=submit]:not([title])")
    await expect(page.locator("section.labels li.label-chip")).to_contain_text("shipping-cost")
    # Another agent's label change shows in the open panel without a reload.
    async with server.client(agent.token) as api:
        other = await api.post(
            f"/api/v1/conversations/{jeju['conversation_id']}/labels", json={"label": "urgent"}
        )
        assert other.status_code == 200
    await expect(page.locator("section.labels")).to_contain_text("urgent", timeout=3000)
    await shoot(page, "conversation-labels-en")
    await page.goto(f"{server.url}/?status=&label=shipping-cost")
    await expect(page.locator("#list li[data-conversation]")).to_have_count(1)
    await expect(page.locator("#list")).to_contain_text("김민지")

    await page.goto(f"{server.url}/search?q=order")
    await expect(page.locator(".results.messages mark").first).to_have_text("order")
    await shoot(page, "search-en")
    await page.select_option("header form.language select", "ko")
    await page.click("header form.language button")
    await expect(page.locator("html")).to_have_attribute("lang", "ko")
    await expect(page.locator(".search-page h2").first).to_have_text("고객")
    await shoot(page, "search-ko")
    await page.goto(f"{server.url}/")
    await expect(page.locator(".views")).to_contain_text("전체")
    await shoot(page, "list-ko")
    await context.close()
