"""``DiscordSink`` with the real discord.py against the fake Discord (tests/fakes/discord_server.py): where a
digest's messages land (a thread from the summary, a forum post, replies), what happens when the thread is
missing or may not be used, and how Discord's errors become the delivery's own."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import discord
import pytest
import yarl
from discord import app_commands

from arxiv_digest.bot.delivery import (
    ChatGone,
    Deliverer,
    Outcome,
    Outgoing,
    PlatformUnavailable,
    RateLimited,
    Target,
    outgoing,
)
from arxiv_digest.bot.discord.sink import (
    DiscordSink,
    MessageAddress,
    clip,
    fallback_thread_name,
    kind_of,
    target_for,
)
from arxiv_digest.formatters import discord as fmt
from arxiv_digest.papers.models import AnnounceType, Digest, DigestEntry, Paper
from arxiv_digest.storage.db import Database
from arxiv_digest.storage.models import Chat, LedgerMessage
from arxiv_digest.storage.repositories import ChatRepository, LedgerRepository
from tests.fakes.discord_server import (
    DEFAULT_BOT_PERMISSIONS,
    ApiError,
    Failure,
    FakeDiscord,
    FakeUser,
    Permission,
)

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GfAkEx.fake-discord-bot-token"
APP_ID = 123456789012345678
GUILD = 700000000000000001
TEXT = 700000000000000011
FORUM = 700000000000000012
MEMBER = 800000000000000002
OWNER = 900000000000000001  # the fake's application owner
DAY = date(2026, 9, 24)
THREAD_NAME = "cs.LG, stat.ML · 2026-09-24"
CREATE_MESSAGE = "POST /channels/{channel_id}/messages"
START_THREAD = "POST /channels/{channel_id}/messages/{message_id}/threads"


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    # scale: a delivery sends more than 5 messages to a channel within 5 s; shrink the buckets' windows so
    # discord.py's own pacing does not make the tests wait.
    with FakeDiscord(token=TOKEN, application_id=APP_ID, scale=50) as server:
        server.add_guild(GUILD, name="Physics")
        server.add_text_channel(GUILD, TEXT, name="papers")
        server.add_forum_channel(GUILD, FORUM, name="digests")
        server.add_member(GUILD, FakeUser(MEMBER, "bob"))
        yield server
        assert server.internal_errors == []


@pytest.fixture(autouse=True)
def _point_discord_at(fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discord.http.Route, "BASE", fake.api_base)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))


def new_client() -> discord.Client:
    # As the app must: a wait longer than 30 s is raised (discord.RateLimited), not slept through.
    return discord.Client(
        intents=discord.Intents.default(), max_ratelimit_timeout=30, guild_ready_timeout=0.05
    )


@pytest.fixture
async def client(fake: FakeDiscord) -> AsyncIterator[discord.Client]:
    """Logged in (REST) without a gateway connection: the sink needs no cache."""
    bot = new_client()
    try:
        await bot.login(TOKEN)
        yield bot
    finally:
        await bot.close()


@contextlib.asynccontextmanager
async def connected(bot: discord.Client) -> AsyncIterator[discord.Client]:
    """Logged in and connected to the gateway (guilds and channels cached), as in the app."""
    task: asyncio.Task[None] | None = None
    try:
        await bot.login(TOKEN)
        task = asyncio.create_task(bot.connect())
        await asyncio.wait_for(bot.wait_until_ready(), 5)
        yield bot
    finally:
        await bot.close()
        if task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 5)


@pytest.fixture
def sink(client: discord.Client) -> DiscordSink:
    return DiscordSink(client)


# -- helpers ------------------------------------------------------------------------------------------------


def digest(papers: int = 3, *, long_abstract: int | None = None) -> Digest:
    entries = []
    for n in range(1, papers + 1):
        title = f"Title {n} @everyone <@{MEMBER}>" if n == 1 else f"Title {n}"
        abstract = f"Abstract {n}. We show it."
        if n == long_abstract:
            abstract = " ".join(f"Sentence {i} of a long abstract." for i in range(700))  # ~22,000 chars
        paper = Paper(f"2609.{n:05d}", title, abstract, ("Ada Lovelace",), ("cs.LG",), version=1)
        entries.append(DigestEntry(paper, AnnounceType.NEW, ("cs.LG",), f"We show {n}."))
    return Digest(("cs.LG", "stat.ML"), DAY, "EN-US", tuple(entries))


def footnote_payloads(d: Digest) -> list[dict[str, Any]]:
    return [
        payload
        for ref, entry in enumerate(d.entries, start=1)
        for payload in fmt.render_footnote(entry, language=d.language, ref=ref)
    ]


def payload_of(message: dict[str, Any]) -> dict[str, Any]:
    """A stored message's embeds as the formatter's payload: without what discord.py's ``Embed`` adds to
    every embed it sends (``type: rich``, ``flags: 0``)."""
    return {"embeds": [{k: v for k, v in e.items() if k not in ("type", "flags")} for e in message["embeds"]]}


async def make_chat(database: Database, key: int, kind: str, guild: int | None = GUILD) -> Chat:
    async with database.session() as session:
        chat = await ChatRepository(session).ensure(
            "discord",
            str(key),
            language="EN-US",
            timezone="UTC",
            push_time="09:00",
            kind=kind,
            guild_key=None if guild is None else str(guild),
            now=datetime(2026, 9, 1, tzinfo=UTC),
        )
        await session.commit()
    return chat


async def ledger(database: Database, delivery_id: int) -> list[LedgerMessage]:
    async with database.session() as session:
        return await LedgerRepository(session).messages(delivery_id)


def assert_quiet(fake: FakeDiscord) -> None:
    """No ping, and every message created or edited allowed none (so none could ping)."""
    assert fake.pings() == []
    checked = 0
    for request in fake.recorded():
        body = request.json
        if request.route == "POST /channels/{channel_id}/threads" and isinstance(body, dict):
            body = body.get("message")
        if (
            request.method in ("POST", "PATCH")
            and isinstance(body, dict)
            and ("content" in body or "embeds" in body)
        ):
            checked += 1
            allowed = body.get("allowed_mentions")
            assert allowed is not None, request
            assert allowed["parse"] == [], request
            assert not allowed.get("users")
            assert not allowed.get("roles")
            assert not allowed.get("replied_user")
    assert checked > 0


def reply_target(message: dict[str, Any]) -> str | None:
    reference = message.get("message_reference")
    return None if reference is None else f"{reference['channel_id']}:{reference['message_id']}"


# -- a text channel -----------------------------------------------------------------------------------------


async def test_a_text_channel_gets_the_summary_and_a_thread_of_footnotes(
    fake: FakeDiscord, database: Database
) -> None:
    d = digest(3, long_abstract=2)
    payloads = footnote_payloads(d)
    assert len(payloads) > 3  # the long abstract takes more than one message
    async with connected(new_client()) as bot:
        chat = await make_chat(database, TEXT, "text")
        report = await Deliverer(database, {"discord": DiscordSink(bot)}).deliver(chat, d, scheduled=True)
    assert report is not None
    assert report.outcome is Outcome.DONE
    assert (report.sent, report.edited) == (1 + len(payloads), 1)

    (summary,) = fake.messages(TEXT)
    (thread,) = fake.threads(TEXT)
    assert thread["id"] == summary["id"]  # started from the summary
    assert thread["name"] == THREAD_NAME
    in_thread = fake.messages(int(thread["id"]))
    assert [payload_of(m) for m in in_thread] == payloads  # each within Discord's limits: the fake checks
    assert all(m["content"] == "" for m in in_thread)
    assert all(reply_target(m) is None for m in in_thread)
    assert summary["content"].startswith(f"**{THREAD_NAME}**")
    assert "@\u200beveryone" in summary["content"]
    assert_quiet(fake)

    rows = await ledger(database, report.delivery_id)
    assert rows[0].message_id == f"{TEXT}:{summary['id']}"
    firsts: dict[int | None, int] = {}
    for row in rows[1:]:
        assert row.message_id is not None
        assert MessageAddress.parse(row.message_id).channel_id == int(thread["id"])
        firsts.setdefault(row.ref, MessageAddress.parse(row.message_id).message_id)
    for n in (1, 2, 3):
        link = f"https://discord.com/channels/{GUILD}/{thread['id']}/{firsts[n]}"
        assert f"[\\[{n}\\]](<{link}>)" in summary["content"]
    assert [r.status for r in fake.recorded(CREATE_MESSAGE)] == [200] * (1 + len(payloads))


async def test_a_forum_gets_one_post_per_digest(
    fake: FakeDiscord, database: Database, sink: DiscordSink
) -> None:
    chat = await make_chat(database, FORUM, "forum")
    report = await Deliverer(database, {"discord": sink}).deliver(chat, digest(3), scheduled=True)
    assert report is not None
    assert report.outcome is Outcome.DONE
    (post,) = fake.threads(FORUM)
    assert post["name"] == THREAD_NAME
    first, *footnotes = fake.messages(int(post["id"]))
    assert first["id"] == post["id"]
    assert first["content"].startswith(f"**{THREAD_NAME}**")
    assert [payload_of(m) for m in footnotes] == footnote_payloads(digest(3))
    assert all(reply_target(m) is None for m in footnotes)
    rows = await ledger(database, report.delivery_id)
    assert {MessageAddress.parse(r.message_id or "").channel_id for r in rows} == {int(post["id"])}
    link = f"https://discord.com/channels/{GUILD}/{post['id']}/{footnotes[0]['id']}"
    assert f"[\\[1\\]](<{link}>)" in first["content"]
    assert_quiet(fake)


async def _forum_summary_then_resume(
    database: Database, sink: DiscordSink, between: Callable[[int], object]
) -> int:
    """Plan a delivery to FORUM, send its summary (opening the post) and record it, call ``between(post)``,
    then run the delivery; the post's id."""
    chat = await make_chat(database, FORUM, "forum")
    deliverer = Deliverer(database, {"discord": sink})
    delivery = await deliverer.enqueue(chat, digest(3), scheduled=True)
    assert delivery is not None
    rows = await ledger(database, delivery)
    summary = await sink.send(Target(str(FORUM), "forum", guild_id=str(GUILD)), outgoing(rows[0]))
    async with database.session() as session:
        await LedgerRepository(session).mark_sent(rows[0].id, summary)
        await session.commit()
    post = MessageAddress.parse(summary).channel_id
    between(post)
    report = await deliverer.run(delivery)
    assert report.outcome is Outcome.DONE
    assert report.sent == 3
    return post


