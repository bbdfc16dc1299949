"""Scheduled harvest and delivery with an injected clock and no real sleeps: the real ``arxiv`` client against
the fake arXiv, the real python-telegram-bot ``Bot`` against the fake Bot API, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import pytest
from telegram import Bot

from arxiv_digest.bot.commands import Caller
from arxiv_digest.bot.delivery import Deliverer
from arxiv_digest.bot.runtime import Runtime, open_runtime
from arxiv_digest.bot.scheduler import Scheduler
from arxiv_digest.bot.settings import Settings
from arxiv_digest.bot.telegram.sink import TelegramSink
from arxiv_digest.storage.db import AlreadyRunning, Database, InstanceLock
from arxiv_digest.storage.models import Chat
from arxiv_digest.storage.repositories import (
    AnnouncementRepository,
    ChatRepository,
    LedgerRepository,
    SubscriptionRepository,
)
from tests.doubles import Clock, Sleeps
from tests.fakes.arxiv_server import FakeArxiv, ScriptedResponse, feed_path_key
from tests.fakes.telegram_server import ApiError, FakeTelegram

TOKEN = "777:scheduler-token"
FEED = ("cs.AI", "cs.CL", "cs.LG", "stat.ML")
FEED_PATH = "/rss/cs.LG+cs.AI+cs.CL+stat.ML"
DAY = date(2026, 9, 24)  # the fixture feed's announcement date (a Thursday)
HEADER = "cs.AI, cs.CL, cs.LG, stat.ML"


@dataclass
class World:
    tg: FakeTelegram
    arxiv: FakeArxiv
    runtime: Runtime
    scheduler: Scheduler
    clock: Clock
    sleeps: Sleeps
    notices: list[str]

    async def chat(
        self,
        key: int,
        *,
        kind: str = "private",
        timezone: str = "UTC",
        push_time: str = "09:00",
        start_day: date | None = DAY,
        subscribed_at: datetime = datetime(2026, 9, 1, tzinfo=UTC),
        **fields: Any,
    ) -> Chat:
        async with self.runtime.db.session() as s:
            repo = ChatRepository(s)
            chat = await repo.ensure(
                "telegram", str(key), language="EN-US", timezone=timezone, push_time=push_time, kind=kind
            )
            await SubscriptionRepository(s).add(chat.id, FEED, now=subscribed_at)
            chat = await repo.update(chat.id, start_day=start_day, **fields)
            await s.commit()
        return chat

    def digests_in(self, chat: int) -> list[str]:
        """The announcement dates of the summaries the chat received, in order."""
        return [m["text"].split(" · ", 1)[1][:10] for m in self.tg.sent(chat) if m["text"].startswith(HEADER)]

    def footnote_refs(self, chat: int) -> list[int]:
        return [
            int(m["text"][1 : m["text"].index("]")])
            for m in self.tg.sent(chat)
            if re.match(r"\[\d+\] ", m["text"])
        ]


@pytest.fixture
def fakes() -> Iterator[tuple[FakeTelegram, FakeArxiv]]:
    with FakeTelegram(token=TOKEN) as tg, FakeArxiv() as arxiv:
        yield tg, arxiv


@pytest.fixture
async def world(database: Database, fakes: tuple[FakeTelegram, FakeArxiv]) -> AsyncIterator[World]:
    tg, arxiv = fakes
    clock = Clock(datetime(2026, 9, 24, 6, 0, tzinfo=UTC))  # Thursday 02:00 EDT: the 24th's batch is out
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        arxiv_rss_base_url=arxiv.rss_base_url,
        arxiv_api_url=arxiv.api_url,
        arxiv_min_interval=0,
        arxiv_retries=0,
    )
    sleeps = Sleeps()
    notices: list[str] = []

    async def notify(text: str) -> None:
        notices.append(text)

    async with (
        open_runtime(settings, db=database, clock=clock) as runtime,
        Bot(TOKEN, base_url=tg.base_url) as bot,
    ):
        sink = TelegramSink(bot)
        deliverer = Deliverer(database, {"telegram": sink}, clock=clock, sleep=sleeps)
        scheduler = Scheduler(
            db=database,
            digests=runtime.digests,
            deliverer=deliverer,
            clock=clock,
            notify_owner=notify,
            concurrency=8,
        )
        yield World(tg, arxiv, runtime, scheduler, clock, sleeps, notices)


# -- harvest ------------------------------------------------------------------------------------------------


async def test_harvest_only_when_the_expected_batch_is_missing(world: World) -> None:
    await world.chat(1)
    assert await world.scheduler.harvest_tick() is not None
    assert await world.runtime.digests.stored_dates() == [DAY]
    requests = len(world.arxiv.feed_requests)
    # the batch arXiv serves now is stored: no request until the next refresh
    await world.scheduler.harvest_tick()
    assert len(world.arxiv.feed_requests) == requests
    world.clock.now = datetime(
        2026, 9, 25, 6, tzinfo=UTC
    )  # Friday's batch is due; the feed is still the old one
    status = await world.scheduler.harvest_tick()
    assert status is not None
    assert status.value == "stale"
    assert len(world.arxiv.feed_requests) == requests + 1
    assert "stale" in world.scheduler.last_harvest


async def test_no_subscriptions_no_requests(world: World) -> None:
    assert await world.scheduler.harvest_tick() is None
    assert world.arxiv.requests == []


async def test_weekend_empty_feed_sends_nothing(world: World) -> None:
    await world.chat(1)
    world.arxiv.set_feed(FEED_PATH, world.arxiv.empty_feed)
    world.clock.now = datetime(2026, 9, 26, 12, tzinfo=UTC)  # Saturday
    await world.scheduler.harvest_tick()
    report = await world.scheduler.deliver_tick()
    assert report.planned == 0
    assert world.tg.sent(1) == []


async def test_stale_feed_then_fresh_one(world: World) -> None:
    await world.chat(1, push_time="08:00")
    await world.scheduler.harvest_tick()
    world.clock.now = datetime(2026, 9, 24, 8, tzinfo=UTC)
    await world.scheduler.deliver_tick()
    assert world.digests_in(1) == ["2026-09-24"]
    # Friday: the feed still shows Thursday's batch (stale) -> nothing new is delivered
    world.clock.now = datetime(2026, 9, 25, 9, tzinfo=UTC)
    await world.scheduler.harvest_tick()
    await world.scheduler.deliver_tick()
    assert world.digests_in(1) == ["2026-09-24"]
    # later the fresh batch appears
    world.arxiv.set_feed(FEED_PATH, _shifted_feed(world.arxiv, DAY, date(2026, 9, 25)))
    world.clock.now = datetime(2026, 9, 25, 9, 10, tzinfo=UTC)
    await world.scheduler.harvest_tick()
    await world.scheduler.deliver_tick()
    assert world.digests_in(1) == ["2026-09-24", "2026-09-25"]


def _shifted_feed(arxiv: FakeArxiv, old: date, new: date) -> bytes:
    """The fixture feed re-dated (a different day's batch with the same papers)."""
    body = arxiv.feeds[feed_path_key(FEED_PATH)].decode()
    old_rfc = "Thu, 24 Sep 2026"
    new_rfc = datetime.combine(new, datetime.min.time()).strftime("%a, %d %b %Y")
    assert old_rfc in body
    return body.replace(old_rfc, new_rfc).replace("v1</guid>", "v1-next</guid>").encode()


# -- push times ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timezone", "push_time", "due_utc"),
    [
        ("Pacific/Kiritimati", "07:00", datetime(2026, 9, 24, 17, tzinfo=UTC)),  # UTC+14: Friday 07:00 local
        ("Etc/GMT+12", "07:00", datetime(2026, 9, 24, 19, tzinfo=UTC)),  # UTC-12: Thursday 07:00 local
        ("Europe/Berlin", "08:00", datetime(2026, 9, 24, 6, tzinfo=UTC)),  # CEST: Thursday 08:00 local
        ("America/New_York", "00:00", datetime(2026, 9, 24, 4, tzinfo=UTC)),  # at the refresh itself
    ],
)
async def test_push_time_in_every_offset(
    world: World, timezone: str, push_time: str, due_utc: datetime
) -> None:
    world.clock.now = datetime(2026, 9, 24, 5, tzinfo=UTC)
    await world.chat(1, timezone=timezone, push_time=push_time)
    await world.scheduler.harvest_tick()
    world.clock.now = due_utc - timedelta(minutes=1)
    await world.scheduler.deliver_tick()
    assert world.tg.sent(1) == [] or world.digests_in(1) == []
    world.clock.now = due_utc
    await world.scheduler.deliver_tick()
    assert world.digests_in(1) == ["2026-09-24"]
    # never the same day twice
    world.clock.now = due_utc + timedelta(hours=5)
    await world.scheduler.deliver_tick()
    assert world.digests_in(1) == ["2026-09-24"]


