"""Outbound SMTP failures and header injection: 5xx is final, 4xx and outages are retried, and no
CR/LF from any stored field reaches a header or an SMTP command."""

from __future__ import annotations

from inbox.agents import create_inbox
from tests.connectors.email_peers import mime, post_mime, smtp_fixture  # noqa: F401
from tests.factories import make_agent, make_inbox
from tests.web.support import wait_for_message


async def _reply(server, db, inbox, text="answer", sender=None):
    agent = await make_agent(db, inboxes=[inbox])
    raw = mime(sender=sender) if sender else mime()
    first = (await post_mime(server, inbox, raw)).json()
    async with server.client(agent.token) as client:
        response = await client.post(
            f"/api/v1/conversations/{first['conversation_id']}/messages", json={"text": text}
        )
        assert response.status_code == 201, response.text
        return await wait_for_message(
            client,
            first["conversation_id"],
            response.json()["id"],
            lambda m: m["status"] in ("sent", "failed"),
        )


async def test_a_permanent_refusal_fails_the_message(server, db, smtp):
    smtp.handler.rcpt_replies.append("550 5.1.1 No such user")
    inbox = await make_inbox(db, "email", config=smtp.config())
    message = await _reply(server, db, inbox)
    assert message["status"] == "failed"
    assert "550" in message["error"]
    assert smtp.handler.received == []


async def test_a_temporary_refusal_is_retried_and_then_sent(server, db, smtp):
    smtp.handler.data_replies.append("451 4.3.0 try again later")
    inbox = await make_inbox(db, "email", config=smtp.config())
    message = await _reply(server, db, inbox)
    assert message["status"] == "sent"
    assert len(smtp.handler.received) == 1


async def test_an_unreachable_server_is_transient(server, db, smtp):
    inbox = await make_inbox(db, "email", config={**smtp.config(), "smtp_port": 1})
    agent = await make_agent(db, inboxes=[inbox])
    first = (await post_mime(server, inbox, mime())).json()
    async with server.client(agent.token) as client:
        response = await client.post(
            f"/api/v1/conversations/{first['conversation_id']}/messages", json={"text": "x"}
        )
        message = await wait_for_message(
            client,
            first["conversation_id"],
            response.json()["id"],
            lambda m: (m["error"] or "").startswith("retrying"),
            timeout=5,
        )
    assert message["status"] == "queued"
    assert "unreachable" in message["error"]


async def test_cr_lf_in_names_subjects_and_addresses_never_reach_a_header(server, db, smtp):
    injected = "Shop\r\nBcc: victim@evil.example"
    inbox = await create_inbox(db, "email", injected, smtp.config())
    evil_name = "=?utf-8?q?Eve=0D=0ABcc=3A_x=40evil=2Eexample?="
    message = await _reply(server, db, inbox, sender=f"{evil_name} <eve@customer.example>")
    assert message["status"] == "sent"
    [mail] = smtp.handler.received
    assert mail.rcpt_tos == ["eve@customer.example"]
    head = mail.data.split(b"\r\n\r\n", 1)[0]
    assert b"\nBcc:" not in head and b"\rBcc:" not in head
    assert mail.message["Bcc"] is None
    assert not any(c.startswith("RCPT") and "evil" in c for c in smtp.handler.commands)

    injected_address = "a@shop.example\r\nRCPT TO:<x@y>"
    bad = await make_inbox(db, "email", config=smtp.config(address=injected_address))
    failed = await _reply(server, db, bad)
    assert failed["status"] == "failed"
    assert "not a valid email address" in failed["error"]
    assert len(smtp.handler.received) == 1
