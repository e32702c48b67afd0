"""SMTP over STARTTLS and implicit TLS against aiosmtpd on loopback with certificates from a test
CA (trustme): the CA named in `smtp_ca_file` is trusted, certificates are always verified, and a
certificate that does not verify fails the send as a transient error; nothing goes out in clear."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from aiosmtpd.controller import Controller

from tests.connectors.email_peers import RecordingHandler, mime, post_mime
from tests.factories import make_agent, make_inbox
from tests.web.support import wait_for_message


@dataclass
class TlsPeer:
    handler: RecordingHandler
    port: int
    ca_file: Path
    other_ca_file: Path  # a CA that did not sign the server's certificate

    def config(self, security: str, ca_file: Path | None = None) -> dict[str, object]:
        config: dict[str, object] = {
            "address": "support@shop.example",
            "smtp_host": "127.0.0.1",
            "smtp_port": self.port,
            "smtp_security": security,
        }
        if ca_file is not None:
            config["smtp_ca_file"] = str(ca_file)
        return config


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _peer(folder: Path, implicit: bool, plain_only: bool = False) -> Iterator[TlsPeer]:
    folder.mkdir()
    ca, other = trustme.CA(), trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    other.cert_pem.write_to_path(str(folder / "other-ca.pem"))
    handler, port = RecordingHandler(), _port()
    if implicit:
        controller = Controller(
            handler, hostname="127.0.0.1", port=port, ssl_context=server_context
        )
    elif plain_only:
        controller = Controller(handler, hostname="127.0.0.1", port=port)
    else:
        controller = Controller(
            handler,
            hostname="127.0.0.1",
            port=port,
            tls_context=server_context,
            require_starttls=True,
        )
    controller.start()
    try:
        yield TlsPeer(handler, port, folder / "ca.pem", folder / "other-ca.pem")
    finally:
        controller.stop()


@pytest.fixture
def starttls(tmp_path: Path) -> Iterator[TlsPeer]:
    """aiosmtpd that offers STARTTLS and refuses mail before it."""
    yield from _peer(tmp_path / "starttls", implicit=False)


@pytest.fixture
def implicit_tls(tmp_path: Path) -> Iterator[TlsPeer]:
    """aiosmtpd that speaks TLS from the first byte (port 465 style)."""
    yield from _peer(tmp_path / "tls", implicit=True)


@pytest.fixture
def no_starttls(tmp_path: Path) -> Iterator[TlsPeer]:
    """aiosmtpd that offers no STARTTLS at all."""
    yield from _peer(tmp_path / "plain", implicit=False, plain_only=True)


async def _reply(server, db, config, until):
    inbox = await make_inbox(db, "email", config=config)
    agent = await make_agent(db, inboxes=[inbox])
    first = (await post_mime(server, inbox, mime())).json()
    async with server.client(agent.token) as client:
        response = await client.post(
            f"/api/v1/conversations/{first['conversation_id']}/messages",
            json={"text": "Sent over TLS"},
        )
        assert response.status_code == 201, response.text
        return await wait_for_message(
            client, first["conversation_id"], response.json()["id"], until, timeout=10
        )


def _done(message):
    return message["status"] in ("sent", "failed")


def _retrying(message):
    return (message["error"] or "").startswith("retrying") or message["status"] != "queued"


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_mail_goes_out_over_tls_to_a_server_the_configured_ca_signed(
    server, db, starttls, implicit_tls, security
):
    peer = starttls if security == "starttls" else implicit_tls
    message = await _reply(server, db, peer.config(security, peer.ca_file), _done)
    assert message["status"] == "sent", message
    [mail] = peer.handler.received
    assert mail.rcpt_tos == ["sarah@customer.example"]
    assert mail.message.get_body(("plain",)).get_content().strip() == "Sent over TLS"


@pytest.mark.parametrize("security", ["starttls", "tls"])
@pytest.mark.parametrize("trust", ["another CA", "the system CAs"])
async def test_a_certificate_that_does_not_verify_fails_the_send_as_transient(
    server, db, starttls, implicit_tls, security, trust
):
    peer = starttls if security == "starttls" else implicit_tls
    ca_file = peer.other_ca_file if trust == "another CA" else None
    message = await _reply(server, db, peer.config(security, ca_file), _retrying)
    assert message["status"] == "queued", message  # retried later, never sent without TLS
    assert message["error"].startswith("retrying: SMTP server's TLS certificate did not verify"), (
        message
    )
    assert peer.handler.received == []


async def test_starttls_against_a_server_without_it_never_sends_in_clear(server, db, no_starttls):
    message = await _reply(
        server, db, no_starttls.config("starttls", no_starttls.ca_file), _retrying
    )
    assert message["status"] == "queued", message
    assert "STARTTLS extension not supported" in message["error"], message
    assert no_starttls.handler.received == []
    assert not any(c.startswith("RCPT") for c in no_starttls.handler.commands)


async def test_a_missing_ca_file_fails_the_message_with_the_reason(server, db, starttls):
    config = starttls.config("starttls", starttls.ca_file.with_name("missing.pem"))
    message = await _reply(server, db, config, _done)
    assert message["status"] == "failed", message
    assert "smtp_ca_file" in message["error"]
    assert starttls.handler.received == []
