"""The Discord bot (``bot/discord/app.py``) driven through the fake Discord: the real discord.py client, the
real runtime pieces (``open_runtime``: commands, digests, arXiv and DeepL clients against their fakes), SQLite
(PostgreSQL too for the digest delivery).

Every test ends with the same checks (the ``harness`` fixture): nothing the bot sent would ping anyone
(``fake.pings() == []``, every message carrying ``allowed_mentions`` that allow nothing), no log line holds
the token, the fake saw no internal error.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord
import pytest
import yarl

from arxiv_digest.bot.commands import ADMIN_ONLY
from arxiv_digest.bot.delivery import Outgoing, PlatformFailed, Target
from arxiv_digest.bot.discord.app import (
    SLASH_COMMANDS,
    DiscordBot,
    apply_endpoints,
    check_token,
    deepl_language,
    help_text,
)
from arxiv_digest.bot.runtime import Runtime, open_runtime
from arxiv_digest.bot.settings import Settings
from arxiv_digest.formatters.i18n import t
from arxiv_digest.storage.db import Database
from arxiv_digest.storage.repositories import ChatRepository, SubscriptionRepository
from tests.doubles import Clock
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.deepl_server import FakeDeepL
from tests.fakes.discord_server import Failure, FakeDiscord, FakeUser, Permission

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GfAkEx.fake-discord-bot-token"
APP_ID = 123456789012345678  # the token's first part is base64 of it, as on Discord
DEEPL_KEY = "discord-deepl-key:fx"
GUILD = 710000000000000001
TEXT = 710000000000000011
FORUM = 710000000000000012
ADMIN = 810000000000000001  # Manage Channels
MEMBER = 810000000000000002  # @everyone's permissions only
DM_USER = 810000000000000003
OWNER = 810000000000000004
MANAGE_CHANNELS = int(Permission.MANAGE_CHANNELS)
ADMIN_PERMISSIONS = int(Permission.MANAGE_CHANNELS | Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES)
FEED_COMBINED = "/rss/cs.AI+cs.CL+cs.LG+stat.ML"
PAPER_TITLE = "Efficient Test-Time Adaptation @everyone <@810000000000000002> via Entropy & Margins"
EPHEMERAL = 1 << 6
LOADING = 1 << 7
DEFERRED = 5
ANSWER = 4


def plain(text: str) -> str:
    """Discord Markdown as shown: escapes dropped, zero-width spaces (neutralised mentions) removed."""
    return re.sub(r"\\(.)", r"\1", text).replace("\u200b", "")


@dataclass
class Answer:
    """An interaction's answer: its callback type and the messages it produced (original first)."""

    iid: int
    kind: int
    messages: list[dict[str, Any]]

    @property
    def text(self) -> str:
        return "\n".join(plain(m.get("content") or "") for m in self.messages)

    @property
    def ephemeral(self) -> bool:
        return all(int(m["flags"]) & EPHEMERAL for m in self.messages)

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return [e for m in self.messages for e in m.get("embeds") or []]


@dataclass
class Harness:
    fake: FakeDiscord
    arxiv: FakeArxiv
    deepl: FakeDeepL
    bot: DiscordBot
    runtime: Runtime
    db: Database

    def _answered(self, iid: int) -> bool:
        callbacks = self.fake.callbacks(iid)
        if not callbacks:
            return False
        if callbacks[0]["type"] == DEFERRED:
            original = self.fake.original(iid)
            return original is not None and not int(original["flags"]) & LOADING
        return True

    async def answer(self, iid: int, *, settle: float = 0.2) -> Answer:
        await self.fake.wait_for(lambda: self._answered(iid), timeout=15)
        count = -1
        while count != len(self.fake.followups(iid)):  # follow-ups still coming
            count = len(self.fake.followups(iid))
            await asyncio.sleep(settle)
        kind = int(self.fake.callbacks(iid)[0]["type"])
        original = self.fake.original(iid)
        messages = [original] if original is not None else []
        messages += [m for m in self.fake.followups(iid) if original is None or m["id"] != original["id"]]
        return Answer(iid, kind, messages)

    async def slash(
        self,
        channel: int | None,
        user: int,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        guild: int | None = GUILD,
        locale: str = "en-US",
    ) -> Answer:
        """``user`` runs ``/name options`` in ``channel`` (``guild=None``: their DM); its answer."""
        iid = self.fake.slash(
            guild if channel is not None else None, channel, user, name, options, locale=locale
        )
        return await self.answer(iid)

    async def dm(self, user: int, name: str, options: dict[str, Any] | None = None, **kw: Any) -> Answer:
        return await self.slash(None, user, name, options, guild=None, **kw)

    async def choices(
        self, name: str, option: str, typed: str, *, others: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        iid = self.fake.autocomplete(
            GUILD, TEXT, ADMIN, name, {**(others or {}), option: typed}, focused=option
        )
        await self.fake.wait_for(lambda: bool(self.fake.callbacks(iid)), timeout=5)
        (callback,) = self.fake.callbacks(iid)
        assert callback["type"] == 8
        return list(callback["data"]["choices"])

    async def chat(self, key: int) -> Any:
        async with self.db.session() as s:
            return await ChatRepository(s).get("discord", str(key))

    async def subscriptions(self, key: int) -> list[str]:
        async with self.db.session() as s:
            chat = await ChatRepository(s).get("discord", str(key))
            return [] if chat is None else await SubscriptionRepository(s).list(chat.id)


@pytest.fixture
def fakes() -> Iterator[tuple[FakeDiscord, FakeArxiv, FakeDeepL]]:
    with (
        FakeDiscord(token=TOKEN, application_id=APP_ID, scale=20) as fake,
        FakeArxiv() as arxiv,
        FakeDeepL(auth_key=DEEPL_KEY) as deepl,
    ):
        fake.add_guild(GUILD, name="Physics")
        fake.add_text_channel(GUILD, TEXT, name="papers")
        fake.add_forum_channel(GUILD, FORUM, name="digests")
        fake.add_member(GUILD, FakeUser(ADMIN, "ada", "Ada"), permissions=ADMIN_PERMISSIONS)
        fake.add_member(GUILD, FakeUser(MEMBER, "bob", "Bob"))
        fake.add_user(DM_USER, username="carol", global_name="Carol")
        fake.add_user(OWNER, username="olga", global_name="Olga")
        arxiv.add_paper(
            "2403.19243",
            title=PAPER_TITLE,
            abstract="Test-time adaptation is popular. We propose a margin rule for $x_i < y$ that adapts "
            "models at test time. Experiments on ImageNet-C confirm it.",
            categories=("cs.LG", "cs.CV"),
            authors=("Zoë Müller", "李雷"),
        )
        arxiv.set_feed("/rss/cs.LG", arxiv.feeds[FEED_COMBINED])
        yield fake, arxiv, deepl
        assert fake.internal_errors == []


@pytest.fixture(autouse=True)
def _restore_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    """``apply_endpoints`` changes discord.py's class attributes: put them back after each test."""
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    )


