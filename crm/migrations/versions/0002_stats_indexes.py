"""statistics indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Covering indexes for the statistics dashboard (the queries read the index, never the rows):
- interactions (occurred_at, author_id, company_id): weekly officer activity and the
  partners' 12-month contact activity, as a range scan on ``occurred_at``;
- placements (company_id, status, start_date, end_date): companies with a placement in a period;
- company_status_changes (to_status, company_id, changed_at): first move to "partner".
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


INDEXES = (
    ("ix_interactions_date_author", "interactions", ["occurred_at", "author_id", "company_id"]),
    (
        "ix_placements_company_status_period",
        "placements",
        ["company_id", "status", "start_date", "end_date"],
    ),
    (
        "ix_status_changes_to_company",
        "company_status_changes",
        ["to_status", "company_id", "changed_at"],
    ),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
