"""`GET /api/v1/search?q=`: customers and messages, English words by prefix and Korean words
found inside longer Korean text written without spaces between particles."""

from __future__ import annotations

import pytest

from tests.factories import make_agent, make_inbox
from tests.web.support import customer_writes

SEARCH = "/api/v1/search"

TEXTS = {
    "jeju": "제주도까지 배송비가 얼마예요?",
    "parcel": "My parcel never arrived, tracking says delivered.",
    "refund": "I would like a refund for order 4412 please",
    "mixed": "주문번호 ABC-778 환불 부탁드립니다",
}


@pytest.fixture
async def indexed(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    ids = {}
    for n, (key, text) in enumerate(TEXTS.items()):
        ack = await customer_writes(server, inbox, text, email=f"shopper{n}@example.com")
        ids[key] = ack["message_id"]
    return agent, ids


async def found(server, agent, q: str) -> dict:
    async with server.client(agent.token) as client:
        response = await client.get(SEARCH, params={"q": q})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {"customers", "messages"}
    return body


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("parcel", {"parcel"}),
        ("par", {"parcel"}),
        ("PARCEL", {"parcel"}),
        ("Parc", {"parcel"}),
        ("deliv", {"parcel"}),
        ("arrived tracking", {"parcel"}),
        ("tracking arrived", {"parcel"}),
        ("refund", {"refund"}),
        ("4412", {"refund"}),
        ("order", {"refund"}),
        ("parcel refund", set()),
        ("zebra", set()),
    ],
)
async def test_english_words_are_found_by_prefix(server, indexed, q, expected):
    agent, ids = indexed
    messages = (await found(server, agent, q))["messages"]
    assert {m["id"] for m in messages} == {ids[k] for k in expected}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("배송비", {"jeju"}),
        ("배송", {"jeju"}),
        ("배송비가", {"jeju"}),
        ("제주도", {"jeju"}),
        ("제주", {"jeju"}),
        ("얼마", {"jeju"}),
        ("제주 배송", {"jeju"}),
        ("환불", {"mixed"}),
        ("주문번호", {"mixed"}),
        ("abc", {"mixed"}),
        ("배송료", set()),
        ("서울", set()),
        ("비가 제주", {"jeju"}),
    ],
)
async def test_korean_words_are_found_inside_longer_korean_text(server, indexed, q, expected):
    agent, ids = indexed
    messages = (await found(server, agent, q))["messages"]
    assert {m["id"] for m in messages} == {ids[k] for k in expected}


async def test_found_messages_are_whole_message_objects(server, indexed):
    agent, ids = indexed
    [message] = (await found(server, agent, "배송비"))["messages"]
    assert message["id"] == ids["jeju"]
    assert message["text"] == TEXTS["jeju"]
    assert {
        "conversation_id",
        "customer_id",
        "inbox_id",
        "channel",
        "direction",
        "author",
        "private",
        "status",
        "created_at",
    } <= set(message)


async def test_search_returns_customers_by_name_and_email(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    minji = await customer_writes(
        server, inbox, "안녕하세요", name="김민지", email="minji@example.com"
    )
    await customer_writes(server, inbox, "Hello", name="Tom Baker", email="tom@example.net")
    for q in ("민지", "김민지", "minji", "minji@example.com"):
        body = await found(server, agent, q)
        assert [c["id"] for c in body["customers"]] == [minji["customer_id"]], q
        assert body["customers"][0]["identities"] == [
            {"kind": "email", "value": "minji@example.com", "verified": True}
        ]


async def test_one_query_returns_both_customers_and_messages(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    named = await customer_writes(
        server, inbox, "Hi there", name="Gideon Fell", email="gf@example.com"
    )
    mentioned = await customer_writes(
        server, inbox, "Is Gideon working today?", email="other@example.com"
    )
    body = await found(server, agent, "gideon")
    assert [c["id"] for c in body["customers"]] == [named["customer_id"]]
    assert [m["id"] for m in body["messages"]] == [mentioned["message_id"]]


async def test_customer_search_follows_a_merge_and_its_undo(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    ann = await customer_writes(server, inbox, name="Ann Lee", email="ann@example.com")
    other = await customer_writes(server, inbox, name="Zelda Quist", phone="010-3333-4444")

    async def who(q: str) -> list[int]:
        return [c["id"] for c in (await found(server, agent, q))["customers"]]

    async with server.client(agent.token) as client:
        merged = (
            await client.post(
                f"/api/v1/customers/{ann['customer_id']}/merge",
                json={"other_id": other["customer_id"]},
            )
        ).json()
        assert await who("821033334444") == [ann["customer_id"]]
        assert await who("Ann") == [ann["customer_id"]]
        undone = await client.post(f"/api/v1/merges/{merged['merge_id']}/undo")
        assert undone.status_code == 200, undone.text
    assert await who("821033334444") == [other["customer_id"]]
    assert await who("Zelda") == [other["customer_id"]]
    assert await who("ann@example.com") == [ann["customer_id"]]


async def test_agent_replies_and_notes_are_searchable_too(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    ack = await customer_writes(server, inbox, "Hello", email="a@example.com")
    async with server.client(agent.token) as client:
        note = await client.post(
            f"/api/v1/conversations/{ack['conversation_id']}/messages",
            json={"text": "환불 처리 완료 wonderful", "private": True},
        )
        assert note.status_code == 201, note.text
    for q in ("환불", "wonder"):
        assert [m["id"] for m in (await found(server, agent, q))["messages"]] == [note.json()["id"]]


@pytest.mark.parametrize("params", [{"q": ""}, {"q": "   "}, {}], ids=["empty", "blank", "absent"])
async def test_an_empty_query_is_400(server, db, params):
    agent = await make_agent(db, admin=True)
    async with server.client(agent.token) as client:
        response = await client.get(SEARCH, params=params)
    assert response.status_code == 400, response.text
    assert "error" in response.json()


@pytest.mark.parametrize(
    "q",
    [
        '"',
        'a" OR "b',
        "*",
        "NEAR(a b)",
        "parcel*",
        "-parcel",
        "a:b",
        "^",
        "(",
        "!!!",
        "'",
        "\\",
        "%",
        "_",
        "&|!",
        "NOT",
        "x" * 5000,
        "가" * 2000,
    ],
)
async def test_query_syntax_in_q_is_never_a_500(server, indexed, q):
    agent, _ = indexed
    async with server.client(agent.token) as client:
        response = await client.get(SEARCH, params={"q": q})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        assert set(response.json()) >= {"customers", "messages"}


async def test_a_rare_word_is_found_past_the_newest_messages(server, db, monkeypatch):
    # PostgreSQL walks only the newest rows before asking its GIN index; SQLite walks FTS5.
    monkeypatch.setattr("inbox.queries.RECENT_ROWS", 3)
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    old = await customer_writes(
        server, inbox, "The zephyrometer arrived broken", email="old@example.com"
    )
    newer = [
        await customer_writes(server, inbox, f"Where is parcel {n}?", email=f"c{n}@example.com")
        for n in range(8)
    ]
    mentioned = await customer_writes(
        server, inbox, "Parcel and zephyrometer both late", email="new@example.com"
    )
    body = await found(server, agent, "zephyrometer")
    assert [m["id"] for m in body["messages"]] == [mentioned["message_id"], old["message_id"]]
    body = await found(server, agent, "parcel")
    assert len(body["messages"]) == 9 and newer[-1]["message_id"] in {
        m["id"] for m in body["messages"]
    }
