"""The fault matrix (docs/FAULTS.md): the cells no other test covered, one test (or parameter) per cell.

Each external part answers wrongly in one way (refused, silent, 429, 5xx, another 4xx, a body that is not
what it should be, cut short or of the wrong shape) and the test asserts the documented outcome: retried with
backoff, fallen back to the arXiv API, English with a notice, delivery left pending and not held against the
chat, the run waiting for the database. The real client libraries (httpx, ``arxiv`` + requests, ``deepl``,
python-telegram-bot, SQLAlchemy) talk to the fakes of ``tests/fakes``; storage tests run on SQLite and
PostgreSQL (the ``database`` fixture).

Two helpers extend the fakes here without changing them: :class:`GarblingDeepL` and :class:`GarblingTelegram`
answer chosen requests with raw bytes (a body that is not JSON, JSON of the wrong shape, a body shorter than
its Content-Length) after the fake has handled the request, as a proxy in front of the real service, or a
service answering badly, would.

Writing these found eight wrong outcomes (docs/FAULTS.md, "Faults this matrix found"); the tests assert the
fixed ones.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sqlite3
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select
from telegram import Bot
from telegram.request import HTTPXRequest

from arxiv_digest.bot.commands import Caller
from arxiv_digest.bot.delivery import Deliverer
from arxiv_digest.bot.digests import DigestService, HarvestStatus, failure_notice, feed_key
from arxiv_digest.bot.runtime import Runtime, open_runtime
from arxiv_digest.bot.scheduler import Scheduler
from arxiv_digest.bot.settings import Settings
from arxiv_digest.bot.telegram.sink import TelegramSink
from arxiv_digest.formatters.i18n import t
from arxiv_digest.papers.arxiv_client import ArxivClient
from arxiv_digest.papers.errors import PaperNotFound, SourceUnavailable, TranslationFailure
from arxiv_digest.papers.models import DigestOptions
from arxiv_digest.papers.ratelimit import RequestGate
from arxiv_digest.papers.taxonomy import load_taxonomy
from arxiv_digest.papers.translate import PaperTranslator
from arxiv_digest.storage import tables
from arxiv_digest.storage.db import Database, StorageUnavailable
from arxiv_digest.storage.models import Chat
from arxiv_digest.storage.repositories import (
    AnnouncementRepository,
    ChatRepository,
    LedgerRepository,
    SubscriptionRepository,
    TranslationCacheRepository,
)
from tests.dbs import open_database
from tests.doubles import Clock, RawAnswer, Sleeps
from tests.fakes.arxiv_server import FakeArxiv, ScriptedResponse, feed_path_key
from tests.fakes.deepl_server import FakeDeepL
from tests.fakes.telegram_server import ApiError, FakeTelegram

TOKEN = "778:faults-token"
DEEPL_KEY = "faults-deepl-key:fx"
FEED = ("cs.AI", "cs.CL", "cs.LG", "stat.ML")
FEED_PATH = "/rss/cs.LG+cs.AI+cs.CL+stat.ML"  # the fixture feed
HARVEST_PATH = "/rss/" + "+".join(FEED)  # the same feed, as the harvest asks for it (sorted)
FEED_PAPERS = {"2609.26811", "2609.26820", "2205.06398", "2009.13987"}
CL_PATH = "/rss/cs.CL"
CL_API_PAPERS = {"2609.28471", "2609.28449", "2609.28442"}  # cs.CL papers the API has in Thursday's window
DAY = date(2026, 9, 24)  # the fixture feed's announcement date (a Thursday)
THURSDAY_MORNING = datetime(2026, 9, 24, 12, 0, tzinfo=UTC)
HEADER = "cs.AI, cs.CL, cs.LG, stat.ML"  # how the fixture digest's summary starts


# -- helpers -------------------------------------------------------------------------------------------------


# ``payload`` (the fake's own answer, as JSON) -> the raw answer to send instead
Garble = Callable[[Mapping[str, Any]], RawAnswer]


def _write_raw(handler: Any, answer: RawAnswer) -> None:
    handler.close_connection = True
    try:
        handler.send_response(answer.status)
        handler.send_header("Content-Type", answer.content_type)
        handler.send_header("Content-Length", str(answer.length or len(answer.body)))
        handler.end_headers()
        handler.wfile.write(answer.body)
        handler.wfile.flush()
    except OSError:
        pass  # the client gave up


class GarblingDeepL(FakeDeepL):
    """A FakeDeepL whose next answers on ``/v2/translate`` can be replaced by raw bytes (:meth:`garble`).
    The request is handled (and billed) first, as by a DeepL whose answer is mangled on its way back."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.garbles: deque[Garble] = deque()

    def garble(self, *answers: Garble) -> None:
        self.garbles.extend(answers)

    def start(self, port: int = 0) -> GarblingDeepL:
        super().start(port)
        assert self._server is not None
        owner = self
        base: Any = self._server.RequestHandlerClass

        class Handler(base):  # type: ignore[misc, valid-type]
            def _send(self, status: int, payload: dict[str, Any], headers: Any = None) -> None:
                if owner.garbles and urlsplit(self.path).path == "/v2/translate":
                    _write_raw(self, owner.garbles.popleft()(payload))
                    return
                super()._send(status, payload, headers)

        self._server.RequestHandlerClass = Handler
        return self


