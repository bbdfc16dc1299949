"""The Discord rows of the fault matrix (docs/FAULTS.md): the cells no other test covered, one test (or
parameter) per cell.

Discord answers wrongly in one way (a refused or dropped connection, silence, 429, 5xx, 401, 403 50013 /
50001 / 50007, 404 10003, a 400 of ours, a body that is not JSON or is cut short, a thread or a summary gone
meanwhile, an interaction answered late or twice, a gateway session closed, resumed or invalidated, a start
that cannot succeed) and the test asserts the documented outcome: the delivery left pending and not held
against the chat, waited out, counted against the chat and the owner told at the fifth, the chat gone at
once, one log line, the process stopping with one line. The real discord.py, ``DiscordSink`` and
``DiscordBot`` talk to the fake Discord of ``tests/fakes/discord_server.py``; the scheduled fan-out runs
through the real ``Scheduler`` and ``Deliverer`` on SQLite and PostgreSQL (the ``database`` fixture).

:class:`GarblingDiscord` extends the fake here without changing it: chosen answers are replaced by raw bytes
(a body that is not JSON, JSON cut in the middle, an empty body, a body shorter than its Content-Length)
after the fake has handled the request, as a proxy in front of Discord, or Discord answering badly, would;
and an action can run right after a chosen request (permissions revoked once the summary is out).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import discord
import pytest
from aiohttp import web

from arxiv_digest.bot.delivery import Deliverer, PlatformFailed
from arxiv_digest.bot.digests import HarvestStatus
from arxiv_digest.bot.discord.app import DiscordBot, apply_endpoints
from arxiv_digest.bot.discord.sink import DiscordSink
from arxiv_digest.bot.runtime import Runtime, open_runtime, owner_notifier
from arxiv_digest.bot.scheduler import Scheduler, TickReport
from arxiv_digest.bot.settings import Settings
from arxiv_digest.storage.db import Database
from arxiv_digest.storage.models import Chat
from arxiv_digest.storage.repositories import ChatRepository, LedgerRepository, SubscriptionRepository
from tests.doubles import Clock, RawAnswer, Sleeps
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.discord_server import (
    API_PREFIX,
    ApiError,
    Failure,
    FakeDiscord,
    FakeUser,
    Permission,
)

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GfAkEx.faults-discord-bot-token"
APP_ID = 123456789012345678  # the token's first part is base64 of it
GUILD = 730000000000000001
TEXT = 730000000000000011
ADMIN = 830000000000000001  # Manage Channels
MEMBER = 830000000000000002
DM_USER = 830000000000000003
OWNER = 830000000000000004  # OWNER_CHAT_ID=discord:<this user>
FEED = ("cs.AI", "cs.CL", "cs.LG", "stat.ML")  # the fixture feed's categories
DAY = date(2026, 9, 24)  # the fixture feed's announcement date (a Thursday)
HEADER = "**cs.AI, cs.CL, cs.LG, stat.ML · 2026-09-24**"  # how the fixture digest's summary starts
CREATE_MESSAGE = "POST /channels/{channel_id}/messages"
START_THREAD = "POST /channels/{channel_id}/messages/{message_id}/threads"
CALLBACK = "POST /interactions/{interaction_id}/{interaction_token}/callback"
FOLLOWUP = "POST /webhooks/{application_id}/{interaction_token}"
VIEW_ONLY = int(Permission.VIEW_CHANNEL | Permission.READ_MESSAGE_HISTORY)


# -- helpers -------------------------------------------------------------------------------------------------


# the fake's own answer (status, JSON payload) -> the raw answer to send instead
Garble = Callable[[int, Any], RawAnswer]


def not_json(status: int, _: Any) -> RawAnswer:
    """A proxy's HTML page, with the status Discord gave."""
    page = b"<html><body><h1>Service temporarily unavailable</h1></body></html>"
    return RawAnswer(page, status, "text/html")


