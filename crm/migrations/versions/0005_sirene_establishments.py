"""SIRENE establishments (prospecting) and companies.source

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28

- ``establishments``: the national register of establishments (INSEE SIRENE), filtered to
  the school's départements by ``passerelle import sirene``; one row per SIRET.
- ``companies.source``: where a company record came from ("sirene" when an officer added
  it from the Prospection page; NULL for every existing row).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "establishments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("siret", sa.String(length=14), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("legal_name", sa.String(length=200), nullable=True),
        sa.Column("naf", sa.String(length=6), nullable=True),
        sa.Column("size_band", sa.String(length=2), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("postcode", sa.String(length=5), nullable=True),
        sa.Column("commune_code", sa.String(length=5), nullable=True),
        sa.Column("commune_name", sa.String(length=120), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("geo_precision", sa.String(length=12), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("source_date", sa.Date(), nullable=True),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_establishments")),
        sa.UniqueConstraint("siret", name=op.f("uq_establishments_siret")),
    )
    op.create_index(
        "ix_establishments_active_lat_lon",
        "establishments",
        ["active", "latitude", "longitude"],
    )
    op.create_index(
        op.f("ix_establishments_commune_code"), "establishments", ["commune_code"], unique=False
    )
    # The prospect ranking's cache fingerprint reads max(updated_at) from this index.
    op.create_index(
        op.f("ix_establishments_updated_at"), "establishments", ["updated_at"], unique=False
    )
    with op.batch_alter_table("companies") as batch:
        batch.add_column(sa.Column("source", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("companies") as batch:
        batch.drop_column("source")
    op.drop_index(op.f("ix_establishments_updated_at"), table_name="establishments")
    op.drop_index(op.f("ix_establishments_commune_code"), table_name="establishments")
    op.drop_index("ix_establishments_active_lat_lon", table_name="establishments")
    op.drop_table("establishments")
