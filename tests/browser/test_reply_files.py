"""In Chromium: the agent picks files in the reply box of an email conversation and sends; the
customer's mail server (aiosmtpd) receives them as attachments and the timeline links them.
Screenshots go to $INBOX_SCREENSHOTS (default /tmp/screens)."""

from __future__ import annotations

import asyncio
import time

from tests.browser.test_ui import browser, shoot, sign_in  # noqa: F401
from tests.connectors.email_peers import mime, post_mime, smtp_fixture  # noqa: F401
from tests.factories import make_agent, make_inbox

PDF = b"%PDF-1.4\n% quote\n%%EOF\n"


async def test_files_chosen_in_the_reply_box_reach_the_customer(server, db, browser, smtp):
    inbox = await make_inbox(db, "email", "Support mail", config=smtp.config())
    agent = await make_agent(db, inboxes=[inbox], name="Jamie Agent")
    first = (await post_mime(server, inbox, mime())).json()
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await sign_in(page, server.url, agent.email)
    await page.goto(f"{server.url}/conversations/{first['conversation_id']}")
    await page.fill("form.reply textarea[name=text]", "Your quote is attached.")
    await page.set_input_files(
        "form.reply input[type=file]",
        files=[
            {"name": "견적서.pdf", "mimeType": "application/pdf", "buffer": PDF},
            {"name": "terms.txt", "mimeType": "text/plain", "buffer": b"terms"},
        ],
    )
    await shoot(page, "reply-files-chosen")
    await page.click("form.reply button[type=submit]")
    await page.wait_for_selector("a.attachment:has-text('견적서.pdf')", timeout=10_000)
    deadline = time.monotonic() + 10
    while not smtp.handler.received and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await shoot(page, "reply-files-sent")
    [mail] = smtp.handler.received
    assert [(p.get_filename(), p.get_content()) for p in mail.message.iter_attachments()] == [
        ("견적서.pdf", PDF),
        ("terms.txt", "terms"),
    ]
    await page.close()
