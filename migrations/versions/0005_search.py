"""search: a stored tsvector on PostgreSQL; joins the channel branches

Revision ID: 0005_search
Revises: 0003_twilio_opt_out, 0004_faq

Computing `to_tsvector` per row made the planner's only fast plan a full bitmap of every match,
sorted afterwards: common words ("refund", "배송") cost hundreds of milliseconds. A stored,
GIN-indexed column lets it choose between that and walking the newest rows backwards until a
page is full. SQLite's FTS5 already keeps its documents indexed; nothing changes there.
"""

from __future__ import annotations

from alembic import op

revision = "0005_search"
down_revision = ("0003_twilio_opt_out", "0004_faq")
branch_labels = None
depends_on = None

TABLES = (("message_search", "message_id"), ("customer_search", "customer_id"))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, _key in TABLES:
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN doc tsvector "
            "GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED"
        )
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_body")
        op.execute(f"CREATE INDEX ix_{table}_doc ON {table} USING gin (doc)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, _key in TABLES:
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_doc")
        op.execute(f"ALTER TABLE {table} DROP COLUMN doc")
        op.execute(
            f"CREATE INDEX ix_{table}_body ON {table} USING gin (to_tsvector('simple', body))"
        )
