"""Issue #4: the bot survives SIGKILL during a scheduled fan-out.

A subprocess running the real bot (``arxiv-digest run``) against the fake Bot API and the fake arXiv is killed
with SIGKILL at 20 random points while it delivers the day's digest to 40 chats, and restarted each time. In
the end every (chat, paper) is delivered, at most one message per kill is sent twice (the one in flight when
the process died, with ``DELIVERY_CONCURRENCY=1``), none is lost, and every footnote is threaded under its
chat's summary. A second process on the same database refuses to start while one runs.

The seed of the kill points is printed; set ``ARXIV_DIGEST_KILL_SEED`` to replay one (timing still varies).
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from arxiv_digest.storage.db import Database, normalize_url
from arxiv_digest.storage.repositories import ChatRepository, LedgerRepository, SubscriptionRepository
from arxiv_digest.storage.tables import deliveries, delivery_messages
from tests.dbs import postgres_url
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.telegram_server import FakeTelegram

TOKEN = "424242:kill-test-token"
CATEGORIES = ("cs.LG", "cs.AI", "cs.CL", "stat.ML")
SUMMARY_PREFIX = "cs.AI, cs.CL, cs.LG, stat.ML"
DAY = date(2026, 9, 24)  # the fixture feed's announcement date
PAPERS = 4  # in the fixture feed, replacements included
PRIVATE = [1001 + i for i in range(30)]
SUPERGROUPS = [-1001000000001 - i for i in range(10)]
CHATS = PRIVATE + SUPERGROUPS
KILLS = 20
STEP_TIMEOUT = 60.0
FIRST_PART = re.compile(r"\[(\d+)\] ")

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@dataclass
class Kill:
    """One SIGKILL: successful sendMessage calls seen then, and the last message sent before it."""

    sends: int
    in_flight: tuple[int, int] | None  # (chat, message id)


@dataclass
class Bot:
    """Starts ``arxiv-digest run`` processes; each one's stderr goes to its own log file."""

    env: dict[str, str]
    cwd: Path
    runs: int = 0
    logs: list[Path] = field(default_factory=list)

    def start(self) -> subprocess.Popen[bytes]:
        self.runs += 1
        log = self.cwd / f"run-{self.runs:02d}.log"
        self.logs.append(log)
        exe = Path(sys.executable).with_name("arxiv-digest")
        with log.open("wb") as err:
            return subprocess.Popen(
                [str(exe), "run"], cwd=self.cwd, env=self.env, stdout=subprocess.DEVNULL, stderr=err
            )

    def tail(self, lines: int = 30) -> str:
        if not self.logs:
            return ""
        return "\n".join(self.logs[-1].read_text(errors="replace").splitlines()[-lines:])


def bot_env(database_url: str, tg: FakeTelegram, arxiv: FakeArxiv) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ARXIV_", "DEEPL_", "DATABASE_", "TELEGRAM_", "DISCORD_", "OWNER_"))
    }
    env.update(
        DATABASE_URL=database_url,
        ARXIV_RSS_BASE_URL=arxiv.rss_base_url,
        ARXIV_API_URL=arxiv.api_url,
        ARXIV_MIN_INTERVAL="0",
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=tg.base_url,
        DELIVER_INTERVAL="0.3",
        HARVEST_INTERVAL="2",
        DELIVERY_CONCURRENCY="1",
        TELEGRAM_RATE_SCALE="100",
        LOG_LEVEL="INFO",
    )
    return env


@asynccontextmanager
async def database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A URL the subprocess can use: a SQLite file, or a PostgreSQL database of its own (a schema of its own,
    as tests/dbs.py makes, cannot be passed through the environment)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'kill.db'}"
        return
    server = make_url(postgres_url())
    name = f"kill_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(normalize_url(server), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            async with admin.connect() as conn:
                await conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.dispose()


async def add_chats(db: Database) -> None:
    """40 chats following the fixture feed's categories since September, due at once (00:00 UTC)."""
    async with db.session() as session:
        chats = ChatRepository(session)
        subs = SubscriptionRepository(session)
        for chat_id in CHATS:
            chat = await chats.ensure(
                "telegram",
                str(chat_id),
                language="EN-US",
                timezone="UTC",
                push_time="00:00",
                title=None if chat_id > 0 else f"Group {chat_id}",
                kind="private" if chat_id > 0 else "supergroup",
                now=datetime(2026, 9, 1, tzinfo=UTC),
            )
            await chats.update(chat.id, include_replacements=True, start_day=DAY)
            await subs.add(chat.id, CATEGORIES, now=datetime(2026, 9, 1, tzinfo=UTC))
        await session.commit()


def successful_sends(tg: FakeTelegram) -> int:
    return sum(1 for call in tg.recorded("sendMessage") if call.status == 200)


def sends_reached(tg: FakeTelegram, count: int) -> Callable[[], bool]:
    return lambda: successful_sends(tg) >= count


