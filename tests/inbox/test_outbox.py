"""The one way out: queued with the message, retried with backoff, status only moves forward."""

import asyncio
from datetime import timedelta

from sqlalchemy import text

from inbox import actions
from inbox.channel import (
    OutboundMessage,
    PermanentDeliveryError,
    SendReceipt,
    TransientDeliveryError,
)
from inbox.ingest import ingest
from inbox.models import Message, OutboxItem
from inbox.outbox import Dispatcher, record_delivery_status
from tests.factories import admin, inbound, make_inbox


class FlakyConnector:
    """A channel that fails `failures` times, then accepts."""

    def __init__(self, failures: int = 2, permanent: bool = False) -> None:
        self.failures = failures
        self.permanent = permanent
        self.sent: list[OutboundMessage] = []
        self.attempts = 0

    async def send(self, message: OutboundMessage) -> SendReceipt:
        self.attempts += 1
        if self.permanent:
            raise PermanentDeliveryError("recipient opted out")
        if self.attempts <= self.failures:
            raise TransientDeliveryError(f"provider timeout #{self.attempts}")
        self.sent.append(message)
        return SendReceipt(external_id=f"SM{self.attempts}", status="sent")


async def queued_reply(db, settings, text="We're on it"):
    sms = await make_inbox(db, "twilio")
    first = await ingest(
        db, inbound(sms, "help", phone="010-1234-5678", channel="sms", name="Minji"), settings
    )
    reply = await actions.post_message(db, await admin(db), first.conversation_id, text)
    return reply


async def load(db, message_id):
    async with db.read() as session:
        message = await session.get(Message, message_id)
        item = (
            await session.exec(
                OutboxItem.__table__.select().where(OutboxItem.message_id == message_id)
            )
        ).first()
    return message, item


async def test_reply_is_queued_in_the_same_transaction(db, settings):
    reply = await queued_reply(db, settings)
    message, item = await load(db, reply["id"])
    assert message.status == "queued"
    assert item.state == "pending" and item.attempts == 0


async def test_a_connector_failing_twice_is_retried_with_growing_backoff(db, settings):
    reply = await queued_reply(db, settings)
    connector = FlakyConnector(failures=2)
    dispatcher = Dispatcher(db, lambda kind: connector, backoff_seconds=0.2, max_attempts=5)

    assert await dispatcher.dispatch_due() == 1
    message, _first = await load(db, reply["id"])
    assert message.status == "queued" and "provider timeout #1" in message.error
    assert await dispatcher.dispatch_due() == 0  # not due before its backoff
    await asyncio.sleep(0.3)
    assert await dispatcher.dispatch_due() == 1
    _, second = await load(db, reply["id"])
    assert second.attempts == 2
    assert second.next_attempt_at - second.updated_at > timedelta(seconds=0.3)  # ~0.4 s
    await asyncio.sleep(0.5)
    assert await dispatcher.dispatch_due() == 1

    message, item = await load(db, reply["id"])
    assert (message.status, message.external_id, message.error) == ("sent", "SM3", None)
    assert item.state == "done" and item.attempts == 3
    assert [m.text for m in connector.sent] == ["We're on it"]
    assert connector.sent[0].recipient.first("phone") == "+821012345678"


async def test_after_max_attempts_the_message_fails_with_its_reason(db, settings):
    reply = await queued_reply(db, settings)
    connector = FlakyConnector(failures=99)
    dispatcher = Dispatcher(db, lambda kind: connector, backoff_seconds=0.01, max_attempts=3)
    for _ in range(3):
        await dispatcher.dispatch_due()
        await asyncio.sleep(0.05)
    message, item = await load(db, reply["id"])
    assert item.state == "failed" and item.attempts == 3
    assert message.status == "failed" and "provider timeout #3" in message.error
    assert await dispatcher.dispatch_due() == 0


async def test_a_permanent_error_fails_at_once(db, settings):
    reply = await queued_reply(db, settings)
    connector = FlakyConnector(permanent=True)
    await Dispatcher(db, lambda kind: connector).dispatch_due()
    message, item = await load(db, reply["id"])
    assert (message.status, message.error, item.attempts) == ("failed", "recipient opted out", 1)


