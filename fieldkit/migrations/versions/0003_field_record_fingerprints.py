"""field record fingerprints

Households, residents and household edits sent from the field keep a digest of what was sent,
so the sync API can tell a replay of the same UUID (duplicate) from other content (conflict).
Rows made before this revision have none; their UUIDs were not sent through the sync API.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 07:12:54.063355
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("household", "householdedit", "resident")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
            )


def downgrade() -> None:
    for table in reversed(TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("fingerprint")
