"""The FAQ bot end to end: customers write through the API channel (or a connector's ingest),
the bot in the live server reacts, agents see its messages through the REST API."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.factories import make_agent, make_inbox
from tests.web.support import arrives, customer_writes, messages_of

SHIPPING = {
    "question": "How much does shipping cost?",
    "alternatives": ["What is the delivery fee?", "Is shipping free?"],
    "answer": "Shipping is 3,000 KRW, free over 50,000 KRW.",
    "answer_rich": "Shipping is **3,000 KRW**, and free on orders over 50,000 KRW.",
    "language": "en",
}
SHIPPING_KO = {
    "question": "배송비가 얼마인가요?",
    "alternatives": ["배송비 무료인가요?", "택배비는 얼마예요?"],
    "answer": "배송비는 3,000원이며 50,000원 이상 무료입니다.",
    "language": "ko",
}
RETURNS = {
    "question": "What is your return policy?",
    "alternatives": ["Can I return an item?"],
    "answer": "Unused items can be returned within 14 days.",
    "language": "en",
}


@pytest.fixture
async def desk(server, db) -> dict[str, Any]:
    inbox = await make_inbox(db, "api")
    admin = await make_agent(db, admin=True)
    agent = await make_agent(db, inboxes=[inbox])
    ids = []
    async with server.client(admin.token) as client:
        for entry in (SHIPPING, SHIPPING_KO, RETURNS):
            response = await client.post("/api/v1/faq", json=entry)
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
    return {"inbox": inbox, "admin": admin, "agent": agent, "entries": ids}


async def bot_messages(server, token: str, conversation_id: int) -> list[dict[str, Any]]:
    async with server.client(token) as client:
        return [m for m in await messages_of(client, conversation_id) if m["author"] == "bot"]


async def settled(server, token: str, handled: int, timeout: float = 20.0) -> dict[str, int]:
    """Wait until the bot has decided about `handled` customer messages in total."""
    deadline = time.monotonic() + timeout
    async with server.client(token) as client:
        while True:
            summary = (await client.get("/api/v1/reports/summary")).json()["bot"]
            if sum(summary.values()) >= handled or time.monotonic() > deadline:
                return summary
            await asyncio.sleep(0.05)


async def test_bot_answers_an_in_scope_question(server, desk):
    sent = await customer_writes(server, desk["inbox"], "how much is shiping?")
    summary = await settled(server, desk["admin"].token, 1)
    assert summary["answered"] == 1
    [answer] = await bot_messages(server, desk["agent"].token, sent["conversation_id"])
    assert answer["direction"] == "out" and answer["text"] == SHIPPING["answer_rich"]
    assert answer["faq"]["entry_id"] == desk["entries"][0]
    assert answer["faq"]["in_reply_to"] == sent["message_id"] and answer["faq"]["score"] > 0.7


async def test_korean_question_gets_the_korean_answer(server, desk):
    sent = await customer_writes(server, desk["inbox"], "배송비얼마예요?")
    await settled(server, desk["admin"].token, 1)
    [answer] = await bot_messages(server, desk["agent"].token, sent["conversation_id"])
    assert answer["text"] == SHIPPING_KO["answer"]


async def test_unsure_says_so_once_and_leaves_it_to_agents(server, desk):
    first = await customer_writes(server, desk["inbox"], "do you sell laptops?", email="u@x.org")
    await customer_writes(server, desk["inbox"], "what about tablets then", email="u@x.org")
    summary = await settled(server, desk["admin"].token, 2)
    assert summary == {"answered": 0, "handed_over": 2, "marked_wrong": 0, "skipped": 0}
    [said] = await bot_messages(server, desk["agent"].token, first["conversation_id"])
    assert said["faq"]["kind"] == "unsure" and "not sure" in said["text"]
    async with server.client(desk["agent"].token) as client:
        conversation = await client.get(f"/api/v1/conversations/{first['conversation_id']}")
    assert conversation.json()["status"] == "open"
    assert conversation.json()["assignee_id"] is None


@pytest.mark.parametrize(
    "text",
    ["Can I talk to a human?", "agent please", "상담원 연결해 주세요", "사람이랑 얘기하고 싶어요"],
)
async def test_asking_for_a_person_hands_over_at_once(server, desk, text):
    sent = await customer_writes(server, desk["inbox"], text, email="p@x.org")
    await settled(server, desk["admin"].token, 1)
    [said] = await bot_messages(server, desk["agent"].token, sent["conversation_id"])
    assert said["faq"]["kind"] == "handover"
    assert ("상담원" in said["text"]) == (text[0] in "상사")
    # After the handover the bot stays out, even of questions it knows.
    await customer_writes(server, desk["inbox"], "how much is shipping?", email="p@x.org")
    summary = await settled(server, desk["admin"].token, 2)
    assert summary["answered"] == 0
    assert len(await bot_messages(server, desk["agent"].token, sent["conversation_id"])) == 1


async def test_no_answer_once_assigned(server, desk):
    sent = await customer_writes(server, desk["inbox"], "hello", email="a@x.org")
    await settled(server, desk["admin"].token, 1)
    async with server.client(desk["agent"].token) as client:
        response = await client.patch(
            f"/api/v1/conversations/{sent['conversation_id']}",
            json={"assignee_id": desk["agent"].id},
        )
        assert response.status_code == 200, response.text
    await customer_writes(server, desk["inbox"], "how much is shipping?", email="a@x.org")
    summary = await settled(server, desk["admin"].token, 2)
    assert summary["skipped"] == 1 and summary["answered"] == 0


async def test_no_answer_after_an_agent_replied(server, desk):
    sent = await customer_writes(server, desk["inbox"], "hi there", email="b@x.org")
    await settled(server, desk["admin"].token, 1)
    async with server.client(desk["agent"].token) as client:
        response = await client.post(
            f"/api/v1/conversations/{sent['conversation_id']}/messages",
            json={"text": "Hi, Jamie here. How can I help?"},
        )
        assert response.status_code == 201, response.text
    await customer_writes(server, desk["inbox"], "how much is shipping?", email="b@x.org")
    summary = await settled(server, desk["admin"].token, 2)
    assert summary["skipped"] == 1 and summary["answered"] == 0


@pytest.mark.parametrize(
    "text", ["STOP", "unsubscribe", "Cancel", "END", "quit", "수신거부", "START", "unstop"]
)
async def test_opt_out_keywords_are_never_answered(server, desk, text):
    sent = await customer_writes(server, desk["inbox"], text)
    summary = await settled(server, desk["admin"].token, 1)
    assert summary["skipped"] == 1
    assert await bot_messages(server, desk["agent"].token, sent["conversation_id"]) == []


async def test_same_answer_never_twice_across_channels(server, db, settings, desk):
    email_inbox = await make_inbox(db, "email")
    await customer_writes(server, desk["inbox"], "how much is shipping?", email="c@x.org")
    await settled(server, desk["admin"].token, 1)
    second = await arrives(db, settings, email_inbox, "What's the delivery fee?", email="c@x.org")
    summary = await settled(server, desk["admin"].token, 2)
    assert summary["answered"] == 1 and summary["handed_over"] == 1
    said = await bot_messages(server, desk["admin"].token, second.conversation_id)
    answers = [m for m in said if m["faq"]["kind"] == "answered"]
    assert len(answers) == 1
    assert said[-1]["faq"]["kind"] == "unsure" and said[-1]["inbox_id"] == email_inbox.id


async def test_an_edited_entry_is_used_by_the_next_match(server, desk):
    async with server.client(desk["admin"].token) as client:
        response = await client.put(
            f"/api/v1/faq/{desk['entries'][2]}",
            json={
                "alternatives": ["Can I send my parcel back to you?"],
                "answer": "Returns are free within 30 days.",
            },
        )
        assert response.status_code == 200, response.text
    sent = await customer_writes(server, desk["inbox"], "can i send my parcel back to you")
    await settled(server, desk["admin"].token, 1)
    [answer] = await bot_messages(server, desk["agent"].token, sent["conversation_id"])
    assert answer["text"] == "Returns are free within 30 days."


async def test_disabled_bot_stays_silent(server, db, desk):
    quiet = await make_inbox(db, "api", config={"bot_enabled": False})
    sent = await customer_writes(server, quiet, "how much is shipping?")
    await customer_writes(server, desk["inbox"], "how much is shipping?")
    await settled(server, desk["admin"].token, 1)
    assert await bot_messages(server, desk["admin"].token, sent["conversation_id"]) == []


async def test_agents_mark_an_answer_wrong_and_get_suggestions(server, desk):
    sent = await customer_writes(server, desk["inbox"], "is shipping free?")
    await settled(server, desk["admin"].token, 1)
    [answer] = await bot_messages(server, desk["agent"].token, sent["conversation_id"])
    async with server.client(desk["agent"].token) as client:
        marked = await client.post(f"/api/v1/faq/answers/{answer['id']}/wrong")
        assert marked.status_code == 200, marked.text
        assert marked.json()["faq"]["wrong"] is True
        not_bot = await client.post(f"/api/v1/faq/answers/{sent['message_id']}/wrong")
        assert not_bot.status_code == 400
        hints = await client.get(f"/api/v1/conversations/{sent['conversation_id']}/faq-suggestions")
        assert hints.status_code == 200
        assert hints.json()["items"][0]["id"] == desk["entries"][0]
        summary = (await client.get("/api/v1/reports/summary")).json()["bot"]
    assert summary["answered"] == 1 and summary["marked_wrong"] == 1
