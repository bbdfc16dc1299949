"""SQLAlchemy Core tables. The Alembic revisions in ``migrations/versions`` create exactly these.

Datetimes are stored and returned as timezone-aware UTC on every backend (:class:`UTCDateTime`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that only accepts aware datetimes and always returns aware UTC ones.

    SQLite has no time zones: values are stored as naive UTC there and made aware again when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; use a timezone-aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):  # pragma: no cover - drivers return datetimes
            raise TypeError(f"unexpected datetime value {value!r}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


papers = Table(
    "papers",
    metadata,
    Column("arxiv_id", String(64), primary_key=True),  # version-less
    Column("version", Integer, nullable=True),
    Column("title", Text, nullable=False),
    Column("abstract", Text, nullable=False),
    Column("authors", JSON, nullable=False),
    Column("categories", JSON, nullable=False),
    Column("primary_category", String(32), nullable=True),
    Column("comment", Text, nullable=True),
    Column("journal_ref", Text, nullable=True),
    Column("doi", String(256), nullable=True),
    Column("published", UTCDateTime, nullable=True),
    Column("updated", UTCDateTime, nullable=True),
    Column("fetched_at", UTCDateTime, nullable=False),
)

announcements = Table(
    "announcements",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("announced_on", Date, nullable=False),
    Column("category", String(32), nullable=False),
    Column("paper_id", String(64), ForeignKey("papers.arxiv_id"), nullable=False),
    Column("announce_type", String(16), nullable=False),
    Column("version", Integer, nullable=True),
    UniqueConstraint("announced_on", "category", "paper_id"),
    Index(None, "announced_on"),
)

feed_checks = Table(
    "feed_checks",
    metadata,
    Column("feed_key", String(512), primary_key=True),  # e.g. "cs.LG+stat.ML"
    Column("checked_at", UTCDateTime, nullable=False),
    Column("announced_on", Date, nullable=True),
    Column("fingerprint", String(128), nullable=False),
    Column("item_count", Integer, nullable=False),
)

translations = Table(
    "translations",
    metadata,
    Column("text_hash", String(64), primary_key=True),
    Column("language", String(16), primary_key=True),
    Column("options", String(64), primary_key=True),
    Column("text", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

chats = Table(
    "chats",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform", String(16), nullable=False),  # "telegram" / "discord"
    Column("chat_key", String(64), nullable=False),  # the platform's chat id, as text
    Column("thread_id", String(64), nullable=True),
    Column("title", String(256), nullable=True),
    Column("language", String(16), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("push_time", String(5), nullable=False),  # "HH:MM", local to ``timezone``
    Column("include_cross", Boolean, nullable=False, server_default=true()),
    Column("include_replacements", Boolean, nullable=False, server_default=false()),
    Column("keywords", JSON, nullable=False, server_default=text("'[]'")),
    Column("max_papers", Integer, nullable=True),
    Column("paused", Boolean, nullable=False, server_default=false()),
    Column("gone_at", UTCDateTime, nullable=True),  # the bot was blocked / kicked
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # 0002
    Column("kind", String(16), nullable=False, server_default=text("'private'")),  # private/group/...
    Column("start_day", Date, nullable=True),  # deliveries begin with this announcement day
    Column("lookup_day", Date, nullable=True),  # /paper allowance: the UTC day counted ...
    Column("lookups_used", Integer, nullable=False, server_default=text("0")),  # ... and lookups used on it
    Column("failures", Integer, nullable=False, server_default=text("0")),  # consecutive delivery failures
    # 0004: the /lang allowance: the UTC day counted and the non-English languages used on it
    Column("language_day", Date, nullable=True),
    Column("languages_used", JSON, nullable=False, server_default=text("'[]'")),
    # 0005
    Column("guild_key", String(64), nullable=True),  # Discord: the server a channel belongs to
    UniqueConstraint("platform", "chat_key"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("chat_id", Integer, ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
    Column("category", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("chat_id", "category"),
)


# -- 0002: forum topics and the delivery ledger ------------------------------------------------------------

chat_topics = Table(
    "chat_topics",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("chat_id", Integer, ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(128), nullable=False),  # e.g. the category
    Column("thread_id", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("chat_id", "name"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("chat_id", Integer, ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
    Column("announced_on", Date, nullable=False),
    # set for scheduled deliveries only: a chat never gets the same announcement day twice
    Column("scheduled_day", Date, nullable=True),
    Column("language", String(16), nullable=False),
    Column("status", String(16), nullable=False),  # pending / done / failed
    Column("papers", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    UniqueConstraint("chat_id", "scheduled_day"),
    Index("ix_deliveries_status", "status"),
)

delivery_messages = Table(
    "delivery_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", Integer, ForeignKey("deliveries.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("role", String(16), nullable=False),  # summary / footnote / text
    Column("ref", Integer, nullable=True),  # the paper's number in the summary (footnotes)
    Column("thread_id", String(64), nullable=True),  # forum topic / thread to post into
    Column("reply_to_seq", Integer, nullable=True),  # thread under this message of the same delivery
    Column("text", Text, nullable=False),  # rendered, ready to send
    Column("message_id", String(64), nullable=True),  # the platform's id once sent
    Column("sent_at", UTCDateTime, nullable=True),
    Column("payload", JSON, nullable=True),  # 0005: the platform's other parts (Discord embeds), as JSON
    UniqueConstraint("delivery_id", "seq"),
)

deepl_usage = Table(
    "deepl_usage",
    metadata,
    Column("day", Date, primary_key=True),  # UTC day
    Column("characters", BigInteger, nullable=False),  # billed by DeepL that day
    Column("updated_at", UTCDateTime, nullable=False),
)
