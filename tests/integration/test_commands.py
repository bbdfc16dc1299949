"""Every chat command with good and bad arguments, platform-neutral (``bot.commands``), on SQLite and
PostgreSQL, with the real ``arxiv`` and ``deepl`` clients against the fakes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from arxiv_digest.bot.commands import Caller, Commands
from arxiv_digest.bot.runtime import open_runtime
from arxiv_digest.bot.settings import Settings
from arxiv_digest.formatters.i18n import t
from arxiv_digest.storage.db import Database
from arxiv_digest.storage.repositories import ChatRepository, SubscriptionRepository
from tests.doubles import Clock
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.deepl_server import FakeDeepL

KEY = "commands-key:fx"
PRIVATE = Caller("telegram", "1001", "private", user_language="en")
GROUP = Caller("telegram", "-1007", "supergroup", title="Group")
FEED = "cs.LG cs.AI cs.CL stat.ML"


async def yes() -> bool:
    return True


async def no() -> bool:
    return False


@pytest.fixture
def fakes() -> Iterator[tuple[FakeArxiv, FakeDeepL]]:
    with FakeArxiv() as arxiv, FakeDeepL(auth_key=KEY) as deepl:
        yield arxiv, deepl


@pytest.fixture
async def commands(database: Database, fakes: tuple[FakeArxiv, FakeDeepL]) -> AsyncIterator[Commands]:
    arxiv, deepl = fakes
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        arxiv_rss_base_url=arxiv.rss_base_url,
        arxiv_api_url=arxiv.api_url,
        arxiv_min_interval=0,
        deepl_auth_key=KEY,
        deepl_server_url=deepl.url,
        default_language="ZH-HANS",
        default_timezone="Europe/Berlin",
    )
    async with open_runtime(settings, db=database, clock=Clock()) as runtime:
        yield runtime.commands


async def say(commands: Commands, text: str, caller: Caller = PRIVATE, admin: bool = True) -> str:
    name, _, args = text.lstrip("/").partition(" ")
    reply = await commands.handle(caller, name, args, is_admin=yes if admin else no)
    return reply.text


async def subscriptions(commands: Commands, caller: Caller = PRIVATE) -> list[str]:
    async with commands.db.session() as s:
        chat = await ChatRepository(s).get(caller.platform, caller.chat_key)
        assert chat is not None
        return await SubscriptionRepository(s).list(chat.id)


async def test_first_contact_takes_the_users_language_and_the_defaults(commands: Commands) -> None:
    text = await say(commands, "/start")
    assert text.startswith("Hello!")  # language_code "en" -> EN-US
    assert "(Europe/Berlin)" in text
    zh = Caller("telegram", "1002", "private", user_language="zh-hans")
    assert (await say(commands, "/start", zh)).startswith("你好")
    unknown = Caller("telegram", "1003", "private", user_language="tlh")
    assert (await say(commands, "/start", unknown)).startswith("你好")  # DEFAULT_LANGUAGE


async def test_subscribe_and_unsubscribe(commands: Commands) -> None:
    text = await say(commands, "/subscribe cs.lg, stat.ml cs.NA cs")
    assert "Subscribed: cs.LG, stat.ML, math.NA, cs." in text
    assert "Next digest: 2026-09-24 Thu 09:00 (Europe/Berlin)" in text
    assert await subscriptions(commands) == ["cs", "cs.LG", "math.NA", "stat.ML"]
    assert "Already subscribed: cs.LG." in await say(commands, "/subscribe cs.LG")
    # one bad code: nothing saved, the first unknown one named with suggestions
    bad = await say(commands, "/subscribe q-bio.GN cs.ML")
    assert "Unknown category: cs.ML." in bad
    assert "cs.LG / stat.ML" in bad
    assert "q-bio.GN" not in await subscriptions(commands)
    assert "Usage: /subscribe" in await say(commands, "/subscribe")
    assert "Usage: /subscribe" in await say(commands, "/subscribe " + " ".join(["cs.LG"] * 31))

    assert "Unsubscribed: cs.LG." in await say(commands, "/unsubscribe cs.lg")
    assert "Not subscribed: hep-th." in await say(commands, "/unsubscribe hep-th")
    assert "Unknown category: xyz." in await say(commands, "/unsubscribe xyz")
    assert "Usage: /unsubscribe" in await say(commands, "/unsubscribe")
    assert "All subscriptions removed (3)." in await say(commands, "/unsubscribe ALL")
    assert await subscriptions(commands) == []


async def test_list_help_and_unknown(commands: Commands) -> None:
    assert "/subscribe cs.LG" in await say(commands, "/list")
    await say(commands, "/subscribe hep-th")
    assert "hep-th (High Energy Physics - Theory)" in await say(commands, "/list")
    help_text = await say(commands, "/help")
    for name in ("start", "subscribe", "unsubscribe", "list", "categories", "paper", "lang", "time"):
        assert f"/{name} - " in help_text
    assert "Unknown command" in await say(commands, "/frobnicate")


async def test_language(commands: Commands) -> None:
    assert "Current language: EN-US" in await say(commands, "/lang")
    assert "Unsupported language: Klingon." in await say(commands, "/lang Klingon")
    assert "ZH-HANS" in await say(commands, "/lang Klingon")  # the list of codes
    set_text = await say(commands, "/lang zh")
    assert "摘要语言：ZH-HANS。" in set_text
    assert "下一期摘要" in set_text
    # in ZH-HANT's own table (traditional characters) now that i18n has one
    assert t("ZH-HANT", "bot_lang_set", language="ZH-HANT") in await say(commands, "/lang zh-tw")


async def test_time_and_timezone(commands: Commands) -> None:
    assert "Current push time: 09:00 (Europe/Berlin)" in await say(commands, "/time")
    for bad in ("25:00", "9", "noon", "08:60", "-1:00"):
        assert "Not a time of day" in await say(commands, f"/time {bad}")
    ok = await say(commands, "/time 7:05")
    assert "Push time: 07:05 (Europe/Berlin)." in ok
    assert "Next digest:" in ok
    # region directories (America: an IsADirectoryError once), files of the tz database that are no place
    bad_zones = ("America", "Europe", "Etc", "localtime", "Factory", "posixrules", "right/UTC", "posix")
    for bad in ("Mars/Olympus", "../../etc/passwd", "/etc/localtime", "A" * 80, *bad_zones):
        assert "Unknown time zone" in await say(commands, f"/timezone {bad}")
    assert "Time zone: Pacific/Kiritimati." in await say(commands, "/timezone Pacific/Kiritimati")
    assert "Time zone: Asia/Shanghai." in await say(commands, "/timezone asia/SHANGHAI")
    assert "Time zone: UTC." in await say(commands, "/timezone utc")
    assert "Current time zone: UTC" in await say(commands, "/timezone")


async def test_options(commands: Commands) -> None:
    assert "Usage: /cross on, or /cross off (now on)." in await say(commands, "/cross maybe")
    assert "Cross-lists: off." in await say(commands, "/cross off")
    assert "Replacements: on." in await say(commands, "/replacements on")
    assert "(now on)" in await say(commands, "/replacements")
    assert "Usage: /keywords" in await say(commands, "/keywords")
    assert "Only papers mentioning: diffusion, graph neural network." in await say(
        commands, "/keywords diffusion,  graph   neural network , diffusion"
    )
    assert "at most 20" in await say(commands, "/keywords " + ",".join(f"k{i}" for i in range(21)))
    assert "at most 20" in await say(commands, "/keywords " + "x" * 101)
    assert "(.*)+" in await say(commands, "/keywords (.*)+")  # a plain phrase, never a pattern
    assert "Keyword filter off" in await say(commands, "/keywords off")
    assert "At most 25 papers" in await say(commands, "/max 25")
    for bad in ("0.5", "-3", "201", "many", "²", "①", "٣"):  # isdigit() says yes to the last three
        assert "Usage: /max N (1 to 200)" in await say(commands, f"/max {bad}")
    assert "No limit" in await say(commands, "/max off")
    settings = await say(commands, "/settings")
    assert "Cross-lists: off" in settings
    assert "Replacements: on" in settings
    assert "Keywords: (.*)+" not in settings  # cleared
    assert "Maximum papers: no limit" in settings


async def test_group_settings_are_for_admins(commands: Commands) -> None:
    # groups start in DEFAULT_LANGUAGE (Chinese here), not in one member's client language
    assert "管理员" in await say(commands, "/subscribe cs.LG", GROUP, admin=False)
    assert "管理员" in await say(commands, "/digest", GROUP, admin=False)
    assert "管理员" in await say(commands, "/time 08:00", GROUP, admin=False)
    assert await subscriptions(commands, GROUP) == []
    assert "/subscribe cs.LG" in await say(commands, "/list", GROUP, admin=False)  # anyone may read
    assert "/subscribe" in await say(commands, "/help", GROUP, admin=False)
    assert "已订阅：cs.LG" in await say(commands, "/subscribe cs.LG", GROUP, admin=True)
    assert await subscriptions(commands, GROUP) == ["cs.LG"]


async def test_paper(commands: Commands, fakes: tuple[FakeArxiv, FakeDeepL]) -> None:
    arxiv, _ = fakes
    assert "Usage: /paper" in await say(commands, "/paper")
    assert "Not an arXiv id: 2403.1924." in await say(commands, "/paper 2403.1924")
    long_bad = await say(commands, "/paper " + "z" * 300)
    assert "..." in long_bad
    assert len(long_bad) < 400
    assert arxiv.requests == []  # nothing malformed reached arXiv
    reply = await commands.handle(PRIVATE, "paper", "https://arxiv.org/pdf/1605.08386v1.pdf", is_admin=yes)
    assert reply.entry is not None
    assert reply.entry.paper.arxiv_id == "1605.08386"
    assert "was not found on arXiv" in await say(commands, "/paper hep-th/9901999")


async def test_digest_command(commands: Commands) -> None:
    assert "Subscribe first" in await say(commands, "/digest")
    await say(commands, f"/subscribe {FEED}")
    reply = await commands.handle(PRIVATE, "digest", "", is_admin=yes)
    assert reply.digest is not None
    assert reply.digest.announced_on is not None
    assert len(reply.digest.entries) == 3  # replacements off by default
    assert reply.language == "EN-US"
    await say(commands, "/lang JA")
    await say(commands, "/keywords polytope")
    await say(commands, "/replacements on")
    reply = await commands.handle(PRIVATE, "digest", "", is_admin=yes)
    assert reply.digest is not None
    assert [e.paper.arxiv_id for e in reply.digest.entries] == ["2009.13987"]
    assert reply.digest.entries[0].translation is not None
    assert reply.digest.language == "JA"
    await say(commands, "/keywords nothing-matches-this")
    day = str(reply.digest.announced_on)
    # "No papers for this chat", in the chat's language (i18n has a JA table now)
    assert await say(commands, "/digest") == t("JA", "bot_nothing_for_you", date=day)


async def test_category_picker_callbacks(commands: Commands) -> None:
    menu = await commands.callback(PRIVATE, "garbage", is_admin=yes)
    assert menu.buttons
    archive = await commands.callback(PRIVATE, "cat:a:math", is_admin=yes)
    codes = [b.data for row in archive.buttons for b in row]
    assert "cat:t:math.NA" in codes
    assert "cat:t:math" in codes  # the whole archive
    assert "cat:g" in codes
    assert all(len(b.data.encode()) <= 64 for row in archive.buttons for b in row)
    toggled = await commands.callback(PRIVATE, "cat:t:math.NA", is_admin=yes)
    assert any(b.label == "✓ math.NA" for row in toggled.buttons for b in row)
    assert await subscriptions(commands) == ["math.NA"]
    refused = await commands.callback(GROUP, "cat:t:math.NA", is_admin=no)
    assert "管理员" in refused.text
    assert (await commands.callback(PRIVATE, "cat:t:<script>", is_admin=yes)).buttons  # back to the archives
    assert await subscriptions(commands) == ["math.NA"]


# -- the daily allowance of new languages ------------------------------------------------------------------


def _limit(language: str, used: str, count: int = 3) -> str:
    return t(language, "bot_lang_limit", count=count, languages=used)


async def _language(commands: Commands, caller: Caller = PRIVATE) -> tuple[str, tuple[str, ...]]:
    async with commands.db.session() as s:
        chat = await ChatRepository(s).get(caller.platform, caller.chat_key)
    assert chat is not None
    return chat.language, chat.languages_used


async def test_lang_is_capped_per_utc_day(commands: Commands) -> None:
    assert "EN-US" in await say(commands, "/lang")  # the day begins in English: nothing used yet
    for code in ("ja", "de", "fr"):
        assert code.upper() in await say(commands, f"/lang {code}")
    refused = await say(commands, "/lang ko")
    assert refused == _limit("FR", "JA, DE, FR")  # in the chat's language, naming what is still free
    assert await _language(commands) == ("FR", ("JA", "DE", "FR"))  # nothing saved
    assert "JA" in await say(commands, "/lang ja")  # back to one used today: free
    assert "EN-US" in await say(commands, "/lang en")  # English: always free
    assert "EN-GB" in await say(commands, "/lang en-gb")
    assert await say(commands, "/lang ko") == _limit("EN-GB", "JA, DE, FR")
    assert "Unsupported language" in await say(commands, "/lang xx")  # still validated first
    # the next UTC day the count starts again, from the language the day begins with (EN-GB: none)
    commands.clock.now += timedelta(days=1)  # type: ignore[attr-defined]
    for code in ("KO", "ZH-HANS", "IT"):
        assert (await say(commands, f"/lang {code}")).startswith(t(code, "bot_lang_set", language=code))
    assert await _language(commands) == ("IT", ("KO", "ZH-HANS", "IT"))
    assert await say(commands, "/lang pl") == _limit("IT", "KO, ZH-HANS, IT")


def restarted(commands: Commands, **options: Any) -> Commands:
    """New ``Commands`` over the same database and services: a restart (with ``options`` changed)."""
    return Commands(
        db=commands.db,
        digests=commands.digests,
        taxonomy=commands.taxonomy,
        defaults=commands.defaults,
        clock=commands.clock,
        **options,
    )


async def test_lang_allowance_counts_the_days_first_language_and_survives_a_restart(
    commands: Commands,
) -> None:
    group = Caller("telegram", "-1009", "supergroup", title="Group")  # starts in ZH-HANS (the default)
    assert "JA" in await say(commands, "/lang ja", group)
    assert "DE" in await say(commands, "/lang de", group)
    assert await say(commands, "/lang fr", group) == _limit("DE", "ZH-HANS, JA, DE")
    # a restart: new Commands over the same database keep today's count
    again = restarted(commands, languages_per_day=3)
    assert await say(again, "/lang fr", group) == _limit("DE", "ZH-HANS, JA, DE")
    assert "ZH-HANS" in await say(again, "/lang zh", group)
    # a bigger allowance (the setting changed across the restart) applies at once
    bigger = restarted(commands, languages_per_day=4)
    assert "FR" in await say(bigger, "/lang fr", group)
    assert await say(bigger, "/lang ko", group) == _limit("FR", "ZH-HANS, JA, DE, FR", count=4)


async def test_concurrent_lang_commands_cannot_both_pass(commands: Commands) -> None:
    await say(commands, "/lang ja")
    await say(commands, "/lang de")  # EN-US, then JA and DE: one left
    fr, ko = await asyncio.gather(say(commands, "/lang fr"), say(commands, "/lang ko"))
    language, used = await _language(commands)
    assert used == ("JA", "DE", language)
    won, lost = (fr, ko) if language == "FR" else (ko, fr)
    assert language in won
    # the other one was refused (in the language the chat had when its command began)
    assert lost in {_limit(current, f"JA, DE, {language}") for current in ("DE", language)}


def test_languages_per_chat_per_day_setting() -> None:
    assert Settings(_env_file=None).languages_per_chat_per_day == 3  # type: ignore[call-arg]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LANGUAGES_PER_CHAT_PER_DAY", "5")
        assert Settings(_env_file=None).languages_per_chat_per_day == 5  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        Settings(_env_file=None, languages_per_chat_per_day=0)  # type: ignore[call-arg]


# -- new subscriptions are announced (the scheduler harvests them at once) ----------------------------------


async def test_subscribing_calls_on_subscribed_with_the_new_categories(
    commands: Commands, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[list[str]] = []

    async def record(categories: Sequence[str]) -> None:
        calls.append(list(categories))

    commands.on_subscribed = record
    await say(commands, "/subscribe cs.LG stat.ML")
    await say(commands, "/subscribe cs.LG hep-th")  # only what is new
    await say(commands, "/subscribe cs.LG")  # nothing new: not called
    await say(commands, "/unsubscribe hep-th")
    await commands.callback(PRIVATE, "cat:t:math.NA", is_admin=yes)  # the picker subscribes ...
    await commands.callback(PRIVATE, "cat:t:math.NA", is_admin=yes)  # ... and unsubscribes
    assert calls == [["cs.LG", "stat.ML"], ["hep-th"], ["math.NA"]]

    async def broken(categories: Sequence[str]) -> None:
        raise RuntimeError("scheduler on fire")

    commands.on_subscribed = broken
    assert "Subscribed: q-bio.NC." in await say(commands, "/subscribe q-bio.NC")  # the command succeeds
    assert "q-bio.NC" in await subscriptions(commands)
    assert any("on_subscribed" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_control_and_bidi_characters_are_never_stored_or_echoed(commands: Commands) -> None:
    await say(commands, "/lang en")
    reply = await say(commands, "/keywords grap\x00h, \u202eevil\u202c, a\x1b[31mb, tab\there")
    assert reply == "Only papers mentioning: graph, evil, a[31mb, tab here."
    async with commands.db.session() as s:
        chat = await ChatRepository(s).get(PRIVATE.platform, PRIVATE.chat_key)
    assert chat is not None
    assert chat.keywords == ("graph", "evil", "a[31mb", "tab here")
    for echoed in ("/timezone \u2066Mars\u2069/\x00Olympus", "/lang \u202eKlingon", "/paper 24\x0003.x"):
        text = await say(commands, echoed)
        assert not any(c in text for c in "\x00\u202e\u2066\u2069"), text


async def test_only_an_admin_brings_a_deactivated_group_back(commands: Commands) -> None:
    await say(commands, "/subscribe cs.LG", GROUP)
    async with commands.db.session() as s:
        repo = ChatRepository(s)
        chat = await repo.get(GROUP.platform, GROUP.chat_key)
        assert chat is not None
        await repo.mark_gone(chat.id, commands.clock())
        await s.commit()

    async def gone() -> bool:
        async with commands.db.session() as s:
            chat = await ChatRepository(s).get(GROUP.platform, GROUP.chat_key)
        assert chat is not None
        return chat.gone_at is not None

    assert "管理员" in await say(commands, "/start", GROUP, admin=False)
    assert await gone()
    assert "欢迎回来" in await say(commands, "/start", GROUP, admin=True)
    assert not await gone()
    assert "欢迎回来" not in await say(commands, "/start", GROUP, admin=False)  # active: anyone may ask


async def test_a_refused_tap_on_the_picker_is_an_alert(commands: Commands) -> None:
    reply = await commands.callback(GROUP, "cat:t:cs.LG", is_admin=no)
    assert reply.alert
    assert "管理员" in reply.text
    assert await subscriptions(commands, GROUP) == []
    allowed = await commands.callback(GROUP, "cat:t:cs.LG", is_admin=yes)
    assert not allowed.alert
    assert await subscriptions(commands, GROUP) == ["cs.LG"]
