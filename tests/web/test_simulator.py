"""`/simulator`: a played customer's message goes through each channel's real, signed webhook."""

import asyncio
from dataclasses import replace

import pytest
from sqlmodel import select

from inbox import actions
from inbox.access import Viewer
from inbox.models import Inbox, Message
from tests.conftest import LiveServer
from tests.factories import make_agent, make_inbox
from tests.web.test_pages import csrf_from, login
from web.demo import ADMIN, load_demo

TWILIO = {
    "phone_number": "+14155550100",
    "account_sid": "AC" + "1" * 32,
    "auth_token": "twilio-secret",
}
WHATSAPP = {
    "phone_number_id": "1001",
    "access_token": "wa-token",
    "app_secret": "wa-secret",
    "verify_token": "wa-verify",
}
TELEGRAM = {"bot_token": "1:abc", "secret_token": "tg-secret"}


async def simulate(client, **fields):
    page = await client.get("/simulator")
    return await client.post("/simulator", data={**fields, "_csrf_token": csrf_from(page.text)})


async def stored(db, channel):
    async with db.read() as session:
        return (await session.exec(select(Message).where(Message.channel == channel))).all()


async def test_every_channel_arrives_signed_and_sms_and_whatsapp_thread_to_one_customer(server, db):
    twilio = await make_inbox(db, "twilio", config=TWILIO)
    cloud = await make_inbox(db, "whatsapp", config=WHATSAPP)
    telegram = await make_inbox(db, "telegram", config=TELEGRAM)
    email = await make_inbox(db, "email", config={"address": "help@shop.example"})
    api = await make_inbox(db, "api")
    admin = await make_agent(db, admin=True)
    plays = [
        ("sms", twilio, "+1 415 555 0142", "Where is order 4411?"),
        ("whatsapp", twilio, "+14155550142", "Texting on WhatsApp now"),
        ("whatsapp_cloud", cloud, "+82 10 2345 6789", "배송 언제 와요?"),
        ("telegram", telegram, "500123456", "Hello from Telegram"),
        ("email", email, "sarah@example.org", "An email about my invoice"),
        ("api", api, "api-user@example.org", "Clicked 'where is my order'"),
    ]
    async with server.client() as client:
        await login(client, admin.email)
        for channel, inbox, sender, text in plays:
            answer = await simulate(
                client,
                channel=channel,
                inbox_id=str(inbox.id),
                sender=sender,
                name="Sarah Kim",
                text=text,
            )
            assert answer.status_code == 200, answer.text
            assert 'class="sim-result ok"' in answer.text, answer.text
    for channel, inbox, _, text in plays:
        kind = "api" if channel == "api" else channel.replace("_cloud", "")
        texts = [m.text for m in await stored(db, kind) if m.inbox_id == inbox.id]
        assert text in texts, (channel, texts)
    sms, whatsapp = (
        await stored(db, "sms"),
        [m for m in await stored(db, "whatsapp") if m.inbox_id == twilio.id],
    )
    assert sms[0].customer_id == whatsapp[0].customer_id


async def test_a_wrong_secret_is_refused_by_the_real_webhook(server, db):
    # The simulator signs with the inbox's own secret; the webhook still checks it.
    inbox = await make_inbox(db, "telegram", config={**TELEGRAM, "secret_token": ""})
    admin = await make_agent(db, admin=True)
    async with server.client() as client:
        await login(client, admin.email)
        answer = await simulate(
            client,
            channel="telegram",
            inbox_id=str(inbox.id),
            sender="42",
            name="Eve",
            text="unsigned",
        )
    assert 'class="sim-result error"' in answer.text and "<strong>403</strong>" in answer.text
    assert await stored(db, "telegram") == []


async def test_bad_input_is_a_clear_400(server, db):
    inbox = await make_inbox(db, "telegram", config=TELEGRAM)
    admin = await make_agent(db, admin=True)
    async with server.client() as client:
        await login(client, admin.email)
        wrong_kind = await simulate(
            client, channel="sms", inbox_id=str(inbox.id), sender="+14155550142", text="hi"
        )
        bad_sender = await simulate(
            client, channel="telegram", inbox_id=str(inbox.id), sender="not-a-number", text="hi"
        )
    assert wrong_kind.status_code == 404
    assert bad_sender.status_code == 400 and "numeric user id" in bad_sender.text


async def test_agents_who_are_not_admins_get_404(server, db):
    inbox = await make_inbox(db, "twilio", config=TWILIO)
    agent = await make_agent(db, inboxes=[inbox])
    async with server.client() as client:
        await login(client, agent.email)
        page = await client.get("/simulator")
        home = await client.get("/")
        sent = await client.post(
            "/simulator",
            data={
                "channel": "sms",
                "inbox_id": str(inbox.id),
                "sender": "+14155550142",
                "text": "x",
                "_csrf_token": csrf_from(home.text),
            },
        )
    assert page.status_code == 404 and sent.status_code == 404
    assert await stored(db, "sms") == []


