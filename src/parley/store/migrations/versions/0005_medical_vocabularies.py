"""Amazon Transcribe Medical custom vocabularies, per account (their own namespace).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "medical_vocabularies",
        sa.Column("account_id", sa.String(12), primary_key=True),
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("language_code", sa.String(16), nullable=False),
        sa.Column("entries", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("file_uri", sa.String(2000)),
        sa.Column("last_modified", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("medical_vocabularies")
