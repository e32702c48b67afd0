"""POST /api/v1/messages/{id}/retry: a failed reply goes back on the outbox; anything else is
refused with the reason, and a message of another inbox does not exist for the caller."""

from sqlalchemy import text

from inbox.ingest import ingest
from tests.factories import inbound, make_agent, make_inbox
from tests.web.support import wait_for_message


async def failed_reply(server, db, settings, inbox, agent):
    """A customer's message and the agent's reply to it, failed as the dispatcher leaves it."""
    result = await ingest(db, inbound(inbox, "hello", email="retry@example.org"), settings)
    async with server.client(agent.token) as client:
        reply = (
            await client.post(
                f"/api/v1/conversations/{result.conversation_id}/messages",
                json={"text": "On its way"},
            )
        ).json()
        await wait_for_message(
            client, result.conversation_id, reply["id"], lambda m: m["status"] != "queued"
        )
    async with db.engine.begin() as conn:
        await conn.execute(
            text("UPDATE message SET status = 'failed', error = 'answered 500' WHERE id = :id"),
            {"id": reply["id"]},
        )
        await conn.execute(
            text("UPDATE outbox SET state = 'failed', attempts = 5 WHERE message_id = :id"),
            {"id": reply["id"]},
        )
    return result, reply


async def test_a_failed_reply_is_queued_again_once(server, db, settings):
    api = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[api])
    result, reply = await failed_reply(server, db, settings, api, agent)
    async with server.client(agent.token) as client:
        retried = await client.post(f"/api/v1/messages/{reply['id']}/retry")
        twice = await client.post(f"/api/v1/messages/{reply['id']}/retry")
        inbound_one = await client.post(f"/api/v1/messages/{result.message_id}/retry")
        missing = await client.post("/api/v1/messages/999999/retry")
    assert retried.status_code == 200 and retried.json()["status"] == "queued"
    assert retried.json()["id"] == reply["id"]
    assert twice.status_code == 400 and "failed" in twice.text
    assert inbound_one.status_code == 400
    assert missing.status_code == 404


async def test_another_inboxs_message_is_404_and_stays_failed(server, db, settings):
    api = await make_inbox(db, "api")
    other = await make_inbox(db, "api")
    member = await make_agent(db, inboxes=[api])
    outsider = await make_agent(db, inboxes=[other])
    result, reply = await failed_reply(server, db, settings, api, member)
    async with server.client(outsider.token) as client:
        refused = await client.post(f"/api/v1/messages/{reply['id']}/retry")
    async with server.client() as client:
        anonymous = await client.post(f"/api/v1/messages/{reply['id']}/retry")
    async with server.client(member.token) as client:
        after = await client.get(f"/api/v1/conversations/{result.conversation_id}/messages")
    assert refused.status_code == 404 and anonymous.status_code == 401
    statuses = {m["id"]: m["status"] for m in after.json()["items"]}
    assert statuses[reply["id"]] == "failed"


async def test_a_reply_refused_before_sending_cannot_be_retried(server, db, settings):
    api = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[api])
    _, reply = await failed_reply(server, db, settings, api, agent)
    async with db.engine.begin() as conn:  # as an opt-out refusal leaves it: never queued
        await conn.execute(text("DELETE FROM outbox WHERE message_id = :id"), {"id": reply["id"]})
    async with server.client(agent.token) as client:
        refused = await client.post(f"/api/v1/messages/{reply['id']}/retry")
    assert refused.status_code == 400 and "answered 500" in refused.text
