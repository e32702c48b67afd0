"""Agents and inboxes: accounts, passwords, bearer tokens, membership."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.access import Viewer
from inbox.db import Database, Tx
from inbox.errors import Conflict, Invalid, NotFound
from inbox.identity import normalise
from inbox.models import Agent, Inbox, InboxMember, Role

_hasher = PasswordHasher()
AGENT_TOKEN_PREFIX = "agt_"
INBOX_TOKEN_PREFIX = "inb_"
# Verifying against this keeps a login for an unknown email as slow as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password")


@dataclass(frozen=True)
class IssuedAgent:
    id: int
    email: str
    name: str
    role: str
    token: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_agent_token() -> str:
    return AGENT_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_inbox_token() -> str:
    return INBOX_TOKEN_PREFIX + secrets.token_urlsafe(32)


async def create_agent(
    db: Database, email: str, name: str, password: str, admin: bool = False
) -> IssuedAgent:
    """Create an agent with a hashed password and a fresh API token."""
    _, address = normalise("email", email)
    if len(password) < 8:
        raise Invalid("password must be at least 8 characters")
    if not name.strip():
        raise Invalid("name is required")
    token = new_agent_token()

    async def work(tx: Tx) -> IssuedAgent:
        if await tx.session.scalar(select(Agent.id).where(Agent.email == address)):
            raise Conflict("an agent with email %(email)s already exists", email=address)
        agent = Agent(
            email=address,
            name=name.strip()[:200],
            password_hash=_hasher.hash(password),
            role=Role.admin if admin else Role.agent,
            token_hash=hash_token(token),
        )
        tx.session.add(agent)
        await tx.session.flush()
        return IssuedAgent(agent.id or 0, agent.email, agent.name, agent.role, token)

    return await db.run_write(work, attempts=1)


async def reset_token(db: Database, email: str) -> IssuedAgent:
    """Issue a new API token for an agent; the old one stops working at once."""
    token = new_agent_token()

    async def work(tx: Tx) -> IssuedAgent:
        agent = await _agent_by_email(tx.session, email)
        agent.token_hash = hash_token(token)
        tx.session.add(agent)
        return IssuedAgent(agent.id or 0, agent.email, agent.name, agent.role, token)

    return await db.run_write(work)


async def set_password(db: Database, email: str, password: str) -> None:
    """Change a password; the agent's tokens, sessions and sockets are revoked with it."""
    if len(password) < 8:
        raise Invalid("password must be at least 8 characters")

    async def work(tx: Tx) -> None:
        agent = await _agent_by_email(tx.session, email)
        agent.password_hash = _hasher.hash(password)
        agent.token_hash = None
        agent.session_version += 1
        tx.session.add(agent)
        tx.emit("agent.revoked", {"agent_id": agent.id}, ())

    await db.run_write(work)


async def set_role(db: Database, agent_id: int, role: str) -> None:
    """Make an agent an admin or a plain agent; the last active admin stays an admin."""
    if role not in Role.__members__:
        raise Invalid("role must be admin or agent")

    async def work(tx: Tx) -> None:
        agent = await _agent_by_id(tx.session, agent_id)
        if agent.role == Role.admin and role != Role.admin:
            await _keep_an_admin(tx.session, agent)
        agent.role = role
        tx.session.add(agent)
        tx.emit("agent.updated", {"agent_id": agent.id, "role": role, "active": agent.active})
        # Open sockets were scoped with the old role; closing them makes them reconnect anew.
        tx.emit("agent.revoked", {"agent_id": agent.id, "reason": "role"}, ())

    await db.run_write(work)


async def set_active(db: Database, agent_id: int, active: bool) -> None:
    """Deactivate (tokens, sessions and sockets revoked, as a password change) or reactivate."""

    async def work(tx: Tx) -> None:
        agent = await _agent_by_id(tx.session, agent_id)
        if agent.active == active:
            return
        if not active:
            if agent.role == Role.admin:
                await _keep_an_admin(tx.session, agent)
            agent.token_hash = None
            agent.session_version += 1
            tx.emit("agent.revoked", {"agent_id": agent.id, "reason": "deactivated"}, ())
        agent.active = active
        tx.session.add(agent)
        tx.emit("agent.updated", {"agent_id": agent.id, "role": agent.role, "active": active})

    await db.run_write(work)


async def agent_exists(session: AsyncSession, email: str) -> bool:
    """Whether an agent (active or not) has this email."""
    found = await session.scalar(select(Agent.id).where(Agent.email == email.strip().lower()))
    return found is not None


async def list_agents(session: AsyncSession) -> list[Agent]:
    """Every agent, by name."""
    return list((await session.exec(select(Agent).order_by(col(Agent.name), col(Agent.id)))).all())


async def _keep_an_admin(session: AsyncSession, leaving: Agent) -> None:
    others = await session.scalar(
        select(func.count())
        .select_from(Agent)
        .where(Agent.role == Role.admin, Agent.active, Agent.id != leaving.id)  # type: ignore[arg-type]
    )
    if not others:
        raise Conflict("this is the last active admin; make another agent an admin first")


async def _agent_by_id(session: AsyncSession, agent_id: int) -> Agent:
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise NotFound(f"agent {agent_id} not found")
    return agent


LOCALES = ("en", "ko")


async def set_locale(db: Database, agent_id: int, locale: str) -> None:
    """The agent's UI language (English or Korean), kept in any browser from now on."""
    if locale not in LOCALES:
        raise Invalid(f"locale must be one of {', '.join(LOCALES)}")

    async def work(tx: Tx) -> None:
        agent = await tx.session.get(Agent, agent_id)
        if agent is None:
            raise Invalid("no such agent")
        agent.locale = locale
        agent.locale_chosen = True
        tx.session.add(agent)

    await db.run_write(work)