async def test_new_subscription_gets_the_latest_batch_at_the_next_push_time(world: World) -> None:
    await world.chat(99)  # someone else keeps the harvest going
    await world.scheduler.harvest_tick()
    world.clock.now = datetime(2026, 9, 24, 12, tzinfo=UTC)  # after today's 09:00 push
    await world.chat(1, push_time="09:00", subscribed_at=world.clock.now)
    await world.scheduler.deliver_tick()
    assert world.digests_in(1) == []  # not at once ...
    world.clock.now = datetime(2026, 9, 25, 9, tzinfo=UTC)
    await world.scheduler.deliver_tick()
    assert world.digests_in(1) == ["2026-09-24"]  # ... but at the next push time


async def test_older_days_than_the_start_day_are_never_sent(world: World) -> None:
    await world.chat(1, start_day=date(2026, 9, 25))
    await world.scheduler.harvest_tick()
    world.clock.now = datetime(2026, 9, 25, 12, tzinfo=UTC)
    await world.scheduler.deliver_tick()
    assert world.tg.sent(1) == []


async def test_two_missed_days_are_caught_up_in_order(world: World) -> None:
    await world.chat(1, push_time="09:00")
    await world.scheduler.harvest_tick()  # the 24th
    world.arxiv.set_feed(FEED_PATH, _shifted_feed(world.arxiv, DAY, date(2026, 9, 25)))
    world.clock.now = datetime(2026, 9, 25, 6, tzinfo=UTC)
    await world.scheduler.harvest_tick()  # the 25th; the bot was not delivering (down) all this time
    world.clock.now = datetime(2026, 9, 25, 12, tzinfo=UTC)
    report = await world.scheduler.deliver_tick()
    assert report.delivered == 2
    assert world.digests_in(1) == ["2026-09-24", "2026-09-25"]  # oldest first, each labelled with its date
    await world.scheduler.deliver_tick()
    assert world.digests_in(1) == ["2026-09-24", "2026-09-25"]


