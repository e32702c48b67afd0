"""Live updates: the agent websocket and the event log a reconnecting client catches up from."""

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from inbox import agents
from tests.factories import make_agent, make_inbox


async def post(server, inbox, external_id, text, email="a@example.org"):
    async with server.client(inbox.token) as client:
        response = await client.post(
            f"/api/v1/inboxes/{inbox.id}/messages",
            json={"external_id": external_id, "customer": {"email": email}, "text": text},
        )
    assert response.status_code in (200, 201), response.text
    return response.json()


async def frames(socket, wanted_type, count, timeout=3.0):
    """Read frames until `count` of `wanted_type` arrived."""
    found = []
    async with asyncio.timeout(timeout):
        while len(found) < count:
            frame = json.loads(await socket.recv())
            if frame["type"] == wanted_type:
                found.append(frame)
    return found


async def test_event_log_resync_with_since(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    await post(server, inbox, "1", "first")
    async with server.client(agent.token) as client:
        everything = (await client.get("/api/v1/events", params={"since": 0})).json()
        seqs = [e["seq"] for e in everything["items"]]
        assert seqs == sorted(seqs) and len(seqs) >= 2
        await post(server, inbox, "2", "second")
        missed = (await client.get("/api/v1/events", params={"since": seqs[-1]})).json()
        paged = (await client.get("/api/v1/events", params={"since": 0, "limit": 1})).json()
    assert [e["type"] for e in missed["items"]] == ["message.created", "conversation.updated"]
    assert missed["items"][0]["payload"]["text"] == "second"
    assert all(e["seq"] > seqs[-1] for e in missed["items"])
    assert len(paged["items"]) == 1 and paged["next"] == paged["items"][0]["seq"]


async def test_a_webhook_message_reaches_the_agents_socket(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    async with connect(f"{server.ws_url}/ws?token={agent.token}") as socket:
        await asyncio.sleep(0.05)
        await post(server, inbox, "live-1", "where is my parcel?")
        [frame] = await frames(socket, "message.created", 1, timeout=1.0)
    assert frame["payload"]["text"] == "where is my parcel?"
    assert set(frame) == {"seq", "type", "payload"}


async def test_agents_of_other_inboxes_hear_nothing(server, db):
    theirs = await make_inbox(db, "api")
    mine = await make_inbox(db, "api")
    outsider = await make_agent(db, inboxes=[mine])
    async with connect(f"{server.ws_url}/ws?token={outsider.token}") as socket:
        await asyncio.sleep(0.05)
        await post(server, theirs, "secret-1", "private matter", email="x@example.org")
        await post(server, mine, "mine-1", "hello mine", email="y@example.org")
        received = await frames(socket, "message.created", 1)
    assert [f["payload"]["text"] for f in received] == ["hello mine"]


async def test_reconnecting_with_since_misses_nothing_and_repeats_nothing(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    url = f"{server.ws_url}/ws?token={agent.token}"
    async with connect(url) as socket:
        await asyncio.sleep(0.05)
        await post(server, inbox, "before", "before the drop")
        [seen] = await frames(socket, "message.created", 1)
    last_seq = seen["seq"]
    await post(server, inbox, "gap-1", "while offline 1")
    await post(server, inbox, "gap-2", "while offline 2")
    async with connect(f"{url}&since={last_seq}") as socket:
        await asyncio.sleep(0.05)
        await post(server, inbox, "after", "after reconnect")
        texts = [f["payload"]["text"] for f in await frames(socket, "message.created", 3)]
        try:
            extra = await frames(socket, "message.created", 1, timeout=0.3)
        except TimeoutError:
            extra = []
    assert texts == ["while offline 1", "while offline 2", "after reconnect"]
    assert extra == []


async def test_sockets_need_an_agent_token(server, db):
    inbox = await make_inbox(db, "api")
    for token in (inbox.token, "agt_forged", ""):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"{server.ws_url}/ws?token={token}"):
                pass
        assert refused.value.response.status_code == 403


async def test_a_password_change_closes_the_agents_open_sockets(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, "leaving@support.example", inboxes=[inbox])
    colleague = await make_agent(db, inboxes=[inbox])
    async with (
        connect(f"{server.ws_url}/ws?token={agent.token}") as revoked,
        connect(f"{server.ws_url}/ws?token={colleague.token}") as kept,
    ):
        await agents.set_password(db, "leaving@support.example", "a new long password")
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(5):
                while True:
                    await revoked.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4000
        await post(server, inbox, "after", "still here")
        assert len(await frames(kept, "message.created", 1)) == 1


async def test_a_passing_notice_that_arrives_during_a_replay_is_not_dropped():
    # A socket that reconnects with since= replays the log first; live frames wait meanwhile
    # and those the replay already sent are dropped. Typing and presence notices (seq 0) are
    # in no log: they must come through, or a colleague opening a busy inbox is never seen.
    from inbox.access import Viewer
    from web.bus import BusEvent
    from web.live import Fanout, Listener

    fanout = Fanout()
    listener = Listener(Viewer(1, False, frozenset({7})), writer=None)
    fanout.add(listener)
    replayed = BusEvent(5, "message.created", frozenset({7}), b'{"seq":5}')
    notice = BusEvent(0, "presence", frozenset({7}), b'{"seq":0,"type":"presence"}')
    newer = BusEvent(6, "message.created", frozenset({7}), b'{"seq":6}')
    for event in (replayed, notice, newer):
        fanout.deliver(event)
    fanout.go_live(listener, last=5)
    received = [listener.queue.get_nowait() for _ in range(listener.queue.qsize())]
    assert received == [notice.frame, newer.frame]