async def test_a_forum_post_deleted_midway_is_replaced_by_one_post(
    fake: FakeDiscord, database: Database, sink: DiscordSink
) -> None:
    post = await _forum_summary_then_resume(database, sink, fake.delete_channel)
    (replacement,) = fake.threads(FORUM)  # the deleted one is not listed
    assert replacement["name"] == fallback_thread_name(post)
    assert [payload_of(m) for m in fake.messages(int(replacement["id"]))] == footnote_payloads(digest(3))


async def test_a_forum_post_locked_midway_is_replaced_by_one_post(
    fake: FakeDiscord, database: Database, sink: DiscordSink
) -> None:
    """A moderator locks the post after the summary: the footnotes go into one new post, none is lost."""
    post = await _forum_summary_then_resume(
        database, sink, lambda post: fake.set_thread_state(post, archived=False, locked=True)
    )
    locked, replacement = fake.threads(FORUM)
    assert int(locked["id"]) == post
    assert len(fake.messages(post)) == 1  # the summary alone
    assert replacement["name"] == fallback_thread_name(post)
    assert [payload_of(m) for m in fake.messages(int(replacement["id"]))] == footnote_payloads(digest(3))
    assert [r.status for r in fake.recorded(CREATE_MESSAGE)].count(400) == 1  # one try at the locked post