# -- fan-out ------------------------------------------------------------------------------------------------


async def test_fan_out_survives_429_storms_and_a_chat_that_blocks_the_bot(world: World) -> None:
    privates = list(range(1, 21))
    groups = [-1000000000000 - i for i in range(1, 6)]
    for key in privates:
        await world.chat(key, include_replacements=True)
    for key in groups:
        await world.chat(key, kind="supergroup", include_replacements=True)
    await world.scheduler.harvest_tick()
    # about 10 % of the sends answered 429 (retry_after 2 s), spread over the chats at random
    rng = random.Random(4)
    for key in rng.sample(privates + groups, 12):
        world.tg.inject(ApiError.retry_after(2), method="sendMessage", chat_id=key)
    world.tg.block_chat(7)  # this one blocked the bot
    world.clock.now = datetime(2026, 9, 24, 9, tzinfo=UTC)  # the push time

    report = await world.scheduler.deliver_tick()

    assert report.delivered == len(privates) + len(groups) - 1
    assert report.failed == 1
    assert world.sleeps.delays.count(2.0) == 12  # every 429 waited out (injected sleep), none re-raised
    for key in privates + groups:
        if key == 7:
            continue
        assert world.digests_in(key) == ["2026-09-24"]
        assert sorted(world.footnote_refs(key)) == [1, 2, 3, 4]  # none lost, none twice
        summary_ids = {m["message_id"] for m in world.tg.sent(key) if m["text"].startswith(HEADER)}
        footnotes = [m for m in world.tg.sent(key) if not m["text"].startswith(HEADER)]
        assert all(m["reply_to_message"]["message_id"] in summary_ids for m in footnotes)
    async with world.runtime.db.session() as s:
        blocked = await ChatRepository(s).get("telegram", "7")
        assert blocked is not None
        assert blocked.gone_at is not None
        assert await SubscriptionRepository(s).list(blocked.id) == list(FEED)  # kept for when they return


async def test_a_crash_mid_delivery_resumes_threaded_under_the_stored_summary(world: World) -> None:
    await world.chat(1, include_replacements=True)
    await world.scheduler.harvest_tick()
    world.clock.now = datetime(2026, 9, 24, 9, tzinfo=UTC)
    # the third message fails with a server error: the run stops there, the ledger keeps what was sent, and
    # Telegram's failure is not counted against the chat
    sent_before = 2
    first = await _deliver_until_failure(world, succeed=sent_before)
    assert (first.failed, first.later) == (0, 1)
    async with world.runtime.db.session() as s:
        (pending,) = await LedgerRepository(s).pending()
        messages = await LedgerRepository(s).messages(pending.id)
    assert sum(1 for m in messages if m.message_id) == sent_before
    summary_id = messages[0].message_id
    world.clock.now += timedelta(minutes=1)  # the next run
    await world.scheduler.deliver_tick()
    assert sorted(world.footnote_refs(1)) == [1, 2, 3, 4]
    assert {m["reply_to_message"]["message_id"] for m in world.tg.sent(1) if m.get("reply_to_message")} == {
        int(summary_id or 0)
    }


