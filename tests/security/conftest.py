"""A small world of two shops for the hostile-request suite: Alice works `north`, Bob `south`."""

from __future__ import annotations

from typing import Any

import pytest

from inbox.channel import InboundAttachment
from inbox.ingest import ingest
from tests.factories import count, events, inbound, make_agent, make_inbox
from tests.web.support import customer_writes

TABLES = ("message", "customer", "conversation", "attachment")


async def stored(db: Any) -> dict[str, int]:
    """Row counts of what a hostile request must never add."""
    return {table: await count(db, table) for table in TABLES}


@pytest.fixture
async def world(server, db, settings) -> dict[str, Any]:
    """Two inboxes, an agent each, a customer each; south's message carries a file."""
    north, south = await make_inbox(db, "api"), await make_inbox(db, "api")
    chat = await make_inbox(db, "webchat")
    alice = await make_agent(db, "alice@support.example", inboxes=[north])
    bob = await make_agent(db, "bob@support.example", inboxes=[south, chat])
    admin = await make_agent(db, "root@support.example", admin=True)
    nora = await customer_writes(
        server, north, "Where is my kettle?", name="Nora North", email="nora@example.com"
    )
    sam = await customer_writes(
        server, south, "Refund for the zeppelin please", name="Sam South", email="sam@example.com"
    )
    message = inbound(south, "the zeppelin invoice", email="sam@example.com")
    message = message.__class__(
        **{
            **message.__dict__,
            "attachments": (InboundAttachment("invoice.pdf", "application/pdf", b"%PDF-secret"),),
        }
    )
    await ingest(db, message, settings)
    created = [e for e in await events(db) if e.type == "message.created"]
    attachment = created[-1].payload["attachments"][0]["id"]
    return {
        "north": north,
        "south": south,
        "chat": chat,
        "alice": alice,
        "bob": bob,
        "admin": admin,
        "nora": nora,
        "sam": sam,
        "attachment": attachment,
    }


def encoded_internal_urls(port: int, provider_host: str) -> dict[str, str]:
    """The internal listener on `port`, spelt every way a URL parser may disagree on."""
    return {
        "decimal": f"http://2130706433:{port}/secret",
        "hex": f"http://0x7f000001:{port}/secret",
        "octal": f"http://0177.0.0.1:{port}/secret",
        "short": f"http://127.1:{port}/secret",
        "ipv6-loopback": f"http://[::1]:{port}/secret",
        "ipv4-mapped": f"http://[::ffff:127.0.0.1]:{port}/secret",
        "ipv4-mapped-hex": f"http://[::ffff:7f00:1]:{port}/secret",
        "any-address": f"http://0.0.0.0:{port}/secret",
        "localhost": f"http://localhost:{port}/secret",
        "user@host": f"http://{provider_host}@127.0.0.1:{port}/secret",
        "fragment-@": f"http://127.0.0.1:{port}#@{provider_host}/secret",
        "backslash-@": f"http://127.0.0.1:{port}\\@{provider_host}/secret",
        "provider-subdomain-lookalike": f"http://{provider_host}.127.0.0.1.nip.io:{port}/secret",
    }