class GarblingTelegram(FakeTelegram):
    """A FakeTelegram whose next answers to a method can be replaced by raw bytes (:meth:`garble`). The
    request is handled first (a message is stored as sent), as by a Bot API whose answer is mangled."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.garbles: dict[str, deque[Garble]] = {}

    def garble(self, method: str, *answers: Garble) -> None:
        with self._lock:
            self.garbles.setdefault(method.lower(), deque()).extend(answers)

    def _take_garble(self, path: str) -> Garble | None:
        method = urlsplit(path).path.rsplit("/", 1)[-1].lower()
        with self._lock:
            queue = self.garbles.get(method)
            return queue.popleft() if queue else None

    def start(self) -> GarblingTelegram:
        super().start()
        assert self._server is not None
        owner = self
        base: Any = self._server.RequestHandlerClass

        class Handler(base):  # type: ignore[misc, valid-type]
            def _send(self, status: int, payload: dict[str, Any]) -> None:
                garble = owner._take_garble(self.path)
                if garble is not None:
                    _write_raw(self, garble(payload))
                    return
                super()._send(status, payload)

        self._server.RequestHandlerClass = Handler
        return self


def not_json(_: Mapping[str, Any]) -> RawAnswer:
    return RawAnswer(
        b"<html><body><h1>Service temporarily unavailable</h1></body></html>", content_type="text/html"
    )


def json_cut_in_the_middle(payload: Mapping[str, Any]) -> RawAnswer:
    body = json.dumps(payload).encode()
    return RawAnswer(body[: len(body) // 2])


def empty_body(_: Mapping[str, Any]) -> RawAnswer:
    return RawAnswer(b"")


def json_array(_: Mapping[str, Any]) -> RawAnswer:
    return RawAnswer(b"[]")


def cut_short(payload: Mapping[str, Any]) -> RawAnswer:
    """The headers and half the body, then the connection closes (Content-Length promised more)."""
    body = json.dumps(payload).encode()
    return RawAnswer(body[: len(body) // 2], length=len(body))


def translations(change: Callable[[list[Any]], Any]) -> Garble:
    """DeepL's answer with its ``translations`` list changed."""

    def garble(payload: Mapping[str, Any]) -> RawAnswer:
        return RawAnswer(json.dumps({"translations": change(list(payload["translations"]))}).encode())

    return garble


