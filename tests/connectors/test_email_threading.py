"""Email threads that hold: agent replies go out through a real SMTP server (aiosmtpd) with our
signed Message-ID, and customer replies come back into the same conversation however their client
mangles the headers. A forged Message-ID of ours is not trusted.

The continuation window is 0 here, so only the reply headers can join a conversation."""

from __future__ import annotations

import pytest

from inbox.models import Message
from tests.connectors.email_peers import mime, post_mime, smtp_fixture  # noqa: F401
from tests.factories import count, make_agent, make_inbox
from tests.web.support import messages_of, wait_for_message


@pytest.fixture
def settings(settings):
    return settings.with_(continuation_hours=0)


async def _agent_replies(server, agent, conversation_id, text, smtp, n):
    async with server.client(agent.token) as client:
        response = await client.post(
            f"/api/v1/conversations/{conversation_id}/messages", json={"text": text}
        )
        assert response.status_code == 201, response.text
        sent = await wait_for_message(
            client,
            conversation_id,
            response.json()["id"],
            lambda m: m["status"] in ("sent", "failed"),
        )
    assert sent["status"] == "sent", sent
    received = await smtp.handler.wait(n)
    assert len(received) == n
    return sent, received[-1]


async def test_an_agent_reply_is_a_threaded_mail_to_the_customer_only(server, db, smtp):
    inbox = await make_inbox(db, "email", name="Shop Support", config=smtp.config())
    agent = await make_agent(db, inboxes=[inbox])
    first = await post_mime(server, inbox, mime(headers={"Cc": "boss@customer.example"}))
    conversation_id = first.json()["conversation_id"]

    sent, mail = await _agent_replies(
        server, agent, conversation_id, "Your parcel ships today.\n\nShop <Support>", smtp, 1
    )
    message = mail.message
    assert mail.mail_from == "support@shop.example"
    assert mail.rcpt_tos == ["sarah@customer.example"]  # never the Cc
    assert message["From"].addresses[0].addr_spec == "support@shop.example"
    assert message["From"].addresses[0].display_name == "Shop Support"
    assert str(message["To"]) == "Sarah Kim <sarah@customer.example>"
    assert message["Subject"] == "Re: Where is my order?"
    assert message["In-Reply-To"] == "<c1@customer.example>"
    assert message["References"] == "<c1@customer.example>"
    assert message["Message-ID"] == f"<{sent['external_id']}>"
    assert sent["external_id"].startswith(f"inbox.{sent['id']}.")
    assert sent["external_id"].endswith("@shop.example")
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert plain.replace("\r\n", "\n").strip() == "Your parcel ships today.\n\nShop <Support>"
    assert "Shop &lt;Support&gt;" in html and "<Support>" not in html


async def test_a_five_message_exchange_keeping_only_in_reply_to_stays_one_conversation(
    server, db, smtp
):
    inbox = await make_inbox(db, "email", config=smtp.config())
    agent = await make_agent(db, inboxes=[inbox])
    first = (await post_mime(server, inbox, mime())).json()
    conversation_id = first["conversation_id"]
    for turn in range(1, 3):
        sent, _ = await _agent_replies(server, agent, conversation_id, f"answer {turn}", smtp, turn)
        # The customer's client keeps only In-Reply-To (and changes nothing else).
        reply = mime(
            message_id=f"<c{turn + 1}@customer.example>",
            body=f"follow-up {turn}",
            subject="Re: Where is my order?",
            headers={"In-Reply-To": f"<{sent['external_id']}>"},
        )
        ack = (await post_mime(server, inbox, reply)).json()
        assert ack["conversation_id"] == conversation_id, turn
        assert ack["customer_id"] == first["customer_id"]
    admin = await make_agent(db, admin=True)
    async with server.client(admin.token) as client:
        timeline = await messages_of(client, conversation_id)
    # The customer's mails keep their Date header, so order by direction counts, not position.
    assert sorted(m["direction"] for m in timeline) == ["in", "in", "in", "out", "out"]
    assert await count(db, "conversation") == 1


async def test_references_only_and_outlook_rewritten_subjects_still_thread(server, db, smtp):
    inbox = await make_inbox(db, "email", config=smtp.config())
    agent = await make_agent(db, inboxes=[inbox])
    first = (await post_mime(server, inbox, mime())).json()
    conversation_id = first["conversation_id"]
    sent, _ = await _agent_replies(server, agent, conversation_id, "answer", smtp, 1)

    # References only, no In-Reply-To.
    only_refs = mime(
        message_id="<c2@customer.example>",
        body="thanks",
        headers={"References": f"<c1@customer.example> <{sent['external_id']}>"},
    )
    assert (await post_mime(server, inbox, only_refs)).json()["conversation_id"] == conversation_id

    # Outlook: a new subject with its own prefix, Thread-Index, and the chain in References
    # only, with an Exchange-rewritten In-Reply-To we never sent.
    outlook = mime(
        message_id="<AM0PR01MB1234.eurprd01.prod.outlook.com>",
        subject="AW: RE: Where is my order? [updated]",
        body="Still waiting.\r\n\r\n________________________________\r\nFrom: Shop\r\n"
        "Sent: Monday\r\nTo: Sarah\r\nSubject: Re: Where is my order?\r\n\r\nanswer",
        headers={
            "Thread-Index": "AQHZ1234",
            "Thread-Topic": "Where is my order?",
            "In-Reply-To": "<DB9PR02MB5555.eurprd02.prod.outlook.com>",
            "References": f"<{sent['external_id']}> <DB9PR02MB5555.eurprd02.prod.outlook.com>",
        },
    )
    ack = (await post_mime(server, inbox, outlook)).json()
    assert ack["conversation_id"] == conversation_id
    async with db.read() as session:
        message = await session.get(Message, ack["message_id"])
    assert message.stripped_text == "Still waiting."


