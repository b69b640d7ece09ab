"""imports: household codes, import batches and their changes, merges (issue 15)

Households gain the commune's own code (unique per village, checked per commune by
fieldkit.imports), the import batch that created or last changed them and, once merged, the
household they went into; residents the same batch and merge links. Import batches and the
changes they made (so a batch can be undone), household merges and the pairs commune staff
marked as not duplicates are new tables. Nothing is filled in: existing rows have no code.

Revision ID: 0010_imports
Revises: 0007_sessions
Create Date: 2026-11-30 09:51:50.038341
"""

from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0010_imports"
down_revision = "0007_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "importbatch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum("households", "team", name="importkind", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "previewed",
                "queued",
                "running",
                "done",
                "failed",
                "undone",
                name="importstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("file_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.Column("preview", sa.JSON(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("undone_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("undone_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["commune_id"],
            ["commune.id"],
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["undone_by_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["village_id"],
            ["village.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("importbatch", schema=None) as batch_op:
        batch_op.create_index(
            "ix_importbatch_commune_created", ["commune_id", "created_at"], unique=False
        )

    op.create_table(
        "importchange",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("record_kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("created", sa.Boolean(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["importbatch.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("importchange", schema=None) as batch_op:
        batch_op.create_index("ix_importchange_batch", ["batch_id", "record_kind"], unique=False)

    op.create_table(
        "duplicatedismissal",
        sa.Column("first_id", sa.Integer(), nullable=False),
        sa.Column("second_id", sa.Integer(), nullable=False),
        sa.Column("dismissed_by_id", sa.Integer(), nullable=True),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dismissed_by_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["first_id"],
            ["household.id"],
        ),
        sa.ForeignKeyConstraint(
            ["second_id"],
            ["household.id"],
        ),
        sa.PrimaryKeyConstraint("first_id", "second_id"),
    )
    op.create_table(
        "householdmerge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survivor_id", sa.Integer(), nullable=False),
        sa.Column("merged_id", sa.Integer(), nullable=False),
        sa.Column("merged_by_id", sa.Integer(), nullable=True),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("moved", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_by_id"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["merged_id"],
            ["household.id"],
        ),
        sa.ForeignKeyConstraint(
            ["survivor_id"],
            ["household.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("merged_id"),
    )
    with op.batch_alter_table("householdmerge", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_householdmerge_survivor_id"), ["survivor_id"], unique=False
        )

    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True)
        )
        batch_op.add_column(sa.Column("import_batch_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.create_index("ux_household_village_code", ["village_id", "code"], unique=True)
        batch_op.create_foreign_key(
            "fk_household_merged_into_id_household", "household", ["merged_into_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_household_import_batch_id_importbatch", "importbatch", ["import_batch_id"], ["id"]
        )

    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("import_batch_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_resident_import_batch_id_importbatch", "importbatch", ["import_batch_id"], ["id"]
        )
        batch_op.create_foreign_key(
            "fk_resident_merged_into_id_resident", "resident", ["merged_into_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.drop_constraint("fk_resident_merged_into_id_resident", type_="foreignkey")
        batch_op.drop_constraint("fk_resident_import_batch_id_importbatch", type_="foreignkey")
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("import_batch_id")

    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_constraint("fk_household_import_batch_id_importbatch", type_="foreignkey")
        batch_op.drop_constraint("fk_household_merged_into_id_household", type_="foreignkey")
        batch_op.drop_index("ux_household_village_code")
        batch_op.drop_column("merged_into_id")
        batch_op.drop_column("import_batch_id")
        batch_op.drop_column("code")

    with op.batch_alter_table("householdmerge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_householdmerge_survivor_id"))

    op.drop_table("householdmerge")
    op.drop_table("duplicatedismissal")
    with op.batch_alter_table("importchange", schema=None) as batch_op:
        batch_op.drop_index("ix_importchange_batch")

    op.drop_table("importchange")
    with op.batch_alter_table("importbatch", schema=None) as batch_op:
        batch_op.drop_index("ix_importbatch_commune_created")

    op.drop_table("importbatch")