def closed_port() -> int:
    """A port nothing listens on (bound, then closed again): connections are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    try:
        yield server.getsockname()[1]
    finally:
        server.close()


def client(rss: str, api: str, sleeps: Sleeps, **options: Any) -> ArxivClient:
    values: dict[str, Any] = {"timeout": 2.0, "retries": 3, "backoff": 2.0}
    values.update(options)
    return ArxivClient(
        rss_base_url=rss, api_url=api, gate=RequestGate(min_interval=0), sleep=sleeps, **values
    )


def api_page(fake: FakeArxiv, query: dict[str, list[str]]) -> bytes:
    """What the fake API answers to ``query``, as bytes (to cut)."""
    return fake.respond("/api/query", query).encoded()


CL_SEARCH = {
    "search_query": ["cat:cs.CL"],
    "sortBy": ["lastUpdatedDate"],
    "sortOrder": ["descending"],
    "start": ["0"],
    "max_results": ["100"],
}
ID_QUERY = {"id_list": ["1605.08386"], "start": ["0"], "max_results": ["1"]}


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def arxiv_fake() -> Iterator[FakeArxiv]:
    with FakeArxiv() as fake:
        yield fake


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info and r.levelno >= logging.WARNING]


# -- arXiv: the feed -----------------------------------------------------------------------------------------


async def test_feed_refused_is_retried_with_backoff_then_the_api_answers(
    arxiv_fake: FakeArxiv, sleeps: Sleeps
) -> None:
    async with client(f"http://127.0.0.1:{closed_port()}", arxiv_fake.api_url, sleeps) as c:
        batch = await c.fetch_batch(["cs.CL"], now=THURSDAY_MORNING)
    assert sleeps.delays == [2.0, 4.0, 8.0]  # 1 + 3 retries, doubling from 2 s
    assert batch.source == "api"
    assert batch.announced_on == DAY
    assert {a.paper.arxiv_id for a in batch.announcements} == CL_API_PAPERS


@pytest.mark.parametrize("status", [403, 410])
async def test_feed_4xx_is_not_retried_and_the_api_answers(
    arxiv_fake: FakeArxiv, sleeps: Sleeps, status: int
) -> None:
    arxiv_fake.fail(CL_PATH, status)
    async with client(arxiv_fake.rss_base_url, arxiv_fake.api_url, sleeps) as c:
        batch = await c.fetch_batch(["cs.CL"], now=THURSDAY_MORNING)
    assert len(arxiv_fake.feed_requests) == 1
    assert sleeps.delays == []
    assert batch.source == "api"
    assert {a.paper.arxiv_id for a in batch.announcements} == CL_API_PAPERS


def _cut_feed(fake: FakeArxiv) -> bytes:
    body = fake.feeds[feed_path_key(FEED_PATH)]
    return body[: len(body) // 2]


@pytest.mark.parametrize(
    "body",
    [
        "cut in the middle",
        b"Service temporarily unavailable",
        b"<!DOCTYPE html><html><body>Bad Gateway</body></html>",
        b"",
    ],
    ids=["cut in the middle", "not XML", "an HTML page", "empty"],
)
async def test_feed_body_that_is_not_a_feed_falls_back_to_the_api_at_once(
    arxiv_fake: FakeArxiv, sleeps: Sleeps, body: bytes | str
) -> None:
    raw = _cut_feed(arxiv_fake) if body == "cut in the middle" else body
    arxiv_fake.enqueue(CL_PATH, ScriptedResponse(body=raw))
    async with client(arxiv_fake.rss_base_url, arxiv_fake.api_url, sleeps) as c:
        batch = await c.fetch_batch(["cs.CL"], now=THURSDAY_MORNING)
    assert len(arxiv_fake.feed_requests) == 1  # a 200 that is not a feed is not asked again
    assert sleeps.delays == []
    assert batch.source == "api"
    assert {a.paper.arxiv_id for a in batch.announcements} == CL_API_PAPERS


# -- arXiv: the API ------------------------------------------------------------------------------------------


async def test_api_refused_is_retried_with_backoff_then_source_unavailable(sleeps: Sleeps) -> None:
    port = closed_port()
    async with client(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/api/query", sleeps) as c:
        with pytest.raises(SourceUnavailable, match="4 attempts"):
            await c.get_paper("1605.08386")
    assert sleeps.delays == [2.0, 4.0, 8.0]


async def test_api_timeout_is_retried(arxiv_fake: FakeArxiv, sleeps: Sleeps) -> None:
    arxiv_fake.enqueue("/api/query", ScriptedResponse(body=b"late", delay=1.0))
    async with client(arxiv_fake.rss_base_url, arxiv_fake.api_url, sleeps, timeout=0.3, retries=1) as c:
        paper = await c.get_paper("1605.08386")
    assert paper.arxiv_id == "1605.08386"
    assert len(arxiv_fake.api_requests) == 2
    assert sleeps.delays == [2.0]


async def test_api_429_is_retried_with_backoff(arxiv_fake: FakeArxiv, sleeps: Sleeps) -> None:
    arxiv_fake.fail("/api/query", 429, times=2)
    async with client(arxiv_fake.rss_base_url, arxiv_fake.api_url, sleeps) as c:
        paper = await c.get_paper("1605.08386")
    assert paper.arxiv_id == "1605.08386"
    assert len(arxiv_fake.api_requests) == 3
    assert sleeps.delays == [2.0, 4.0]


@pytest.mark.parametrize("status", [403, 404])
async def test_api_4xx_is_not_retried_and_is_not_paper_not_found(
    arxiv_fake: FakeArxiv, sleeps: Sleeps, status: int
) -> None:
    arxiv_fake.fail("/api/query", status, times=2)
    async with client(arxiv_fake.rss_base_url, arxiv_fake.api_url, sleeps) as c:
        with pytest.raises(SourceUnavailable, match=f"HTTP {status}") as info:
            await c.get_paper("1605.08386")
        assert not isinstance(info.value, PaperNotFound)
        assert len(arxiv_fake.api_requests) == 1
        arxiv_fake.fail(CL_PATH, 503, times=4)  # the fallback meets the same 4xx: both unavailable
        with pytest.raises(SourceUnavailable, match=rf"feed: .*API: .*HTTP {status}"):
            await c.fetch_batch(["cs.CL"], now=THURSDAY_MORNING)
    assert len(arxiv_fake.api_requests) == 2
    assert sleeps.delays == [2.0, 4.0, 8.0]  # the feed's retries only


async def test_api_fallback_page_cut_after_an_entry_still_gets_every_paper(
    arxiv_fake: FakeArxiv, sleeps: Sleeps
) -> None:
    """A page cut short is not a feed: it is asked for again (instead of the ``arxiv`` package reading what
    it can of it), and the second answer has every paper."""
    page = api_page(arxiv_fake, CL_SEARCH)
    second_entry = page.index(b"<entry>", page.index(b"<entry>") + 1)
    arxiv_fake.fail(CL_PATH, 503, times=4)
    arxiv_fake.enqueue("/api/query", ScriptedResponse(body=page[: second_entry + 200]))
    async with client(arxiv_fake.rss_base_url, arxiv_fake.api_url, sleeps) as c:
        batch = await c.fetch_batch(["cs.CL"], now=THURSDAY_MORNING)
    assert batch.source == "api"
    assert {a.paper.arxiv_id for a in batch.announcements} == CL_API_PAPERS
    assert [r.param("start") for r in arxiv_fake.api_requests] == ["0", "0"]


ATTEMPTS = 4  # client(): three retries after the first attempt


def _api_garbage(fake: FakeArxiv, kind: str) -> bytes:
    if kind == "an HTML page":
        return b"<!DOCTYPE html><html><body>Service Unavailable</body></html>"
    if kind == "not XML":
        return b"Rate exceeded."
    page = api_page(fake, CL_SEARCH if kind == "search cut in its first entry" else ID_QUERY)
    return page[: page.index(b"<entry>") + 200]


@pytest.mark.parametrize("kind", ["an HTML page", "not XML", "id_list cut in its entry"])
async def test_api_answer_not_a_feed_is_source_unavailable_not_paper_not_found(
    arxiv_fake: FakeArxiv, sleeps: Sleeps, kind: str
) -> None:
    """An answer that is not a whole feed is arXiv failing, retried like a 5xx; never "no such paper"."""
    garbage = ScriptedResponse(body=_api_garbage(arxiv_fake, kind))
    for _ in range(ATTEMPTS):
        arxiv_fake.enqueue("/api/query", garbage)
    async with client(arxiv_fake.rss_base_url, arxiv_fake.api_url, sleeps) as c:
        with pytest.raises(SourceUnavailable) as info:
            await c.get_paper("1605.08386")
        assert not isinstance(info.value, PaperNotFound)
        assert len(arxiv_fake.api_requests) == ATTEMPTS
        arxiv_fake.enqueue("/api/query", garbage)  # once: the retry gets the paper
        assert (await c.get_paper("1605.08386")).arxiv_id == "1605.08386"


@pytest.mark.parametrize("kind", ["an HTML page", "not XML", "search cut in its first entry"])
async def test_api_fallback_answer_that_is_not_a_feed_is_source_unavailable(
    arxiv_fake: FakeArxiv, sleeps: Sleeps, kind: str
) -> None:
    garbage = _api_garbage(arxiv_fake, kind)
    arxiv_fake.fail(CL_PATH, 503, times=4)
    for _ in range(ATTEMPTS):
        arxiv_fake.enqueue("/api/query", ScriptedResponse(body=garbage))
    async with client(arxiv_fake.rss_base_url, arxiv_fake.api_url, sleeps) as c:
        with pytest.raises(SourceUnavailable):  # not an empty batch, taken for a quiet day
            await c.fetch_batch(["cs.CL"], now=THURSDAY_MORNING)


# -- arXiv through the scheduler: what is stored -------------------------------------------------------------


@dataclass
class World:
    tg: GarblingTelegram
    arxiv: FakeArxiv
    runtime: Runtime
    scheduler: Scheduler
    clock: Clock
    sleeps: Sleeps
    notices: list[str]

    async def chat(self, key: int, *, kind: str = "private", **fields: Any) -> Chat:
        """A chat following the fixture feed's categories since September, due at 09:00 UTC."""
        async with self.runtime.db.session() as s:
            repo = ChatRepository(s)
            chat = await repo.ensure(
                "telegram", str(key), language="EN-US", timezone="UTC", push_time="09:00", kind=kind
            )
            await SubscriptionRepository(s).add(chat.id, FEED, now=datetime(2026, 9, 1, tzinfo=UTC))
            chat = await repo.update(chat.id, start_day=DAY, include_replacements=True, **fields)
            await s.commit()
        return chat

    async def stored_chat(self, key: int) -> Chat:
        async with self.runtime.db.session() as s:
            chat = await ChatRepository(s).get("telegram", str(key))
        assert chat is not None
        return chat

    async def pending(self) -> int:
        async with self.runtime.db.session() as s:
            return len(await LedgerRepository(s).pending())

    def digests_in(self, chat: int) -> list[str]:
        """The announcement dates of the summaries the chat received, in order."""
        return [m["text"].split(" · ", 1)[1][:10] for m in self.tg.sent(chat) if m["text"].startswith(HEADER)]

    def scheduler_with(self, bot: Bot) -> Scheduler:
        """A scheduler over the same database whose Telegram sink talks through ``bot``."""
        deliverer = Deliverer(
            self.runtime.db, {"telegram": TelegramSink(bot)}, clock=self.clock, sleep=self.sleeps
        )
        return Scheduler(
            db=self.runtime.db,
            digests=self.runtime.digests,
            deliverer=deliverer,
            clock=self.clock,
            notify_owner=self._notify,
        )

    async def _notify(self, text: str) -> None:
        self.notices.append(text)


