"""Repositories over the tables of ``tables.py``.

Each repository except :class:`TranslationCacheRepository` works inside a caller's ``AsyncSession`` and never
commits: the caller decides the transaction (``async with db.session() as s: ...; await s.commit()``).
They return ``papers.models`` dataclasses or those of ``storage.models``; rows never leave this package.
"""

from __future__ import annotations

import builtins
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import Table, bindparam, case, delete, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from arxiv_digest.papers.languages import is_english
from arxiv_digest.papers.models import Announcement, AnnouncementBatch, AnnounceType, Paper
from arxiv_digest.papers.ports import CacheKey
from arxiv_digest.storage.db import Database
from arxiv_digest.storage.models import (
    Chat,
    Delivery,
    FeedCheck,
    LedgerMessage,
    PlannedMessage,
    Subscription,
)
from arxiv_digest.storage.tables import (
    announcements,
    chat_topics,
    chats,
    deepl_usage,
    deliveries,
    delivery_messages,
    feed_checks,
    papers,
    subscriptions,
    translations,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

CHUNK = 500  # keys per IN-list / rows per multi-row INSERT (well under SQLite's and asyncpg's bind limits)

Matcher = Callable[[str, Sequence[str]], bool]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _unique(items: Iterable[T]) -> builtins.list[T]:
    return builtins.list(dict.fromkeys(items))


def _insert(session: AsyncSession, table: Table) -> sqlite.Insert | postgresql.Insert:
    """The dialect's INSERT, which has ON CONFLICT support on both backends."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"unsupported dialect {name!r}")  # pragma: no cover - Database rejects others


# --------------------------------------------------------------------------------------------------- papers


def _paper_from_row(row: Row[Any]) -> Paper:
    return Paper(
        arxiv_id=row.arxiv_id,
        title=row.title,
        abstract=row.abstract,
        authors=tuple(row.authors or ()),
        categories=tuple(row.categories or ()),
        version=row.version,
        primary_category=row.primary_category,
        comment=row.comment,
        journal_ref=row.journal_ref,
        doi=row.doi,
        published=row.published,
        updated=row.updated,
    )


def _paper_values(paper: Paper, fetched_at: datetime) -> dict[str, Any]:
    return {
        "arxiv_id": paper.arxiv_id,
        "version": paper.version,
        "title": paper.title,
        "abstract": paper.abstract,
        "authors": builtins.list(paper.authors),
        "categories": builtins.list(paper.categories),
        "primary_category": paper.primary_category,
        "comment": paper.comment,
        "journal_ref": paper.journal_ref,
        "doi": paper.doi,
        "published": paper.published,
        "updated": paper.updated,
        "fetched_at": fetched_at,
    }


def merge_paper(stored: Paper | None, new: Paper) -> Paper | None:
    """What to store when ``new`` arrives and ``stored`` is in the database; None: keep ``stored``.

    ``new`` wins when its version is >= the stored one (None counts as 0), but a missing value in ``new``
    (None, or an empty author/category list) never erases a value already stored.
    """
    if stored is None:
        return new
    if (new.version or 0) < (stored.version or 0):
        return None
    return Paper(
        arxiv_id=new.arxiv_id,
        title=new.title,
        abstract=new.abstract,
        authors=new.authors or stored.authors,
        categories=new.categories or stored.categories,
        version=new.version if new.version is not None else stored.version,
        primary_category=new.primary_category
        if new.primary_category is not None
        else stored.primary_category,
        comment=new.comment if new.comment is not None else stored.comment,
        journal_ref=new.journal_ref if new.journal_ref is not None else stored.journal_ref,
        doi=new.doi if new.doi is not None else stored.doi,
        published=new.published if new.published is not None else stored.published,
        updated=new.updated if new.updated is not None else stored.updated,
    )


class PaperRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, arxiv_id: str) -> Paper | None:
        row = (await self._session.execute(select(papers).where(papers.c.arxiv_id == arxiv_id))).first()
        return _paper_from_row(row) if row is not None else None

    async def get_many(self, ids: Iterable[str]) -> dict[str, Paper]:
        """The stored papers among ``ids`` (missing ones are absent)."""
        found: dict[str, Paper] = {}
        for chunk in _chunks(_unique(ids)):
            result = await self._session.execute(select(papers).where(papers.c.arxiv_id.in_(chunk)))
            for row in result:
                found[row.arxiv_id] = _paper_from_row(row)
        return found

    async def upsert_many(self, items: Sequence[Paper], *, now: datetime | None = None) -> None:
        """Insert new papers, update stored ones according to :func:`merge_paper`."""
        if not items:
            return
        fetched_at = now or _utcnow()
        stored = await self.get_many(p.arxiv_id for p in items)
        pending: dict[str, Paper] = {}
        for paper in items:
            current = pending.get(paper.arxiv_id) or stored.get(paper.arxiv_id)
            merged = merge_paper(current, paper)
            if merged is not None and merged != current:
                pending[paper.arxiv_id] = merged
        inserts = [_paper_values(p, fetched_at) for key, p in pending.items() if key not in stored]
        updates = [_paper_values(p, fetched_at) for key, p in pending.items() if key in stored]
        for chunk in _chunks(inserts, 200):
            stmt = _insert(self._session, papers).values(builtins.list(chunk))
            # A concurrent writer may have inserted the same paper meanwhile: its row is as good as ours.
            await self._session.execute(stmt.on_conflict_do_nothing(index_elements=[papers.c.arxiv_id]))
        if updates:
            params = [
                {**{k: v for k, v in row.items() if k != "arxiv_id"}, "b_id": row["arxiv_id"]}
                for row in updates
            ]
            conn = await self._session.connection()
            await conn.execute(update(papers).where(papers.c.arxiv_id == bindparam("b_id")), params)
        logger.debug("papers: %d inserted, %d updated", len(inserts), len(updates))


# ---------------------------------------------------------------------------------------------- announcements


def default_matcher(category: str, paper_categories: Sequence[str]) -> bool:
    return category in paper_categories


def feed_key_categories(feed_key: str) -> builtins.list[str]:
    """The categories of a feed key: ``"cs.LG+stat.ML"`` (and a backfill's ``"cs.LG+stat.ML@api"``)."""
    return [c for c in feed_key.partition("@")[0].split("+") if c]


class AnnouncementRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def last_check(self, feed_key: str) -> FeedCheck | None:
        row = (
            await self._session.execute(select(feed_checks).where(feed_checks.c.feed_key == feed_key))
        ).first()
        if row is None:
            return None
        return FeedCheck(
            feed_key=row.feed_key,
            checked_at=row.checked_at,
            announced_on=row.announced_on,
            fingerprint=row.fingerprint,
            count=row.item_count,
        )

    async def record_check(
        self, feed_key: str, *, checked_at: datetime, announced_on: date | None, fingerprint: str, count: int
    ) -> None:
        """Store the latest check of ``feed_key`` (one row per key, overwritten)."""
        values = {
            "feed_key": feed_key,
            "checked_at": checked_at,
            "announced_on": announced_on,
            "fingerprint": fingerprint,
            "item_count": count,
        }
        stmt = _insert(self._session, feed_checks).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[feed_checks.c.feed_key],
            set_={k: v for k, v in values.items() if k != "feed_key"},
        )
        await self._session.execute(stmt)

    async def covered(self, categories: Iterable[str], day: date) -> set[str]:
        """Those of ``categories`` whose batch of ``day`` is stored.

        A category is covered when a feed check whose key includes it recorded ``day`` (so a category with
        no papers in a non-empty feed of several categories is covered too), or when announcements of
        ``day`` are stored under it (its feed's record may have been overwritten since, by a later check).
        """
        wanted = set(categories)
        found: set[str] = set()
        if not wanted:
            return found
        keys = await self._session.execute(
            select(feed_checks.c.feed_key).where(feed_checks.c.announced_on == day)
        )
        for key in keys.scalars():
            found.update(c for c in feed_key_categories(key) if c in wanted)
        missing = sorted(wanted - found)
        for chunk in _chunks(missing):
            stmt = (
                select(announcements.c.category)
                .where(
                    announcements.c.announced_on == day, announcements.c.category.in_(builtins.list(chunk))
                )
                .distinct()
            )
            found.update((await self._session.execute(stmt)).scalars())
        return found

    async def save_batch(
        self,
        batch: AnnouncementBatch,
        *,
        feed_key: str,
        checked_at: datetime,
        matcher: Matcher | None = None,
    ) -> int:
        """Store a feed's batch: its papers, one row per (announcement, matching batch category), the check.

        A paper matching none of the batch's categories (``matcher(category, paper.categories)``) is stored
        under every one of them. Saving the same batch again inserts nothing. Returns the rows inserted.
        """
        match = matcher or default_matcher
        inserted = 0
        if batch.announcements:
            await PaperRepository(self._session).upsert_many(
                [a.paper for a in batch.announcements], now=checked_at
            )
            categories = _unique(batch.categories)
            rows: builtins.list[dict[str, Any]] = []
            seen: set[tuple[date, str, str]] = set()
            for ann in batch.announcements:
                matched = [c for c in categories if match(c, ann.paper.categories)] or categories
                for category in matched:
                    key = (ann.announced_on, category, ann.paper.arxiv_id)
                    if key in seen:
                        continue
                    seen.add(key)
                    rows.append(
                        {
                            "announced_on": ann.announced_on,
                            "category": category,
                            "paper_id": ann.paper.arxiv_id,
                            "announce_type": ann.announce_type.value,
                            "version": ann.paper.version,
                        }
                    )
            for chunk in _chunks(rows):
                stmt = (
                    _insert(self._session, announcements)
                    .values(builtins.list(chunk))
                    .on_conflict_do_nothing(
                        index_elements=[
                            announcements.c.announced_on,
                            announcements.c.category,
                            announcements.c.paper_id,
                        ]
                    )
                    .returning(announcements.c.id)
                )
                inserted += len((await self._session.execute(stmt)).all())
        await self.record_check(
            feed_key,
            checked_at=checked_at,
            announced_on=batch.announced_on,
            fingerprint=batch.fingerprint,
            count=len(batch.announcements),
        )
        logger.info(
            "feed %s: %d announcements for %s, %d new rows",
            feed_key,
            len(batch.announcements),
            batch.announced_on,
            inserted,
        )
        return inserted

    async def for_date(
        self, announced_on: date, categories: Sequence[str] | None = None
    ) -> builtins.list[tuple[str, Announcement]]:
        """The day's (category, announcement) pairs in the order they were stored."""
        stmt = (
            select(
                announcements.c.category.label("a_category"),
                announcements.c.announce_type.label("a_type"),
                announcements.c.announced_on.label("a_date"),
                *papers.c,
            )
            .join(papers, papers.c.arxiv_id == announcements.c.paper_id)
            .where(announcements.c.announced_on == announced_on)
            .order_by(announcements.c.id)
        )
        if categories is not None:
            stmt = stmt.where(announcements.c.category.in_(builtins.list(categories)))
        result = await self._session.execute(stmt)
        return [
            (row.a_category, Announcement(_paper_from_row(row), AnnounceType(row.a_type), row.a_date))
            for row in result
        ]

    async def latest_date(self, categories: Sequence[str] | None = None) -> date | None:
        stmt = select(func.max(announcements.c.announced_on))
        if categories is not None:
            stmt = stmt.where(announcements.c.category.in_(builtins.list(categories)))
        value: date | None = (await self._session.execute(stmt)).scalar_one_or_none()
        return value

    async def dates(
        self, categories: Sequence[str] | None = None, *, since: date | None = None
    ) -> builtins.list[date]:
        """The distinct announcement dates, ascending; only those >= ``since`` when given."""
        stmt = select(announcements.c.announced_on).distinct().order_by(announcements.c.announced_on)
        if categories is not None:
            stmt = stmt.where(announcements.c.category.in_(builtins.list(categories)))
        if since is not None:
            stmt = stmt.where(announcements.c.announced_on >= since)
        return builtins.list((await self._session.execute(stmt)).scalars())


# ----------------------------------------------------------------------------------------------- translations


class TranslationCacheRepository:
    """``papers.ports.TranslationCache`` in the ``translations`` table; each call is its own transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get_many(self, keys: Sequence[CacheKey]) -> dict[CacheKey, str]:
        wanted = _unique(keys)
        if not wanted:
            return {}
        wanted_set = set(wanted)
        found: dict[CacheKey, str] = {}
        async with self._db.session() as session:
            for chunk in _chunks(wanted):
                # IN per column, then the exact filter below: portable, and text_hash leads the PK index.
                stmt = select(translations).where(
                    translations.c.text_hash.in_(_unique(k.text_hash for k in chunk)),
                    translations.c.language.in_(_unique(k.language for k in chunk)),
                    translations.c.options.in_(_unique(k.options for k in chunk)),
                )
                for row in await session.execute(stmt):
                    key = CacheKey(row.text_hash, row.language, row.options)
                    if key in wanted_set:
                        found[key] = row.text
        return found

    async def put_many(self, items: Mapping[CacheKey, str], *, now: datetime | None = None) -> None:
        if not items:
            return
        created_at = now or _utcnow()
        rows = [
            {
                "text_hash": key.text_hash,
                "language": key.language,
                "options": key.options,
                "text": text,
                "created_at": created_at,
            }
            for key, text in items.items()
        ]
        async with self._db.session() as session:
            for chunk in _chunks(rows):
                stmt = _insert(session, translations).values(builtins.list(chunk))
                await session.execute(stmt.on_conflict_do_nothing())
            await session.commit()


# ------------------------------------------------------------------------------------------------------ chats

CHAT_FIELDS = frozenset(
    {
        "thread_id",
        "title",
        "language",
        "timezone",
        "push_time",
        "include_cross",
        "include_replacements",
        "keywords",
        "max_papers",
        "paused",
        "gone_at",
        "kind",
        "start_day",
        "failures",
    }
)
_PUSH_TIME = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")
_TITLE_MAX = 256


def _chat_from_row(row: Row[Any]) -> Chat:
    return Chat(
        id=row.id,
        platform=row.platform,
        chat_key=row.chat_key,
        thread_id=row.thread_id,
        title=row.title,
        language=row.language,
        timezone=row.timezone,
        push_time=row.push_time,
        include_cross=bool(row.include_cross),
        include_replacements=bool(row.include_replacements),
        keywords=tuple(row.keywords or ()),
        max_papers=row.max_papers,
        paused=bool(row.paused),
        gone_at=row.gone_at,
        created_at=row.created_at,
        kind=row.kind,
        start_day=row.start_day,
        failures=row.failures,
        language_day=row.language_day,
        languages_used=tuple(row.languages_used or ()),
        guild_key=row.guild_key,
    )


def _check_push_time(value: str) -> str:
    if not isinstance(value, str) or not _PUSH_TIME.fullmatch(value):
        raise ValueError(f"push_time must be 'HH:MM' (24 h), got {value!r}")
    return value


def _clip_title(title: str | None) -> str | None:
    return title[:_TITLE_MAX] if title is not None else None


class ChatRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, platform: str, chat_key: str) -> Chat | None:
        stmt = select(chats).where(chats.c.platform == platform, chats.c.chat_key == chat_key)
        row = (await self._session.execute(stmt)).first()
        return _chat_from_row(row) if row is not None else None

    async def get_by_id(self, chat_id: int) -> Chat | None:
        row = (await self._session.execute(select(chats).where(chats.c.id == chat_id))).first()
        return _chat_from_row(row) if row is not None else None

    async def ensure(
        self,
        platform: str,
        chat_key: str,
        *,
        language: str,
        timezone: str,
        push_time: str,
        title: str | None = None,
        kind: str | None = None,
        guild_key: str | None = None,
        now: datetime | None = None,
    ) -> Chat:
        """The chat, created with these settings when missing. An existing chat keeps its settings; only
        its title, kind and guild are refreshed when different ones are given."""
        existing = await self.get(platform, chat_key)
        at = now or _utcnow()
        if existing is not None:
            changes: dict[str, Any] = {}
            title = _clip_title(title)
            if title is not None and title != existing.title:
                changes["title"] = title
            if kind is not None and kind != existing.kind:
                changes["kind"] = kind
            if guild_key is not None and guild_key != existing.guild_key:
                changes["guild_key"] = guild_key
            if changes:
                return await self._write(existing.id, changes, at)
            return existing
        stmt = _insert(self._session, chats).values(
            platform=platform,
            chat_key=chat_key,
            title=_clip_title(title),
            kind=kind or "private",
            guild_key=guild_key,
            language=language,
            timezone=timezone,
            push_time=_check_push_time(push_time),
            include_cross=True,
            include_replacements=False,
            keywords=[],
            paused=False,
            created_at=at,
            updated_at=at,
        )
        # Two handlers racing for a new chat: the loser's insert does nothing and both read the one row.
        await self._session.execute(
            stmt.on_conflict_do_nothing(index_elements=[chats.c.platform, chats.c.chat_key])
        )
        chat = await self.get(platform, chat_key)
        if chat is None:  # pragma: no cover - the row was just written in this transaction
            raise RuntimeError(f"chat {platform}:{chat_key} vanished after insert")
        return chat

    async def update(self, chat_id: int, **fields: Any) -> Chat:
        """Change settings (names from ``CHAT_FIELDS``); unknown names raise ValueError, a missing chat
        LookupError."""
        unknown = sorted(set(fields) - CHAT_FIELDS)
        if unknown:
            raise ValueError(f"unknown chat field(s): {', '.join(unknown)}")
        return await self._write(chat_id, dict(fields), _utcnow())

    async def _write(self, chat_id: int, values: dict[str, Any], at: datetime) -> Chat:
        if "push_time" in values:
            _check_push_time(values["push_time"])
        if "title" in values:
            values["title"] = _clip_title(values["title"])
        if "keywords" in values:
            keywords = values["keywords"]
            if isinstance(keywords, str):
                raise ValueError("keywords must be a sequence of strings, not one string")
            values["keywords"] = [str(k) for k in keywords]
        values["updated_at"] = at
        result = await self._session.execute(
            update(chats).where(chats.c.id == chat_id).values(values).returning(chats.c.id)
        )
        if result.first() is None:
            raise LookupError(f"no chat with id {chat_id}")
        chat = await self.get_by_id(chat_id)
        assert chat is not None
        return chat

    async def mark_gone(self, chat_id: int, at: datetime) -> None:
        """The bot was blocked or removed: stop delivering (cleared by ``update(chat_id, gone_at=None)``)."""
        await self._session.execute(
            update(chats).where(chats.c.id == chat_id).values(gone_at=at, updated_at=at)
        )

    async def delete(self, chat_id: int) -> bool:
        """Forget a chat; its subscriptions go with it. True when it existed."""
        result = await self._session.execute(delete(chats).where(chats.c.id == chat_id).returning(chats.c.id))
        return result.first() is not None

    async def migrate(
        self, platform: str, old_key: str, new_key: str, *, now: datetime | None = None
    ) -> Chat | None:
        """The chat moved to a new id (Telegram group -> supergroup).

        When ``new_key`` is unknown the chat is re-keyed, keeping everything. When it already exists, the old
        chat's subscriptions are merged into it (its own settings are kept) and the old chat is deleted.
        Returns the chat now under ``new_key`` (None when neither exists).
        """
        at = now or _utcnow()
        old = await self.get(platform, old_key)
        if old is None or old_key == new_key:
            return await self.get(platform, new_key)
        new = await self.get(platform, new_key)
        if new is None:
            await self._session.execute(
                update(chats).where(chats.c.id == old.id).values(chat_key=new_key, updated_at=at)
            )
            logger.info("chat %s:%s re-keyed to %s", platform, old_key, new_key)
            return await self.get_by_id(old.id)
        subs = SubscriptionRepository(self._session)
        moved = await subs.add(new.id, await subs.list(old.id), now=at)
        await self.delete(old.id)
        logger.info(
            "chat %s:%s merged into %s (%d new subscriptions)", platform, old_key, new_key, len(moved)
        )
        return await self.get_by_id(new.id)

    async def take_lookup(self, chat_id: int, day: date, limit: int) -> bool:
        """Count one /paper lookup on ``day`` (UTC) against the chat's daily ``limit``; False when used up.
        One UPDATE, so two concurrent lookups cannot both take the last one."""
        same_day = chats.c.lookup_day == day
        stmt = (
            update(chats)
            .where(
                chats.c.id == chat_id,
                (chats.c.lookup_day.is_(None)) | (chats.c.lookup_day != day) | (chats.c.lookups_used < limit),
            )
            .values(
                lookups_used=case((same_day, chats.c.lookups_used + 1), else_=1),
                lookup_day=day,
            )
            .returning(chats.c.id)
        )
        return (await self._session.execute(stmt)).first() is not None

    async def switch_language(
        self, chat_id: int, language: str, *, day: date, limit: int, now: datetime | None = None
    ) -> tuple[bool, tuple[str, ...]]:
        """Set the chat's digest language within its allowance of ``limit`` distinct non-English languages per
        UTC ``day``: the language the chat had when the day began counts as used; English, and a language
        already used that day, are free. Returns whether it was set and the non-English languages used on
        ``day`` (with ``language`` when it was set). A refusal writes nothing the caller should keep: it
        rolls back.

        The chat's row is locked before it is read (a no-op UPDATE: a row lock on PostgreSQL, the write lock
        on SQLite), so that switches in concurrent transactions are counted one after the other, never both
        against the same state. LookupError when the chat does not exist.
        """
        lock = (
            update(chats)
            .where(chats.c.id == chat_id)
            .values(language_day=chats.c.language_day)
            .returning(chats.c.language, chats.c.language_day, chats.c.languages_used)
        )
        row = (await self._session.execute(lock)).first()
        if row is None:
            raise LookupError(f"no chat with id {chat_id}")
        if row.language_day == day:
            used = [str(code) for code in row.languages_used or ()]
        else:  # the first switch of the day: the language the day began with is used
            used = [] if is_english(row.language) else [row.language]
        if not is_english(language) and language not in used:
            if len(used) >= limit:
                return False, tuple(used)
            used.append(language)
        await self._write(
            chat_id, {"language": language, "language_day": day, "languages_used": used}, now or _utcnow()
        )
        return True, tuple(used)

    async def active(self) -> builtins.list[Chat]:
        """Chats to deliver to: not paused, not gone, with at least one subscription (by id)."""
        has_subscription = exists().where(subscriptions.c.chat_id == chats.c.id)
        stmt = (
            select(chats)
            .where(chats.c.paused.is_(False), chats.c.gone_at.is_(None), has_subscription)
            .order_by(chats.c.id)
        )
        return [_chat_from_row(row) for row in await self._session.execute(stmt)]


# ---------------------------------------------------------------------------------------------- subscriptions


class SubscriptionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def list(self, chat_id: int) -> builtins.list[str]:
        """The chat's categories, sorted."""
        stmt = (
            select(subscriptions.c.category)
            .where(subscriptions.c.chat_id == chat_id)
            .order_by(subscriptions.c.category)
        )
        return builtins.list((await self._session.execute(stmt)).scalars())

    async def entries(self, chat_id: int) -> builtins.list[Subscription]:
        """The chat's subscriptions with their dates, sorted by category."""
        stmt = (
            select(subscriptions).where(subscriptions.c.chat_id == chat_id).order_by(subscriptions.c.category)
        )
        return [
            Subscription(chat_id=row.chat_id, category=row.category, created_at=row.created_at)
            for row in await self._session.execute(stmt)
        ]

    async def add(
        self, chat_id: int, categories: Iterable[str], *, now: datetime | None = None
    ) -> builtins.list[str]:
        """Subscribe; returns the categories that were not subscribed before (in the order given)."""
        existing = set(await self.list(chat_id))
        added = [c for c in _unique(categories) if c not in existing]
        if added:
            at = now or _utcnow()
            stmt = _insert(self._session, subscriptions).values(
                [{"chat_id": chat_id, "category": c, "created_at": at} for c in added]
            )
            await self._session.execute(
                stmt.on_conflict_do_nothing(
                    index_elements=[subscriptions.c.chat_id, subscriptions.c.category]
                )
            )
        return added

    async def remove(self, chat_id: int, categories: Iterable[str]) -> builtins.list[str]:
        """Unsubscribe; returns the categories that were subscribed (in the order given)."""
        wanted = _unique(categories)
        if not wanted:
            return []
        stmt = (
            delete(subscriptions)
            .where(subscriptions.c.chat_id == chat_id, subscriptions.c.category.in_(wanted))
            .returning(subscriptions.c.category)
        )
        removed = set((await self._session.execute(stmt)).scalars())
        return [c for c in wanted if c in removed]

    async def clear(self, chat_id: int) -> int:
        """Remove every subscription of the chat; returns how many there were."""
        stmt = delete(subscriptions).where(subscriptions.c.chat_id == chat_id).returning(subscriptions.c.id)
        return len((await self._session.execute(stmt)).all())

    async def all_categories(self) -> builtins.list[str]:
        """The union of the categories of chats that are neither paused nor gone, sorted."""
        stmt = (
            select(subscriptions.c.category)
            .join(chats, chats.c.id == subscriptions.c.chat_id)
            .where(chats.c.paused.is_(False), chats.c.gone_at.is_(None))
            .distinct()
            .order_by(subscriptions.c.category)
        )
        return builtins.list((await self._session.execute(stmt)).scalars())


