"""A live connection may be a content share, whose attendee id is ``<AttendeeId>#content`` (44 characters).

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.alter_column(
            "attendee_id", type_=sa.String(64), existing_type=sa.String(36), existing_nullable=False
        )


def downgrade() -> None:
    # Connections are live presence, not data: the content shares' rows go, as a restart would drop them anyway.
    op.execute("DELETE FROM connections WHERE attendee_id LIKE '%#content'")
    with op.batch_alter_table("connections") as batch:
        batch.alter_column(
            "attendee_id", type_=sa.String(36), existing_type=sa.String(64), existing_nullable=False
        )
