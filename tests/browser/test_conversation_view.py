"""The conversation view in headless Chromium: scrolling up pages in earlier history, Enter sends
and Shift+Enter breaks the line, a live message appends without losing what was loaded, and
keyboard shortcuts work the conversation. Screenshots (English, Korean): $INBOX_SCREENSHOTS."""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from inbox.ingest import ingest
from inbox.models import Status
from tests.browser.test_ui import agent_page, browser, playwright_api, shoot  # noqa: F401
from tests.factories import inbound, make_agent, make_inbox
from tests.web.support import customer_writes

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


async def long_history(db, settings, inbox, count):
    results = []
    for n in range(count):
        message = inbound(
            inbox,
            f"message number {n}",
            email="long@example.org",
            name="Long History",
            sent_at=START + timedelta(hours=5 * n),
        )
        results.append(await ingest(db, message, settings))
    return results


@asynccontextmanager
async def open_page(browser, server, agent, conversation_id):
    """The agent's page on the conversation, its websocket live (see `agent_page`)."""
    path = f"/conversations/{conversation_id}"
    async with agent_page(
        browser, server, agent.email, path, viewport={"width": 1280, "height": 900}
    ) as page:
        await playwright_api.expect(page.locator("#live-state")).to_have_attribute(
            "data-state", "live"
        )
        yield page


async def test_scrolling_up_loads_earlier_messages_and_keeps_the_place(
    server,
    db,
    settings,
    browser,
):
    api = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[api])
    results = await long_history(db, settings, api, 120)
    async with open_page(browser, server, agent, results[-1].conversation_id) as page:
        messages = page.locator("#timeline li.msg")
        expect = playwright_api.expect
        await expect(messages).to_have_count(50)
        # It opens at the newest end: the last message is in view, the first is not loaded.
        await expect(page.locator(f"#m{results[-1].message_id}")).to_be_in_viewport()
        assert await page.locator(f"#m{results[0].message_id}").count() == 0
        anchor = page.locator(f"#m{results[70].message_id}")  # the oldest loaded one
        await page.evaluate("document.getElementById('timeline').scrollTop = 0")
        await expect(messages).to_have_count(100)
        # The place is kept: the message that was at the top stays where the agent was looking.
        assert await page.evaluate("document.getElementById('timeline').scrollTop") > 200
        await expect(anchor).to_be_in_viewport()
        await page.evaluate("document.getElementById('timeline').scrollTop = 0")
        await expect(messages).to_have_count(120)
        await expect(page.locator("#timeline .history-start")).to_be_visible()
        ids = await messages.evaluate_all("items => items.map(li => Number(li.dataset.id))")
        assert ids == [r.message_id for r in results]
        # One separator per day, however the pages were cut.
        days = await page.locator("#timeline li.day").evaluate_all(
            "items => items.map(li => li.dataset.day)"
        )
        assert len(days) == len(set(days)) == 26  # 120 messages five hours apart
        await shoot(page, "conversation-earlier-history")


async def test_enter_sends_and_shift_enter_adds_a_line(server, db, settings, browser):
    api = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[api])
    result = await ingest(db, inbound(api, "Where is my parcel?", email="p@example.org"), settings)
    async with open_page(browser, server, agent, result.conversation_id) as page:
        box = page.locator("form.reply textarea")
        await page.keyboard.press("r")  # shortcut: focus the reply box
        await playwright_api.expect(box).to_be_focused()
        await page.keyboard.type("It ships today.")
        await page.keyboard.press("Shift+Enter")
        await page.keyboard.type("Tracking follows.")
        assert await box.input_value() == "It ships today.\nTracking follows."
        await expect_nothing_sent(page)
        # Enter that ends a Korean IME composition only commits the syllable: nothing is sent.
        await box.evaluate("""box => box.dispatchEvent(new KeyboardEvent("keydown",
            {key: "Enter", isComposing: true, keyCode: 229, bubbles: true, cancelable: true}))""")
        await page.wait_for_timeout(300)
        await expect_nothing_sent(page)
        assert await box.input_value() == "It ships today.\nTracking follows."
        await page.keyboard.press("Enter")
        sent = page.locator("#timeline li.msg.out .body")
        await playwright_api.expect(sent).to_have_text("It ships today.\nTracking follows.")
        await playwright_api.expect(box).to_have_value("")
        async with db.engine.connect() as conn:
            stored = (
                await conn.execute(text("SELECT text FROM message WHERE direction = 'out'"))
            ).all()
        # The browser sends form text with CRLF line breaks, as HTML forms do.
        assert [row[0].replace("\r\n", "\n") for row in stored] == [
            "It ships today.\nTracking follows."
        ]


