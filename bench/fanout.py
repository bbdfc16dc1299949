"""Fan-out benchmark: one day's digest to many Telegram chats against the fake Bot API's flood limits.

Run from the repository root of a source checkout (it uses the fake Bot API in ``tests/fakes/``)::

    .venv/bin/python -m bench.fanout [--scale 4] [--chats 1000] [--groups 100] [--papers 30]

It prints ``format_fanout(await run_fanout(...))``. The run:

1. a SQLite database in ``work_dir`` (upgraded), one synthetic announcement day of ``papers`` papers in
   cs.LG (real titles and abstracts from ``tests/fixtures/papers/abstracts_cc0.jsonl``),
   ``chats`` chats (``groups`` of them supergroups, spread evenly among the private chats), each subscribed
   to cs.LG in English with push time 00:00 UTC;
2. the fake Bot API (``tests/fakes/telegram_server.py``) enforcing
   Telegram's limits times ``scale``: about 30 messages a second overall, one a second per private chat,
   20 a minute per group; the bot's limiter gets the same ``scale`` (``runtime.telegram_rate_limiter``);
3. one ``Scheduler.deliver_tick()``: planning every chat's digest into the ledger, then sending
   ``concurrency`` chats at once. Planning and sending are timed apart (sending starts with the first
   ``Deliverer.run``); the rate is sendMessage answers with status 200 per second of *sending* time.

Lost and duplicated messages are counted at the fake: every message the ledger planned for a chat (its
summary parts and one footnote per paper) should arrive there exactly once; a chat missing a planned
footnote (or without a delivery) counts those as lost too. Edits (summary links in supergroups) are counted
but not part of the rate.

The bot's limiter (``telegram.limiter.FloodLimiter``) counts each request from when it is let through until
a window after its answer, so it never meets a 429 whatever the delays; its cost is the round trip, a few
per cent of the limit. Defaults: ``scale`` 4 (120 messages a second; 33,000 messages take about five
minutes). On a 2-core machine the bot's side is CPU-bound at about 150 messages a second (PTB and httpx
building and parsing each request, one SQLite commit per message), so larger scales measure the machine, not
the limiter; ``scale`` 1 gives Telegram's real limits (about 20 minutes). ``concurrency`` 50 private chats at
once (each about one message a second) fill the overall limit; groups are served beside them. The fake runs
in a child process by default (``fake_process=True``) so that its HTTP threads do not compete with the bot
for the GIL.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from tests.fakes.telegram_server import FakeTelegram

from arxiv_digest.bot.delivery import Deliverer, RunReport
from arxiv_digest.bot.runtime import open_runtime, telegram_rate_limiter
from arxiv_digest.bot.scheduler import Scheduler, TickReport
from arxiv_digest.bot.settings import Settings
from arxiv_digest.papers.models import Announcement, AnnouncementBatch, AnnounceType, Paper
from arxiv_digest.storage.db import Database
from arxiv_digest.storage.repositories import AnnouncementRepository, ChatRepository, SubscriptionRepository
from arxiv_digest.storage.tables import chats as chats_table
from arxiv_digest.storage.tables import deliveries, delivery_messages

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_SCALE",
    "TELEGRAM_LIMIT",
    "FanoutResult",
    "format_fanout",
    "run_fanout",
]

logger = logging.getLogger(__name__)

TELEGRAM_LIMIT = 30.0  # messages a second overall, what the fake enforces at scale 1
DEFAULT_SCALE = 4.0
DEFAULT_CONCURRENCY = 50
DAY = date(2026, 9, 24)  # a Thursday
CATEGORY = "cs.LG"
TOKEN = "123456789:bench-fanout"
PLATFORM = "telegram"
FIRST_GROUP_ID = -1_001_000_000_000
DB_NAME = "fanout.db"
ROOT = str(Path(__file__).resolve().parents[1])  # the source checkout
PAPER_TEXTS = Path(ROOT) / "tests" / "fixtures" / "papers" / "abstracts_cc0.jsonl"


@dataclass(frozen=True, slots=True)
class FanoutResult:
    """What one fan-out run measured. Times are wall-clock seconds; ``limit`` is the fake's overall limit
    (Telegram's 30 messages a second times ``scale``)."""

    chats: int
    groups: int
    papers: int
    scale: float
    concurrency: int
    fake: str  # "process" or "thread": where the fake Bot API ran
    planned: int  # deliveries written to the ledger by the tick
    delivered: int
    failed: int
    later: int
    expected: int  # messages the chats should receive
    messages: int  # sendMessage answered 200
    edits: int  # editMessageText answered 200
    rate_limited: int  # 429 answers of the fake
    rate_limited_groups: int  # of which to groups
    errors: int  # other failed sendMessage / editMessageText answers
    lost: int
    duplicated: int
    unexpected: int  # received messages no chat had planned (e.g. a plain-text fallback)
    plan_seconds: float
    send_seconds: float
    total_seconds: float
    per_kind: dict[str, int] = field(default_factory=dict)  # messages received by private / group chats

    @property
    def limit(self) -> float:
        return TELEGRAM_LIMIT * self.scale

    @property
    def rate(self) -> float:
        return self.messages / self.send_seconds if self.send_seconds > 0 else 0.0

    @property
    def ratio(self) -> float:
        return self.rate / self.limit


def format_fanout(result: FanoutResult) -> str:
    """A few lines about the run; the last one is ``messages=<n> seconds=<s> rate=<msgs/s>
    limit=<msgs/s> ratio=<rate/limit> 429s=<n> lost=<n> duplicated=<n>`` (seconds: sending time)."""
    r = result
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(r.per_kind.items())) or "none"
    lines = [
        f"fan-out: {r.chats} chats ({r.chats - r.groups} private, {r.groups} supergroups), "
        f"{r.papers} papers, scale {r.scale:g}, concurrency {r.concurrency}, fake Bot API in a {r.fake}",
        f"ledger: {r.planned} digests planned, {r.delivered} delivered, {r.failed} failed, {r.later} left "
        f"pending; {r.expected} messages expected",
        f"fake: {r.messages} messages ({kinds}), {r.edits} edits, {r.rate_limited} 429s "
        f"({r.rate_limited_groups} to groups), {r.errors} other errors, {r.unexpected} unexpected",
        f"time: planning {r.plan_seconds:.1f} s, sending {r.send_seconds:.1f} s, "
        f"total {r.total_seconds:.1f} s (rate over sending time)",
        f"messages={r.messages} seconds={r.send_seconds:.2f} rate={r.rate:.1f} limit={r.limit:.1f} "
        f"ratio={r.ratio:.3f} 429s={r.rate_limited} lost={r.lost} duplicated={r.duplicated}",
    ]
    return "\n".join(lines)