@pytest.fixture
async def world(database: Database) -> AsyncIterator[World]:
    with GarblingTelegram(token=TOKEN) as tg, FakeArxiv() as arxiv:
        clock = Clock(datetime(2026, 9, 24, 6, 0, tzinfo=UTC))  # Thursday 02:00 EDT: the 24th's batch is out
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            arxiv_rss_base_url=arxiv.rss_base_url,
            arxiv_api_url=arxiv.api_url,
            arxiv_min_interval=0,
            arxiv_retries=0,  # the runtime's client sleeps for real: no retries here
            arxiv_timeout=5,
        )
        async with (
            open_runtime(settings, db=database, clock=clock) as runtime,
            Bot(TOKEN, base_url=tg.base_url) as bot,
        ):
            w = World(tg, arxiv, runtime, None, clock, Sleeps(), [])  # type: ignore[arg-type]
            w.scheduler = w.scheduler_with(bot)
            yield w


async def _nothing_stored(world: World) -> None:
    async with world.runtime.db.session() as s:
        repo = AnnouncementRepository(s)
        assert await repo.dates() == []
        assert await repo.last_check(feed_key(FEED)) is None
        assert await repo.for_date(DAY) == []


async def test_feed_cut_in_the_middle_stores_nothing_and_the_next_tick_retries(
    world: World,
) -> None:
    """The feed is cut in the middle and the API fallback fails too: nothing half-stored, nothing delivered;
    the next tick fetches the feed again and stores the whole batch, which goes out at the push time."""
    await world.chat(1)
    world.arxiv.enqueue(HARVEST_PATH, ScriptedResponse(body=_cut_feed(world.arxiv)))
    world.arxiv.fail("/api/query", 503)
    assert await world.scheduler.harvest_tick() is None
    assert world.scheduler.last_harvest.startswith("arXiv unavailable")
    await _nothing_stored(world)
    world.clock.now = datetime(2026, 9, 24, 9, tzinfo=UTC)
    assert (await world.scheduler.deliver_tick()).planned == 0

    assert await world.scheduler.harvest_tick() is HarvestStatus.FRESH
    async with world.runtime.db.session() as s:
        stored = {ann.paper.arxiv_id for _, ann in await AnnouncementRepository(s).for_date(DAY)}
    assert stored == FEED_PAPERS
    assert (await world.scheduler.deliver_tick()).delivered == 1
    assert world.digests_in(1) == ["2026-09-24"]