def settings_for(arxiv: FakeArxiv, deepl: FakeDeepL, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": "sqlite:///unused.db",
        "arxiv_rss_base_url": arxiv.rss_base_url,
        "arxiv_api_url": arxiv.api_url,
        "arxiv_min_interval": 0,
        "arxiv_timeout": 5,
        "deepl_auth_key": DEEPL_KEY,
        "deepl_server_url": deepl.url,
        "default_language": "ZH-HANS",
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@asynccontextmanager
async def _harness(
    db: Database,
    fakes: tuple[FakeDiscord, FakeArxiv, FakeDeepL],
    caplog: pytest.LogCaptureFixture,
    **options: Any,
) -> AsyncIterator[Harness]:
    fake, arxiv, deepl = fakes
    caplog.set_level(logging.DEBUG)
    apply_endpoints(fake.api_base, fake.gateway_url)
    async with open_runtime(settings_for(arxiv, deepl), db=db, clock=Clock()) as runtime:
        bot = DiscordBot(token=TOKEN, commands=runtime.commands, db=db, guild_ready_timeout=0.05, **options)
        await bot.start()
        try:
            yield Harness(fake, arxiv, deepl, bot, runtime, db)
        finally:
            await bot.stop()
    assert fake.pings() == []
    sent = [r for r in fake.recorded() if r.method in ("POST", "PATCH") and isinstance(r.json, dict)]
    for request in sent:
        if "content" in request.json or "embeds" in request.json:
            assert request.json.get("allowed_mentions") == {"parse": []}, request.route
        message = request.json.get("data") if "callback" in request.route else None
        if isinstance(message, dict) and ("content" in message or "embeds" in message):
            assert message.get("allowed_mentions") == {"parse": []}, request.route
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert TOKEN not in logged
    assert TOKEN.split(".")[-1] not in logged


@pytest.fixture
async def harness(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeArxiv, FakeDeepL], caplog: pytest.LogCaptureFixture
) -> AsyncIterator[Harness]:
    db = Database(f"sqlite:///{tmp_path / 'bot.db'}")
    try:
        await db.upgrade()
        async with _harness(db, fakes, caplog) as h:
            yield h
    finally:
        await db.dispose()


# -- registration --------------------------------------------------------------------------------------------


