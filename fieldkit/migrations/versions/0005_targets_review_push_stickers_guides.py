"""targets, review decisions and revisions, push queue, door stickers, guide cards

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 09:18:03.162677
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "guide",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("service_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("steps", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("official_url", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["commune_id"],
            ["commune.id"],
        ),
        sa.ForeignKeyConstraint(
            ["service_code"],
            ["service.code"],
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("commune_id", "service_code"),
    )
    op.create_table(
        "pushmessage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("tag", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("dedupe_key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("not_before", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    with op.batch_alter_table("pushmessage", schema=None) as batch_op:
        batch_op.create_index("ix_pushmessage_due", ["sent_at", "not_before"], unique=False)
        batch_op.create_index(batch_op.f("ix_pushmessage_member_id"), ["member_id"], unique=False)

    op.create_table(
        "pushsubscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("endpoint", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("p256dh", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("auth", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("user_agent", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("endpoint"),
    )
    with op.batch_alter_table("pushsubscription", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pushsubscription_member_id"), ["member_id"], unique=False
        )

    op.create_table(
        "recordrevision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column(
            "record_kind",
            sa.Enum(
                "visit",
                "household",
                "household_edit",
                "resident",
                name="recordkind",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
    )
    with op.batch_alter_table("recordrevision", schema=None) as batch_op:
        batch_op.create_index(
            "ix_recordrevision_record", ["record_kind", "record_id", "revision"], unique=False
        )

    op.create_table(
        "reviewdecision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "record_kind",
            sa.Enum(
                "visit",
                "household",
                "household_edit",
                "resident",
                name="recordkind",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column(
            "decision",
            sa.Enum(
                "pending",
                "approved",
                "returned",
                "rejected",
                name="reviewstate",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reviewdecision", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reviewdecision_record", ["record_kind", "record_id"], unique=False
        )

    op.create_table(
        "target",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=True),
        sa.Column("indicator", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["commune_id"],
            ["commune.id"],
        ),
        sa.ForeignKeyConstraint(
            ["set_by_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["village_id"],
            ["village.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("target", schema=None) as batch_op:
        batch_op.create_index(
            "ix_target_commune_period", ["commune_id", "period_end"], unique=False
        )

    op.create_table(
        "sticker",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token"),
    )
    with op.batch_alter_table("sticker", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sticker_household_id"), ["household_id"], unique=False)

    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))

    with op.batch_alter_table("householdedit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))

    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.drop_column("revision")

    with op.batch_alter_table("householdedit", schema=None) as batch_op:
        batch_op.drop_column("revision")

    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_column("revision")

    with op.batch_alter_table("sticker", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sticker_household_id"))

    op.drop_table("sticker")
    with op.batch_alter_table("target", schema=None) as batch_op:
        batch_op.drop_index("ix_target_commune_period")

    op.drop_table("target")
    with op.batch_alter_table("reviewdecision", schema=None) as batch_op:
        batch_op.drop_index("ix_reviewdecision_record")

    op.drop_table("reviewdecision")
    with op.batch_alter_table("recordrevision", schema=None) as batch_op:
        batch_op.drop_index("ix_recordrevision_record")

    op.drop_table("recordrevision")
    with op.batch_alter_table("pushsubscription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pushsubscription_member_id"))

    op.drop_table("pushsubscription")
    with op.batch_alter_table("pushmessage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pushmessage_member_id"))
        batch_op.drop_index("ix_pushmessage_due")

    op.drop_table("pushmessage")
    op.drop_table("guide")
