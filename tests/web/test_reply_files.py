"""Files from the agent's reply box: the form is multipart with a file input, the files are stored
on the reply, shown in the timeline and listed on the message object and its events (where the
website chat widget reads them)."""

from __future__ import annotations

from inbox.ingest import ingest
from tests.factories import count, inbound, make_agent, make_inbox
from tests.web.support import wait_for_message
from tests.web.test_pages import csrf_from, login

PNG = b"\x89PNG\r\n\x1a\n" + b"pixels" * 50


async def test_the_reply_box_sends_files_with_the_reply(server, db, settings):
    chat = await make_inbox(db, "webchat", "Website chat")
    agent = await make_agent(db, inboxes=[chat])
    first = await ingest(db, inbound(chat, "Can you see my photo?", webchat="visitor-1"), settings)
    conversation = first.conversation_id
    async with server.client() as browser:
        await login(browser, agent.email)
        page = await browser.get(f"/conversations/{conversation}")
        assert 'enctype="multipart/form-data"' in page.text
        assert '<input type="file" name="files" multiple>' in page.text
        sent = await browser.post(
            f"/conversations/{conversation}/reply",
            data={"text": "Here is the label", "_csrf_token": csrf_from(page.text)},
            files=[
                ("files", ("label.png", PNG, "image/png")),
                ("files", ("", b"", "application/octet-stream")),  # an empty file input
            ],
        )
        assert sent.status_code == 303, sent.text
        after = await browser.get(f"/conversations/{conversation}")
    async with server.client(agent.token) as api:
        items = (await api.get(f"/api/v1/conversations/{conversation}/messages")).json()["items"]
        [reply] = [m for m in items if m["direction"] == "out"]
        reply = await wait_for_message(
            api, conversation, reply["id"], lambda m: m["status"] != "queued"
        )
        events = (await api.get("/api/v1/events?since=0")).json()["items"]
    [attachment] = reply["attachments"]
    assert (attachment["filename"], attachment["content_type"], attachment["size"]) == (
        "label.png",
        "image/png",
        len(PNG),
    )
    assert f'href="/attachments/{attachment["id"]}"' in after.text
    assert "label.png" in after.text
    about_reply = [e for e in events if e["payload"].get("id") == reply["id"]]
    assert {e["type"] for e in about_reply} == {"message.created", "message.updated"}
    for event in about_reply:  # the widget and the agent UI get the files with every update
        assert [a["filename"] for a in event["payload"]["attachments"]] == ["label.png"]


async def test_a_plain_form_without_files_still_works_and_a_refused_file_stores_nothing(
    server, db, settings
):
    sms = await make_inbox(db, "twilio", "SMS line")
    agent = await make_agent(db, inboxes=[sms])
    first = await ingest(db, inbound(sms, "Hi", phone="+14155550142", channel="sms"), settings)
    conversation = first.conversation_id
    async with server.client() as browser:
        await login(browser, agent.email)
        page = await browser.get(f"/conversations/{conversation}")
        token = csrf_from(page.text)
        plain = await browser.post(
            f"/conversations/{conversation}/reply", data={"text": "ok", "_csrf_token": token}
        )
        before = (await count(db, "message"), await count(db, "attachment"))
        refused = await browser.post(
            f"/conversations/{conversation}/reply",
            data={"text": "photo", "_csrf_token": token},
            files=[("files", ("label.png", PNG, "image/png"))],
        )
        forged = await browser.post(
            f"/conversations/{conversation}/reply",
            data={"text": "no token"},
            files=[("files", ("label.png", PNG, "image/png"))],
        )
    assert plain.status_code == 303
    assert refused.status_code == 400
    assert "sms replies cannot carry files" in refused.json()["error"]
    assert forged.status_code == 403
    assert (await count(db, "message"), await count(db, "attachment")) == before


async def test_line_breaks_typed_in_the_reply_box_are_stored_as_typed(server, db, settings):
    chat = await make_inbox(db, "webchat", "Website chat")
    agent = await make_agent(db, inboxes=[chat])
    first = await ingest(db, inbound(chat, "Hello?", webchat="visitor-2"), settings)
    async with server.client() as browser:
        await login(browser, agent.email)
        page = await browser.get(f"/conversations/{first.conversation_id}")
        # A browser submits a textarea's line breaks as CRLF.
        sent = await browser.post(
            f"/conversations/{first.conversation_id}/reply",
            data={
                "text": "Hi!\r\nYour order left today.\r\n\r\nMinji",
                "_csrf_token": csrf_from(page.text),
            },
            files=[("files", ("", b"", "application/octet-stream"))],
        )
    assert sent.status_code == 303, sent.text
    async with server.client(agent.token) as api:
        items = (await api.get(f"/api/v1/conversations/{first.conversation_id}/messages")).json()
    [reply] = [m for m in items["items"] if m["direction"] == "out"]
    assert reply["text"] == "Hi!\nYour order left today.\n\nMinji"