# -- a DM ---------------------------------------------------------------------------------------------------


async def test_in_a_dm_footnotes_reply_to_the_summary(
    fake: FakeDiscord, database: Database, sink: DiscordSink
) -> None:
    dm = fake.dm_channel(MEMBER)
    chat = await make_chat(database, dm, "dm", guild=None)
    report = await Deliverer(database, {"discord": sink}).deliver(chat, digest(3), scheduled=True)
    assert report is not None
    assert report.outcome is Outcome.DONE
    summary, *footnotes = fake.messages(dm)
    assert [payload_of(m) for m in footnotes] == footnote_payloads(digest(3))
    assert {reply_target(m) for m in footnotes} == {f"{dm}:{summary['id']}"}
    assert fake.threads(dm) == []
    link = f"https://discord.com/channels/@me/{dm}/{footnotes[0]['id']}"
    assert f"[\\[1\\]](<{link}>)" in summary["content"]
    replies = [r.json for r in fake.recorded(CREATE_MESSAGE) if r.json.get("message_reference")]
    assert {r["message_reference"]["fail_if_not_exists"] for r in replies} == {False}
    assert_quiet(fake)


@pytest.mark.parametrize("kind", ["text", "dm"])
async def test_a_long_summarys_later_parts_follow_it_in_the_channel(
    fake: FakeDiscord, database: Database, sink: DiscordSink, kind: str
) -> None:
    d = digest(30)
    summaries = fmt.render_summary(d)
    assert len(summaries) == 2
    channel = TEXT if kind == "text" else fake.dm_channel(MEMBER)
    chat = await make_chat(database, channel, kind, guild=GUILD if kind == "text" else None)
    report = await Deliverer(database, {"discord": sink}).deliver(chat, d, scheduled=True)
    assert report is not None
    assert report.outcome is Outcome.DONE
    stored = fake.messages(channel)
    parts = [m for m in stored if not m["embeds"]]
    assert len(parts) == 2
    assert [reply_target(m) for m in parts] == [None, None]  # the second simply follows the first
    footnotes = [m for m in stored if m["embeds"]]
    if kind == "text":
        (thread,) = fake.threads(TEXT)
        assert footnotes == []
        footnotes = fake.messages(int(thread["id"]))
    else:
        assert {reply_target(m) for m in footnotes} == {f"{channel}:{parts[0]['id']}"}
    assert [payload_of(m) for m in footnotes] == footnote_payloads(d)


