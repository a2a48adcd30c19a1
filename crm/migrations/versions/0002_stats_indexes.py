"""statistics indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Covering index for the dashboard's weekly officer activity and the partners' 12-month
contact activity: a range scan on ``occurred_at`` that never reads the table rows.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_interactions_date_author",
        "interactions",
        ["occurred_at", "author_id", "company_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_interactions_date_author", table_name="interactions")
