"""The reply box and customer panel: channel picker, WhatsApp window, SMS segments, and merge
suggestions accepted or rejected from the panel."""

from datetime import timedelta

from sqlmodel import select

from inbox.ingest import ingest
from inbox.models import MergeSuggestion, Message, utcnow
from tests.factories import inbound, make_agent, make_inbox
from tests.web.test_pages import csrf_from, login


async def outbound(db):
    async with db.read() as session:
        query = select(Message).where(Message.direction == "out")
        return (await session.exec(query)).all()


async def test_the_agent_picks_another_of_the_customers_channels(server, db, settings):
    sms = await make_inbox(db, "twilio", "SMS line")
    telegram = await make_inbox(db, "telegram", "Shop bot")
    agent = await make_agent(db, inboxes=[sms, telegram])
    first = await ingest(
        db,
        inbound(telegram, "Hi on Telegram", telegram="500123456", phone="+14155550142", name="Sam"),
        settings,
    )
    await ingest(db, inbound(sms, "Now texting", phone="+14155550142", channel="sms"), settings)
    async with server.client() as client:
        await login(client, agent.email)
        page = await client.get(f"/conversations/{first.conversation_id}")
        assert 'name="inbox_id"' in page.text
        # The channel the customer last used comes first; the other one is offered by id.
        last_used = page.text.index("sms · SMS line (last used)")
        assert last_used < page.text.index("telegram · Shop bot")
        assert f'value="{telegram.id}"' in page.text
        sent = await client.post(
            f"/conversations/{first.conversation_id}/reply",
            data={
                "text": "Answering on Telegram",
                "inbox_id": str(telegram.id),
                "_csrf_token": csrf_from(page.text),
            },
        )
        bad = await client.post(
            f"/conversations/{first.conversation_id}/reply",
            data={"text": "x", "inbox_id": "nope", "_csrf_token": csrf_from(page.text)},
        )
    assert sent.status_code == 303
    assert bad.status_code == 400
    [reply] = await outbound(db)
    assert (reply.inbox_id, reply.channel, reply.text) == (
        telegram.id,
        "telegram",
        "Answering on Telegram",
    )


async def test_send_via_follows_the_customer_to_a_new_channel(server, db, settings):
    sms = await make_inbox(db, "twilio", "SMS line")
    telegram = await make_inbox(db, "telegram", "Shop bot")
    agent = await make_agent(db, inboxes=[sms, telegram])
    outsider = await make_agent(db, inboxes=[])
    first = await ingest(
        db, inbound(sms, "Texting first", phone="+14155550142", channel="sms"), settings
    )
    async with server.client() as client:
        await login(client, agent.email)
        url = f"/conversations/{first.conversation_id}/reply-options"
        before = await client.get(url)
        await ingest(
            db,
            inbound(telegram, "Now on Telegram", telegram="500123456", phone="+14155550142"),
            settings,
        )
        after = await client.get(url)
    async with server.client() as client:
        await login(client, outsider.email)
        hidden = await client.get(url)
    assert "sms · SMS line (last used)" in before.text
    assert "telegram" not in before.text
    # The options the live page swaps in: Telegram is now the default, SMS by its inbox id.
    assert after.text.index("telegram · Shop bot (last used)") < after.text.index("sms · SMS line")
    assert f'value="{sms.id}" data-inbox="{sms.id}"' in after.text
    assert hidden.status_code == 404


async def test_the_whatsapp_window_is_shown_open_or_closed(server, db, settings):
    wa = await make_inbox(db, "twilio", "WhatsApp line")
    agent = await make_agent(db, inboxes=[wa])
    old = await ingest(
        db,
        inbound(
            wa,
            "Two days ago",
            phone="+821011112222",
            channel="whatsapp",
            sent_at=utcnow() - timedelta(hours=48),
        ),
        settings,
    )
    fresh = await ingest(
        db, inbound(wa, "Just now", phone="+821033334444", channel="whatsapp"), settings
    )
    async with server.client() as client:
        await login(client, agent.email)
        closed = await client.get(f"/conversations/{old.conversation_id}")
        open_ = await client.get(f"/conversations/{fresh.conversation_id}")
    assert "24-hour window is closed" in closed.text
    assert "WhatsApp 24-hour window is open</span>" in open_.text
    assert "24-hour window is closed" not in open_.text


async def test_sms_segments_are_counted_for_a_signed_in_agent(server, db):
    agent = await make_agent(db)
    async with server.client() as client:
        anonymous = await client.get("/sms-length", params={"text": "hi"})
        await login(client, agent.email)
        short = await client.get("/sms-length", params={"text": "a" * 160})
        long = await client.get("/sms-length", params={"text": "a" * 161})
        korean = await client.get("/sms-length", params={"text": "안녕하세요"})
    assert anonymous.status_code in (302, 303, 307)
    assert short.json()["segments"] == 1 and long.json()["segments"] == 2
    assert korean.json()["encoding"] == "UCS-2"


async def suggested(server, db, settings):
    """A known customer and a web visitor who claims their email without proof."""
    api = await make_inbox(db, "api")
    chat = await make_inbox(db, "webchat")
    agent = await make_agent(db, inboxes=[api, chat])
    known = await ingest(
        db, inbound(api, "Order 55", email="minji@example.com", name="Minji"), settings
    )
    visitor = await ingest(
        db,
        inbound(chat, "It's Minji", webchat="visitor-1", unverified_email="minji@example.com"),
        settings,
    )
    return agent, known, visitor


async def test_a_suggestion_is_merged_from_the_customer_panel(server, db, settings):
    agent, _, visitor = await suggested(server, db, settings)
    async with server.client() as client:
        await login(client, agent.email)
        page = await client.get(f"/conversations/{visitor.conversation_id}")
        assert "Maybe the same person" in page.text and "Minji" in page.text
        async with db.read() as session:
            suggestion = (await session.exec(select(MergeSuggestion))).one()
        url = f"/conversations/{visitor.conversation_id}/suggestions/{suggestion.id}"
        wrong = await client.post(
            url, data={"decision": "maybe", "_csrf_token": csrf_from(page.text)}
        )
        merged = await client.post(
            url, data={"decision": "accept", "_csrf_token": csrf_from(page.text)}
        )
        after = await client.get(f"/conversations/{visitor.conversation_id}")
    assert wrong.status_code == 400
    assert merged.status_code == 303
    assert "Maybe the same person" not in after.text
    assert "Order 55" in after.text and "It&#39;s Minji" in after.text


async def test_a_suggestion_is_rejected_from_the_customer_panel(server, db, settings):
    agent, known, _ = await suggested(server, db, settings)
    async with server.client() as client:
        await login(client, agent.email)
        page = await client.get(f"/conversations/{known.conversation_id}")
        async with db.read() as session:
            suggestion = (await session.exec(select(MergeSuggestion))).one()
        rejected = await client.post(
            f"/conversations/{known.conversation_id}/suggestions/{suggestion.id}",
            data={"decision": "reject", "_csrf_token": csrf_from(page.text)},
        )
        after = await client.get(f"/conversations/{known.conversation_id}")
    assert rejected.status_code == 303
    assert "Maybe the same person" not in after.text and "It&#39;s Minji" not in after.text