async def test_in_a_thread_everything_stays_in_it(
    fake: FakeDiscord, database: Database, sink: DiscordSink
) -> None:
    """A chat that is a thread (threads do not nest), or a target with a ``thread_id``: footnotes reply."""
    started = await send_text(sink, "a thread starter")
    thread = MessageAddress.parse(started).message_id
    await sink.client.http.start_thread_with_message(TEXT, thread, name="chat", auto_archive_duration=60)
    chat = await make_chat(database, thread, "thread")
    report = await Deliverer(database, {"discord": sink}).deliver(chat, digest(2), scheduled=True)
    assert report is not None
    assert report.outcome is Outcome.DONE
    summary, *footnotes = fake.messages(thread)
    assert {reply_target(m) for m in footnotes} == {f"{thread}:{summary['id']}"}
    assert [t["id"] for t in fake.threads(TEXT)] == [str(thread)]  # no thread in the thread
    via_thread_id = Target(str(TEXT), "text", thread_id=str(thread), guild_id=str(GUILD))
    sent = await sink.send(via_thread_id, sink.render_text("in the thread too"))
    assert MessageAddress.parse(sent).channel_id == thread
    assert fake.messages(TEXT)[-1]["content"] == "a thread starter"


# -- the thread missing or not allowed ----------------------------------------------------------------------


async def _send_summary_then_resume(
    fake: FakeDiscord, database: Database, sink: DiscordSink, between: Any
) -> tuple[dict[str, Any], int]:
    """Plan a delivery to TEXT, send its summary with the sink and record it (as a run would), call
    ``between(summary_id)``, then run the delivery: as a run resumed after a crash."""
    chat = await make_chat(database, TEXT, "text")
    deliverer = Deliverer(database, {"discord": sink})
    delivery = await deliverer.enqueue(chat, digest(3), scheduled=True)
    assert delivery is not None
    rows = await ledger(database, delivery)
    target = Target(str(TEXT), "text", guild_id=str(GUILD))
    summary = await sink.send(target, outgoing(rows[0]))
    async with database.session() as session:
        await LedgerRepository(session).mark_sent(rows[0].id, summary)
        await session.commit()
    between(MessageAddress.parse(summary).message_id)
    report = await deliverer.run(delivery)
    assert report.outcome is Outcome.DONE
    assert report.sent == 3  # each footnote once; the summary not again
    (stored,) = [m for m in fake.messages(TEXT) if m["embeds"] == []]
    return stored, delivery


