from tests.factories import make_agent, make_inbox


async def test_health_and_api_channel_round_trip(server, db):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    async with server.client(inbox.token) as client:
        r = await client.post(
            f"/api/v1/inboxes/{inbox.id}/messages",
            json={"external_id": "order-1", "customer": {"email": "A@Example.com"}, "text": "hi"},
        )
    assert r.status_code == 201, r.text
    async with server.client(agent.token) as client:
        assert (await client.get("/health")).json() == {"status": "ok"}
        conv = await client.get(f"/api/v1/conversations/{r.json()['conversation_id']}")
    assert conv.status_code == 200
