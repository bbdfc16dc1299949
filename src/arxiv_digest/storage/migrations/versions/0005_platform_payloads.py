"""Platforms beside Telegram: each ledger message's platform parts (e.g. Discord embeds) as JSON, and the
guild (server) a Discord channel belongs to (its message links need it).

Revision ID: 0005_platform_payloads
Revises: 0004_language_allowance
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005_platform_payloads"
down_revision: str | None = "0004_language_allowance"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("delivery_messages") as batch:
        batch.add_column(sa.Column("payload", sa.JSON(), nullable=True))
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("guild_key", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("guild_key")
    with op.batch_alter_table("delivery_messages") as batch:
        batch.drop_column("payload")