async def test_a_crash_before_the_thread_still_threads_the_footnotes(
    fake: FakeDiscord, database: Database, sink: DiscordSink
) -> None:
    # The connection drops as the thread is started: as if the process had died right after the summary.
    fake.inject(Failure.dropped(), route=START_THREAD)
    summary, _ = await _send_summary_then_resume(fake, database, sink, lambda _: None)
    (thread,) = fake.threads(TEXT)
    assert thread["id"] == summary["id"]
    today = datetime.now(UTC).date().isoformat()
    assert thread["name"] == fallback_thread_name(int(summary["id"])) == f"arXiv · {today}"
    assert [payload_of(m) for m in fake.messages(int(thread["id"]))] == footnote_payloads(digest(3))
    assert len(fake.messages(TEXT)) == 1
    assert [r.status for r in fake.recorded(START_THREAD)] == [0, 201]
    assert_quiet(fake)


async def test_a_deleted_thread_turns_the_footnotes_into_replies(
    fake: FakeDiscord, database: Database, sink: DiscordSink
) -> None:
    summary, _ = await _send_summary_then_resume(fake, database, sink, fake.delete_channel)
    assert fake.threads(TEXT) == []
    _, *footnotes = fake.messages(TEXT)
    assert [payload_of(m) for m in footnotes] == footnote_payloads(digest(3))
    assert {reply_target(m) for m in footnotes} == {f"{TEXT}:{summary['id']}"}
    assert_quiet(fake)


async def test_an_archived_thread_takes_the_footnotes(
    fake: FakeDiscord, database: Database, sink: DiscordSink
) -> None:
    """Archived (a day without a message, or by a moderator) but not locked: a message unarchives it."""
    summary, _ = await _send_summary_then_resume(
        fake, database, sink, lambda sid: fake.set_thread_state(sid, archived=True)
    )
    (thread,) = fake.threads(TEXT)
    assert thread["id"] == summary["id"]
    assert [payload_of(m) for m in fake.messages(int(thread["id"]))] == footnote_payloads(digest(3))
    assert thread["thread_metadata"]["archived"] is False
    assert len(fake.messages(TEXT)) == 1


@pytest.mark.parametrize("archived", [True, False], ids=["archived-and-locked", "locked"])
async def test_a_locked_thread_turns_the_footnotes_into_replies(
    fake: FakeDiscord, database: Database, sink: DiscordSink, archived: bool
) -> None:
    """A moderator locked the summary's thread (50083 archived and locked, 160005 locked): the footnotes
    reply to the summary in the channel instead; none is lost."""
    summary, _ = await _send_summary_then_resume(
        fake, database, sink, lambda sid: fake.set_thread_state(sid, archived=archived, locked=True)
    )
    (thread,) = fake.threads(TEXT)
    assert fake.messages(int(thread["id"])) == []
    assert thread["thread_metadata"]["locked"] is True
    _, *footnotes = fake.messages(TEXT)
    assert [payload_of(m) for m in footnotes] == footnote_payloads(digest(3))
    assert {reply_target(m) for m in footnotes} == {f"{TEXT}:{summary['id']}"}
    refused = [r for r in fake.recorded(CREATE_MESSAGE) if r.status == 400]
    assert [r.path for r in refused] == [f"/channels/{thread['id']}/messages"] * 3  # each tries the thread
    assert_quiet(fake)


