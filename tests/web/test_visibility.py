"""Visibility is per inbox, per message: an agent sees only what reached inboxes they belong to,
everywhere (conversations, customers, timelines, merges, suggestions, search, events), and the
rest is a 404 that looks exactly like something that does not exist. Admins see everything."""

from __future__ import annotations

import pytest

from tests.factories import make_agent, make_inbox
from tests.web.support import arrives, customer_writes, messages_of

API = "/api/v1"


@pytest.fixture
async def world(server, db, settings):
    """Two shops' inboxes; Alice works `north`, Bob works `south`; an admin works none."""
    north, south = await make_inbox(db, "api"), await make_inbox(db, "api")
    south_chat = await make_inbox(db, "webchat")
    alice = await make_agent(db, "alice@support.example", inboxes=[north])
    bob = await make_agent(db, "bob@support.example", inboxes=[south, south_chat])
    admin = await make_agent(db, "root@support.example", admin=True)
    # Nora writes only to north, Sam only to south.
    nora = await customer_writes(
        server, north, "Where is my kettle?", name="Nora North", email="nora@example.com"
    )
    sam = await customer_writes(
        server, south, "Refund for the zeppelin please", name="Sam South", email="sam@example.com"
    )
    # Sam's friend in south, so Bob has a merge and a suggestion to work with.
    pal = await customer_writes(
        server, south, "Second account", name="Sam Pal", phone="010-4444-5555"
    )
    chat = await arrives(
        db,
        settings,
        south_chat,
        "I am Sam, on the chat",
        webchat="visitor-9",
        unverified_email="sam@example.com",
    )
    return {
        "north": north,
        "south": south,
        "alice": alice,
        "bob": bob,
        "admin": admin,
        "nora": nora,
        "sam": sam,
        "pal": pal,
        "chat": chat,
    }


async def test_an_outsider_gets_404_for_every_view_of_a_conversation(server, world):
    sam = world["sam"]
    cid = sam["conversation_id"]
    async with server.client(world["alice"].token) as client:
        responses = [
            await client.get(f"{API}/conversations/{cid}"),
            await client.get(f"{API}/conversations/{cid}/messages"),
            await client.patch(f"{API}/conversations/{cid}", json={"status": "resolved"}),
            await client.patch(
                f"{API}/conversations/{cid}", json={"assignee_id": world["alice"].id}
            ),
            await client.post(f"{API}/conversations/{cid}/messages", json={"text": "Hi from N"}),
            await client.post(
                f"{API}/conversations/{cid}/messages", json={"text": "note", "private": True}
            ),
            await client.post(
                f"{API}/conversations/{cid}/messages",
                json={"text": "Hi", "inbox_id": world["north"].id},
            ),
        ]
        unknown = await client.get(f"{API}/conversations/{cid + 1000}")
    for response in responses:
        assert response.status_code == 404, (response.request.url, response.text)
        # Indistinguishable from a conversation that does not exist.
        assert response.json() == unknown.json()
    async with server.client(world["bob"].token) as client:
        conversation = (await client.get(f"{API}/conversations/{cid}")).json()
        assert conversation["status"] == "open"
        assert conversation["assignee_id"] is None
        assert [m["text"] for m in await messages_of(client, cid)] == [
            "Refund for the zeppelin please"
        ]


async def test_an_outsider_gets_404_for_a_customer_and_their_timeline(server, world):
    sam = world["sam"]["customer_id"]
    async with server.client(world["alice"].token) as client:
        assert (await client.get(f"{API}/customers/{sam}")).status_code == 404
        assert (await client.get(f"{API}/customers/{sam}/timeline")).status_code == 404
    async with server.client(world["bob"].token) as client:
        assert (await client.get(f"{API}/customers/{sam}")).status_code == 200
        assert (await client.get(f"{API}/customers/{sam}/timeline")).status_code == 200


async def test_lists_leave_out_what_the_agent_cannot_see(server, world):
    nora, sam, pal = world["nora"], world["sam"], world["pal"]
    async with server.client(world["alice"].token) as client:
        conversations = (await client.get(f"{API}/conversations")).json()["items"]
        customers = (await client.get(f"{API}/customers")).json()["items"]
        by_status = (await client.get(f"{API}/conversations", params={"status": "open"})).json()
        none = (await client.get(f"{API}/conversations", params={"assignee": "none"})).json()
        own = await client.get(f"{API}/conversations", params={"inbox_id": world["north"].id})
        other = await client.get(f"{API}/conversations", params={"inbox_id": world["south"].id})
        named = (await client.get(f"{API}/customers", params={"q": "Sam"})).json()["items"]
    assert [c["id"] for c in conversations] == [nora["conversation_id"]]
    assert [c["id"] for c in by_status["items"]] == [nora["conversation_id"]]
    assert [c["id"] for c in none["items"]] == [nora["conversation_id"]]
    assert [c["id"] for c in customers] == [nora["customer_id"]]
    assert [c["id"] for c in own.json()["items"]] == [nora["conversation_id"]]
    assert other.status_code == 404, other.text
    assert named == []
    async with server.client(world["bob"].token) as client:
        conversations = (await client.get(f"{API}/conversations")).json()["items"]
    assert {c["id"] for c in conversations} == {
        sam["conversation_id"],
        pal["conversation_id"],
        world["chat"].conversation_id,
    }


