"""The FAQ in a real headless Chromium: an admin writes an entry on /admin/faq, the bot answers
with it, the agent sees the match and its score in the timeline, and one click on a reply-box
suggestion puts its answer into the textarea. Screenshots go to $INBOX_SCREENSHOTS."""

from __future__ import annotations

from inbox.ingest import ingest
from tests.browser import test_ui as shared
from tests.factories import inbound, make_agent, make_inbox

# The Chromium fixture, the screenshots folder and the skip mark of the UI tests.
browser, _screens_folder, pytestmark = shared.browser, shared._screens_folder, shared.pytestmark
playwright_api, shoot, sign_in = shared.playwright_api, shared.shoot, shared.sign_in

ANSWER = "Shipping is 3,000 KRW, and free on orders over 50,000 KRW."


async def test_admin_writes_an_entry_and_the_agent_inserts_it_with_one_click(
    server, db, settings, browser
):
    api = await make_inbox(db, "api", "Shop backend")
    admin = await make_agent(db, "ada@support.example", name="Ada", admin=True)
    agent = await make_agent(db, "jo@support.example", name="Jo", inboxes=[api])
    expect = playwright_api.expect
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    await sign_in(page, server.url, admin.email)

    await page.goto(f"{server.url}/admin/faq/new")
    await page.fill("input[name=question]", "How much does shipping cost?")
    await page.fill("textarea[name=alternatives]", "What is the delivery fee?\nIs shipping free?")
    await page.fill("textarea[name=answer]", ANSWER)
    await page.fill("input[name=tags]", "shipping")
    await shoot(page, "faq-1-admin-new-entry")
    await page.click("form.faq-form button[type=submit]")
    await page.wait_for_url(f"{server.url}/admin/faq")
    await page.click("a.button")
    await page.fill("input[name=question]", "배송비가 얼마인가요?")
    await page.fill("textarea[name=alternatives]", "택배비는 얼마예요?")
    await page.fill("textarea[name=answer]", "배송비는 3,000원입니다.")
    await page.select_option("form.faq-form select[name=language]", "ko")
    await page.click("form.faq-form button[type=submit]")
    await expect(page.locator(".faq-table")).to_contain_text("배송비가 얼마인가요?")
    await expect(page.locator(".faq-table tbody tr")).to_have_count(2)
    await shoot(page, "faq-2-admin-list")
    await page.fill("form.faq-search input[name=q]", "택배")
    await page.click("form.faq-search button[type=submit]")
    await expect(page.locator(".faq-table tbody tr")).to_have_count(1)
    await expect(page.locator(".faq-table tbody tr td").nth(2)).to_have_text("ko")
    await page.click(".faq-table a.danger")
    await expect(page.locator("blockquote")).to_contain_text("배송비가 얼마인가요?")
    await shoot(page, "faq-3-admin-delete-confirm")
    await page.goto(f"{server.url}/admin/faq")
    await page.select_option("header select[name=language]", "ko")
    await page.click("header form.language button")
    await expect(page.locator("h1")).to_have_text("FAQ 항목")
    await shoot(page, "faq-4-admin-list-korean")

    asked = await ingest(
        db,
        inbound(api, "do I have to pay for delivery?", email="sarah@example.org", name="Sarah Kim"),
        settings,
    )
    agent_page = await context.new_page()
    await agent_page.context.clear_cookies()
    await sign_in(agent_page, server.url, agent.email)
    await agent_page.goto(f"{server.url}/conversations/{asked.conversation_id}")
    # The bot's answer arrives live; agents see which entry it used and how sure it was.
    match = agent_page.locator("#timeline .faq-match").first
    await expect(match).to_contain_text("How much does shipping cost?", timeout=15000)
    await expect(match.locator("button")).to_have_text("Wrong answer")
    suggestion = agent_page.locator("#faq-suggestions button.faq-suggestion").first
    await expect(suggestion).to_contain_text("How much does shipping cost?")
    textarea = agent_page.locator("form.reply textarea[name=text]")
    await expect(textarea).to_have_value("")
    await suggestion.click()
    await expect(textarea).to_have_value(ANSWER)
    await shoot(agent_page, "faq-5-conversation-suggestion-inserted")
    await match.locator("button").click()
    await expect(agent_page.locator("#timeline .faq-match").first).to_contain_text("marked wrong")
    await expect(agent_page.locator("#timeline .faq-match button")).to_have_count(0)
    await context.close()
