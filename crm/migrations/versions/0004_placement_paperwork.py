"""placement paperwork

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

Conventions, attestations and evaluations of placements (issue 15):
- placement_paperwork: the agreement's facts not held elsewhere (objective, hours, schedule,
  workplace, activities, risks, protective equipment, a minor's legal representative,
  hours done) and its status (to_prepare → to_sign → signed);
- paperwork_signatures: who signed, on which date (beneficiary, legal representative,
  host, school), one row per role;
- paperwork_scans: scanned signed agreements (PDF bytes).
New tables only: nothing existing changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "placement_paperwork",
        sa.Column("placement_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("objective", sa.String(length=10), nullable=True),
        sa.Column("daily_hours", sa.String(length=120), nullable=True),
        sa.Column("weekly_hours", sa.Float(), nullable=True),
        sa.Column("weekly_schedule", sa.String(length=200), nullable=True),
        sa.Column("workplace", sa.String(length=300), nullable=True),
        sa.Column("activities", sa.Text(), nullable=True),
        sa.Column("risks", sa.Text(), nullable=True),
        sa.Column("protective_equipment", sa.Text(), nullable=True),
        sa.Column("legal_rep_name", sa.String(length=160), nullable=True),
        sa.Column("legal_rep_phone", sa.String(length=20), nullable=True),
        sa.Column("legal_rep_address", sa.String(length=300), nullable=True),
        sa.Column("hours_done", sa.Float(), nullable=True),
        sa.Column("signed_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "status IN ('to_prepare', 'to_sign', 'signed')",
            name=op.f("ck_placement_paperwork_status_valid"),
        ),
        sa.CheckConstraint(
            "objective IS NULL OR objective IN ('discover', 'confirm', 'hiring')",
            name=op.f("ck_placement_paperwork_objective_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["placement_id"],
            ["placements.id"],
            name=op.f("fk_placement_paperwork_placement_id_placements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("placement_id", name=op.f("pk_placement_paperwork")),
    )
    with op.batch_alter_table("placement_paperwork", schema=None) as batch_op:
        batch_op.create_index("ix_placement_paperwork_status", ["status"], unique=False)

    op.create_table(
        "paperwork_signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("placement_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("signer_name", sa.String(length=160), nullable=True),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "role IN ('beneficiary', 'legal_rep', 'host', 'school')",
            name=op.f("ck_paperwork_signatures_role_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["placement_id"],
            ["placements.id"],
            name=op.f("fk_paperwork_signatures_placement_id_placements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_paperwork_signatures_recorded_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paperwork_signatures")),
        sa.UniqueConstraint(
            "placement_id", "role", name=op.f("uq_paperwork_signatures_placement_id")
        ),
    )

    op.create_table(
        "paperwork_scans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("placement_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["placement_id"],
            ["placements.id"],
            name=op.f("fk_paperwork_scans_placement_id_placements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["users.id"], name=op.f("fk_paperwork_scans_uploaded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paperwork_scans")),
    )
    with op.batch_alter_table("paperwork_scans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_paperwork_scans_placement_id"), ["placement_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("paperwork_scans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_paperwork_scans_placement_id"))
    op.drop_table("paperwork_scans")
    op.drop_table("paperwork_signatures")
    with op.batch_alter_table("placement_paperwork", schema=None) as batch_op:
        batch_op.drop_index("ix_placement_paperwork_status")
    op.drop_table("placement_paperwork")
