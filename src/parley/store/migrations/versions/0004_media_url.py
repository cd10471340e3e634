"""The node that hosts a meeting's media (``--media-url`` of the node that created it).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meetings") as batch:
        batch.add_column(sa.Column("media_url", sa.String(2000)))


def downgrade() -> None:
    with op.batch_alter_table("meetings") as batch:
        batch.drop_column("media_url")
