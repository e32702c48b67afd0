"""Variables in canned replies: `{{customer.name}}` and friends, filled as plain text.

Only the names below are replaced, by plain string substitution; a body is never evaluated as a
template, so `{{ 7*7 }}` or `{{ config }}` stay as typed. An unknown name stays visible so the
agent sees it before sending; a known one without a value (no phone on file) becomes empty.
"""

from __future__ import annotations

import re

from sqlmodel.ext.asyncio.session import AsyncSession

from inbox import queries
from inbox.access import Viewer
from inbox.errors import NotFound
from inbox.models import Agent, is_id

VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")
NAMES = (
    "customer.name",
    "customer.email",
    "customer.phone",
    "agent.name",
    "conversation.id",
)


def fill(body: str, values: dict[str, str]) -> str:
    """The body with each known variable replaced (missing values become empty)."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in NAMES:
            return match.group(0)
        return values.get(name) or ""

    return VARIABLE.sub(replace, body)


async def reply_values(
    session: AsyncSession, viewer: Viewer, conversation_id: int
) -> dict[str, str]:
    """The variables' values for a reply in this conversation (404 when it is not visible)."""
    if not is_id(conversation_id):
        raise NotFound("conversation not found")
    conversation = await queries.conversation_detail(session, viewer, conversation_id)
    customer = await queries.customer_detail(session, viewer, conversation["customer_id"])
    agent = await session.get(Agent, viewer.agent_id)
    values = {
        "customer.name": customer.get("name") or "",
        "agent.name": agent.name if agent is not None else "",
        "conversation.id": str(conversation["id"]),
    }
    for kind in ("email", "phone"):
        found = [i for i in customer["identities"] if i["kind"] == kind]
        found.sort(key=lambda i: not i["verified"])  # a verified address first
        values[f"customer.{kind}"] = found[0]["value"] if found else ""
    return values
