"""What every platform's ``Sink`` does, checked the same way on each: the recording sink in memory and each
real sink against its fake platform (Telegram, Discord).

A sink renders a digest into ``Outgoing`` messages, sends one and returns its id, puts a message under the
one it belongs to (``reply_to``: a reply, or a thread), edits, gives message links where the platform has
them, and turns the platform's errors into the delivery's own: ``ChatGone``, ``RateLimited``,
``PlatformUnavailable``. Then a whole delivery through the ``Deliverer`` lands every footnote under its
summary, once.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import discord
import pytest
from telegram import Bot

from arxiv_digest.bot.delivery import (
    ChatGone,
    Deliverer,
    Outcome,
    PlatformUnavailable,
    RateLimited,
    Sink,
    Target,
)
from arxiv_digest.bot.discord.sink import DiscordSink, MessageAddress
from arxiv_digest.bot.telegram.sink import TelegramSink
from arxiv_digest.papers.models import AnnounceType, Digest, DigestEntry, Paper
from arxiv_digest.storage.db import Database
from arxiv_digest.storage.repositories import ChatRepository, LedgerRepository
from tests.fakes.discord_server import ChannelType, Failure, FakeDiscord
from tests.fakes.recording_sink import RecordingSink
from tests.fakes.telegram_server import ApiError, FakeTelegram

USER = 4242
TOKEN = "777:contract-token"
DISCORD_TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GfAkEx.fake-discord-bot-token"
GUILD = 700000000000000001
CHANNEL = 700000000000000011


@dataclass
class World:
    """One platform as the contract sees it."""

    sink: Sink
    target: Target
    text_of: Callable[[str], str]  # the text (without markup) of a message sent there
    under: Callable[[str], str | None]  # the message a message was put under
    gone: Callable[[], None]  # the chat blocks the bot / the channel is deleted
    rate_limited: Callable[[float], None]  # the next send is answered "wait this long"
    down: Callable[[], None]  # the next send fails on the platform's side


@pytest.fixture(params=["memory", "telegram", "discord"])
async def world(request: pytest.FixtureRequest) -> AsyncIterator[World]:
    if request.param == "memory":
        memory = RecordingSink()
        yield World(
            sink=memory,
            target=Target(str(USER), platform="memory"),
            text_of=lambda mid: (memory.by_id(mid).edits or [memory.by_id(mid).message])[-1].text,
            under=lambda mid: memory.by_id(mid).reply_to,
            gone=lambda: memory.gone.add(str(USER)),
            rate_limited=lambda s: memory.fail_next(RateLimited(s)),
            down=lambda: memory.fail_next(PlatformUnavailable("502 Bad Gateway")),
        )
        return
    if request.param == "discord":
        async for discord_world in _discord_world():
            yield discord_world
        return
    with FakeTelegram(token=TOKEN) as tg:
        async with Bot(TOKEN, base_url=tg.base_url) as bot:

            def message(mid: str) -> dict[str, object]:
                return next(m for m in tg.sent(USER) if str(m["message_id"]) == mid)

            def under(mid: str) -> str | None:
                reply = message(mid).get("reply_to_message")
                return str(reply["message_id"]) if isinstance(reply, dict) else None

            yield World(
                sink=TelegramSink(bot),
                target=Target(str(USER)),
                text_of=lambda mid: str(message(mid)["text"]),
                under=under,
                gone=lambda: tg.block_chat(USER),
                rate_limited=lambda s: tg.inject(ApiError.retry_after(s), method="sendMessage"),
                down=lambda: tg.inject(ApiError(502, "Bad Gateway"), method="sendMessage"),
            )


_ZWSP_AFTER_ANGLE = re.compile("<\u200b")
_ZWSP_BEFORE_EVERYONE = re.compile("@\u200b(?=\u200b*(?:everyone|here))", re.IGNORECASE)
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def discord_shown(markdown: str) -> str:
    """What Discord shows of text the formatter escaped (``formatters.discord.clean``): the zero-width
    spaces after ``<`` and ``@`` dropped, then the backslash of every ``\\x`` pair."""
    text = _ZWSP_BEFORE_EVERYONE.sub("@", _ZWSP_AFTER_ANGLE.sub("<", markdown))
    return _ESCAPED.sub(r"\1", text)


async def _discord_world() -> AsyncIterator[World]:
    """A text channel of a guild on the fake Discord, through a logged-in discord.py client (REST only)."""
    with FakeDiscord(token=DISCORD_TOKEN, scale=50) as fake, pytest.MonkeyPatch.context() as patch:
        fake.add_guild(GUILD)
        fake.add_text_channel(GUILD, CHANNEL, name="papers")
        patch.setattr(discord.http.Route, "BASE", fake.api_base)
        client = discord.Client(intents=discord.Intents.none(), max_ratelimit_timeout=30)
        try:
            await client.login(DISCORD_TOKEN)
            # discord.py takes at least 30 s as max_ratelimit_timeout; the contract's "wait 3 s" must be more
            # than the client will sleep through, so this client gives up on waits over 1 s (the attribute
            # is what discord.py compares a 429's retry_after with).
            client.http.max_ratelimit_timeout = 1.0

            def message(mid: str) -> dict[str, Any]:
                address = MessageAddress.parse(mid)
                return next(
                    m for m in fake.messages(address.channel_id) if int(m["id"]) == address.message_id
                )

            def text_of(mid: str) -> str:
                found = message(mid)
                pieces = [found["content"]]
                for embed in found["embeds"]:
                    pieces += [embed.get("title", ""), embed.get("description", "")]
                return discord_shown("\n".join(p for p in pieces if p))

            def under(mid: str) -> str | None:
                """The message a message was put under: the one it replies to, or the one its thread was
                started from (a thread's id is its starter message's; a forum post's is its first one's)."""
                found = message(mid)
                reference = found.get("message_reference")
                if reference is not None:
                    return f"{reference['channel_id']}:{reference['message_id']}"
                channel = fake.channel(int(found["channel_id"]))
                if channel["type"] not in (ChannelType.PUBLIC_THREAD, ChannelType.PRIVATE_THREAD):
                    return None
                parent = fake.channel(int(channel["parent_id"]))
                if parent["type"] == ChannelType.GUILD_FORUM:
                    return None if found["id"] == channel["id"] else f"{channel['id']}:{channel['id']}"
                return f"{parent['id']}:{channel['id']}"

            yield World(
                sink=DiscordSink(client),
                target=Target(str(CHANNEL), "text", platform="discord", guild_id=str(GUILD)),
                text_of=text_of,
                under=under,
                gone=lambda: fake.delete_channel(CHANNEL),
                rate_limited=lambda s: fake.inject(
                    Failure.rate_limited(s), route="POST /channels/{channel_id}/messages"
                ),
                down=lambda: fake.inject(
                    Failure.server_error(503), route="POST /channels/{channel_id}/messages"
                ),
            )
        finally:
            await client.close()
        assert fake.internal_errors == []


def digest(papers: int = 2) -> Digest:
    entries = tuple(
        DigestEntry(
            Paper(f"2609.{n:05d}", f"Title {n} <b>&</b>", f"Abstract {n}. We show it."),
            AnnounceType.NEW,
            ("cs.LG",),
            f"We show {n}.",
        )
        for n in range(1, papers + 1)
    )
    return Digest(("cs.LG",), date(2026, 9, 24), "EN-US", entries)


async def test_renders_outgoing_messages_with_their_roles(world: World) -> None:
    summary = world.sink.render_summary(digest())
    footnote = world.sink.render_footnote(digest().entries[0], language="EN-US", ref=1)
    assert summary
    assert footnote
    assert {m.role for m in summary} == {"summary"}
    assert {m.role for m in footnote} == {"footnote"}
    assert world.sink.render_text("a <b> & c").role == "text"


async def test_sends_and_puts_a_message_under_another(world: World) -> None:
    [summary] = world.sink.render_summary(digest())
    first = await world.sink.send(world.target, summary)
    footnote = world.sink.render_footnote(digest().entries[0], language="EN-US", ref=1)[0]
    second = await world.sink.send(world.target, footnote, reply_to=first)
    assert first != second
    assert world.under(first) is None
    assert world.under(second) == first
    assert "Title 1 <b>&</b>" in world.text_of(second)  # text shown as written, whatever the markup


async def test_plain_text_is_shown_as_written(world: World) -> None:
    sent = await world.sink.send(world.target, world.sink.render_text("a <b>bold</b> & [link](x) @everyone"))
    assert world.text_of(sent) == "a <b>bold</b> & [link](x) @everyone"


async def test_edits_a_sent_message(world: World) -> None:
    sent = await world.sink.send(world.target, world.sink.render_text("before"))
    await world.sink.edit(world.target, sent, world.sink.render_text("after"))
    assert world.text_of(sent) == "after"


async def test_platform_errors_become_the_deliverys_own(world: World) -> None:
    world.rate_limited(3)
    with pytest.raises(RateLimited) as waited:
        await world.sink.send(world.target, world.sink.render_text("x"))
    assert waited.value.retry_after == pytest.approx(3)
    world.down()
    with pytest.raises(PlatformUnavailable):
        await world.sink.send(world.target, world.sink.render_text("x"))
    world.gone()
    with pytest.raises(ChatGone):
        await world.sink.send(world.target, world.sink.render_text("x"))


async def test_a_whole_delivery_lands_every_footnote_under_its_summary(
    world: World, database: Database
) -> None:
    async with database.session() as session:
        chat = await ChatRepository(session).ensure(
            world.target.platform,
            world.target.chat_id,
            language="EN-US",
            timezone="UTC",
            push_time="09:00",
            now=datetime(2026, 9, 1, tzinfo=UTC),
        )
        await session.commit()
    deliverer = Deliverer(database, {world.target.platform: world.sink})
    world.down()  # the first attempt fails on the platform's side: the delivery waits, pending
    first = await deliverer.deliver(chat, digest(3), scheduled=True)
    assert first is not None
    assert first.outcome is Outcome.UNAVAILABLE
    report = await deliverer.run(first.delivery_id)
    assert report.outcome is Outcome.DONE
    assert report.sent == 4  # the summary, three footnotes: each once
    summary_id = None
    async with database.session() as session:
        messages = await LedgerRepository(session).messages(first.delivery_id)
    for m in messages:
        assert m.message_id is not None
        if m.role == "summary":
            summary_id = m.message_id
        else:
            assert world.under(m.message_id) == summary_id
