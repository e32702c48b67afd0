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
    nora = await customer_writes(server, north, "Where is my kettle?", name="Nora North",
                                 email="nora@example.com")
    sam = await customer_writes(server, south, "Refund for the zeppelin please",
                                name="Sam South", email="sam@example.com")
    message = inbound(south, "the zeppelin invoice", email="sam@example.com")
    message = message.__class__(**{**message.__dict__, "attachments": (
        InboundAttachment("invoice.pdf", "application/pdf", b"%PDF-secret"),)})
    await ingest(db, message, settings)
    created = [e for e in await events(db) if e.type == "message.created"]
    attachment = created[-1].payload["attachments"][0]["id"]
    return {"north": north, "south": south, "chat": chat, "alice": alice, "bob": bob,
            "admin": admin, "nora": nora, "sam": sam, "attachment": attachment}
