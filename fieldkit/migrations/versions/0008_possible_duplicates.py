"""possible duplicate visits: a visit that arrived with the same household, volunteer,
outcome and assistance lines as another visited within 30 minutes is flagged (issue 11)

Revision ID: 0008_possible_duplicates
Revises: 0009_province (written on 0006; re-chained as main brought 0007, 0010 and 0009)
Create Date: 2026-11-23 10:00:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0008_possible_duplicates"
down_revision = "0009_province"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "visitduplicate",
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("original_id", sa.Integer(), nullable=False),
        sa.Column("flagged_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["original_id"], ["visit.id"]),
        sa.ForeignKeyConstraint(["visit_id"], ["visit.id"]),
        sa.PrimaryKeyConstraint("visit_id"),
    )
    with op.batch_alter_table("visitduplicate", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_visitduplicate_original_id"), ["original_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("visitduplicate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visitduplicate_original_id"))
    op.drop_table("visitduplicate")
