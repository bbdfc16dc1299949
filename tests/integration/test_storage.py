"""storage/: migrations, repositories and errors, on SQLite and (with TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import delete, func, inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from arxiv_digest.papers.models import Announcement, AnnouncementBatch, AnnounceType, Paper
from arxiv_digest.papers.ports import CacheKey, TranslationCache
from arxiv_digest.storage import tables
from arxiv_digest.storage.db import Database, StorageUnavailable, head_revision, normalize_url
from arxiv_digest.storage.models import FeedCheck
from arxiv_digest.storage.repositories import (
    AnnouncementRepository,
    ChatRepository,
    LedgerRepository,
    PaperRepository,
    SubscriptionRepository,
    TranslationCacheRepository,
)
from tests.dbs import open_database, postgres_url

T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
DAY1 = date(2025, 3, 3)
DAY2 = date(2025, 3, 4)
ALL_TABLES = {
    "papers",
    "announcements",
    "feed_checks",
    "translations",
    "chats",
    "subscriptions",
    "chat_topics",
    "deliveries",
    "delivery_messages",
}


def paper(
    arxiv_id: str, *, version: int | None = 1, categories: Sequence[str] = ("cs.LG",), **kw: Any
) -> Paper:
    fields: dict[str, Any] = {
        "title": f"Title of {arxiv_id}",
        "abstract": f"Abstract of {arxiv_id}.",
        "authors": ("Ada Lovelace", "Alan Turing"),
        "published": datetime(2025, 3, 1, 12, 0, tzinfo=UTC),
    }
    fields.update(kw)
    return Paper(arxiv_id=arxiv_id, version=version, categories=tuple(categories), **fields)


def batch(
    categories: Sequence[str],
    items: Sequence[tuple[Paper, AnnounceType]],
    *,
    day: date | None = DAY1,
    fingerprint: str = "fp-1",
) -> AnnouncementBatch:
    anns = tuple(Announcement(p, t, day) for p, t in items) if day is not None else ()
    return AnnouncementBatch(tuple(categories), day if anns else None, anns, fingerprint)


# --------------------------------------------------------------------------------------- schema & migrations


def _inspect_schema(conn: Connection) -> tuple[set[str], list[Any]]:
    names = set(inspect(conn).get_table_names())
    diff = compare_metadata(MigrationContext.configure(conn), tables.metadata)
    return names, diff


async def test_upgrade_creates_every_table_and_is_idempotent(empty_database: Database) -> None:
    db = empty_database
    assert await db.current_revision() is None
    await db.upgrade()
    assert await db.current_revision() == head_revision() == "0005_platform_payloads"
    async with db.engine.connect() as conn:
        names, diff = await conn.run_sync(_inspect_schema)
    assert ALL_TABLES | {"alembic_version"} <= names
    assert diff == [], f"migration and tables.py differ: {diff}"

    await db.upgrade()  # second run: no-op, no error
    assert await db.current_revision() == head_revision()
    async with db.engine.connect() as conn:
        count = (await conn.exec_driver_sql("SELECT count(*) FROM alembic_version")).scalar_one()
    assert count == 1


async def test_0004_gives_existing_chats_an_empty_language_allowance(empty_database: Database) -> None:
    db = empty_database
    await db.upgrade("0003_deepl_usage")
    async with db.engine.begin() as conn:
        await conn.execute(
            tables.chats.insert().values(
                platform="telegram",
                chat_key="1",
                language="JA",
                timezone="UTC",
                push_time="08:00",
                created_at=T0,
                updated_at=T0,
            )
        )
    await db.upgrade()
    async with db.session() as s:
        chat = await ChatRepository(s).get("telegram", "1")
    assert chat is not None
    assert (chat.language, chat.language_day, chat.languages_used) == ("JA", None, ())


async def test_sqlite_file_uses_wal_and_pragmas(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "dir" / "digest.db"
    db = Database(f"sqlite:///{target}")
    try:
        await db.upgrade()
        assert target.exists()
        async with db.engine.connect() as conn:
            pragmas = {
                name: (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar_one()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            }
        assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000, "synchronous": 1}
    finally:
        await db.dispose()


async def test_sqlite_in_memory_works_without_wal() -> None:
    db = Database("sqlite+aiosqlite:///:memory:")
    try:
        await db.upgrade()
        assert await db.current_revision() == head_revision()
        async with db.engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar_one() == "memory"
    finally:
        await db.dispose()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///data/x.db", "sqlite+aiosqlite:///data/x.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgres://u:pw@db:5432/app", "postgresql+asyncpg://u:pw@db:5432/app"),
        ("postgresql://u@db/app", "postgresql+asyncpg://u@db/app"),
        ("postgresql+asyncpg://u@db/app", "postgresql+asyncpg://u@db/app"),
        ("postgresql://u@db/app?sslmode=require", "postgresql+asyncpg://u@db/app?ssl=require"),
        # a value without a scheme is the path of a SQLite file
        ("./data/other.db", "sqlite+aiosqlite:///./data/other.db"),
        ("/srv/arxiv digest/x.db", "sqlite+aiosqlite:////srv/arxiv digest/x.db"),
    ],
)
def test_urls_are_normalised_to_async_drivers(given: str, expected: str) -> None:
    assert normalize_url(given).render_as_string(hide_password=False) == expected


@pytest.mark.parametrize(
    "url", ["mysql://u:hunter2@db/app", "postgresql+psycopg2://u:hunter2@db/app", "://u:hunter2@db/app"]
)
def test_unsupported_url_is_storage_unavailable(url: str) -> None:
    with pytest.raises(StorageUnavailable) as info:
        Database(url)
    assert "hunter2" not in str(info.value)
    assert info.value.hint
    assert "\n" not in str(info.value)


def test_url_property_hides_password_and_dialect() -> None:
    db = Database("postgres://bob:hunter2@127.0.0.1:5432/app")
    assert "hunter2" not in db.url
    assert db.url.startswith("postgresql+asyncpg://bob:")
    assert db.dialect == "postgresql"
    assert Database("sqlite:///:memory:").dialect == "sqlite"


def test_schema_is_postgresql_only() -> None:
    with pytest.raises(ValueError, match="PostgreSQL"):
        Database("sqlite:///:memory:", schema="x")


async def test_unreachable_postgresql_is_storage_unavailable() -> None:
    db = Database("postgresql://bob:hunter2@127.0.0.1:1/app")
    try:
        for operation in (db.upgrade, db.current_revision, db.ping):
            with pytest.raises(StorageUnavailable) as info:
                await operation()
            message = str(info.value)
            assert "hunter2" not in message
            assert "127.0.0.1:1" in message
            assert "\n" not in message
        with pytest.raises(StorageUnavailable):
            async with db.session() as session:
                await PaperRepository(session).get("2403.19243")
    finally:
        await db.dispose()


async def test_sqlite_path_that_cannot_exist_is_storage_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageUnavailable, match="SQLite"):
        Database(f"sqlite:///{blocker / 'sub' / 'db.sqlite3'}")


@pytest.mark.postgres
async def test_unknown_postgresql_database_is_storage_unavailable() -> None:
    url = normalize_url(postgres_url()).set(database="arxiv_digest_no_such_db", password="hunter2")
    db = Database(url.render_as_string(hide_password=False))
    try:
        with pytest.raises(StorageUnavailable) as info:
            await db.ping()
        assert "hunter2" not in str(info.value)
        assert "arxiv_digest_no_such_db" in str(info.value)
    finally:
        await db.dispose()


async def test_integrity_errors_are_not_disguised(database: Database) -> None:
    """Only connection trouble becomes StorageUnavailable; a foreign-key violation stays an IntegrityError."""
    orphan = tables.announcements.insert().values(
        announced_on=DAY1, category="cs.LG", paper_id="missing", announce_type="new"
    )
    async with database.session() as session:
        with pytest.raises(IntegrityError):
            await session.execute(orphan)


# ---------------------------------------------------------------------------------------------------- papers


async def test_paper_upsert_follows_version_and_keeps_known_fields(database: Database) -> None:
    v1 = paper("2403.00001", version=1, comment="10 pages", doi="10.1/x", primary_category="cs.LG")
    async with database.session() as s:
        await PaperRepository(s).upsert_many([v1, paper("2403.00002", version=None)], now=T0)
        await s.commit()

    v2 = paper("2403.00001", version=2, title="New title", comment=None, doi=None, journal_ref="J. Tests 1")
    stale = paper("2403.00002", version=None, title="Also replaced")  # None == None: replaced
    async with database.session() as s:
        await PaperRepository(s).upsert_many([v2, stale], now=T0)
        await s.commit()
    async with database.session() as s:
        got = await PaperRepository(s).get_many(["2403.00001", "2403.00002", "2403.99999"])
    assert set(got) == {"2403.00001", "2403.00002"}
    assert got["2403.00001"].title == "New title"
    assert got["2403.00001"].version == 2
    assert got["2403.00001"].comment == "10 pages"  # None never erases
    assert got["2403.00001"].doi == "10.1/x"
    assert got["2403.00001"].primary_category == "cs.LG"
    assert got["2403.00001"].journal_ref == "J. Tests 1"
    assert got["2403.00002"].title == "Also replaced"

    older = paper("2403.00001", version=1, title="Old title again", comment="changed")
    async with database.session() as s:
        await PaperRepository(s).upsert_many([older], now=T0)
        await s.commit()
        kept = await PaperRepository(s).get("2403.00001")
    assert kept is not None
    assert (kept.title, kept.version, kept.comment) == ("New title", 2, "10 pages")


async def test_paper_upsert_with_duplicates_in_one_call(database: Database) -> None:
    async with database.session() as s:
        repo = PaperRepository(s)
        await repo.upsert_many(
            [paper("2403.00003", version=2, title="v2"), paper("2403.00003", version=1, title="v1")], now=T0
        )
        await s.commit()
        got = await repo.get("2403.00003")
    assert got is not None
    assert got.title == "v2"
    assert await _count(database, tables.papers) == 1


async def test_text_round_trips_unicode_and_latex(database: Database) -> None:
    title = "Über $\\mathcal{O}(n \\log n)$ Schrödinger — 量子 😀 \\(x^2\\) & <b>"
    abstract = (
        "We prove $\\sum_{i=1}^n i = \\frac{n(n+1)}{2}$ — naïve café.\n\nSecond ¶ with 'quotes' \"too\"."
    )
    p = paper(
        "hep-th/9901001",
        title=title,
        abstract=abstract,
        authors=("Jürgen Müller", "Zoë Ørsted", "李雷"),
        categories=("hep-th", "math-ph"),
        comment="12 pp., 3 figs; \\textit{v2}",
        updated=datetime(2025, 3, 2, 8, 30, tzinfo=timezone(timedelta(hours=-5))),
    )
    async with database.session() as s:
        await PaperRepository(s).upsert_many([p], now=T0)
        await s.commit()
    async with database.session() as s:
        got = await PaperRepository(s).get("hep-th/9901001")
    assert got == replace(p, updated=datetime(2025, 3, 2, 13, 30, tzinfo=UTC))
    assert got is not None
    assert got.updated is not None
    assert got.updated.tzinfo == UTC


# -------------------------------------------------------------------------------------------- announcements


async def test_save_batch_is_idempotent_and_for_date_lists_pairs(database: Database) -> None:
    a = paper("2403.10001", categories=("cs.LG", "stat.ML"))
    b = paper("2403.10002", categories=("stat.ML",))
    c = paper("2403.10003", categories=("math.OC",))  # matches no feed category: stored under both
    first = batch(
        ["cs.LG", "stat.ML"], [(a, AnnounceType.NEW), (b, AnnounceType.CROSS), (c, AnnounceType.REPLACE)]
    )
    async with database.session() as s:
        repo = AnnouncementRepository(s)
        inserted = await repo.save_batch(first, feed_key="cs.LG+stat.ML", checked_at=T0)
        await s.commit()
    assert inserted == 5
    async with database.session() as s:
        again = await AnnouncementRepository(s).save_batch(first, feed_key="cs.LG+stat.ML", checked_at=T0)
        await s.commit()
    assert again == 0
    assert await _count(database, tables.announcements) == 5

    async with database.session() as s:
        repo = AnnouncementRepository(s)
        pairs = await repo.for_date(DAY1)
        only_stat = await repo.for_date(DAY1, ["stat.ML"])
        none = await repo.for_date(DAY2)
    assert [(cat, ann.paper.arxiv_id, ann.announce_type) for cat, ann in pairs] == [
        ("cs.LG", "2403.10001", AnnounceType.NEW),
        ("stat.ML", "2403.10001", AnnounceType.NEW),
        ("stat.ML", "2403.10002", AnnounceType.CROSS),
        ("cs.LG", "2403.10003", AnnounceType.REPLACE),
        ("stat.ML", "2403.10003", AnnounceType.REPLACE),
    ]
    assert all(ann.announced_on == DAY1 for _, ann in pairs)
    assert pairs[0][1].paper == a
    assert [ann.paper.arxiv_id for _, ann in only_stat] == ["2403.10001", "2403.10002", "2403.10003"]
    assert none == []


async def test_save_batch_with_matcher_and_dates(database: Database) -> None:
    def archive_matcher(category: str, paper_categories: Sequence[str]) -> bool:
        return any(pc == category or pc.startswith(category + ".") for pc in paper_categories)

    p1 = paper("2403.20001", categories=("cs.CL", "cs.AI"))
    p2 = paper("2403.20002", categories=("math.PR",))
    day1 = batch(["cs", "math"], [(p1, AnnounceType.NEW), (p2, AnnounceType.NEW)], day=DAY1)
    day2 = batch(["cs", "math"], [(p1, AnnounceType.REPLACE)], day=DAY2, fingerprint="fp-2")
    async with database.session() as s:
        repo = AnnouncementRepository(s)
        assert await repo.latest_date() is None
        assert await repo.dates() == []
        assert await repo.save_batch(day2, feed_key="cs+math", checked_at=T0, matcher=archive_matcher) == 1
        assert await repo.save_batch(day1, feed_key="cs+math", checked_at=T0, matcher=archive_matcher) == 2
        await s.commit()
        pairs = await repo.for_date(DAY1)
        assert [(cat, ann.paper.arxiv_id) for cat, ann in pairs] == [
            ("cs", "2403.20001"),
            ("math", "2403.20002"),
        ]
        assert await repo.latest_date() == DAY2
        assert await repo.latest_date(["math"]) == DAY1
        assert await repo.latest_date(["q-bio"]) is None
        assert await repo.dates() == [DAY1, DAY2]
        assert await repo.dates(["math"]) == [DAY1]
        assert await repo.dates(since=DAY2) == [DAY2]
        assert await repo.dates(["cs"], since=date(2025, 3, 5)) == []


async def test_feed_check_upsert_and_empty_batch(database: Database) -> None:
    async with database.session() as s:
        repo = AnnouncementRepository(s)
        assert await repo.last_check("cs.LG") is None
        await repo.record_check("cs.LG", checked_at=T0, announced_on=DAY1, fingerprint="aaa", count=12)
        await s.commit()
        assert await repo.last_check("cs.LG") == FeedCheck("cs.LG", T0, DAY1, "aaa", 12)

        later = T0 + timedelta(hours=2)
        assert (
            await repo.save_batch(
                batch(["cs.LG"], [], day=None, fingerprint="empty"), feed_key="cs.LG", checked_at=later
            )
            == 0
        )
        await s.commit()
    async with database.session() as s:
        check = await AnnouncementRepository(s).last_check("cs.LG")
    assert check == FeedCheck("cs.LG", later, None, "empty", 0)
    assert await _count(database, tables.feed_checks) == 1
    assert await _count(database, tables.announcements) == 0


async def test_coverage_by_feed_checks_and_stored_rows(database: Database) -> None:
    """A category is covered for a day when a check of a feed including it recorded that day, even with no
    paper of its own in that feed; or when rows of that day are stored under it."""
    a = paper("2403.30001", categories=("cs.LG",))
    async with database.session() as s:
        repo = AnnouncementRepository(s)
        assert await repo.covered(["cs.LG"], DAY1) == set()
        assert await repo.covered([], DAY1) == set()
        # a non-empty feed of three categories, with papers in cs.LG only
        await repo.save_batch(
            batch(["cs.CL", "cs.LG", "stat.ML"], [(a, AnnounceType.NEW)]),
            feed_key="cs.CL+cs.LG+stat.ML",
            checked_at=T0,
        )
        await repo.record_check("math.OC", checked_at=T0, announced_on=None, fingerprint="e", count=0)
        await repo.record_check("hep-th@api", checked_at=T0, announced_on=DAY1, fingerprint="h", count=2)
        await s.commit()
        wanted = ["cs.CL", "cs.LG", "stat.ML", "math.OC", "hep-th", "cs.AI"]
        assert await repo.covered(wanted, DAY1) == {"cs.CL", "cs.LG", "stat.ML", "hep-th"}
        assert await repo.covered(wanted, DAY2) == set()  # another day
        # the feed's record overwritten by a later (empty) check: the stored rows still cover cs.LG
        await repo.record_check(
            "cs.CL+cs.LG+stat.ML", checked_at=T0, announced_on=None, fingerprint="e", count=0
        )
        await s.commit()
        assert await repo.covered(wanted, DAY1) == {"cs.LG", "hep-th"}


async def test_chats_scheduled_on_a_day(database: Database) -> None:
    async with database.session() as s:
        chats, ledger = ChatRepository(s), LedgerRepository(s)
        one = await chats.ensure("telegram", "1", language="EN", timezone="UTC", push_time="08:00")
        two = await chats.ensure("telegram", "2", language="EN", timezone="UTC", push_time="08:00")
        await ledger.create(one.id, DAY1, scheduled=True, language="EN", papers=0, messages=(), now=T0)
        await ledger.create(two.id, DAY1, scheduled=False, language="EN", papers=0, messages=(), now=T0)
        await ledger.create(two.id, DAY2, scheduled=True, language="EN", papers=0, messages=(), now=T0)
        await s.commit()
        assert await ledger.chats_scheduled_on(DAY1) == {one.id}  # /digest deliveries do not count
        assert await ledger.chats_scheduled_on(DAY2) == {two.id}
        assert await ledger.chats_scheduled_on(date(2025, 3, 5)) == set()


# -------------------------------------------------------------------------------------------- translations


async def test_translation_cache_get_put_and_put_again(database: Database) -> None:
    cache: TranslationCache = TranslationCacheRepository(database)
    k1 = CacheKey("a" * 64, "DE", "xml:v1")
    k2 = CacheKey("a" * 64, "ZH-HANS", "xml:v1")
    k3 = CacheKey("b" * 64, "DE", "xml:v2")
    assert await cache.get_many([k1, k2]) == {}
    await cache.put_many({k1: "Hallo $x$", k2: "你好 $x$"})
    await cache.put_many({k1: "ignored: already cached", k3: "Welt"})
    assert await cache.get_many([k1, k2, k3, CacheKey("a" * 64, "DE", "xml:v2")]) == {
        k1: "Hallo $x$",
        k2: "你好 $x$",
        k3: "Welt",
    }
    assert await cache.get_many([]) == {}


async def test_translation_cache_many_keys(database: Database) -> None:
    cache = TranslationCacheRepository(database)
    items = {CacheKey(f"{i:064x}", "FR" if i % 2 else "JA", "o1"): f"texte {i}" for i in range(1234)}
    await cache.put_many(items)
    await cache.put_many(items)
    keys = [*items, CacheKey(f"{99999:064x}", "FR", "o1")]
    got = await cache.get_many(keys)
    assert got == items
    assert await _count(database, tables.translations) == 1234


# --------------------------------------------------------------------------------------------------- chats


async def test_chat_ensure_update_and_mark_gone(database: Database) -> None:
    async with database.session() as s:
        repo = ChatRepository(s)
        assert await repo.get("telegram", "-100123") is None
        chat = await repo.ensure(
            "telegram",
            "-100123",
            language="ZH",
            timezone="Asia/Shanghai",
            push_time="09:00",
            title="Group",
            now=T0,
        )
        again = await repo.ensure(
            "telegram", "-100123", language="EN", timezone="UTC", push_time="07:00", now=T0
        )
        await s.commit()
    assert chat == again
    assert (chat.language, chat.timezone, chat.push_time, chat.title) == (
        "ZH",
        "Asia/Shanghai",
        "09:00",
        "Group",
    )
    assert (chat.include_cross, chat.include_replacements, chat.paused) == (True, False, False)
    assert (chat.keywords, chat.max_papers, chat.gone_at, chat.thread_id) == ((), None, None, None)
    assert chat.created_at == T0

    async with database.session() as s:
        repo = ChatRepository(s)
        updated = await repo.update(
            chat.id,
            keywords=["diffusion", "LLM"],
            max_papers=20,
            include_replacements=True,
            push_time="21:30",
        )
        with pytest.raises(ValueError, match="colour"):
            await repo.update(chat.id, colour="blue")
        with pytest.raises(ValueError, match="HH:MM"):
            await repo.update(chat.id, push_time="25:00")
        with pytest.raises(LookupError):
            await repo.update(99999, paused=True)
        await repo.mark_gone(chat.id, T0 + timedelta(days=1))
        await s.commit()
    assert updated.keywords == ("diffusion", "LLM")
    assert (updated.max_papers, updated.include_replacements, updated.push_time) == (20, True, "21:30")
    async with database.session() as s:
        gone = await ChatRepository(s).get_by_id(chat.id)
    assert gone is not None
    assert gone.gone_at == T0 + timedelta(days=1)
    assert gone.keywords == ("diffusion", "LLM")


async def _switch(
    db: Database, chat_id: int, language: str, day: date, limit: int = 3
) -> tuple[bool, tuple[str, ...]]:
    async with db.session() as s:
        result = await ChatRepository(s).switch_language(chat_id, language, day=day, limit=limit)
        if result[0]:
            await s.commit()
    return result


async def test_language_allowance_per_utc_day(database: Database) -> None:
    async with database.session() as s:
        chat = await ChatRepository(s).ensure(
            "telegram", "7", language="ZH-HANS", timezone="UTC", push_time="08:00"
        )
        await s.commit()
    assert (chat.language_day, chat.languages_used) == (None, ())
    # the language the day began with counts: two more, then the cap
    assert await _switch(database, chat.id, "JA", DAY1) == (True, ("ZH-HANS", "JA"))
    assert await _switch(database, chat.id, "DE", DAY1) == (True, ("ZH-HANS", "JA", "DE"))
    assert await _switch(database, chat.id, "FR", DAY1) == (False, ("ZH-HANS", "JA", "DE"))
    async with database.session() as s:
        stored = await ChatRepository(s).get_by_id(chat.id)
    assert stored is not None
    assert (stored.language, stored.language_day, stored.languages_used) == (
        "DE",
        DAY1,
        ("ZH-HANS", "JA", "DE"),
    )
    # back to one used today, and English (any variant): free
    assert await _switch(database, chat.id, "ZH-HANS", DAY1) == (True, ("ZH-HANS", "JA", "DE"))
    assert await _switch(database, chat.id, "EN-GB", DAY1) == (True, ("ZH-HANS", "JA", "DE"))
    assert await _switch(database, chat.id, "EN-US", DAY1) == (True, ("ZH-HANS", "JA", "DE"))
    assert await _switch(database, chat.id, "FR", DAY1) == (False, ("ZH-HANS", "JA", "DE"))
    assert await _switch(database, chat.id, "JA", DAY1) == (True, ("ZH-HANS", "JA", "DE"))
    # a new UTC day: only the language it begins with (JA) is used
    assert await _switch(database, chat.id, "FR", DAY2) == (True, ("JA", "FR"))
    assert await _switch(database, chat.id, "KO", DAY2) == (True, ("JA", "FR", "KO"))
    assert await _switch(database, chat.id, "DE", DAY2) == (False, ("JA", "FR", "KO"))
    # a day begun in English has nothing used yet
    assert await _switch(database, chat.id, "EN-US", DAY2) == (True, ("JA", "FR", "KO"))
    day3 = date(2025, 3, 5)
    assert await _switch(database, chat.id, "DE", day3, limit=1) == (True, ("DE",))
    assert await _switch(database, chat.id, "FR", day3, limit=1) == (False, ("DE",))
    with pytest.raises(LookupError):
        await _switch(database, 99999, "DE", DAY1)


async def test_concurrent_language_switches_cannot_both_take_the_last_one(database: Database) -> None:
    async with database.session() as s:
        chat = await ChatRepository(s).ensure(
            "telegram", "8", language="ZH-HANS", timezone="UTC", push_time="08:00"
        )
        await s.commit()

    async def switch(language: str) -> bool:
        async with database.session() as s:
            allowed, _ = await ChatRepository(s).switch_language(chat.id, language, day=DAY1, limit=2)
            await asyncio.sleep(0.2)  # hold the transaction open: the other switch overlaps it
            if allowed:
                await s.commit()
        return allowed

    results = await asyncio.gather(switch("JA"), switch("DE"))
    assert sorted(results) == [False, True]
    async with database.session() as s:
        stored = await ChatRepository(s).get_by_id(chat.id)
    assert stored is not None
    assert len(stored.languages_used) == 2
    assert stored.language == stored.languages_used[-1]


async def test_chat_migrate_rekeys_or_merges(database: Database) -> None:
    async with database.session() as s:
        chats, subs = ChatRepository(s), SubscriptionRepository(s)
        group = await chats.ensure("telegram", "-1", language="EN", timezone="UTC", push_time="08:00")
        await subs.add(group.id, ["cs.LG", "stat.ML"])
        moved = await chats.migrate("telegram", "-1", "-1001")
        assert moved is not None
        assert (moved.id, moved.chat_key) == (group.id, "-1001")
        assert await chats.get("telegram", "-1") is None
        assert await chats.migrate("telegram", "-404", "-405") is None

        old = await chats.ensure("telegram", "-2", language="DE", timezone="UTC", push_time="08:00")
        new = await chats.ensure("telegram", "-1002", language="FR", timezone="UTC", push_time="10:00")
        await subs.add(old.id, ["cs.CV", "cs.LG"])
        await subs.add(new.id, ["cs.LG", "q-bio.NC"])
        merged = await chats.migrate("telegram", "-2", "-1002")
        await s.commit()
        assert merged is not None
        assert (merged.id, merged.language) == (new.id, "FR")
        assert await subs.list(new.id) == ["cs.CV", "cs.LG", "q-bio.NC"]
        assert await chats.get("telegram", "-2") is None
        assert await subs.list(old.id) == []


async def test_active_chats_and_all_categories(database: Database) -> None:
    async with database.session() as s:
        chats, subs = ChatRepository(s), SubscriptionRepository(s)
        ids = {}
        for key in ("a", "b", "c", "d"):
            ids[key] = (
                await chats.ensure("discord", key, language="EN", timezone="UTC", push_time="08:00")
            ).id
        await subs.add(ids["a"], ["cs.LG"])
        await subs.add(ids["b"], ["math.PR"])  # paused
        await subs.add(ids["c"], ["hep-th"])  # gone
        # d: no subscription
        await chats.update(ids["b"], paused=True)
        await chats.mark_gone(ids["c"], T0)
        await s.commit()
        assert [c.chat_key for c in await chats.active()] == ["a"]
        assert await subs.all_categories() == ["cs.LG"]
        await chats.update(ids["b"], paused=False)
        await chats.update(ids["c"], gone_at=None)
        assert [c.chat_key for c in await chats.active()] == ["a", "b", "c"]
        assert await subs.all_categories() == ["cs.LG", "hep-th", "math.PR"]


# --------------------------------------------------------------------------------------------- subscriptions


async def test_subscriptions_add_remove_clear_and_cascade(database: Database) -> None:
    async with database.session() as s:
        chats, subs = ChatRepository(s), SubscriptionRepository(s)
        chat = await chats.ensure("telegram", "42", language="EN", timezone="UTC", push_time="08:00")
        assert await subs.add(chat.id, ["stat.ML", "cs.LG", "stat.ML"], now=T0) == ["stat.ML", "cs.LG"]
        assert await subs.add(chat.id, ["cs.LG", "math.OC"]) == ["math.OC"]
        assert await subs.list(chat.id) == ["cs.LG", "math.OC", "stat.ML"]
        entries = await subs.entries(chat.id)
        assert [(e.category, e.created_at.tzinfo) for e in entries][2] == ("stat.ML", UTC)
        assert await subs.remove(chat.id, ["math.OC", "q-fin.ST"]) == ["math.OC"]
        assert await subs.remove(chat.id, []) == []
        assert await subs.clear(chat.id) == 2
        assert await subs.list(chat.id) == []
        await subs.add(chat.id, ["cs.AI", "cs.RO"])
        await s.commit()

    async with database.session() as s:
        await s.execute(delete(tables.chats).where(tables.chats.c.id == chat.id))
        await s.commit()
    assert await _count(database, tables.subscriptions) == 0

    async with database.session() as s:
        chats, subs = ChatRepository(s), SubscriptionRepository(s)
        other = await chats.ensure("telegram", "43", language="EN", timezone="UTC", push_time="08:00")
        await subs.add(other.id, ["cs.AI"])
        assert await chats.delete(other.id) is True
        assert await chats.delete(other.id) is False
        await s.commit()
    assert await _count(database, tables.subscriptions) == 0


# ---------------------------------------------------------------------------------------------- datetimes


async def test_datetimes_come_back_aware_utc_and_naive_ones_are_refused(database: Database) -> None:
    plus8 = datetime(2025, 3, 3, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    async with database.session() as s:
        await AnnouncementRepository(s).record_check(
            "k", checked_at=plus8, announced_on=None, fingerprint="f", count=0
        )
        await s.commit()
    async with database.session() as s:
        check = await AnnouncementRepository(s).last_check("k")
        raw = (await s.execute(select(tables.feed_checks.c.checked_at))).scalar_one()
    assert check is not None
    assert check.checked_at == datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
    assert check.checked_at.tzinfo == UTC
    assert raw.tzinfo == UTC

    with pytest.raises(Exception, match="naive datetime"):
        async with database.session() as s:
            await AnnouncementRepository(s).record_check(
                "k", checked_at=datetime(2025, 3, 3, 9, 0), announced_on=None, fingerprint="f", count=0
            )


async def test_sqlite_file_is_shared_between_databases(tmp_path: Path) -> None:
    """A second Database on the same file (e.g. a CLI next to the bot) sees committed rows."""
    async with open_database("sqlite", tmp_path) as first:
        await TranslationCacheRepository(first).put_many({CacheKey("h", "DE", "o"): "x"})
        second = Database(f"sqlite:///{tmp_path / 'db' / 'test.sqlite3'}")
        try:
            await second.upgrade()
            assert await TranslationCacheRepository(second).get_many([CacheKey("h", "DE", "o")]) == {
                CacheKey("h", "DE", "o"): "x"
            }
        finally:
            await second.dispose()


async def _count(db: Database, table: Any) -> int:
    async with db.session() as s:
        return int((await s.execute(select(func.count()).select_from(table))).scalar_one())


# -- the single-instance lock on PostgreSQL dies with its connection ----------------------------------------


async def _terminate_lock_holder() -> None:
    """What a server restart or a dropped network does: end the session that holds the advisory lock."""
    from arxiv_digest.storage.db import _ADVISORY_KEY

    admin = Database(postgres_url())
    try:
        async with admin.engine.connect() as conn:
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND objid = :key AND pid <> pg_backend_pid()"
                ),
                {"key": _ADVISORY_KEY},
            )
            await conn.commit()
    finally:
        await admin.dispose()


@pytest.mark.postgres
async def test_a_lost_lock_is_taken_again_or_its_loss_is_raised() -> None:
    from arxiv_digest.storage.db import AlreadyRunning, InstanceLock

    url = postgres_url()
    first_db, second_db = Database(url), Database(url)
    first, second = InstanceLock(first_db), InstanceLock(second_db)
    try:
        await first.acquire()
        assert await first.check()
        await _terminate_lock_holder()  # nobody else wants it: taken again
        assert await first.check()
        assert first.held
        with pytest.raises(AlreadyRunning):
            await second.acquire()

        await _terminate_lock_holder()  # this time another process is quicker
        await second.acquire()
        with pytest.raises(AlreadyRunning):
            await first.check()
        assert not first.held
    finally:
        await first.release()
        await second.release()
        await first_db.dispose()
        await second_db.dispose()


# -- the single-instance lock on SQLite: any name of the file is the same lock ------------------------------


@pytest.mark.parametrize("other_name", ["symlink", "hard link", "relative path"])
async def test_another_name_of_the_sqlite_file_is_the_same_lock(
    tmp_path: Path, other_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from arxiv_digest.storage.db import AlreadyRunning, InstanceLock

    path = tmp_path / "data" / "bot.db"
    first_db = Database(f"sqlite:///{path}")
    await first_db.upgrade()
    if other_name == "symlink":
        other = tmp_path / "elsewhere.db"
        other.symlink_to(path)
    elif other_name == "hard link":
        other = tmp_path / "hardlink.db"
        os.link(path, other)
    else:
        monkeypatch.chdir(tmp_path / "data")
        other = Path("bot.db")
    second_db = Database(str(other))
    first, second = InstanceLock(first_db), InstanceLock(second_db)
    try:
        await first.acquire()
        with pytest.raises(AlreadyRunning, match="another name of the same file"):
            await second.acquire()
        await first.release()
        await second.acquire()  # free once the first has stopped
    finally:
        await first.release()
        await second.release()
        await first_db.dispose()
        await second_db.dispose()


async def test_an_empty_sqlite_file_is_refused_not_taken_for_a_new_database(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    path.write_bytes(b"")  # a database truncated or copied wrongly; subscriptions would silently vanish
    db = Database(f"sqlite:///{path}")
    try:
        with pytest.raises(StorageUnavailable, match="empty file") as info:
            await db.upgrade()
        assert "restore it from a backup" in str(info.value)
        assert path.stat().st_size == 0  # nothing written
    finally:
        await db.dispose()
    path.unlink()  # no file: a new database, as on a first run
    db = Database(f"sqlite:///{path}")
    try:
        await db.upgrade()
        assert await db.current_revision() is not None
    finally:
        await db.dispose()


async def test_the_ledger_keeps_each_messages_platform_parts(database: Database) -> None:
    from arxiv_digest.storage.models import PlannedMessage
    from arxiv_digest.storage.repositories import LedgerRepository

    embeds = {"embeds": [{"title": "标题 <@everyone>", "description": "x" * 4096, "fields": [], "color": 1}]}
    async with database.session() as session:
        chat = await ChatRepository(session).ensure(
            "discord", "111", language="JA", timezone="UTC", push_time="09:00", kind="text", guild_key="999"
        )
        delivery_id = await LedgerRepository(session).create(
            chat.id,
            date(2026, 9, 24),
            scheduled=True,
            language="JA",
            papers=1,
            messages=[
                PlannedMessage("summary", "**cs.LG · 2026-09-24**"),
                PlannedMessage("footnote", "", ref=1, reply_to_seq=0, payload=embeds),
            ],
        )
        await session.commit()
    assert delivery_id is not None
    async with database.session() as session:
        summary, footnote = await LedgerRepository(session).messages(delivery_id)
        stored = await ChatRepository(session).get("discord", "111")
    assert summary.payload is None
    assert footnote.payload == embeds
    assert (footnote.reply_to_seq, footnote.ref) == (0, 1)
    assert stored is not None
    assert stored.guild_key == "999"
