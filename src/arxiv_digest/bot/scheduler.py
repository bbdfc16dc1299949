"""Scheduled work: harvest after arXiv's announcements, then deliver each chat's digest at its push time.

Two APScheduler 3 jobs in the running asyncio loop, rebuilt at every start from the database (no pickled job
state), each coalesced (a late job runs once) with a generous misfire grace:

- **harvest** (every ``harvest_interval`` seconds, and at once at start-up): fetch one feed for the union of
  the subscribed categories whose batch arXiv should be serving is not stored yet (see
  ``AnnouncementRepository.covered``: a category is covered when a stored feed check of a feed including it
  recorded that day); a stale or empty feed is simply retried at the next tick, so the job keeps trying
  through the night until the fresh batch appears. Days missed while the bot was down, older than what the
  feed still shows, are approximated from the API (``DigestService.backfill``). After a fresh batch, the
  translations the chats that will get it need are made at once. A new subscription to a category that is
  not covered wakes the harvest at once (:meth:`Scheduler.subscribed`), after any harvest in progress:
  never two at a time.
- **deliver** (soon after start, then every ``deliver_interval`` seconds on the clock: by default each minute
  at :01): each active chat gets, oldest first, every stored announcement day since it subscribed that it has
  not had yet and whose push time (the chat's local time after the feed refresh) has passed; each becomes a
  ledger delivery before anything is sent. Then every pending delivery is run: chats concurrently
  (``concurrency`` at once), each chat's messages in order. A chat whose deliveries keep failing is retried
  with backoff and deactivated after ``max_failures``; the owner is told when one is set. A platform that
  fails on its side or cannot be reached (and a database that cannot be written) is not the chats' fault:
  nothing is counted against them, their deliveries stay pending and the next run tries again.

Each run logs one INFO line with what it did.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from ..papers.errors import SourceUnavailable
from ..papers.models import Announcement
from ..papers.schedule import expected_dates, latest_batch_date, push_due
from ..storage.db import Database, StorageUnavailable
from ..storage.models import Chat, Delivery
from ..storage.repositories import (
    AnnouncementRepository,
    ChatRepository,
    LedgerRepository,
    SubscriptionRepository,
)
from .commands import PRIVATE_KINDS, chat_options
from .delivery import Deliverer, Outcome, fan_out
from .digests import DigestService, HarvestStatus
from .lifecycle import ChatLifecycle
from .settings import parse_hhmm

logger = logging.getLogger(__name__)

MAX_CATCH_UP_DAYS = 10  # a chat back after a long absence gets at most this many missed days
MAX_BACKFILL_DAYS = 3  # missed days approximated from the API at start-up
DELIVER_EPOCH = datetime(2000, 1, 1, 0, 0, 1, tzinfo=UTC)  # deliver runs: multiples of the interval after it


@dataclass(slots=True)
class TickReport:
    """What one deliver run did (for the INFO line and /stats)."""

    planned: int = 0
    delivered: int = 0
    messages: int = 0
    failed: int = 0
    later: int = 0
    skipped_empty: int = 0
    per_platform: dict[str, int] = field(default_factory=lambda: defaultdict(int))


OwnerNotifier = Callable[[str], Awaitable[None]]


class Scheduler:
    def __init__(
        self,
        *,
        db: Database,
        digests: DigestService,
        deliverer: Deliverer,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        harvest_interval: float = 600.0,
        deliver_interval: float = 60.0,
        concurrency: int = 50,
        max_failures: int = 5,
        notify_owner: OwnerNotifier | None = None,
        may_run: Callable[[], Awaitable[bool]] | None = None,
        lifecycle: ChatLifecycle | None = None,
    ) -> None:
        self.db = db
        self.digests = digests
        self.deliverer = deliverer
        self.clock = clock
        self.harvest_interval = harvest_interval
        self.deliver_interval = deliver_interval
        self.concurrency = max(1, concurrency)
        self.max_failures = max_failures
        self.notify_owner = notify_owner
        self.lifecycle = lifecycle or ChatLifecycle(db, clock=clock, notify_owner=notify_owner)
        # asked before every run: False while this process does not hold the database's single-instance lock
        self.may_run = may_run
        self._retry_at: dict[int, datetime] = {}  # chat id -> not before (backoff after failures)
        self._down_until: dict[str, datetime] = {}  # platform -> not before (it was unreachable)
        self._scheduler: AsyncIOScheduler | None = None
        self._deliver_lock = asyncio.Lock()
        self._storage_was_down = False
        self._lock_was_missing = False
        self._harvest_lock = asyncio.Lock()
        self._wake_queued = False  # a harvest woken by a subscription waits for the lock
        self._wake_tasks: set[asyncio.Task[None]] = set()
        self.last_harvest: str = "not yet"
        self.last_tick: TickReport | None = None

    # -- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Add the jobs (both run at once, then every interval) and start; call inside the running loop."""
        scheduler = AsyncIOScheduler(timezone=UTC)
        now = datetime.now(UTC)
        common = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600}
        scheduler.add_job(
            self.harvest_tick,
            "interval",
            seconds=self.harvest_interval,
            next_run_time=now,
            id="harvest",
            **common,
        )
        # Once soon after start (what fell due while the bot was down), then on the clock: every interval
        # counted from a whole minute (60 s: each minute's first second), so a digest due at 08:30 goes out
        # at 08:30:01, not at whatever second the process happened to start.
        scheduler.add_job(
            self.deliver_tick,
            "date",
            run_date=now + timedelta(seconds=min(5.0, self.deliver_interval)),
            id="deliver-at-start",
            **common,
        )
        scheduler.add_job(
            self.deliver_tick,
            "interval",
            seconds=self.deliver_interval,
            start_date=DELIVER_EPOCH,
            id="deliver",
            **common,
        )
        scheduler.start()
        self._scheduler = scheduler

    async def stop(self, *, grace: float = 30.0) -> None:
        """Stop gracefully: no new runs; a delivery in progress finishes the message it is sending (and
        records it) and leaves the rest pending for the next start; a harvest in progress may finish."""
        self.deliverer.stopping = True
        if self._scheduler is not None:
            self._scheduler.pause()
        for lock in (self._deliver_lock, self._harvest_lock):
            try:
                await asyncio.wait_for(lock.acquire(), grace)
                lock.release()
            except TimeoutError:
                logger.warning("a scheduled run did not stop within %.0f s; cancelling it", grace)
        for task in list(self._wake_tasks):
            task.cancel()
        await asyncio.gather(*self._wake_tasks, return_exceptions=True)
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None

    # -- harvest --------------------------------------------------------------------------------------------

    async def harvest_tick(self) -> HarvestStatus | None:
        """Fetch the current batch when it is not stored yet; backfill missed days; pre-translate."""
        async with self._harvest_lock:
            if self.deliverer.stopping or not await self._may_run():
                return None
            try:
                status = await self._harvest()
            except StorageUnavailable as exc:
                self._storage_down(exc)
                return None
            self._storage_back()
            return status

    def _storage_down(self, error: StorageUnavailable) -> None:
        """One line per database outage (not a traceback per run); the next run tries again."""
        if not self._storage_was_down:
            self._storage_was_down = True
            logger.warning("database unavailable; scheduled runs wait for it: %s", error)
        else:
            logger.debug("database still unavailable: %s", error)

    def _storage_back(self) -> None:
        if self._storage_was_down:
            self._storage_was_down = False
            logger.warning("database reachable again; scheduled runs resume")

    async def _may_run(self) -> bool:
        held = self.may_run is None or await self.may_run()
        if held == self._lock_was_missing:  # a change: one line each way, not one per run
            self._lock_was_missing = not held
            if held:
                logger.warning("the database lock is held again; scheduled runs resume")
            else:
                logger.warning("scheduled runs wait: this process does not hold the database lock right now")
        return held

    async def subscribed(self, categories: Sequence[str]) -> None:
        """A chat has just subscribed to ``categories`` (``Commands.on_subscribed``): when the batch arXiv
        serves now is not stored for one of them, harvest at once, in a task, instead of at the next tick.

        The task waits for a harvest in progress (one at a time). While it waits, further subscriptions start
        no other task: it reads the subscriptions once it runs. Its failures are logged, never raised."""
        if self.deliverer.stopping or not categories:
            return
        expected = latest_batch_date(self.clock())
        async with self.db.session() as session:
            covered = await AnnouncementRepository(session).covered(categories, expected)
        if set(categories) <= covered or self._wake_queued:
            return
        self._wake_queued = True
        task = asyncio.create_task(self._woken_harvest(), name="harvest after a subscription")
        self._wake_tasks.add(task)
        task.add_done_callback(self._wake_tasks.discard)

    async def _woken_harvest(self) -> None:
        try:
            async with self._harvest_lock:
                self._wake_queued = False  # from here on the subscriptions are read afresh
                if self.deliverer.stopping:
                    return
                await self._harvest()
        except Exception:
            logger.exception("harvest after a new subscription failed; the next tick retries")
        finally:
            self._wake_queued = False

    async def _harvest(self) -> HarvestStatus | None:
        async with self.db.session() as session:
            categories = await SubscriptionRepository(session).all_categories()
        if not categories:
            self.last_harvest = "no subscriptions"
            return None
        now = self.clock()
        expected = latest_batch_date(now)
        async with self.db.session() as session:
            covered = await AnnouncementRepository(session).covered(categories, expected)
        wanted = [c for c in categories if c not in covered]  # one feed for all of them
        if not wanted:
            self.last_harvest = f"{expected} already stored"
            return None
        stored = await self.digests.stored_dates()
        # The feed key changes with the categories wanted (a new category alone, then the union again), and
        # a key not checked before makes any batch look fresh: a still-stale feed of the day before is
        # recognised by that day's coverage instead.
        previous = max((d for d in stored if d < expected), default=None)
        had_previous: set[str] = set()
        if previous is not None:
            async with self.db.session() as session:
                had_previous = await AnnouncementRepository(session).covered(wanted, previous)
        try:
            result = await self.digests.harvest(wanted)
        except SourceUnavailable as exc:
            self.last_harvest = f"arXiv unavailable: {exc}"
            logger.warning("harvest: arXiv unavailable, retrying in %.0f s: %s", self.harvest_interval, exc)
            return None
        status = result.status
        day = result.batch.announced_on
        if (
            status is HarvestStatus.FRESH
            and day is not None
            and day == previous
            and set(wanted) <= had_previous
        ):
            status = HarvestStatus.STALE
        scope = "" if len(wanted) == len(categories) else f" ({len(wanted)} of {len(categories)} categories)"
        if status is HarvestStatus.FRESH:
            await self._backfill(wanted, stored, day, now)
            billed = await self.pretranslate(day)
            self.last_harvest = f"{day}: {len(result.batch.announcements)} papers{scope}"
            logger.info(
                "harvest: %d announcements for %s from %s%s, %d characters billed for translations",
                len(result.batch.announcements),
                day,
                result.batch.source,
                scope,
                billed,
            )
        else:
            self.last_harvest = f"{status.value} feed, expecting {expected}{scope}"
            logger.info("harvest: %s feed while expecting %s%s; will retry", status.value, expected, scope)
        return status

    async def _backfill(
        self, categories: Sequence[str], stored: Sequence[date], fresh: date | None, now: datetime
    ) -> None:
        """Days between the last stored one and the fresh one: the bot was down when the feed showed them."""
        if not stored or fresh is None:
            return  # a new installation starts with the current batch
        missing = [d for d in expected_dates(stored[-1], now) if d < fresh and d not in stored]
        for day in missing[-MAX_BACKFILL_DAYS:]:
            try:
                count = await self.digests.backfill(categories, day)
                logger.info("backfill for %s from the API: %d papers", day, count)
            except SourceUnavailable as exc:
                logger.warning("backfill of %s failed: %s", day, exc)

    async def pretranslate(self, day: date | None) -> int:
        """Translate what the active chats will need of ``day``'s batch, once per language: the chats that
        will get that day (it is not before their start day, and they have not had it yet)."""
        if day is None:
            return 0
        usage = await self.digests.translator.usage()
        if usage is not None:
            used, limit = usage
            logger.info("DeepL usage this period: %d of %s characters", used, limit if limit else "unlimited")
            if limit is not None and used >= limit:
                logger.warning("DeepL quota used up: digests go out in English until it renews")
                return 0
        before = self.digests.billed_characters
        async with self.db.session() as session:
            had = await LedgerRepository(session).chats_scheduled_on(day)
            chats = [
                c
                for c in await ChatRepository(session).active()
                if c.start_day is not None and c.start_day <= day and c.id not in had
            ]
            subs = {c.id: await SubscriptionRepository(session).list(c.id) for c in chats}
        by_language: dict[str, dict[str, object]] = defaultdict(dict)
        announcements = await self.digests.announcements(day)  # once, not once per chat
        for chat in chats:
            selection = await self.digests.selection(
                chat_options(chat, subs[chat.id]), day, day=announcements
            )
            for paper in selection.papers:
                by_language[chat.language][paper.arxiv_id] = paper
        for language, papers in by_language.items():
            await self.digests.translate(list(papers.values()), language)  # type: ignore[arg-type]
        return self.digests.billed_characters - before

    # -- delivery -------------------------------------------------------------------------------------------

    async def deliver_tick(self) -> TickReport:
        """Plan what is due into the ledger, then run every pending delivery."""
        async with self._deliver_lock:
            report = TickReport()
            if not await self._may_run():
                return report
            try:
                await self.plan_due(report)
                await self.run_pending(report)
            except StorageUnavailable as exc:
                self._storage_down(exc)
                return report
            self._storage_back()
            self.last_tick = report
            if report.planned or report.delivered or report.failed or report.later:
                logger.info(
                    "deliver: %d digests planned, %d delivered (%d messages; %s), %d failed, "
                    "%d left for later, %d days with nothing for the chat",
                    report.planned,
                    report.delivered,
                    report.messages,
                    ", ".join(f"{k} {v}" for k, v in sorted(report.per_platform.items())) or "none",
                    report.failed,
                    report.later,
                    report.skipped_empty,
                )
            return report

    async def plan_due(self, report: TickReport) -> None:
        now = self.clock()
        stored = await self.digests.stored_dates()
        if not stored:
            return
        expected = latest_batch_date(now)
        fetching: set[str] = set()  # categories whose current batch a harvest running now may still bring
        async with self.db.session() as session:
            chats = await ChatRepository(session).active()
            if self._harvest_lock.locked() or self._wake_queued:
                categories = await SubscriptionRepository(session).all_categories()
                covered = await AnnouncementRepository(session).covered(categories, expected)
                fetching = set(categories) - covered
        days: dict[date, list[tuple[str, Announcement]]] = {}  # each day's announcements, loaded once per run
        for chat in chats:
            if chat.start_day is None:
                continue
            retry_at = self._retry_at.get(chat.id)
            if retry_at is not None and retry_at > now:
                continue
            try:
                await self._plan_chat(chat, stored, now, report, days, hold=(expected, fetching))
            except StorageUnavailable:
                raise  # the database's fault, not the chat's: the whole run waits for it
            except Exception:
                logger.exception("chat %s: planning its digest failed", chat.id)
                await self._failed(chat, report)

    async def _plan_chat(
        self,
        chat: Chat,
        stored: Sequence[date],
        now: datetime,
        report: TickReport,
        days: dict[date, list[tuple[str, Announcement]]],
        *,
        hold: tuple[date, set[str]] = (date.min, set()),
    ) -> None:
        """Plan the chat's due days. ``hold``: the current day and the categories a harvest in progress may
        still bring for it; a chat following one of them waits for that day (a later run plans it), so that
        it does not get the day without them (a new subscription is harvested at once, then delivered)."""
        assert chat.start_day is not None
        async with self.db.session() as session:
            done = await LedgerRepository(session).scheduled_days(chat.id)
            entries = await SubscriptionRepository(session).entries(chat.id)
        if not entries:
            return
        subscribed_at = min(e.created_at for e in entries)
        push_time = parse_hhmm(chat.push_time)
        candidates = [d for d in stored if d >= chat.start_day and d not in done]
        due = [
            d
            for d in candidates
            if push_due(
                d, push_time, chat.timezone, not_before=subscribed_at if d == chat.start_day else None
            )
            <= now
        ]
        held_day, fetching = hold
        if held_day in due and fetching.intersection(e.category for e in entries):
            logger.debug("chat %s: %s waits for the harvest in progress", chat.id, held_day)
            due.remove(held_day)
        for day in due[-MAX_CATCH_UP_DAYS:]:
            options = chat_options(chat, [e.category for e in entries])
            if day not in days:
                days[day] = await self.digests.announcements(day)
            digest = await self.digests.digest(
                options, language=chat.language, announced_on=day, day=days[day]
            )
            if not digest.entries:
                async with self.db.session() as session:
                    ledger = LedgerRepository(session)
                    delivery_id = await ledger.create(
                        chat.id, day, scheduled=True, language=digest.language, papers=0, messages=(), now=now
                    )
                    if delivery_id is not None:
                        await ledger.finish(delivery_id, "done", now=now)
                    await session.commit()
                report.skipped_empty += 1
                continue
            if await self.deliverer.enqueue(chat, digest, scheduled=True) is not None:
                report.planned += 1

    async def run_pending(self, report: TickReport) -> None:
        async with self.db.session() as session:
            pending = await LedgerRepository(session).pending()
        by_chat: dict[int, list[Delivery]] = defaultdict(list)
        if self.deliverer.stopping:
            return
        for delivery in pending:
            by_chat[delivery.chat_id].append(delivery)
        now = self.clock()
        async with self.db.session() as session:
            active = {c.id: c for c in await ChatRepository(session).active()}
        # Private chats take turns (``concurrency`` at once, each sending about one message a second). Groups
        # and channels are paced by their own 20-a-minute limit, so they would only hold the private chats'
        # places: they get their own, wider pool. ``concurrency`` 1 means one chat at a time, strictly.
        private = asyncio.Semaphore(self.concurrency)
        shared = private if self.concurrency == 1 else asyncio.Semaphore(self.concurrency * 10)

        async def serve(chat_id: int, deliveries: list[Delivery]) -> None:
            chat = active[chat_id]
            pool = private if chat.kind in PRIVATE_KINDS else shared
            async with pool:
                if self._down_until.get(chat.platform, now) > self.clock():
                    report.later += 1  # its platform just failed: the next run tries again
                    return
                await self._serve_chat(chat_id, deliveries, report)

        with fan_out():  # interactive replies go first at the platform's rate limiter
            await asyncio.gather(
                *(
                    serve(chat_id, items)
                    for chat_id, items in by_chat.items()
                    # a deactivated chat's deliveries wait, pending, until it is back (/start)
                    if chat_id in active and self._retry_at.get(chat_id, now) <= now
                )
            )

    async def _serve_chat(self, chat_id: int, deliveries: list[Delivery], report: TickReport) -> None:
        async with self.db.session() as session:
            chat = await ChatRepository(session).get_by_id(chat_id)
        if chat is None:
            return
        for delivery in deliveries:
            if self.deliverer.stopping:
                return
            try:
                result = await self.deliverer.run(delivery.id)
            except StorageUnavailable as exc:  # not the chat's fault: the next run tries again
                logger.warning("chat %s: delivery %d interrupted: %s", chat_id, delivery.id, exc)
                report.later += 1
                return
            except Exception:
                logger.exception("chat %s: delivery %d failed", chat_id, delivery.id)
                await self._failed(chat, report)
                return
            report.messages += result.sent
            report.per_platform[chat.platform] += result.sent
            if result.outcome is Outcome.DONE:
                report.delivered += 1
                self._retry_at.pop(chat_id, None)
                self._down_until.pop(chat.platform, None)
            elif result.outcome is Outcome.GONE:
                report.failed += 1
                return
            elif result.outcome is Outcome.FAILED:
                await self._failed(chat, report)  # no access: retried with backoff, then deactivated
                return
            elif result.outcome is Outcome.UNAVAILABLE:
                # Telegram down or unreachable: no chat's fault, so no failure counted; the other chats of
                # this run wait for the next one instead of each timing out in turn
                report.later += 1
                self._down_until[chat.platform] = self.clock() + timedelta(minutes=1)
                return
            else:
                report.later += 1
                if not self.deliverer.stopping:  # rate limited for long: try this chat again in a minute
                    self._retry_at[chat_id] = self.clock() + timedelta(minutes=1)
                return

    async def _failed(self, chat: Chat, report: TickReport) -> None:
        report.failed += 1
        failures = chat.failures + 1
        if failures >= self.max_failures:
            await self.lifecycle.deactivated(chat, failures)
            return
        async with self.db.session() as session:
            await ChatRepository(session).update(chat.id, failures=failures)
            await session.commit()
        delay = timedelta(minutes=2**failures)
        self._retry_at[chat.id] = self.clock() + delay
        logger.info("chat %s: delivery failed (%d in a row); retrying in %s", chat.id, failures, delay)
