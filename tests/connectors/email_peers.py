"""Real mail peers for the email tests: an aiosmtpd server that records what it receives, raw
MIME posted to the webhook, and the corpus folder (read in place, never copied)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

CORPUS = Path("/work/shared/corpus/email")


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self.data)  # type: ignore[return-value]


@dataclass
class RecordingHandler:
    """Records every accepted mail; answers the queued SMTP replies to RCPT or DATA first."""

    received: list[Received] = field(default_factory=list)
    rcpt_replies: list[str] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.commands.append(f"RCPT {address}")
        if self.rcpt_replies:
            return self.rcpt_replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_replies:
            return self.data_replies.pop(0)
        self.received.append(
            Received(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                envelope.original_content or envelope.content,
            )
        )
        return "250 Message accepted for delivery"

    async def wait(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return list(self.received)


@dataclass
class SmtpPeer:
    handler: RecordingHandler
    port: int

    def config(self, address: str = "support@shop.example", **extra: Any) -> dict[str, Any]:
        """An email inbox's config that sends through this server."""
        return {
            "address": address,
            "smtp_host": "127.0.0.1",
            "smtp_port": self.port,
            "smtp_security": "none",
            **extra,
        }


@pytest.fixture(name="smtp")
def smtp_fixture() -> Iterator[SmtpPeer]:
    """A real SMTP server (aiosmtpd) on a loopback port, recording each message it accepts."""
    handler = RecordingHandler()
    with socket.socket() as probe:  # the controller needs its port up front
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpPeer(handler, port)
    finally:
        controller.stop()


async def post_mime(server: Any, inbox: Any, raw: bytes, token: str | None = None) -> Any:
    """POST raw MIME to the inbox's email webhook with its token."""
    async with server.client(token if token is not None else inbox.token) as client:
        return await client.post(
            f"/webhooks/email/{inbox.id}", content=raw, headers={"Content-Type": "message/rfc822"}
        )


def mime(
    *,
    sender: str = "Sarah Kim <sarah@customer.example>",
    to: str = "support@shop.example",
    subject: str = "Where is my order?",
    body: str = "Hello, my order #1001 has not arrived.",
    message_id: str | None = "<c1@customer.example>",
    headers: dict[str, str] | None = None,
    html: str | None = None,
    dkim_pass: bool = True,
) -> bytes:
    """A customer's mail as their client would write it (headers are written as given)."""
    lines = []
    if dkim_pass:
        domain = sender.rsplit("@", 1)[-1].rstrip(">")
        lines.append(
            f"Authentication-Results: mx.shop.example; dkim=pass header.d={domain}; "
            f"dmarc=pass header.from={domain}"
        )
    lines += [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {subject}",
        "Date: Mon, 06 Jan 2025 09:00:00 +0900",
        "MIME-Version: 1.0",
    ]
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if html is None:
        lines += [
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
            "",
            body,
        ]
    else:
        lines += [
            'Content-Type: multipart/alternative; boundary="b1"',
            "",
            "--b1",
            "Content-Type: text/plain; charset=utf-8",
            "",
            body,
            "--b1",
            "Content-Type: text/html; charset=utf-8",
            "",
            html,
            "--b1--",
        ]
    return ("\r\n".join(lines) + "\r\n").encode()
