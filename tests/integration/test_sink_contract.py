"""What every platform's ``Sink`` does, checked the same way on each: the recording sink in memory and each
real sink against its fake platform (Telegram today; Discord joins with its bot).

A sink renders a digest into ``Outgoing`` messages, sends one and returns its id, puts a message under the
one it belongs to (``reply_to``: a reply, or a thread), edits, gives message links where the platform has
them, and turns the platform's errors into the delivery's own: ``ChatGone``, ``RateLimited``,
``PlatformUnavailable``. Then a whole delivery through the ``Deliverer`` lands every footnote under its
summary, once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

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
from arxiv_digest.bot.telegram.sink import TelegramSink
from arxiv_digest.papers.models import AnnounceType, Digest, DigestEntry, Paper
from arxiv_digest.storage.db import Database
from arxiv_digest.storage.repositories import ChatRepository, LedgerRepository
from tests.fakes.recording_sink import RecordingSink
from tests.fakes.telegram_server import ApiError, FakeTelegram

USER = 4242
TOKEN = "777:contract-token"


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


@pytest.fixture(params=["memory", "telegram"])
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
