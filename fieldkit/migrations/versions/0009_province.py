"""a province on one Fieldkit (issue 14): members who belong to a province rather than a
commune (member.commune_id nullable, member.province_code, exactly one of the two), province
targets, an index for a commune's latest visit, and the review backlog counted beside the
indicators

Revision ID: 0009_province
Revises: 0010_imports (written on 0006; re-chained as main brought 0007 and 0010)
Create Date: 2026-11-24 10:00:00
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0009_province"
down_revision = "0010_imports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("province_code", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=True)
        )
        batch_op.alter_column("commune_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_index(
            batch_op.f("ix_member_province_code"), ["province_code"], unique=False
        )
        batch_op.create_check_constraint(
            "ck_member_commune_or_province",
            "(commune_id IS NULL) <> (province_code IS NULL)",
        )

    op.create_table(
        "provincetarget",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("province_code", sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=True),
        sa.Column("indicator", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["commune_id"], ["commune.id"]),
        sa.ForeignKeyConstraint(["set_by_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("provincetarget", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_provincetarget_commune_id"), ["commune_id"], unique=False
        )
        batch_op.create_index(
            "ix_provincetarget_province_period", ["province_code", "period_end"], unique=False
        )

    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.create_index(
            "ix_household_village_last_visit", ["village_id", "last_visited_at"], unique=False
        )

    # The review backlog (records pending and returned) now sits beside the indicators in
    # HouseholdProgress / VillageProgress: count it for the records already stored.
    from sqlmodel import Session

    from fieldkit.reporting import indicators

    with Session(bind=op.get_bind()) as session:
        indicators.rebuild_progress(session)
        session.flush()


def downgrade() -> None:
    province_members = (
        op.get_bind()
        .execute(sa.text("SELECT COUNT(*) FROM member WHERE commune_id IS NULL"))
        .scalar()
    )
    if province_members:
        raise RuntimeError(
            f"{province_members} province members have no commune; remove them before going "
            "below 0009_province (member.commune_id becomes NOT NULL again)."
        )
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_index("ix_household_village_last_visit")
    with op.batch_alter_table("provincetarget", schema=None) as batch_op:
        batch_op.drop_index("ix_provincetarget_province_period")
        batch_op.drop_index(batch_op.f("ix_provincetarget_commune_id"))
    op.drop_table("provincetarget")
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_constraint("ck_member_commune_or_province", type_="check")
        batch_op.drop_index(batch_op.f("ix_member_province_code"))
        batch_op.alter_column("commune_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("province_code")
