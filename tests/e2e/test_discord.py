"""The Discord bot end to end: the real ``arxiv-digest run`` process (Discord only: no Telegram token)
with the real discord.py against the fake Discord (``DISCORD_API_BASE_URL`` / ``DISCORD_GATEWAY_URL``), the
real ``arxiv`` and ``deepl`` clients against their fakes, SQLite.

The process is driven as users drive it: slash commands pushed by the fake over the gateway, answers read back
from the fake. The feed served for cs.LG is the fixture feed with its dates rewritten to today's announcement
date (``papers.schedule.latest_batch_date``), so the scheduler, on its real clock, finds today's batch to
deliver at a chat's push time.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from arxiv_digest.formatters.i18n import t
from arxiv_digest.papers.schedule import latest_batch_date
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.deepl_server import FakeDeepL
from tests.fakes.discord_server import FakeDiscord, FakeUser, Permission

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GfAkEx.e2e-discord-secret-token"
APP_ID = 123456789012345678  # the token's first part is base64 of it
DEEPL_KEY = "e2e-discord-deepl-key:fx"
GUILD = 720000000000000001
TEXT = 720000000000000011
ADMIN = 820000000000000001  # Manage Channels
MEMBER = 820000000000000002
DM_USER = 820000000000000003
ADMIN_PERMISSIONS = int(Permission.MANAGE_CHANNELS | Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES)
FEED_COMBINED = "/rss/cs.AI+cs.CL+cs.LG+stat.ML"
FIXTURE_DAY = "Thu, 24 Sep 2026"  # the fixture feed's pubDate / lastBuildDate
EPHEMERAL = 1 << 6
LOADING = 1 << 7
ROW = re.compile(r"^\[\[?(\d+)\]?\]", re.MULTILINE)  # a summary row: [n] (or [\[n\]](<link>) once linked)


def plain(text: str) -> str:
    """Discord Markdown as shown: escapes dropped, zero-width spaces (neutralised mentions) removed."""
    return re.sub(r"\\(.)", r"\1", text).replace("\u200b", "")


def wait(condition: Callable[[], Any], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(condition())


def todays_feed(arxiv: FakeArxiv) -> bytes:
    """The fixture feed, announced on today's announcement date."""
    day = latest_batch_date(datetime.now(UTC))
    return arxiv.feeds[FEED_COMBINED].replace(FIXTURE_DAY.encode(), day.strftime("%a, %d %b %Y").encode())


def far_push_time() -> str:
    """A push time twelve hours away: no scheduled delivery interferes with what a test asks for."""
    return (datetime.now(UTC) + timedelta(hours=12)).strftime("%H:%M")


@pytest.fixture
def fakes() -> Iterator[tuple[FakeDiscord, FakeArxiv, FakeDeepL]]:
    with (
        FakeDiscord(token=TOKEN, application_id=APP_ID, scale=20) as fake,
        FakeArxiv() as arxiv,
        FakeDeepL(auth_key=DEEPL_KEY) as deepl,
    ):
        fake.add_guild(GUILD, name="Physics")
        fake.add_text_channel(GUILD, TEXT, name="papers")
        fake.add_member(GUILD, FakeUser(ADMIN, "ada", "Ada"), permissions=ADMIN_PERMISSIONS)
        fake.add_member(GUILD, FakeUser(MEMBER, "bob", "Bob"))
        fake.add_user(DM_USER, username="carol", global_name="Carol")
        arxiv.add_paper(
            "2403.19243",
            title="Efficient Test-Time Adaptation @everyone via Entropy & Margins",
            abstract="Test-time adaptation is popular. We propose a margin rule for $x_i < y$ that adapts "
            "models at test time. Experiments on ImageNet-C confirm it.",
            categories=("cs.LG", "cs.CV"),
            authors=("Zoë Müller", "李雷"),
        )
        arxiv.set_feed("/rss/cs.LG", todays_feed(arxiv))
        yield fake, arxiv, deepl
        assert fake.internal_errors == []


