"""agent: an avatar URL the chat widget shows beside the agent's replies

Revision ID: 0012_agent_avatar
Revises: 0007_early_delivery_status
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_agent_avatar"
down_revision = "0007_early_delivery_status"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("agent", sa.Column("avatar_url", sa.String(500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agent") as batch:
        batch.drop_column("avatar_url")
