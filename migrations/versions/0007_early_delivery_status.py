"""outbox: status reports that arrive before the send is recorded

Revision ID: 0007_early_delivery_status
Revises: 0006_search_prefix

Providers may call back before the dispatcher has stored the provider's message id (Twilio's
"queued"/"sent" often do); those reports wait here and are applied when the send is recorded.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_early_delivery_status"
down_revision = "0006_search_prefix"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "early_delivery_status",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("inbox_id", sa.Integer(), sa.ForeignKey("inbox.id"), nullable=False),
        sa.Column("external_id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.String(1000), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_early_delivery_status_message",
        "early_delivery_status",
        ["inbox_id", "external_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_early_delivery_status_message", "early_delivery_status")
    op.drop_table("early_delivery_status")
