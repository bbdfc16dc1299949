"""The composition root: builds the database, the arXiv client, the translator, the digest service, the chat
commands and the platform bots from ``Settings``, and runs them in one asyncio loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from ..papers.arxiv_client import ArxivClient
from ..papers.errors import ArxivDigestError
from ..papers.ratelimit import RequestGate
from ..papers.taxonomy import load_taxonomy
from ..papers.translate import PaperTranslator
from ..storage.db import AlreadyRunning, Database, InstanceLock
from ..storage.repositories import TranslationCacheRepository
from .commands import ChatDefaults, Commands
from .delivery import Deliverer, PlatformFailed, Target
from .digests import DigestService
from .lifecycle import ChatLifecycle
from .scheduler import Scheduler
from .settings import Settings, parse_owner

if TYPE_CHECKING:  # the Telegram stack is imported only when a bot runs
    from .telegram.limiter import FloodLimiter

logger = logging.getLogger(__name__)


class NothingToRun(Exception):
    """No platform is configured."""


@dataclass(slots=True)
class Runtime:
    settings: Settings
    db: Database
    arxiv: ArxivClient
    translator: PaperTranslator
    digests: DigestService
    commands: Commands


@asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    db: Database | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> AsyncIterator[Runtime]:
    """Everything but the platforms, upgraded and ready; closed on exit (``db``, when given, is the
    caller's to dispose)."""
    own_db = db is None
    db = db or Database(settings.database_url)
    try:
        await db.upgrade()
        client = ArxivClient(
            rss_base_url=settings.arxiv_rss_base_url,
            api_url=settings.arxiv_api_url,
            gate=RequestGate(min_interval=settings.arxiv_min_interval),
            timeout=settings.arxiv_timeout,
            retries=settings.arxiv_retries,
        )
        key = settings.deepl_auth_key.get_secret_value() if settings.deepl_auth_key else None
        translator = PaperTranslator(
            auth_key=key, cache=TranslationCacheRepository(db), server_url=settings.deepl_server_url
        )
        taxonomy = load_taxonomy()
        digests = DigestService(
            db=db,
            arxiv=client,
            translator=translator,
            taxonomy=taxonomy,
            clock=clock,
            daily_budget=settings.deepl_daily_character_budget,
        )
        commands = Commands(
            db=db,
            digests=digests,
            taxonomy=taxonomy,
            defaults=ChatDefaults(
                language=settings.default_language,
                timezone=settings.default_timezone,
                push_time=settings.default_push_time,
            ),
            clock=clock,
            lookups_per_day=settings.paper_lookups_per_day,
            languages_per_day=settings.languages_per_chat_per_day,
        )
        try:
            yield Runtime(settings, db, client, translator, digests, commands)
        finally:
            await client.aclose()
            translator.close()
    finally:
        if own_db:
            await db.dispose()


async def run_bots(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Run the configured bots (Telegram, Discord or both, in this one loop) with the harvest and the
    deliveries until SIGINT/SIGTERM (or ``stop`` is set). A bot that cannot start, or cannot go on, stops
    the process with one line (``PlatformFailed``)."""
    telegram_token = settings.telegram_bot_token.get_secret_value() if settings.telegram_bot_token else None
    discord_token = settings.discord_bot_token.get_secret_value() if settings.discord_bot_token else None
    if telegram_token is None and discord_token is None:
        raise NothingToRun(
            "no bot configured: set TELEGRAM_BOT_TOKEN (from @BotFather) and/or DISCORD_BOT_TOKEN (from the "
            "Discord Developer Portal) in the environment or .env"
        )
    # Every setting a bot needs is checked before anything connects: one line, never the token.
    if telegram_token is not None:
        from .telegram.app import check_settings

        check_settings(telegram_token, settings.telegram_api_base_url)
    if discord_token is not None:
        from .discord.app import apply_endpoints, check_token

        check_token(discord_token)
        apply_endpoints(settings.discord_api_base_url, settings.discord_gateway_url)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    locks: list[InstanceLock] = []
    try:
        async with open_runtime(settings) as runtime:
            lock = InstanceLock(runtime.db)
            await lock.acquire()  # AlreadyRunning: a second process on this database never sends anything
            locks.append(lock)
            # one Deliverer over every platform's sink, one lifecycle for every platform's chats
            owner = parse_owner(settings.owner_chat_id) if settings.owner_chat_id else None
            lifecycle = ChatLifecycle(runtime.db)
            deliverer = Deliverer(runtime.db, {}, lifecycle=lifecycle)
            bots = _bots(settings, runtime, deliverer, lifecycle, telegram_token, discord_token)
            if owner is not None:
                lifecycle.notify_owner = owner_notifier(deliverer, *owner)
            scheduler = Scheduler(
                db=runtime.db,
                digests=runtime.digests,
                deliverer=deliverer,
                harvest_interval=settings.harvest_interval,
                deliver_interval=settings.deliver_interval,
                concurrency=settings.delivery_concurrency,
                lifecycle=lifecycle,
            )
            runtime.commands.owner = owner
            runtime.commands.stats = lambda: stats_text(runtime, scheduler)
            runtime.commands.on_subscribed = scheduler.subscribed  # a new category is harvested at once
            failures: list[ArxivDigestError] = []

            def failed(failure: ArxivDigestError) -> None:  # never run deaf: stop, then exit with one line
                failures.append(failure)
                stop.set()

            async def lock_held() -> bool:
                try:
                    return await lock.check()
                except AlreadyRunning:
                    failed(
                        AlreadyRunning(
                            f"The database lock was lost and another arxiv-digest process took it "
                            f"({runtime.db.url}): stopping, so that only one of them sends.",
                            hint="",
                        )
                    )
                    return False

            scheduler.may_run = lock_held
            started: list[_Bot] = []
            try:
                for bot in bots:
                    bot.on_failure = failed
                    await bot.start()  # PlatformFailed: the ones already started are stopped below
                    started.append(bot)
                scheduler.start()
                watchdog = asyncio.create_task(_watch_lock(lock_held, settings.lock_check_interval, stop))
                try:
                    await stop.wait()
                    logger.info("stopping")
                finally:
                    watchdog.cancel()
                    await scheduler.stop()
            finally:
                for bot in reversed(started):
                    await bot.stop()
            if failures:
                raise failures[0]
    finally:
        for held in locks:  # after the engine is disposed: on SQLite the lock's descriptor closes last
            await held.release()


class _Bot(Protocol):
    on_failure: Callable[[PlatformFailed], None] | None

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def _bots(
    settings: Settings,
    runtime: Runtime,
    deliverer: Deliverer,
    lifecycle: ChatLifecycle,
    telegram_token: str | None,
    discord_token: str | None,
) -> list[_Bot]:
    """The configured platforms' bots, each registering its sink with the one ``deliverer``."""
    bots: list[_Bot] = []
    if telegram_token is not None:
        from .telegram.app import TelegramBot

        bots.append(
            TelegramBot(
                token=telegram_token,
                commands=runtime.commands,
                db=runtime.db,
                base_url=settings.telegram_api_base_url,
                rate_limiter=telegram_rate_limiter(settings.telegram_rate_scale),
                deliverer=deliverer,
                lifecycle=lifecycle,
            )
        )
    if discord_token is not None:
        from .discord.app import DiscordBot

        bots.append(
            DiscordBot(
                token=discord_token,
                commands=runtime.commands,
                db=runtime.db,
                deliverer=deliverer,
                lifecycle=lifecycle,
                dev_guild_id=settings.discord_dev_guild_id,
            )
        )
    return bots


def owner_notifier(deliverer: Deliverer, platform: str, key: str) -> Callable[[str], Awaitable[None]]:
    """Tells the owner (``OWNER_CHAT_ID``) something, in plain text, through their platform's sink."""

    async def notify(text: str) -> None:
        sink = deliverer.sinks.get(platform)
        if sink is None:
            logger.warning("the owner is on %s, which is not running: %s", platform, text)
            return
        await sink.send(Target(key, "user", platform=platform), sink.render_text(text))

    return notify


async def _watch_lock(held: Callable[[], Awaitable[bool]], interval: float, stop: asyncio.Event) -> None:
    """Ask every ``interval`` seconds whether the single-instance lock is still held (``held`` stops the
    process when another one took it); between scheduled runs too, so a loss is noticed within seconds."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
        if not stop.is_set():
            try:
                await held()
            except Exception:
                logger.warning("checking the database lock failed", exc_info=True)


def telegram_rate_limiter(scale: float = 1.0) -> FloodLimiter:
    """The bot's rate limiter at Telegram's limits (``telegram.limiter.FloodLimiter``): 30 messages a second
    overall, one a second per private chat, 20 a minute per group or channel. ``scale`` multiplies every
    rate, for a fake server enforcing scaled limits (the fan-out benchmark)."""
    from .telegram.limiter import FloodLimiter

    return FloodLimiter(scale=scale)


async def stats_text(runtime: Runtime, scheduler: Scheduler) -> str:
    """The owner's /stats: chats, subscriptions, stored days, the ledger, DeepL, the last runs."""
    from datetime import timedelta

    from ..storage.repositories import ChatRepository, LedgerRepository, SubscriptionRepository

    now = datetime.now(UTC)
    async with runtime.db.session() as session:
        active = await ChatRepository(session).active()
        categories = await SubscriptionRepository(session).all_categories()
        day = await LedgerRepository(session).counts(since=now - timedelta(days=1))
        total = await LedgerRepository(session).counts()
    days = await runtime.digests.stored_dates()
    usage = await runtime.translator.usage()
    tick = scheduler.last_tick
    lines = [
        f"Active chats: {len(active)}; categories followed: {len(categories)}",
        f"Stored announcement days: {len(days)} (latest {days[-1] if days else 'none'})",
        f"Deliveries, last 24 h: {_counts(day)}; all time: {_counts(total)}",
        f"DeepL: {runtime.digests.billed_characters} characters billed since start, "
        f"{await runtime.digests.billed_today()} today"
        + (f"; account {usage[0]} of {usage[1] or 'unlimited'}" if usage else ""),
        f"Last harvest: {scheduler.last_harvest}",
        "Last delivery run: "
        + (
            f"{tick.planned} planned, {tick.delivered} delivered, {tick.messages} messages, "
            f"{tick.failed} failed"
            if tick
            else "not yet"
        ),
    ]
    return "\n".join(lines)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"