async def expect_nothing_sent(page) -> None:
    assert await page.locator("#timeline li.msg.out").count() == 0


async def test_a_refused_reply_shows_why_and_keeps_the_text(server, db, settings, browser):
    twilio = await make_inbox(
        db,
        "twilio",
        config={
            "phone_number": "+14155550100",
            "account_sid": "AC" + "1" * 32,
            "auth_token": "secret",
        },
    )
    agent = await make_agent(db, inboxes=[twilio])
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    result = await ingest(
        db,
        inbound(twilio, "Hello?", phone="+14155550123", channel="whatsapp", sent_at=two_days_ago),
        settings,
    )
    async with open_page(browser, server, agent, result.conversation_id) as page:
        box = page.locator("form.reply textarea")
        await box.fill("Are you still there?")
        await box.press("Enter")
        await playwright_api.expect(page.locator("#reply-error")).to_be_visible()
        await playwright_api.expect(page.locator("#reply-error")).to_contain_text("24-hour window")
        assert await box.input_value() == "Are you still there?"


async def test_a_live_message_appends_without_losing_loaded_history(
    server,
    db,
    settings,
    browser,
):
    api = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[api])
    results = await long_history(db, settings, api, 80)
    async with open_page(browser, server, agent, results[-1].conversation_id) as page:
        messages = page.locator("#timeline li.msg")
        await page.evaluate("document.getElementById('timeline').scrollTop = 0")
        await playwright_api.expect(messages).to_have_count(80)
        await page.evaluate("document.getElementById('timeline').scrollTop = 1e9")
        await page.evaluate(
            f"document.getElementById('m{results[5].message_id}').dataset.marker = 'kept'"
        )
        # Through the server's API channel, so the event reaches the page's websocket.
        live = await customer_writes(server, api, "A brand new question", email="long@example.org")
        live_id = live["message_id"]
        await playwright_api.expect(page.locator(f"#m{live_id}")).to_contain_text(
            "A brand new question", timeout=3000
        )
        await playwright_api.expect(messages).to_have_count(81)
        # Nothing was re-rendered: an element loaded by scrolling up is the very same node.
        assert (
            await page.evaluate(
                f"document.getElementById('m{results[5].message_id}').dataset.marker"
            )
            == "kept"
        )
        assert await page.locator("#timeline li.msg").last.get_attribute("id") == f"m{live_id}"
        await playwright_api.expect(page.locator(f"#m{live_id}")).to_be_in_viewport()
        today = await page.locator("#timeline li.day").last.inner_text()
        assert today == "Today"


async def test_shortcuts_resolve_assign_and_show_their_help(server, db, settings, browser):
    api = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[api], name="Jamie Agent")
    result = await ingest(db, inbound(api, "Please close this", email="k@example.org"), settings)
    async with open_page(browser, server, agent, result.conversation_id) as page:
        expect = playwright_api.expect
        # Typing in a field is never a shortcut.
        await page.locator("form.reply textarea").fill("")
        await page.locator("form.reply textarea").press("e")
        await expect(page.locator("form.reply textarea")).to_have_value("e")
        await expect(page.locator("#conv-status")).to_have_text("open")
        await page.locator("form.reply textarea").fill("")
        await page.locator("h1").click()
        await page.keyboard.press("?")
        await expect(page.locator("#shortcut-help")).to_be_visible()
        await shoot(page, "conversation-shortcuts")
        await page.keyboard.press("a")
        await expect(page.locator("#conv-assignee")).to_have_text("Jamie Agent")
        await page.keyboard.press("e")
        await expect(page.locator("#conv-status")).to_have_text("resolved")
        async with db.engine.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT status, assignee_id FROM conversation WHERE id = :id"),
                    {"id": result.conversation_id},
                )
            ).one()
        assert row == (Status.resolved, agent.id)


