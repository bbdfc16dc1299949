"""Scheduled harvest and delivery with an injected clock and no real sleeps: the real ``arxiv`` client against
the fake arXiv, the real python-telegram-bot ``Bot`` against the fake Bot API, SQLite and PostgreSQL."""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from telegram import Bot

from arxiv_digest.bot.delivery import Deliverer
from arxiv_digest.bot.runtime import Runtime, open_runtime
from arxiv_digest.bot.scheduler import Scheduler
from arxiv_digest.bot.settings import Settings
from arxiv_digest.bot.telegram.sink import TelegramSink
from arxiv_digest.storage.db import AlreadyRunning, Database, InstanceLock
from arxiv_digest.storage.models import Chat
from arxiv_digest.storage.repositories import ChatRepository, LedgerRepository, SubscriptionRepository
from tests.fakes.arxiv_server import FakeArxiv, feed_path_key
from tests.fakes.telegram_server import ApiError, FakeTelegram

TOKEN = "777:scheduler-token"
FEED = ("cs.AI", "cs.CL", "cs.LG", "stat.ML")
FEED_PATH = "/rss/cs.LG+cs.AI+cs.CL+stat.ML"
DAY = date(2026, 9, 24)  # the fixture feed's announcement date (a Thursday)
HEADER = "cs.AI, cs.CL, cs.LG, stat.ML"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


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


async def test_repeated_failures_deactivate_the_chat_and_tell_the_owner(world: World) -> None:
    await world.chat(5, title="Flaky")
    await world.scheduler.harvest_tick()
    world.clock.now = datetime(2026, 9, 24, 9, tzinfo=UTC)
    world.tg.inject(ApiError.bad_request("PEER_ID_INVALID"), method="sendMessage", chat_id=5, times=100)
    for _ in range(5):
        await world.scheduler.deliver_tick()
        world.clock.now += timedelta(hours=2)  # past each backoff
    async with world.runtime.db.session() as s:
        chat = await ChatRepository(s).get("telegram", "5")
    assert chat is not None
    assert chat.gone_at is not None
    assert len(world.notices) == 1
    assert "telegram:5" in world.notices[0]
    assert "5 failed deliveries" in world.notices[0]


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
