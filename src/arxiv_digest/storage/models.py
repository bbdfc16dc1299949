"""What storage returns besides ``papers.models``: small frozen dataclasses, never ORM rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class FeedCheck:
    """The last time a feed (``feed_key``, e.g. ``"cs.LG+stat.ML"``) was fetched and what it held."""

    feed_key: str
    checked_at: datetime
    announced_on: date | None
    fingerprint: str
    count: int


@dataclass(frozen=True, slots=True)
class Chat:
    """A Telegram or Discord chat that talks to the bot, with its digest settings."""

    id: int
    platform: str  # "telegram" / "discord"
    chat_key: str  # the platform's chat id as text
    thread_id: str | None
    title: str | None
    language: str
    timezone: str  # IANA zone
    push_time: str  # "HH:MM" local time
    include_cross: bool
    include_replacements: bool
    keywords: tuple[str, ...]
    max_papers: int | None
    paused: bool
    gone_at: datetime | None  # the bot was blocked or removed
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Subscription:
    chat_id: int
    category: str
    created_at: datetime
