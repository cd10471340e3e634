"""Initial schema: accounts, meetings, attendees, tags, transcription state.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("accounts", sa.Column("account_id", sa.String(12), primary_key=True))
    op.create_table(
        "meetings",
        sa.Column("meeting_id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("media_region", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("external_meeting_id", sa.String(64)),
        sa.Column("meeting_host_id", sa.String(64)),
        sa.Column("client_request_token", sa.String(64)),
        sa.Column("request_digest", sa.String(64)),
        sa.Column("features", sa.JSON),
        sa.Column("notifications", sa.JSON),
        sa.Column("primary_meeting_id", sa.String(64)),
        sa.Column("tenant_ids", sa.JSON),
        sa.Column("network_type", sa.String(16)),
        sa.UniqueConstraint("account_id", "client_request_token", name="uq_meetings_account_token"),
    )
    op.create_index("ix_meetings_account", "meetings", ["account_id"])
    op.create_table(
        "attendees",
        sa.Column("attendee_id", sa.String(36), primary_key=True),
        sa.Column(
            "meeting_id",
            sa.String(36),
            sa.ForeignKey("meetings.meeting_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("external_user_id", sa.String(64), nullable=False),
        sa.Column("external_user_key", sa.String(64), nullable=False),
        sa.Column("join_token", sa.String(2048), nullable=False, unique=True),
        sa.Column("capabilities", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("meeting_id", "external_user_key", name="uq_attendees_meeting_external"),
    )
    op.create_index("ix_attendees_meeting_order", "attendees", ["meeting_id", "created_at", "attendee_id"])
    op.create_table(
        "tags",
        sa.Column(
            "meeting_id",
            sa.String(36),
            sa.ForeignKey("meetings.meeting_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
    )
    op.create_table(
        "transcriptions",
        sa.Column(
            "meeting_id",
            sa.String(36),
            sa.ForeignKey("meetings.meeting_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("configuration", sa.JSON, nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("stopped_at", sa.Float),
        sa.Column("extra", sa.JSON),
    )


def downgrade() -> None:
    for table in ("transcriptions", "tags", "attendees", "meetings", "accounts"):
        op.drop_table(table)
