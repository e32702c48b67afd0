"""search: FTS5 prefix indexes on SQLite

Revision ID: 0006_search_prefix
Revises: 0005_search

A prefix query ("refund"*) without a prefix index merges the document lists of every term it
matches before the first row comes out: ~40 ms for a word in a third of a million messages.
With an index for prefixes of 2 to 8 characters it reads one list, newest first, and stops at
a page (<1 ms). Queries use at most 8 characters of a word as the prefix (inbox/search.py).
PostgreSQL is unchanged.
"""

from __future__ import annotations

from alembic import op

revision = "0006_search_prefix"
down_revision = "0005_search"
branch_labels = None
depends_on = None

TABLES = ("message_search", "customer_search")
TOKENIZE = "tokenize='unicode61 remove_diacritics 2'"


def _rebuild(options: str) -> None:
    for table in TABLES:
        op.execute(f"CREATE VIRTUAL TABLE {table}_new USING fts5(body, {options})")
        op.execute(f"INSERT INTO {table}_new (rowid, body) SELECT rowid, body FROM {table}")
        op.execute(f"DROP TABLE {table}")
        op.execute(f"ALTER TABLE {table}_new RENAME TO {table}")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(f"{TOKENIZE}, prefix='2 3 4 5 6 7 8'")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(TOKENIZE)
