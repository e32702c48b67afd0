"""The simulator's web chat: the real widget on a page with the app's strict CSP, end to end."""

from __future__ import annotations

from sqlmodel import select

from inbox.models import Message
from tests.browser.test_ui import browser, playwright_api, shoot, sign_in  # noqa: F401
from tests.factories import make_agent, make_inbox


async def test_an_admin_chats_as_a_visitor_through_the_widget_on_the_stand_in_shop_page(
    server,
    db,
    browser,
):
    chat = await make_inbox(db, "webchat", "Shop chat")
    admin = await make_agent(db, admin=True)
    context = await browser.new_context()
    page = await context.new_page()
    await sign_in(page, server.url, admin.email)
    await page.goto(f"{server.url}/simulator")
    await page.click(f"a[href='/simulator/webchat/{chat.id}']")
    widget = page.locator(".bubble")
    # The widget styles itself under the page's CSP (no inline <style> allowed there).
    await playwright_api.expect(widget).to_have_css("position", "fixed")
    await widget.click()
    await page.locator(".panel textarea").fill("Do you ship to Jeju?")
    await page.locator(".panel button.send").click()
    await playwright_api.expect(page.locator(".panel .log")).to_contain_text("Do you ship to Jeju?")
    await shoot(page, "simulator-webchat")
    async with db.read() as session:
        texts = [
            m.text
            for m in (await session.exec(select(Message).where(Message.inbox_id == chat.id))).all()
        ]
    assert texts == ["Do you ship to Jeju?"]
    await context.close()
