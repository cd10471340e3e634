"""A connection remembers whether its Chime SDK client muted itself, so any node's console can show it (the mute
is told only to the node hosting the meeting's room).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.add_column(sa.Column("muted", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.drop_column("muted")
