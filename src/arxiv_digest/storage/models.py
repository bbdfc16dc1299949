"""What storage returns besides ``papers.models``: small frozen dataclasses, never ORM rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


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
    kind: str = "private"  # private / group / supergroup / channel (Telegram), guild / dm (Discord)
    start_day: date | None = None  # scheduled deliveries begin with this announcement day
    failures: int = 0  # consecutive failed deliveries
    language_day: date | None = None  # the UTC day ``languages_used`` counts
    languages_used: tuple[str, ...] = ()  # non-English digest languages used on ``language_day``
    guild_key: str | None = None  # Discord: the server (guild) the channel belongs to


@dataclass(frozen=True, slots=True)
class Subscription:
    chat_id: int
    category: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    """One digest for one chat in the ledger."""

    id: int
    chat_id: int
    announced_on: date
    scheduled: bool
    language: str
    status: str  # pending / done / failed
    papers: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PlannedMessage:
    """A message to write into the ledger before anything is sent."""

    role: str  # summary / footnote / text
    text: str
    ref: int | None = None
    thread_id: str | None = None
    reply_to_seq: int | None = None
    payload: Mapping[str, Any] | None = None  # the platform's other parts (Discord embeds), JSON-ready


@dataclass(frozen=True, slots=True)
class LedgerMessage:
    """A message of a delivery, sent (``message_id`` set) or not yet."""

    id: int
    delivery_id: int
    seq: int
    role: str
    ref: int | None
    thread_id: str | None
    reply_to_seq: int | None
    text: str
    message_id: str | None
    payload: Mapping[str, Any] | None = None