def json_cut_in_the_middle(status: int, payload: Any) -> RawAnswer:
    body = json.dumps(payload).encode()
    return RawAnswer(body[: len(body) // 2], status)


def empty_body(status: int, _: Any) -> RawAnswer:
    return RawAnswer(b"", status)


def cut_short(status: int, payload: Any) -> RawAnswer:
    """The headers and half the body, then the connection closes (Content-Length promised more)."""
    body = json.dumps(payload).encode()
    return RawAnswer(body[: len(body) // 2], status, length=len(body))


class GarblingDiscord(FakeDiscord):
    """A FakeDiscord whose next answers on a route can be replaced by raw bytes (:meth:`garble`): the
    request is handled first (a message is stored as sent), as by a Discord whose answer is mangled on its
    way back. :meth:`after` runs an action once, right after the next successful request on a route."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.garbles: dict[str, deque[Garble]] = {}
        self.actions: dict[str, deque[Callable[[], None]]] = {}

    def garble(self, route: str, *answers: Garble) -> None:
        with self._lock:
            self.garbles.setdefault(route, deque()).extend(answers)

    def after(self, route: str, action: Callable[[], None]) -> None:
        with self._lock:
            self.actions.setdefault(route, deque()).append(action)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        response = await super()._handle(request)
        if not isinstance(response, web.Response):  # the gateway's WebSocket, a file
            return response
        with self._lock:
            last = self._requests[-1] if self._requests else None
            if last is None or (last.method, API_PREFIX + last.path) != (request.method, request.path):
                return response
            garbles = self.garbles.get(last.route)
            garble = garbles.popleft() if garbles else None
            actions = self.actions.get(last.route)
            if actions and 200 <= last.status < 300:
                actions.popleft()()
        if garble is None:
            return response
        assert isinstance(response.body, bytes)
        answer = garble(response.status, json.loads(response.body) if response.body else None)
        raw = web.StreamResponse(
            status=answer.status, headers={"Via": "1.1 google", "Content-Type": answer.content_type}
        )
        raw.content_length = answer.length or len(answer.body)
        await raw.prepare(request)
        await raw.write(answer.body)
        if answer.length is not None and request.transport is not None:
            request.transport.abort()  # the rest of the body never comes
            return raw
        await raw.write_eof()
        return raw


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


class _FastAsyncio:
    """``asyncio`` as discord/http.py sees it, with its retry sleeps recorded and skipped (discord.py waits
    1, 3, 5, 7 and 9 real seconds between the tries of a 500/502/504)."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    async def sleep(self, delay: float, result: Any = None) -> Any:
        if delay >= 0.5:  # not the fake's scaled-down bucket waits
            self.delays.append(delay)
        await asyncio.sleep(0)
        return result


@pytest.fixture
def discord_retries(monkeypatch: pytest.MonkeyPatch) -> _FastAsyncio:
    fast = _FastAsyncio()
    monkeypatch.setattr(discord.http, "asyncio", fast)
    return fast


def plain(text: str) -> str:
    """Discord Markdown as shown: escapes dropped, zero-width spaces (neutralised mentions) removed."""
    return re.sub(r"\\(.)", r"\1", text).replace("\u200b", "")


def _tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Our own log records at WARNING or above that carry a traceback."""
    return [
        r
        for r in caplog.records
        if r.exc_info and r.levelno >= logging.WARNING and r.name.startswith("arxiv_digest")
    ]


# -- the scheduled fan-out -----------------------------------------------------------------------------------


@dataclass
class World:
    """The scheduler and the delivery over ``database``, a Discord sink on a logged-in discord.py client (REST
    only, as the sink needs no gateway cache), the fixture day harvested from the fake arXiv. The owner is
    ``OWNER`` on Discord: their notices arrive in their DM with the bot."""

    fake: GarblingDiscord
    arxiv: FakeArxiv
    runtime: Runtime
    client: discord.Client
    scheduler: Scheduler
    clock: Clock
    sleeps: Sleeps
    caplog: pytest.LogCaptureFixture
    chats: dict[int, Chat] = field(default_factory=dict)

    @property
    def db(self) -> Database:
        return self.runtime.db

    async def chat(self, key: int, kind: str = "text", *, guild: int | None = GUILD) -> Chat:
        """A chat following the fixture feed's categories, due at 09:00 UTC on the fixture day."""
        async with self.db.session() as s:
            repo = ChatRepository(s)
            chat = await repo.ensure(
                "discord",
                str(key),
                language="EN-US",
                timezone="UTC",
                push_time="09:00",
                kind=kind,
                guild_key=None if guild is None else str(guild),
                title=f"chat {key}",
            )
            await SubscriptionRepository(s).add(chat.id, FEED, now=datetime(2026, 9, 1, tzinfo=UTC))
            chat = await repo.update(chat.id, start_day=DAY, include_replacements=True)
            await s.commit()
        self.chats[key] = chat
        return chat

    async def due(self, key: int = TEXT, kind: str = "text", *, guild: int | None = GUILD) -> Chat:
        """Chat ``key`` subscribed, the day harvested, its push time reached."""
        chat = await self.chat(key, kind, guild=guild)
        assert await self.scheduler.harvest_tick() is HarvestStatus.FRESH
        self.clock.now = datetime(2026, 9, 24, 9, tzinfo=UTC)
        return chat

    async def stored_chat(self, key: int = TEXT) -> Chat:
        async with self.db.session() as s:
            chat = await ChatRepository(s).get("discord", str(key))
        assert chat is not None
        return chat

    async def pending(self) -> int:
        async with self.db.session() as s:
            return len(await LedgerRepository(s).pending())

    async def ledger_sizes(self) -> tuple[int, int]:
        """(summary messages, footnote messages) the test's delivery (the first and only one) plans."""
        async with self.db.session() as s:
            ledger = LedgerRepository(s)
            rows = await ledger.messages(1)
        return len([r for r in rows if r.role == "summary"]), len([r for r in rows if r.role == "footnote"])

    def posted(self, channel: int = TEXT) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The digest's messages the fake holds for ``channel`` (and its threads): summaries, footnotes."""
        found = self.fake.messages(channel, include_threads=True)
        summaries = [m for m in found if m["content"].startswith(HEADER)]
        footnotes = [m for m in found if m["embeds"]]
        return summaries, footnotes

    def owner_notices(self) -> list[str]:
        return [m["content"] for m in self.fake.messages(self.fake.dm_channel(OWNER))]

    async def tick(self) -> TickReport:
        return await self.scheduler.deliver_tick()


async def _left_pending_and_not_held_against(world: World, key: int = TEXT) -> None:
    report = await world.tick()
    assert (report.planned, report.delivered, report.failed, report.later) == (1, 0, 0, 1)
    assert await world.pending() == 1
    chat = await world.stored_chat(key)
    assert (chat.failures, chat.gone_at) == (0, None)
    assert world.owner_notices() == []
    assert _tracebacks(world.caplog) == []


async def _delivered_later(world: World, key: int = TEXT, *, resent: int = 0) -> None:
    """The next run (two minutes later, Discord healthy again) delivers the day: every planned message once;
    ``resent``: summaries that reached Discord although their answer did not reach the bot, so they went out
    again."""
    world.clock.now += timedelta(minutes=2)
    report = await world.tick()
    assert (report.delivered, report.failed) == (1, 0)
    assert await world.pending() == 0
    planned_summaries, planned_footnotes = await world.ledger_sizes()
    summaries, footnotes = world.posted(key)
    assert len(summaries) == planned_summaries + resent
    assert len(footnotes) == planned_footnotes
    assert world.fake.pings() == []


@pytest.fixture
async def world(database: Database, caplog: pytest.LogCaptureFixture) -> AsyncIterator[World]:
    caplog.set_level(logging.INFO)
    fake = GarblingDiscord(token=TOKEN, application_id=APP_ID, scale=50)
    with (
        fake,
        FakeArxiv() as arxiv,
        pytest.MonkeyPatch.context() as patch,
    ):
        fake.add_guild(GUILD, name="Physics")
        fake.add_text_channel(GUILD, TEXT, name="papers")
        fake.add_user(DM_USER, username="carol", global_name="Carol")
        fake.add_user(OWNER, username="olga", global_name="Olga")
        patch.setattr(discord.http.Route, "BASE", fake.api_base)
        clock = Clock(datetime(2026, 9, 24, 6, 0, tzinfo=UTC))  # Thursday 02:00 EDT: the 24th's batch is out
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            arxiv_rss_base_url=arxiv.rss_base_url,
            arxiv_api_url=arxiv.api_url,
            arxiv_min_interval=0,
            arxiv_retries=0,
            arxiv_timeout=5,
        )
        client = discord.Client(intents=discord.Intents.default(), max_ratelimit_timeout=30)
        async with open_runtime(settings, db=database, clock=clock) as runtime:
            await client.login(TOKEN)
            try:
                sleeps = Sleeps()
                deliverer = Deliverer(database, {"discord": DiscordSink(client)}, clock=clock, sleep=sleeps)
                scheduler = Scheduler(
                    db=database,
                    digests=runtime.digests,
                    deliverer=deliverer,
                    clock=clock,
                    notify_owner=owner_notifier(deliverer, "discord", str(OWNER)),
                )
                yield World(fake, arxiv, runtime, client, scheduler, clock, sleeps, caplog)
            finally:
                await client.close()
        assert fake.internal_errors == []
        assert fake.pings() == []


# -- the fan-out: Discord unreachable or failing on its side -----------------------------------------------


@contextlib.contextmanager
def api_at(url: str) -> Iterator[None]:
    """discord.py's requests go to ``url`` meanwhile (the client stays logged in)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(discord.http.Route, "BASE", url)
        yield


async def test_discord_refusing_connections_leaves_the_delivery_pending(world: World) -> None:
    await world.due()
    with api_at(f"http://127.0.0.1:{closed_port()}/api/v10"):
        await _left_pending_and_not_held_against(world)
    await _delivered_later(world)


async def test_discord_not_answering_leaves_the_delivery_pending(
    world: World, silent_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """No answer: the sink gives an operation ``timeout`` seconds (90 by default; discord.py sets none, and
    aiohttp's default would hold each request 5 minutes); the test shortens it to 0.5 s."""
    await world.due()
    sink = world.scheduler.deliverer.sinks["discord"]
    assert isinstance(sink, DiscordSink)
    assert sink.timeout == 90
    sink.timeout = 0.5
    started = time.monotonic()
    with api_at(f"http://127.0.0.1:{silent_port}/api/v10"):
        await _left_pending_and_not_held_against(world)
    assert time.monotonic() - started < 10
    assert any("no answer from Discord within 0.5 s" in r.getMessage() for r in caplog.records)
    sink.timeout = 90
    await _delivered_later(world)


async def test_discord_dropping_the_connection_leaves_the_delivery_pending(world: World) -> None:
    """The connection closes before any answer (the message not taken): pending, sent at the next run."""
    await world.due()
    world.fake.inject(Failure.dropped(), route=CREATE_MESSAGE, times=100)
    await _left_pending_and_not_held_against(world)
    world.fake.clear_injected()
    await _delivered_later(world)


@pytest.mark.parametrize(
    ("failure", "tries", "waits"),
    [
        (Failure.server_error(500), 5, [1, 3, 5, 7, 9]),
        (Failure.server_error(502), 5, [1, 3, 5, 7, 9]),
        (Failure.server_error(503), 1, []),
        (Failure.error(ApiError.unauthorized()), 1, []),
    ],
    ids=["500", "502", "503", "401-token-revoked"],
)
async def test_discord_failing_on_its_side_leaves_the_delivery_pending(
    world: World, discord_retries: _FastAsyncio, failure: Failure, tries: int, waits: list[int]
) -> None:
    """discord.py itself tries a 500, 502, 504 five times, waiting 1, 3, 5, 7 and 9 s after each (25 s in
    all); a 503 or a 401 once."""
    await world.due()
    world.fake.inject(failure, route=CREATE_MESSAGE, times=100)
    await _left_pending_and_not_held_against(world)
    assert discord_retries.delays == waits
    assert len(world.fake.recorded(CREATE_MESSAGE)) == tries
    world.fake.clear_injected()
    await _delivered_later(world)


async def test_discord_html_error_page_leaves_the_delivery_pending(world: World) -> None:
    """A 503 whose body is a proxy's HTML page, not Discord's JSON."""
    await world.due()
    world.fake.inject(Failure.server_error(503), route=CREATE_MESSAGE)  # the message does not get through
    world.fake.garble(CREATE_MESSAGE, not_json)  # and the answer is the proxy's page
    await _left_pending_and_not_held_against(world)
    await _delivered_later(world)


async def test_discord_answer_cut_short_leaves_the_delivery_pending(world: World) -> None:
    await world.due()
    world.fake.garble(CREATE_MESSAGE, cut_short)  # the summary arrived; its answer is cut off
    await _left_pending_and_not_held_against(world)
    await _delivered_later(world, resent=1)  # the one message in flight, sent again: never lost


@pytest.mark.parametrize(
    "garble", [not_json, json_cut_in_the_middle, empty_body], ids=["HTML", "cut-JSON", "empty"]
)
async def test_discord_answer_that_is_not_json_leaves_the_delivery_pending(
    world: World, garble: Garble
) -> None:
    await world.due()
    world.fake.garble(CREATE_MESSAGE, garble)  # the summary arrived; its answer cannot be read
    await _left_pending_and_not_held_against(world)
    await _delivered_later(world, resent=1)


# -- the fan-out: 429 ----------------------------------------------------------------------------------------


async def test_discord_429_over_30_s_is_waited_out_by_the_delivery(world: World) -> None:
    """discord.py sleeps through a 429 of up to 30 s itself (``max_ratelimit_timeout``); a longer one reaches
    the delivery as ``RateLimited``, which waits it out (at most 120 s, 3 times a message) and sends on."""
    await world.due()
    world.fake.inject(Failure.rate_limited(60), route=CREATE_MESSAGE, channel_id=TEXT)
    report = await world.tick()
    assert (report.delivered, report.failed, report.later) == (1, 0, 0)
    assert world.sleeps.delays == [60.0]
    planned_summaries, planned_footnotes = await world.ledger_sizes()
    summaries, footnotes = world.posted()
    assert (len(summaries), len(footnotes)) == (planned_summaries, planned_footnotes)


async def test_discord_429_longer_than_allowed_leaves_the_delivery_for_later(world: World) -> None:
    """A 429 asking for more than the delivery's longest wait (120 s): pending, the chat tried again in a
    minute, no failure counted."""
    await world.due()
    world.fake.inject(Failure.rate_limited(600), route=CREATE_MESSAGE, channel_id=TEXT)
    await _left_pending_and_not_held_against(world)
    assert world.sleeps.delays == []  # not waited out: 600 s is over the limit
    assert (await world.tick()).later == 0  # within the minute: not tried again
    assert len(world.fake.recorded(CREATE_MESSAGE)) == 1
    await _delivered_later(world)


async def test_a_429_that_is_not_discords_is_waited_out_then_left_for_later(world: World) -> None:
    """A 429 with an HTML page and no Retry-After (Cloudflare's, not Discord's JSON): discord.py raises it at
    once; the sink assumes 60 s, which the delivery waits out 3 times, then leaves the delivery for later,
    no failure counted, nothing sent twice."""
    await world.due()
    page = RawAnswer(b"<html><body>Error 1015: You are being rate limited</body></html>", 429, "text/html")
    world.fake.inject(Failure.rate_limited(600), route=CREATE_MESSAGE, channel_id=TEXT, times=4)
    world.fake.garble(CREATE_MESSAGE, *[lambda status, payload: page] * 4)
    await _left_pending_and_not_held_against(world)
    assert world.sleeps.delays == [60.0, 60.0, 60.0]
    assert len(world.fake.recorded(CREATE_MESSAGE)) == 4
    await _delivered_later(world)


# -- the fan-out: the chat refuses the bot -------------------------------------------------------------------


def _no_posting_after_the_summary(world: World) -> None:
    """Once the summary is out and its thread started, a server admin takes Send Messages (and Send Messages
    in Threads) from the bot: each footnote meets 403 50013 in the thread, then in the channel."""
    world.fake.after(START_THREAD, lambda: world.fake.set_bot_permissions(TEXT, VIEW_ONLY))


def _no_access(world: World) -> None:
    world.fake.set_bot_permissions(TEXT, int(Permission.SEND_MESSAGES))  # no View Channel: 403 50001


def _deleted(world: World) -> None:
    world.fake.delete_channel(TEXT)  # 404 10003 (the bot missed the gateway's CHANNEL_DELETE)


def _our_400(world: World) -> None:
    invalid = ApiError.invalid_form({"content": {"_errors": [{"code": "X", "message": "ours"}]}})
    world.fake.inject(Failure.error(invalid), route=CREATE_MESSAGE, channel_id=TEXT, times=100)


@pytest.mark.parametrize(
    ("refuse", "summary_sent"),
    [(_no_posting_after_the_summary, True), (_no_access, False), (_deleted, False), (_our_400, False)],
    ids=["403-50013-on-a-footnote", "403-50001", "404-10003", "400-50035-ours"],
)
async def test_discord_refusing_the_chat_counts_failures_and_the_fifth_deactivates_it(
    world: World, refuse: Callable[[World], None], summary_sent: bool
) -> None:
    """``ChatGone(at_once=False)`` (a server admin may give the access back) and a 400 (our bug): the
    delivery stays pending and counts a failure; the chat is tried again after 2, 4, 8 and 16 minutes,
    deactivated at the 5th failure in a row, and the owner is told once, in their DM with the bot. What was
    sent is not sent again: the summary stays the one the footnotes will go under."""
    await world.due()
    refuse(world)
    tries = [world.clock.now + timedelta(minutes=m) for m in (0, 2, 6, 14, 30)]
    for n, at in enumerate(tries, start=1):
        world.clock.now = at - timedelta(seconds=30)
        if n > 1:  # not before its time
            assert (await world.tick()).failed == 0
        world.clock.now = at
        report = await world.tick()
        assert report.failed == 1, n
        assert (await world.stored_chat()).failures == n
        assert await world.pending() == 1
    chat = await world.stored_chat()
    assert chat.gone_at is not None
    (notice,) = world.owner_notices()
    assert f"chat discord:{TEXT} (chat {TEXT}) was deactivated after 5 failed deliveries" in plain(notice)
    summaries, footnotes = world.posted()
    assert (len(summaries), footnotes) == (1 if summary_sent else 0, [])
    world.clock.now += timedelta(hours=1)
    assert (await world.tick()).failed == 0  # gone: left alone
    async with world.db.session() as s:
        assert await SubscriptionRepository(s).list(chat.id) == list(FEED)  # kept
    if refuse is _our_400:
        assert len([r for r in _tracebacks(world.caplog) if "delivery 1 failed" in r.getMessage()]) == 5
    else:
        assert _tracebacks(world.caplog) == []  # expected: a warning line each, no traceback


async def test_discord_chat_given_back_its_access_resumes_under_the_same_summary(world: World) -> None:
    """403 50013 after the summary, three failures; a server admin gives the permissions back: the next try
    posts the footnotes in the summary's thread (the summary once) and resets the count."""
    await world.due()
    _no_posting_after_the_summary(world)
    for minutes in (0, 2, 4):
        world.clock.now += timedelta(minutes=minutes)
        assert (await world.tick()).failed == 1
    assert (await world.stored_chat()).failures == 3
    world.fake.set_bot_permissions(TEXT, None)
    world.clock.now += timedelta(minutes=8)
    report = await world.tick()
    assert (report.delivered, report.failed) == (1, 0)
    assert (await world.stored_chat()).failures == 0
    _, planned_footnotes = await world.ledger_sizes()
    (summary,) = world.posted()[0]
    (thread,) = world.fake.threads(TEXT)
    assert thread["id"] == summary["id"]
    assert len(world.fake.messages(int(thread["id"]))) == planned_footnotes
    assert world.owner_notices() == []


async def test_a_discord_user_who_closed_their_dms_is_gone_at_once(world: World) -> None:
    """403 50007 (the user blocked the bot, left every shared server or closed their DMs: their own choice):
    the chat is gone at once, the delivery finished as failed, its subscriptions kept, the owner not told."""
    dm = world.fake.dm_channel(DM_USER)
    await world.due(dm, "dm", guild=None)
    world.fake.block_dms(DM_USER)
    report = await world.tick()
    assert (report.delivered, report.failed) == (0, 1)
    chat = await world.stored_chat(dm)
    assert chat.gone_at is not None
    assert chat.failures == 0
    assert await world.pending() == 0
    async with world.db.session() as s:
        assert await SubscriptionRepository(s).list(chat.id) == list(FEED)
    assert world.owner_notices() == []
    assert world.fake.messages(dm) == []
    assert _tracebacks(world.caplog) == []


# -- the fan-out: a thread, a forum post or a summary gone meanwhile -----------------------------------------


async def test_a_summary_deleted_before_its_thread_was_started_gets_its_footnotes_in_the_channel(
    world: World,
) -> None:
    """The connection drops as the summary's thread is started and Discord fails the next message (the run
    stops there, as a crash would); a moderator deletes the summary before the next run: the footnotes
    cannot start its thread (404 10008) and go into the channel, as replies that do not need the summary to
    exist. Each once; nothing counted against the chat."""
    await world.due()
    world.fake.inject(Failure.dropped(), route=START_THREAD)
    world.fake.after(
        CREATE_MESSAGE, lambda: world.fake.inject(Failure.server_error(503), route=CREATE_MESSAGE)
    )
    await _left_pending_and_not_held_against(world)
    (summary,) = world.posted()[0]
    await world.client.http.delete_message(TEXT, summary["id"])
    world.clock.now += timedelta(minutes=2)
    report = await world.tick()
    assert (report.delivered, report.failed) == (1, 0)
    _, planned_footnotes = await world.ledger_sizes()
    summaries, footnotes = world.posted()
    assert summaries == []
    assert world.fake.threads(TEXT) == []
    assert len(footnotes) == planned_footnotes
    assert {int(m["channel_id"]) for m in footnotes} == {TEXT}
    # each footnote tries the thread, then to start it again
    assert [r.status for r in world.fake.recorded(START_THREAD)] == [0] + [404] * planned_footnotes
    assert (await world.stored_chat()).failures == 0


# -- interactions --------------------------------------------------------------------------------------------

PAPER = "2403.19243"
LOADING = 1 << 7


class FakeClock:
    """The fake Discord's monotonic clock, which decides whether an interaction is answered within 3 s."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


@dataclass
class Bot:
    """A started ``DiscordBot`` (gateway and commands) on the real runtime pieces, against the fakes."""

    fake: GarblingDiscord
    bot: DiscordBot
    runtime: Runtime
    clock: FakeClock
    caplog: pytest.LogCaptureFixture
    failures: list[PlatformFailed]

    def answered(self, iid: int) -> bool:
        callbacks = self.fake.callbacks(iid)
        if not callbacks:
            return False
        if callbacks[0]["type"] == 5:  # deferred: answered once the "thinking" message is filled in
            original = self.fake.original(iid)
            return original is not None and not int(original["flags"]) & LOADING
        return True

    async def answer(self, iid: int) -> str:
        await self.fake.wait_for(lambda: self.answered(iid), timeout=15)
        original = self.fake.original(iid)
        assert original is not None
        return plain(original["content"] or "") + "".join(
            plain(e.get("title", "")) for e in original.get("embeds") or []
        )

    async def settled(self, seconds: float = 0.5) -> None:
        """Let what the bot does with an interaction finish."""
        await asyncio.sleep(seconds)

    def warnings(self, needle: str) -> list[logging.LogRecord]:
        return [
            r
            for r in self.caplog.records
            if r.name.startswith("arxiv_digest") and r.levelno >= logging.WARNING and needle in r.getMessage()
        ]

    async def subscriptions(self, key: int) -> list[str]:
        async with self.runtime.db.session() as s:
            chat = await ChatRepository(s).get("discord", str(key))
            return [] if chat is None else await SubscriptionRepository(s).list(chat.id)


def _bot_settings(arxiv: FakeArxiv) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url="sqlite:///unused.db",
        arxiv_rss_base_url=arxiv.rss_base_url,
        arxiv_api_url=arxiv.api_url,
        arxiv_min_interval=0,
        arxiv_timeout=5,
    )


@pytest.fixture
def discord_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    """``apply_endpoints`` changes discord.py's class attributes: put them back after each test."""
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    )


@pytest.fixture
async def bot(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, discord_endpoints: None
) -> AsyncIterator[Bot]:
    caplog.set_level(logging.DEBUG)
    clock = FakeClock()
    fake = GarblingDiscord(token=TOKEN, application_id=APP_ID, scale=20, clock=clock)
    with (
        fake,
        FakeArxiv() as arxiv,
    ):
        fake.add_guild(GUILD, name="Physics")
        fake.add_text_channel(GUILD, TEXT, name="papers")
        fake.add_member(GUILD, FakeUser(ADMIN, "ada", "Ada"), permissions=int(Permission.MANAGE_CHANNELS))
        fake.add_member(GUILD, FakeUser(MEMBER, "bob", "Bob"))
        fake.add_user(DM_USER, username="carol", global_name="Carol")
        arxiv.add_paper(PAPER, title="Efficient Test-Time Adaptation", abstract="We adapt. It works.")
        apply_endpoints(fake.api_base, fake.gateway_url)
        db = Database(f"sqlite:///{tmp_path / 'bot.db'}")
        try:
            async with open_runtime(_bot_settings(arxiv), db=db) as runtime:
                discord_bot = DiscordBot(
                    token=TOKEN, commands=runtime.commands, db=db, guild_ready_timeout=0.05
                )
                failures: list[PlatformFailed] = []
                discord_bot.on_failure = failures.append
                await discord_bot.start()
                try:
                    yield Bot(fake, discord_bot, runtime, clock, caplog, failures)
                finally:
                    await discord_bot.stop()
        finally:
            await db.dispose()
        assert fake.internal_errors == []
        assert fake.pings() == []
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert TOKEN.split(".")[-1] not in logged


@pytest.mark.parametrize(
    ("command", "options", "done"),
    [("help", None, True), ("subscribe", {"categories": "cs.LG"}, False)],
    ids=["quick-command", "deferred-command"],
)
async def test_an_interaction_answered_after_three_seconds_is_one_log_line(
    bot: Bot, command: str, options: dict[str, Any] | None, done: bool
) -> None:
    """Discord refuses an answer (or a "thinking…") that comes more than 3 s after the interaction: 404
    10062. One warning line, no traceback, nothing sent instead; the user sees Discord's "The application
    did not respond" and may run the command again. A command deferred first did nothing."""
    iid = bot.fake.slash(GUILD, TEXT, ADMIN, command, options)
    bot.clock.offset += 5  # the bot's answer reaches Discord 5 s after the interaction
    await bot.fake.wait_for(lambda: bool(bot.warnings("expired before its answer")), timeout=10)
    await bot.settled()
    assert bot.fake.callbacks(iid) == []
    assert [r.status for r in bot.fake.recorded(CALLBACK)] == [404]
    assert len(bot.warnings("expired before its answer")) == 1
    assert _tracebacks(bot.caplog) == []
    if command == "subscribe":
        assert await bot.subscriptions(TEXT) == []
    bot.clock.offset = 0
    assert "/subscribe" in await bot.answer(bot.fake.slash(GUILD, TEXT, MEMBER, "help"))  # carries on


async def test_an_interaction_already_answered_elsewhere_is_logged_and_left(bot: Bot) -> None:
    """400 40060: the interaction was acknowledged already. This process never answers twice (discord.py
    knows what it answered), so another process with the same token took it: logged as a bug (ERROR with
    its traceback, to be seen), nothing more sent; the bot carries on."""
    already = ApiError(400, 40060, "Interaction has already been acknowledged.")
    bot.fake.inject(Failure.error(already), route=CALLBACK)
    iid = bot.fake.slash(GUILD, TEXT, MEMBER, "list")
    await bot.fake.wait_for(lambda: bool(bot.warnings("failed")), timeout=10)
    await bot.settled()
    assert bot.fake.callbacks(iid) == []
    assert [r.status for r in bot.fake.recorded(CALLBACK)] == [400]  # not tried again, nothing else said
    (logged,) = bot.warnings("failed")
    assert logged.levelno == logging.ERROR
    assert logged.exc_info is not None
    assert "/subscribe" in await bot.answer(bot.fake.slash(GUILD, TEXT, MEMBER, "help"))


@pytest.fixture
def webhook_retries(monkeypatch: pytest.MonkeyPatch) -> _FastAsyncio:
    """discord.py's webhook adapter (interaction answers and follow-ups) with its waits recorded, skipped."""
    fast = _FastAsyncio()
    monkeypatch.setattr(discord.webhook.async_, "asyncio", fast)
    return fast


@pytest.mark.parametrize(
    ("failure", "times", "logged"),
    [
        (Failure.dropped(), 1, "answer not sent"),
        (Failure.error(ApiError.unknown_webhook()), 1, "expired before its answer"),
        (Failure.server_error(503), 5, "answer not sent"),
    ],
    ids=["dropped", "10015-token-expired", "5xx-five-times"],
)
async def test_a_follow_up_that_fails_is_one_log_line(
    bot: Bot, webhook_retries: _FastAsyncio, failure: Failure, times: int, logged: str
) -> None:
    """/paper is deferred ("thinking…"), then answered by a follow-up; the follow-up fails for good. The
    user is left with the "thinking…" message (Discord cannot be asked to say more) and may ask again; the
    log gets one warning line, no traceback; the bot carries on."""
    bot.fake.inject(failure, route=FOLLOWUP, times=times)
    iid = bot.fake.slash(GUILD, TEXT, MEMBER, "paper", {"id": PAPER})
    await bot.fake.wait_for(lambda: len(bot.fake.recorded(FOLLOWUP)) >= times, timeout=10)
    await bot.settled()
    assert bot.fake.callbacks(iid)[0]["type"] == 5  # deferred
    assert not bot.answered(iid)
    (line,) = bot.warnings("")  # one line, a warning, no traceback
    assert (line.levelno, line.exc_info) == (logging.WARNING, None)
    assert logged in line.getMessage()
    answer = await bot.answer(bot.fake.slash(GUILD, TEXT, MEMBER, "paper", {"id": PAPER}))
    assert "EFFICIENT TEST-TIME ADAPTATION" in answer.upper()


@pytest.mark.parametrize(
    ("failure", "waits"),
    [
        (Failure.server_error(503), [1]),
        (Failure.server_error(500), [1]),
        (Failure.rate_limited(600), [600]),
    ],
    ids=["503", "500", "429-of-10-minutes"],
)
async def test_a_follow_up_that_meets_a_5xx_or_a_429_is_sent_again(
    bot: Bot, webhook_retries: _FastAsyncio, failure: Failure, waits: list[float]
) -> None:
    """discord.py's webhook adapter (interaction answers and follow-ups) sends again after a 5xx (after 1, 3,
    5, 7 s) and sleeps through a 429 of any length: ``max_ratelimit_timeout`` does not apply there, so a
    long 429 holds the command's task (not the fan-out) until the answer goes. The answer arrives once."""
    bot.fake.inject(failure, route=FOLLOWUP)
    iid = bot.fake.slash(GUILD, TEXT, MEMBER, "paper", {"id": PAPER})
    assert "EFFICIENT TEST-TIME ADAPTATION" in (await bot.answer(iid)).upper()
    assert webhook_retries.delays == waits
    assert [r.status for r in bot.fake.recorded(FOLLOWUP)] == [failure.status, 200]
    assert len(bot.fake.followups(iid)) == 1
    assert _tracebacks(bot.caplog) == []


# -- the gateway ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "drop",
    [
        lambda fake: fake.close_gateway(4000, "Unknown error."),
        lambda fake: fake.close_gateway(1001, "Going away."),
        lambda fake: fake.reconnect(),
        lambda fake: fake.invalidate_sessions(resumable=True),
    ],
    ids=["close-4000", "close-1001", "op7-reconnect", "op9-resumable"],
)
async def test_a_gateway_session_dropped_is_resumed_and_nothing_is_missed(
    bot: Bot, drop: Callable[[FakeDiscord], None]
) -> None:
    """discord.py reconnects and RESUMEs on its own: an interaction pushed meanwhile is replayed and
    answered; nothing is reported, the process goes on."""
    drop(bot.fake)
    iid = bot.fake.slash(GUILD, TEXT, MEMBER, "help")  # while the session is away
    assert "/subscribe" in await bot.answer(iid)
    await bot.fake.wait_for(lambda: len(bot.fake.resume_payloads()) == 1 and bot.fake.connected(), 10)
    assert len(bot.fake.identify_payloads()) == 1
    assert bot.failures == []
    assert _tracebacks(bot.caplog) == []


async def test_an_invalid_session_identifies_again(bot: Bot) -> None:
    """op 9 INVALID_SESSION, not resumable: discord.py IDENTIFYs anew; commands are answered again."""
    bot.fake.invalidate_sessions(resumable=False)
    await bot.fake.wait_for(lambda: len(bot.fake.identify_payloads()) == 2 and bot.fake.connected(), 10)
    assert "/subscribe" in await bot.answer(bot.fake.slash(GUILD, TEXT, MEMBER, "help"))
    assert bot.failures == []
    assert _tracebacks(bot.caplog) == []


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (4013, "Discord closed the gateway session for good while running (close code 4013): stopping."),
        (4014, "Discord refused the bot's gateway intents while running"),
    ],
    ids=["4013-invalid-intents", "4014-disallowed-intents"],
)
async def test_a_gateway_session_ended_for_good_while_running_is_reported(
    bot: Bot, code: int, expected: str
) -> None:
    """Close codes discord.py does not come back from (4004 has its own test): the runtime is told, in one
    line, and stops the process (``arxiv-digest run`` exits 1)."""
    bot.fake.close_gateway(code)
    await bot.fake.wait_for(lambda: bool(bot.failures), timeout=10)
    (failure,) = bot.failures
    assert str(failure).startswith(expected)
    assert "\n" not in str(failure)


