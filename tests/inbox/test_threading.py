"""Threading: reply reference first, then the open conversation in the window, else new."""

from datetime import timedelta

from sqlalchemy import update

from inbox import actions
from inbox.ingest import ingest
from inbox.models import Conversation, utcnow
from tests.factories import admin, count, inbound, make_inbox


async def age(db, conversation_id, hours):
    async with db.write() as tx:
        await tx.session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id)
            .values(last_message_at=utcnow() - timedelta(hours=hours))
        )


async def test_customer_moving_from_chat_to_sms_continues_the_conversation(db, settings):
    api = await make_inbox(db, "api")
    sms = await make_inbox(db, "twilio")
    chat = await ingest(db, inbound(api, "order late", phone="010-1234-5678"), settings)
    text = await ingest(
        db, inbound(sms, "still late", phone="01012345678", channel="sms"), settings
    )
    assert text.conversation_id == chat.conversation_id
    assert await count(db, "conversation") == 1


async def test_outside_the_window_a_new_conversation_starts(db, settings):
    api = await make_inbox(db, "api")
    first = await ingest(db, inbound(api, "hello", email="a@example.org"), settings)
    await age(db, first.conversation_id, settings.continuation_hours + 1)
    later = await ingest(db, inbound(api, "new issue", email="a@example.org"), settings)
    assert later.conversation_id != first.conversation_id


async def test_inside_a_shorter_window_setting_still_continues(db, settings):
    api = await make_inbox(db, "api")
    short = settings.with_(continuation_hours=2)
    first = await ingest(db, inbound(api, "hello", email="a@example.org"), short)
    await age(db, first.conversation_id, 1)
    again = await ingest(db, inbound(api, "me again", email="a@example.org"), short)
    await age(db, first.conversation_id, 3)
    third = await ingest(db, inbound(api, "later", email="a@example.org"), short)
    assert again.conversation_id == first.conversation_id
    assert third.conversation_id != first.conversation_id


async def test_resolved_conversation_is_not_continued(db, settings):
    api = await make_inbox(db, "api")
    first = await ingest(db, inbound(api, "hello", email="a@example.org"), settings)
    await actions.update_conversation(db, await admin(db), first.conversation_id, status="resolved")
    later = await ingest(db, inbound(api, "thanks!", email="a@example.org"), settings)
    assert later.conversation_id != first.conversation_id


async def test_reply_reference_wins_and_reopens_an_old_conversation(db, settings):
    mail = await make_inbox(db, "email")
    old = await ingest(
        db,
        inbound(mail, "invoice?", email="a@example.org", external_id="<m1@example.org>"),
        settings,
    )
    await actions.update_conversation(db, await admin(db), old.conversation_id, status="resolved")
    await age(db, old.conversation_id, 100)
    newer = await ingest(db, inbound(mail, "other topic", email="a@example.org"), settings)

    reply = await ingest(
        db,
        inbound(mail, "re: invoice", email="a@example.org", reply_to=("<m1@example.org>",)),
        settings,
    )

    assert newer.conversation_id != old.conversation_id
    assert reply.conversation_id == old.conversation_id
    async with db.read() as session:
        conversation = await session.get(Conversation, old.conversation_id)
    assert conversation.status == "open"


async def test_a_reference_to_someone_elses_message_does_not_join_their_thread(db, settings):
    mail = await make_inbox(db, "email")
    victim = await ingest(
        db,
        inbound(mail, "my account", email="victim@example.org", external_id="<v1@example.org>"),
        settings,
    )
    attacker = await ingest(
        db,
        inbound(mail, "re: my account", email="evil@example.net", reply_to=("<v1@example.org>",)),
        settings,
    )
    assert attacker.conversation_id != victim.conversation_id
    assert attacker.customer_id != victim.customer_id
