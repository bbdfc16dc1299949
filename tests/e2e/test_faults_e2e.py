"""The fault matrix (docs/FAULTS.md), the cells that need the real process: python-telegram-bot's own polling,
``arxiv-digest run`` killed (SIGKILL) in the middle of a harvest or of a DeepL request and started again, and
the command line meeting a corrupt database, a feed cut in the middle or a garbled DeepL answer.

The helpers that garble answers (``GarblingTelegram``, ``GarblingDeepL``) are in
``tests/integration/test_faults.py``; the subprocess helpers are the kill test's (``tests/e2e/test_kill.py``).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from arxiv_digest.bot.cli import ExpectedErrorsInOneLine, run
from arxiv_digest.bot.digests import feed_key
from arxiv_digest.storage.db import Database
from arxiv_digest.storage.repositories import (
    AnnouncementRepository,
    ChatRepository,
    LedgerRepository,
    SubscriptionRepository,
)
from tests.e2e.test_kill import TOKEN as KILL_TOKEN
from tests.e2e.test_kill import Bot as BotProcess
from tests.e2e.test_kill import bot_env, database_url, wait_until
from tests.e2e.test_telegram import DEEPL_KEY, TOKEN, USER, _harness
from tests.fakes.arxiv_server import FakeArxiv, ScriptedResponse, feed_path_key
from tests.fakes.deepl_server import FakeDeepL
from tests.fakes.telegram_server import ApiError, FakeTelegram
from tests.integration.test_faults import GarblingDeepL, GarblingTelegram, closed_port, not_json

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
CATEGORIES = ("cs.AI", "cs.CL", "cs.LG", "stat.ML")
HARVEST_PATH = "/rss/" + "+".join(CATEGORIES)  # the fixture feed, as a harvest asks for it
DAY = date(2026, 9, 24)  # the fixture feed's announcement date
PAPERS = {"2609.26811", "2609.26820", "2205.06398", "2009.13987"}
CHAT = 1001
SUMMARY_PREFIX = "cs.AI, cs.CL, cs.LG, stat.ML"


# -- Telegram: polling ---------------------------------------------------------------------------------------


@pytest.fixture
def garbling() -> Iterator[tuple[GarblingTelegram, FakeArxiv, FakeDeepL]]:
    with GarblingTelegram(token=TOKEN) as tg, FakeArxiv() as arxiv, FakeDeepL(auth_key=DEEPL_KEY) as deepl:
        yield tg, arxiv, deepl


async def _poll_through_failures(
    tmp_path: Path, fakes: tuple[GarblingTelegram, FakeArxiv, FakeDeepL], caplog: pytest.LogCaptureFixture
) -> list[logging.LogRecord]:
    """The bot polls through two 502s and an answer that is not JSON on getUpdates, then answers /help.
    Returns the log records of the failures."""
    tg = fakes[0]
    db = Database(f"sqlite:///{tmp_path / 'bot.db'}")
    try:
        await db.upgrade()
        async with _harness(db, *fakes) as h:
            caplog.set_level(logging.INFO)
            caplog.clear()
            tg.inject(ApiError(502, "Bad Gateway"), method="getUpdates", times=2)
            tg.garble("getUpdates", not_json)

            def failed() -> bool:
                statuses = [c.status for c in tg.recorded("getUpdates")]
                return statuses.count(502) == 2 and not tg.garbles["getupdates"]

            await tg.wait_for(failed, timeout=20)
            records = list(caplog.records)
            reply = await h.text(USER, USER, "/help")
            assert "/subscribe" in reply
    finally:
        await db.dispose()
    return records


async def test_polling_carries_on_through_getupdates_failures(
    tmp_path: Path,
    garbling: tuple[GarblingTelegram, FakeArxiv, FakeDeepL],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """python-telegram-bot retries a failed getUpdates (5xx, a body that is not JSON) with its own backoff
    (1 s, 1.5 s, ... up to 30 s): the bot stays up and answers once Telegram does."""
    await _poll_through_failures(tmp_path, garbling, caplog)


async def test_polling_failures_are_logged_in_one_line(
    tmp_path: Path,
    garbling: tuple[GarblingTelegram, FakeArxiv, FakeDeepL],
    caplog: pytest.LogCaptureFixture,
) -> None:
    records = await _poll_through_failures(tmp_path, garbling, caplog)
    shown = ExpectedErrorsInOneLine()  # what `arxiv-digest run` puts on stderr goes through this filter
    tracebacks = [r for r in records if shown.filter(r) and r.exc_info and r.levelno >= logging.WARNING]
    assert tracebacks == [], [r.getMessage() for r in tracebacks]
    polling = [r for r in records if "Telegram polling failed (" in r.getMessage()]
    assert 1 <= len(polling) <= 2  # one line per kind of failure, not one a poll


async def _reply_held_for_a_minute(
    tmp_path: Path, fakes: tuple[GarblingTelegram, FakeArxiv, FakeDeepL], caplog: pytest.LogCaptureFixture
) -> tuple[list[str], list[logging.LogRecord]]:
    """Telegram answers a command's reply with a 429 asking to wait 60 s (over the limiter's 30 s). Returns
    what the chat got meanwhile and the log records; checks that the bot carries on afterwards."""
    tg = fakes[0]
    db = Database(f"sqlite:///{tmp_path / 'bot.db'}")
    try:
        await db.upgrade()
        async with _harness(db, *fakes) as h:
            await h.text(USER, USER, "/help")
            before = len(tg.sent(USER))
            caplog.set_level(logging.INFO)
            caplog.clear()
            tg.inject(ApiError.retry_after(60), method="sendMessage", chat_id=USER)
            tg.queue_message(USER, USER, "/help")
            await tg.wait_for(lambda: any(c.status == 429 for c in tg.recorded("sendMessage")), timeout=10)
            await asyncio.sleep(1.0)  # whatever the bot does about it
            meanwhile = [m["text"] for m in tg.sent(USER)[before:]]
            records = list(caplog.records)
            assert "/subscribe" in await h.text(USER, USER, "/help")  # the bot carries on
    finally:
        await db.dispose()
    return meanwhile, records


async def test_a_reply_held_longer_than_allowed_does_not_stop_the_bot(
    tmp_path: Path,
    garbling: tuple[GarblingTelegram, FakeArxiv, FakeDeepL],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The limiter waits out a 429 of at most 30 s; a longer one reaches the handler: that reply is not sent,
    the next command is answered."""
    meanwhile, _ = await _reply_held_for_a_minute(tmp_path, garbling, caplog)
    assert not any("/subscribe" in text for text in meanwhile)  # the held reply was not sent