# ------------------------------------------------------------------------------------------------- topics


class TopicRepository:
    """Forum topics the bot created in a chat, by name (e.g. a category)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, chat_id: int, name: str) -> str | None:
        stmt = select(chat_topics.c.thread_id).where(
            chat_topics.c.chat_id == chat_id, chat_topics.c.name == name
        )
        return (await self._session.execute(stmt)).scalar_one_or_none()

    async def put(self, chat_id: int, name: str, thread_id: str, *, now: datetime | None = None) -> None:
        stmt = _insert(self._session, chat_topics).values(
            chat_id=chat_id, name=name, thread_id=thread_id, created_at=now or _utcnow()
        )
        await self._session.execute(
            stmt.on_conflict_do_update(
                index_elements=[chat_topics.c.chat_id, chat_topics.c.name], set_={"thread_id": thread_id}
            )
        )

    async def forget(self, chat_id: int, name: str) -> None:
        await self._session.execute(
            delete(chat_topics).where(chat_topics.c.chat_id == chat_id, chat_topics.c.name == name)
        )


class UsageRepository:
    """DeepL characters billed per UTC day (the daily budget, across restarts)."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def billed_on(self, day: date) -> int:
        stmt = select(deepl_usage.c.characters).where(deepl_usage.c.day == day)
        return int((await self._session.execute(stmt)).scalar_one_or_none() or 0)

    async def add(self, day: date, characters: int, *, now: datetime | None = None) -> None:
        """Add ``characters`` to ``day``'s count (one statement: concurrent adds do not lose any)."""
        at = now or _utcnow()
        stmt = _insert(self._session, deepl_usage).values(day=day, characters=characters, updated_at=at)
        await self._session.execute(
            stmt.on_conflict_do_update(
                index_elements=[deepl_usage.c.day],
                set_={"characters": deepl_usage.c.characters + characters, "updated_at": at},
            )
        )


