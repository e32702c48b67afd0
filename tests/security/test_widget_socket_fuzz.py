"""The chat widget's websocket under hostile frames: arbitrary JSON, message frames with junk and
with another visitor's ids, malformed text, binary, oversized and deeply nested frames. Each
frame gets an `ack` or an `error` frame (never a crashed socket), an invalid frame stores
nothing, and neither the fuzzing visitor nor a bystander on the same inbox ever hears about a
conversation that is not theirs."""

from __future__ import annotations

import asyncio
import json
from contextlib import suppress
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from tests.connectors.test_webchat import (
    SITE,
    frame,
    inbox,  # noqa: F401 - fixture used by name
    posted,
    widget_socket,
)
from tests.security.conftest import stored
from tests.security.test_fuzz import json_values
from web.widget import MAX_BODY

FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
ALICE, BOB = "a" * 16 + "-alice", "b" * 16 + "-bob"
QUIET = 0.05  # how long a socket that must stay silent is listened to, per frame


@pytest.fixture
async def pair(server, inbox):
    """Alice and Bob each chat on the same widget; Bob's socket listens throughout."""
    alice = await posted(server, inbox, ALICE, "Alice's first message")
    bob = await posted(server, inbox, BOB, "Bob's private message")
    async with widget_socket(server, inbox, BOB) as bob_ws:
        await frame(bob_ws)  # hello
        yield {"alice": alice, "bob": bob, "bob_ws": bob_ws}


def _message_frames(bob: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Message, read and typing frames whose fields may be junk or point at Bob's records."""
    theirs = st.sampled_from([bob["conversation_id"], bob["message_id"], bob["customer_id"], BOB])
    value = st.text(max_size=30) | theirs | json_values
    return st.fixed_dictionaries(
        {"type": st.sampled_from(["message", "read", "typing", "Message", ""]) | value},
        optional={
            "id": st.from_regex(r"[a-z0-9-]{1,12}", fullmatch=True) | value,
            "text": st.text(min_size=1, max_size=60) | value,
            "message_id": theirs | value,
            "conversation_id": theirs | value,
            "visitor": theirs | value,
            "user_id": value,
            "signature": value,
            "name": value,
            "email": value,
        },
    )


async def _answer(ws: Any) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The ack or error for the frame just sent (None for typing/read, which answer nothing
    when valid), plus every frame that came with it."""
    seen: list[dict[str, Any]] = []
    with suppress(TimeoutError):
        while True:
            got = await frame(ws, timeout=1.0)
            seen.append(got)
            if got.get("type") in ("ack", "error"):
                return got, seen
    return None, seen


async def _silent(ws: Any) -> list[Any]:
    heard = []
    with suppress(TimeoutError):
        while True:
            heard.append(await asyncio.wait_for(ws.recv(), QUIET))
    return heard


async def _send_and_check(server, db, inbox, pair, payload: str | bytes) -> None:
    before = await stored(db)
    async with widget_socket(server, inbox, ALICE) as ws:
        hello = await frame(ws)
        assert hello["type"] == "hello"
        await ws.send(payload)
        try:
            answer, seen = await _answer(ws)
        except ConnectionClosed as closed:
            # The only acceptable hang-up is the protocol's own for an unacceptable frame.
            assert closed.rcvd is not None and closed.rcvd.code in (1003, 1007, 1009), closed
            answer, seen = None, []
    mine = pair["alice"]["conversation_id"]
    for got in seen:
        assert got.get("conversation_id", mine) == mine, got
        assert "Bob's private message" not in json.dumps(got)
    if answer is None or answer["type"] == "error":
        assert await stored(db) == before, answer
    else:
        assert answer["conversation_id"] == mine
    assert await _silent(pair["bob_ws"]) == []


@FUZZ
@given(data=st.data())
async def test_hostile_message_frames(server, db, inbox, pair, data):
    payload = data.draw(_message_frames(pair["bob"]) | json_values, label="frame")
    await _send_and_check(server, db, inbox, pair, json.dumps(payload))


@FUZZ
@given(raw=st.text(max_size=200) | st.binary(max_size=200))
async def test_arbitrary_text_and_binary_frames(server, db, inbox, pair, raw):
    await _send_and_check(server, db, inbox, pair, raw)


BIG = "x" * (MAX_BODY + 1)
EDGE_FRAMES = {
    "deep-array": "[" * 100_000,
    "deep-object": '{"a":' * 5_000 + "1" + "}" * 5_000,
    "deep-message-field": json.dumps({"type": "message", "id": "m-deep", "text": "hi"})[:-1]
    + ', "name": '
    + "[" * 1_000
    + "]" * 1_000
    + "}",
    "oversized-text": json.dumps({"type": "message", "id": "m-big", "text": BIG}),
    "oversized-junk": BIG,
    "unpaired-surrogate-escape": '{"type": "message", "id": "m-s", "text": "\\ud800"}',
    # Found by the fuzzing: the error frame echoed this id, could not encode it, and the
    # socket died with 4500 Internal Server Error.
    "unpaired-surrogate-id": '{"type": "message", "id": "\\ud800"}',
    "nan": '{"type": "message", "id": "m-nan", "text": NaN}',
    "huge-number": '{"type": "read", "message_id": 1' + "0" * 5_000 + "}",
    "read-bobs-message": None,  # filled in with Bob's real message id
    "bob-as-visitor": json.dumps({"type": "message", "id": "m-bob", "text": "hi", "visitor": BOB}),
    "nul-bytes": '{"type": "message", "id": "m-nul", "text": "a\\u0000b"}',
    "binary-json": b'{"type": "message", "id": "m-bin", "text": "hi"}',
}


@pytest.mark.parametrize("name", list(EDGE_FRAMES))
async def test_edge_frames(server, db, inbox, pair, name):
    payload = EDGE_FRAMES[name]
    if name == "read-bobs-message":
        payload = json.dumps({"type": "read", "message_id": pair["bob"]["message_id"]})
    await _send_and_check(server, db, inbox, pair, payload)


async def test_a_valid_frame_is_acknowledged_into_the_visitors_own_conversation(
    server,
    db,
    inbox,
    pair,
):
    """The same path, not refusing everything: a proper frame is stored where it belongs."""
    async with widget_socket(server, inbox, ALICE, origin=SITE) as ws:
        await frame(ws)
        await ws.send(json.dumps({"type": "message", "id": "m-ok", "text": "still there?"}))
        answer, _ = await _answer(ws)
    assert answer is not None and answer["type"] == "ack", answer
    assert answer["conversation_id"] == pair["alice"]["conversation_id"]
    assert await _silent(pair["bob_ws"]) == []
