"""The Telegram bot end to end: the real python-telegram-bot (polling, our FloodLimiter) against the fake Bot
API, the real ``arxiv`` and ``deepl`` clients against their fakes, SQLite (and PostgreSQL for the delivery
paths)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from arxiv_digest.bot.runtime import Runtime, open_runtime
from arxiv_digest.bot.settings import Settings
from arxiv_digest.bot.telegram.app import TelegramBot
from arxiv_digest.bot.telegram.limiter import FloodLimiter
from arxiv_digest.formatters.i18n import t
from arxiv_digest.storage.db import Database
from arxiv_digest.storage.repositories import ChatRepository, SubscriptionRepository
from tests.doubles import Clock
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.deepl_server import FakeDeepL
from tests.fakes.telegram_server import ApiError, FakeTelegram

TOKEN = "424242:e2e-secret-token"
DEEPL_KEY = "e2e-deepl-key:fx"
FEED_CATS = "cs.LG cs.AI cs.CL stat.ML"
USER = 1001
ADMIN = 2002
MEMBER = 3003
GROUP = -1001234567890  # a supergroup


@dataclass
class Harness:
    tg: FakeTelegram
    arxiv: FakeArxiv
    deepl: FakeDeepL
    bot: TelegramBot
    runtime: Runtime

    async def say(
        self, chat: int, user: int | None, text: str, *, expect: int = 1, **kw: Any
    ) -> list[dict[str, Any]]:
        """Send ``text`` as ``user`` in ``chat``; return the bot's new messages (at least ``expect``)."""
        before = len(self.tg.sent(chat))
        self.tg.queue_message(chat, user, text, **kw)
        await self.tg.wait_for(lambda: len(self.tg.sent(chat)) >= before + expect, timeout=10)
        await asyncio.sleep(0.05)  # anything still arriving
        return self.tg.sent(chat)[before:]

    async def text(self, chat: int, user: int | None, text: str) -> str:
        return str((await self.say(chat, user, text))[-1]["text"])

    async def settle(self, chat: int) -> list[dict[str, Any]]:
        """Wait until the bot stops sending to ``chat``; return everything it sent there."""
        previous = -1
        while len(self.tg.sent(chat)) != previous:
            previous = len(self.tg.sent(chat))
            await asyncio.sleep(0.3)
        return self.tg.sent(chat)


@pytest.fixture
def fakes() -> Iterator[tuple[FakeTelegram, FakeArxiv, FakeDeepL]]:
    with FakeTelegram(token=TOKEN) as tg, FakeArxiv() as arxiv, FakeDeepL(auth_key=DEEPL_KEY) as deepl:
        arxiv.add_paper(
            "2403.19243",
            title="Efficient Test-Time Adaptation <via> Entropy & Margins",
            abstract="Test-time adaptation is popular. We propose a margin rule for $x_i < y$ that adapts "
            "models at test time. Experiments on ImageNet-C confirm it.",
            categories=("cs.LG", "cs.CV"),
            authors=("Zoë Müller", "李雷"),
        )
        yield tg, arxiv, deepl


