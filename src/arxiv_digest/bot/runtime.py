"""The composition root: builds the database, the arXiv client, the translator, the digest service, the chat
commands and the platform bots from ``Settings``, and runs them in one asyncio loop."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from ..papers.arxiv_client import ArxivClient
from ..papers.ratelimit import RequestGate
from ..papers.taxonomy import load_taxonomy
from ..papers.translate import PaperTranslator
from ..storage.db import Database
from ..storage.repositories import TranslationCacheRepository
from .commands import ChatDefaults, Commands
from .digests import DigestService
from .settings import Settings

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
        digests = DigestService(db=db, arxiv=client, translator=translator, taxonomy=taxonomy, clock=clock)
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
    """Run the configured bots until SIGINT/SIGTERM (or ``stop`` is set)."""
    if settings.telegram_bot_token is None:
        if settings.discord_bot_token is not None:
            raise NothingToRun(
                "the Discord bot is not available yet: set TELEGRAM_BOT_TOKEN to run the Telegram bot"
            )
        raise NothingToRun(
            "no bot configured: set TELEGRAM_BOT_TOKEN (from @BotFather; TELEGRAM_API_BASE_URL for a "
            "local Bot API server) in the environment or .env"
        )
    if settings.discord_bot_token is not None:
        logger.warning(
            "DISCORD_BOT_TOKEN is set but the Discord bot is not available yet; running Telegram only"
        )
    from .telegram.app import TelegramBot

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with open_runtime(settings) as runtime:
        telegram = TelegramBot(
            token=settings.telegram_bot_token.get_secret_value(),
            commands=runtime.commands,
            db=runtime.db,
            base_url=settings.telegram_api_base_url,
        )
        await telegram.start()
        try:
            await stop.wait()
            logger.info("stopping")
        finally:
            await telegram.stop()