async def _deliver_until_failure(world: World, *, succeed: int) -> Any:
    """Let ``succeed`` sends through, then fail the next one with a 500 (as a crashed Bot API would)."""
    world.tg.clear_injected()
    world.tg.inject(ApiError.server_error(500), method="sendMessage", chat_id=1, times=10)
    original = world.tg._take_rule
    calls = {"n": 0}

    def take(method: str, chat_id: Any) -> Any:
        if method == "sendMessage" and str(chat_id) == "1":
            calls["n"] += 1
            if calls["n"] <= succeed:
                return None
        return original(method, chat_id)

    world.tg._take_rule = take  # type: ignore[method-assign]
    try:
        return await world.scheduler.deliver_tick()
    finally:
        world.tg._take_rule = original  # type: ignore[method-assign]
        world.tg.clear_injected()


async def fail_chat_five_times(world: World) -> None:
    """Chat 5's deliveries fail (400) at five delivery runs in a row, each past the backoff of the last."""
    await world.chat(5, title="Flaky")
    await world.scheduler.harvest_tick()
    world.clock.now = datetime(2026, 9, 24, 9, tzinfo=UTC)
    world.tg.inject(ApiError.bad_request("PEER_ID_INVALID"), method="sendMessage", chat_id=5, times=100)
    for _ in range(5):
        await world.scheduler.deliver_tick()
        world.clock.now += timedelta(hours=2)  # past each backoff


async def test_repeated_failures_deactivate_the_chat_and_tell_the_owner(world: World) -> None:
    await fail_chat_five_times(world)
    async with world.runtime.db.session() as s:
        chat = await ChatRepository(s).get("telegram", "5")
    assert chat is not None
    assert chat.gone_at is not None
    assert len(world.notices) == 1
    assert "telegram:5" in world.notices[0]
    assert "5 failed deliveries" in world.notices[0]


async def test_a_deactivated_chat_is_left_alone_until_it_comes_back(world: World) -> None:
    await fail_chat_five_times(world)
    sent = len(world.tg.recorded("sendMessage"))
    for _ in range(5):  # deactivated: its pending digest is not tried again, the owner told once
        report = await world.scheduler.deliver_tick()
        assert (report.delivered, report.failed) == (0, 0)
        world.clock.now += timedelta(hours=2)
    assert len(world.tg.recorded("sendMessage")) == sent
    assert len(world.notices) == 1

    world.tg.clear_injected()
    async with world.runtime.db.session() as s:  # /start reactivates it: the pending digest goes out
        repo = ChatRepository(s)
        chat = await repo.get("telegram", "5")
        assert chat is not None
        await repo.update(chat.id, gone_at=None, failures=0)
        await s.commit()
    report = await world.scheduler.deliver_tick()
    assert report.delivered == 1
    assert world.digests_in(5) == ["2026-09-24"]


async def test_an_outage_of_telegram_is_not_held_against_the_chats(world: World) -> None:
    """502s for hours: no chat is deactivated or charged a failure, each run gives up after the first chats
    fail instead of trying them all, and the day arrives once, complete, when Telegram is back."""
    keys = list(range(1, 31))
    for key in keys:
        await world.chat(key, include_replacements=True)
    await world.scheduler.harvest_tick()
    world.clock.now = datetime(2026, 9, 24, 9, tzinfo=UTC)
    world.tg.inject(ApiError(502, "Bad Gateway"), method="sendMessage", times=10_000)
    attempts = []
    for _ in range(8):
        report = await world.scheduler.deliver_tick()
        assert (report.delivered, report.failed) == (0, 0)
        attempts.append(len(world.tg.recorded("sendMessage")) - sum(attempts))
        world.clock.now += timedelta(hours=1)
    assert all(n <= 8 for n in attempts)  # at most the chats already started (concurrency 8), not all 30
    assert world.notices == []
    async with world.runtime.db.session() as s:
        chats = [await ChatRepository(s).get("telegram", str(key)) for key in keys]
    assert all(c is not None and c.gone_at is None and c.failures == 0 for c in chats)

    world.tg.clear_injected()  # Telegram is back
    report = await world.scheduler.deliver_tick()
    assert report.delivered == len(keys)
    for key in keys:
        assert world.digests_in(key) == ["2026-09-24"]
        assert sorted(world.footnote_refs(key)) == [1, 2, 3, 4]


# -- one instance per database ------------------------------------------------------------------------------


