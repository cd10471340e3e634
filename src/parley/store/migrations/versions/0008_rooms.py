"""Room leases: which node hosts each meeting's Chime SDK room, so another node can take the meeting over.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rooms",
        sa.Column(
            "meeting_id",
            sa.String(36),
            sa.ForeignKey("meetings.meeting_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("node_id", sa.String(64), nullable=False),
        sa.Column("node_url", sa.String(2048), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rooms")