async def test_metadata_lookup_failure_keeps_the_feed_metadata(world: World) -> None:
    """The batched API lookup that adds primary categories fails: the feed's batch is stored as it is."""
    await world.chat(1)
    world.arxiv.fail("/api/query", 503)
    assert await world.scheduler.harvest_tick() is HarvestStatus.FRESH
    assert len(world.arxiv.api_requests) == 1
    async with world.runtime.db.session() as s:
        pairs = await AnnouncementRepository(s).for_date(DAY)
    assert {ann.paper.arxiv_id for _, ann in pairs} == FEED_PAPERS
    assert all(ann.paper.primary_category is None for _, ann in pairs)  # the feed does not say


async def _yes() -> bool:
    return True


async def test_chat_commands_while_arxiv_is_down(world: World) -> None:
    """/digest falls back to the latest stored day (or says arXiv is not answering when none is stored);
    /paper says arXiv is not answering, not that the paper does not exist."""
    commands = world.runtime.commands
    caller = Caller("telegram", "1", "private", user_language="en")

    async def say(command: str, args: str = "") -> Any:
        return await commands.handle(caller, command, args, is_admin=_yes)

    await say("subscribe", " ".join(FEED))
    world.arxiv.fail(HARVEST_PATH, 503)
    world.arxiv.fail("/api/query", 503)
    reply = await say("digest")
    assert reply.digest is None
    assert reply.text == t(reply.language, "bot_arxiv_down")

    reply = await say("digest")  # arXiv is back: the day is fetched and stored
    assert reply.digest is not None
    assert reply.digest.announced_on == DAY

    world.clock.now += timedelta(minutes=20)  # old enough to be fetched again; arXiv down again
    world.arxiv.fail(HARVEST_PATH, 503)
    world.arxiv.fail("/api/query", 503)
    reply = await say("digest")
    assert reply.digest is not None
    assert reply.digest.announced_on == DAY  # the latest stored day
    assert len(world.arxiv.requests_to(HARVEST_PATH)) == 3

    world.arxiv.fail("/api/query", 503)
    reply = await say("paper", "1605.08386")
    assert reply.entry is None
    assert reply.text == t(reply.language, "bot_arxiv_down")


# -- Telegram: the scheduled fan-out -------------------------------------------------------------------------


async def _due(world: World, key: int = 1) -> None:
    """Chat ``key`` subscribed, the day harvested, its push time reached."""
    await world.chat(key)
    assert await world.scheduler.harvest_tick() is HarvestStatus.FRESH
    world.clock.now = datetime(2026, 9, 24, 9, tzinfo=UTC)


async def _left_pending_and_not_held_against(world: World, scheduler: Scheduler, key: int = 1) -> None:
    report = await scheduler.deliver_tick()
    assert (report.planned, report.delivered, report.failed, report.later) == (1, 0, 0, 1)
    assert await world.pending() == 1
    chat = await world.stored_chat(key)
    assert (chat.failures, chat.gone_at) == (0, None)
    assert world.notices == []