async def test_a_reply_from_another_address_threads_and_suggests_a_merge(server, db, smtp):
    inbox = await make_inbox(db, "email", config=smtp.config())
    agent = await make_agent(db, inboxes=[inbox])
    first = (await post_mime(server, inbox, mime())).json()
    sent, _ = await _agent_replies(server, agent, first["conversation_id"], "answer", smtp, 1)
    reply = mime(
        sender="Sarah <sarah.kim@work.example>",
        message_id="<w1@work.example>",
        headers={"In-Reply-To": f"<{sent['external_id']}>"},
    )
    ack = (await post_mime(server, inbox, reply)).json()
    assert ack["conversation_id"] == first["conversation_id"]
    assert ack["customer_id"] != first["customer_id"]  # never a silent merge
    assert await count(db, "merge_suggestion") == 1


async def test_a_forged_or_foreign_message_id_is_not_trusted(server, db, smtp):
    inbox = await make_inbox(db, "email", config=smtp.config())
    agent = await make_agent(db, inboxes=[inbox])
    first = (await post_mime(server, inbox, mime())).json()
    sent, _ = await _agent_replies(server, agent, first["conversation_id"], "answer", smtp, 1)
    number, signature = sent["external_id"].split("@")[0].split(".")[1:]
    forged = f"inbox.{number}.{'0' * 20}@shop.example"
    for n, ref in enumerate([forged, "c1@customer.example"]):
        # Someone else names our message with a bad signature, or the customer's own id.
        attack = mime(
            sender=f"eve{n}@evil.example",
            message_id=f"<e{n}@evil.example>",
            headers={"In-Reply-To": f"<{ref}>", "References": f"<{ref}>"},
        )
        ack = (await post_mime(server, inbox, attack)).json()
        assert ack["conversation_id"] != first["conversation_id"], ref
    assert signature != "0" * 20


async def test_plus_addressed_reply_to_threads_when_headers_are_lost(server, db, smtp):
    inbox = await make_inbox(db, "email", config=smtp.config(plus_addressing=True))
    agent = await make_agent(db, inboxes=[inbox])
    first = (await post_mime(server, inbox, mime())).json()
    _, mail = await _agent_replies(server, agent, first["conversation_id"], "answer", smtp, 1)
    reply_to = mail.message["Reply-To"].addresses[0].addr_spec
    assert reply_to.startswith("support+m") and reply_to.endswith("@shop.example")
    lost = mime(to=reply_to, message_id="<lost@customer.example>", subject="new subject")
    ack = (await post_mime(server, inbox, lost)).json()
    assert ack["conversation_id"] == first["conversation_id"]
    tampered = reply_to.replace("+m", "+m9")
    other = mime(to=tampered, message_id="<lost2@customer.example>", sender="x@evil.example")
    assert (await post_mime(server, inbox, other)).json()["conversation_id"] != ack[
        "conversation_id"
    ]


async def test_a_bounce_of_our_mail_marks_it_failed(server, db, smtp):
    inbox = await make_inbox(db, "email", config=smtp.config())
    agent = await make_agent(db, inboxes=[inbox])
    first = (await post_mime(server, inbox, mime())).json()
    sent, _ = await _agent_replies(server, agent, first["conversation_id"], "answer", smtp, 1)
    bounce = (
        "From: MAILER-DAEMON@mx.customer.example\r\nTo: support@shop.example\r\n"
        "Subject: Undelivered Mail\r\nMessage-ID: <b1@mx.customer.example>\r\n"
        "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="d"\r\n\r\n'
        "--d\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n"
        "--d\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
        "Final-Recipient: rfc822; sarah@customer.example\r\nAction: failed\r\n"
        "Status: 5.2.2\r\nDiagnostic-Code: smtp; 552 5.2.2 mailbox full\r\n\r\n"
        f"--d\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <{sent['external_id']}>\r\n"
        "--d--\r\n"
    ).encode()
    response = await post_mime(server, inbox, bounce)
    assert response.status_code == 200, response.text
    assert response.json()["updated"] == [{"external_id": sent["external_id"], "updated": True}]
    async with db.read() as session:
        message = await session.get(Message, sent["id"])
    assert message.status == "failed"
    assert "mailbox full" in message.error
    assert await count(db, "message") == 2  # the bounce itself is no message
