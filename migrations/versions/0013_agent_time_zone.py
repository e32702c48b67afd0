"""agent: the IANA time zone every time in the agent's UI is shown in (unset until first login)

Revision ID: 0013_agent_time_zone
Revises: 0007_early_delivery_status
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_agent_time_zone"
down_revision = "0007_early_delivery_status"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("agent", sa.Column("time_zone", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agent") as batch:
        batch.drop_column("time_zone")