def last_sent(tg: FakeTelegram) -> tuple[int, int] | None:
    """The (chat, message id) of the last message the bot sent (sends are sequential: one chat at a time)."""
    calls = [call for call in tg.recorded("sendMessage") if call.status == 200]
    if not calls:
        return None
    chat = int(calls[-1].params["chat_id"])
    return chat, int(tg.sent(chat)[-1]["message_id"])


async def wait_until(
    condition: Callable[[], bool], proc: subprocess.Popen[bytes], bot: Bot, what: str, interval: float = 0.002
) -> None:
    """Poll ``condition`` while the bot runs; fail with the end of its log if it exits or takes too long."""
    deadline = time.monotonic() + STEP_TIMEOUT
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"the bot exited ({proc.returncode}) while waiting for {what}:\n{bot.tail()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{bot.tail()}")
        await asyncio.sleep(interval)


async def settled(tg: FakeTelegram) -> None:
    """Let the fake finish the requests a dead process had already sent (a long poll only ends later)."""

    def count() -> int:
        return sum(1 for call in tg.recorded() if call.method != "getUpdates")

    previous = -1
    while count() != previous:
        previous = count()
        await asyncio.sleep(0.05)


async def ledger_state(db: Database) -> tuple[int, int, int]:
    """(deliveries, pending deliveries, ledger messages)."""
    async with db.session() as session:
        planned = len((await session.execute(select(deliveries.c.id))).all())
        pending = len(await LedgerRepository(session).pending())
        messages = len((await session.execute(select(delivery_messages.c.id))).all())
    return planned, pending, messages


async def ledger_by_chat(db: Database) -> dict[int, list[dict[str, Any]]]:
    """Every ledger message (with its delivery's status), by Telegram chat id."""
    async with db.session() as session:
        keys = {c.id: int(c.chat_key) for c in await ChatRepository(session).active()}
        rows = await session.execute(
            select(deliveries.c.chat_id, deliveries.c.status, *delivery_messages.c)
            .join(deliveries, deliveries.c.id == delivery_messages.c.delivery_id)
            .order_by(delivery_messages.c.delivery_id, delivery_messages.c.seq)
        )
        result: dict[int, list[dict[str, Any]]] = {}
        for row in rows:
            result.setdefault(keys[row.chat_id], []).append(dict(row._mapping))
    return result


async def kill_repeatedly(tg: FakeTelegram, db: Database, bot: Bot, rng: random.Random) -> list[Kill]:
    """Start the bot and SIGKILL it once the fake has answered the next number of sends, ``KILLS`` times.

    The kill points are spread at random over the first 70 % of the fan-out's messages (counted from the
    ledger once the first message is out: every chat's delivery is planned before anything is sent), at least
    one send apart, plus a random delay of up to one private-chat pacing interval.
    """
    kills: list[Kill] = []
    gaps: list[int] = []
    for k in range(KILLS):
        proc = bot.start()
        try:
            baseline = successful_sends(tg)
            if not gaps:
                await wait_until(sends_reached(tg, 1), proc, bot, "the first send")
                planned, _, total = await ledger_state(db)
                assert planned == len(CHATS)
                assert total >= len(CHATS) * (1 + PAPERS)
                points = sorted(rng.sample(range(1, int(total * 0.7)), KILLS))
                gaps = [b - a for a, b in zip([0, *points], points, strict=False)]
                print(f"{total} messages planned; kill points after sends {points}")
            target = baseline + gaps[k]
            await wait_until(sends_reached(tg, target), proc, bot, f"send {target} (kill {k + 1})")
            await asyncio.sleep(rng.uniform(0.0, 0.012))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        assert proc.returncode == -signal.SIGKILL
        await settled(tg)
        kills.append(Kill(successful_sends(tg), last_sent(tg)))
        _, pending, _ = await ledger_state(db)
        assert pending > 0, f"the fan-out ended before kill {k + 1}: kill points too late"
    return kills


async def finish(tg: FakeTelegram, db: Database, bot: Bot) -> None:
    """Run the bot until the ledger has every delivery done; meanwhile a second process on the same database
    must refuse to start; then SIGTERM, which must end the bot with status 0."""
    proc = bot.start()
    try:
        deadline = time.monotonic() + STEP_TIMEOUT
        while True:
            planned, pending, _ = await ledger_state(db)
            if planned == len(CHATS) and pending == 0:
                break
            assert proc.poll() is None, bot.tail()
            assert time.monotonic() < deadline, f"fan-out not finished:\n{bot.tail()}"
            await asyncio.sleep(0.1)

        get_me = len(tg.recorded("getMe"))
        second = await asyncio.to_thread(
            subprocess.run,
            [str(Path(sys.executable).with_name("arxiv-digest")), "run"],
            cwd=bot.cwd,
            env=bot.env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
        )
        assert second.returncode == 1, second.stderr[-2000:]
        assert "Another arxiv-digest process" in second.stderr
        assert len(tg.recorded("getMe")) == get_me  # it never got as far as the Bot API
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, bot.tail()
    # No error while it ran. The shutdown itself is not checked: Scheduler.stop() shuts APScheduler down,
    # which cancels a deliver run in progress, and APScheduler logs its CancelledError as an ERROR.
    log = bot.logs[-1].read_text(errors="replace")
    running, stopping, _ = log.partition(" INFO arxiv_digest.bot.runtime: stopping")
    assert stopping, log[-3000:]
    assert "Traceback" not in running, running[-3000:]