def valid_time_zone(name: str) -> str:
    """An IANA time zone name zoneinfo knows, else Invalid."""
    name = name.strip()
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        raise Invalid("time zone must be an IANA name such as Asia/Seoul")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid("unknown time zone: %(zone)s", zone=name) from None
    return name


async def set_time_zone(
    db: Database, agent_id: int, name: str, *, only_unset: bool = False
) -> None:
    """The agent's time zone; with `only_unset`, only when none is set yet (the first login)."""
    zone = valid_time_zone(name)

    async def work(tx: Tx) -> None:
        agent = await tx.session.get(Agent, agent_id)
        if agent is None:
            raise Invalid("no such agent")
        if only_unset and agent.time_zone:
            return
        agent.time_zone = zone
        tx.session.add(agent)

    await db.run_write(work)


async def authenticate_password(session: AsyncSession, email: str, password: str) -> Agent | None:
    """The active agent with this email and password, or None."""
    agent = await session.scalar(select(Agent).where(Agent.email == email.strip().lower()))
    try:
        _hasher.verify(agent.password_hash if agent else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    return agent if agent is not None and agent.active else None


async def viewer_by_token(session: AsyncSession, token: str) -> Viewer | None:
    """The viewer behind an agent's API token, if the agent is active (agent tokens only)."""
    if not token.startswith(AGENT_TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = hash_token(token)
    found = await _agent_with_inboxes(session, Agent.token_hash == digest)
    if found is None or not hmac.compare_digest(found[0].token_hash or "", digest):
        return None
    return _viewer(*found)


async def viewer_by_session(session: AsyncSession, agent_id: int, version: Any) -> Viewer | None:
    """The viewer of a browser session, unless it was revoked (password change, disabled)."""
    found = await _agent_with_inboxes(session, Agent.id == agent_id)
    if found is None or found[0].session_version != version:
        return None
    return _viewer(*found)


async def _agent_with_inboxes(
    session: AsyncSession, condition: Any
) -> tuple[Agent, frozenset[int]] | None:
    """An active agent and the inboxes they belong to, in one round trip (every request asks)."""
    rows = (
        await session.execute(
            select(Agent, InboxMember.inbox_id)
            .outerjoin(InboxMember, col(InboxMember.agent_id) == Agent.id)
            .where(condition)
        )
    ).all()
    if not rows or not rows[0][0].active:
        return None
    return rows[0][0], frozenset(inbox for _, inbox in rows if inbox is not None)


def _viewer(agent: Agent, inboxes: frozenset[int]) -> Viewer:
    return Viewer(
        agent.id or 0,
        agent.role == Role.admin,
        inboxes,
        agent.locale if agent.locale_chosen else "",  # "": the browser's language
        agent.time_zone or "",
    )


async def create_inbox(
    db: Database, kind: str, name: str, config: dict[str, Any] | None = None
) -> Inbox:
    """Create an inbox (one connected account or number) with its own token."""
    if not name.strip():
        raise Invalid("name is required")
    if not isinstance(config or {}, dict):
        raise Invalid("config must be a JSON object")

    async def work(tx: Tx) -> Inbox:
        inbox = Inbox(
            kind=kind, name=name.strip()[:200], config=dict(config or {}), token=new_inbox_token()
        )
        tx.session.add(inbox)
        await tx.session.flush()
        return inbox

    return await db.run_write(work, attempts=1)


async def add_member(db: Database, email: str, inbox_id: int, *, announce: bool = False) -> None:
    """Let an agent work an inbox; with `announce`, their open sockets reconnect to see it."""

    async def work(tx: Tx) -> None:
        agent = await _agent_by_email(tx.session, email)
        if await tx.session.get(Inbox, inbox_id) is None:
            raise NotFound(f"inbox {inbox_id} not found")
        if await tx.session.get(InboxMember, (agent.id, inbox_id)) is None:
            tx.session.add(InboxMember(agent_id=agent.id or 0, inbox_id=inbox_id))
            if announce:  # the admin pages; the CLI and test set-up need no sockets told
                tx.emit("inbox.member_added", {"inbox_id": inbox_id, "agent_id": agent.id})
                tx.emit("agent.revoked", {"agent_id": agent.id, "reason": "membership"}, ())

    await db.run_write(work)


async def remove_member(db: Database, email: str, inbox_id: int) -> None:
    """Stop an agent working an inbox; their open sockets lose it at once."""

    async def work(tx: Tx) -> None:
        agent = await _agent_by_email(tx.session, email)
        removed = await tx.session.execute(
            delete(InboxMember).where(
                col(InboxMember.agent_id) == agent.id,
                col(InboxMember.inbox_id) == inbox_id,
            )
        )
        if removed.rowcount:  # type: ignore[attr-defined]
            tx.emit("inbox.member_removed", {"inbox_id": inbox_id, "agent_id": agent.id})
            # The agent's open sockets still carry this inbox; closing them drops it at once.
            tx.emit("agent.revoked", {"agent_id": agent.id, "reason": "membership"}, ())

    await db.run_write(work)


def inbox_token_matches(inbox: Inbox, token: str) -> bool:
    """Constant-time check of an inbox's own token."""
    return hmac.compare_digest(inbox.token.encode(), token.encode())


async def _agent_by_email(session: AsyncSession, email: str) -> Agent:
    agent = await session.scalar(select(Agent).where(Agent.email == email.strip().lower()))
    if agent is None:
        raise NotFound(f"no agent with email {email}")
    return agent
