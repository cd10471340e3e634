"""Live meetings: connection presence per node, stored final transcript results, idle tracking.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meetings") as batch:
        batch.add_column(sa.Column("last_seen_at", sa.Float))
    op.create_table(
        "connections",
        sa.Column("connection_id", sa.String(36), primary_key=True),
        sa.Column(
            "meeting_id",
            sa.String(36),
            sa.ForeignKey("meetings.meeting_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("attendee_id", sa.String(36), nullable=False),
        sa.Column("node_id", sa.String(64), nullable=False),
        sa.Column("connected_at", sa.Float, nullable=False),
        sa.Column("heartbeat_at", sa.Float, nullable=False),
    )
    op.create_index("ix_connections_meeting", "connections", ["meeting_id"])
    op.create_index("ix_connections_node", "connections", ["node_id"])
    op.create_table(
        "transcript_results",
        sa.Column("meeting_id", sa.String(36), primary_key=True),
        sa.Column("result_id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("attendee_id", sa.String(36), nullable=False),
        sa.Column("start_time_ms", sa.BigInteger, nullable=False),
        sa.Column("end_time_ms", sa.BigInteger, nullable=False),
        sa.Column("meeting_started_ms", sa.BigInteger, nullable=False),
        sa.Column("result", sa.JSON, nullable=False),
        sa.Column("expires_at", sa.Float),
    )
    op.create_index("ix_transcript_results_order", "transcript_results", ["meeting_id", "start_time_ms"])
    op.create_index("ix_transcript_results_expiry", "transcript_results", ["expires_at"])


def downgrade() -> None:
    op.drop_table("transcript_results")
    op.drop_table("connections")
    with op.batch_alter_table("meetings") as batch:
        batch.drop_column("last_seen_at")
