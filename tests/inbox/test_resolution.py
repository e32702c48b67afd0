"""One resolved customer: verified identities merge, unverified claims only suggest."""

from inbox.db import Database
from inbox.identity import merge_customers, undo_merge
from inbox.ingest import ingest
from tests.factories import count, customer, events, inbound, make_inbox, timeline


def identities(data):
    return sorted((i["kind"], i["value"], i["verified"]) for i in data["identities"])


async def test_message_links_all_its_verified_identities_to_one_customer(db, settings):
    api = await make_inbox(db, "api")
    result = await ingest(
        db, inbound(api, email="Sarah@Example.org", phone="010-4444-5555", name="Sarah"), settings
    )
    sarah = await customer(db, result.customer_id)
    assert sarah["name"] == "Sarah"
    assert identities(sarah) == [
        ("email", "sarah@example.org", True),
        ("phone", "+821044445555", True),
    ]


async def test_verified_identities_of_two_customers_merge_them(db, settings):
    email = await make_inbox(db, "email")
    sms = await make_inbox(db, "twilio")
    api = await make_inbox(db, "api")
    by_mail = await ingest(db, inbound(email, "mail", email="sarah@example.org"), settings)
    by_sms = await ingest(db, inbound(sms, "text", phone="010-4444-5555", channel="sms"), settings)
    assert by_mail.customer_id != by_sms.customer_id

    linked = await ingest(
        db, inbound(api, "login", email="sarah@example.org", phone="01044445555"), settings
    )

    assert linked.customer_id == by_mail.customer_id  # the older customer survives
    merged = await customer(db, by_sms.customer_id)
    assert merged["merged_into_id"] == by_mail.customer_id
    texts = [m["text"] for m in await timeline(db, by_mail.customer_id)]
    assert texts == ["mail", "text", "login"]
    assert "customer.merged" in [e.type for e in await events(db)]


async def test_unverified_claim_only_suggests_and_shows_no_history(db, settings):
    email = await make_inbox(db, "email")
    chat = await make_inbox(db, "webchat")
    owner = await ingest(db, inbound(email, "my invoice", email="sarah@example.org"), settings)

    visitor = await ingest(
        db,
        inbound(chat, "I'm Sarah", webchat="visitor-1", unverified_email="sarah@example.org"),
        settings,
    )

    assert visitor.customer_id != owner.customer_id
    assert [m["text"] for m in await timeline(db, visitor.customer_id)] == ["I'm Sarah"]
    assert identities(await customer(db, owner.customer_id)) == [
        ("email", "sarah@example.org", True)
    ]
    assert await count(db, "merge_suggestion") == 1
    suggestion = next(e for e in await events(db) if e.type == "merge_suggestion.created")
    assert {suggestion.payload["customer_id"], suggestion.payload["other_id"]} == {
        owner.customer_id,
        visitor.customer_id,
    }


async def test_a_later_verified_sender_takes_a_merely_claimed_address(db, settings):
    chat = await make_inbox(db, "webchat")
    email = await make_inbox(db, "email")
    claimant = await ingest(
        db, inbound(chat, "hi", webchat="v-9", unverified_email="boss@example.com"), settings
    )
    owner = await ingest(db, inbound(email, "real mail", email="boss@example.com"), settings)

    assert owner.customer_id != claimant.customer_id
    assert identities(await customer(db, owner.customer_id)) == [
        ("email", "boss@example.com", True)
    ]
    assert identities(await customer(db, claimant.customer_id)) == [("webchat", "v-9", True)]
    assert await count(db, "merge_suggestion") == 1


async def snapshot(db: Database, *ids: int):
    return [
        (
            identities(c := await customer(db, i)),
            c["merged_into_id"],
            sorted((m["id"], m["conversation_id"]) for m in await timeline(db, i)),
        )
        for i in ids
    ]


async def test_merge_then_undo_restores_the_prior_state(db, settings):
    email = await make_inbox(db, "email")
    sms = await make_inbox(db, "twilio")
    a = await ingest(db, inbound(email, "one", email="a@example.org", name="A"), settings)
    await ingest(db, inbound(email, "two", email="a@example.org"), settings)
    b = await ingest(db, inbound(sms, "three", phone="010-1111-2222", channel="sms"), settings)
    before = await snapshot(db, a.customer_id, b.customer_id)

    async with db.write() as tx:
        record = await merge_customers(tx, a.customer_id, b.customer_id, "agent")
    after_merge = await snapshot(db, a.customer_id)
    assert len(after_merge[0][2]) == 3
    assert identities(await customer(db, a.customer_id))[1] == ("phone", "+821011112222", True)

    async with db.write() as tx:
        await undo_merge(tx, record.id)
    assert await snapshot(db, a.customer_id, b.customer_id) == before
    assert await count(db, "merge_record") == 1