async def _delivered_later(world: World, key: int = 1, *, resent: int = 0) -> None:
    """The next run (a minute later, through the healthy fake) delivers the day; ``resent``: summaries that
    reached the chat although their answer did not reach the bot, so they went out again."""
    world.clock.now += timedelta(minutes=2)
    report = await world.scheduler.deliver_tick()
    assert (report.delivered, report.failed) == (1, 0)
    assert world.digests_in(key) == ["2026-09-24"] * (1 + resent)
    assert await world.pending() == 0


async def test_telegram_refusing_connections_leaves_the_delivery_pending(world: World) -> None:
    await _due(world)
    refused = Bot(TOKEN, base_url=f"http://127.0.0.1:{closed_port()}/bot")
    await _left_pending_and_not_held_against(world, world.scheduler_with(refused))
    await _delivered_later(world)


async def test_telegram_not_answering_leaves_the_delivery_pending(world: World, silent_port: int) -> None:
    await _due(world)
    request = HTTPXRequest(connect_timeout=0.5, read_timeout=0.5, write_timeout=0.5, pool_timeout=0.5)
    silent = Bot(TOKEN, base_url=f"http://127.0.0.1:{silent_port}/bot", request=request)
    await _left_pending_and_not_held_against(world, world.scheduler_with(silent))
    await _delivered_later(world)


@pytest.mark.parametrize(
    "error",
    [ApiError(502, "Bad Gateway"), ApiError(500, "Internal Server Error"), ApiError(401, "Unauthorized")],
    ids=["502", "500", "401 token revoked"],
)
async def test_telegram_failing_on_its_side_leaves_the_delivery_pending(
    world: World, error: ApiError
) -> None:
    await _due(world)
    world.tg.inject(error, method="sendMessage", times=100)
    await _left_pending_and_not_held_against(world, world.scheduler)
    world.tg.clear_injected()
    await _delivered_later(world)


async def test_telegram_html_error_page_leaves_the_delivery_pending(world: World) -> None:
    """A 502 whose body is a proxy's HTML page, not the Bot API's JSON."""
    await _due(world)
    page = RawAnswer(b"<html><body><h1>502 Bad Gateway</h1></body></html>", 502, "text/html")
    world.tg.inject(ApiError(502, "Bad Gateway"), method="sendMessage")  # the message does not get through
    world.tg.garble("sendMessage", lambda _: page)  # and the answer is the proxy's page
    await _left_pending_and_not_held_against(world, world.scheduler)
    await _delivered_later(world)


async def test_telegram_answer_cut_short_leaves_the_delivery_pending(world: World) -> None:
    await _due(world)
    world.tg.garble("sendMessage", cut_short)  # the summary arrived; its answer is cut off
    await _left_pending_and_not_held_against(world, world.scheduler)
    await _delivered_later(world, resent=1)  # the one message in flight, sent again: never lost


@pytest.mark.parametrize(
    "garble", [not_json, json_cut_in_the_middle, empty_body], ids=["HTML", "cut", "empty"]
)
async def test_telegram_answer_that_is_not_json_leaves_the_delivery_pending(
    world: World, garble: Garble
) -> None:
    await _due(world)
    world.tg.garble("sendMessage", garble)
    await _left_pending_and_not_held_against(world, world.scheduler)


async def test_telegram_429_longer_than_allowed_leaves_the_delivery_for_later(
    world: World,
) -> None:
    """A 429 asking for more than the delivery's longest wait (120 s): pending, the chat tried again in a
    minute, no failure counted."""
    await _due(world)
    world.tg.inject(ApiError.retry_after(600), method="sendMessage", chat_id=1)
    await _left_pending_and_not_held_against(world, world.scheduler)
    assert world.sleeps.delays == []  # not waited out: 600 s is over the limit
    assert (await world.scheduler.deliver_tick()).later == 0  # within the minute: not tried again
    assert len(world.tg.recorded("sendMessage")) == 1
    await _delivered_later(world)


@pytest.mark.parametrize(
    "error", [ApiError.chat_not_found(), ApiError.kicked()], ids=["chat not found", "kicked"]
)
async def test_telegram_chat_gone_deactivates_it_and_keeps_its_subscriptions(
    world: World, error: ApiError
) -> None:
    await _due(world)
    world.tg.inject(error, method="sendMessage", chat_id=1, times=100)
    report = await world.scheduler.deliver_tick()
    assert (report.delivered, report.failed) == (0, 1)
    chat = await world.stored_chat(1)
    assert chat.gone_at is not None
    assert await world.pending() == 0  # the delivery is finished as failed
    async with world.runtime.db.session() as s:
        assert await SubscriptionRepository(s).list(chat.id) == list(FEED)
    assert world.notices == []  # the user's doing, not the bot's: the owner is not told