async def test_posting_without_the_csrf_token_is_refused(server, db):
    inbox = await make_inbox(db, "twilio", config=TWILIO)
    admin = await make_agent(db, admin=True)
    async with server.client() as client:
        await login(client, admin.email)
        answer = await client.post(
            "/simulator",
            data={
                "channel": "sms",
                "inbox_id": str(inbox.id),
                "sender": "+14155550142",
                "text": "x",
            },
        )
    assert answer.status_code == 403
    assert await stored(db, "sms") == []


async def test_production_turns_the_simulator_and_its_provider_sink_off(settings, db):
    production = replace(settings, simulator=False)
    admin = await make_agent(db, admin=True)
    async with LiveServer(production) as live, live.client() as client:
        await login(client, admin.email)
        page = await client.get("/simulator")
        sink = await client.post(
            "/simulator/provider/twilio/2010-04-01/Accounts/AC1/Messages.json",
            data={"To": "+1", "Body": "x"},
        )
    assert page.status_code == 404 and sink.status_code == 404


@pytest.mark.parametrize(
    "kind, channel, config, sender, shown",
    [
        ("twilio", "sms", TWILIO, "+14155550142", "+14155550142"),
        ("whatsapp", "whatsapp_cloud", WHATSAPP, "+821023456789", "+821023456789"),
        ("telegram", "telegram", TELEGRAM, "500123456", "500123456"),
    ],
)
async def test_replies_to_a_demo_inbox_reach_the_simulated_phone_not_a_provider(
    server, db, kind, channel, config, sender, shown
):
    config = {**config, "api_base_url": f"{server.url}/simulator/provider/{kind}"}
    inbox = await make_inbox(db, kind, config=config)
    admin = await make_agent(db, admin=True)
    stored_as = "sms" if channel == "sms" else kind
    async with server.client() as client:
        await login(client, admin.email)
        await simulate(
            client,
            channel=channel,
            inbox_id=str(inbox.id),
            sender=sender,
            name="Sam",
            text="Is my parcel lost?",
        )
        [message] = await stored(db, stored_as)
        viewer = Viewer(agent_id=admin.id, is_admin=True, inbox_ids=frozenset())
        await actions.post_message(db, viewer, message.conversation_id, "It is on its way!")
        for _ in range(50):
            page = await client.get("/simulator")
            if "It is on its way!" in page.text:
                break
            await asyncio.sleep(0.1)
    assert "It is on its way!" in page.text and shown in page.text
    sent = [m for m in await stored(db, stored_as) if m.direction == "out"]
    assert sent and sent[0].status in ("queued", "sent")


async def test_the_demo_inboxes_take_simulated_messages_and_reply_only_to_the_sink(
    server, db, settings, capsys
):
    await load_demo(db, settings, 0, 0)
    assert f"{settings.public_url}/simulator" in capsys.readouterr().out
    async with db.read() as session:
        inboxes = {i.kind: i for i in (await session.exec(select(Inbox))).all()}
    for kind in ("twilio", "whatsapp", "telegram"):
        sink = f"{settings.public_url}/simulator/provider/{kind}"
        assert inboxes[kind].config["api_base_url"] == sink
    plays = [
        ("sms", "twilio", "+14155550199"),
        ("whatsapp_cloud", "whatsapp", "+821055556666"),
        ("telegram", "telegram", "700700700"),
        ("email", "email", "new@example.net"),
    ]
    async with server.client() as client:
        await login(client, ADMIN[0], ADMIN[2])
        for channel, kind, sender in plays:
            answer = await simulate(
                client,
                channel=channel,
                inbox_id=str(inboxes[kind].id),
                sender=sender,
                name="Demo",
                text=f"demo via {channel}",
            )
            assert 'class="sim-result ok"' in answer.text, (channel, answer.text)


async def test_web_chat_is_played_through_the_real_widget_on_a_stand_in_shop_page(server, db):
    chat = await make_inbox(db, "webchat", name="Shop chat")
    admin = await make_agent(db, admin=True)
    agent = await make_agent(db, inboxes=[chat])
    async with server.client() as client:
        await login(client, admin.email)
        simulator = await client.get("/simulator")
        shop = await client.get(f"/simulator/webchat/{chat.id}")
        not_webchat = await client.get(f"/simulator/webchat/{chat.id + 1000}")
    assert f'href="/simulator/webchat/{chat.id}"' in simulator.text
    assert shop.status_code == 200
    assert f'<script src="/widget.js?inbox={chat.token}" defer></script>' in shop.text
    assert not_webchat.status_code == 404
    async with server.client() as client:
        await login(client, agent.email)
        refused = await client.get(f"/simulator/webchat/{chat.id}")
    assert refused.status_code == 404


async def test_the_customers_devices_can_be_fetched_alone_for_a_live_refresh(server, db):
    admin = await make_agent(db, admin=True)
    async with server.client() as client:
        await login(client, admin.email)
        empty = await client.get("/simulator/devices")
        sink = await client.post(
            "/simulator/provider/telegram/bot1:abc/sendMessage",
            json={"chat_id": 500123456, "text": "On its way!"},
        )
        devices = await client.get("/simulator/devices")
    assert empty.status_code == 200 and "Nothing sent yet." in empty.text
    assert sink.status_code == 200, sink.text
    assert "On its way!" in devices.text and "<html" not in devices.text
