"""pre-aggregated progress: each household's share of every indicator, and its sum per
village; an index on visit time for period-limited numbers, and one on follow-up dates

The new tables are filled from the visits already stored, by the same counting rules the app
uses (fieldkit.reporting.indicators.rebuild_progress, which selects named columns only), so numbers
read from them are right from the first page after the upgrade.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 09:24:28.856906
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "villageprogress",
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("indicator", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("approved", sa.Integer(), server_default="0", nullable=False),
        sa.Column("pending", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["village_id"],
            ["village.id"],
        ),
        sa.PrimaryKeyConstraint("village_id", "indicator"),
    )
    op.create_table(
        "householdprogress",
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("indicator", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("approved", sa.Integer(), server_default="0", nullable=False),
        sa.Column("pending", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
        ),
        sa.ForeignKeyConstraint(
            ["village_id"],
            ["village.id"],
        ),
        sa.PrimaryKeyConstraint("household_id", "indicator"),
    )
    with op.batch_alter_table("householdprogress", schema=None) as batch_op:
        batch_op.create_index(
            "ix_householdprogress_village", ["village_id", "indicator"], unique=False
        )

    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.create_index(
            "ix_household_follow_up",
            ["village_id", "follow_up_on", "review_state", "erased_at", "assigned_volunteer_id"],
            unique=False,
        )

    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.create_index("ix_visit_visited_at", ["visited_at"], unique=False)

    from sqlmodel import Session

    from fieldkit.reporting import indicators

    with Session(bind=op.get_bind()) as session:
        indicators.rebuild_progress(session)
        session.flush()
    if op.get_bind().dialect.name == "sqlite":
        # Fresh statistics, or SQLite's planner may pass the new indexes by.
        op.execute("ANALYZE")


def downgrade() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_index("ix_visit_visited_at")

    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_index("ix_household_follow_up")

    with op.batch_alter_table("householdprogress", schema=None) as batch_op:
        batch_op.drop_index("ix_householdprogress_village")

    op.drop_table("householdprogress")
    op.drop_table("villageprogress")
