"""canned replies: shared (admins) and personal (one agent's) reply templates

Revision ID: 0011_canned_replies
Revises: 0007_early_delivery_status

A shortcut is unique among the shared replies and among each agent's own; the reply box looks
them up by prefix, so both lookups have an index that starts with the shortcut's owner.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_canned_replies"
down_revision = "0007_early_delivery_status"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "canned_reply",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("shortcut", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), sa.ForeignKey("agent.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    shared = sa.text("owner_id IS NULL")
    op.create_index(
        "uq_canned_reply_shared_shortcut",
        "canned_reply",
        ["shortcut"],
        unique=True,
        sqlite_where=shared,
        postgresql_where=shared,
    )
    op.create_index(
        "uq_canned_reply_owner_shortcut", "canned_reply", ["owner_id", "shortcut"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_canned_reply_owner_shortcut", "canned_reply")
    op.drop_index("uq_canned_reply_shared_shortcut", "canned_reply")
    op.drop_table("canned_reply")
