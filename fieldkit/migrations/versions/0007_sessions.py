"""server-side sessions, single-use passkey challenges, counts per key and window (throttles
and refused sign-ins); the attempt table, one row per failure, gives way to those counts

Nobody is carried over: signed cookies that named a member are not sessions any more, so after
the upgrade everyone signs in once again (the phone's outbox keeps what it holds meanwhile).

Revision ID: 0007_sessions
Revises: 0006
Create Date: 2026-11-30 10:06:58.407070
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0007_sessions"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tally",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("window_start", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start"),
    )
    with op.batch_alter_table("tally", schema=None) as batch_op:
        batch_op.create_index("ix_tally_window", ["window_start"], unique=False)

    op.create_table(
        "passkeychallenge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("challenge", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("client", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("passkeychallenge", schema=None) as batch_op:
        batch_op.create_index("ix_passkeychallenge_client", ["client", "expires_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_passkeychallenge_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "websession",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("proved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("passkey_id", sa.Integer(), nullable=True),
        sa.Column("device", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["passkey_id"],
            ["passkey.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("websession", schema=None) as batch_op:
        batch_op.create_index("ix_websession_last_seen", ["last_seen_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_websession_member_id"), ["member_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_websession_passkey_id"), ["passkey_id"], unique=False)

    with op.batch_alter_table("attempt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attempt_key_at"))

    op.drop_table("attempt")


def downgrade() -> None:
    op.create_table(
        "attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("attempt", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attempt_key_at"), ["key", "at"], unique=False)

    with op.batch_alter_table("websession", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_websession_passkey_id"))
        batch_op.drop_index(batch_op.f("ix_websession_member_id"))
        batch_op.drop_index("ix_websession_last_seen")

    op.drop_table("websession")
    with op.batch_alter_table("passkeychallenge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_passkeychallenge_expires_at"))
        batch_op.drop_index("ix_passkeychallenge_client")

    op.drop_table("passkeychallenge")
    with op.batch_alter_table("tally", schema=None) as batch_op:
        batch_op.drop_index("ix_tally_window")

    op.drop_table("tally")
