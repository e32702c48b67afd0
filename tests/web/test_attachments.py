"""Attachments are served to agents who can see their message, never as a page."""

from inbox.channel import InboundAttachment
from inbox.ingest import ingest
from tests.factories import events, inbound, make_agent, make_inbox


async def with_files(db, settings, inbox, *files):
    message = inbound(inbox, "see attached", email="a@example.org")
    message = message.__class__(
        **{
            **message.__dict__,
            "attachments": tuple(
                InboundAttachment(name, ctype, data) for name, ctype, data in files
            ),
        }
    )
    await ingest(db, message, settings)
    created = next(e for e in await events(db) if e.type == "message.created")
    return [a["id"] for a in created.payload["attachments"]]


async def test_images_inline_everything_else_downloads(server, db, settings):
    inbox = await make_inbox(db, "api")
    agent = await make_agent(db, inboxes=[inbox])
    photo, page, svg = await with_files(
        db,
        settings,
        inbox,
        ("photo.jpg", "image/jpeg", b"\xff\xd8\xff"),
        ("invoice.html", "text/html", b"<script>alert(1)</script>"),
        ("logo.svg", "image/svg+xml", b"<svg onload=alert(1)/>"),
    )
    async with server.client(agent.token) as client:
        image = await client.get(f"/api/v1/attachments/{photo}")
        html = await client.get(f"/api/v1/attachments/{page}")
        vector = await client.get(f"/api/v1/attachments/{svg}")
    assert image.status_code == 200 and image.content == b"\xff\xd8\xff"
    assert image.headers["content-disposition"].startswith("inline")
    assert image.headers["content-type"] == "image/jpeg"
    for download in (html, vector):
        assert download.headers["content-disposition"].startswith("attachment")
        assert download.headers["content-type"] == "application/octet-stream"
        assert download.headers["x-content-type-options"] == "nosniff"


async def test_attachments_of_other_inboxes_are_404(server, db, settings):
    theirs = await make_inbox(db, "api")
    outsider = await make_agent(db, inboxes=[await make_inbox(db, "api")])
    [secret] = await with_files(db, settings, theirs, ("contract.pdf", "application/pdf", b"%PDF"))
    async with server.client(outsider.token) as client:
        assert (await client.get(f"/api/v1/attachments/{secret}")).status_code == 404
    async with server.client() as anonymous:
        assert (await anonymous.get(f"/api/v1/attachments/{secret}")).status_code == 401