@pytest.mark.parametrize(
    ("denied", "as_replies"),
    [
        (Permission.CREATE_PUBLIC_THREADS, True),  # no thread: replies in the channel
        (Permission.SEND_MESSAGES_IN_THREADS, True),  # a thread it may not post in: replies
        (Permission.CREATE_PUBLIC_THREADS | Permission.READ_MESSAGE_HISTORY, False),  # no replies either
    ],
    ids=["no-threads", "no-posting-in-threads", "no-threads-no-history"],
)
async def test_without_thread_permissions_footnotes_land_in_the_channel(
    fake: FakeDiscord, database: Database, sink: DiscordSink, denied: Permission, as_replies: bool
) -> None:
    fake.set_bot_permissions(TEXT, DEFAULT_BOT_PERMISSIONS & ~int(denied))
    chat = await make_chat(database, TEXT, "text")
    report = await Deliverer(database, {"discord": sink}).deliver(chat, digest(3), scheduled=True)
    assert report is not None
    assert report.outcome is Outcome.DONE
    summary, *footnotes = fake.messages(TEXT)
    assert [payload_of(m) for m in footnotes] == footnote_payloads(digest(3))
    expected = f"{TEXT}:{summary['id']}" if as_replies else None
    assert {reply_target(m) for m in footnotes} == {expected}
    assert all(fake.messages(int(t["id"])) == [] for t in fake.threads(TEXT))
    assert "https://discord.com/channels/" in summary["content"]  # linked to the footnotes in the channel
    assert_quiet(fake)


# -- errors -------------------------------------------------------------------------------------------------


async def send_text(sink: DiscordSink, text: str = "hello", channel: int = TEXT) -> str:
    return await sink.send(Target(str(channel), "text", guild_id=str(GUILD)), sink.render_text(text))


@pytest.mark.parametrize(
    ("failure", "exception", "at_once"),
    [
        (Failure.missing_permissions(), ChatGone, False),
        (Failure.missing_access(), ChatGone, False),
        (Failure.unknown_channel(), ChatGone, False),
        (Failure.server_error(503), PlatformUnavailable, None),
        (Failure.error(ApiError(401, 0, "401: Unauthorized")), PlatformUnavailable, None),
        (Failure.dropped(), PlatformUnavailable, None),
    ],
    ids=["50013", "50001", "10003", "503", "401", "dropped"],
)
async def test_discord_errors_become_the_deliverys_own(
    fake: FakeDiscord, sink: DiscordSink, failure: Failure, exception: type[Exception], at_once: bool | None
) -> None:
    fake.inject(failure, route=CREATE_MESSAGE)
    with pytest.raises(exception) as info:
        await send_text(sink)
    if at_once is not None:
        assert isinstance(info.value, ChatGone)
        assert info.value.at_once is at_once
    assert fake.messages(TEXT) == []
    await send_text(sink, "next")
    assert [m["content"] for m in fake.messages(TEXT)] == ["next"]


async def test_a_deleted_channel_or_lost_access_is_gone_for_now(fake: FakeDiscord, sink: DiscordSink) -> None:
    fake.set_bot_permissions(TEXT, int(Permission.SEND_MESSAGES))  # no View Channel: 403 50001
    with pytest.raises(ChatGone) as no_access:
        await send_text(sink)
    fake.set_bot_permissions(TEXT, None)
    fake.delete_channel(TEXT)  # 404 10003
    with pytest.raises(ChatGone) as deleted:
        await send_text(sink)
    assert (no_access.value.at_once, deleted.value.at_once) == (False, False)


async def test_a_user_who_closed_their_dms_is_gone_at_once(fake: FakeDiscord, sink: DiscordSink) -> None:
    dm = fake.dm_channel(MEMBER)
    fake.block_dms(MEMBER)
    with pytest.raises(ChatGone) as info:
        await sink.send(Target(str(dm), "dm"), sink.render_text("hello"))
    assert info.value.at_once is True
    assert fake.messages(dm) == []


async def test_our_own_invalid_payload_is_a_bug_that_raises(fake: FakeDiscord, sink: DiscordSink) -> None:
    fake.inject(Failure.error(ApiError.invalid_form({"content": {"_errors": []}})), route=CREATE_MESSAGE)
    with pytest.raises(discord.HTTPException) as info:
        await send_text(sink)
    assert info.value.code == 50035
    with pytest.raises(discord.HTTPException):  # Discord's own check, not a fake failure
        await sink.send(Target(str(TEXT), "text", guild_id=str(GUILD)), Outgoing("text", "x" * 2001))


async def test_a_long_429_is_rate_limited_at_once(fake: FakeDiscord, sink: DiscordSink) -> None:
    fake.inject(Failure.rate_limited(60), route=CREATE_MESSAGE)
    started = time.monotonic()
    with pytest.raises(RateLimited) as info:
        await send_text(sink)
    assert info.value.retry_after == pytest.approx(60)
    assert time.monotonic() - started < 5  # not slept through
    assert fake.messages(TEXT) == []


