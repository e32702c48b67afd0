"""An agent's own account: what their profile page shows, and changing their own password."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.agents import authenticate_password, set_password
from inbox.db import Database
from inbox.errors import Invalid, NotFound
from inbox.models import Agent


@dataclass(frozen=True)
class Profile:
    name: str
    email: str
    avatar_url: str | None


async def own_profile(session: AsyncSession, agent_id: int) -> Profile:
    """The signed-in agent's name, email and avatar."""
    agent = await _agent(session, agent_id)
    return Profile(agent.name, agent.email, agent.avatar_url)


async def _agent(session: AsyncSession, agent_id: int) -> Agent:
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise NotFound("agent not found")
    return agent


class WrongPassword(Invalid):
    """The current password given to change it did not match."""


async def change_own_password(
    db: Database, agent_id: int, current: str, new: str, repeated: str
) -> Agent:
    """Set a new password after checking the current one; every other session, socket and the
    API token are revoked with it (as any password change does). Answers the agent as now
    stored, so the session that asked can be renewed."""
    if new != repeated:
        raise Invalid("the new passwords do not match")
    async with db.read() as session:
        email = (await _agent(session, agent_id)).email
        if await authenticate_password(session, email, current) is None:
            raise WrongPassword("the current password is wrong")
    await set_password(db, email, new)
    async with db.read() as session:
        return await _agent(session, agent_id)
