"""Agents' avatars: the picture the chat widget shows beside an agent's replies."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.db import Database, Tx
from inbox.errors import Invalid, NotFound
from inbox.models import Agent

MAX_URL = 500


def check_avatar_url(url: str | None) -> str | None:
    """An absolute http(s) image URL, or None to fall back to the widget's initials."""
    if url is None or not url.strip():
        return None
    url = url.strip()
    parts = urlsplit(url)
    # The widget puts it in an <img src> on customers' pages: no javascript:, data: or paths.
    if len(url) > MAX_URL or parts.scheme not in ("https", "http") or not parts.hostname:
        raise Invalid(
            "avatar_url must be an http(s) URL of at most %(most)s characters", most=MAX_URL
        )
    if any(c.isspace() or not c.isprintable() for c in url):
        raise Invalid("avatar_url must not contain spaces or control characters")
    return url


async def set_avatar(db: Database, agent_id: int, url: str | None) -> str | None:
    """Set (or clear, with None) the agent's avatar URL; answers the stored value."""
    checked = check_avatar_url(url)

    async def work(tx: Tx) -> str | None:
        agent = await tx.session.get(Agent, agent_id)
        if agent is None:
            raise NotFound("agent not found")
        agent.avatar_url = checked
        tx.session.add(agent)
        return checked

    return await db.run_write(work)


async def agent_face(session: AsyncSession, agent_id: int) -> tuple[str | None, str | None]:
    """The agent's name and avatar URL, as the widget shows them."""
    agent = await session.get(Agent, agent_id)
    return (None, None) if agent is None else (agent.name, agent.avatar_url)
