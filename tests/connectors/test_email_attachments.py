"""Agents' files on email replies: posted as multipart/form-data, stored like inbound attachments,
sent as MIME attachments (right Content-Type, RFC 2231 names, no CR/LF in any header); files past
the caps, programs, and channels that cannot carry files are refused with nothing stored."""

from __future__ import annotations

import pytest

from inbox.settings import Limits
from tests.conftest import LiveServer
from tests.connectors.email_peers import mime, post_mime, smtp_fixture  # noqa: F401
from tests.factories import count, inbound, make_agent, make_inbox
from tests.web.support import wait_for_message

PDF = b"%PDF-1.4\n% a tiny test pdf\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


async def _conversation(server, db, inbox):
    agent = await make_agent(db, inboxes=[inbox])
    first = (await post_mime(server, inbox, mime())).json()
    return agent, first["conversation_id"]


async def _stored(db):
    return await count(db, "message"), await count(db, "attachment"), await count(db, "outbox")


async def test_files_posted_with_a_reply_go_out_as_mime_attachments(server, db, smtp):
    inbox = await make_inbox(db, "email", config=smtp.config())
    agent, conversation = await _conversation(server, db, inbox)
    files = [
        ("files", ("견적서 2025.pdf", PDF, "application/pdf")),
        ("files", ("../../etc/photo.png", PNG, "application/octet-stream")),
    ]
    async with server.client(agent.token) as client:
        response = await client.post(
            f"/api/v1/conversations/{conversation}/messages",
            data={"text": "Here is your quote."},
            files=files,
        )
        assert response.status_code == 201, response.text
        created = response.json()
        sent = await wait_for_message(
            client, conversation, created["id"], lambda m: m["status"] in ("sent", "failed")
        )
        listed = await client.get(f"/api/v1/conversations/{conversation}/messages")
        download = await client.get(f"/api/v1/attachments/{created['attachments'][0]['id']}")

    expected = [
        ("견적서 2025.pdf", "application/pdf", len(PDF)),
        ("photo.png", "image/png", len(PNG)),
    ]
    assert [
        (a["filename"], a["content_type"], a["size"]) for a in created["attachments"]
    ] == expected
    assert sent["status"] == "sent", sent
    [mine] = [m for m in listed.json()["items"] if m["id"] == created["id"]]
    assert [a["filename"] for a in mine["attachments"]] == ["견적서 2025.pdf", "photo.png"]
    assert download.content == PDF

    [mail] = smtp.handler.received
    message = mail.message
    assert message.get_content_type() == "multipart/mixed"
    body = message.get_body(("plain",))
    assert body is not None and body.get_content().strip() == "Here is your quote."
    parts = list(message.iter_attachments())
    assert [(p.get_filename(), p.get_content_type(), p.get_content()) for p in parts] == [
        ("견적서 2025.pdf", "application/pdf", PDF),
        ("photo.png", "image/png", PNG),
    ]
    head = mail.data.split(b"\r\n\r\n", 1)[1]  # the parts' headers, as written on the wire
    assert b"filename*=utf-8''%EA%B2%AC%EC%A0%81%EC%84%9C%202025.pdf" in head
    assert b'filename="photo.png"' in head


async def test_a_file_only_reply_and_the_json_form_still_work(server, db, smtp):
    inbox = await make_inbox(db, "email", config=smtp.config())
    agent, conversation = await _conversation(server, db, inbox)
    async with server.client(agent.token) as client:
        only_file = await client.post(
            f"/api/v1/conversations/{conversation}/messages",
            files=[("files", ("notes.txt", b"plain notes", "text/plain"))],
        )
        as_json = await client.post(
            f"/api/v1/conversations/{conversation}/messages", json={"text": "No files here"}
        )
        note = await client.post(
            f"/api/v1/conversations/{conversation}/messages",
            data={"text": "internal", "private": "true"},
            files=[("files", ("memo.txt", b"for agents", "text/plain"))],
        )
    assert only_file.status_code == 201, only_file.text
    assert only_file.json()["attachments"][0]["filename"] == "notes.txt"
    assert as_json.status_code == 201 and as_json.json()["attachments"] == []
    assert note.status_code == 201 and note.json()["private"] is True
    assert note.json()["attachments"][0]["filename"] == "memo.txt"
    received = await smtp.handler.wait(2)
    assert len(received) == 2
    assert [p.get_filename() for p in received[0].message.iter_attachments()] == ["notes.txt"]
    assert list(received[1].message.iter_attachments()) == []