async def test_commands_are_synced_once_with_options_permissions_and_localisations(harness: Harness) -> None:
    h = harness
    commands = {c["name"]: c for c in h.fake.commands()}
    assert set(commands) == {*SLASH_COMMANDS, "stats"}
    assert "start" not in commands
    assert len(h.fake.recorded("PUT /applications/{application_id}/commands")) == 1
    options = {
        name: [(o["name"], o.get("required", False)) for o in c.get("options", [])]
        for name, c in commands.items()
    }
    assert options["subscribe"] == [("categories", True)]
    assert options["unsubscribe"] == [("categories", True)]
    assert options["categories"] == [("archive", False)]
    assert options["paper"] == [("id", True)]
    assert options["lang"] == [("code", False)]
    assert options["time"] == [("at", False)]
    assert options["timezone"] == [("zone", False)]
    assert options["cross"] == options["replacements"] == [("state", False)]
    assert options["keywords"] == [("words", False)]
    assert options["max"] == [("limit", False)]
    for name in ("list", "settings", "digest", "help", "stats"):
        assert options[name] == []
    state = commands["cross"]["options"][0]
    assert [c["value"] for c in state["choices"]] == ["on", "off"]
    assert state["choices"][0]["name_localizations"]["zh-CN"] == "开"
    autocompleted = {
        (name, o["name"])
        for name, c in commands.items()
        for o in c.get("options", [])
        if o.get("autocomplete")
    }
    assert autocompleted == {
        ("subscribe", "categories"),
        ("unsubscribe", "categories"),
        ("categories", "archive"),
        ("lang", "code"),
        ("timezone", "zone"),
    }
    for name, command in commands.items():
        expected = str(MANAGE_CHANNELS) if name in ADMIN_ONLY else None
        if name == "stats":
            expected = str(int(Permission.ADMINISTRATOR))
        assert command["default_member_permissions"] == expected, name
        assert sorted(command["contexts"]) == [0, 1], name  # servers and the bot's DMs
        assert 1 <= len(command["description"]) <= 100
    subscribe = commands["subscribe"]
    assert subscribe["description"] == t("EN-US", "cmd_subscribe")
    assert subscribe["description_localizations"] == {
        "zh-CN": t("ZH-HANS", "cmd_subscribe"),
        "zh-TW": t("ZH-HANT", "cmd_subscribe"),
        "ja": t("JA", "cmd_subscribe"),
        "de": t("DE", "cmd_subscribe"),
    }
    assert subscribe["options"][0]["description_localizations"]["ja"] == t("JA", "dc_opt_categories")
    assert h.fake.commands(GUILD) == []  # global, not per server
    assert h.fake.identify_payloads()[0]["intents"] == discord.Intents.default().value  # nothing privileged


async def test_commands_go_to_the_development_server_when_one_is_set(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeArxiv, FakeDeepL], caplog: pytest.LogCaptureFixture
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'dev.db'}")
    try:
        async with _harness(db, fakes, caplog, dev_guild_id=GUILD) as h:
            assert {c["name"] for c in h.fake.commands(GUILD)} == {*SLASH_COMMANDS, "stats"}
            assert h.fake.commands() == []
            answer = await h.slash(TEXT, MEMBER, "help")
            assert "/subscribe" in answer.text
    finally:
        await db.dispose()


# -- every command, in a direct message ---------------------------------------------------------------------


async def test_every_command_with_good_and_bad_arguments_in_a_dm(harness: Harness) -> None:
    h = harness
    assert (await h.dm(DM_USER, "help")).text == help_text("EN-US")  # a DM starts in the user's language
    help_ = (await h.dm(DM_USER, "help")).text
    assert "/start" not in help_
    assert all(f"/{name} - " in help_ for name in SLASH_COMMANDS)
    chat = await h.chat(h.fake.dm_channel(DM_USER))
    assert (chat.kind, chat.title, chat.language, chat.guild_key) == ("dm", "Carol", "EN-US", None)

    subscribed = await h.dm(DM_USER, "subscribe", {"categories": "cs.LG, stat.ML"})
    assert subscribed.kind == DEFERRED
    assert "Subscribed: cs.LG, stat.ML." in subscribed.text
    assert "Next digest:" in subscribed.text
    assert not subscribed.ephemeral
    assert "Already subscribed: cs.LG." in (await h.dm(DM_USER, "subscribe", {"categories": "cs.lg"})).text
    unknown = (await h.dm(DM_USER, "subscribe", {"categories": "cs.FOO"})).text
    assert "Unknown category: cs.FOO." in unknown
    assert "cs." in unknown.split("Unknown category: cs.FOO.", 1)[1]  # a suggestion
    assert await h.subscriptions(h.fake.dm_channel(DM_USER)) == ["cs.LG", "stat.ML"]

    listing = (await h.dm(DM_USER, "list")).text
    assert "cs.LG (Machine Learning)" in listing
    assert "Unsubscribed: stat.ML." in (await h.dm(DM_USER, "unsubscribe", {"categories": "stat.ML"})).text
    assert "Not subscribed: math.OC." in (await h.dm(DM_USER, "unsubscribe", {"categories": "math.OC"})).text

    menu = await h.dm(DM_USER, "categories")
    assert menu.text == t("EN-US", "bot_pick_archive")
    assert menu.messages[0]["components"]
    cs = await h.dm(DM_USER, "categories", {"archive": "cs"})
    assert "cs - Computer Science" in cs.text
    bogus = await h.dm(DM_USER, "categories", {"archive": "nope"})
    assert bogus.text == t("EN-US", "bot_pick_archive")

    bad_paper = await h.dm(DM_USER, "paper", {"id": "nonsense"})
    assert "Not an arXiv id: nonsense" in bad_paper.text
    missing = await h.dm(DM_USER, "paper", {"id": "2609.99999"})
    assert "2609.99999 was not found on arXiv" in missing.text

    assert "Unsupported language: XX" in (await h.dm(DM_USER, "lang", {"code": "XX"})).text
    assert "Current language: EN-US" in (await h.dm(DM_USER, "lang")).text
    assert "Not a time of day: 25:00" in (await h.dm(DM_USER, "time", {"at": "25:00"})).text
    assert "Push time: 08:30 (UTC)." in (await h.dm(DM_USER, "time", {"at": "08:30"})).text
    assert (
        "Unknown time zone: Mars/Olympus" in (await h.dm(DM_USER, "timezone", {"zone": "Mars/Olympus"})).text
    )
    assert "Time zone: Asia/Shanghai." in (await h.dm(DM_USER, "timezone", {"zone": "asia/shanghai"})).text
    assert "(now on)" in (await h.dm(DM_USER, "cross")).text
    assert "Cross-lists: off." in (await h.dm(DM_USER, "cross", {"state": "off"})).text
    assert "Replacements: on." in (await h.dm(DM_USER, "replacements", {"state": "on"})).text
    assert (
        "Only papers mentioning: diffusion, graph neural network."
        in (await h.dm(DM_USER, "keywords", {"words": "diffusion, graph neural network"})).text
    )
    too_many = (await h.dm(DM_USER, "keywords", {"words": ", ".join(f"w{i}" for i in range(30))})).text
    assert "at most 20" in too_many
    assert "At most 30 papers per digest." in (await h.dm(DM_USER, "max", {"limit": "30"})).text
    assert "Usage: /max N (1 to 200)" in (await h.dm(DM_USER, "max", {"limit": "0.5"})).text
    settings = (await h.dm(DM_USER, "settings")).text
    for needle in ("cs.LG", "08:30", "Asia/Shanghai", "diffusion, graph neural network", "Cross-lists: off"):
        assert needle in settings
    assert "Unknown command" in (await h.dm(DM_USER, "stats")).text  # not the owner
    chat = await h.chat(h.fake.dm_channel(DM_USER))
    assert (chat.push_time, chat.timezone, chat.max_papers) == ("08:30", "Asia/Shanghai", 30)
    assert (chat.include_cross, chat.include_replacements) == (False, True)
    assert chat.keywords == ("diffusion", "graph neural network")