async def test_search_finds_nothing_of_other_inboxes(server, world):
    async with server.client(world["alice"].token) as client:
        for q in ("zeppelin", "Sam", "sam@example.com", "refund"):
            response = await client.get(f"{API}/search", params={"q": q})
            assert response.status_code == 200, response.text
            assert response.json() == {"customers": [], "messages": []}, q
        own = (await client.get(f"{API}/search", params={"q": "kettle"})).json()
        assert [m["text"] for m in own["messages"]] == ["Where is my kettle?"]
    async with server.client(world["bob"].token) as client:
        found = (await client.get(f"{API}/search", params={"q": "zeppelin"})).json()
        assert [m["text"] for m in found["messages"]] == ["Refund for the zeppelin please"]


def mentions(event: dict, ids: dict[str, set[int]]) -> bool:
    payload = event["payload"]
    return (
        payload.get("inbox_id") in ids["inboxes"]
        or payload.get("conversation_id") in ids["conversations"]
        or (event["type"].startswith("conversation.") and payload.get("id") in ids["conversations"])
        or payload.get("customer_id") in ids["customers"]
        or payload.get("other_id") in ids["customers"]
        or payload.get("survivor_id") in ids["customers"]
        or payload.get("merged_id") in ids["customers"]
        or (event["type"].startswith("customer.") and payload.get("id") in ids["customers"])
    )


async def all_events(client) -> list[dict]:
    items, since = [], 0
    while True:
        response = await client.get(f"{API}/events", params={"since": since})
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        if page["next"] is None:
            return items
        since = page["next"]


async def test_events_of_other_inboxes_are_not_delivered(server, world):
    south = {
        "inboxes": {world["south"].id},
        "conversations": {
            world["sam"]["conversation_id"],
            world["pal"]["conversation_id"],
            world["chat"].conversation_id,
        },
        "customers": {
            world["sam"]["customer_id"],
            world["pal"]["customer_id"],
            world["chat"].customer_id,
        },
    }
    async with server.client(world["bob"].token) as client:
        merged = await client.post(
            f"{API}/customers/{world['sam']['customer_id']}/merge",
            json={"other_id": world["pal"]["customer_id"]},
        )
        assert merged.status_code == 200, merged.text
        reply = await client.post(
            f"{API}/conversations/{world['sam']['conversation_id']}/messages",
            json={"text": "Refund on its way"},
        )
        assert reply.status_code == 201, reply.text
    async with server.client(world["alice"].token) as client:
        seen = await all_events(client)
    assert seen, "Alice should see the events of her own inbox"
    assert [e for e in seen if mentions(e, south)] == []
    async with server.client(world["admin"].token) as client:
        everything = await all_events(client)
    assert [e for e in everything if mentions(e, south)]
    types = {e["type"] for e in everything if mentions(e, south)}
    assert {"message.created", "customer.merged"} <= types


async def test_an_outsider_can_neither_merge_nor_undo_nor_decide(server, world):
    bob, alice = world["bob"], world["alice"]
    sam, pal, nora = (world[k]["customer_id"] for k in ("sam", "pal", "nora"))
    async with server.client(bob.token) as client:
        merge = await client.post(f"{API}/customers/{sam}/merge", json={"other_id": pal})
        assert merge.status_code == 200, merge.text
        merge_id = merge.json()["merge_id"]
        [suggestion] = (await client.get(f"{API}/merge-suggestions")).json()["items"]
    async with server.client(alice.token) as client:
        assert (await client.post(f"{API}/merges/{merge_id}/undo")).status_code == 404
        assert (await client.get(f"{API}/merge-suggestions")).json()["items"] == []
        for verb in ("accept", "reject"):
            decided = await client.post(f"{API}/merge-suggestions/{suggestion['id']}/{verb}")
            assert decided.status_code == 404, decided.text
        # Merging someone she can see with someone she cannot, either way round.
        into_own = await client.post(f"{API}/customers/{nora}/merge", json={"other_id": sam})
        into_theirs = await client.post(f"{API}/customers/{sam}/merge", json={"other_id": nora})
        assert into_own.status_code == 404, into_own.text
        assert into_theirs.status_code == 404, into_theirs.text
        assert [c["id"] for c in (await client.get(f"{API}/customers")).json()["items"]] == [nora]
    async with server.client(bob.token) as client:
        still = (await client.get(f"{API}/merge-suggestions")).json()["items"]
        assert [s["id"] for s in still] == [suggestion["id"]]
        assert {c["id"] for c in (await client.get(f"{API}/customers")).json()["items"]} == {
            sam,
            world["chat"].customer_id,
        }


