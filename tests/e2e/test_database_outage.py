"""The database goes away while the bot runs (a real PostgreSQL database of its own: connections refused and
the open ones ended), then comes back.

- A command gets "try again" in its user's language, not silence; the log has one line for the outage,
  not a traceback per command.
- Scheduled runs skip with one line for the outage (not a traceback per run), count nothing against the
  chats, and resume when the database is back.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from arxiv_digest.bot.delivery import Deliverer
from arxiv_digest.bot.scheduler import Scheduler
from arxiv_digest.formatters.i18n import t
from arxiv_digest.storage.db import Database, normalize_url
from tests.dbs import postgres_url
from tests.e2e.test_kill import database_url
from tests.e2e.test_telegram import DEEPL_KEY, TOKEN, USER, _harness
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.deepl_server import FakeDeepL
from tests.fakes.telegram_server import FakeTelegram

pytestmark = pytest.mark.postgres


@pytest.fixture
def fakes() -> Iterator[tuple[FakeTelegram, FakeArxiv, FakeDeepL]]:
    with FakeTelegram(token=TOKEN) as tg, FakeArxiv() as arxiv, FakeDeepL(auth_key=DEEPL_KEY) as deepl:
        yield tg, arxiv, deepl


@asynccontextmanager
async def outage(url: str) -> AsyncIterator[None]:
    """No connection to the database at ``url`` while inside (new ones refused, open ones ended)."""
    name = make_url(url).database
    admin = create_async_engine(normalize_url(postgres_url()), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
            await conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                {"name": name},
            )
        yield
    finally:
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        await admin.dispose()


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info and r.levelno >= logging.WARNING]


async def test_commands_during_an_outage_are_told_to_try_again(
    tmp_path: Path, fakes: tuple[FakeTelegram, FakeArxiv, FakeDeepL], caplog: pytest.LogCaptureFixture
) -> None:
    async with database_url("postgresql", tmp_path) as url:
        db = Database(url)
        try:
            async with _harness(db, *fakes) as h:
                assert "/subscribe" in await h.text(USER, USER, "/help")  # the chat exists, in ZH-HANS
                caplog.set_level(logging.INFO)  # whatever an earlier test left the root logger at
                caplog.clear()
                async with outage(url):
                    for _ in range(3):
                        reply = await h.text(USER, USER, "/help")
                        assert reply == t("ZH-HANS", "bot_storage_down")
                down = [r for r in caplog.records if "database unavailable" in r.getMessage()]
                assert len(down) == 1  # one line for the outage
                assert _tracebacks(caplog) == []
                assert "/subscribe" in await h.text(USER, USER, "/help")  # back
                assert any("reachable again" in r.getMessage() for r in caplog.records)
        finally:
            await db.dispose()


async def test_scheduled_runs_wait_for_the_database_with_one_line(
    tmp_path: Path, fakes: tuple[FakeTelegram, FakeArxiv, FakeDeepL], caplog: pytest.LogCaptureFixture
) -> None:
    tg, arxiv, deepl = fakes
    async with database_url("postgresql", tmp_path) as url:
        db = Database(url)
        try:
            async with _harness(db, tg, arxiv, deepl) as h:
                scheduler = Scheduler(db=db, digests=h.runtime.digests, deliverer=Deliverer(db, {}))
                await h.text(USER, USER, "/subscribe cs.LG")
                caplog.set_level(logging.INFO)
                caplog.clear()
                async with outage(url):
                    for _ in range(3):
                        assert await scheduler.harvest_tick() is None
                        report = await scheduler.deliver_tick()
                        assert (report.planned, report.delivered, report.failed) == (0, 0, 0)
                down = [r for r in caplog.records if "database unavailable" in r.getMessage()]
                assert len(down) == 1
                assert _tracebacks(caplog) == []
                await scheduler.deliver_tick()  # back: it runs again, and says so
                assert any("reachable again" in r.getMessage() for r in caplog.records)
        finally:
            await db.dispose()
