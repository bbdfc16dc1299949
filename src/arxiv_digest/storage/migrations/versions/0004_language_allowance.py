"""The /lang allowance: the UTC day counted and the non-English digest languages a chat used on it.

Revision ID: 0004_language_allowance
Revises: 0003_deepl_usage
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004_language_allowance"
down_revision: str | None = "0003_deepl_usage"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("language_day", sa.Date(), nullable=True))
        batch.add_column(
            sa.Column("languages_used", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        for column in ("languages_used", "language_day"):
            batch.drop_column(column)