async def test_a_conversation_across_two_inboxes_shows_each_agent_only_their_messages(server, db):
    north, south = await make_inbox(db, "api"), await make_inbox(db, "api")
    alice = await make_agent(db, inboxes=[north])
    bob = await make_agent(db, inboxes=[south])
    both = await make_agent(db, inboxes=[north, south])
    admin = await make_agent(db, admin=True)
    first = await customer_writes(server, north, "north: my kettle leaks", email="kai@example.com")
    second = await customer_writes(
        server, south, "south: and the zeppelin too", email="kai@example.com"
    )
    cid, customer = first["conversation_id"], first["customer_id"]
    assert second["conversation_id"] == cid
    async with server.client(bob.token) as client:
        reply = await client.post(
            f"{API}/conversations/{cid}/messages", json={"text": "south: bob answers"}
        )
        note = await client.post(
            f"{API}/conversations/{cid}/messages",
            json={"text": "south: bob's private note", "private": True},
        )
        assert reply.status_code == note.status_code == 201, (reply.text, note.text)
        assert reply.json()["inbox_id"] == note.json()["inbox_id"] == south.id

    async def seen_by(agent) -> dict[str, list[str]]:
        async with server.client(agent.token) as client:
            conversation = await client.get(f"{API}/conversations/{cid}")
            assert conversation.status_code == 200, conversation.text
            timeline = await client.get(f"{API}/customers/{customer}/timeline")
            found = await client.get(f"{API}/search", params={"q": "zeppelin"})
            return {
                "messages": [m["text"] for m in await messages_of(client, cid)],
                "timeline": [m["text"] for m in timeline.json()["items"]],
                "search": [m["text"] for m in found.json()["messages"]],
                "events": [
                    e["payload"]["text"]
                    for e in await all_events(client)
                    if e["type"] == "message.created"
                ],
            }

    north_only = ["north: my kettle leaks"]
    south_only = ["south: and the zeppelin too", "south: bob answers", "south: bob's private note"]
    assert await seen_by(alice) == {
        "messages": north_only,
        "timeline": north_only,
        "search": [],
        "events": north_only,
    }
    assert await seen_by(bob) == {
        "messages": south_only,
        "timeline": south_only,
        "search": ["south: and the zeppelin too"],
        "events": south_only,
    }
    for agent in (both, admin):
        view = await seen_by(agent)
        assert view["messages"] == view["timeline"] == view["events"] == north_only + south_only
        assert view["search"] == ["south: and the zeppelin too"]


async def test_a_reply_in_a_shared_conversation_goes_through_the_agents_own_inbox(server, db):
    north, south = await make_inbox(db, "api"), await make_inbox(db, "api")
    alice = await make_agent(db, inboxes=[north])
    bob = await make_agent(db, inboxes=[south])
    first = await customer_writes(server, north, "north first", email="kai@example.com")
    await customer_writes(server, south, "south last", email="kai@example.com")
    cid = first["conversation_id"]
    async with server.client(alice.token) as client:
        # The customer wrote last on south, which Alice cannot use: she answers on north.
        response = await client.post(
            f"{API}/conversations/{cid}/messages", json={"text": "alice replies"}
        )
        assert response.status_code == 201, response.text
        assert response.json()["inbox_id"] == north.id
    async with server.client(bob.token) as client:
        assert "alice replies" not in [m["text"] for m in await messages_of(client, cid)]


async def test_admins_see_everything(server, world):
    cids = {world[k]["conversation_id"] for k in ("nora", "sam", "pal")}
    cids.add(world["chat"].conversation_id)
    async with server.client(world["admin"].token) as client:
        conversations = (await client.get(f"{API}/conversations")).json()["items"]
        assert {c["id"] for c in conversations} == cids
        for cid in cids:
            assert (await client.get(f"{API}/conversations/{cid}")).status_code == 200
            assert len(await messages_of(client, cid)) == 1
        for inbox in (world["north"], world["south"]):
            listed = await client.get(f"{API}/conversations", params={"inbox_id": inbox.id})
            assert listed.status_code == 200 and listed.json()["items"], listed.text
        sam = world["sam"]["customer_id"]
        assert (await client.get(f"{API}/customers/{sam}")).status_code == 200
        assert (await client.get(f"{API}/customers/{sam}/timeline")).json()["items"]
        assert len((await client.get(f"{API}/customers")).json()["items"]) == 4
        assert (await client.get(f"{API}/merge-suggestions")).json()["items"]
        found = (await client.get(f"{API}/search", params={"q": "zeppelin"})).json()
        assert [m["text"] for m in found["messages"]] == ["Refund for the zeppelin please"]
        reply = await client.post(
            f"{API}/conversations/{world['sam']['conversation_id']}/messages",
            json={"text": "An admin answers"},
        )
        assert reply.status_code == 201, reply.text


async def test_an_agent_without_inboxes_sees_nothing(server, db, world):
    loner = await make_agent(db, "loner@support.example")
    async with server.client(loner.token) as client:
        for path in ("conversations", "customers", "merge-suggestions"):
            assert (await client.get(f"{API}/{path}")).json()["items"] == [], path
        assert (await client.get(f"{API}/events", params={"since": 0})).json()["items"] == []
        found = (await client.get(f"{API}/search", params={"q": "kettle"})).json()
        assert found == {"customers": [], "messages": []}
        cid = world["nora"]["conversation_id"]
        assert (await client.get(f"{API}/conversations/{cid}")).status_code == 404
