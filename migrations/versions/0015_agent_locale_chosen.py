"""agent: whether the agent chose their UI language (until then the browser's language is used)

Revision ID: 0015_agent_locale_chosen
Revises: 0014_join_ui_branches

`agent.locale` defaults to "en", so it could not tell "chose English" from "never chose": a new
agent on a Korean browser saw the login page in Korean and the inbox in English. Agents whose
locale is not the default must have chosen it; the others follow their browser until they do.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_agent_locale_chosen"
down_revision = "0014_join_ui_branches"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "agent",
        sa.Column("locale_chosen", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute(
        sa.text("UPDATE agent SET locale_chosen = :yes WHERE locale <> 'en'").bindparams(yes=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("agent") as batch:
        batch.drop_column("locale_chosen")
