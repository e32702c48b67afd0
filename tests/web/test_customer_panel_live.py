"""The customer panel's live part as a server partial: attributes and other conversations as they
are now, and 404 for a conversation the agent cannot see."""

from inbox.ingest import ingest
from tests.factories import inbound, make_agent, make_inbox
from tests.web.test_pages import csrf_from, login


async def test_the_panel_partial_shows_the_current_attributes_and_hides_others(
    server, db, settings
):
    api = await make_inbox(db, "api")
    other = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[api])
    outsider = await make_agent(db, inboxes=[other])
    result = await ingest(db, inbound(api, "hi", email="panel@example.org"), settings)
    url = f"/conversations/{result.conversation_id}"
    async with server.client() as client:
        await login(client, agent.email)
        token = csrf_from((await client.get(url)).text)
        before = await client.get(f"{url}/customer-panel")
        await client.post(
            f"{url}/customer", data={"key": "plan", "value": "<b>gold</b>", "_csrf_token": token}
        )
        after = await client.get(f"{url}/customer-panel")
    async with server.client() as client:
        await login(client, outsider.email)
        hidden = await client.get(f"{url}/customer-panel")
    assert before.status_code == 200 and "plan" not in before.text
    assert after.status_code == 200 and "<dt>plan</dt>" in after.text
    assert "&lt;b&gt;gold&lt;/b&gt;" in after.text and "<!doctype" not in after.text.lower()
    assert hidden.status_code == 404