async def test_telegram_forum_topic_gone_posts_to_the_main_chat(world: World) -> None:
    """The chat's stored topic no longer exists ("message thread not found"): the digest goes to the main
    chat instead, nothing counted against the chat."""
    forum = -1002000000001
    world.tg.make_forum(forum)
    await world.chat(forum, kind="forum", thread_id="999")  # a topic deleted since
    assert await world.scheduler.harvest_tick() is HarvestStatus.FRESH
    world.clock.now = datetime(2026, 9, 24, 9, tzinfo=UTC)
    report = await world.scheduler.deliver_tick()
    assert (report.delivered, report.failed) == (1, 0)
    assert world.digests_in(forum) == ["2026-09-24"]
    assert all("message_thread_id" not in m for m in world.tg.sent(forum))
    rejected = [c for c in world.tg.recorded("sendMessage") if c.status == 400]
    assert rejected  # each message tried its topic first
    chat = await world.stored_chat(forum)
    assert (chat.failures, chat.gone_at) == (0, None)


# -- DeepL ---------------------------------------------------------------------------------------------------


@pytest.fixture
async def translating(database: Database) -> AsyncIterator[tuple[DigestService, GarblingDeepL]]:
    """A DigestService over ``database`` with the fixture day harvested; DeepL may garble its answers."""
    with FakeArxiv() as arxiv, GarblingDeepL(auth_key=DEEPL_KEY) as deepl:
        arxiv_client = ArxivClient(
            rss_base_url=arxiv.rss_base_url,
            api_url=arxiv.api_url,
            gate=RequestGate(min_interval=0),
            timeout=5,
            sleep=Sleeps(),
        )
        translator = PaperTranslator(
            auth_key=DEEPL_KEY,
            cache=TranslationCacheRepository(database),
            server_url=deepl.url,
            sleep=Sleeps(),
            read_timeout=2.0,
            read_timeout_per_kib=0.0,
            max_read_timeout=2.0,
        )
        service = DigestService(
            db=database,
            arxiv=arxiv_client,
            translator=translator,
            taxonomy=load_taxonomy(),
            clock=Clock(datetime(2026, 9, 24, 6, 0, tzinfo=UTC)),
        )
        await service.harvest(FEED)
        try:
            yield service, deepl
        finally:
            await arxiv_client.aclose()
            translator.close()


OPTIONS = DigestOptions(categories=FEED)  # three papers (replacements are off)


async def _cached(db: Database) -> int:
    async with db.session() as s:
        return int((await s.execute(select(func.count()).select_from(tables.translations))).scalar_one())


async def _english_with_a_notice(service: DigestService, deepl: GarblingDeepL) -> None:
    digest = await service.digest(OPTIONS, language="ZH-HANS", announced_on=DAY)
    assert digest.notices == (failure_notice(TranslationFailure.UNAVAILABLE, "ZH-HANS"),)
    assert len(digest.entries) == 3
    assert all(e.translation is None for e in digest.entries)
    assert len(deepl.translate_requests) == 1  # an answer that came is not asked for again
    assert await _cached(service.db) == 0  # nothing of it stored as a translation


async def _translated_next_time(service: DigestService, deepl: GarblingDeepL) -> None:
    digest = await service.digest(OPTIONS, language="ZH-HANS", announced_on=DAY)
    assert digest.notices == ()
    assert all(e.translation is not None for e in digest.entries)
    assert all(e.translation.title.startswith("[ZH-HANS] ") for e in digest.entries if e.translation)


@pytest.mark.parametrize(
    "garble",
    [not_json, json_cut_in_the_middle, empty_body, json_array],
    ids=["HTML page", "JSON cut in the middle", "empty body", "JSON array"],
)
async def test_deepl_answer_not_the_expected_json_gives_english_with_a_notice(
    translating: tuple[DigestService, GarblingDeepL], garble: Garble
) -> None:
    service, deepl = translating
    deepl.garble(garble)
    await _english_with_a_notice(service, deepl)
    await _translated_next_time(service, deepl)


@pytest.mark.parametrize(
    "change",
    [lambda items: items[:-1], lambda items: [], lambda items: [*items, items[0]]],
    ids=["one fewer", "none", "one more"],
)
async def test_deepl_wrong_number_of_translations_is_english_with_a_notice(
    translating: tuple[DigestService, GarblingDeepL], change: Callable[[list[Any]], Any]
) -> None:
    """Nothing is matched up by position with the texts sent: no translation lands on the wrong paper."""
    service, deepl = translating
    deepl.garble(translations(change))
    await _english_with_a_notice(service, deepl)
    await _translated_next_time(service, deepl)


@pytest.mark.parametrize(
    "change",
    [
        lambda items: [{"text": i["text"]} for i in items],
        lambda items: [None for _ in items],
        lambda items: "translations",
    ],
    ids=["without billed_characters", "null items", "not a list"],
)
async def test_deepl_translations_of_the_wrong_shape_give_english(
    translating: tuple[DigestService, GarblingDeepL], change: Callable[[list[Any]], Any]
) -> None:
    service, deepl = translating
    deepl.garble(translations(change))
    await _english_with_a_notice(service, deepl)


