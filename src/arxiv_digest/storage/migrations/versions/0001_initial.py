"""Initial schema: papers, announcements, feed checks, translation cache, chats, subscriptions.

Revision ID: 0001_initial
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "papers",
        sa.Column("arxiv_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("abstract", sa.Text(), nullable=False),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("primary_category", sa.String(32), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("journal_ref", sa.Text(), nullable=True),
        sa.Column("doi", sa.String(256), nullable=True),
        sa.Column("published", _utc(), nullable=True),
        sa.Column("updated", _utc(), nullable=True),
        sa.Column("fetched_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("arxiv_id", name="pk_papers"),
    )
    op.create_table(
        "announcements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("announced_on", sa.Date(), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("paper_id", sa.String(64), nullable=False),
        sa.Column("announce_type", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_announcements"),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.arxiv_id"], name="fk_announcements_paper_id_papers"),
        sa.UniqueConstraint(
            "announced_on", "category", "paper_id", name="uq_announcements_announced_on_category_paper_id"
        ),
    )
    op.create_index("ix_announcements_announced_on", "announcements", ["announced_on"])
    op.create_table(
        "feed_checks",
        sa.Column("feed_key", sa.String(512), nullable=False),
        sa.Column("checked_at", _utc(), nullable=False),
        sa.Column("announced_on", sa.Date(), nullable=True),
        sa.Column("fingerprint", sa.String(128), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("feed_key", name="pk_feed_checks"),
    )
    op.create_table(
        "translations",
        sa.Column("text_hash", sa.String(64), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("options", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("text_hash", "language", "options", name="pk_translations"),
    )
    op.create_table(
        "chats",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("chat_key", sa.String(64), nullable=False),
        sa.Column("thread_id", sa.String(64), nullable=True),
        sa.Column("title", sa.String(256), nullable=True),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("push_time", sa.String(5), nullable=False),
        sa.Column("include_cross", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("include_replacements", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("keywords", sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
        sa.Column("max_papers", sa.Integer(), nullable=True),
        sa.Column("paused", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("gone_at", _utc(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_chats"),
        sa.UniqueConstraint("platform", "chat_key", name="uq_chats_platform_chat_key"),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chat_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_subscriptions"),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name="fk_subscriptions_chat_id_chats", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("chat_id", "category", name="uq_subscriptions_chat_id_category"),
    )


def downgrade() -> None:
    op.drop_table("subscriptions")
    op.drop_table("chats")
    op.drop_table("translations")
    op.drop_table("feed_checks")
    op.drop_index("ix_announcements_announced_on", table_name="announcements")
    op.drop_table("announcements")
    op.drop_table("papers")
