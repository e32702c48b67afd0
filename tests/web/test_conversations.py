"""Conversations over REST: the filtered list and its keyset pages, one conversation, changing
status, assignee and snooze, its messages, replies through the outbox, private notes, and
signed callbacks to an `api` inbox's integrator."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from tests.factories import make_agent, make_inbox
from tests.web.support import (
    CallbackReceiver,
    customer_writes,
    messages_of,
    wait_for_message,
    walk,
)

LIST = "/api/v1/conversations"
CONVERSATION_FIELDS = {"id", "customer_id", "inbox_id", "status", "assignee_id", "last_message_at"}
MESSAGE_FIELDS = {
    "id",
    "conversation_id",
    "customer_id",
    "inbox_id",
    "channel",
    "direction",
    "author",
    "text",
    "stripped_text",
    "private",
    "status",
    "attachments",
    "created_at",
}


def ids(response) -> list[int]:
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["items"]]


async def conversations(server, inbox, count: int) -> list[int]:
    """`count` customers each open a conversation; their ids, oldest first."""
    out = []
    for n in range(count):
        ack = await customer_writes(
            server, inbox, f"Question number {n}", email=f"person{n}@example.com"
        )
        out.append(ack["conversation_id"])
    return out


async def test_the_list_shows_conversations_newest_activity_first(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    first, second, third = await conversations(server, inbox, 3)
    async with server.client(agent.token) as client:
        response = await client.get(LIST)
        assert ids(response) == [third, second, first]
        assert response.json()["next"] is None
        assert CONVERSATION_FIELDS <= set(response.json()["items"][0])

        # The first customer writes again: their conversation moves to the top.
        await customer_writes(server, inbox, "Any news?", email="person0@example.com")
        assert ids(await client.get(LIST)) == [first, third, second]


async def test_the_list_filters_by_status(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    resolved, pending, still_open = await conversations(server, inbox, 3)
    async with server.client(agent.token) as client:
        for cid, status in ((resolved, "resolved"), (pending, "pending")):
            response = await client.patch(f"{LIST}/{cid}", json={"status": status})
            assert response.status_code == 200, response.text
        assert ids(await client.get(LIST, params={"status": "resolved"})) == [resolved]
        assert ids(await client.get(LIST, params={"status": "pending"})) == [pending]
        assert ids(await client.get(LIST, params={"status": "open"})) == [still_open]
        assert ids(await client.get(LIST, params={"status": "snoozed"})) == []


async def test_the_list_filters_by_inbox(server, db):
    shop, app = await make_inbox(db, "api"), await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[shop, app])
    in_shop = (await customer_writes(server, shop, email="a@example.com"))["conversation_id"]
    in_app = (await customer_writes(server, app, email="b@example.com"))["conversation_id"]
    async with server.client(agent.token) as client:
        assert ids(await client.get(LIST, params={"inbox_id": shop.id})) == [in_shop]
        assert ids(await client.get(LIST, params={"inbox_id": app.id})) == [in_app]
        assert set(ids(await client.get(LIST))) == {in_shop, in_app}


async def test_the_list_filters_by_assignee_me_none_or_an_id(server, db):
    inbox = await make_inbox(db, "api")
    me = await make_agent(db, inboxes=[inbox])
    colleague = await make_agent(db, inboxes=[inbox])
    mine, theirs, nobodys = await conversations(server, inbox, 3)
    async with server.client(me.token) as client:
        for cid, assignee in ((mine, me.id), (theirs, colleague.id)):
            response = await client.patch(f"{LIST}/{cid}", json={"assignee_id": assignee})
            assert response.status_code == 200, response.text
        assert ids(await client.get(LIST, params={"assignee": "me"})) == [mine]
        assert ids(await client.get(LIST, params={"assignee": "none"})) == [nobodys]
        assert ids(await client.get(LIST, params={"assignee": str(colleague.id)})) == [theirs]
        assert ids(await client.get(LIST, params={"assignee": str(me.id)})) == [mine]
        both = await client.get(LIST, params={"assignee": "me", "status": "resolved"})
        assert ids(both) == []
    async with server.client(colleague.token) as client:
        assert ids(await client.get(LIST, params={"assignee": "me"})) == [theirs]


async def test_keyset_pages_walk_every_conversation_exactly_once_newest_first(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    created = await conversations(server, inbox, 7)
    async with server.client(agent.token) as client:
        pages = await walk(client, LIST, limit=3)
    assert [len(p) for p in pages] == [3, 3, 1]
    walked = [c["id"] for page in pages for c in page]
    assert walked == list(reversed(created))
    times = [c["last_message_at"] for page in pages for c in page]
    assert times == sorted(times, reverse=True)


async def test_a_conversation_arriving_mid_walk_does_not_shift_the_pages(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    created = await conversations(server, inbox, 5)
    async with server.client(agent.token) as client:
        first = (await client.get(LIST, params={"limit": 2})).json()
        late = await customer_writes(server, inbox, email="late@example.com")
        rest = await walk(client, LIST, limit=2, cursor=first["next"])
    walked = [c["id"] for c in first["items"]] + [c["id"] for p in rest for c in p]
    assert walked == list(reversed(created))
    assert late["conversation_id"] not in walked


def cursor_of(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "not a cursor"},
        {"cursor": "!!!!"},
        {"cursor": cursor_of(b"[1]")},
        {"cursor": cursor_of(b'["2024-01-01T00:00:00", "x"]')},
        {"cursor": cursor_of(b'{"at": 1}')},
        {"cursor": cursor_of(b"\xff\xfe")},
        {"limit": "0"},
        {"limit": "-5"},
        {"limit": "ten"},
        {"status": "closed"},
        {"status": "OPEN; DROP TABLE conversation"},
        {"assignee": "bob"},
        {"assignee": "-1"},
        {"inbox_id": "first"},
    ],
    ids=lambda p: "-".join(f"{k}={v}"[:30] for k, v in p.items()),
)
async def test_invalid_list_parameters_are_400(server, db, params):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    await conversations(server, inbox, 1)
    async with server.client(agent.token) as client:
        response = await client.get(LIST, params=params)
    assert response.status_code == 400, response.text
    assert "error" in response.json()


async def test_a_limit_above_the_maximum_is_clamped_not_refused(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    await conversations(server, inbox, 2)
    async with server.client(agent.token) as client:
        assert len(ids(await client.get(LIST, params={"limit": 100_000}))) == 2


async def test_one_conversation(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    ack = await customer_writes(server, inbox, email="ann@example.com")
    async with server.client(agent.token) as client:
        response = await client.get(f"{LIST}/{ack['conversation_id']}")
        missing = await client.get(f"{LIST}/{ack['conversation_id'] + 1}")
    assert response.status_code == 200, response.text
    conversation = response.json()
    assert CONVERSATION_FIELDS <= set(conversation)
    assert conversation["id"] == ack["conversation_id"]
    assert conversation["customer_id"] == ack["customer_id"]
    assert conversation["inbox_id"] == inbox.id
    assert conversation["status"] == "open"
    assert conversation["assignee_id"] is None
    assert missing.status_code == 404


async def test_patch_changes_the_status(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    [cid] = await conversations(server, inbox, 1)
    async with server.client(agent.token) as client:
        response = await client.patch(f"{LIST}/{cid}", json={"status": "resolved"})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "resolved"
        assert (await client.get(f"{LIST}/{cid}")).json()["status"] == "resolved"
        reopened = await client.patch(f"{LIST}/{cid}", json={"status": "open"})
        assert reopened.json()["status"] == "open"
        assert (await client.get(f"{LIST}/{cid}")).json()["status"] == "open"


async def test_patch_assigns_and_unassigns(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    colleague = await make_agent(db, inboxes=[inbox])
    [cid] = await conversations(server, inbox, 1)
    async with server.client(agent.token) as client:
        response = await client.patch(f"{LIST}/{cid}", json={"assignee_id": colleague.id})
        assert response.status_code == 200, response.text
        assert response.json()["assignee_id"] == colleague.id
        assert (await client.get(f"{LIST}/{cid}")).json()["assignee_id"] == colleague.id
        response = await client.patch(f"{LIST}/{cid}", json={"assignee_id": None})
        assert response.status_code == 200, response.text
        assert (await client.get(f"{LIST}/{cid}")).json()["assignee_id"] is None


async def test_patch_snoozes_until_a_time(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    [cid] = await conversations(server, inbox, 1)
    async with server.client(agent.token) as client:
        response = await client.patch(
            f"{LIST}/{cid}", json={"snoozed_until": "2031-03-01T09:30:00Z"}
        )
        assert response.status_code == 200, response.text
        shown = (await client.get(f"{LIST}/{cid}")).json()
    assert shown["status"] == "snoozed"
    assert shown["snoozed_until"].startswith("2031-03-01T09:30:00")


@pytest.mark.parametrize("status", ["pending", "snoozed"])
async def test_a_customer_writing_again_reopens_a_waiting_conversation(server, db, status):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    ack = await customer_writes(server, inbox, email="ann@example.com")
    cid = ack["conversation_id"]
    change = (
        {"snoozed_until": "2031-01-01T00:00:00Z"} if status == "snoozed" else {"status": status}
    )
    async with server.client(agent.token) as client:
        assert (await client.patch(f"{LIST}/{cid}", json=change)).json()["status"] == status
        again = await customer_writes(server, inbox, "Hello? Anyone?", email="ann@example.com")
        assert again["conversation_id"] == cid
        assert (await client.get(f"{LIST}/{cid}")).json()["status"] == "open"


@pytest.mark.parametrize(
    "change",
    [
        {"priority": "high"},
        {"status": "resolved", "customer_id": 1},
        {"status": "closed"},
        {"status": ""},
        {"status": 3},
        {"status": None},
        {"assignee_id": "jamie"},
        {"assignee_id": True},
        {"assignee_id": 9999},
        {"snoozed_until": "next tuesday"},
        {"snoozed_until": 1700000000},
    ],
    ids=lambda c: ",".join(f"{k}={v!r}" for k, v in c.items()),
)
async def test_a_refused_patch_is_400_and_changes_nothing(server, db, change):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    [cid] = await conversations(server, inbox, 1)
    async with server.client(agent.token) as client:
        before = (await client.get(f"{LIST}/{cid}")).json()
        response = await client.patch(f"{LIST}/{cid}", json=change)
        after = (await client.get(f"{LIST}/{cid}")).json()
    assert response.status_code == 400, response.text
    assert "error" in response.json()
    assert after == before


@pytest.mark.parametrize("body", [[], "resolved", 5])
async def test_a_patch_body_that_is_not_an_object_is_400(server, db, body):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    [cid] = await conversations(server, inbox, 1)
    async with server.client(agent.token) as client:
        response = await client.patch(f"{LIST}/{cid}", json=body)
    assert response.status_code == 400, response.text


async def test_an_agent_outside_the_conversations_inboxes_cannot_be_assigned(server, db):
    inbox, elsewhere = await make_inbox(db, "api"), await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    outsider = await make_agent(db, inboxes=[elsewhere])
    [cid] = await conversations(server, inbox, 1)
    async with server.client(agent.token) as client:
        response = await client.patch(f"{LIST}/{cid}", json={"assignee_id": outsider.id})
        assert response.status_code == 400, response.text
        assert (await client.get(f"{LIST}/{cid}")).json()["assignee_id"] is None
        assert ids(await client.get(LIST, params={"assignee": str(outsider.id)})) == []


async def test_messages_come_oldest_first_with_pages(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    first = await customer_writes(server, inbox, "one", email="ann@example.com")
    cid = first["conversation_id"]
    await customer_writes(server, inbox, "two", email="ann@example.com")
    async with server.client(agent.token) as client:
        reply = await client.post(f"{LIST}/{cid}/messages", json={"text": "three"})
        assert reply.status_code == 201, reply.text
        await customer_writes(server, inbox, "four", email="ann@example.com")
        messages = await messages_of(client, cid)
        pages = await walk(client, f"{LIST}/{cid}/messages", limit=3)
    assert [m["text"] for m in messages] == ["one", "two", "three", "four"]
    assert [m["direction"] for m in messages] == ["in", "in", "out", "in"]
    assert all(MESSAGE_FIELDS <= set(m) for m in messages)
    assert [m["created_at"] for m in messages] == sorted(m["created_at"] for m in messages)
    assert [[m["text"] for m in page] for page in pages] == [["one", "two", "three"], ["four"]]


async def test_a_reply_is_queued_then_sent_on_an_api_inbox_without_callback(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    ack = await customer_writes(server, inbox, "Is my parcel lost?", email="ann@example.com")
    cid = ack["conversation_id"]
    async with server.client(agent.token) as client:
        response = await client.post(
            f"{LIST}/{cid}/messages", json={"text": "It is on its way.", "private": False}
        )
        assert response.status_code == 201, response.text
        reply = response.json()
        assert MESSAGE_FIELDS <= set(reply)
        assert (reply["direction"], reply["author"], reply["status"]) == ("out", "agent", "queued")
        assert reply["private"] is False
        assert reply["text"] == "It is on its way."
        assert (reply["conversation_id"], reply["customer_id"]) == (cid, ack["customer_id"])
        assert (reply["inbox_id"], reply["channel"]) == (inbox.id, "api")
        final = await wait_for_message(client, cid, reply["id"], lambda m: m["status"] != "queued")
    assert final["status"] == "sent"


async def test_a_private_note_is_never_sent(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    cid = (await customer_writes(server, inbox, email="ann@example.com"))["conversation_id"]
    async with server.client(agent.token) as client:
        response = await client.post(
            f"{LIST}/{cid}/messages", json={"text": "VIP, handle with care", "private": True}
        )
        assert response.status_code == 201, response.text
        note = response.json()
        assert note["private"] is True
        assert note["status"] == "received"
        assert (note["direction"], note["author"]) == ("out", "agent")
        # A reply queued after the note goes out; once it has, the note is still untouched.
        reply = (await client.post(f"{LIST}/{cid}/messages", json={"text": "Hello!"})).json()
        sent = await wait_for_message(client, cid, reply["id"], lambda m: m["status"] == "sent")
        assert sent["status"] == "sent"
        [shown] = [m for m in await messages_of(client, cid) if m["id"] == note["id"]]
    assert shown["status"] == "received"
    assert shown["private"] is True


@pytest.mark.parametrize(
    "body",
    [
        {"text": ""},
        {"text": "   \n "},
        {},
        {"text": 42},
        {"text": "hi", "private": "yes"},
        {"text": "x" * 100_001},
    ],
    ids=["empty", "blank", "missing", "number", "private-string", "over-limit"],
)
async def test_a_reply_that_cannot_be_sent_is_refused_and_stores_nothing(server, db, body):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    cid = (await customer_writes(server, inbox, email="ann@example.com"))["conversation_id"]
    async with server.client(agent.token) as client:
        response = await client.post(f"{LIST}/{cid}/messages", json=body)
        assert response.status_code in (400, 413), response.text
        assert len(await messages_of(client, cid)) == 1


async def test_replying_through_an_inbox_the_agent_does_not_belong_to_is_404(server, db):
    inbox, other = await make_inbox(db, "api"), await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    cid = (await customer_writes(server, inbox, email="ann@example.com"))["conversation_id"]
    async with server.client(agent.token) as client:
        for inbox_id in (other.id, other.id + 100):
            response = await client.post(
                f"{LIST}/{cid}/messages", json={"text": "hello", "inbox_id": inbox_id}
            )
            assert response.status_code == 404, (inbox_id, response.text)
        assert len(await messages_of(client, cid)) == 1


async def test_a_reply_goes_on_the_channel_the_customer_last_used_unless_one_is_picked(server, db):
    shop, app = await make_inbox(db, "api"), await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[shop, app])
    first = await customer_writes(server, shop, "from the shop", email="ann@example.com")
    second = await customer_writes(server, app, "now from the app", email="ann@example.com")
    cid = first["conversation_id"]
    assert second["conversation_id"] == cid
    async with server.client(agent.token) as client:
        default = await client.post(f"{LIST}/{cid}/messages", json={"text": "hi"})
        picked = await client.post(
            f"{LIST}/{cid}/messages", json={"text": "hi", "inbox_id": shop.id}
        )
    assert default.status_code == picked.status_code == 201, (default.text, picked.text)
    assert default.json()["inbox_id"] == app.id
    assert picked.json()["inbox_id"] == shop.id


def signature(token: str, body: bytes) -> str:
    return "sha256=" + hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


async def test_an_api_inbox_with_a_callback_receives_the_signed_reply(server, db):
    with CallbackReceiver() as receiver:
        inbox = await make_inbox(db, "api", config={"callback_url": receiver.url})
        agent = await make_agent(db, inboxes=[inbox])
        ack = await customer_writes(server, inbox, "Where is it?", email="ann@example.com")
        cid = ack["conversation_id"]
        async with server.client(agent.token) as client:
            note = await client.post(
                f"{LIST}/{cid}/messages", json={"text": "internal only", "private": True}
            )
            assert note.status_code == 201, note.text
            response = await client.post(f"{LIST}/{cid}/messages", json={"text": "On its way!"})
            assert response.status_code == 201, response.text
            reply = response.json()
            [delivery] = await receiver.wait(1)
            final = await wait_for_message(
                client, cid, reply["id"], lambda m: m["status"] not in ("queued",)
            )

    assert delivery.path == "/hooks/inbox"
    assert delivery.headers["content-type"].startswith("application/json")
    assert hmac.compare_digest(
        delivery.headers["x-inbox-signature"], signature(inbox.token, delivery.body)
    )
    sent = delivery.json()
    assert MESSAGE_FIELDS <= set(sent)
    assert sent["id"] == reply["id"]
    assert sent["text"] == "On its way!"
    assert (sent["direction"], sent["author"], sent["private"]) == ("out", "agent", False)
    assert (sent["conversation_id"], sent["customer_id"]) == (cid, ack["customer_id"])
    assert final["status"] in ("sent", "delivered")
    # The private note never left.
    assert len(receiver.deliveries) == 1


async def test_a_callback_that_fails_is_retried_each_time_signed(server, db):
    with CallbackReceiver(statuses=[503, 500]) as receiver:
        inbox = await make_inbox(db, "api", config={"callback_url": receiver.url})
        agent = await make_agent(db, inboxes=[inbox])
        cid = (await customer_writes(server, inbox, email="ann@example.com"))["conversation_id"]
        async with server.client(agent.token) as client:
            reply = (await client.post(f"{LIST}/{cid}/messages", json={"text": "Hi"})).json()
            deliveries = await receiver.wait(3)
            final = await wait_for_message(
                client, cid, reply["id"], lambda m: m["status"] in ("sent", "delivered")
            )
    assert len(deliveries) == 3
    # The same message each time, so the integrator can drop repeats by its id.
    assert {(d.json()["id"], d.json()["text"]) for d in deliveries} == {(reply["id"], "Hi")}
    for d in deliveries:
        assert d.headers["x-inbox-signature"] == signature(inbox.token, d.body)
    assert final["status"] in ("sent", "delivered")


async def test_a_callback_that_keeps_refusing_ends_failed(server, db):
    with CallbackReceiver(statuses=[410] * 20) as receiver:
        inbox = await make_inbox(db, "api", config={"callback_url": receiver.url})
        agent = await make_agent(db, inboxes=[inbox])
        cid = (await customer_writes(server, inbox, email="ann@example.com"))["conversation_id"]
        async with server.client(agent.token) as client:
            reply = (await client.post(f"{LIST}/{cid}/messages", json={"text": "Hi"})).json()
            final = await wait_for_message(
                client, cid, reply["id"], lambda m: m["status"] == "failed"
            )
    assert final["status"] == "failed"
    assert receiver.deliveries