async def test_a_second_process_on_the_same_database_is_refused(database: Database) -> None:
    first = InstanceLock(database)
    await first.acquire()
    other = Database(database.url if database.dialect == "sqlite" else _same(database))
    try:
        with pytest.raises(AlreadyRunning, match="Another arxiv-digest process"):
            await InstanceLock(other).acquire()
        await first.release()
        second = InstanceLock(other)
        await second.acquire()  # free again once the first one stops
        await second.release()
    finally:
        await other.dispose()


def _same(db: Database) -> str:
    return db.engine.url.render_as_string(hide_password=False)


async def test_graceful_stop_finishes_the_message_in_flight_and_resumes_later(world: World) -> None:
    import asyncio

    for key in range(1, 6):
        await world.chat(key, include_replacements=True)
    await world.scheduler.harvest_tick()
    world.clock.now = datetime(2026, 9, 24, 9, tzinfo=UTC)
    world.scheduler.concurrency = 1
    tick = asyncio.create_task(world.scheduler.deliver_tick())
    await world.tg.wait_for(lambda: len(world.tg.recorded("sendMessage")) >= 7, timeout=10)
    await world.scheduler.stop()
    assert tick.done()
    report = tick.result()
    assert report.delivered >= 1
    sent_at_stop = len(world.tg.recorded("sendMessage"))
    recorded = 0
    async with world.runtime.db.session() as s:
        pending = await LedgerRepository(s).pending()
        for delivery_id in range(1, 100):
            recorded += sum(1 for m in await LedgerRepository(s).messages(delivery_id) if m.message_id)
    assert pending  # the rest waits for the next start
    # every message sent before the stop is recorded in the ledger: nothing to resend
    assert report.messages == recorded == sent_at_stop
    world.scheduler.deliverer.stopping = False  # "restart"
    await world.scheduler.deliver_tick()
    planned = 0
    async with world.runtime.db.session() as s:
        for key in range(1, 6):
            chat = await ChatRepository(s).get("telegram", str(key))
            assert chat is not None
            assert await LedgerRepository(s).pending(chat.id) == []
        for delivery_id in range(1, 100):
            planned += len(await LedgerRepository(s).messages(delivery_id))
    assert len(world.tg.recorded("sendMessage")) == planned  # every message once: no duplicate
    for key in range(1, 6):
        assert sorted(world.footnote_refs(key)) == [1, 2, 3, 4]


# -- new subscriptions are served at once -------------------------------------------------------------------

UNION_PATH = "/rss/cs.AI+cs.CL+cs.LG+stat.ML"  # as the client asks for it (sorted)
NEW_PAPER = "2609.99001"


def _rss(day: date, papers: list[tuple[str, str, tuple[str, ...]]]) -> bytes:
    """A feed of ``day`` (RSS, as arXiv serves it) with one new submission per (id, title, categories)."""
    stamp = datetime.combine(day, datetime.min.time()).strftime("%a, %d %b %Y") + " 00:00:00 -0400"
    items = "".join(
        f"""
    <item>
      <title>{title}</title>
      <link>https://arxiv.org/abs/{pid}</link>
      <description>arXiv:{pid}v1 Announce Type: new
Abstract: We study {title.lower()} and prove that it converges. Experiments confirm the rate.</description>
      <guid isPermaLink="false">oai:arXiv.org:{pid}v1</guid>
      {"".join(f"<category>{c}</category>" for c in categories)}
      <pubDate>{stamp}</pubDate>
      <arxiv:announce_type>new</arxiv:announce_type>
      <dc:creator>A. Author</dc:creator>
    </item>"""
        for pid, title, categories in papers
    )
    return f"""<?xml version='1.0' encoding='UTF-8'?>
<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/" version="2.0">
  <channel>
    <title>updates on arXiv.org</title>
    <link>http://rss.arxiv.org/rss/</link>
    <description>updates on the arXiv.org e-print archive.</description>
    <pubDate>{stamp}</pubDate>{items}
  </channel>
</rss>
""".encode()


OC_FEED = _rss(DAY, [(NEW_PAPER, "Convex relaxations of optimal control", ("math.OC", "eess.SY"))])
OC_CALLER = Caller("telegram", "1", "private", user_language="en")


async def _yes() -> bool:
    return True


async def _say(world: World, text: str, caller: Caller = OC_CALLER) -> str:
    name, _, args = text.lstrip("/").partition(" ")
    return (await world.runtime.commands.handle(caller, name, args, is_admin=_yes)).text


async def _woken(world: World) -> None:
    """Wait for the harvests woken by subscriptions."""
    await asyncio.gather(*world.scheduler._wake_tasks)


def _feed_paths(world: World) -> list[str]:
    return [r.path for r in world.arxiv.feed_requests]