async def test_a_short_429_is_waited_out_by_discord_py_and_sent_once(
    fake: FakeDiscord, sink: DiscordSink
) -> None:
    fake.inject(Failure.rate_limited(0.2), route=CREATE_MESSAGE)
    started = time.monotonic()
    await send_text(sink, "after the wait")
    assert time.monotonic() - started >= 0.2
    assert [r.status for r in fake.recorded(CREATE_MESSAGE)] == [429, 200]
    assert [m["content"] for m in fake.messages(TEXT)] == ["after the wait"]


async def test_429s_discord_py_gives_up_on_are_rate_limited(fake: FakeDiscord, sink: DiscordSink) -> None:
    fake.inject(Failure.rate_limited(0.01), route=CREATE_MESSAGE, times=5)  # discord.py tries 5 times
    with pytest.raises(RateLimited) as info:
        await send_text(sink)
    assert info.value.retry_after == 1  # the Retry-After header
    assert fake.messages(TEXT) == []


async def test_a_chats_messages_go_one_at_a_time(fake: FakeDiscord, sink: DiscordSink) -> None:
    target = Target(str(TEXT), "text", guild_id=str(GUILD))
    summary = await sink.send(target, sink.render_summary(digest(1))[0])
    footnote = sink.render_footnote(digest(1).entries[0], language="EN-US", ref=1)[0]
    fake.inject(Failure.rate_limited(0.3), route=CREATE_MESSAGE, channel_id=TEXT)
    # The first waits out a 429 in the channel; the second, for the thread (another bucket), waits for it.
    first = asyncio.create_task(sink.send(target, sink.render_text("first")))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(sink.send(target, footnote, reply_to=summary))
    first_id, second_id = await asyncio.gather(first, second)
    assert MessageAddress.parse(first_id).message_id < MessageAddress.parse(second_id).message_id


# -- the owner, ids, links, rendering -----------------------------------------------------------------------


async def test_an_owner_notice_opens_a_dm(fake: FakeDiscord, sink: DiscordSink) -> None:
    sent = await sink.send(
        Target(str(OWNER), "user", platform="discord"), sink.render_text("a <b> @everyone")
    )
    (opened,) = fake.recorded("POST /users/@me/channels")
    assert opened.json == {"recipient_id": OWNER}
    dm = fake.dm_channel(OWNER)
    assert MessageAddress.parse(sent).channel_id == dm
    (notice,) = fake.messages(dm)
    assert notice["content"] == fmt.clean("a <b> @everyone")
    link = sink.message_link(Target(str(OWNER), "user"), sent)
    assert link == f"https://discord.com/channels/@me/{dm}/{notice['id']}"
    await sink.send(Target(str(OWNER), "user", platform="discord"), sink.render_text("again"))
    assert len(fake.recorded("POST /users/@me/channels")) == 1  # the DM channel is remembered
    assert_quiet(fake)


async def test_an_owner_id_that_is_no_user_is_taken_as_a_channel(
    fake: FakeDiscord, sink: DiscordSink
) -> None:
    await sink.send(Target(str(TEXT), "user", platform="discord"), sink.render_text("to the channel"))
    assert [r.status for r in fake.recorded("POST /users/@me/channels")] == [400]
    assert [m["content"] for m in fake.messages(TEXT)] == ["to the channel"]


async def test_edits_replace_content_and_allow_no_mentions(fake: FakeDiscord, sink: DiscordSink) -> None:
    target = Target(str(TEXT), "text", guild_id=str(GUILD))
    sent = await send_text(sink, "before")
    await sink.edit(target, sent, sink.render_text("after @everyone"))
    (message,) = fake.messages(TEXT)
    assert message["content"] == fmt.clean("after @everyone")
    (patch,) = fake.recorded("PATCH /channels/{channel_id}/messages/{message_id}")
    assert patch.json["allowed_mentions"] == {"parse": []}
    first, second = (sink.render_footnote(e, language="EN-US", ref=None)[0] for e in digest(2).entries)
    shown = await sink.send(target, first)
    await sink.edit(target, shown, second)
    assert payload_of(fake.messages(TEXT)[-1]) == second.parts