def run_environment(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeArxiv, FakeDeepL], **settings: str
) -> dict[str, str]:
    """The environment of an ``arxiv-digest run`` process serving Discord only, against the fakes."""
    fake, arxiv, deepl = fakes
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            (
                "ARXIV_",
                "DEEPL_",
                "DATABASE_",
                "TELEGRAM_",
                "DISCORD_",
                "HARVEST_",
                "DELIVER_",
                "LOG_",
                "OWNER_",
            )
        )
        and not k.startswith("DEFAULT_")
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}",
        ARXIV_RSS_BASE_URL=arxiv.rss_base_url,
        ARXIV_API_URL=arxiv.api_url,
        ARXIV_MIN_INTERVAL="0",
        DEEPL_AUTH_KEY=DEEPL_KEY,
        DEEPL_SERVER_URL=deepl.url,
        DISCORD_BOT_TOKEN=TOKEN,
        DISCORD_API_BASE_URL=fake.api_base,
        DISCORD_GATEWAY_URL=fake.gateway_url,
        DELIVER_INTERVAL="1",
        DEFAULT_PUSH_TIME=far_push_time(),
    )
    env.update(settings)
    return env


@dataclass
class Process:
    proc: subprocess.Popen[str]
    out: str = ""
    err: str = ""


@contextmanager
def running(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeArxiv, FakeDeepL], **settings: str
) -> Iterator[Process]:
    """``arxiv-digest run`` until its slash commands are registered and its gateway session is up; stopped
    with SIGTERM afterwards, which must end it cleanly: exit 0, no traceback, never the token."""
    fake = fakes[0]
    exe = Path(sys.executable).with_name("arxiv-digest")
    env = run_environment(tmp_path, fakes, **settings)
    proc = subprocess.Popen(
        [str(exe), "run"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    process = Process(proc)
    try:
        wait(lambda: (fake.connected() and fake.commands()) or proc.poll() is not None, 60)
        if proc.poll() is not None or not fake.connected():
            proc.kill()
            _, err = proc.communicate(timeout=30)
            raise AssertionError(f"arxiv-digest run did not serve Discord: {err[-3000:]}")
        yield process
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        process.out, process.err = proc.communicate(timeout=60)
    assert proc.returncode == 0, process.err[-3000:]
    assert "Traceback" not in process.err, process.err[process.err.find("Traceback") - 1500 :][:5000]
    for secret in (TOKEN, TOKEN.split(".")[-1], DEEPL_KEY):
        assert secret not in process.out + process.err
    assert fake.pings() == []
    refused = [(r.method, r.path, r.status) for r in fake.recorded() if r.status == 400]
    assert refused == []  # nothing Discord would reject was ever sent


def answered(fake: FakeDiscord, iid: int, *, followups: int = 1) -> bool:
    """The interaction has its answer: an immediate one, or a deferred one filled in (and ``followups``
    follow-up messages in all, the filled-in original included)."""
    callbacks = fake.callbacks(iid)
    if not callbacks:
        return False
    if callbacks[0]["type"] != 5:
        return True
    original = fake.original(iid)
    if original is None or int(original["flags"]) & LOADING:
        return False
    return len(fake.followups(iid)) >= followups


def answer_text(fake: FakeDiscord, iid: int, timeout: float = 30) -> str:
    assert wait(lambda: answered(fake, iid), timeout), f"no answer to interaction {iid}"
    original = fake.original(iid)
    assert original is not None
    return plain(original["content"])


def summaries_and_footnotes(
    fake: FakeDiscord, channel: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The bot's messages in ``channel`` that are not interaction answers: summaries (text) and footnotes
    (embeds), wherever they are (the channel or its threads)."""
    posted = [m for m in fake.messages(channel, include_threads=True) if "interaction" not in m]
    summaries = [m for m in posted if m["content"] and not m["embeds"]]
    footnotes = [m for m in posted if m["embeds"]]
    return summaries, footnotes


def test_run_serves_discord_slash_commands(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeArxiv, FakeDeepL]
) -> None:
    """A server channel, as the issue tries it: /subscribe, /lang JA, /digest (the summary in the channel, a
    thread from it with one footnote per paper, in Japanese), /paper; a member without Manage Channels is
    refused."""
    fake = fakes[0]
    with running(tmp_path, fakes):
        names = {c["name"] for c in fake.commands()}
        assert {"subscribe", "unsubscribe", "list", "categories", "paper", "lang", "digest", "stats"} <= names
        assert "start" not in names

        iid = fake.slash(GUILD, TEXT, ADMIN, "subscribe", {"categories": "cs.LG"})
        assert "已订阅：cs.LG" in answer_text(fake, iid)  # the default language, ZH-HANS
        iid = fake.slash(GUILD, TEXT, ADMIN, "lang", {"code": "JA"})
        assert "JA" in answer_text(fake, iid)

        iid = fake.slash(GUILD, TEXT, ADMIN, "digest")
        assert answer_text(fake, iid, timeout=60) == plain(t("JA", "bot_digest_posted"))
        original = fake.original(iid)
        assert original is not None
        assert int(original["flags"]) & EPHEMERAL  # said to the one who asked; the digest is for everyone
        summaries, footnotes = summaries_and_footnotes(fake, TEXT)
        (summary,) = summaries
        assert int(summary["channel_id"]) == TEXT
        content = plain(summary["content"])
        day = latest_batch_date(datetime.now(UTC)).isoformat()
        assert content.startswith(f"**cs.LG · {day}**")
        rows = ROW.findall(content)
        assert rows == [str(i) for i in range(1, len(rows) + 1)]
        assert len(rows) >= 2
        (thread,) = fake.threads(TEXT)
        assert int(thread["id"]) == int(summary["id"])  # a thread started from the summary
        assert all(int(f["channel_id"]) == int(thread["id"]) for f in footnotes)
        assert len(footnotes) == len(rows)  # one footnote per paper
        titles = [plain(f["embeds"][0]["title"]) for f in footnotes]
        assert all(title.startswith(f"[{i}] [JA] ") for i, title in enumerate(titles, start=1)), titles

        iid = fake.slash(GUILD, TEXT, MEMBER, "paper", {"id": "2403.19243"})
        assert wait(lambda: answered(fake, iid), 30)
        paper = fake.original(iid)
        assert paper is not None
        assert plain(paper["embeds"][0]["title"]).startswith("[JA] EFFICIENT TEST-TIME ADAPTATION")
        assert "arXiv:2403.19243v1" in plain(paper["embeds"][0]["description"])

        with pytest.raises(ValueError, match="lacks default_member_permissions"):
            fake.slash(GUILD, TEXT, MEMBER, "subscribe", {"categories": "stat.ML"})
        iid = fake.slash(GUILD, TEXT, MEMBER, "list")
        assert "cs.LG" in answer_text(fake, iid)  # browsing is for everyone


def test_a_dm_subscriber_gets_the_digest_at_their_push_time(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeArxiv, FakeDeepL]
) -> None:
    """A direct message with the bot, in German (the user's Discord language): /subscribe, then /time a
    minute ahead; at that time the scheduler delivers today's batch without being asked: the summary, then
    each footnote as a reply to it (a DM has no threads)."""
    fake = fakes[0]
    dm = fake.dm_channel(DM_USER)
    with running(tmp_path, fakes):
        iid = fake.slash(None, None, DM_USER, "subscribe", {"categories": "cs.LG"}, locale="de")
        assert "Abonniert: cs.LG." in answer_text(fake, iid)
        now = datetime.now(UTC)
        at = (now.replace(second=0, microsecond=0) + timedelta(minutes=1 if now.second < 45 else 2)).strftime(
            "%H:%M"
        )
        iid = fake.slash(None, None, DM_USER, "time", {"at": at}, locale="de")
        assert f"Versandzeit: {at} (UTC)." in answer_text(fake, iid)
        asked = len(fake.messages(dm))

        def delivered() -> bool:
            summaries, footnotes = summaries_and_footnotes(fake, dm)
            return bool(summaries) and len(footnotes) >= len(ROW.findall(plain(summaries[0]["content"])))

        assert wait(delivered, 150), "no scheduled digest in the DM"
        time.sleep(1)  # anything still arriving
        summaries, footnotes = summaries_and_footnotes(fake, dm)
        (summary,) = summaries
        delivered_at = datetime.fromisoformat(summary["timestamp"])
        assert delivered_at.strftime("%H:%M") >= at or delivered_at.date() > now.date()
        rows = ROW.findall(plain(summary["content"]))
        assert len(footnotes) == len(rows) >= 2
        assert all(f["message_reference"]["message_id"] == summary["id"] for f in footnotes)
        titles = [plain(f["embeds"][0]["title"]) for f in footnotes]
        assert all(title.startswith(f"[{i}] [DE] ") for i, title in enumerate(titles, start=1)), titles
        assert len(fake.messages(dm)) == asked + 1 + len(footnotes)  # nothing else
