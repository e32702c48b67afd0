"""Small factories for realistic test data."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from inbox import agents
from inbox.agents import IssuedAgent
from inbox.channel import IdentityClaim, InboundMessage
from inbox.db import Database
from inbox.models import Inbox

_seq = itertools.count(1)


async def make_agent(
    db: Database,
    email: str | None = None,
    *,
    name: str = "Jamie Agent",
    admin: bool = False,
    inboxes: list[Inbox] = (),  # type: ignore[assignment]
    password: str = "correct horse battery",
) -> IssuedAgent:
    """An agent who belongs to `inboxes`."""
    email = email or f"agent{next(_seq)}@support.example"
    issued = await agents.create_agent(db, email, name, password, admin=admin)
    for inbox in inboxes:
        await agents.add_member(db, email, inbox.id or 0)
    return issued


async def make_inbox(db: Database, kind: str = "api", name: str | None = None,
                     config: dict[str, Any] | None = None) -> Inbox:
    return await agents.create_inbox(db, kind, name or f"{kind} inbox {next(_seq)}", config)


def inbound(
    inbox: Inbox,
    text: str = "Hello, I need help with my order",
    *,
    external_id: str | None = None,
    phone: str | None = None,
    email: str | None = None,
    telegram: str | None = None,
    webchat: str | None = None,
    unverified_email: str | None = None,
    name: str | None = None,
    channel: str | None = None,
    reply_to: tuple[str, ...] = (),
    sent_at: datetime | None = None,
    subject: str | None = None,
) -> InboundMessage:
    """A customer's message as a connector would hand it to ingest()."""
    claims = []
    for kind, value in (("phone", phone), ("email", email), ("telegram", telegram),
                        ("webchat", webchat)):
        if value:
            claims.append(IdentityClaim(kind, value, verified=True))
    if unverified_email:
        claims.append(IdentityClaim("email", unverified_email, verified=False))
    return InboundMessage(
        inbox_id=inbox.id or 0,
        external_id=external_id or f"ext-{next(_seq)}",
        identities=tuple(claims),
        text=text,
        channel=channel or inbox.kind,
        customer_name=name,
        reply_to=reply_to,
        sent_at=sent_at,
        subject=subject,
    )