async def test_user_text_is_escaped_and_pings_nobody(harness: Harness) -> None:
    h = harness
    everyone = await h.slash(TEXT, ADMIN, "subscribe", {"categories": "@everyone"})
    assert "@\u200beveryone" in everyone.messages[0]["content"]  # neutralised (and allowed_mentions: none)
    assert "@everyone" in everyone.text
    member = await h.slash(TEXT, ADMIN, "subscribe", {"categories": "<@810000000000000002>"})
    assert "<\u200b@810000000000000002" in member.messages[0]["content"]
    markdown = await h.slash(TEXT, ADMIN, "subscribe", {"categories": "**x**"})
    assert "\\*\\*x\\*\\*" in markdown.messages[0]["content"]  # shown as typed, not bold
    # (the harness checks fake.pings() == [] and the allowed_mentions of every request)


# -- the three-second rule -----------------------------------------------------------------------------------


async def test_slow_commands_defer_first_and_quick_ones_answer_at_once(harness: Harness) -> None:
    h = harness
    for name, options in [
        ("subscribe", {"categories": "cs.LG"}),
        ("lang", {"code": "DE"}),
        ("paper", {"id": "2403.19243"}),
        ("digest", None),
    ]:
        answer = await h.slash(TEXT, ADMIN, name, options)
        assert answer.kind == DEFERRED, name
        assert answer.messages, name
    for name in ("help", "list", "settings", "categories"):
        assert (await h.slash(TEXT, ADMIN, name)).kind == ANSWER, name
    # a deferred /digest answers privately; the digest itself is in the channel
    digest = h.fake.callbacks((await h.slash(TEXT, ADMIN, "digest")).iid)[0]
    assert int(digest["data"]["flags"]) & EPHEMERAL


# -- permissions ---------------------------------------------------------------------------------------------


def grant_to_everyone(fake: FakeDiscord, name: str) -> None:
    """What a server administrator does in Server Settings > Integrations: the command is usable by every
    member (the fake has no such setting: its stored default permissions are dropped)."""
    with fake._lock:
        for scope in fake._commands.values():
            for command in scope:
                if command["name"] == name:
                    command["default_member_permissions"] = None


async def test_a_member_without_manage_channels_is_refused(harness: Harness) -> None:
    h = harness
    for name, options in [("subscribe", {"categories": "cs.LG"}), ("lang", {"code": "JA"}), ("digest", None)]:
        with pytest.raises(ValueError, match="lacks default_member_permissions"):
            h.fake.slash(GUILD, TEXT, MEMBER, name, options)  # Discord does not even offer it
    for name in ("list", "help", "settings", "categories"):  # browsing is for everyone
        assert (await h.slash(TEXT, MEMBER, name)).kind == ANSWER
    assert (await h.slash(TEXT, MEMBER, "paper", {"id": "2403.19243"})).embeds

    grant_to_everyone(h.fake, "subscribe")
    grant_to_everyone(h.fake, "digest")
    refused = await h.slash(TEXT, MEMBER, "subscribe", {"categories": "cs.LG"})
    assert refused.kind == ANSWER  # refused at once, not deferred
    assert refused.ephemeral
    assert refused.text == t("ZH-HANS", "bot_admins_only")  # the channel's language
    assert await h.subscriptions(TEXT) == []
    assert (await h.slash(TEXT, MEMBER, "digest")).text == t("ZH-HANS", "bot_admins_only")
    # the same member, with Manage Channels in this channel, may
    ok = await h.slash(TEXT, ADMIN, "subscribe", {"categories": "cs.LG"})
    assert "已订阅：cs.LG" in ok.text
    assert await h.subscriptions(TEXT) == ["cs.LG"]
    chat = await h.chat(TEXT)
    assert (chat.kind, chat.title, chat.guild_key) == ("text", "papers", str(GUILD))
    # a server's Administrator has every permission
    owner_answer = await h.slash(TEXT, h.fake.owner.id, "unsubscribe", {"categories": "cs.LG"})
    assert "已取消订阅" in owner_answer.text or "cs.LG" in owner_answer.text
    assert await h.subscriptions(TEXT) == []


