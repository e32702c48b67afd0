"""Customers over REST: the list and search, one customer, the cross-channel timeline, merging
and undoing a merge, and merge suggestions raised by unverified claims."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import make_agent, make_inbox
from tests.web.support import arrives, customer_writes, walk

CUSTOMERS = "/api/v1/customers"
SUGGESTIONS = "/api/v1/merge-suggestions"


def identities(customer: dict) -> list[tuple[str, str, bool]]:
    return sorted((i["kind"], i["value"], i["verified"]) for i in customer["identities"])


def listed(response) -> list[int]:
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["items"]]


async def test_the_list_shows_customers_with_their_identities(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    minji = await customer_writes(
        server, inbox, name="김민지", email="Minji.Kim@Example.com", phone="010-1234-5678"
    )
    sarah = await customer_writes(server, inbox, name="Sarah Connor", email="sarah@example.org")
    async with server.client(agent.token) as client:
        response = await client.get(CUSTOMERS)
    assert listed(response) == [sarah["customer_id"], minji["customer_id"]]
    body = response.json()
    assert body["next"] is None
    by_id = {c["id"]: c for c in body["items"]}
    shown = by_id[minji["customer_id"]]
    assert {"id", "name", "identities", "created_at"} <= set(shown)
    assert shown["name"] == "김민지"
    assert identities(shown) == [
        ("email", "minji.kim@example.com", True),
        ("phone", "+821012345678", True),
    ]
    assert identities(by_id[sarah["customer_id"]]) == [("email", "sarah@example.org", True)]


async def test_the_list_pages_through_every_customer_once(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    made = [
        (await customer_writes(server, inbox, email=f"c{n}@example.com"))["customer_id"]
        for n in range(5)
    ]
    async with server.client(agent.token) as client:
        pages = await walk(client, CUSTOMERS, limit=2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [c["id"] for p in pages for c in p] == list(reversed(made))


@pytest.mark.parametrize(
    ("q", "who"),
    [
        ("Sarah", "sarah"),
        ("sarah", "sarah"),
        ("Connor", "sarah"),
        ("sar", "sarah"),
        ("sarah.connor@example.org", "sarah"),
        ("SARAH.CONNOR@EXAMPLE.ORG", "sarah"),
        ("김민지", "minji"),
        ("민지", "minji"),
        ("minji.kim@example.com", "minji"),
        ("+821012345678", "minji"),
        ("Nobody", None),
        ("박지성", None),
    ],
)
async def test_q_finds_customers_by_name_email_or_phone(server, db, q, who):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    found = {
        "minji": (
            await customer_writes(
                server, inbox, name="김민지", email="minji.kim@example.com", phone="010-1234-5678"
            )
        )["customer_id"],
        "sarah": (
            await customer_writes(
                server, inbox, name="Sarah Connor", email="Sarah.Connor@example.org"
            )
        )["customer_id"],
    }
    await customer_writes(server, inbox, name="Tom Baker", email="tom@example.net")
    async with server.client(agent.token) as client:
        response = await client.get(CUSTOMERS, params={"q": q})
    assert listed(response) == ([found[who]] if who else [])


async def test_one_customer(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    ack = await customer_writes(server, inbox, name="Ann Lee", email="ann@example.com")
    async with server.client(agent.token) as client:
        response = await client.get(f"{CUSTOMERS}/{ack['customer_id']}")
        missing = await client.get(f"{CUSTOMERS}/{ack['customer_id'] + 1}")
    assert response.status_code == 200, response.text
    customer = response.json()
    assert customer["id"] == ack["customer_id"]
    assert customer["name"] == "Ann Lee"
    assert identities(customer) == [("email", "ann@example.com", True)]
    assert customer["created_at"]
    assert missing.status_code == 404
    assert "error" in missing.json()


async def test_the_timeline_spans_channels_and_conversations_oldest_first(server, db, settings):
    sms, telegram = await make_inbox(db, "twilio"), await make_inbox(db, "telegram")
    api = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[sms, telegram, api])
    first = await arrives(
        db,
        settings,
        sms,
        "Hi, my order is late",
        phone="010-1234-5678",
        channel="sms",
        name="Kim Minji",
    )
    async with server.client(agent.token) as client:
        resolved = await client.patch(
            f"/api/v1/conversations/{first.conversation_id}", json={"status": "resolved"}
        )
        assert resolved.status_code == 200, resolved.text
        second = await arrives(
            db,
            settings,
            telegram,
            "Writing from Telegram now",
            telegram="777001",
            phone="+82 10 1234 5678",
        )
        third = await customer_writes(
            server, api, "And now from your app", phone="01012345678", email="minji@example.com"
        )
        reply = await client.post(
            f"/api/v1/conversations/{third['conversation_id']}/messages",
            json={"text": "We are looking into it"},
        )
        assert reply.status_code == 201, reply.text
        cid = first.customer_id
        assert second.customer_id == third["customer_id"] == cid
        assert second.conversation_id != first.conversation_id
        pages = await walk(client, f"{CUSTOMERS}/{cid}/timeline", limit=2)
        everything = (await client.get(f"{CUSTOMERS}/{cid}/timeline")).json()

    timeline = [m for page in pages for m in page]
    assert [len(p) for p in pages] == [2, 2]
    assert everything["items"] == timeline
    assert everything["next"] is None
    assert [m["text"] for m in timeline] == [
        "Hi, my order is late",
        "Writing from Telegram now",
        "And now from your app",
        "We are looking into it",
    ]
    assert [m["channel"] for m in timeline] == ["sms", "telegram", "api", "api"]
    assert [m["conversation_id"] for m in timeline] == [
        first.conversation_id,
        second.conversation_id,
        second.conversation_id,
        second.conversation_id,
    ]
    assert {m["customer_id"] for m in timeline} == {cid}
    assert [m["created_at"] for m in timeline] == sorted(m["created_at"] for m in timeline)


async def test_the_timeline_orders_by_when_a_message_was_sent(server, db, settings):
    sms, api = await make_inbox(db, "twilio"), await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[sms, api])
    now = datetime.now(UTC)
    await customer_writes(
        server,
        api,
        "sent ten minutes ago",
        phone="010-5555-0000",
        sent_at=(now - timedelta(minutes=10)).isoformat(),
    )
    # An SMS the provider held back: it arrives last but was written first.
    late = await arrives(
        db,
        settings,
        sms,
        "sent an hour ago",
        phone="010-5555-0000",
        channel="sms",
        sent_at=now - timedelta(hours=1),
    )
    async with server.client(agent.token) as client:
        response = await client.get(f"{CUSTOMERS}/{late.customer_id}/timeline")
    assert [m["text"] for m in response.json()["items"]] == [
        "sent an hour ago",
        "sent ten minutes ago",
    ]


async def test_an_invalid_timeline_cursor_is_400(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    ack = await customer_writes(server, inbox)
    async with server.client(agent.token) as client:
        for params in ({"cursor": "nonsense"}, {"limit": "0"}):
            response = await client.get(f"{CUSTOMERS}/{ack['customer_id']}/timeline", params=params)
            assert response.status_code == 400, (params, response.text)


async def test_a_merge_and_its_undo(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    ann = await customer_writes(
        server, inbox, "email question", name="Ann Lee", email="ann@example.com"
    )
    phone = await customer_writes(server, inbox, "sms question", phone="010-2222-3333")
    keep, gone = ann["customer_id"], phone["customer_id"]
    assert keep != gone

    async with server.client(agent.token) as client:
        before = {cid: (await client.get(f"{CUSTOMERS}/{cid}")).json() for cid in (keep, gone)}

        response = await client.post(f"{CUSTOMERS}/{keep}/merge", json={"other_id": gone})
        assert response.status_code == 200, response.text
        survivor = response.json()
        assert survivor["id"] == keep
        assert identities(survivor) == [
            ("email", "ann@example.com", True),
            ("phone", "+821022223333", True),
        ]
        merge_id = survivor["merge_id"]
        assert listed(await client.get(CUSTOMERS)) == [keep]
        moved = (await client.get(f"/api/v1/conversations/{phone['conversation_id']}")).json()
        assert moved["customer_id"] == keep
        timeline = (await client.get(f"{CUSTOMERS}/{keep}/timeline")).json()["items"]
        assert [m["text"] for m in timeline] == ["email question", "sms question"]

        undone = await client.post(f"/api/v1/merges/{merge_id}/undo")
        assert undone.status_code == 200, undone.text

        after = {cid: (await client.get(f"{CUSTOMERS}/{cid}")).json() for cid in (keep, gone)}
        assert after == before
        assert set(listed(await client.get(CUSTOMERS))) == {keep, gone}
        back = (await client.get(f"/api/v1/conversations/{phone['conversation_id']}")).json()
        assert back["customer_id"] == gone
        for cid, text in ((keep, "email question"), (gone, "sms question")):
            items = (await client.get(f"{CUSTOMERS}/{cid}/timeline")).json()["items"]
            assert [m["text"] for m in items] == [text]
            assert {m["customer_id"] for m in items} == {cid}

        again = await client.post(f"/api/v1/merges/{merge_id}/undo")
        assert 400 <= again.status_code < 500, again.text
        assert after == {
            cid: (await client.get(f"{CUSTOMERS}/{cid}")).json() for cid in (keep, gone)
        }


async def test_undo_gives_back_a_name_the_merge_filled_in(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    nameless = await customer_writes(server, inbox, phone="010-7777-8888")
    named = await customer_writes(server, inbox, name="Hana Park", email="hana@example.com")
    keep, gone = nameless["customer_id"], named["customer_id"]
    async with server.client(agent.token) as client:
        survivor = (await client.post(f"{CUSTOMERS}/{keep}/merge", json={"other_id": gone})).json()
        assert survivor["name"] == "Hana Park"
        undone = await client.post(f"/api/v1/merges/{survivor['merge_id']}/undo")
        assert undone.status_code == 200, undone.text
        assert (await client.get(f"{CUSTOMERS}/{keep}")).json()["name"] is None
        assert (await client.get(f"{CUSTOMERS}/{gone}")).json()["name"] == "Hana Park"


async def test_after_an_undo_new_messages_find_their_own_customer_again(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    ann = await customer_writes(server, inbox, email="ann@example.com")
    bob = await customer_writes(server, inbox, email="bob@example.com")
    async with server.client(agent.token) as client:
        merged = (
            await client.post(
                f"{CUSTOMERS}/{ann['customer_id']}/merge", json={"other_id": bob["customer_id"]}
            )
        ).json()
        assert (await client.post(f"/api/v1/merges/{merged['merge_id']}/undo")).status_code == 200
    again = await customer_writes(server, inbox, "Bob again", email="bob@example.com")
    assert again["customer_id"] == bob["customer_id"]


@pytest.mark.parametrize(
    "body",
    [{"other_id": "self"}, {}, {"other_id": "two"}, {"other_id": 4040}, {"other": 2}],
    ids=["self", "missing", "string", "unknown", "misnamed"],
)
async def test_a_merge_that_cannot_be_done_is_refused_and_changes_nothing(server, db, body):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    ann = await customer_writes(server, inbox, email="ann@example.com")
    await customer_writes(server, inbox, email="bob@example.com")
    cid = ann["customer_id"]
    if body.get("other_id") == "self":
        body = {"other_id": cid}
    async with server.client(agent.token) as client:
        before = (await client.get(CUSTOMERS)).json()
        response = await client.post(f"{CUSTOMERS}/{cid}/merge", json=body)
        assert 400 <= response.status_code < 500, response.text
        assert response.status_code != 401
        assert "error" in response.json()
        assert (await client.get(CUSTOMERS)).json() == before


async def test_undoing_an_unknown_merge_is_404(server, db):
    agent = await make_agent(db, admin=True)
    async with server.client(agent.token) as client:
        assert (await client.post("/api/v1/merges/12345/undo")).status_code == 404


async def visitor_claims_an_email(server, db, settings):
    """A known customer (verified email over the API) and a chat visitor who types that email."""
    api, webchat = await make_inbox(db, "api"), await make_inbox(db, "webchat")
    agent = await make_agent(db, inboxes=[api, webchat])
    known = await customer_writes(
        server, api, "Where is order 55?", name="Minji", email="minji@example.com"
    )
    visitor = await arrives(
        db,
        settings,
        webchat,
        "Hi, this is Minji about order 55",
        webchat="visitor-42",
        unverified_email="Minji@Example.com",
    )
    return agent, known, visitor


async def test_an_unverified_email_claim_never_merges_and_raises_a_suggestion(server, db, settings):
    agent, known, visitor = await visitor_claims_an_email(server, db, settings)
    assert visitor.customer_id != known["customer_id"]
    async with server.client(agent.token) as client:
        # The visitor's customer shows only the visitor's own message, never Minji's.
        items = (await client.get(f"{CUSTOMERS}/{visitor.customer_id}/timeline")).json()["items"]
        assert [m["text"] for m in items] == ["Hi, this is Minji about order 55"]
        assert visitor.conversation_id != known["conversation_id"]
        shown = (await client.get(f"{CUSTOMERS}/{known['customer_id']}")).json()
        assert identities(shown) == [("email", "minji@example.com", True)]

        response = await client.get(SUGGESTIONS)
    assert response.status_code == 200, response.text
    [suggestion] = response.json()["items"]
    assert {suggestion["customer_id"], suggestion["other_id"]} == {
        visitor.customer_id,
        known["customer_id"],
    }
    assert suggestion["identity"] == {"kind": "email", "value": "minji@example.com"}
    assert suggestion["status"] == "pending"


async def test_accepting_a_suggestion_merges_the_two(server, db, settings):
    agent, known, visitor = await visitor_claims_an_email(server, db, settings)
    async with server.client(agent.token) as client:
        [suggestion] = (await client.get(SUGGESTIONS)).json()["items"]
        response = await client.post(f"{SUGGESTIONS}/{suggestion['id']}/accept")
        assert response.status_code == 200, response.text

        assert listed(await client.get(CUSTOMERS)) == [known["customer_id"]]
        merged = (await client.get(f"{CUSTOMERS}/{known['customer_id']}")).json()
        assert ("webchat", "visitor-42", True) in identities(merged)
        chat = (await client.get(f"/api/v1/conversations/{visitor.conversation_id}")).json()
        assert chat["customer_id"] == known["customer_id"]
        items = (await client.get(f"{CUSTOMERS}/{known['customer_id']}/timeline")).json()
        assert len(items["items"]) == 2
        assert (await client.get(SUGGESTIONS)).json()["items"] == []
        twice = await client.post(f"{SUGGESTIONS}/{suggestion['id']}/accept")
        assert 400 <= twice.status_code < 500, twice.text


async def test_rejecting_a_suggestion_leaves_both_customers(server, db, settings):
    agent, known, visitor = await visitor_claims_an_email(server, db, settings)
    async with server.client(agent.token) as client:
        [suggestion] = (await client.get(SUGGESTIONS)).json()["items"]
        response = await client.post(f"{SUGGESTIONS}/{suggestion['id']}/reject")
        assert response.status_code == 200, response.text

        assert set(listed(await client.get(CUSTOMERS))) == {
            known["customer_id"],
            visitor.customer_id,
        }
        shown = (await client.get(f"{CUSTOMERS}/{known['customer_id']}")).json()
        assert identities(shown) == [("email", "minji@example.com", True)]
        assert (await client.get(SUGGESTIONS)).json()["items"] == []
        rejected = (await client.get(SUGGESTIONS, params={"status": "rejected"})).json()
        assert [s["id"] for s in rejected["items"]] == [suggestion["id"]]
        late = await client.post(f"{SUGGESTIONS}/{suggestion['id']}/accept")
        assert 400 <= late.status_code < 500, late.text
        assert len(listed(await client.get(CUSTOMERS))) == 2


async def test_deciding_an_unknown_suggestion_is_404(server, db):
    agent = await make_agent(db, admin=True)
    async with server.client(agent.token) as client:
        for verb in ("accept", "reject"):
            assert (await client.post(f"{SUGGESTIONS}/777/{verb}")).status_code == 404