# -- start-up ------------------------------------------------------------------------------------------------


class GatewayRejecting(GarblingDiscord):
    """A Discord whose REST API takes the token and whose gateway does not (4004), as when the token is
    reset between the two."""

    def _token_ok(self, value: Any) -> bool:
        return False


async def _failed_start(fake: FakeDiscord, **options: Any) -> str:
    apply_endpoints(options.pop("api", fake.api_base), fake.gateway_url)
    with FakeArxiv() as arxiv:
        db = Database("sqlite:///:memory:")
        try:
            async with open_runtime(_bot_settings(arxiv), db=db) as runtime:
                bot = DiscordBot(
                    token=TOKEN,
                    commands=runtime.commands,
                    db=db,
                    guild_ready_timeout=0.05,
                    ready_timeout=options.pop("ready_timeout", 10),
                    **options,
                )
                with pytest.raises(PlatformFailed) as info:
                    await bot.start()
                await bot.stop()
        finally:
            await db.dispose()
    message = str(info.value)
    assert "\n" not in message
    assert TOKEN.split(".")[-1] not in message
    return message


async def test_a_gateway_rejecting_the_token_at_start_is_one_line(discord_endpoints: None) -> None:
    with GatewayRejecting(token=TOKEN, application_id=APP_ID) as fake:
        message = await _failed_start(fake)
    assert message.startswith("Discord rejected DISCORD_BOT_TOKEN (gateway authentication failed")