# -- the fake Bot API ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _FakeReport:
    """What the fake saw, reduced to what the benchmark counts (small enough to pass between processes)."""

    sent: list[tuple[int, str]]  # (chat id, sha1 of the HTML text) of each sendMessage answered 200
    edits: int
    errors: int
    rate_limited: int
    limited_groups: int  # of the 429s, those answering a group (negative chat id)


def _text_key(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def _summarise(fake: Any) -> _FakeReport:
    sent: list[tuple[int, str]] = []
    edits = errors = limited_groups = 0
    for call in fake.recorded():
        if call.method not in ("sendMessage", "editMessageText"):
            continue
        if call.status == 429:
            limited_groups += int(call.params.get("chat_id", 0)) < 0
            continue
        if call.status != 200:
            errors += 1
        elif call.method == "editMessageText":
            edits += 1
        else:
            sent.append((int(call.params["chat_id"]), _text_key(str(call.params.get("text", "")))))
    return _FakeReport(sent, edits, errors, int(fake.rate_limited), limited_groups)


def serve_fake(scale: float) -> None:
    """Child process entry: run the fake, print its base URL, wait for a line on stdin, print the report
    (one JSON object), stop."""
    with FakeTelegram(token=TOKEN, enforce_rate_limits=True, scale=scale) as fake:
        sys.stdout.write(fake.base_url + "\n")
        sys.stdout.flush()
        sys.stdin.readline()
        report = _summarise(fake)
    json.dump(
        {
            "sent": report.sent,
            "edits": report.edits,
            "errors": report.errors,
            "rate_limited": report.rate_limited,
            "limited_groups": report.limited_groups,
        },
        sys.stdout,
    )
    sys.stdout.flush()


class _ThreadFake:
    def __init__(self, scale: float) -> None:
        self._fake = FakeTelegram(token=TOKEN, enforce_rate_limits=True, scale=scale)

    async def start(self) -> str:
        self._fake.start()
        return str(self._fake.base_url)

    async def report(self) -> _FakeReport:
        return _summarise(self._fake)

    async def close(self) -> None:
        self._fake.stop()


class _ProcessFake:
    """The fake in a child Python process (``serve_fake``), talked to over its stdin and stdout."""

    def __init__(self, scale: float) -> None:
        self._scale = scale
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> str:
        code = f"from bench.fanout import serve_fake; serve_fake({self._scale!r})"
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            code,
            cwd=ROOT,  # `python -c` imports from its working directory: the checkout
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), 60)
        if not line.startswith(b"http"):
            raise RuntimeError("the fake Bot API process did not start")
        return line.decode().strip()

    async def report(self) -> _FakeReport:
        assert self._process is not None
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write(b"report\n")
        await self._process.stdin.drain()
        data = json.loads(await asyncio.wait_for(self._process.stdout.read(), 120))
        await self._process.wait()
        sent = [(int(chat), str(key)) for chat, key in data["sent"]]
        return _FakeReport(
            sent,
            int(data["edits"]),
            int(data["errors"]),
            int(data["rate_limited"]),
            int(data["limited_groups"]),
        )

    async def close(self) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        process.kill()
        await process.wait()