async def test_the_owners_stats(harness: Harness) -> None:
    h = harness

    async def stats() -> str:
        return "Active chats: 1; categories followed: 1"

    h.runtime.commands.stats = stats
    h.runtime.commands.owner = ("discord", str(OWNER))
    mine = await h.dm(OWNER, "stats")
    assert mine.text == "Active chats: 1; categories followed: 1"
    assert mine.ephemeral
    assert "Unknown command" in (await h.dm(DM_USER, "stats")).text
    h.runtime.commands.owner = ("discord", str(TEXT))  # a channel of the owner's
    in_channel = await h.slash(TEXT, h.fake.owner.id, "stats")
    assert in_channel.text.startswith("Active chats:")
    assert in_channel.ephemeral


# -- autocomplete --------------------------------------------------------------------------------------------


async def test_autocomplete_filters_by_what_is_typed(harness: Harness) -> None:
    h = harness
    cats = await h.choices("subscribe", "categories", "cs.L")
    assert [c["value"] for c in cats] == ["cs.LG", "cs.LO"]
    assert cats[0]["name"] == "cs.LG — Machine Learning"
    following = await h.choices("subscribe", "categories", "cs.LG st")
    assert [c["value"] for c in following[:3]] == ["cs.LG stat", "cs.LG stat.AP", "cs.LG stat.CO"]
    assert all(c["value"].startswith("cs.LG ") for c in following)
    assert "cs.LG cs.LG" not in {c["value"] for c in await h.choices("subscribe", "categories", "cs.LG cs.L")}
    by_name = await h.choices("subscribe", "categories", "quantum")
    assert "quant-ph" in {c["value"] for c in by_name}
    assert len(await h.choices("subscribe", "categories", "")) == 25
    assert (await h.choices("unsubscribe", "categories", "a"))[0]["value"] == "all"
    archives = [c["value"] for c in await h.choices("categories", "archive", "ma")]
    assert archives[:2] == ["math-ph", "math"]  # ids starting with it (in the taxonomy's order) first
    assert "cond-mat" in archives  # then names holding it: Condensed Matter
    languages = await h.choices("lang", "code", "zh")
    assert [c["value"] for c in languages] == ["ZH-HANS", "ZH-HANT"]
    assert [c["value"] for c in await h.choices("lang", "code", "ja")] == ["JA"]
    zones = await h.choices("timezone", "zone", "Europe/Be")
    assert zones
    assert all(z["value"].startswith("Europe/Be") for z in zones)
    assert "Europe/Berlin" in {z["value"] for z in zones}
    assert len(await h.choices("timezone", "zone", "a")) == 25
    assert len(await h.choices("timezone", "zone", "")) == 25
    assert "America/New_York" in {z["value"] for z in await h.choices("timezone", "zone", "america/new y")}
    assert "Europe/Berlin" in {z["value"] for z in await h.choices("timezone", "zone", "berl")}
    assert await h.choices("timezone", "zone", "Mars/") == []


# -- the category picker -------------------------------------------------------------------------------------


def components(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for row in message["components"] for c in row["components"]]


def option_values(message: dict[str, Any]) -> list[str]:
    return [o["value"] for c in components(message) for o in c["options"]]