async def test_a_reply_held_longer_than_allowed_is_dropped_with_one_line(
    tmp_path: Path,
    garbling: tuple[GarblingTelegram, FakeArxiv, FakeDeepL],
    caplog: pytest.LogCaptureFixture,
) -> None:
    meanwhile, records = await _reply_held_for_a_minute(tmp_path, garbling, caplog)
    assert meanwhile == []  # nothing more to a chat Telegram asked to wait
    assert [r for r in records if r.exc_info and r.levelno >= logging.WARNING] == []


# -- the process killed mid-operation ------------------------------------------------------------------------


async def _add_chat(db: Database, *, language: str = "EN-US") -> None:
    """One private chat following the fixture feed's categories since September, due at 00:00 UTC."""
    async with db.session() as session:
        chats = ChatRepository(session)
        chat = await chats.ensure(
            "telegram",
            str(CHAT),
            language=language,
            timezone="UTC",
            push_time="00:00",
            kind="private",
            now=datetime(2026, 9, 1, tzinfo=UTC),
        )
        await chats.update(chat.id, include_replacements=True, start_day=DAY)
        await SubscriptionRepository(session).add(chat.id, CATEGORIES, now=datetime(2026, 9, 1, tzinfo=UTC))
        await session.commit()


def _stop(proc: subprocess.Popen[bytes], sig: signal.Signals) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


