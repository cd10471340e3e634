"""Table definitions shared by the store and the Alembic migrations."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Float,
    ForeignKey,
    Index,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

metadata = MetaData()

accounts = Table(
    "accounts",
    metadata,
    Column("account_id", String(12), primary_key=True),
)

meetings = Table(
    "meetings",
    metadata,
    Column("meeting_id", String(36), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("region", String(32), nullable=False),
    Column("media_region", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("external_meeting_id", String(64)),
    Column("meeting_host_id", String(64)),
    Column("client_request_token", String(64)),
    Column("request_digest", String(64)),
    Column("features", JSON),
    Column("notifications", JSON),
    Column("primary_meeting_id", String(64)),
    Column("tenant_ids", JSON),
    Column("network_type", String(16)),
    UniqueConstraint("account_id", "client_request_token", name="uq_meetings_account_token"),
    Index("ix_meetings_account", "account_id"),
)

attendees = Table(
    "attendees",
    metadata,
    Column("attendee_id", String(36), primary_key=True),
    Column("meeting_id", String(36), ForeignKey("meetings.meeting_id", ondelete="CASCADE"), nullable=False),
    Column("external_user_id", String(64), nullable=False),
    Column("external_user_key", String(64), nullable=False),
    Column("join_token", String(2048), nullable=False, unique=True),
    Column("capabilities", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("meeting_id", "external_user_key", name="uq_attendees_meeting_external"),
    Index("ix_attendees_meeting_order", "meeting_id", "created_at", "attendee_id"),
)

tags = Table(
    "tags",
    metadata,
    Column("meeting_id", String(36), ForeignKey("meetings.meeting_id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", String(256), nullable=False),
)

transcriptions = Table(
    "transcriptions",
    metadata,
    Column("meeting_id", String(36), ForeignKey("meetings.meeting_id", ondelete="CASCADE"), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("configuration", JSON, nullable=False),
    Column("region", String(32), nullable=False),
    Column("started_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("stopped_at", Float),
    Column("extra", JSON),
)
