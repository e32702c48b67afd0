"""Identity resolution: normalise identities, find or create the one customer, merge, undo."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import phonenumbers
from sqlalchemy import Connection, and_, bindparam, or_, tuple_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from inbox.channel import IdentityClaim, InvalidInbound
from inbox.db import Tx
from inbox.errors import Conflict, NotFound
from inbox.models import Conversation as Conv
from inbox.models import Customer, Identity, MergeRecord, MergeSuggestion, Message, utcnow
from inbox.search import index_customer
from inbox.statements import Prepared, prepared_insert

KINDS = ("phone", "email", "telegram", "webchat", "external")
CUSTOMER = Customer.__table__  # type: ignore[attr-defined]
IDENTITY = Identity.__table__  # type: ignore[attr-defined]
_IDENTITY_OWNER = Prepared(
    select(IDENTITY.c.customer_id, IDENTITY.c.verified, CUSTOMER.c.name)
    .join(CUSTOMER, CUSTOMER.c.id == IDENTITY.c.customer_id)
    .where(IDENTITY.c.kind == bindparam("kind"), IDENTITY.c.value == bindparam("value")),
    result_types=(None, IDENTITY.c.verified.type, None),
)
_INSERT_CUSTOMER = prepared_insert(CUSTOMER, returning="id")
_INSERT_IDENTITY = prepared_insert(IDENTITY)
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")


class MergeRefused(Conflict):
    """The merge or undo cannot be done (already merged, same customer, later merge first)."""


def normalise(kind: str, value: str, region: str = "US") -> tuple[str, str]:
    """Return the canonical `(kind, value)`; WhatsApp numbers become `phone` identities."""
    kind = (kind or "").strip().lower()
    value = (value or "").strip()
    if kind == "whatsapp":
        kind = "phone"
    if kind == "phone":
        return kind, normalise_phone(value, region)
    if kind == "email":
        lowered = value.lower()
        if len(lowered) > 320 or not _EMAIL.match(lowered):
            raise InvalidInbound(f"not an email address: {value[:80]!r}")
        return kind, lowered
    if kind not in KINDS:
        raise InvalidInbound(f"unknown identity kind {kind!r}")
    if not value or len(value) > 255 or any(ord(c) < 32 for c in value):
        raise InvalidInbound(f"invalid {kind} identity")
    return kind, value


def normalise_phone(value: str, region: str = "US") -> str:
    """E.164 form of a phone number, read in `region` when it has no country code."""
    raw = value.strip()
    for prefix in ("whatsapp:", "tel:", "sms:"):
        if raw.lower().startswith(prefix):
            raw = raw[len(prefix) :].strip()
    if len(raw) > 40:
        raise InvalidInbound("phone number too long")
    if raw.isdigit() and len(raw) > 10 and not raw.startswith("0"):
        raw = "+" + raw  # WhatsApp's wa_id and Twilio's WaId come without the plus
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInbound(f"not a phone number: {value[:40]!r}") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidInbound(f"not a possible phone number: {value[:40]!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_claims(claims: Iterable[IdentityClaim], region: str) -> list[IdentityClaim]:
    """Canonical claims without repeats; a verified copy of a claim wins over an unverified."""
    out: dict[tuple[str, str], IdentityClaim] = {}
    for claim in claims:
        kind, value = normalise(claim.kind, claim.value, region)
        seen = out.get((kind, value))
        if seen is None or (claim.verified and not seen.verified):
            out[(kind, value)] = IdentityClaim(kind, value, claim.verified)
    return list(out.values())


@dataclass
class Resolution:
    customer_id: int
    created: bool
    merged: list[MergeRecord]


async def resolve_customer(tx: Tx, claims: Sequence[IdentityClaim], name: str | None) -> Resolution:
    """Find the customer behind the claims, merging customers its verified claims join."""
    session = tx.session
    keys = [(c.kind, c.value) for c in claims]
    rows = (
        await session.exec(
            select(Identity).where(tuple_(Identity.kind, Identity.value).in_(keys))  # type: ignore[arg-type]
        )
    ).all()
    known = {(r.kind, r.value): r for r in rows}
    verified = [c for c in claims if c.verified]
    owners = sorted(
        {
            known[(c.kind, c.value)].customer_id
            for c in verified
            if (c.kind, c.value) in known and known[(c.kind, c.value)].verified
        }
    )
    created = not owners
    if owners:
        customer_id = owners[0]
    else:
        customer = Customer(name=_clean_name(name))
        session.add(customer)
        await session.flush()
        assert customer.id is not None
        customer_id = customer.id
    merges = []
    for other in owners[1:]:
        merges.append(await merge_customers(tx, customer_id, other, reason="verified-identity"))
    changed = created
    for claim in claims:
        row = known.get((claim.kind, claim.value))
        changed = await _link(tx, customer_id, claim, row) or changed
    if name and not created:
        named = await session.execute(
            update(Customer)
            .where(col(Customer.id) == customer_id, col(Customer.name).is_(None))
            .values(name=_clean_name(name))
        )
        changed = changed or bool(named.rowcount)  # type: ignore[attr-defined]
    if changed:
        await reindex_customer(tx, customer_id)
    return Resolution(customer_id, created, merges)


def known_customer(
    conn: Connection, dialect: str, claims: Sequence[IdentityClaim], name: str | None
) -> int | None:
    """The customer the claims resolve to without merging or suggesting anything, else None.

    The hot path: a returning customer writes from identities we know, or a new customer from
    identities nobody has. Claims that would link, upgrade, merge or suggest are left to
    `resolve_customer`.
    """
    # One indexed lookup per claim (messages carry one or two) keeps the statement prepared.
    known = {
        (c.kind, c.value): _IDENTITY_OWNER.one(conn, kind=c.kind, value=c.value) for c in claims
    }
    if not any(known.values()):
        return _create_customer(conn, dialect, claims, name)
    owners = set()
    for claim in claims:
        row = known[(claim.kind, claim.value)]
        if row is None or (claim.verified and not row[1]):
            return None
        owners.add(row[0])
        if name and row[2] is None:
            return None
    return owners.pop() if len(owners) == 1 else None


def _create_customer(
    conn: Connection, dialect: str, claims: Sequence[IdentityClaim], name: str | None
) -> int:
    name, now = _clean_name(name), utcnow()
    customer_id = int(
        _INSERT_CUSTOMER.scalar(conn, name=name, attributes={}, merged_into_id=None, created_at=now)
    )
    for c in claims:
        _INSERT_IDENTITY.rows(
            conn,
            kind=c.kind,
            value=c.value,
            customer_id=customer_id,
            verified=c.verified,
            created_at=now,
        )
    index_customer(conn, dialect, customer_id, [name or "", *(c.value for c in claims)], new=True)
    return customer_id


async def reindex_customer(tx: Tx, customer_id: int) -> None:
    """Refresh what the customer is findable by: name and identity values."""
    session = tx.session
    name = await session.scalar(select(Customer.name).where(Customer.id == customer_id))
    values = (
        (await session.execute(select(Identity.value).where(Identity.customer_id == customer_id)))
        .scalars()
        .all()
    )
    parts = [name or "", *values]
    await session.run_sync(
        lambda sync: index_customer(sync.connection(), tx.dialect, customer_id, parts)
    )


async def _link(tx: Tx, customer_id: int, claim: IdentityClaim, row: Identity | None) -> bool:
    """Attach one claim to the customer, or suggest a merge where it is not proof enough."""
    session = tx.session
    if row is None:
        session.add(
            Identity(
                kind=claim.kind, value=claim.value, customer_id=customer_id, verified=claim.verified
            )
        )
        await session.flush()
        return True
    if row.customer_id == customer_id:
        if claim.verified and not row.verified:
            row.verified = True
            session.add(row)
        return False
    if claim.verified and not row.verified:
        # Someone only claimed this identity; the channel now proves who owns it. The claimant
        # keeps their history apart, and agents decide.
        previous = row.customer_id
        row.customer_id, row.verified = customer_id, True
        session.add(row)
        await session.flush()
        await suggest_merge(tx, customer_id, previous, claim, "claimed-then-verified")
        await reindex_customer(tx, previous)
        return True
    await suggest_merge(tx, customer_id, row.customer_id, claim, "unverified-claim")
    return False


async def suggest_merge(
    tx: Tx, customer_id: int, other_id: int, claim: IdentityClaim, reason: str
) -> MergeSuggestion | None:
    """Record that two customers may be one person, unless that is already pending."""
    session = tx.session
    existing = await session.scalar(
        select(MergeSuggestion.id).where(
            _pair(customer_id, other_id), MergeSuggestion.status == "pending"
        )
    )
    if existing is not None:
        return None
    suggestion = MergeSuggestion(
        customer_id=customer_id,
        other_id=other_id,
        identity_kind=claim.kind,
        identity_value=claim.value,
        reason=reason,
    )
    session.add(suggestion)
    await session.flush()
    inboxes = await customer_inbox_ids(session, [customer_id, other_id])
    tx.emit(
        "merge_suggestion.created",
        {
            "id": suggestion.id,
            "customer_id": customer_id,
            "other_id": other_id,
            "identity": {"kind": claim.kind, "value": claim.value},
            "reason": reason,
        },
        inboxes,
    )
    return suggestion


async def merge_customers(
    tx: Tx, survivor_id: int, merged_id: int, reason: str, agent_id: int | None = None
) -> MergeRecord:
    """Move everything of `merged_id` to `survivor_id`, recorded so it can be undone."""
    session = tx.session
    survivor, merged = await _active_pair(session, survivor_id, merged_id)
    moved = {
        "conversation_ids": await _ids(session, Conv.id, Conv.customer_id == merged_id),
        "message_ids": await _ids(session, Message.id, Message.customer_id == merged_id),
        "identity_ids": await _ids(session, Identity.id, Identity.customer_id == merged_id),
        "survivor_name": survivor.name,
    }
    for model in (Conv, Message, Identity):
        await session.execute(
            update(model).where(col(model.customer_id) == merged_id).values(customer_id=survivor_id)
        )
    merged.merged_into_id = survivor_id
    if survivor.name is None and merged.name:
        survivor.name = merged.name
    session.add_all([merged, survivor])
    await session.execute(
        update(MergeSuggestion)
        .where(col(MergeSuggestion.status) == "pending", _pair(survivor_id, merged_id))
        .values(status="merged", decided_by=agent_id, decided_at=utcnow())
    )
    record = MergeRecord(
        survivor_id=survivor_id, merged_id=merged_id, reason=reason, agent_id=agent_id, moved=moved
    )
    session.add(record)
    await session.flush()
    await reindex_customer(tx, survivor_id)
    await reindex_customer(tx, merged_id)
    inboxes = await customer_inbox_ids(session, [survivor_id])
    tx.emit(
        "customer.merged",
        {
            "survivor_id": survivor_id,
            "merged_id": merged_id,
            "merge_id": record.id,
            "reason": reason,
        },
        inboxes,
    )
    return record


async def undo_merge(tx: Tx, merge_id: int, agent_id: int | None = None) -> MergeRecord:
    """Move back exactly what a merge moved (what arrived since stays with the survivor)."""
    session = tx.session
    record = await session.get(MergeRecord, merge_id)
    if record is None:
        raise NotFound("merge not found")
    if record.undone_at is not None:
        raise MergeRefused("this merge was already undone")
    survivor = await session.get(Customer, record.survivor_id)
    merged = await session.get(Customer, record.merged_id)
    assert survivor is not None and merged is not None
    if survivor.merged_into_id is not None:
        raise MergeRefused("the surviving customer was merged again since; undo that first")
    moved = record.moved
    for model, key in (
        (Conv, "conversation_ids"),
        (Message, "message_ids"),
        (Identity, "identity_ids"),
    ):
        ids = moved.get(key) or []
        for chunk in _chunks(ids, 500):
            await session.execute(
                update(model)
                .where(col(model.id).in_(chunk), col(model.customer_id) == survivor.id)
                .values(customer_id=merged.id)
            )
    merged.merged_into_id = None
    survivor.name = moved.get("survivor_name", survivor.name)
    record.undone_at = utcnow()
    session.add_all([merged, survivor, record])
    await session.flush()
    await reindex_customer(tx, survivor.id or 0)
    await reindex_customer(tx, merged.id or 0)
    inboxes = await customer_inbox_ids(session, [survivor.id or 0, merged.id or 0])
    tx.emit(
        "customer.unmerged",
        {"survivor_id": survivor.id, "merged_id": merged.id, "merge_id": record.id},
        inboxes,
    )
    return record


async def customer_inbox_ids(session: AsyncSession, customer_ids: Sequence[int]) -> set[int]:
    """Inboxes holding messages of these customers: who may hear about them."""
    rows = await session.execute(
        select(Message.inbox_id).distinct().where(Message.customer_id.in_(customer_ids))  # type: ignore[attr-defined]
    )
    return {r[0] for r in rows}


async def _active_pair(session: AsyncSession, a: int, b: int) -> tuple[Customer, Customer]:
    if a == b:
        raise MergeRefused("a customer cannot be merged with itself")
    first, second = await session.get(Customer, a), await session.get(Customer, b)
    if first is None or second is None:
        raise NotFound("customer not found")
    if first.merged_into_id is not None or second.merged_into_id is not None:
        raise MergeRefused("one of these customers was already merged into another")
    return first, second


def _pair(a: int, b: int) -> Any:
    return or_(
        and_(col(MergeSuggestion.customer_id) == a, col(MergeSuggestion.other_id) == b),
        and_(col(MergeSuggestion.customer_id) == b, col(MergeSuggestion.other_id) == a),
    )


async def _ids(session: AsyncSession, column: object, condition: object) -> list[int]:
    return list((await session.execute(select(column).where(condition))).scalars().all())  # type: ignore[call-overload]


def _chunks(ids: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _clean_name(name: str | None) -> str | None:
    if not name:
        return None
    cleaned = "".join(c for c in name if c.isprintable()).strip()
    return cleaned[:200] or None