def test_message_ids_and_links() -> None:
    assert str(MessageAddress(12, 34)) == "12:34"
    assert MessageAddress.parse("12:34") == MessageAddress(12, 34)
    assert len(str(MessageAddress(2**64 - 1, 2**64 - 1))) <= 64  # the ledger's limit
    for bad in ("1234", "a:b", "1:2:3", ":1", "1:", "١:٢"):
        with pytest.raises(ValueError, match="not a Discord message id"):
            MessageAddress.parse(bad)
    sink = DiscordSink(discord.Client(intents=discord.Intents.default()))
    guild = Target(str(TEXT), "text", guild_id=str(GUILD))
    assert sink.message_link(guild, "5:6") == f"https://discord.com/channels/{GUILD}/5/6"
    assert sink.message_link(Target("5", "dm"), "5:6") == "https://discord.com/channels/@me/5/6"
    assert sink.message_link(Target("5", "text"), "5:6") is None  # no guild known
    assert sink.message_link(guild, "6") is None


def test_rendering() -> None:
    sink = DiscordSink(discord.Client(intents=discord.Intents.default()))
    long = digest(30, long_abstract=1)
    summaries = sink.render_summary(long)
    assert len(summaries) > 1
    assert summaries[0].parts == {"thread_name": THREAD_NAME}
    assert all(s.parts is None and s.role == "summary" for s in summaries[1:])
    assert [s.text for s in summaries] == fmt.render_summary(long)
    footnotes = sink.render_footnote(long.entries[0], language="EN-US", ref=1)
    assert [(f.role, f.text) for f in footnotes] == [("footnote", "")] * len(footnotes)
    assert [f.parts for f in footnotes] == fmt.render_footnote(long.entries[0], language="EN-US", ref=1)
    assert sink.render_text("a *b* @here") == Outgoing("text", fmt.clean("a *b* @here"))
    clipped = sink.render_text("\\" * 3000).text
    assert len(clipped) <= 2000
    assert clipped.endswith("\\…")
    assert len(clipped.rstrip("…")) % 2 == 0  # whole escape pairs only: no lone backslash
    assert clip("short") == "short"
    assert not sink.splits_by_category(Target(str(FORUM), "forum"))
    assert (
        sink.link_refs(summaries[0], {n: "https://discord.com/channels/1/2/3" for n in range(1, 31)}) is None
    )
    (short,) = sink.render_summary(digest(1))
    linked = sink.link_refs(short, {1: "https://discord.com/channels/1/2/3"})
    assert linked is not None
    assert linked.parts == short.parts == {"thread_name": THREAD_NAME}
    assert "[\\[1\\]](<https://discord.com/channels/1/2/3>)" in linked.text


async def test_an_empty_message_is_never_sent(fake: FakeDiscord, sink: DiscordSink) -> None:
    await sink.send(Target(str(TEXT), "text", guild_id=str(GUILD)), Outgoing("text", "  "))
    assert [m["content"] for m in fake.messages(TEXT)] == ["…"]


async def test_targets_from_interactions(fake: FakeDiscord) -> None:
    seen: list[Target | None] = []
    bot = new_client()
    tree = app_commands.CommandTree(bot)

    @tree.command(name="where", description="Where am I?")
    async def where(interaction: discord.Interaction) -> None:
        seen.append(target_for(interaction, language="DE"))
        await interaction.response.send_message("here", ephemeral=True)

    async with connected(bot):
        await tree.sync()
        fake.slash(GUILD, TEXT, MEMBER, "where")
        dm = fake.dm_channel(MEMBER)
        fake.slash(None, dm, MEMBER, "where")
        await fake.wait_for(lambda: len(seen) == 2)
    assert seen == [
        Target(str(TEXT), "text", language="DE", platform="discord", guild_id=str(GUILD)),
        Target(str(dm), "dm", language="DE", platform="discord"),
    ]
    assert [kind_of(t) for t in (discord.ChannelType.forum, discord.ChannelType.public_thread)] == [
        "forum",
        "thread",
    ]
    assert kind_of(discord.ChannelType.voice) is None