async def test_deepl_answer_cut_short_is_counted_and_its_papers_sent_again(
    translating: tuple[DigestService, GarblingDeepL],
) -> None:
    """The connection closes half-way through the answer: a lost answer (DeepL billed it), counted against
    the day, its papers sent again in halves; the digest comes out translated."""
    service, deepl = translating
    deepl.garble(cut_short)
    digest = await service.digest(OPTIONS, language="ZH-HANS", announced_on=DAY)
    assert digest.notices == ()
    assert all(e.translation is not None for e in digest.entries)
    assert [len(r.texts) // 2 for r in deepl.translate_requests] == [3, 2, 1]
    assert service.uncertain_characters > 0
    assert await service.billed_today() >= deepl.billed_characters


async def test_deepl_answering_429_for_ever_gives_english_with_a_notice(
    translating: tuple[DigestService, GarblingDeepL],
) -> None:
    service, deepl = translating
    deepl.fail("/v2/translate", *[429] * 10)
    digest = await service.digest(OPTIONS, language="ZH-HANS", announced_on=DAY)
    assert digest.notices == (failure_notice(TranslationFailure.UNAVAILABLE, "ZH-HANS"),)
    assert all(e.translation is None for e in digest.entries)
    assert len(deepl.translate_requests) == 4  # 1 + 3 retries
    assert deepl.billed_characters == 0


async def test_a_garbled_deepl_answer_counts_against_the_daily_budget(
    translating: tuple[DigestService, GarblingDeepL],
) -> None:
    service, deepl = translating
    deepl.garble(not_json)
    await service.digest(OPTIONS, language="ZH-HANS", announced_on=DAY)
    assert deepl.billed_characters > 0
    assert await service.billed_today() >= deepl.billed_characters


async def test_a_deepl_request_cut_off_by_a_stop_counts_against_the_budget(
    translating: tuple[DigestService, GarblingDeepL],
) -> None:
    service, deepl = translating
    deepl.withhold(1, hold=5.0)  # handled and billed; the answer never comes
    papers = [e.paper for e in (await service.digest(OPTIONS, language="EN-US", announced_on=DAY)).entries]
    task = asyncio.create_task(service.translate(papers, "JA"))
    for _ in range(1000):
        if deepl.translate_requests:
            break
        await asyncio.sleep(0.01)
    assert deepl.translate_requests, "the request never reached DeepL"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(2.5)  # the worker thread gives up on its read (2 s) before the fixture closes
    assert deepl.billed_characters > 0
    assert await service.billed_today() >= deepl.billed_characters


# -- the database --------------------------------------------------------------------------------------------


async def test_sqlite_locked_by_another_process_makes_the_run_wait(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Another process holds SQLite's write lock past the busy timeout (5 s): the harvest's write fails as
    StorageUnavailable, the run is skipped with one log line, and the next run, the lock gone, stores it."""
    async with open_database("sqlite", tmp_path) as db:
        with FakeArxiv() as arxiv:
            clock = Clock(datetime(2026, 9, 24, 6, 0, tzinfo=UTC))
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                arxiv_rss_base_url=arxiv.rss_base_url,
                arxiv_api_url=arxiv.api_url,
                arxiv_min_interval=0,
                arxiv_retries=0,
            )
            async with open_runtime(settings, db=db, clock=clock) as runtime:
                scheduler = Scheduler(
                    db=db, digests=runtime.digests, deliverer=Deliverer(db, {}, clock=clock), clock=clock
                )
                async with db.session() as s:
                    chat = await ChatRepository(s).ensure(
                        "telegram", "1", language="EN-US", timezone="UTC", push_time="09:00"
                    )
                    await SubscriptionRepository(s).add(chat.id, FEED, now=datetime(2026, 9, 1, tzinfo=UTC))
                    await s.commit()
                assert db.sqlite_file is not None
                other = sqlite3.connect(db.sqlite_file, isolation_level=None)
                caplog.set_level(logging.INFO)
                caplog.clear()
                try:
                    other.execute("BEGIN EXCLUSIVE")
                    assert await scheduler.harvest_tick() is None
                    report = await scheduler.deliver_tick()
                    assert (report.planned, report.failed) == (0, 0)
                finally:
                    other.execute("ROLLBACK")
                    other.close()
                down = [r for r in caplog.records if "database unavailable" in r.getMessage()]
                assert len(down) == 1
                assert "locked" in down[0].getMessage()
                assert _tracebacks(caplog) == []
                assert await scheduler.harvest_tick() is HarvestStatus.FRESH
                assert any("reachable again" in r.getMessage() for r in caplog.records)
                assert await runtime.digests.stored_dates() == [DAY]


async def test_postgresql_server_that_never_answers_is_storage_unavailable(
    silent_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that accepts the connection and says nothing: asyncpg gives up after its connect timeout
    (60 s by default; 0.5 s here) and that is StorageUnavailable, one line, like a refused connection."""
    import functools

    import asyncpg

    monkeypatch.setattr(asyncpg, "connect", functools.partial(asyncpg.connect, timeout=0.5))
    db = Database(f"postgresql://arxiv:secret-password@127.0.0.1:{silent_port}/digest")
    try:
        with pytest.raises(StorageUnavailable, match="is unavailable: TimeoutError") as info:
            await db.ping()
        assert "\n" not in str(info.value)
        assert "secret-password" not in str(info.value)
    finally:
        await db.dispose()