async def test_screenshots_of_the_conversation_view_in_english_and_korean(
    server,
    db,
    settings,
    browser,
):
    from dataclasses import replace

    from inbox.actions import merge_for_agent, update_conversation
    from inbox.channel import InboundAttachment
    from inbox.customer_profile import update_customer
    from tests.factories import admin

    mail = await make_inbox(db, "email", "Support mail", {"address": "help@shop.example"})
    sms = await make_inbox(db, "twilio", "SMS +1 415 555 0100", {"phone_number": "+14155550100"})
    agent = await make_agent(db, "minji@support.example", name="Minji Park", inboxes=[mail, sms])
    await make_agent(db, "joon@support.example", name="Joon Lee", inboxes=[mail, sms])
    boss = await admin(db)
    now = datetime.now(UTC)
    old = await ingest(
        db,
        inbound(
            mail,
            "Do you ship to Busan?",
            email="sarah@example.com",
            name="Sarah Kim",
            subject="Shipping",
            sent_at=now - timedelta(days=6),
        ),
        settings,
    )
    await update_conversation(db, boss, old.conversation_id, status="resolved")
    quoted = (
        "Hi, my order 4411 has not arrived yet. Can you check?\n\n"
        "On Mon, Support wrote:\n> Your order is on its way."
    )
    first = await ingest(
        db,
        replace(
            inbound(
                mail,
                quoted,
                email="sarah@example.com",
                name="Sarah Kim",
                subject="Order 4411",
                sent_at=now - timedelta(days=1, hours=2),
            ),
            stripped_text="Hi, my order 4411 has not arrived yet. Can you check?",
            html="<p>Hi, my order <b>4411</b> has not arrived yet. Can you check?</p>"
            "<blockquote>Your order is on its way.</blockquote>",
            attachments=(InboundAttachment("receipt.pdf", "application/pdf", b"%PDF-1.4 " * 300),),
        ),
        settings,
    )
    texted = await ingest(
        db,
        inbound(
            sms,
            "Any news on 4411? 오늘 받을 수 있나요?",
            phone="+14155550142",
            name="Sarah K",
            channel="sms",
            sent_at=now - timedelta(minutes=20),
        ),
        settings,
    )
    await merge_for_agent(db, boss, first.customer_id, texted.customer_id)
    await ingest(
        db,
        inbound(
            mail, "Is the shop open on Sunday?", email="kim.minsoo@example.com", name="Kim Minsoo"
        ),
        settings,
    )
    await update_customer(
        db, boss, first.customer_id, set_attributes={"plan": "Gold", "city": "Seoul"}
    )
    async with agent_page(
        browser, server, agent.email, viewport={"width": 1280, "height": 1000}
    ) as page:
        async with server.client(agent.token) as client:
            reply = await client.post(
                f"/api/v1/conversations/{first.conversation_id}/messages",
                json={"text": "Sorry! Checking with the courier now.", "inbox_id": mail.id},
            )
            assert reply.status_code == 201, reply.text
        await page.goto(f"{server.url}/conversations/{first.conversation_id}")
        await playwright_api.expect(page.locator("#live-state")).to_have_attribute(
            "data-state", "live"
        )
        await page.locator("#timeline details.full").first.click()
        await shoot(page, "conversation-en")
        await page.goto(f"{server.url}/conversations/{first.conversation_id}?merge_q=Kim")
        await shoot(page, "conversation-merge-search-en")
        await page.select_option("select[name=language]", "ko")
        await page.click("form.language button")
        await page.wait_for_load_state()
        await page.goto(f"{server.url}/conversations/{first.conversation_id}")
        await playwright_api.expect(page.locator("#timeline li.day").last).to_have_text("오늘")
        await page.keyboard.press("?")
        await shoot(page, "conversation-ko")


async def test_send_via_follows_the_customer_to_a_new_channel_live(server, db, settings, browser):
    sms = await make_inbox(db, "twilio", "SMS line")
    whatsapp = await make_inbox(db, "whatsapp", "WhatsApp shop")
    agent = await make_agent(db, inboxes=[sms, whatsapp])
    phone = "+821055550142"
    first = await ingest(db, inbound(sms, "Texting first", phone=phone, channel="sms"), settings)
    async with open_page(browser, server, agent, first.conversation_id) as page:
        expect = playwright_api.expect
        picker = page.locator("#reply-channel")
        await expect(picker.locator("option")).to_have_text(["sms · SMS line (last used)"])
        await expect(page.locator("#reply-window")).to_be_hidden()

        live = server.runtime.db  # the server's own database: its commits reach the open page
        await ingest(live, inbound(whatsapp, "Now on WhatsApp", phone=phone), settings)
        # Without a reload: WhatsApp is now the default, and its 24-hour window is open.
        await expect(picker.locator("option")).to_have_text(
            ["whatsapp · WhatsApp shop (last used)", "sms · SMS line"], timeout=5000
        )
        await expect(page.locator("#reply-window")).to_be_visible()
        await shoot(page, "send-via-follows-the-customer")

        # An agent who chose SMS on purpose keeps it when the customer writes again.
        await picker.select_option(str(sms.id))
        await expect(page.locator("#reply-window")).to_be_hidden()
        await ingest(live, inbound(whatsapp, "Still here on WhatsApp", phone=phone), settings)
        await expect(page.locator("#timeline")).to_contain_text("Still here on WhatsApp")
        await page.wait_for_timeout(600)  # the picker refresh follows the message by ~150 ms
        await expect(picker).to_have_value(str(sms.id))
        await expect(page.locator("#reply-window")).to_be_hidden()