async def test_category_picker_archive_then_categories_then_toggle(harness: Harness) -> None:
    h = harness
    menu = (await h.slash(TEXT, ADMIN, "categories")).messages[0]
    (select,) = components(menu)
    assert select["type"] == 3
    assert "cat:a:cs" in option_values(menu)
    assert {o["label"]: o.get("description") for o in select["options"]}["cs"] == "Computer Science"
    message_id = int(menu["id"])

    def current() -> dict[str, Any]:
        return next(m for m in h.fake.messages(TEXT) if int(m["id"]) == message_id)

    h.fake.click(TEXT, message_id, ADMIN, select["custom_id"], values=["cat:a:cs"])
    await h.fake.wait_for(lambda: "cat:t:cs.LG" in option_values(current()), timeout=5)
    cs = current()
    selects = components(cs)
    assert len(selects) == 2  # more than 25 choices: split over two menus
    assert all(len(s["options"]) <= 25 for s in selects)
    assert option_values(cs)[-1] == "cat:g"  # back to the archives
    assert "cs - Computer Science" in plain(cs["content"])

    h.fake.click(TEXT, message_id, ADMIN, selects[0]["custom_id"], values=["cat:t:cs.LG"])
    await h.fake.wait_for(lambda: "✓ cs.LG" in str(current()["components"]), timeout=5)
    assert await h.subscriptions(TEXT) == ["cs.LG"]
    assert len([m for m in h.fake.messages(TEXT) if not int(m["flags"]) & EPHEMERAL]) == 1  # edited in place

    # a member without Manage Channels is told, privately; the picker stays as it is
    before = current()
    iid = h.fake.click(TEXT, message_id, MEMBER, selects[0]["custom_id"], values=["cat:t:cs.LG"])
    await h.fake.wait_for(lambda: bool(h.fake.followups(iid)), timeout=5)
    (alert,) = h.fake.followups(iid)
    assert int(alert["flags"]) & EPHEMERAL
    assert plain(alert["content"]) == t("ZH-HANS", "bot_admins_only")
    assert current() == before
    assert await h.subscriptions(TEXT) == ["cs.LG"]

    h.fake.click(TEXT, message_id, ADMIN, selects[0]["custom_id"], values=["cat:t:cs.LG"])
    await h.fake.wait_for(lambda: "✓ cs.LG" not in str(current()["components"]), timeout=5)
    assert await h.subscriptions(TEXT) == []
    # forged data is harmless: the archive list again
    h.fake.click(TEXT, message_id, ADMIN, selects[0]["custom_id"], values=["cat:t:'; DROP TABLE chats;--"])
    await h.fake.wait_for(lambda: "cat:a:cs" in option_values(current()), timeout=5)
    h.fake.click(TEXT, message_id, ADMIN, components(current())[0]["custom_id"], values=["cat:a:hep-th"])
    await h.fake.wait_for(lambda: "cat:t:hep-th" in option_values(current()), timeout=5)


# -- /paper and /digest --------------------------------------------------------------------------------------


async def test_paper_answers_with_its_embeds_in_the_chats_language(harness: Harness) -> None:
    h = harness
    await h.slash(TEXT, ADMIN, "lang", {"code": "JA"})
    answer = await h.slash(TEXT, MEMBER, "paper", {"id": "2403.19243"})
    assert answer.kind == DEFERRED
    assert not answer.ephemeral
    (embed,) = answer.embeds
    title = plain(embed["title"])
    assert title.startswith("[JA] EFFICIENT TEST-TIME ADAPTATION")
    description = plain(embed["description"])
    assert PAPER_TITLE in description  # the English title, shown as written
    assert "arXiv:2403.19243v1" in description
    assert "$x_i < y$" in description
    assert "Zoë Müller" in description
    assert "@\u200beveryone" in embed["description"]  # neutralised
    assert embed["url"] == "https://arxiv.org/abs/2403.19243"


async def test_lang_then_digest_posts_the_summary_and_a_thread_of_footnotes_in_japanese(
    database: Database, fakes: tuple[FakeDiscord, FakeArxiv, FakeDeepL], caplog: pytest.LogCaptureFixture
) -> None:
    async with _harness(database, fakes, caplog) as h:
        await h.slash(TEXT, ADMIN, "subscribe", {"categories": "cs.LG"})
        assert "JA" in (await h.slash(TEXT, ADMIN, "lang", {"code": "JA"})).text
        answer = await h.slash(TEXT, ADMIN, "digest")
        assert answer.kind == DEFERRED
        assert answer.ephemeral
        assert answer.text == plain(t("JA", "bot_digest_posted"))

        posted = [m for m in h.fake.messages(TEXT) if "interaction" not in m]
        (summary,) = posted
        content = plain(summary["content"])
        assert content.startswith("**cs.LG · 2026-09-24**")
        assert "新着 2 件" in content  # the summary in Japanese too
        rows = re.findall(r"^\[\[?(\d+)\]?\]", content, re.MULTILINE)
        assert rows == ["1", "2", "3"]  # cs.LG's new and cross-listed papers (replacements are off)
        (thread,) = h.fake.threads(TEXT)
        assert int(thread["id"]) == int(summary["id"])  # started from the summary
        assert thread["name"] == "cs.LG · 2026-09-24"
        footnotes = h.fake.messages(int(thread["id"]))
        assert len(footnotes) == 3  # one footnote per paper
        titles = [plain(m["embeds"][0]["title"]) for m in footnotes]
        assert all(title.startswith(f"[{i}] [JA] ") for i, title in enumerate(titles, start=1))
        # the summary's [n] link to the footnotes
        assert summary["content"].count(f"https://discord.com/channels/{GUILD}/{thread['id']}/") == 3


async def test_digest_where_the_bot_may_not_post_says_so(harness: Harness) -> None:
    h = harness
    await h.slash(TEXT, ADMIN, "subscribe", {"categories": "cs.LG"})
    h.fake.set_bot_permissions(TEXT, int(Permission.VIEW_CHANNEL))
    answer = await h.slash(TEXT, ADMIN, "digest")
    assert answer.ephemeral
    assert answer.text == plain(t("ZH-HANS", "bot_digest_no_access"))
    assert [m for m in h.fake.messages(TEXT) if "interaction" not in m] == []


async def test_digest_rate_limited_for_long_is_left_for_later_in_one_line(harness: Harness) -> None:
    h = harness
    await h.slash(TEXT, ADMIN, "subscribe", {"categories": "cs.LG"})
    h.fake.inject(Failure.rate_limited(300), route="POST /channels/{channel_id}/messages", channel_id=TEXT)
    answer = await h.slash(TEXT, ADMIN, "digest")
    assert answer.text == plain(t("ZH-HANS", "bot_digest_later"))
    lines = [r for r in h.fake.recorded("POST /channels/{channel_id}/messages") if r.status == 429]
    assert len(lines) == 1


