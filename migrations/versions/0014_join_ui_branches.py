"""join the branches of labels, canned replies, agent avatars and agent time zones

Revision ID: 0014_join_ui_branches
Revises: 0010_labels, 0011_canned_replies, 0012_agent_avatar, 0013_agent_time_zone

The four were written side by side on top of 0007; this revision changes nothing and gives
the history one head again, so the next revision has a single parent.
"""

from __future__ import annotations

revision = "0014_join_ui_branches"
down_revision = (
    "0010_labels",
    "0011_canned_replies",
    "0012_agent_avatar",
    "0013_agent_time_zone",
)
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
