"""Small factories for realistic test data."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from sqlalchemy import text

from inbox import agents, queries
from inbox.access import Viewer
from inbox.agents import IssuedAgent
from inbox.channel import IdentityClaim, InboundMessage
from inbox.db import Database
from inbox.events import EventRecord, events_since
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


async def make_inbox(
    db: Database, kind: str = "api", name: str | None = None, config: dict[str, Any] | None = None
) -> Inbox:
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
    for kind, value in (
        ("phone", phone),
        ("email", email),
        ("telegram", telegram),
        ("webchat", webchat),
    ):
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


ADMIN = Viewer(agent_id=0, is_admin=True, inbox_ids=frozenset())  # for reading only


async def admin(db: Database) -> Viewer:
    """A real admin agent, for actions that record who did them."""
    issued = await make_agent(db, admin=True, name="Ada Admin")
    return Viewer(agent_id=issued.id, is_admin=True, inbox_ids=frozenset())


async def customer(db: Database, customer_id: int) -> dict[str, Any]:
    """The customer as the REST API shows it to an admin."""
    async with db.read() as session:
        return await queries.customer_detail(session, ADMIN, customer_id)


async def timeline(db: Database, customer_id: int) -> list[dict[str, Any]]:
    async with db.read() as session:
        return (await queries.customer_timeline(session, ADMIN, customer_id, limit=200)).items


async def events(db: Database, since: int = 0) -> list[EventRecord]:
    async with db.read() as session:
        return await events_since(session, since, None, 1000)


async def count(db: Database, table: str) -> int:
    async with db.read() as session:
        return int(await session.scalar(text(f"SELECT COUNT(*) FROM {table}")) or 0)
