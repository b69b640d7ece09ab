"""household progress index

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 07:02:39.178819
"""

from alembic import op


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.create_index(
            "ix_household_village_progress",
            ["village_id", "review_state", "visit_count", "follow_up_on"],
            unique=False,
        )


def downgrade() -> None:

    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_index("ix_household_village_progress")
