"""labels on conversations, per-agent read markers, and an index for Mine/Unassigned by status

Revision ID: 0010_labels
Revises: 0007_early_delivery_status

A label is created on first use and shared by every inbox; `conversation_label` links it to
conversations (looked up both ways: a card's labels, and the list filtered by one label).
`read_marker` remembers the newest message an agent has seen in a conversation, so unread is
"customer messages after the marker". The list's default views filter by assignee and status
together, which neither single-column index serves in last-activity order.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_labels"
down_revision = "0007_early_delivery_status"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "label",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(40), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "conversation_label",
        sa.Column(
            "conversation_id", sa.Integer(), sa.ForeignKey("conversation.id"), primary_key=True
        ),
        sa.Column("label_id", sa.Integer(), sa.ForeignKey("label.id"), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_conversation_label_label", "conversation_label", ["label_id", "conversation_id"]
    )
    op.create_table(
        "read_marker",
        sa.Column("agent_id", sa.Integer(), sa.ForeignKey("agent.id"), primary_key=True),
        sa.Column(
            "conversation_id", sa.Integer(), sa.ForeignKey("conversation.id"), primary_key=True
        ),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_conversation_assignee_status_recent",
        "conversation",
        ["assignee_id", "status", "last_message_at", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_conversation_assignee_status_recent", "conversation")
    op.drop_table("read_marker")
    op.drop_index("ix_conversation_label_label", "conversation_label")
    op.drop_table("conversation_label")
    op.drop_table("label")
