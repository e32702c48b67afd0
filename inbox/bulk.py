"""Synthetic data in bulk for benchmarks at scale: plain multi-row inserts, no pipeline.

`inbox demo --customers N --messages M` calls this after the story; it is not how messages
arrive (that is `inbox.ingest`), only a fast way to fill a database a million messages deep.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, text
from sqlmodel import col, select

from inbox.db import Database
from inbox.models import Conversation, Customer, Identity, Inbox, Message, utcnow
from inbox.search import index_terms

Progress = Callable[[str, int, int, float], None]  # what, done, total, started (monotonic)


async def bulk_load(
    db: Database, customers: int, messages: int, progress: Progress = lambda *_: None
) -> None:
    """Insert synthetic customers, conversations and messages fast (benchmarks at scale)."""
    rng = random.Random(7)
    async with db.read() as session:
        inbox_rows = (await session.execute(select(Inbox.id, Inbox.kind))).all()
        first_customer = await session.scalar(text("SELECT COALESCE(MAX(id), 0) FROM customer"))
    if not inbox_rows:
        raise SystemExit("create inboxes first (run `inbox demo` without options)")
    started = time.monotonic()
    now = utcnow()
    words = (
        "order refund shipping invoice password delivery 배송 환불 주문 결제 교환 "
        "late broken thanks help address change 문의 확인 부탁 감사"
    ).split()
    chunk = 5000
    conversation_of: list[tuple[int, int, Any]] = []
    for start in range(0, customers, chunk):
        count = min(chunk, customers - start)
        async with db.write() as tx:
            base = int(first_customer or 0) + start
            cust_rows = [
                {
                    "id": base + i + 1,
                    "name": f"Customer {base + i + 1}",
                    "attributes": {},
                    "created_at": now,
                }
                for i in range(count)
            ]
            await tx.session.execute(insert(Customer), cust_rows)
            await tx.session.execute(
                insert(Identity),
                [
                    {
                        "kind": "email",
                        "value": f"customer{r['id']}@bulk.example",
                        "customer_id": r["id"],
                        "verified": True,
                        "created_at": now,
                    }
                    for r in cust_rows
                ],
            )
            key = "rowid" if tx.dialect == "sqlite" else "customer_id"
            await tx.session.execute(
                text(f"INSERT INTO customer_search ({key}, body) VALUES (:id, :body)"),
                [
                    {
                        "id": r["id"],
                        "body": index_terms(f"{r['name']} customer{r['id']}@bulk.example"),
                    }
                    for r in cust_rows
                ],
            )
            conv_rows = []
            for r in cust_rows:
                inbox_id, _ = rng.choice(inbox_rows)
                last = now - timedelta(minutes=rng.randint(0, 60 * 24 * 90))
                conv_rows.append(
                    {
                        "customer_id": r["id"],
                        "inbox_id": inbox_id,
                        "status": rng.choice(("open", "open", "pending", "resolved")),
                        "created_at": last,
                        "last_message_at": last,
                    }
                )
            result = await tx.session.execute(
                insert(Conversation).returning(
                    col(Conversation.id), col(Conversation.customer_id), col(Conversation.inbox_id)
                ),
                conv_rows,
            )
            conversation_of.extend((row[0], row[1], row[2]) for row in result.all())
        progress("customers", start + count, customers, started)
    kinds = dict(inbox_rows)
    for start in range(0, messages, chunk):
        count = min(chunk, messages - start)
        rows = []
        for _ in range(count):
            cid, customer_id, inbox_id = rng.choice(conversation_of)
            body = " ".join(rng.choice(words) for _ in range(rng.randint(4, 14)))
            inbound = rng.random() < 0.6
            rows.append(
                {
                    "conversation_id": cid,
                    "customer_id": customer_id,
                    "inbox_id": inbox_id,
                    "channel": kinds[inbox_id],
                    "direction": "in" if inbound else "out",
                    "author": "customer" if inbound else "agent",
                    "text": body,
                    "stripped_text": body,
                    "status": "received" if inbound else "delivered",
                    "private": False,
                    "meta": {},
                    "created_at": now - timedelta(seconds=rng.randint(0, 90 * 86400)),
                    "received_at": now,
                }
            )
        async with db.write() as tx:
            result = await tx.session.execute(insert(Message).returning(col(Message.id)), rows)
            ids = [r[0] for r in result.all()]
            key = "rowid" if tx.dialect == "sqlite" else "message_id"
            await tx.session.execute(
                text(f"INSERT INTO message_search ({key}, body) VALUES (:id, :body)"),
                [{"id": i, "body": index_terms(r["text"])} for i, r in zip(ids, rows, strict=True)],
            )
        progress("messages", start + count, messages, started)
