"""Chat kind, start day, /paper allowance and failure count; forum topics; the delivery ledger.

Revision ID: 0002_delivery
Revises: 0001_initial
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002_delivery"
down_revision: str | None = "0001_initial"
branch_labels: str | None = None
depends_on: str | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(16), server_default=sa.text("'private'"), nullable=False)
        )
        batch.add_column(sa.Column("start_day", sa.Date(), nullable=True))
        batch.add_column(sa.Column("lookup_day", sa.Date(), nullable=True))
        batch.add_column(sa.Column("lookups_used", sa.Integer(), server_default=sa.text("0"), nullable=False))
        batch.add_column(sa.Column("failures", sa.Integer(), server_default=sa.text("0"), nullable=False))
    op.create_table(
        "chat_topics",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("thread_id", sa.String(64), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chat_topics"),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name="fk_chat_topics_chat_id_chats", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("chat_id", "name", name="uq_chat_topics_chat_id_name"),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("announced_on", sa.Date(), nullable=False),
        sa.Column("scheduled_day", sa.Date(), nullable=True),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("papers", sa.Integer(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("finished_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name="fk_deliveries_chat_id_chats", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("chat_id", "scheduled_day", name="uq_deliveries_chat_id_scheduled_day"),
    )
    op.create_index("ix_deliveries_status", "deliveries", ["status"])
    op.create_table(
        "delivery_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("ref", sa.Integer(), nullable=True),
        sa.Column("thread_id", sa.String(64), nullable=True),
        sa.Column("reply_to_seq", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=True),
        sa.Column("sent_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_delivery_messages"),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name="fk_delivery_messages_delivery_id_deliveries",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("delivery_id", "seq", name="uq_delivery_messages_delivery_id_seq"),
    )


def downgrade() -> None:
    op.drop_table("delivery_messages")
    op.drop_index("ix_deliveries_status", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_table("chat_topics")
    with op.batch_alter_table("chats") as batch:
        for column in ("failures", "lookups_used", "lookup_day", "start_day", "kind"):
            batch.drop_column(column)