async def test_private_notes_never_reach_the_outbox(db, settings):
    sms = await make_inbox(db, "twilio")
    first = await ingest(db, inbound(sms, "help", phone="010-1234-5678"), settings)
    note = await actions.post_message(
        db, await admin(db), first.conversation_id, "VIP", private=True
    )
    connector = FlakyConnector(failures=0)
    assert await Dispatcher(db, lambda kind: connector).dispatch_due() == 0
    assert note["private"] is True and connector.sent == []


async def test_delivery_status_only_moves_forward(db, settings):
    reply = await queued_reply(db, settings)
    connector = FlakyConnector(failures=0)
    await Dispatcher(db, lambda kind: connector).dispatch_due()
    message, _ = await load(db, reply["id"])
    inbox_id, sid = message.inbox_id, message.external_id

    assert await record_delivery_status(db, inbox_id, sid, "delivered")
    assert not await record_delivery_status(db, inbox_id, sid, "sent")  # late callback
    assert not await record_delivery_status(db, inbox_id, sid, "queued")
    assert (await load(db, reply["id"]))[0].status == "delivered"
    assert await record_delivery_status(db, inbox_id, sid, "failed", "30003 unreachable")
    assert not await record_delivery_status(db, inbox_id, sid, "read")  # failed is final
    final, _ = await load(db, reply["id"])
    assert (final.status, final.error) == ("failed", "30003 unreachable")


class CallbackFirstConnector:
    """A provider whose status callback arrives while the send call is still answering."""

    def __init__(self, db, inbox_id: int) -> None:
        self.db, self.inbox_id = db, inbox_id

    async def send(self, message: OutboundMessage) -> SendReceipt:
        assert not await record_delivery_status(self.db, self.inbox_id, "SM-early", "delivered")
        return SendReceipt(external_id="SM-early", status="sent")


async def test_a_status_reported_before_the_send_is_recorded_is_kept(db, settings):
    reply = await queued_reply(db, settings)
    message, _ = await load(db, reply["id"])
    connector = CallbackFirstConnector(db, message.inbox_id)
    await Dispatcher(db, lambda kind: connector).dispatch_due()
    final, _ = await load(db, reply["id"])
    assert (final.external_id, final.status) == ("SM-early", "delivered")
    async with db.read() as session:
        waiting = await session.execute(text("SELECT count(*) FROM early_delivery_status"))
        assert waiting.scalar_one() == 0


async def test_the_dispatcher_wakes_when_a_reply_is_committed(db, settings):
    sms = await make_inbox(db, "twilio")
    first = await ingest(db, inbound(sms, "help", phone="010-1234-5678"), settings)
    connector = FlakyConnector(failures=0)
    stop = asyncio.Event()
    dispatcher = Dispatcher(db, lambda kind: connector, idle_seconds=30)
    runner = asyncio.create_task(dispatcher.run(stop))
    await asyncio.sleep(0.05)
    await actions.post_message(db, await admin(db), first.conversation_id, "on it")
    for _ in range(100):
        if connector.sent:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await runner
    assert [m.text for m in connector.sent] == ["on it"]


async def test_two_dispatchers_send_each_message_exactly_once(db, settings):
    sms = await make_inbox(db, "twilio")
    first = await ingest(db, inbound(sms, "help", phone="010-1234-5678"), settings)
    agent = await admin(db)
    for i in range(20):
        await actions.post_message(db, agent, first.conversation_id, f"reply {i}")
    connector = FlakyConnector(failures=0)

    class Slow:
        async def send(self, message):
            await asyncio.sleep(0.01)  # let the other dispatcher try to claim meanwhile
            return await connector.send(message)

    one = Dispatcher(db, lambda kind: Slow(), batch=5)
    two = Dispatcher(db, lambda kind: Slow(), batch=5)
    while await asyncio.gather(one.dispatch_due(), two.dispatch_due()) != [0, 0]:
        pass
    texts = sorted(m.text for m in connector.sent)
    assert texts == sorted(f"reply {i}" for i in range(20))
