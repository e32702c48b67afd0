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


async def test_the_panel_partial_shows_new_identities_and_merge_suggestions(server, db, settings):
    api = await make_inbox(db, "api")
    chat = await make_inbox(db, "webchat")
    agent = await make_agent(db, inboxes=[api, chat])
    await ingest(db, inbound(api, "order?", email="jo@example.org", name="Jo Park"), settings)
    visitor = await ingest(db, inbound(chat, "hi", webchat="v-1", name="Visitor"), settings)
    url = f"/conversations/{visitor.conversation_id}"
    async with server.client() as client:
        await login(client, agent.email)
        before = await client.get(f"{url}/customer-panel")
        # The visitor gives a phone the shop vouches for, and claims Jo's email unverified.
        await ingest(
            db,
            inbound(
                chat,
                "it's me",
                webchat="v-1",
                phone="+82 10-2345-6789",
                unverified_email="jo@example.org",
            ),
            settings,
        )
        after = await client.get(f"{url}/customer-panel")
    assert "+821023456789" not in before.text and "Maybe the same person" not in before.text
    assert "<dt>phone</dt><dd>+821023456789" in after.text
    assert "Maybe the same person" in after.text and "Jo Park" in after.text
