"""The one way in: dedupe, one transaction, nothing half-written."""

import asyncio

import pytest
from sqlalchemy import text

from inbox.channel import InboundAttachment, InvalidInbound
from inbox.errors import TooLarge
from inbox.ingest import ingest
from tests.factories import count, events, inbound, make_inbox


async def test_a_replayed_message_is_stored_once(db, settings):
    api = await make_inbox(db, "api")
    message = inbound(api, "hello", email="a@example.org", external_id="evt-1")
    first = await ingest(db, message, settings)
    again = await ingest(db, message, settings)
    assert not first.duplicate and again.duplicate
    assert again.message_id == first.message_id
    assert await count(db, "message") == 1


async def test_twenty_concurrent_deliveries_store_one_message_and_one_event(db, settings):
    api = await make_inbox(db, "api")
    message = inbound(api, "hello", email="a@example.org", external_id="evt-concurrent")

    results = await asyncio.gather(*(ingest(db, message, settings) for _ in range(20)))

    assert len({r.message_id for r in results}) == 1
    assert sum(not r.duplicate for r in results) == 1
    assert await count(db, "message") == 1
    created = [e for e in await events(db) if e.type == "message.created"]
    assert len(created) == 1


async def test_concurrent_first_messages_of_a_new_customer_make_one_customer(db, settings):
    api = await make_inbox(db, "api")
    messages = [inbound(api, f"part {i}", phone="010-9999-0000") for i in range(10)]
    results = await asyncio.gather(*(ingest(db, m, settings) for m in messages))
    assert len({r.customer_id for r in results}) == 1
    assert await count(db, "customer") == 1
    assert await count(db, "message") == 10


async def test_same_external_id_in_two_inboxes_is_two_messages(db, settings):
    one, two = await make_inbox(db, "api"), await make_inbox(db, "api")
    a = await ingest(db, inbound(one, "x", email="a@example.org", external_id="1"), settings)
    b = await ingest(db, inbound(two, "y", email="a@example.org", external_id="1"), settings)
    assert a.message_id != b.message_id


@pytest.mark.parametrize(
    "broken",
    [
        {"identities": ()},
        {"external_id": ""},
        {"external_id": "x" * 256},
        {"text": "   "},
    ],
)
async def test_invalid_messages_store_nothing(db, settings, broken):
    api = await make_inbox(db, "api")
    message = inbound(api, "hello", email="a@example.org")
    with pytest.raises(InvalidInbound):
        await ingest(db, message.__class__(**{**message.__dict__, **broken}), settings)
    assert await count(db, "message") == 0
    assert await count(db, "customer") == 0
    assert await events(db) == []


async def test_limits_refuse_oversized_text_and_attachments(db, settings):
    api = await make_inbox(db, "api")
    small = settings.with_(limits=settings.limits.__class__(message_text=10, attachment=4))
    with pytest.raises(TooLarge):
        await ingest(db, inbound(api, "x" * 11, email="a@example.org"), small)
    message = inbound(api, "ok", email="a@example.org")
    big = message.__class__(
        **{**message.__dict__, "attachments": (InboundAttachment("a.bin", "x/y", b"12345"),)}
    )
    with pytest.raises(TooLarge):
        await ingest(db, big, small)
    assert await count(db, "message") == 0


async def test_attachments_are_stored_with_safe_names(db, settings):
    api = await make_inbox(db, "api")
    message = inbound(api, "see photo", email="a@example.org")
    with_files = message.__class__(
        **{
            **message.__dict__,
            "attachments": (
                InboundAttachment("../../etc/passwd", "text/plain", b"root"),
                InboundAttachment("..\\photo\x00.jpg", "image/jpeg", b"\xff\xd8"),
            ),
        }
    )
    await ingest(db, with_files, settings)
    created = next(e for e in await events(db) if e.type == "message.created")
    names = [a["filename"] for a in created.payload["attachments"]]
    assert names == ["passwd", "photo.jpg"]
    assert [a["size"] for a in created.payload["attachments"]] == [4, 2]


async def test_a_database_failure_mid_ingest_leaves_nothing_behind(server, db):
    api = await make_inbox(db, "api")
    async with db.write() as tx:  # break the last write of the pipeline
        await tx.session.execute(text("ALTER TABLE message_search RENAME TO message_search_off"))
    async with server.client(api.token) as client:
        response = await client.post(
            f"/api/v1/inboxes/{api.id}/messages",
            json={"external_id": "e1", "customer": {"email": "a@example.org"}, "text": "hello"},
        )
    async with db.write() as tx:
        await tx.session.execute(text("ALTER TABLE message_search_off RENAME TO message_search"))
    assert response.status_code == 503
    assert response.json()["error"]
    assert await count(db, "message") == 0
    assert await count(db, "customer") == 0
    assert await count(db, "identity") == 0
    assert await events(db) == []