async def _digest_delivered(
    tg: FakeTelegram, db: Database, bot: BotProcess, *, footnote_prefix: str = "[1] "
) -> list[str]:
    """Start the bot and run it until the chat has its whole digest (the delivery finished); SIGTERM."""
    proc = bot.start()
    try:

        def delivered() -> bool:
            return any(m["text"].startswith(footnote_prefix) for m in tg.sent(CHAT)) and (
                len(tg.sent(CHAT)) >= 1 + len(PAPERS)
            )

        await wait_until(delivered, proc, bot, "the digest", interval=0.05)
        for _ in range(100):  # the last message recorded, the delivery marked done
            async with db.session() as session:
                if not await LedgerRepository(session).pending():
                    break
            await asyncio.sleep(0.1)
        else:
            pytest.fail(f"the delivery is still pending:\n{bot.tail()}")
    finally:
        assert _stop(proc, signal.SIGTERM) == 0, bot.tail()
    return [m["text"] for m in tg.sent(CHAT)]


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
async def test_sigkill_during_the_harvest_stores_nothing_half_then_harvests(
    backend: str, tmp_path: Path
) -> None:
    """Killed after fetching the feed, during the metadata lookup that comes before storing: nothing of the
    batch is stored (no announcement, no feed check), nothing is sent; the next start harvests the whole day
    and delivers it."""
    with FakeTelegram(token=KILL_TOKEN) as tg, FakeArxiv() as arxiv:
        arxiv.enqueue("/api/query", ScriptedResponse(status=503, body=b"", delay=15.0))  # the lookup hangs
        async with database_url(backend, tmp_path) as url:
            db = Database(url)
            try:
                await db.upgrade()
                await _add_chat(db)
                bot = BotProcess(bot_env(url, tg, arxiv), tmp_path)
                proc = bot.start()
                try:
                    await wait_until(lambda: bool(arxiv.api_requests), proc, bot, "the metadata lookup")
                finally:
                    assert _stop(proc, signal.SIGKILL) == -signal.SIGKILL
                assert len(arxiv.feed_requests) == 1
                async with db.session() as session:
                    repo = AnnouncementRepository(session)
                    assert await repo.dates() == []
                    assert await repo.for_date(DAY) == []
                    assert await repo.last_check(feed_key(CATEGORIES)) is None
                assert tg.sent(CHAT) == []

                texts = await _digest_delivered(tg, db, bot)
                async with db.session() as session:
                    pairs = await AnnouncementRepository(session).for_date(DAY)
                assert {ann.paper.arxiv_id for _, ann in pairs} == PAPERS
                assert sum(t.startswith(SUMMARY_PREFIX) for t in texts) == 1
            finally:
                await db.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
async def test_sigkill_during_a_deepl_request_then_the_day_goes_out_translated(
    backend: str, tmp_path: Path
) -> None:
    """Killed while DeepL holds the answer to the pre-translation: the day is stored, nothing is cached or
    sent; the next start translates the chat's digest (the papers are sent to DeepL again) and delivers it."""
    with FakeTelegram(token=KILL_TOKEN) as tg, FakeArxiv() as arxiv, FakeDeepL(auth_key=DEEPL_KEY) as deepl:
        deepl.withhold(1, hold=30.0)  # handled and billed; the answer never comes
        async with database_url(backend, tmp_path) as url:
            db = Database(url)
            try:
                await db.upgrade()
                await _add_chat(db, language="JA")
                env = bot_env(url, tg, arxiv)
                env.update(DEEPL_AUTH_KEY=DEEPL_KEY, DEEPL_SERVER_URL=deepl.url)
                bot = BotProcess(env, tmp_path)
                proc = bot.start()
                try:
                    await wait_until(lambda: bool(deepl.translate_requests), proc, bot, "the DeepL request")
                finally:
                    assert _stop(proc, signal.SIGKILL) == -signal.SIGKILL
                assert deepl.unanswered_billed_characters > 0
                async with db.session() as session:
                    assert await AnnouncementRepository(session).dates() == [DAY]  # stored before translating
                assert tg.sent(CHAT) == []

                texts = await _digest_delivered(tg, db, bot, footnote_prefix="[1] [JA] ")
                assert sum(t.startswith(SUMMARY_PREFIX) for t in texts) == 1
                refs = range(1, len(PAPERS) + 1)
                assert all(any(t.startswith(f"[{i}] [JA] ") for t in texts) for i in refs), texts
            finally:
                await db.dispose()