async def _rows(world: World, day: date = DAY) -> list[tuple[str, str]]:
    async with world.runtime.db.session() as s:
        pairs = await AnnouncementRepository(s).for_date(day)
    return [(category, ann.paper.arxiv_id) for category, ann in pairs]


@pytest.fixture
def woken(world: World) -> World:
    """The world with the commands wired to the scheduler, as the runtime does."""
    world.runtime.commands.on_subscribed = world.scheduler.subscribed
    world.arxiv.set_feed("/rss/math.OC", OC_FEED)
    return world


async def test_a_new_category_is_harvested_at_once_on_subscribe(woken: World) -> None:
    world = woken
    await world.chat(99)  # another chat's categories: today's batch is stored
    await world.scheduler.harvest_tick()
    assert _feed_paths(world) == [UNION_PATH]
    before = await _rows(world)
    world.clock.now = datetime(2026, 9, 24, 10, tzinfo=UTC)

    assert "Subscribed: math.OC." in await _say(world, "/subscribe math.OC")
    await _woken(world)

    assert _feed_paths(world) == [UNION_PATH, "/rss/math.OC"]  # only the new category, at once
    rows = await _rows(world)
    assert rows[: len(before)] == before  # nothing stored before was touched or repeated
    assert rows[len(before) :] == [("math.OC", NEW_PAPER)]
    assert "1 of 5 categories" in world.scheduler.last_harvest
    # covered now: neither the next tick nor another subscriber fetches anything
    await world.scheduler.harvest_tick()
    await _say(world, "/subscribe math.OC", Caller("telegram", "2", "private"))
    await _woken(world)
    assert _feed_paths(world) == [UNION_PATH, "/rss/math.OC"]


async def test_a_category_without_papers_in_the_union_feed_is_covered(woken: World) -> None:
    world = woken
    await world.chat(99)
    await world.scheduler.harvest_tick()  # cs.CL is in the feed, with no paper of its own
    assert all(category != "cs.CL" for category, _ in await _rows(world))
    async with world.runtime.db.session() as s:
        assert await AnnouncementRepository(s).covered(["cs.CL"], DAY) == {"cs.CL"}
    assert "Subscribed: cs.CL." in await _say(world, "/subscribe cs.CL")
    assert world.scheduler._wake_tasks == set()  # nothing to wake
    assert await world.scheduler.harvest_tick() is None
    assert _feed_paths(world) == [UNION_PATH]


async def test_no_second_harvest_while_one_runs(woken: World) -> None:
    world = woken
    await world.chat(99)
    union = world.arxiv.feeds[feed_path_key(FEED_PATH)]
    world.arxiv.enqueue(UNION_PATH, ScriptedResponse(body=union, delay=1.0))  # a slow feed
    world.arxiv.set_feed("/rss/hep-th+math.OC", OC_FEED)
    tick = asyncio.create_task(world.scheduler.harvest_tick())
    await world.tg.wait_for(lambda: bool(world.arxiv.feed_requests), timeout=5)
    # two chats subscribe while that harvest runs: one harvest is queued behind it, for both
    await _say(world, "/subscribe math.OC")
    await _say(world, "/subscribe hep-th", Caller("telegram", "2", "private"))
    assert len(world.scheduler._wake_tasks) == 1
    assert not tick.done()
    assert _feed_paths(world) == [UNION_PATH]
    await tick
    await _woken(world)
    assert _feed_paths(world) == [UNION_PATH, "/rss/hep-th+math.OC"]  # one feed for both new categories
    assert world.arxiv.max_in_flight == 1  # never two requests, so never two harvests, at once
    assert ("math.OC", NEW_PAPER) in await _rows(world)


async def test_a_new_subscriber_gets_todays_digest_at_a_push_time_two_minutes_ahead(woken: World) -> None:
    world = woken
    await world.chat(99)
    await world.scheduler.harvest_tick()
    world.clock.now = datetime(2026, 9, 24, 10, 0, 20, tzinfo=UTC)  # the batch appeared six hours ago
    await _say(world, "/subscribe math.OC")
    await _woken(world)
    reply = await _say(world, "/time 10:02")
    assert "Next digest: 2026-09-24 Thu 10:02 (UTC)" in reply
    async with world.runtime.db.session() as s:
        chat = await ChatRepository(s).get("telegram", "1")
    assert chat is not None
    assert chat.start_day == DAY

    world.clock.now = datetime(2026, 9, 24, 10, 1, 59, tzinfo=UTC)
    await world.scheduler.deliver_tick()
    assert world.tg.sent(1) == []  # not before
    world.clock.now = datetime(2026, 9, 24, 10, 2, tzinfo=UTC)
    await world.scheduler.deliver_tick()
    sent = world.tg.sent(1)
    assert sent[0]["text"].startswith("math.OC · 2026-09-24")
    assert any(NEW_PAPER in m["text"] for m in sent)
    for minutes in (1, 30, 600):  # once
        world.clock.now = datetime(2026, 9, 24, 10, 2, tzinfo=UTC) + timedelta(minutes=minutes)
        await world.scheduler.deliver_tick()
    assert len(world.tg.sent(1)) == len(sent)


