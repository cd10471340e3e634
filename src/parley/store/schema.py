"""Table definitions shared by the store and the Alembic migrations."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    false,
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
    Column("media_url", String(2000)),
    Column("last_seen_at", Float),
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

connections = Table(
    "connections",
    metadata,
    Column("connection_id", String(36), primary_key=True),
    Column("meeting_id", String(36), ForeignKey("meetings.meeting_id", ondelete="CASCADE"), nullable=False),
    Column("attendee_id", String(64), nullable=False),  # 44 for a content share, ``<AttendeeId>#content``
    Column("node_id", String(64), nullable=False),
    Column("connected_at", Float, nullable=False),
    Column("heartbeat_at", Float, nullable=False),
    Column("muted", Boolean, nullable=False, server_default=false()),  # a Chime SDK client's own mute
    Index("ix_connections_meeting", "meeting_id"),
    Index("ix_connections_node", "node_id"),
)

# Which node hosts a meeting's Chime SDK room (its mix, presence and video forwarding), as a lease: the holder
# renews ``expires_at`` while the room is open; another node takes the meeting over once the lease has expired or
# its holder is known dead (parley/signaling/hosting.py). ``node_url`` is where other nodes forward the meeting's
# signaling sockets to.
rooms = Table(
    "rooms",
    metadata,
    Column("meeting_id", String(36), ForeignKey("meetings.meeting_id", ondelete="CASCADE"), primary_key=True),
    Column("node_id", String(64), nullable=False),
    Column("node_url", String(2048), nullable=False),
    Column("expires_at", Float, nullable=False),
)

# One row per stored transcript: what the owner lists and deletes. No foreign key to ``meetings``: a transcript
# outlives its meeting (kept until deleted, or until ``expires_at`` under a configured retention). It exists
# from the meeting's first final result, or from its end if it was being transcribed (so the finals of speech
# in flight at the end still have a home). Results are stored only while this row exists.
transcripts = Table(
    "transcripts",
    metadata,
    Column("meeting_id", String(36), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("external_meeting_id", String(64)),
    Column("meeting_started_ms", BigInteger, nullable=False),
    Column("ended_at", Float),
    Column("expires_at", Float),
    Index("ix_transcripts_account", "account_id", "meeting_started_ms"),
    Index("ix_transcripts_expiry", "expires_at"),
)

# Final results only, owned by a ``transcripts`` row (same meeting id).
transcript_results = Table(
    "transcript_results",
    metadata,
    Column("meeting_id", String(36), primary_key=True),
    Column("result_id", String(64), primary_key=True),
    Column("account_id", String(12), nullable=False),
    Column("attendee_id", String(36), nullable=False),
    Column("start_time_ms", BigInteger, nullable=False),
    Column("end_time_ms", BigInteger, nullable=False),
    Column("result", JSON, nullable=False),
    Index("ix_transcript_results_order", "meeting_id", "start_time_ms"),
)

# Amazon Transcribe custom vocabularies and vocabulary filters, per account (docs/operations.md "Vocabularies").
# ``entries`` is the parsed content: for a vocabulary a list of {"phrase", "display_as"}; for a filter the words.
vocabularies = Table(
    "vocabularies",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("language_code", String(16), nullable=False),
    Column("entries", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    Column("file_uri", String(2000)),
    Column("last_modified", Float, nullable=False),
)

# Transcribe Medical custom vocabularies: their own namespace (a medical and a plain vocabulary may share a
# name), same content as ``vocabularies``.
medical_vocabularies = vocabularies.to_metadata(metadata, name="medical_vocabularies")

vocabulary_filters = Table(
    "vocabulary_filters",
    metadata,
    Column("account_id", String(12), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("language_code", String(16), nullable=False),
    Column("entries", JSON, nullable=False),
    Column("file_uri", String(2000)),
    Column("last_modified", Float, nullable=False),
)