# -- the data ------------------------------------------------------------------------------------------------


def _paper_texts(count: int) -> list[tuple[str, str]]:
    """``count`` (title, abstract) pairs of real papers with 900 to 1,500 characters of abstract, repeated
    when more are asked for than the fixture holds."""
    texts: list[tuple[str, str]] = []
    with PAPER_TEXTS.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            title, abstract = str(record["title"]), str(record["abstract"])
            if 900 <= len(abstract) <= 1500:
                texts.append((title, abstract))
    return [texts[i % len(texts)] for i in range(count)]


def _papers(count: int) -> list[Paper]:
    texts = _paper_texts(count)
    published = datetime.combine(DAY - timedelta(days=1), dtime(18), UTC)
    papers = [
        Paper(
            arxiv_id=f"2609.{10001 + i:05d}",
            title=title,
            abstract=abstract,
            authors=tuple(f"Author {i}-{k}" for k in range(1, 4)),
            categories=(CATEGORY,),
            version=1,
            primary_category=CATEGORY,
            published=published,
            updated=published,
        )
        for i, (title, abstract) in enumerate(texts)
    ]
    return papers


def _chat_keys(chats: int, groups: int) -> list[tuple[str, str]]:
    """(chat key, kind) for each chat: private ids 1.., supergroups -100… spread evenly among them."""
    keys: list[tuple[str, str]] = []
    private = group = 0
    for i in range(chats):
        if (i + 1) * groups // chats > i * groups // chats:
            group += 1
            keys.append((str(FIRST_GROUP_ID - group), "supergroup"))
        else:
            private += 1
            keys.append((str(private), "private"))
    return keys


async def _populate(db: Database, papers: Sequence[Paper], keys: Sequence[tuple[str, str]]) -> None:
    checked = datetime.combine(DAY, dtime(1), UTC)
    batch = AnnouncementBatch(
        categories=(CATEGORY,),
        announced_on=DAY,
        announcements=tuple(Announcement(p, AnnounceType.NEW, DAY) for p in papers),
        fingerprint="bench-fanout",
    )
    subscribed = checked - timedelta(days=7)
    async with db.session() as session:
        await AnnouncementRepository(session).save_batch(batch, feed_key=CATEGORY, checked_at=checked)
        repo, subs = ChatRepository(session), SubscriptionRepository(session)
        for key, kind in keys:
            chat = await repo.ensure(
                PLATFORM,
                key,
                language="EN-US",
                timezone="UTC",
                push_time="00:00",
                title=None if kind == "private" else f"Group {key}",
                kind=kind,
                now=subscribed,
            )
            await repo.update(chat.id, start_day=DAY, include_cross=True)
            await subs.add(chat.id, [CATEGORY], now=subscribed)
        await session.commit()