async def test_a_push_time_during_the_harvest_waits_for_it(woken: World) -> None:
    """The push time comes while the new category is being fetched: the day is not consumed without it."""
    world = woken
    await world.chat(99)
    await world.scheduler.harvest_tick()
    world.clock.now = datetime(2026, 9, 24, 10, 0, tzinfo=UTC)
    await _say(world, "/time 10:01")
    world.arxiv.enqueue("/rss/math.OC", ScriptedResponse(body=OC_FEED, delay=1.0))
    await _say(world, "/subscribe math.OC")
    world.clock.now = datetime(2026, 9, 24, 10, 1, tzinfo=UTC)
    await world.scheduler.deliver_tick()
    async with world.runtime.db.session() as s:
        chat = await ChatRepository(s).get("telegram", "1")
        assert chat is not None
        assert await LedgerRepository(s).scheduled_days(chat.id) == set()  # not planned, not consumed
    assert world.tg.sent(1) == []
    await _woken(world)
    await world.scheduler.deliver_tick()
    assert any(NEW_PAPER in m["text"] for m in world.tg.sent(1))


async def test_feed_keys_that_differ_between_ticks_keep_stale_and_fresh_apart(woken: World) -> None:
    """Thursday: the union, then math.OC alone. Friday: one feed for all five, which arXiv has not switched
    yet: stale, though that key was never checked; then the fresh batch."""
    world = woken
    await world.chat(99)
    await world.scheduler.harvest_tick()
    await _say(world, "/subscribe math.OC")
    await _woken(world)
    thursday = await _rows(world)
    five = "/rss/cs.AI+cs.CL+cs.LG+math.OC+stat.ML"
    union = world.arxiv.feeds[feed_path_key(FEED_PATH)]
    world.arxiv.set_feed(five, union)  # Thursday's papers still

    world.clock.now = datetime(2026, 9, 25, 6, tzinfo=UTC)
    status = await world.scheduler.harvest_tick()
    assert status is not None
    assert status.value == "stale"
    assert "stale" in world.scheduler.last_harvest
    assert _feed_paths(world)[-1] == five
    assert await world.runtime.digests.stored_dates() == [DAY]
    assert await _rows(world) == thursday  # nothing duplicated
    status = await world.scheduler.harvest_tick()  # the same key again: stale by its fingerprint
    assert status is not None
    assert status.value == "stale"

    world.arxiv.set_feed(five, _shifted_feed(world.arxiv, DAY, date(2026, 9, 25)))
    status = await world.scheduler.harvest_tick()
    assert status is not None
    assert status.value == "fresh"
    assert await world.runtime.digests.stored_dates() == [DAY, date(2026, 9, 25)]
    assert await _rows(world) == thursday
    requests = len(world.arxiv.feed_requests)
    await world.scheduler.harvest_tick()
    assert len(world.arxiv.feed_requests) == requests  # all five covered for Friday


async def test_pretranslation_is_for_the_chats_that_will_get_the_day(world: World) -> None:
    """After a partial harvest, chats that already had the day are not translated for again."""
    translated: list[tuple[str, list[str]]] = []
    real = world.runtime.digests.translate

    async def spy(papers: Any, language: str) -> Any:
        translated.append((language, sorted(p.arxiv_id for p in papers)))
        return await real(papers, language)

    world.runtime.digests.translate = spy  # type: ignore[method-assign]
    world.runtime.commands.on_subscribed = world.scheduler.subscribed
    # cs.LG as well as math.OC: the new paper is cross-listed there
    world.arxiv.set_feed("/rss/math.OC", _rss(DAY, [(NEW_PAPER, "Control", ("math.OC", "cs.LG"))]))
    await world.chat(98, language="DE")
    await world.scheduler.harvest_tick()
    world.clock.now = datetime(2026, 9, 24, 9, tzinfo=UTC)
    await world.scheduler.deliver_tick()  # chat 98 has had Thursday
    translated.clear()
    await _say(world, "/lang ja")
    await _say(world, "/subscribe math.OC")
    await _woken(world)
    assert [language for language, _ in translated] == ["JA"]  # not DE: chat 98 has had the day
    assert NEW_PAPER in translated[0][1]


