"""Transcripts outlive their meetings: one ``transcripts`` row per stored transcript.

Existing transcripts get a row each (their meeting's external id when the meeting still exists; ended now when
it does not), so nothing stored before the upgrade disappears from the listing.

Revision ID: 0006
Revises: 0005
"""

import time

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "transcripts",
        sa.Column("meeting_id", sa.String(36), primary_key=True),
        sa.Column("account_id", sa.String(12), nullable=False),
        sa.Column("external_meeting_id", sa.String(64)),
        sa.Column("meeting_started_ms", sa.BigInteger, nullable=False),
        sa.Column("ended_at", sa.Float),
        sa.Column("expires_at", sa.Float),
    )
    op.create_index("ix_transcripts_account", "transcripts", ["account_id", "meeting_started_ms"])
    op.create_index("ix_transcripts_expiry", "transcripts", ["expires_at"])
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT r.meeting_id, MIN(r.account_id), MIN(r.meeting_started_ms), MAX(r.expires_at),"
            " MIN(m.external_meeting_id), COUNT(m.meeting_id)"
            " FROM transcript_results r LEFT JOIN meetings m ON m.meeting_id = r.meeting_id"
            " GROUP BY r.meeting_id"
        )
    ).fetchall()
    now = time.time()
    if rows:
        op.bulk_insert(
            table,
            [
                {
                    "meeting_id": r[0],
                    "account_id": r[1],
                    "meeting_started_ms": r[2],
                    "expires_at": r[3],
                    "external_meeting_id": r[4],
                    "ended_at": None if r[5] else now,
                }
                for r in rows
            ],
        )
    # The start and the expiry now live once per transcript, not on every result.
    with op.batch_alter_table("transcript_results") as batch:
        batch.drop_index("ix_transcript_results_expiry")
        batch.drop_column("expires_at")
        batch.drop_column("meeting_started_ms")


def downgrade() -> None:
    with op.batch_alter_table("transcript_results") as batch:
        batch.add_column(sa.Column("meeting_started_ms", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("expires_at", sa.Float))
        batch.create_index("ix_transcript_results_expiry", ["expires_at"])
    op.execute(
        "UPDATE transcript_results SET meeting_started_ms = (SELECT t.meeting_started_ms FROM transcripts t"
        " WHERE t.meeting_id = transcript_results.meeting_id),"
        " expires_at = (SELECT t.expires_at FROM transcripts t WHERE t.meeting_id = transcript_results.meeting_id)"
    )
    op.drop_index("ix_transcripts_expiry", "transcripts")
    op.drop_index("ix_transcripts_account", "transcripts")
    op.drop_table("transcripts")
