"""Collision notices over the agent websocket: who has a conversation open, who is typing in it.

A tab says `viewing`, `typing` or `left` on its own /ws; the agents of the conversation's inboxes
hear it as a frame without a seq. Agents who may not see the conversation say nothing by it
and hear nothing of it.
"""

import asyncio
import json

from websockets.asyncio.client import connect

from tests.factories import make_agent, make_inbox
from tests.web.test_live import post


async def notices(socket, wanted_type, timeout=2.0):
    """The next frame of `wanted_type` (other frames are skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await socket.recv())
            if frame["type"] == wanted_type:
                return frame


async def nothing_of(socket, wanted_type, within=0.4):
    """True when no `wanted_type` frame arrives for a while."""
    try:
        await notices(socket, wanted_type, timeout=within)
    except TimeoutError:
        return True
    return False


async def say(socket, **frame):
    await socket.send(json.dumps(frame))


async def _team(db, server):
    inbox = await make_inbox(db, "api")
    ada = await make_agent(db, "ada@support.example", name="Ada Lovelace", inboxes=[inbox])
    bo = await make_agent(db, "bo@support.example", name="Bo Kim", inboxes=[inbox])
    message = await post(server, inbox, "p-1", "Where is my order?")
    return inbox, ada, bo, message["conversation_id"]


async def test_an_agent_opening_a_conversation_is_seen_by_the_other_agents(server, db):
    _, ada, bo, conversation = await _team(db, server)
    async with (
        connect(f"{server.ws_url}/ws?token={ada.token}") as ada_socket,
        connect(f"{server.ws_url}/ws?token={bo.token}") as bo_socket,
    ):
        await say(ada_socket, type="viewing", conversation_id=conversation, tab="ada-1", hello=True)
        frame = await notices(bo_socket, "presence")
    assert frame["seq"] == 0  # a passing notice: never stored, never replayed
    assert frame["payload"] == {
        "conversation_id": conversation,
        "agent_id": ada.id,
        "agent_name": "Ada Lovelace",
        "agent_avatar": None,
        "state": "viewing",
        "tab": "ada-1",
        "hello": True,
    }


async def test_a_closed_socket_says_its_agent_left(server, db):
    _, ada, bo, conversation = await _team(db, server)
    async with connect(f"{server.ws_url}/ws?token={bo.token}") as bo_socket:
        async with connect(f"{server.ws_url}/ws?token={ada.token}") as ada_socket:
            await say(ada_socket, type="viewing", conversation_id=conversation, tab="t1")
            assert (await notices(bo_socket, "presence"))["payload"]["state"] == "viewing"
        frame = await notices(bo_socket, "presence")
    assert frame["payload"]["state"] == "left"
    assert (frame["payload"]["agent_id"], frame["payload"]["tab"]) == (ada.id, "t1")


async def test_typing_names_the_agent_and_says_whether_it_is_a_private_note(server, db):
    _, ada, bo, conversation = await _team(db, server)
    async with (
        connect(f"{server.ws_url}/ws?token={ada.token}") as ada_socket,
        connect(f"{server.ws_url}/ws?token={bo.token}") as bo_socket,
    ):
        await say(ada_socket, type="typing", conversation_id=conversation, private=True)
        frame = await notices(bo_socket, "typing")
    assert frame["payload"]["author"] == "agent"
    assert frame["payload"]["agent_id"] == ada.id
    assert frame["payload"]["agent_name"] == "Ada Lovelace"
    assert frame["payload"]["private"] is True


async def test_agents_outside_the_inbox_neither_hear_nor_announce(server, db):
    _, ada, _, conversation = await _team(db, server)
    elsewhere = await make_inbox(db, "api", "Another team")
    outsider = await make_agent(db, "eve@support.example", name="Eve", inboxes=[elsewhere])
    async with (
        connect(f"{server.ws_url}/ws?token={ada.token}") as ada_socket,
        connect(f"{server.ws_url}/ws?token={outsider.token}") as outsider_socket,
    ):
        await say(outsider_socket, type="viewing", conversation_id=conversation, tab="x")
        await say(outsider_socket, type="typing", conversation_id=conversation)
        assert await nothing_of(ada_socket, "presence")
        assert await nothing_of(ada_socket, "typing", within=0.1)
        await say(ada_socket, type="viewing", conversation_id=conversation, tab="a")
        assert await nothing_of(outsider_socket, "presence")


async def test_malformed_notices_are_ignored_and_the_socket_stays_live(server, db):
    inbox, ada, bo, conversation = await _team(db, server)
    async with (
        connect(f"{server.ws_url}/ws?token={ada.token}") as ada_socket,
        connect(f"{server.ws_url}/ws?token={bo.token}") as bo_socket,
    ):
        for text in (
            "not json",
            "[1, 2]",
            json.dumps({"type": "viewing"}),
            json.dumps({"type": "viewing", "conversation_id": "1"}),
            json.dumps({"type": "viewing", "conversation_id": conversation, "tab": "<b>"}),
            json.dumps({"type": "shout", "conversation_id": conversation}),
            json.dumps({"type": "viewing", "conversation_id": 999_999}),
        ):
            await ada_socket.send(text)
        assert await nothing_of(bo_socket, "presence")
        await post(server, inbox, "p-2", "Still there?")
        frame = await notices(ada_socket, "message.created")
    assert frame["payload"]["text"] == "Still there?"


async def test_a_flood_of_notices_is_cut_off(server, db):
    _, ada, bo, conversation = await _team(db, server)
    async with (
        connect(f"{server.ws_url}/ws?token={ada.token}") as ada_socket,
        connect(f"{server.ws_url}/ws?token={bo.token}") as bo_socket,
    ):
        for _ in range(100):
            await say(ada_socket, type="viewing", conversation_id=conversation, tab="f")
        heard = 0
        while not await nothing_of(bo_socket, "presence", within=0.5):
            heard += 1
    assert 1 <= heard <= 30