# -- chats: kinds, gone and back -----------------------------------------------------------------------------


async def test_threads_and_forum_posts(harness: Harness) -> None:
    h = harness
    sink = h.bot.sink
    summary = await sink.send(
        Target(str(TEXT), "text", platform="discord", guild_id=str(GUILD)),
        Outgoing("summary", "a summary", {"thread_name": "a thread"}),
    )
    thread = int(summary.split(":")[1])
    await h.fake.wait_for(lambda: h.bot.client.get_channel(thread) is not None, timeout=5)
    await h.slash(thread, ADMIN, "subscribe", {"categories": "math.OC"})
    chat = await h.chat(thread)
    assert (chat.kind, chat.title) == ("thread", "a thread")

    post = await sink.send(
        Target(str(FORUM), "forum", platform="discord", guild_id=str(GUILD)),
        Outgoing("summary", "a post", {"thread_name": "a post"}),
    )
    post_id = int(post.split(":")[0])
    await h.fake.wait_for(lambda: h.bot.client.get_channel(post_id) is not None, timeout=5)
    await h.slash(post_id, ADMIN, "subscribe", {"categories": "cs.LG"})
    forum = await h.chat(FORUM)  # a command in a forum post is the forum's: digests open new posts
    assert (forum.kind, forum.title) == ("forum", "digests")
    assert await h.subscriptions(FORUM) == ["cs.LG"]
    answer = await h.slash(post_id, ADMIN, "digest")
    assert answer.text == t("ZH-HANS", "bot_digest_posted")
    posts = h.fake.threads(FORUM)
    assert len(posts) == 2
    assert posts[-1]["name"] == "cs.LG · 2026-09-24"
    assert len(h.fake.messages(int(posts[-1]["id"]))) == 4  # the summary, three footnotes


async def test_deleted_channels_and_a_removed_bot_make_chats_gone_and_back(harness: Harness) -> None:
    h = harness
    other = h.fake.add_text_channel(GUILD, name="other")
    await h.fake.wait_for(lambda: h.bot.client.get_channel(other) is not None, timeout=5)
    for channel in (TEXT, other):
        await h.slash(channel, ADMIN, "subscribe", {"categories": "cs.LG"})
    await h.dm(DM_USER, "subscribe", {"categories": "cs.LG"})

    async def gone(key: int) -> bool:
        chat = await h.chat(key)
        return chat is not None and chat.gone_at is not None

    h.fake.delete_channel(other)
    for _ in range(100):
        if await gone(other):
            break
        await asyncio.sleep(0.05)
    assert await gone(other)
    assert not await gone(TEXT)

    guild = h.bot.client.get_guild(GUILD)
    assert guild is not None
    await h.bot.on_guild_remove(guild)  # the fake cannot remove the bot from a server: its handler, directly
    assert await gone(TEXT)
    assert not await gone(h.fake.dm_channel(DM_USER))
    assert await h.subscriptions(TEXT) == ["cs.LG"]  # kept

    await h.bot.on_guild_join(guild)  # added back
    assert not await gone(TEXT)
    assert await gone(other)  # deleted stays deleted

    async with h.db.session() as s:  # deactivated after repeated failures, then an admin uses the bot
        chat = await ChatRepository(s).get("discord", str(TEXT))
        assert chat is not None
        await ChatRepository(s).mark_gone(chat.id, datetime.now(UTC))
        await s.commit()
    assert await gone(TEXT)
    await h.slash(TEXT, MEMBER, "list")
    assert await gone(TEXT)  # browsing does not resume deliveries
    await h.slash(TEXT, ADMIN, "time", {"at": "07:00"})
    assert not await gone(TEXT)

    dm = h.fake.dm_channel(DM_USER)  # a user who had closed their DMs (403 50007: gone at once) is back
    async with h.db.session() as s:
        chat = await ChatRepository(s).get("discord", str(dm))
        assert chat is not None
        await ChatRepository(s).mark_gone(chat.id, datetime.now(UTC))
        await s.commit()
    await h.dm(DM_USER, "help")
    assert not await gone(dm)


# -- failures ------------------------------------------------------------------------------------------------