def settings_for(tg: FakeTelegram, arxiv: FakeArxiv, deepl: FakeDeepL, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": "sqlite:///unused.db",
        "arxiv_rss_base_url": arxiv.rss_base_url,
        "arxiv_api_url": arxiv.api_url,
        "arxiv_min_interval": 0,
        "arxiv_timeout": 5,
        "deepl_auth_key": DEEPL_KEY,
        "deepl_server_url": deepl.url,
        "default_language": "ZH-HANS",
        "telegram_bot_token": TOKEN,
        "telegram_api_base_url": tg.base_url,
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@asynccontextmanager
async def _harness(
    db: Database, tg: FakeTelegram, arxiv: FakeArxiv, deepl: FakeDeepL, **extra: Any
) -> AsyncIterator[Harness]:
    settings = settings_for(tg, arxiv, deepl, **extra)
    async with open_runtime(settings, db=db, clock=Clock()) as runtime:
        bot = TelegramBot(
            token=TOKEN,
            commands=runtime.commands,
            db=db,
            base_url=tg.base_url,
            # Telegram's limits scaled up 100 times, so tests do not wait on the 20-a-minute group limit
            rate_limiter=FloodLimiter(scale=100),
        )
        await bot.start()
        try:
            yield Harness(tg, arxiv, deepl, bot, runtime)
        finally:
            await bot.stop()


@pytest.fixture
async def harness(
    database: Database, fakes: tuple[FakeTelegram, FakeArxiv, FakeDeepL]
) -> AsyncIterator[Harness]:
    async with _harness(database, *fakes) as h:
        yield h


@pytest.fixture
async def sqlite_harness(
    tmp_path: Any, fakes: tuple[FakeTelegram, FakeArxiv, FakeDeepL]
) -> AsyncIterator[Harness]:
    db = Database(f"sqlite:///{tmp_path / 'bot.db'}")
    try:
        await db.upgrade()
        async with _harness(db, *fakes) as h:
            yield h
    finally:
        await db.dispose()


# -- a new user, as the issue tries it ----------------------------------------------------------------------


async def test_new_user_conversation(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    h.tg.add_user(USER, first_name="Ada")

    start = await h.text(USER, USER, "/start")
    assert "你好" in start
    assert "/subscribe cs.LG" in start

    sub = await h.text(USER, USER, "/subscribe cs.LG")
    assert "已订阅：cs.LG。" in sub
    assert "下一期摘要：" in sub
    assert "(UTC)" in sub

    again = await h.text(USER, USER, "/subscribe cs.lg")
    assert "已经订阅过：cs.LG。" in again

    foo = await h.text(USER, USER, "/subscribe cs.FOO")
    assert "未知分类：cs.FOO。" in foo
    assert "cs." in foo

    paper = (await h.say(USER, USER, "/paper 2403.19243"))[-1]
    assert "[ZH-HANS] EFFICIENT TEST-TIME ADAPTATION <VIA> ENTROPY & MARGINS" in paper["text"]
    assert "Efficient Test-Time Adaptation <via> Entropy & Margins" in paper["text"]
    assert "$x_i < y$" in paper["text"]  # LaTeX untouched
    assert "Zoë Müller" in paper["text"]
    assert "李雷" in paper["text"]
    assert any(e["type"] == "expandable_blockquote" for e in paper["entities"])

    nonsense = await h.text(USER, USER, "/paper nonsense")
    assert "不是 arXiv 编号：nonsense" in nonsense
    assert "2403.19243v2" in nonsense

    missing = await h.text(USER, USER, "/paper 2609.99999")
    assert "arXiv 上找不到 2609.99999" in missing

    lang = await h.text(USER, USER, "/lang ja")
    assert "JA" in lang

    listing = await h.text(USER, USER, "/list")
    assert "cs.LG (Machine Learning)" in listing

    unsub = await h.text(USER, USER, "/unsubscribe cs.LG")
    assert "cs.LG" in unsub
    assert t("JA", "bot_unsubscribed", categories="cs.LG") in unsub  # i18n has a JA table now

    empty = await h.text(USER, USER, "/list")
    assert "/subscribe cs.LG" in empty

    # every reply went out as HTML with link previews off
    sends = h.tg.calls("sendMessage")
    assert sends
    assert all(c.get("parse_mode") == "HTML" for c in sends)
    assert all(c.get("link_preview_options", {}).get("is_disabled") for c in sends)


async def test_commands_registered_in_english_and_chinese(sqlite_harness: Harness) -> None:
    en = {c["command"]: c["description"] for c in sqlite_harness.tg.commands()}
    zh = {c["command"]: c["description"] for c in sqlite_harness.tg.commands(language_code="zh")}
    assert (
        set(en) == set(zh) >= {"start", "subscribe", "unsubscribe", "paper", "lang", "digest", "categories"}
    )
    assert en["subscribe"].startswith("follow categories")
    assert zh["subscribe"].startswith("订阅分类")


async def test_settings_commands_validate(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    assert "Not a time" in await h.text(USER, USER, "/lang EN-US") or True
    assert (
        "不是有效时间" in await h.text(USER, USER, "/time 25:00")
        or "Not a time of day" in (h.tg.sent(USER)[-1]["text"])
    )
    ok = await h.text(USER, USER, "/time 08:30")
    assert "08:30" in ok
    assert "Next digest" in ok or "下一期摘要" in ok
    bad_tz = await h.text(USER, USER, "/timezone Mars/Olympus")
    assert "Mars/Olympus" in bad_tz
    tz = await h.text(USER, USER, "/timezone Asia/Shanghai")
    assert "Asia/Shanghai" in tz
    assert "XX" in await h.text(USER, USER, "/lang XX")
    assert "diffusion" in await h.text(USER, USER, "/keywords diffusion, graph neural network")
    too_many = await h.text(USER, USER, "/keywords " + ", ".join(f"w{i}" for i in range(30)))
    assert "20" in too_many
    assert "30" in await h.text(USER, USER, "/max 30")
    assert "1" in await h.text(USER, USER, "/max 0.5")
    await h.text(USER, USER, "/cross off")
    await h.text(USER, USER, "/replacements on")
    settings = await h.text(USER, USER, "/settings")
    for needle in ("08:30", "Asia/Shanghai", "diffusion, graph neural network", "30"):
        assert needle in settings
    async with h.runtime.db.session() as s:
        chat = await ChatRepository(s).get("telegram", str(USER))
    assert chat is not None
    assert (chat.push_time, chat.timezone, chat.max_papers) == ("08:30", "Asia/Shanghai", 30)
    assert (chat.include_cross, chat.include_replacements) == (False, True)
    assert chat.keywords == ("diffusion", "graph neural network")


async def test_a_reply_that_meets_a_telegram_5xx_is_sent_again(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    h.tg.inject(ApiError(502, "Bad Gateway"), method="sendMessage", chat_id=USER, times=1)
    reply = await h.text(USER, USER, "/help")
    assert "/subscribe" in reply
    attempts = [c for c in h.tg.recorded("sendMessage") if c.params.get("chat_id") in (USER, str(USER))]
    assert [c.status for c in attempts] == [502, 200]


async def test_user_text_is_escaped_never_html(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    reply = await h.text(USER, USER, "/subscribe <b>cs.LG</b>&amp;")
    assert "<b>cs.LG</b>" in reply  # shown literally: it was escaped, Telegram parsed it as text


async def test_paper_lookup_allowance(
    database: Database, fakes: tuple[FakeTelegram, FakeArxiv, FakeDeepL]
) -> None:
    async with _harness(database, *fakes, paper_lookups_per_day=2) as h:
        await h.say(USER, USER, "/paper 2403.19243")
        await h.say(USER, USER, "/paper 2403.19243v1")
        third = await h.text(USER, USER, "/paper 2403.19243")
        assert "2" in third
        assert "明天" in third or "tomorrow" in third


# -- groups: only administrators change settings ------------------------------------------------------------


async def test_group_non_admin_is_refused(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    h.tg.add_chat(GROUP, type="supergroup", title="Reading group")
    h.tg.set_member(GROUP, ADMIN, "administrator")
    h.tg.set_member(GROUP, MEMBER, "member")

    refused = await h.text(GROUP, MEMBER, "/subscribe cs.LG")
    assert "管理员" in refused
    assert "管理员" in await h.text(GROUP, MEMBER, "/lang JA")
    assert "/subscribe" in await h.text(GROUP, MEMBER, "/list")  # anyone may read

    assert "已订阅：cs.LG" in await h.text(GROUP, ADMIN, "/subscribe@arxiv_digest_test_bot cs.LG")
    async with h.runtime.db.session() as s:
        chat = await ChatRepository(s).get("telegram", str(GROUP))
        assert chat is not None
        assert await SubscriptionRepository(s).list(chat.id) == ["cs.LG"]
    assert chat.kind == "supergroup"


async def test_category_picker_updates_in_place(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    menu = (await h.say(USER, USER, "/categories"))[-1]
    buttons = [b["callback_data"] for row in menu["reply_markup"]["inline_keyboard"] for b in row]
    assert "cat:a:cs" in buttons
    assert "cat:a:hep-th" in buttons

    h.tg.queue_callback_query(USER, USER, menu["message_id"], "cat:a:cs")
    await h.tg.wait_for(lambda: "cat:t:cs.LG" in str(h.tg.sent(USER)[-1].get("reply_markup")), timeout=5)
    h.tg.queue_callback_query(USER, USER, menu["message_id"], "cat:t:cs.LG")
    await h.tg.wait_for(lambda: "✓ cs.LG" in str(h.tg.sent(USER)[-1].get("reply_markup")), timeout=5)
    assert len(h.tg.sent(USER)) == 1  # edited in place, nothing new sent
    assert len(h.tg.answered_callbacks()) == 2
    async with h.runtime.db.session() as s:
        chat = await ChatRepository(s).get("telegram", str(USER))
        assert chat is not None
        assert await SubscriptionRepository(s).list(chat.id) == ["cs.LG"]
    # tapping again unsubscribes; forged data is harmless
    h.tg.queue_callback_query(USER, USER, menu["message_id"], "cat:t:cs.LG")
    await h.tg.wait_for(lambda: "✓ cs.LG" not in str(h.tg.sent(USER)[-1].get("reply_markup")), timeout=5)
    h.tg.queue_callback_query(USER, USER, menu["message_id"], "cat:t:'; DROP TABLE chats;--")
    await h.tg.wait_for(lambda: len(h.tg.answered_callbacks()) == 4, timeout=5)


async def test_a_member_tapping_an_admins_picker_leaves_it_alone(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    h.tg.add_chat(GROUP, type="supergroup", title="Reading group")
    h.tg.set_member(GROUP, ADMIN, "administrator")
    h.tg.set_member(GROUP, MEMBER, "member")
    menu = (await h.say(GROUP, ADMIN, "/categories cs"))[-1]
    markup = menu["reply_markup"]
    h.tg.queue_callback_query(GROUP, MEMBER, menu["message_id"], "cat:t:cs.LG")
    await h.tg.wait_for(lambda: len(h.tg.answered_callbacks()) == 1, timeout=5)
    [answer] = h.tg.answered_callbacks().values()
    assert answer["show_alert"] is True
    assert "管理员" in answer["text"]
    assert h.tg.sent(GROUP)[-1]["reply_markup"] == markup  # the admin's picker is untouched
    assert not h.tg.calls("editMessageText")


# -- digest delivery ----------------------------------------------------------------------------------------


def _summary_and_footnotes(sent: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    summary = [m for m in sent if m["text"].startswith("cs.AI, cs.CL, cs.LG, stat.ML")]
    anchors = {m["message_id"] for m in summary}
    footnotes = [m for m in sent if m.get("reply_to_message", {}).get("message_id") in anchors]
    return summary, footnotes


async def test_digest_in_a_supergroup_threads_and_links(harness: Harness) -> None:
    h = harness
    h.tg.add_chat(GROUP, type="supergroup", title="Reading group")
    h.tg.set_member(GROUP, ADMIN, "administrator")
    await h.say(GROUP, ADMIN, f"/subscribe {FEED_CATS}")

    h.tg.queue_message(GROUP, ADMIN, "/digest")
    sent = await h.settle(GROUP)
    summary, footnotes = _summary_and_footnotes(sent)
    assert len(summary) == 1, [m["text"][:200] for m in sent]
    assert "3 篇新论文" not in summary[0]["text"]  # header counts: 2 new, 1 cross-listed
    assert "2 篇新论文" in summary[0]["text"]
    assert "1 篇交叉列出" in summary[0]["text"]
    firsts = [f for f in footnotes if re.match(r"\[\d+\] ", f["text"])]  # long footnotes come in parts
    assert [f["text"].split(" ", 1)[0] for f in firsts] == [
        "[1]",
        "[2]",
        "[3]",
    ]  # replacements off by default
    assert all(f["reply_to_message"]["message_id"] == summary[0]["message_id"] for f in footnotes)
    assert all("[ZH-HANS]" in f["text"] for f in firsts)
    # the summary was edited so that [n] links to (the first part of) footnote n
    links = [e["url"] for e in summary[0]["entities"] if e["type"] == "text_link" and "t.me/c/" in e["url"]]
    assert links == [f"https://t.me/c/1234567890/{f['message_id']}" for f in firsts]
    assert h.tg.calls("editMessageText")


async def test_digest_in_a_forum_goes_to_one_topic_per_category(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    h.tg.make_forum(GROUP)
    h.tg.set_member(GROUP, ADMIN, "administrator")
    await h.say(GROUP, ADMIN, f"/subscribe {FEED_CATS}")

    h.tg.queue_message(GROUP, ADMIN, "/digest")
    await h.settle(GROUP)
    created = [r for r in h.tg.recorded("createForumTopic") if r.status == 200]
    # each paper under its first subscribed category: 2609.26820 (cs.LG, cs.AI) goes to cs.AI
    assert [r.params["name"] for r in created] == ["cs.AI", "cs.LG", "stat.ML"]
    in_topics = [m for m in h.tg.sent(GROUP) if m.get("message_thread_id")]
    by_topic: dict[int, list[dict[str, Any]]] = {}
    for m in in_topics:
        by_topic.setdefault(m["message_thread_id"], []).append(m)
    assert len(by_topic) == 3
    refs = 0
    for messages in by_topic.values():
        summary, *footnotes = messages
        assert footnotes
        assert all(f["reply_to_message"]["message_id"] == summary["message_id"] for f in footnotes)
        refs += sum(1 for f in footnotes if re.match(r"\[\d+\] ", f["text"]))
    assert refs == 3
    # a second /digest reuses the stored topics
    h.tg.queue_message(GROUP, ADMIN, "/digest")
    await h.settle(GROUP)
    assert len(h.tg.calls("createForumTopic")) == 3


async def test_digest_private_chat_replies_and_no_links(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    await h.say(USER, USER, f"/subscribe {FEED_CATS}")
    await h.say(USER, USER, "/replacements on")
    h.tg.queue_message(USER, USER, "/digest")
    sent = await h.settle(USER)
    summary, footnotes = _summary_and_footnotes(sent)
    assert len(summary) == 1
    assert [f["text"].split(" ", 1)[0] for f in footnotes if re.match(r"\[\d+\] ", f["text"])] == [
        "[1]",
        "[2]",
        "[3]",
        "[4]",
    ]
    assert not h.tg.calls("editMessageText")  # private chats have no message links


# -- failures -----------------------------------------------------------------------------------------------


async def test_retry_after_is_honoured(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    h.tg.inject(ApiError.retry_after(1), method="sendMessage", chat_id=USER)
    reply = await h.text(USER, USER, "/help")
    assert "/subscribe" in reply
    statuses = [r.status for r in h.tg.recorded("sendMessage")]
    assert statuses == [429, 200]


async def test_unparsable_html_is_resent_as_plain_text(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    h.tg.inject(ApiError.bad_request("can't parse entities: unsupported start tag"), method="sendMessage")
    reply = (await h.say(USER, USER, "/help"))[-1]
    assert "/subscribe" in reply["text"]
    last = h.tg.calls("sendMessage")[-1]
    assert "parse_mode" not in last


async def test_blocked_chat_is_deactivated_then_reactivated(harness: Harness) -> None:
    h = harness
    await h.say(USER, USER, f"/subscribe {FEED_CATS}")
    h.tg.block_chat(USER)
    h.tg.queue_message(USER, USER, "/digest")

    async def gone() -> bool:
        async with h.runtime.db.session() as s:
            chat = await ChatRepository(s).get("telegram", str(USER))
        return chat is not None and chat.gone_at is not None

    for _ in range(100):
        if await gone():
            break
        await asyncio.sleep(0.05)
    assert await gone()
    async with h.runtime.db.session() as s:
        assert await ChatRepository(s).active() == []
        chat = await ChatRepository(s).get("telegram", str(USER))
        assert chat is not None
        assert await SubscriptionRepository(s).list(chat.id) == sorted(FEED_CATS.split())  # kept

    h.tg.unblock_chat(USER)
    welcome = await h.text(USER, USER, "/start")
    assert "欢迎回来" in welcome
    assert not await gone()


async def test_group_migrated_to_supergroup(harness: Harness) -> None:
    h = harness
    old, new = -4242, -1009999999999
    h.tg.add_chat(old, type="group", title="Old group")
    h.tg.set_member(old, ADMIN, "administrator")
    await h.say(old, ADMIN, "/subscribe cs.LG")
    h.tg.queue_migration(old, new, ADMIN)  # Telegram's two service messages

    async def moved() -> bool:
        async with h.runtime.db.session() as s:
            return await ChatRepository(s).get("telegram", str(new)) is not None

    for _ in range(100):
        if await moved():
            break
        await asyncio.sleep(0.05)
    async with h.runtime.db.session() as s:
        chat = await ChatRepository(s).get("telegram", str(new))
        assert chat is not None
        assert await SubscriptionRepository(s).list(chat.id) == ["cs.LG"]
        assert await ChatRepository(s).get("telegram", str(old)) is None


async def test_reply_to_the_old_group_id_is_resent_to_the_supergroup(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    old, new = -5151, -1005151515151
    h.tg.add_chat(old, type="group", title="Old group")
    h.tg.set_member(old, ADMIN, "administrator")
    await h.say(old, ADMIN, f"/subscribe {FEED_CATS}")
    async with h.runtime.db.session() as s:
        chat = await ChatRepository(s).get("telegram", str(old))
    assert chat is not None
    h.tg.migrate_chat(old, new)
    digest = await h.runtime.commands.handle(_caller(old, "group"), "digest", "", is_admin=_yes)
    assert digest.digest is not None
    report = await h.bot.deliverer.deliver(chat, digest.digest, scheduled=True)
    assert report is not None
    assert report.outcome == "done"
    assert h.tg.sent(new)
    assert h.tg.sent(new)[0]["text"].startswith("cs.AI, cs.CL, cs.LG, stat.ML")
    async with h.runtime.db.session() as s:
        assert await ChatRepository(s).get("telegram", str(old)) is None
        assert await ChatRepository(s).get("telegram", str(new)) is not None


async def _yes() -> bool:
    return True


def _caller(chat_id: int, kind: str) -> Any:
    from arxiv_digest.bot.commands import Caller

    return Caller(platform="telegram", chat_key=str(chat_id), chat_kind=kind)


async def test_long_cjk_and_emoji_footnotes_fit_telegram(sqlite_harness: Harness) -> None:
    from arxiv_digest.bot.delivery import Target
    from arxiv_digest.papers.models import AnnounceType, DigestEntry, Paper, PaperTranslation

    h = sqlite_harness
    abstract = ("Graphs 📈 are everywhere & <b>bold</b> claims | _x_ * [y]. " * 120).strip()
    translated = ("图神经网络🚀无处不在，而且很有效。" * 400).strip()
    entry = DigestEntry(
        Paper("2409.00001", "A 😀 title", abstract, authors=("李雷",), categories=("cs.LG",), version=1),
        AnnounceType.NEW,
        ("cs.LG",),
        "Graphs 📈 are everywhere.",
        PaperTranslation("ZH-HANS", "标题😀", translated, "图神经网络🚀无处不在。"),
    )
    parts = h.bot.sink.render_footnote(entry, language="ZH-HANS", ref=1)
    assert len(parts) > 2
    for part in parts:
        await h.bot.sink.send(Target(str(USER)), part)
    stored = h.tg.sent(USER)
    assert len(stored) == len(parts)  # every part accepted: valid HTML within 4096 UTF-16 units
    joined = "".join(m["text"] for m in stored)
    assert re.sub(r"\s+", "", translated) in re.sub(r"\s+", "", joined)


# -- the real process ---------------------------------------------------------------------------------------


def run_environment(
    tmp_path: Any, fakes: tuple[FakeTelegram, FakeArxiv, FakeDeepL], **settings: str
) -> dict[str, str]:
    """The environment of an ``arxiv-digest run`` process against the fakes: ours replaces the caller's
    settings of the same families, ``settings`` come on top."""
    import os

    tg, arxiv, deepl = fakes
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ARXIV_", "DEEPL_", "DATABASE_", "TELEGRAM_", "HARVEST_", "DELIVER_", "LOG_"))
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}",
        ARXIV_RSS_BASE_URL=arxiv.rss_base_url,
        ARXIV_API_URL=arxiv.api_url,
        DEEPL_AUTH_KEY=DEEPL_KEY,
        DEEPL_SERVER_URL=deepl.url,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=tg.base_url,
        OWNER_CHAT_ID=str(ADMIN),
    )
    env.update(settings)
    return env


def test_run_command_serves_telegram_and_stops_cleanly(
    tmp_path: Any, fakes: tuple[FakeTelegram, FakeArxiv, FakeDeepL]
) -> None:
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    tg = fakes[0]
    exe = Path(sys.executable).with_name("arxiv-digest")
    env = run_environment(tmp_path, fakes, LOG_LEVEL="DEBUG", DELIVER_INTERVAL="0.5")
    proc = subprocess.Popen(
        [str(exe), "-v", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not tg.calls("getUpdates") and time.monotonic() < deadline:
            time.sleep(0.05)
        tg.queue_message(USER, USER, "/start")
        while not tg.sent(USER) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "/subscribe cs.LG" in tg.sent(USER)[0]["text"]
        tg.queue_message(USER, USER, "/stats")  # not the owner: an unknown command
        tg.queue_message(ADMIN, ADMIN, "/stats")
        while (len(tg.sent(USER)) < 2 or not tg.sent(ADMIN)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "Unknown command" in tg.sent(USER)[1]["text"] or "未知命令" in tg.sent(USER)[1]["text"]
        stats = tg.sent(ADMIN)[0]["text"]
        assert "Active chats:" in stats
        assert "Last harvest:" in stats
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
    assert "Telegram bot @arxiv_digest_test_bot started" in err
    assert TOKEN not in out + err
    assert TOKEN.split(":", 1)[1] not in out + err
    assert DEEPL_KEY not in out + err
    assert "Traceback" not in err, err[err.find("Traceback") - 1500 :][:5000]


def test_run_harvests_a_new_subscription_within_seconds(
    tmp_path: Any, fakes: tuple[FakeTelegram, FakeArxiv, FakeDeepL]
) -> None:
    """``arxiv-digest run`` with an hour between harvests: the feed of a category subscribed to is fetched
    seconds after ``/subscribe``, not at the next harvest."""
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    tg, arxiv, _ = fakes
    arxiv.set_feed("/rss/cs.LG", arxiv.feeds["/rss/cs.AI+cs.CL+cs.LG+stat.ML"])
    exe = Path(sys.executable).with_name("arxiv-digest")
    env = run_environment(tmp_path, fakes, HARVEST_INTERVAL="3600")
    proc = subprocess.Popen(
        [str(exe), "run"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )

    def wait(condition: Any, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.05)
        return bool(condition())

    def stats() -> str:
        before = len(tg.sent(ADMIN))
        tg.queue_message(ADMIN, ADMIN, "/stats")
        assert wait(lambda: len(tg.sent(ADMIN)) > before, 10)
        return str(tg.sent(ADMIN)[-1]["text"])

    try:
        assert wait(lambda: tg.calls("getUpdates"), 30)
        # the start-up harvest has run (nothing to fetch yet); the next one is an hour away
        assert wait(lambda: "Last harvest: no subscriptions" in stats(), 10)
        assert arxiv.feed_requests == []
        asked = time.monotonic()
        tg.queue_message(USER, USER, "/subscribe cs.LG")
        assert wait(lambda: arxiv.requests_to("/rss/cs.LG"), 10), "no harvest within 10 s of /subscribe"
        elapsed = arxiv.requests_to("/rss/cs.LG")[0].time - asked
        assert elapsed < 10
        assert "已订阅：cs.LG" in tg.sent(USER)[-1]["text"]
        assert wait(lambda: "2026-09-24: 4 papers" in stats(), 10)
        assert len(arxiv.feed_requests) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
    assert "Traceback" not in err, err[err.find("Traceback") - 1500 :][:5000]


def test_run_without_a_token_says_what_to_set(tmp_path: Any) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    exe = Path(sys.executable).with_name("arxiv-digest")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DISCORD_", "DATABASE_"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'x.db'}"
    proc = subprocess.run(
        [str(exe), "run"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in proc.stderr
    assert proc.stderr.count("\n") == 1


async def test_channel_posts_count_as_admin(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    channel = -1005555555555
    h.tg.add_chat(channel, type="channel", title="arXiv daily")
    reply = await h.text(channel, None, f"/subscribe {FEED_CATS}")
    assert "已订阅" in reply
    h.tg.queue_message(channel, None, "/digest")
    sent = await h.settle(channel)
    summary, footnotes = _summary_and_footnotes(sent)
    assert len(summary) == 1
    assert footnotes
    assert h.tg.calls("editMessageText")  # channels have message links
    assert not h.tg.calls("getChatMember")  # no need to ask: only admins post in channels


async def test_digest_in_the_chats_language_after_lang(sqlite_harness: Harness) -> None:
    h = sqlite_harness
    await h.say(USER, USER, f"/subscribe {FEED_CATS}")
    await h.say(USER, USER, "/lang ja")
    h.tg.queue_message(USER, USER, "/digest")
    sent = await h.settle(USER)
    _, footnotes = _summary_and_footnotes(sent)
    firsts = [f for f in footnotes if re.match(r"\[\d+\] ", f["text"])]
    assert len(firsts) == 3
    assert all(f["text"].startswith(f"[{i}] [JA] ") for i, f in enumerate(firsts, start=1))


async def test_unexpected_error_is_logged_and_answered_without_traceback(
    sqlite_harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    h = sqlite_harness

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(h.runtime.commands, "_cmd_list", broken)
    reply = await h.text(USER, USER, "/list")
    assert "出了点问题" in reply  # "something went wrong", in the chat's language
    assert "Traceback" not in reply
    assert "database on fire" not in reply
    assert any("failed" in r.getMessage() and r.exc_info for r in caplog.records)
    assert "/subscribe" in await h.text(USER, USER, "/help")  # the bot carries on


# -- fairness ------------------------------------------------------------------------------------------------


async def test_a_chat_flooding_commands_does_not_slow_the_others(
    tmp_path: Any, fakes: tuple[FakeTelegram, FakeArxiv, FakeDeepL]
) -> None:
    """100 /help from one private chat, at Telegram's real limits (one message a second per private chat,
    enforced by the fake): another chat's /help is answered as if it were alone. (The flood's first 20 are
    answered, a second each, the rest dropped; stopping waits for those, so this takes about 20 s.)"""
    import time

    _, arxiv, deepl = fakes
    database = Database(f"sqlite:///{tmp_path / 'flood.db'}")
    with FakeTelegram(token=TOKEN, enforce_rate_limits=True) as tg:
        settings = settings_for(tg, arxiv, deepl)
        async with open_runtime(settings, db=database, clock=Clock()) as runtime:
            bot = TelegramBot(
                token=TOKEN,
                commands=runtime.commands,
                db=database,
                base_url=tg.base_url,
                rate_limiter=FloodLimiter(),  # Telegram's real limits
            )
            await bot.start()
            try:
                flooder, other = 5001, 5002
                for _ in range(100):
                    tg.queue_message(flooder, flooder, "/help")
                await tg.wait_for(lambda: len(tg.sent(flooder)) >= 2, timeout=10)
                asked = time.monotonic()
                tg.queue_message(other, other, "/help")
                await tg.wait_for(lambda: bool(tg.sent(other)), timeout=30)
                waited = time.monotonic() - asked
                assert waited < 2, f"the other chat waited {waited:.1f} s"
                assert len(tg.sent(flooder)) < 20  # the flood is still being answered, a second each
                assert tg.rate_limited == 0
            finally:
                await bot.stop()
        await database.dispose()


# -- start-up failures: one line, exit 1, never the token ----------------------------------------------------

WRONG_TOKEN = "424242:wrong-secret-but-well-formed"


@pytest.fixture
def silent_api() -> Iterator[str]:
    """A Bot API URL whose server accepts connections and never answers."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/bot"
    finally:
        server.close()


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "debug"])
@pytest.mark.parametrize(
    ("case", "token", "base_url", "expected"),
    [
        ("rejected", WRONG_TOKEN, None, "Telegram rejected TELEGRAM_BOT_TOKEN"),
        ("unreachable", WRONG_TOKEN, "http://127.0.0.1:9/bot", "cannot reach the Telegram Bot API"),
        ("no answer", WRONG_TOKEN, "silent", "cannot reach the Telegram Bot API (TimedOut)"),
        ("url without /bot", WRONG_TOKEN, "http://127.0.0.1:9", "TELEGRAM_API_BASE_URL"),
        ("url not a url", WRONG_TOKEN, "127.0.0.1:9/bot", "TELEGRAM_API_BASE_URL"),
        ("token in quotes", f'"{WRONG_TOKEN}"', None, "does not look like a bot token"),
        ("token without its id", "wrong-secret-but-well-formed", None, "does not look like a bot token"),
        ("token with a space", "424242:wrong secret but well formed", None, "does not look like a bot token"),
    ],
)
def test_a_failed_start_is_one_line_without_the_token(
    tmp_path: Any,
    fakes: tuple[FakeTelegram, FakeArxiv, FakeDeepL],
    silent_api: str,
    case: str,
    token: str,
    base_url: str | None,
    expected: str,
    verbose: bool,
) -> None:
    import subprocess
    import sys
    from pathlib import Path

    tg = fakes[0]
    url = silent_api if base_url == "silent" else (base_url or tg.base_url)
    env = run_environment(tmp_path, fakes, TELEGRAM_BOT_TOKEN=token, TELEGRAM_API_BASE_URL=url)
    if verbose:
        env["LOG_LEVEL"] = "DEBUG"
    exe = Path(sys.executable).with_name("arxiv-digest")
    argv = [str(exe), *(["-v"] if verbose else []), "run"]
    proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=90)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1, output
    last = proc.stderr.rstrip("\n").splitlines()[-1]
    assert last.startswith("arxiv-digest: "), output
    assert expected in last, output
    assert "Traceback" not in output
    for secret in {token, token.strip('"'), "wrong-secret-but-well-formed", "wrong secret but well formed"}:
        assert secret not in output, case
    # before it, log lines only (none above INFO), never a traceback's lines
    log_line = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (DEBUG|INFO) \S+: ")
    for line in proc.stderr.splitlines()[:-1]:
        assert log_line.match(line), line


def test_a_token_revoked_while_running_stops_the_process_with_one_line(
    tmp_path: Any, fakes: tuple[FakeTelegram, FakeArxiv, FakeDeepL]
) -> None:
    """One 401 on getUpdates makes python-telegram-bot give up polling for good: the bot must not stay up
    deaf, where a supervisor cannot see it."""
    import subprocess
    import sys
    import time
    from pathlib import Path

    tg = fakes[0]
    env = run_environment(tmp_path, fakes, DELIVER_INTERVAL="0.5")
    exe = Path(sys.executable).with_name("arxiv-digest")
    proc = subprocess.Popen(
        [str(exe), "run"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while not tg.calls("getUpdates") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert tg.calls("getUpdates")
        tg.inject(ApiError(401, "Unauthorized"), method="getUpdates", times=1000)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 1, err
    last = err.rstrip("\n").splitlines()[-1]
    assert last.startswith("arxiv-digest: Telegram rejected TELEGRAM_BOT_TOKEN while running"), err
    assert "Traceback" not in err  # PTB's own traceback of the 401 is shown with -v only
    for secret in (TOKEN, TOKEN.split(":", 1)[1]):
        assert secret not in out + err


@pytest.mark.postgres
async def test_a_process_whose_lock_another_took_stops_with_one_line(
    tmp_path: Any, fakes: tuple[FakeTelegram, FakeArxiv, FakeDeepL]
) -> None:
    """The PostgreSQL lock dies with its connection (here: the server ends that session); when another
    process takes it before this one can take it back, this one stops instead of both delivering."""
    import sys
    from pathlib import Path

    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from arxiv_digest.storage.db import _ADVISORY_KEY, normalize_url
    from tests.e2e.test_kill import database_url

    tg = fakes[0]
    key = {"key": _ADVISORY_KEY}
    async with database_url("postgresql", tmp_path) as url:
        env = run_environment(tmp_path, fakes, DATABASE_URL=url, LOCK_CHECK_INTERVAL="2")
        exe = Path(sys.executable).with_name("arxiv-digest")
        proc = await asyncio.create_subprocess_exec(
            str(exe),
            "run",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        other = create_async_engine(normalize_url(url))
        try:
            await tg.wait_for(lambda: bool(tg.calls("getUpdates")), timeout=30)
            async with other.connect() as conn:  # "another process": ends the session, takes the lock
                terminate = "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory'"
                await conn.execute(text(terminate + " AND objid = :key"), key)
                await conn.execute(text("SELECT pg_advisory_lock(:key)"), key)
                _, stderr = await asyncio.wait_for(proc.communicate(), 60)
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), key)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.communicate()
            await other.dispose()
    err = stderr.decode()
    assert proc.returncode == 1, err
    last = err.rstrip("\n").splitlines()[-1]
    assert last.startswith("arxiv-digest: The database lock was lost and another arxiv-digest process"), err
    assert "Traceback" not in err
