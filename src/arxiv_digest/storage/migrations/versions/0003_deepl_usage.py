"""DeepL characters billed per UTC day, so the daily budget survives a restart.

Revision ID: 0003_deepl_usage
Revises: 0002_delivery
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003_deepl_usage"
down_revision: str | None = "0002_delivery"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "deepl_usage",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("characters", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name="pk_deepl_usage"),
    )


def downgrade() -> None:
    op.drop_table("deepl_usage")
