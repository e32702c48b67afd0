"""Canned replies in the reply box of a real Chromium, and the admin pages in English and Korean.
Screenshots go to $INBOX_SCREENSHOTS (default /tmp/screens)."""

from __future__ import annotations

from inbox.agents import set_locale
from tests.browser.test_ui import browser, playwright_api, pytestmark, shoot, sign_in  # noqa: F401
from tests.factories import make_agent, make_inbox
from tests.web.support import customer_writes

TWILIO = {
    "phone_number": "+14155550100",
    "account_sid": "AC" + "1" * 32,
    "auth_token": "twilio-secret-token-0001",
    "verify_signatures": False,
}


async def test_typing_slash_thanks_and_picking_it_inserts_the_filled_reply(
    server,
    db,
    browser,
):
    inbox = await make_inbox(db, "api", "Shop")
    admin = await make_agent(db, "ada@support.example", name="Ada", admin=True)
    jo = await make_agent(db, "jo@support.example", name="Jo Park", inboxes=[inbox])
    sent = await customer_writes(
        server, inbox, "Where is my parcel?", name="Sarah Kim", email="sarah@example.com"
    )
    async with server.client(admin.token) as api:
        for shortcut, body in (
            ("thanks", "Thanks {{customer.name}}! I'm {{agent.name}}; ref #{{conversation.id}}."),
            ("thanks-long", "Thank you so much, {{customer.name}}. {{unknown.thing}}"),
            ("refund", "Your refund is on its way."),
        ):
            created = await api.post(
                "/api/v1/canned-replies",
                json={
                    "shortcut": shortcut,
                    "title": shortcut.title(),
                    "body": body,
                    "shared": True,
                },
            )
            assert created.status_code == 201
    expect = playwright_api.expect
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    await sign_in(page, server.url, jo.email)
    await page.goto(f"{server.url}/conversations/{sent['conversation_id']}")
    box = page.locator("form.reply textarea[name=text]")
    picker = page.locator("#canned-picker")

    await box.click()
    await box.type("Hello! /ref")
    await expect(picker.locator(".canned-item")).to_have_count(1)
    await page.keyboard.press("Escape")
    await expect(picker).to_be_hidden()
    await box.fill("")

    await box.type("/thanks")
    items = picker.locator(".canned-item")
    await expect(items).to_have_count(2)
    await expect(items.nth(0)).to_contain_text("Thanks Sarah Kim!")
    await page.keyboard.press("ArrowDown")
    await expect(items.nth(1)).to_have_class("canned-item on")
    await shoot(page, "canned-1-picker")
    await page.keyboard.press("ArrowUp")
    await page.keyboard.press("Enter")
    await expect(picker).to_be_hidden()
    filled = f"Thanks Sarah Kim! I'm Jo Park; ref #{sent['conversation_id']}."
    await expect(box).to_have_value(filled)
    # Enter picked the reply; it did not send it.
    await expect(page.locator("#timeline")).not_to_contain_text("Thanks Sarah Kim!")

    await box.press("End")
    await box.type(" /thanks-l")
    await expect(items).to_have_count(1)
    await page.keyboard.press("Tab")
    await expect(box).to_have_value(filled + " Thank you so much, Sarah Kim. {{unknown.thing}}")
    await shoot(page, "canned-2-inserted")
    await context.close()


async def test_admin_pages_in_english_and_korean(server, db, browser):
    sms = await make_inbox(db, "twilio", "SMS +1 415 555 0100", TWILIO)
    await make_inbox(
        db,
        "webchat",
        "Shop chat",
        {"identity_secret": "s" * 32, "allowed_origins": ["https://shop.example"]},
    )
    admin = await make_agent(db, "ada@support.example", name="Ada", admin=True, inboxes=[sms])
    jo = await make_agent(db, "jo@support.example", name="Jo Park", inboxes=[sms])
    async with server.client(admin.token) as api:
        await api.post(
            "/api/v1/canned-replies",
            json={
                "shortcut": "thanks",
                "title": "Thank you",
                "shared": True,
                "body": "Thanks {{customer.name}}! — {{agent.name}}",
            },
        )
    expect = playwright_api.expect
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await sign_in(page, server.url, admin.email)
    for language in ("en", "ko"):
        await set_locale(db, admin.id, language)
        await page.goto(f"{server.url}/admin")
        await expect(page).to_have_url(f"{server.url}/admin/inboxes")
        await expect(page.locator(".sig-off")).to_have_count(1)  # the unsigned Twilio inbox
        await shoot(page, f"admin-inboxes-{language}")
        await page.goto(f"{server.url}/admin/inboxes/{sms.id}")
        await shoot(page, f"admin-inbox-{language}")
        await page.goto(f"{server.url}/admin/agents")
        await shoot(page, f"admin-agents-{language}")
        await page.goto(f"{server.url}/admin/agents/{jo.id}")
        await shoot(page, f"admin-agent-{language}")
        await page.goto(f"{server.url}/admin/canned-replies")
        await shoot(page, f"admin-canned-{language}")
        await page.goto(f"{server.url}/canned-replies")
        await shoot(page, f"my-canned-{language}")
    await set_locale(db, admin.id, "en")
    await page.goto(f"{server.url}/admin/inboxes")
    await page.click("#connect-webchat summary")
    await page.fill("#connect-webchat input[name=name]", "Help centre chat")
    await page.click("#connect-webchat button[type=submit]")
    await expect(page.locator("#embed-snippet")).to_contain_text("/widget.js?inbox=inb_")
    await expect(page.locator("#inbox-token")).to_contain_text("inb_")
    await shoot(page, "admin-inbox-created")
    await context.close()