# -- the command line ---------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeArxiv, GarblingDeepL]]:
    monkeypatch.chdir(tmp_path)  # no stray .env
    with FakeArxiv() as arxiv, GarblingDeepL(auth_key=DEEPL_KEY) as deepl:
        for name, value in {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'digest.db'}",
            "ARXIV_RSS_BASE_URL": arxiv.rss_base_url,
            "ARXIV_API_URL": arxiv.api_url,
            "ARXIV_MIN_INTERVAL": "0",
            "ARXIV_TIMEOUT": "5",
            "ARXIV_RETRIES": "0",
            "DEEPL_AUTH_KEY": DEEPL_KEY,
            "DEEPL_SERVER_URL": deepl.url,
            "DEFAULT_LANGUAGE": "ZH-HANS",
        }.items():
            monkeypatch.setenv(name, value)
        yield arxiv, deepl


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _corrupt(path: Path, kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    if kind == "not a database":
        path.write_bytes(b"SQLite format 2? no: a text file copied over the database. " * 20)
        return
    assert _cli(capsys, "db", "upgrade")[0] == 0  # a real database ...
    assert not path.with_name(path.name + "-wal").exists()  # everything is in the file itself
    size = path.stat().st_size
    with path.open("r+b") as f:  # ... cut in the middle (a disk full, a copy interrupted)
        f.truncate(size // 2)


@pytest.mark.parametrize("kind", ["not a database", "cut in the middle"])
@pytest.mark.parametrize(
    "argv", [("db", "upgrade"), ("digest", "cs.LG", "--date", "2026-09-24"), ("paper", "1605.08386")]
)
def test_a_corrupt_sqlite_file_is_one_line_and_left_as_it_is(
    tmp_path: Path,
    cli_env: tuple[FakeArxiv, GarblingDeepL],
    capsys: pytest.CaptureFixture[str],
    kind: str,
    argv: tuple[str, ...],
) -> None:
    path = tmp_path / "digest.db"
    _corrupt(path, kind, capsys)
    before = path.read_bytes()
    code, out, err = _cli(capsys, *argv)
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith("arxiv-digest: database unavailable: ")
    assert "file is not a database" in err or "malformed" in err
    assert "Traceback" not in err
    assert path.read_bytes() == before  # never taken for a new database, never rewritten


def test_a_feed_cut_in_the_middle_with_the_api_down_exits_with_one_line(
    cli_env: tuple[FakeArxiv, GarblingDeepL], capsys: pytest.CaptureFixture[str]
) -> None:
    arxiv, deepl = cli_env
    body = arxiv.feeds[feed_path_key(HARVEST_PATH)]
    arxiv.enqueue(HARVEST_PATH, ScriptedResponse(body=body[: len(body) // 2]))
    arxiv.fail("/api/query", 503)
    code, out, err = _cli(capsys, "digest", *CATEGORIES)
    assert code == 1
    assert out == ""
    assert err.splitlines()[-1] == "arxiv-digest: arXiv is unreachable. Try again later (-v shows why)."
    assert "Traceback" not in err
    assert deepl.requests == []


def test_a_garbled_deepl_answer_prints_the_digest_in_english_with_a_notice(
    cli_env: tuple[FakeArxiv, GarblingDeepL], capsys: pytest.CaptureFixture[str]
) -> None:
    _, deepl = cli_env
    deepl.garble(not_json)
    code, out, err = _cli(capsys, "digest", *CATEGORIES)
    assert code == 0
    assert "DeepL 暂不可用" in out.splitlines()[0]
    assert "DeepL 暂不可用" in err
    assert "[ZH-HANS]" not in out
    assert "Random Polytope Descriptors" in out
    assert "Traceback" not in err


@pytest.mark.parametrize("argv", [("db", "upgrade"), ("digest", "cs.LG")])
def test_an_unreachable_postgresql_is_one_line(
    cli_env: tuple[FakeArxiv, GarblingDeepL],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: tuple[str, ...],
) -> None:
    arxiv, _ = cli_env
    monkeypatch.setenv("DATABASE_URL", f"postgresql://arxiv:secret-password@127.0.0.1:{closed_port()}/digest")
    code, out, err = _cli(capsys, *argv)
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith("arxiv-digest: database unavailable: ")
    assert "Check DATABASE_URL and that the database server is running" in err
    assert "secret-password" not in err
    assert "Traceback" not in err
    assert arxiv.requests == []
