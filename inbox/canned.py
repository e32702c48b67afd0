"""Canned replies: shared ones (admins manage them) and personal ones (each agent their own)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import Text, or_
from sqlmodel import Column, Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.access import Viewer
from inbox.db import Database, Tx
from inbox.errors import Conflict, Invalid, NotFound
from inbox.models import utcnow
from inbox.objects import iso

SHORTCUT = re.compile(r"^[^\W_][\w-]{0,31}$")
LIMITS = {"title": 200, "body": 10_000}
FIELDS = {"shortcut", "title", "body", "shared"}
MAX_RESULTS = 50


class NotAllowed(PermissionError):
    """The agent's role does not allow this (403): shared replies are the admins'."""


class CannedReply(SQLModel, table=True):
    __tablename__ = "canned_reply"
    id: int | None = Field(default=None, primary_key=True)
    shortcut: str = Field(max_length=32)
    title: str = Field(max_length=200)
    body: str = Field(sa_column=Column(Text, nullable=False))
    owner_id: int | None = Field(default=None, foreign_key="agent.id")  # None: shared
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


def canned_object(reply: CannedReply) -> dict[str, Any]:
    return {
        "id": reply.id,
        "shortcut": reply.shortcut,
        "title": reply.title,
        "body": reply.body,
        "shared": reply.owner_id is None,
        "owner_id": reply.owner_id,
        "created_at": iso(reply.created_at),
        "updated_at": iso(reply.updated_at),
    }


def check_reply(data: Any, *, partial: bool = False) -> dict[str, Any]:
    """Validate a reply's fields (all of them unless `partial`); 400 on bad input."""
    if not isinstance(data, dict):
        raise Invalid("a canned reply must be an object")
    unknown = set(data) - FIELDS - {"id", "owner_id", "created_at", "updated_at"}
    if unknown:
        raise Invalid(f"unknown fields: {', '.join(sorted(map(str, unknown)))}")
    out: dict[str, Any] = {}
    if "shortcut" in data or not partial:
        shortcut = data.get("shortcut")
        if not isinstance(shortcut, str) or not SHORTCUT.match(shortcut.strip().lstrip("/")):
            raise Invalid("shortcut must be 1-32 letters, digits, - or _ (e.g. thanks)")
        out["shortcut"] = shortcut.strip().lstrip("/").lower()
    for key, limit in LIMITS.items():
        if key in data or not partial:
            value = data.get(key)
            if not isinstance(value, str) or not value.strip():
                raise Invalid("%(field)s is required and must be text", field=key)
            if len(value) > limit or "\x00" in value:
                raise Invalid(
                    "%(field)s must be at most %(limit)s characters of text", field=key, limit=limit
                )
            out[key] = value.strip() if key == "title" else value
    if "shared" in data:
        if not isinstance(data["shared"], bool):
            raise Invalid("shared must be true or false")
        out["shared"] = data["shared"]
    return out


async def list_replies(
    session: AsyncSession, viewer: Viewer, prefix: str = "", *, scope: str = "all"
) -> list[CannedReply]:
    """Shared replies and the viewer's own (`scope` all, shared or mine), by shortcut,
    optionally only those starting with `prefix`."""
    shared = col(CannedReply.owner_id).is_(None)
    mine = col(CannedReply.owner_id) == viewer.agent_id
    query = select(CannedReply).where(
        shared if scope == "shared" else mine if scope == "mine" else or_(shared, mine)
    )
    prefix = prefix.strip().lstrip("/").lower()[:32]
    if prefix:
        query = query.where(col(CannedReply.shortcut).startswith(prefix, autoescape=True))
    order = (col(CannedReply.shortcut), col(CannedReply.owner_id), col(CannedReply.id))
    query = query.order_by(*order).limit(MAX_RESULTS if prefix else 1000)
    return list((await session.exec(query)).all())


async def get_reply(session: AsyncSession, viewer: Viewer, reply_id: int) -> CannedReply:
    """A shared reply or one of the viewer's own; anyone else's is 404."""
    reply = await session.get(CannedReply, reply_id)
    if reply is None or reply.owner_id not in (None, viewer.agent_id):
        raise NotFound("canned reply not found")
    return reply


async def create_reply(db: Database, viewer: Viewer, data: Any) -> dict[str, Any]:
    """A new reply: personal unless `shared` (admins only)."""
    fields = check_reply(data)
    shared = fields.pop("shared", False)
    if shared and not viewer.is_admin:
        raise NotAllowed("only admins create shared canned replies")

    async def work(tx: Tx) -> dict[str, Any]:
        owner = None if shared else viewer.agent_id
        await _refuse_taken(tx.session, owner, fields["shortcut"], None)
        reply = CannedReply(owner_id=owner, **fields)
        tx.session.add(reply)
        await tx.session.flush()
        _emit(tx, "canned_reply.created", reply)
        return canned_object(reply)

    return await db.run_write(work, attempts=1)


async def update_reply(db: Database, viewer: Viewer, reply_id: int, data: Any) -> dict[str, Any]:
    """Change the fields given; `shared` cannot be changed (delete and create instead)."""
    fields = check_reply(data, partial=True)

    async def work(tx: Tx) -> dict[str, Any]:
        reply = await _writable(tx.session, viewer, reply_id)
        if "shared" in fields and fields.pop("shared") != (reply.owner_id is None):
            raise Invalid("shared cannot be changed; create a new reply instead")
        if "shortcut" in fields:
            await _refuse_taken(tx.session, reply.owner_id, fields["shortcut"], reply.id)
        for key, value in fields.items():
            setattr(reply, key, value)
        reply.updated_at = utcnow()
        tx.session.add(reply)
        _emit(tx, "canned_reply.updated", reply)
        return canned_object(reply)

    return await db.run_write(work, attempts=1)


async def delete_reply(db: Database, viewer: Viewer, reply_id: int) -> None:
    async def work(tx: Tx) -> None:
        reply = await _writable(tx.session, viewer, reply_id)
        await tx.session.delete(reply)
        _emit(tx, "canned_reply.deleted", reply)

    await db.run_write(work, attempts=1)


async def _writable(session: AsyncSession, viewer: Viewer, reply_id: int) -> CannedReply:
    reply = await get_reply(session, viewer, reply_id)
    if reply.owner_id is None and not viewer.is_admin:
        raise NotAllowed("only admins change shared canned replies")
    return reply


async def _refuse_taken(
    session: AsyncSession, owner: int | None, shortcut: str, own_id: int | None
) -> None:
    query = select(CannedReply.id).where(CannedReply.shortcut == shortcut)
    if owner is None:
        query = query.where(CannedReply.owner_id.is_(None))  # type: ignore[union-attr]
    else:
        query = query.where(CannedReply.owner_id == owner)
    found = await session.scalar(query)
    if found is not None and found != own_id:
        raise Conflict("the shortcut /%(shortcut)s is already taken", shortcut=shortcut)


def _emit(tx: Tx, type_: str, reply: CannedReply) -> None:
    # Admins only (no inbox): the reply box asks again when it opens the picker.
    tx.emit(type_, {"id": reply.id, "shortcut": reply.shortcut, "owner_id": reply.owner_id})