async def test_database_locked_is_try_again_in_the_users_language_with_one_log_line(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLite's write lock held by another process past the busy timeout (5 s): new chats cannot be
    stored. The interaction is deferred before Discord's 3 seconds pass, then told to try again."""
    h = harness
    assert h.db.sqlite_file is not None
    other = sqlite3.connect(h.db.sqlite_file, isolation_level=None)
    caplog.clear()
    try:
        other.execute("BEGIN EXCLUSIVE")
        first = h.fake.slash(None, None, DM_USER, "help", locale="ja")
        second = h.fake.slash(None, None, OWNER, "settings", locale="de")
        answers = [await h.answer(first), await h.answer(second)]
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert [a.kind for a in answers] == [DEFERRED, DEFERRED]  # within the 3 s, before the 5 s wait ended
    assert answers[0].text == plain(t("JA", "bot_storage_down"))
    assert answers[1].text == plain(t("DE", "bot_storage_down"))
    down = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert len(down) == 1  # one line for the outage
    assert [r for r in caplog.records if r.exc_info and r.levelno >= logging.WARNING] == []
    assert "/subscribe" in (await h.dm(DM_USER, "help", locale="ja")).text
    assert any("reachable again" in r.getMessage() for r in caplog.records)


async def test_an_unexpected_error_is_one_line_to_the_user_and_a_traceback_in_the_log(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(h.runtime.commands, "_cmd_list", broken)
    answer = await h.slash(TEXT, MEMBER, "list", locale="zh-CN")
    assert answer.ephemeral
    assert answer.text == plain(t("ZH-HANS", "bot_error"))
    assert "database on fire" not in answer.text
    assert any("failed" in r.getMessage() and r.exc_info for r in caplog.records)
    assert "/subscribe" in (await h.slash(TEXT, MEMBER, "help")).text  # the bot carries on


async def test_a_token_revoked_while_running_is_reported_not_ignored(harness: Harness) -> None:
    h = harness
    failures: list[PlatformFailed] = []
    h.bot.on_failure = failures.append
    h.fake.close_gateway(4004, "Authentication failed.")
    await h.fake.wait_for(lambda: bool(failures), timeout=10)
    (failure,) = failures
    assert str(failure).startswith("Discord rejected DISCORD_BOT_TOKEN while running")
    assert TOKEN not in str(failure)


@pytest.fixture
def silent_gateway() -> Iterator[str]:
    """A gateway URL whose server accepts connections and never answers."""
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    try:
        yield f"ws://127.0.0.1:{server.getsockname()[1]}/"
    finally:
        server.close()


@pytest.mark.parametrize(
    ("case", "token", "api", "gateway", "expected"),
    [
        ("rejected", "MTIz.wrong.token-but-well-formed", None, None, "Discord rejected DISCORD_BOT_TOKEN"),
        ("api unreachable", TOKEN, "http://127.0.0.1:9/api/v10", None, "cannot reach the Discord API"),
        ("gateway unreachable", TOKEN, None, "ws://127.0.0.1:9/", "cannot reach the Discord gateway"),
        ("gateway silent", TOKEN, None, "silent", "did not get ready within 3 s"),
        ("malformed token", f'"{TOKEN}"', None, None, "does not look like a bot token"),
        ("a Bot prefix", f"Bot {TOKEN}", None, None, "does not look like a bot token"),
    ],
)
async def test_a_failed_start_is_one_line_without_the_token(
    tmp_path: Path,
    fakes: tuple[FakeDiscord, FakeArxiv, FakeDeepL],
    silent_gateway: str,
    case: str,
    token: str,
    api: str | None,
    gateway: str | None,
    expected: str,
) -> None:
    fake, arxiv, deepl = fakes
    apply_endpoints(
        api or fake.api_base, silent_gateway if gateway == "silent" else gateway or fake.gateway_url
    )
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        async with open_runtime(settings_for(arxiv, deepl), db=db, clock=Clock()) as runtime:
            bot = DiscordBot(
                token=token, commands=runtime.commands, db=db, guild_ready_timeout=0.05, ready_timeout=3
            )
            with pytest.raises(PlatformFailed) as info:
                await bot.start()
            await bot.stop()
    finally:
        await db.dispose()
    message = str(info.value)
    assert expected in message, case
    assert "\n" not in message
    for secret in (TOKEN, TOKEN.split(".")[-1], "token-but-well-formed"):
        assert secret not in message


def test_endpoints_are_validated_and_applied() -> None:
    apply_endpoints("http://127.0.0.1:8080/api/v10/", "ws://127.0.0.1:8080/")
    assert discord.http.Route.BASE == "http://127.0.0.1:8080/api/v10"
    assert yarl.URL("ws://127.0.0.1:8080/") == discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    apply_endpoints(None, None)  # unchanged
    assert discord.http.Route.BASE == "http://127.0.0.1:8080/api/v10"
    for api, gateway, name in [
        ("127.0.0.1:8080/api/v10", None, "DISCORD_API_BASE_URL"),
        ("http://127.0.0.1:8080/api?v=10", None, "DISCORD_API_BASE_URL"),
        (None, "http://127.0.0.1:8080/", "DISCORD_GATEWAY_URL"),
        (None, "wss://gate way/", "DISCORD_GATEWAY_URL"),
    ]:
        with pytest.raises(PlatformFailed, match=name):
            apply_endpoints(api, gateway)
    check_token(TOKEN)
    with pytest.raises(PlatformFailed):
        check_token("")


@pytest.mark.parametrize(
    ("locale", "code"),
    [
        ("zh-CN", "ZH-HANS"),
        ("zh-TW", "ZH-HANT"),
        ("ja", "JA"),
        ("de", "DE"),
        ("en-US", "EN-US"),
        ("en-GB", "EN-GB"),
        ("es-ES", "ES"),
        ("es-419", "ES-419"),
        ("pt-BR", "PT-BR"),
        ("sv-SE", "SV"),
        ("no", "NB"),
        ("hi", None),
    ],
)
def test_discord_locales_map_to_deepl_languages(locale: str, code: str | None) -> None:
    assert deepl_language(locale) == code
