"""overdue follow-ups index

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28

Partial covering index for the dashboard's overdue follow-ups: only the open follow-ups
(not done, with a due date), keyed by officer and company, so the query reads a small
index instead of the million-row table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SQLITE_WHERE = "next_action_done IS 0 AND next_action_due IS NOT NULL"
POSTGRESQL_WHERE = "next_action_done IS false AND next_action_due IS NOT NULL"


def upgrade() -> None:
    op.create_index(
        "ix_interactions_overdue",
        "interactions",
        ["author_id", "company_id", "next_action_due"],
        sqlite_where=sa.text(SQLITE_WHERE),
        postgresql_where=sa.text(POSTGRESQL_WHERE),
    )


def downgrade() -> None:
    op.drop_index("ix_interactions_overdue", table_name="interactions")