async def test_nothing_runs_while_the_database_lock_is_not_held(world: World) -> None:
    await world.chat(5)
    held = False

    async def may_run() -> bool:
        return held

    world.scheduler.may_run = may_run
    assert await world.scheduler.harvest_tick() is None
    assert world.arxiv.requests == []
    world.clock.now = datetime(2026, 9, 24, 9, tzinfo=UTC)
    report = await world.scheduler.deliver_tick()
    assert (report.planned, report.delivered) == (0, 0)
    assert world.tg.recorded("sendMessage") == []

    held = True  # the lock is back: the day goes out
    await world.scheduler.harvest_tick()
    assert (await world.scheduler.deliver_tick()).delivered == 1
    assert world.digests_in(5) == ["2026-09-24"]


async def test_a_chat_the_bot_cannot_reach_for_now_is_deactivated_after_repeated_failures(
    world: World,
) -> None:
    """A Discord channel the bot lost access to (``ChatGone(at_once=False)``): each run fails and the
    delivery stays pending, retried with backoff; the fifth failure deactivates the chat and tells the owner.
    A chat gone for good (a Telegram user blocking the bot) goes at once."""
    from arxiv_digest.bot.delivery import ChatGone
    from tests.fakes.recording_sink import RecordingSink

    memory = RecordingSink()
    world.scheduler.deliverer.register(memory)
    async with world.runtime.db.session() as s:
        repo = ChatRepository(s)
        for key in ("lost-access", "blocked"):
            chat = await repo.ensure("memory", key, language="EN-US", timezone="UTC", push_time="09:00")
            await SubscriptionRepository(s).add(chat.id, list(FEED), now=datetime(2026, 9, 1, tzinfo=UTC))
            await repo.update(chat.id, start_day=date(2026, 9, 24))
        await s.commit()
    await world.scheduler.harvest_tick()
    world.clock.now = datetime(2026, 9, 24, 9, tzinfo=UTC)
    memory.fail_next(ChatGone("Missing Access", at_once=False), times=5)
    memory.gone.add("blocked")
    states = []
    for _ in range(5):
        await world.scheduler.deliver_tick()
        async with world.runtime.db.session() as s:
            lost = await ChatRepository(s).get("memory", "lost-access")
            blocked = await ChatRepository(s).get("memory", "blocked")
        assert lost is not None
        assert blocked is not None
        assert blocked.gone_at is not None  # at once
        states.append((lost.failures, lost.gone_at is not None))
        world.clock.now += timedelta(hours=2)  # past each backoff
    assert states == [(1, False), (2, False), (3, False), (4, False), (5, True)]
    assert any("memory:lost-access" in n for n in world.notices)
    assert not any("memory:blocked" in n for n in world.notices)  # the user's own doing: no notice
    async with world.runtime.db.session() as s:
        pending = await LedgerRepository(s).pending()
    assert len(pending) == 1  # the lost channel's digest waits for it to come back


# -- the clock ----------------------------------------------------------------------------------------------


class _TickTimes(Scheduler):
    """The real scheduler and its real APScheduler jobs; a run only notes when it started."""

    ticks: list[float]

    async def deliver_tick(self) -> Any:
        self.ticks.append(datetime.now(UTC).timestamp())

    async def harvest_tick(self) -> Any:
        return None


async def test_deliver_runs_fall_on_the_clock_not_on_the_start_time() -> None:
    """One run soon after start (what fell due meanwhile), then every interval counted from a whole minute
    (60 s: each minute at :01), so a digest set for 08:30 goes out at 08:30:01, whenever the process
    started. Shown with a 1 s interval, started halfway between two beats."""
    interval = 1.0
    epoch = datetime(2000, 1, 1, 0, 0, 1, tzinfo=UTC).timestamp()
    now = datetime.now(UTC).timestamp()
    await asyncio.sleep(interval - (now - epoch) % interval + interval / 2)
    db = Database("sqlite+aiosqlite://")  # never opened: these runs touch nothing
    scheduler = _TickTimes(db=db, digests=cast(Any, None), deliverer=Deliverer(db, {}))
    scheduler.deliver_interval = interval
    scheduler.harvest_interval = 3600
    scheduler.ticks = []
    started = datetime.now(UTC).timestamp()
    scheduler.start()
    try:
        await asyncio.sleep(4.2)
    finally:
        await scheduler.stop()
        await db.dispose()
    on_beat = [t for t in scheduler.ticks if (t - epoch) % interval < 0.3]  # APScheduler runs just after
    off_beat = [t - started for t in scheduler.ticks if t not in on_beat]
    assert off_beat == [pytest.approx(interval, abs=0.25)]  # only the run at start, at its own phase
    assert len(on_beat) >= 3