# ------------------------------------------------------------------------------------------------- ledger


def _delivery_from_row(row: Row[Any]) -> Delivery:
    return Delivery(
        id=row.id,
        chat_id=row.chat_id,
        announced_on=row.announced_on,
        scheduled=row.scheduled_day is not None,
        language=row.language,
        status=row.status,
        papers=row.papers,
        created_at=row.created_at,
    )


class LedgerRepository:
    """The delivery ledger: a digest and each of its messages are rows before anything is sent."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(
        self,
        chat_id: int,
        announced_on: date,
        *,
        scheduled: bool,
        language: str,
        papers: int,
        messages: Sequence[PlannedMessage],
        now: datetime | None = None,
    ) -> int | None:
        """Write a delivery and its messages; returns its id. A scheduled delivery of a day the chat already
        has returns None and writes nothing (so a day is never delivered twice)."""
        at = now or _utcnow()
        stmt = _insert(self._session, deliveries).values(
            chat_id=chat_id,
            announced_on=announced_on,
            scheduled_day=announced_on if scheduled else None,
            language=language,
            status="pending",
            papers=papers,
            created_at=at,
        )
        if scheduled:
            stmt = stmt.on_conflict_do_nothing(
                index_elements=[deliveries.c.chat_id, deliveries.c.scheduled_day]
            )
        row = (await self._session.execute(stmt.returning(deliveries.c.id))).first()
        if row is None:
            return None
        delivery_id = int(row[0])
        values = [
            {
                "delivery_id": delivery_id,
                "seq": seq,
                "role": m.role,
                "ref": m.ref,
                "thread_id": m.thread_id,
                "reply_to_seq": m.reply_to_seq,
                "text": m.text,
                "payload": dict(m.payload) if m.payload is not None else None,
            }
            for seq, m in enumerate(messages)
        ]
        for chunk in _chunks(values, 200):
            await self._session.execute(delivery_messages.insert().values(builtins.list(chunk)))
        return delivery_id

    async def get(self, delivery_id: int) -> Delivery | None:
        row = (await self._session.execute(select(deliveries).where(deliveries.c.id == delivery_id))).first()
        return _delivery_from_row(row) if row is not None else None

    async def pending(self, chat_id: int | None = None) -> builtins.list[Delivery]:
        """Deliveries not finished, oldest announcement day first."""
        stmt = select(deliveries).where(deliveries.c.status == "pending")
        if chat_id is not None:
            stmt = stmt.where(deliveries.c.chat_id == chat_id)
        stmt = stmt.order_by(deliveries.c.announced_on, deliveries.c.id)
        return [_delivery_from_row(row) for row in await self._session.execute(stmt)]

    async def chats_scheduled_on(self, day: date) -> set[int]:
        """The chats that have a scheduled delivery of announcement ``day`` (whatever its status)."""
        stmt = select(deliveries.c.chat_id).where(deliveries.c.scheduled_day == day).distinct()
        return set((await self._session.execute(stmt)).scalars())

    async def scheduled_days(self, chat_id: int) -> set[date]:
        """Announcement days that have a scheduled delivery for the chat (whatever its status)."""
        stmt = select(deliveries.c.scheduled_day).where(
            deliveries.c.chat_id == chat_id, deliveries.c.scheduled_day.is_not(None)
        )
        return set((await self._session.execute(stmt)).scalars())

    async def messages(self, delivery_id: int) -> builtins.list[LedgerMessage]:
        stmt = (
            select(delivery_messages)
            .where(delivery_messages.c.delivery_id == delivery_id)
            .order_by(delivery_messages.c.seq)
        )
        return [
            LedgerMessage(
                id=row.id,
                delivery_id=row.delivery_id,
                seq=row.seq,
                role=row.role,
                ref=row.ref,
                thread_id=row.thread_id,
                reply_to_seq=row.reply_to_seq,
                text=row.text,
                message_id=row.message_id,
                payload=row.payload,
            )
            for row in await self._session.execute(stmt)
        ]

    async def mark_sent(self, message_row_id: int, message_id: str, *, now: datetime | None = None) -> None:
        await self._session.execute(
            update(delivery_messages)
            .where(delivery_messages.c.id == message_row_id)
            .values(message_id=message_id, sent_at=now or _utcnow())
        )

    async def finish(self, delivery_id: int, status: str, *, now: datetime | None = None) -> None:
        if status not in ("done", "failed"):
            raise ValueError(f"unknown delivery status {status!r}")
        await self._session.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery_id)
            .values(status=status, finished_at=now or _utcnow())
        )

    async def counts(self, since: datetime | None = None) -> dict[str, int]:
        """Deliveries by status (created since ``since`` when given), and messages sent."""
        stmt = select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
        if since is not None:
            stmt = stmt.where(deliveries.c.created_at >= since)
        result = {str(status): int(n) for status, n in await self._session.execute(stmt)}
        sent = (
            select(func.count())
            .select_from(delivery_messages)
            .where(delivery_messages.c.message_id.is_not(None))
        )
        if since is not None:
            sent = sent.where(delivery_messages.c.sent_at >= since)
        result["messages_sent"] = int((await self._session.execute(sent)).scalar_one())
        return result