def check_chat(chat: int, sent: list[dict[str, Any]], rows: list[dict[str, Any]], in_flight: set[Any]) -> int:
    """Check what ``chat`` got against its ledger rows; return its duplicates."""
    assert [r["status"] for r in rows if r["seq"] == 0] == ["done"], chat  # one delivery, finished
    assert all(r["message_id"] is not None for r in rows), chat
    by_id = {m["message_id"]: m for m in sent}

    # The ledger's messages are in the chat, as planned; footnotes reply to the stored summary id.
    ledger_ids = {int(r["message_id"]) for r in rows}
    assert ledger_ids <= set(by_id), (chat, ledger_ids - set(by_id))
    summary_row = rows[0]
    assert summary_row["role"] == "summary"
    for r in rows:
        message = by_id[int(r["message_id"])]
        if r["role"] == "summary":
            assert message["text"].startswith(SUMMARY_PREFIX)  # the HTML may have been edited (links)
        else:
            assert message["raw_text"] == r["text"]
            assert message["reply_to_message"]["message_id"] == int(summary_row["message_id"])

    # Anything else is a resend of a ledger message: the last one sent before some kill.
    texts = {r["text"] for r in rows}
    extras = [m for m in sent if m["message_id"] not in ledger_ids]
    for m in extras:
        assert (chat, m["message_id"]) in in_flight, (chat, m["text"][:80])
        assert m["raw_text"] in texts or m["text"].startswith(SUMMARY_PREFIX), (chat, m["text"][:80])

    # As a reader sees it: summaries, footnotes [1]..[n] (first parts) and their other parts, all replies
    # to one of the chat's summaries; a duplicate is a message of the same role/ref (or part) again.
    summary_ids = {m["message_id"] for m in sent if m["text"].startswith(SUMMARY_PREFIX)}
    assert summary_ids, chat
    seen: Counter[object] = Counter()
    for m in sent:
        if m["message_id"] in summary_ids:
            seen["summary"] += 1
            continue
        assert m.get("reply_to_message", {}).get("message_id") in summary_ids, (chat, m["text"][:80])
        first = FIRST_PART.match(m["text"])
        seen[("footnote", int(first.group(1))) if first else m["text"]] += 1
    refs = sorted(key[1] for key in seen if isinstance(key, tuple))
    assert refs == list(range(1, PAPERS + 1)), (chat, refs)
    duplicates = sum(n - 1 for n in seen.values())
    assert duplicates == len(extras), chat
    return duplicates


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
async def test_sigkill_during_fan_out_loses_nothing(backend: str, tmp_path: Path) -> None:
    seed = int(os.environ.get("ARXIV_DIGEST_KILL_SEED") or random.randrange(2**32))
    print(f"kill test on {backend}: seed {seed} (ARXIV_DIGEST_KILL_SEED={seed} to replay)")
    started = time.monotonic()
    with FakeTelegram(token=TOKEN) as tg, FakeArxiv() as arxiv:
        async with database_url(backend, tmp_path) as url:
            db = Database(url)
            try:
                await db.upgrade()
                await add_chats(db)
                bot = Bot(bot_env(url, tg, arxiv), tmp_path)
                kills = await kill_repeatedly(tg, db, bot, random.Random(seed))
                await finish(tg, db, bot)
                ledger = await ledger_by_chat(db)
            finally:
                await db.dispose()

        # A request cut off by a SIGKILL reaches the fake without its body (no parameters): Telegram would
        # answer it 400 too. Every complete request was accepted.
        sends = [call for call in tg.recorded("sendMessage") if call.params]
        assert all(call.status == 200 for call in sends), [c for c in sends if c.status != 200][:3]
        truncated = sum(1 for call in tg.recorded("sendMessage") if not call.params)
        assert truncated <= KILLS
        assert set(ledger) == set(CHATS)
        in_flight = {k.in_flight for k in kills}
        duplicates = sum(check_chat(chat, tg.sent(chat), ledger[chat], in_flight) for chat in CHATS)
        planned = sum(len(rows) for rows in ledger.values())
        print(
            f"{len(kills)} kills, {len(sends)} messages sent for {planned} planned, {duplicates} duplicates, "
            f"{time.monotonic() - started:.1f} s, seed {seed}"
        )
        assert len(kills) == KILLS
        assert duplicates <= len(kills)  # at most one per kill: each is the message in flight at a kill
        assert len(sends) == planned + duplicates
