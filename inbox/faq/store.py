"""The knowledge base: create, change, delete and import FAQ entries (each a write + event)."""

from __future__ import annotations

import re
import secrets
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.db import Database, Tx
from inbox.errors import Invalid, NotFound
from inbox.faq.models import FaqEntry, FaqState, entry_object
from inbox.faq.state import write_state
from inbox.models import is_id, utcnow

KB_VERSION = "kb_version"
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-zA-Z0-9]{2,8})?$")
LIMITS = {"question": 1000, "answer": 5000, "answer_rich": 20000}
MAX_ALTERNATIVES, MAX_TAGS = 50, 20
FIELDS = {"question", "alternatives", "answer", "answer_rich", "language", "tags", "enabled"}


def check_entry(data: Any, *, partial: bool = False) -> dict[str, Any]:
    """Validate an entry's fields (all required ones unless `partial`); 400 on bad input."""
    if not isinstance(data, dict):
        raise Invalid("an FAQ entry must be an object")
    unknown = set(data) - FIELDS - {"id", "created_at", "updated_at"}
    if unknown:
        raise Invalid(f"unknown fields: {', '.join(sorted(map(str, unknown)))}")
    out: dict[str, Any] = {}
    for key in ("question", "answer"):
        if key in data or not partial:
            out[key] = _text(data.get(key), key, LIMITS[key], required=True)
    if data.get("answer_rich") is not None:
        out["answer_rich"] = _text(data["answer_rich"], "answer_rich", LIMITS["answer_rich"])
    elif "answer_rich" in data:
        out["answer_rich"] = None
    if "language" in data or not partial:
        language = data.get("language") or "en"
        if not isinstance(language, str) or not LANGUAGE.match(language.strip()):
            raise Invalid("language must be a language code such as en or ko")
        out["language"] = language.strip().lower()
    for key, most in (("alternatives", MAX_ALTERNATIVES), ("tags", MAX_TAGS)):
        if key in data or not partial:
            out[key] = _strings(data.get(key) or [], key, most)
    if "enabled" in data:
        if not isinstance(data["enabled"], bool):
            raise Invalid("enabled must be true or false")
        out["enabled"] = data["enabled"]
    return out


def _text(value: Any, name: str, limit: int, required: bool = False) -> str:
    if not isinstance(value, str) or (required and not value.strip()):
        raise Invalid(f"{name} is required and must be text")
    if "\x00" in value:
        raise Invalid("NUL characters are not allowed")
    if len(value) > limit:
        raise Invalid(f"{name} is longer than {limit} characters")
    return value.strip()


def _strings(value: Any, name: str, most: int) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid(f"{name} must be a list of strings")
    items = [v.strip() for v in value if v.strip()]
    if len(items) > most:
        raise Invalid(f"at most {most} {name}")
    return [_text(v, name, LIMITS["question"]) for v in items]


async def bump_version(tx: Tx) -> None:
    """Tell every process's matcher that the entries changed (a fresh random version)."""
    await write_state(tx, KB_VERSION, secrets.token_hex(8))


async def kb_version(session: AsyncSession) -> str:
    """The knowledge base's current version ("" before the first entry)."""
    row = await session.get(FaqState, KB_VERSION)
    return row.value if row else ""


async def list_entries(session: AsyncSession, enabled_only: bool = False) -> list[FaqEntry]:
    query = select(FaqEntry).order_by(FaqEntry.id)  # type: ignore[arg-type]
    if enabled_only:
        query = query.where(FaqEntry.enabled == True)  # noqa: E712
    return list((await session.exec(query)).all())


async def find_entries(
    session: AsyncSession,
    text: str = "",
    language: str | None = None,
    enabled: bool | None = None,
) -> list[FaqEntry]:
    """Entries whose question, alternatives, answer or tags contain `text` (any case), of one
    language and enabled state when given (the admin list's search; the table is small)."""
    needle = text.strip().casefold()
    found = []
    for entry in await list_entries(session):
        if language and entry.language != language:
            continue
        if enabled is not None and entry.enabled != enabled:
            continue
        haystack = [entry.question, entry.answer, *entry.alternatives, *entry.tags]
        if needle and not any(needle in part.casefold() for part in haystack):
            continue
        found.append(entry)
    return found


async def get_entry(session: AsyncSession, entry_id: int) -> FaqEntry:
    entry = await session.get(FaqEntry, entry_id) if is_id(entry_id) else None
    if entry is None:
        raise NotFound("FAQ entry not found")
    return entry


async def create_entry(db: Database, data: Any) -> dict[str, Any]:
    """Add an entry to the knowledge base."""
    fields = check_entry(data)

    async def work(tx: Tx) -> dict[str, Any]:
        entry = FaqEntry(**fields)
        tx.session.add(entry)
        await tx.session.flush()
        await bump_version(tx)
        tx.emit("faq.created", entry_object(entry))
        return entry_object(entry)

    return await db.run_write(work)


async def update_entry(db: Database, entry_id: int, data: Any) -> dict[str, Any]:
    """Change the given fields of an entry; the next match uses them."""
    fields = check_entry(data, partial=True)

    async def work(tx: Tx) -> dict[str, Any]:
        entry = await get_entry(tx.session, entry_id)
        for key, value in fields.items():
            setattr(entry, key, value)
        entry.updated_at = utcnow()
        tx.session.add(entry)
        await tx.session.flush()
        await bump_version(tx)
        tx.emit("faq.updated", entry_object(entry))
        return entry_object(entry)

    return await db.run_write(work)


async def delete_entry(db: Database, entry_id: int) -> None:
    """Remove an entry (past bot answers keep its id and score)."""

    async def work(tx: Tx) -> None:
        entry = await get_entry(tx.session, entry_id)
        await tx.session.delete(entry)
        await bump_version(tx)
        tx.emit("faq.deleted", {"id": entry_id})

    await db.run_write(work)


async def import_entries(db: Database, items: list[Any]) -> tuple[int, int]:
    """Add or update (same question and language) entries; returns (created, updated)."""
    checked = []
    for number, item in enumerate(items, start=1):
        try:
            checked.append(check_entry(item))
        except Invalid as exc:
            raise Invalid(f"entry {number}: {exc}") from None

    async def work(tx: Tx) -> tuple[int, int]:
        existing = {(e.question, e.language): e for e in await list_entries(tx.session)}
        created = updated = 0
        for fields in checked:
            entry = existing.get((fields["question"], fields["language"]))
            if entry is None:
                entry = FaqEntry(**fields)
                existing[(entry.question, entry.language)] = entry
                created += 1
            else:
                for key, value in fields.items():
                    setattr(entry, key, value)
                entry.updated_at = utcnow()
                updated += 1
            tx.session.add(entry)
        await tx.session.flush()
        await bump_version(tx)
        return created, updated

    return await db.run_write(work)