async def _planned(db: Database) -> dict[str, list[tuple[str, int | None, str]]]:
    """Per chat key, the ledger's messages: (role, ref, sha1 of the text)."""
    stmt = (
        select(
            chats_table.c.chat_key,
            delivery_messages.c.role,
            delivery_messages.c.ref,
            delivery_messages.c.text,
        )
        .join(deliveries, deliveries.c.id == delivery_messages.c.delivery_id)
        .join(chats_table, chats_table.c.id == deliveries.c.chat_id)
        .order_by(delivery_messages.c.id)
    )
    planned: dict[str, list[tuple[str, int | None, str]]] = {}
    async with db.session() as session:
        for row in await session.execute(stmt):
            planned.setdefault(row.chat_key, []).append((row.role, row.ref, _text_key(row.text)))
    return planned


# -- the run -------------------------------------------------------------------------------------------------


def _fresh_database(work_dir: Path) -> str:
    """The URL of a new SQLite database in ``work_dir`` (a previous run's is removed)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", "-journal"):
        (work_dir / (DB_NAME + suffix)).unlink(missing_ok=True)
    return f"sqlite+aiosqlite:///{(work_dir / DB_NAME).resolve()}"


class _TimedDeliverer(Deliverer):
    """A Deliverer noting when the first delivery starts and the last one ends."""

    first_start: float | None = None
    last_end: float | None = None

    async def run(self, delivery_id: int) -> RunReport:
        if self.first_start is None:
            self.first_start = time.perf_counter()
        try:
            return await super().run(delivery_id)
        finally:
            self.last_end = time.perf_counter()


@dataclass(frozen=True, slots=True)
class _Counts:
    expected: int
    lost: int
    duplicated: int
    unexpected: int
    per_kind: dict[str, int]


def _count(
    planned: dict[str, list[tuple[str, int | None, str]]],
    keys: Sequence[tuple[str, str]],
    papers: int,
    sent: Sequence[tuple[int, str]],
) -> _Counts:
    expected: Counter[tuple[str, str]] = Counter()
    unplanned = 0
    for key, _ in keys:
        messages = planned.get(key, [])
        refs = {ref for role, ref, _ in messages if role == "footnote"}
        unplanned += len(set(range(1, papers + 1)) - refs)
        if not any(role == "summary" for role, _, _ in messages):
            unplanned += 1
        expected.update((key, text) for _, _, text in messages)
    received: Counter[tuple[str, str]] = Counter((str(chat), text) for chat, text in sent)
    lost = unplanned + sum(max(0, n - received[k]) for k, n in expected.items())
    duplicated = sum(max(0, n - expected[k]) for k, n in received.items() if k in expected)
    unexpected = sum(n for k, n in received.items() if k not in expected)
    kinds = dict(keys)
    per_kind: Counter[str] = Counter(kinds.get(str(chat), "other") for chat, _ in sent)
    return _Counts(sum(expected.values()) + unplanned, lost, duplicated, unexpected, dict(per_kind))


async def run_fanout(
    *,
    chats: int = 1000,
    groups: int = 100,
    papers: int = 30,
    scale: float = DEFAULT_SCALE,
    concurrency: int = DEFAULT_CONCURRENCY,
    work_dir: Path,
    fake_process: bool = True,
) -> FanoutResult:
    """Deliver one day's digest of ``papers`` papers to ``chats`` chats (``groups`` of them supergroups)
    through the fake Bot API enforcing Telegram's limits times ``scale``; see the module docstring.

    Raises ValueError for impossible arguments.
    """
    if chats < 1 or not 0 <= groups <= chats or papers < 1 or scale <= 0 or concurrency < 1:
        raise ValueError("need chats >= 1, 0 <= groups <= chats, papers >= 1, scale > 0, concurrency >= 1")
    from arxiv_digest.bot.telegram.app import TelegramBot

    url = _fresh_database(work_dir)
    paper_list = _papers(papers)
    keys = _chat_keys(chats, groups)
    fake: _ThreadFake | _ProcessFake = _ProcessFake(scale) if fake_process else _ThreadFake(scale)
    db = Database(url)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        deepl_auth_key=None,
        default_language="EN-US",
        arxiv_api_url="http://127.0.0.1:9/api/query",  # never called: nothing is harvested
        arxiv_rss_base_url="http://127.0.0.1:9",
        telegram_rate_scale=scale,
        delivery_concurrency=concurrency,
    )
    try:
        base_url = await fake.start()
        async with open_runtime(settings, db=db) as runtime:
            await _populate(db, paper_list, keys)
            bot = TelegramBot(
                token=TOKEN,
                commands=runtime.commands,
                db=db,
                base_url=base_url,
                rate_limiter=telegram_rate_limiter(scale),
            )
            deliverer = _TimedDeliverer(db, bot.deliverer.sinks)
            now = datetime.combine(DAY + timedelta(days=1), dtime(12), UTC)
            scheduler = Scheduler(
                db=db,
                digests=runtime.digests,
                deliverer=deliverer,
                clock=lambda: now,
                concurrency=concurrency,
            )
            await bot.application.initialize()
            try:
                logger.info("fan-out: %d chats, %d papers, scale %g: delivering", chats, papers, scale)
                started = time.perf_counter()
                tick: TickReport = await scheduler.deliver_tick()
                ended = time.perf_counter()
            finally:
                await bot.application.shutdown()
            planned = await _planned(db)
        report = await fake.report()
    finally:
        await fake.close()
        await db.dispose()
    first = deliverer.first_start if deliverer.first_start is not None else ended
    counts = _count(planned, keys, papers, report.sent)
    return FanoutResult(
        chats=chats,
        groups=groups,
        papers=papers,
        scale=scale,
        concurrency=concurrency,
        fake="process" if fake_process else "thread",
        planned=tick.planned,
        delivered=tick.delivered,
        failed=tick.failed,
        later=tick.later,
        expected=counts.expected,
        messages=len(report.sent),
        edits=report.edits,
        rate_limited=report.rate_limited,
        rate_limited_groups=report.limited_groups,
        errors=report.errors,
        lost=counts.lost,
        duplicated=counts.duplicated,
        unexpected=counts.unexpected,
        plan_seconds=first - started,
        send_seconds=ended - first,
        total_seconds=ended - started,
        per_kind=counts.per_kind,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.fanout",
        description="Deliver one digest to many chats through the fake Bot API enforcing Telegram's limits.",
    )
    parser.add_argument("--chats", type=int, default=1000, help="chats in all (default 1000)")
    parser.add_argument("--groups", type=int, default=100, help="of which supergroups (default 100)")
    parser.add_argument("--papers", type=int, default=30, help="papers in the digest (default 30)")
    parser.add_argument(
        "--scale",
        type=float,
        default=DEFAULT_SCALE,
        help="Telegram's limits times this, the bot's too (default 4: about 5 minutes on 2 cores; "
        "1: the real limits, about 20 minutes)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="chats served at once (default 50)"
    )
    args = parser.parse_args(argv)
    if not 0 < args.scale <= 1000:
        parser.error("--scale must be above 0 and at most 1000")
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="arxiv-digest-fanout-") as work:
        try:
            result = asyncio.run(
                run_fanout(
                    chats=args.chats,
                    groups=args.groups,
                    papers=args.papers,
                    scale=args.scale,
                    concurrency=args.concurrency,
                    work_dir=Path(work),
                )
            )
        except ValueError as exc:
            parser.error(str(exc))
    print(format_fanout(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
