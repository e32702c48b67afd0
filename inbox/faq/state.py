"""Named values in `faq_state`: the bot's event-log cursor and the knowledge base's version."""

from __future__ import annotations

from sqlalchemy import text

from inbox.db import Tx
from inbox.faq.models import FaqState
from inbox.models import utcnow


async def write_state(tx: Tx, name: str, value: str) -> None:
    """Insert or replace one value, in the caller's transaction."""
    row = await tx.session.get(FaqState, name)
    if row is None:
        row = FaqState(name=name, value=value)
    row.value, row.updated_at = value, utcnow()
    tx.session.add(row)
    await tx.session.flush()


async def lock_state(tx: Tx, name: str) -> str | None:
    """Read a value, holding its row until commit (PostgreSQL: other workers wait here)."""
    lock = " FOR UPDATE" if tx.dialect == "postgresql" else ""
    result = await tx.session.execute(
        text(f"SELECT value FROM faq_state WHERE name = :name{lock}"), {"name": name}
    )
    return result.scalar_one_or_none()