@pytest.mark.parametrize(
    ("route", "failure", "options", "expected"),
    [
        (
            "GET /users/@me",
            Failure.server_error(503),
            {},
            "Discord refused to log the bot in (HTTP 503): check DISCORD_API_BASE_URL.",
        ),
        (
            "PUT /applications/{application_id}/commands",
            Failure.server_error(503),
            {},
            "Discord refused the slash commands (HTTP 503, code 0)",
        ),
        (
            None,
            None,
            {"dev_guild_id": 739999999999999999},
            "Discord refused the slash commands for DISCORD_DEV_GUILD_ID 739999999999999999",
        ),
    ],
    ids=["login-503", "commands-refused", "dev-server-without-the-bot"],
)
async def test_discord_refusing_the_start_is_one_line(
    discord_endpoints: None,
    route: str | None,
    failure: Failure | None,
    options: dict[str, Any],
    expected: str,
) -> None:
    with GarblingDiscord(token=TOKEN, application_id=APP_ID) as fake:
        if failure is not None:
            fake.inject(failure, route=route)
        message = await _failed_start(fake, **options)
    assert message.startswith(expected)


async def test_a_silent_discord_api_at_start_is_one_line(discord_endpoints: None, silent_port: int) -> None:
    """The API accepts the connection and never answers: the start gives up after ``ready_timeout``."""
    with GarblingDiscord(token=TOKEN, application_id=APP_ID) as fake:
        message = await _failed_start(fake, api=f"http://127.0.0.1:{silent_port}/api/v10", ready_timeout=1)
    assert message.startswith("Discord did not get ready within 1 s: check DISCORD_API_BASE_URL")