async def test_line_breaks_and_parameters_in_a_files_name_or_type_never_reach_a_header(
    server, db, smtp
):
    inbox = await make_inbox(db, "email", config=smtp.config())
    agent, conversation = await _conversation(server, db, inbox)
    boundary = "XyZ"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\nsee file\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
        # Browsers write CR and LF in a name as %0D%0A; the form parser decodes them back.
        'filename="evil%0D%0ABcc: x@evil.example%0D%0A.txt"\r\n'
        'Content-Type: text/plain; name="a\r\n b"; charset=utf-8\r\n\r\nhello\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    async with server.client(agent.token) as client:
        response = await client.post(
            f"/api/v1/conversations/{conversation}/messages",
            content=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        assert response.status_code == 201, response.text
        await wait_for_message(
            client, conversation, response.json()["id"], lambda m: m["status"] == "sent"
        )
    [attachment] = response.json()["attachments"]
    assert "\r" not in attachment["filename"] and "\n" not in attachment["filename"]
    assert attachment["content_type"] == "text/plain"
    [mail] = smtp.handler.received
    assert mail.message["Bcc"] is None
    assert b"\nBcc:" not in mail.data and b"\rBcc:" not in mail.data
    assert mail.rcpt_tos == ["sarah@customer.example"]


@pytest.fixture
async def small(settings):
    """The app with small attachment limits, so the caps are cheap to cross."""
    limited = settings.with_(limits=Limits(attachment=1000, mime_body=2500))
    async with LiveServer(limited) as live:
        yield live


@pytest.mark.parametrize(
    ("files", "status", "says"),
    [
        ([("big.pdf", b"x" * 1001, "application/pdf")], 413, "larger than 1000 bytes"),
        ([(f"part{i}.txt", b"x" * 900, "text/plain") for i in range(3)], 413, "together"),
        ([("setup.exe", b"MZ" + b"\0" * 10, "application/octet-stream")], 415, "programs"),
        ([("invoice.pdf.js", b"alert(1)", "application/pdf")], 415, "programs"),
        ([("run.bin", b"\x7fELF", "application/x-msdownload")], 415, "programs"),
        ([(f"f{i}.txt", b"x", "text/plain") for i in range(11)], 400, "at most 10"),
        ([("empty.txt", b"", "text/plain")], 400, "empty"),
    ],
)
async def test_files_past_the_caps_are_refused_and_nothing_is_stored(
    small, db, smtp, files, status, says
):
    inbox = await make_inbox(db, "email", config=smtp.config())
    agent, conversation = await _conversation(small, db, inbox)
    before = await _stored(db)
    async with small.client(agent.token) as client:
        response = await client.post(
            f"/api/v1/conversations/{conversation}/messages",
            data={"text": "see attached"},
            files=[("files", f) for f in files],
        )
    assert response.status_code == status, response.text
    assert says in response.json()["error"]
    assert await _stored(db) == before


async def test_a_body_past_the_routes_limit_is_413(small, db, smtp):
    inbox = await make_inbox(db, "email", config=smtp.config())
    agent, conversation = await _conversation(small, db, inbox)
    before = await _stored(db)
    async with small.client(agent.token) as client:
        response = await client.post(
            f"/api/v1/conversations/{conversation}/messages",
            data={"text": "huge"},
            files=[("files", ("huge.bin", b"x" * (27 * 1024 * 1024), "application/pdf"))],
        )
    assert response.status_code == 413, response.text
    assert await _stored(db) == before


@pytest.mark.parametrize(
    ("kind", "channel", "claims"),
    [
        ("twilio", "sms", {"phone": "+14155550142"}),
        ("twilio", "whatsapp", {"phone": "+821012345678"}),
        ("api", "api", {"email": "api@customer.example"}),
    ],
)
async def test_channels_that_cannot_carry_files_refuse_them_and_store_nothing(
    server, db, settings, kind, channel, claims
):
    from inbox.ingest import ingest

    inbox = await make_inbox(db, kind)
    agent = await make_agent(db, inboxes=[inbox])
    first = await ingest(db, inbound(inbox, "hi", channel=channel, **claims), settings)
    before = await _stored(db)
    async with server.client(agent.token) as client:
        refused = await client.post(
            f"/api/v1/conversations/{first.conversation_id}/messages",
            data={"text": "photo"},
            files=[("files", ("photo.png", PNG, "image/png"))],
        )
        text_only = await client.post(
            f"/api/v1/conversations/{first.conversation_id}/messages", data={"text": "ok"}
        )
    assert refused.status_code == 400, refused.text
    assert f"{channel} replies cannot carry files" in refused.json()["error"]
    assert text_only.status_code == 201, text_only.text
    assert (await _stored(db))[1] == before[1]
    assert await count(db, "message") == before[0] + 1
