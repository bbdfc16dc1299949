"""The kill test on Discord: SIGKILL mid-fan-out, restart, nothing lost, at most one message per kill
repeated, every footnote inside its digest's thread.

As ``test_kill`` does for Telegram: a subprocess running the real bot (``arxiv-digest run``, Discord only)
against the fake Discord and the fake arXiv is killed with SIGKILL at random points while it delivers the
day's digest to a guild's text channels and a few DMs (``DELIVERY_CONCURRENCY=1``: one chat, one message at
a time), and restarted each time. In the end every planned message is there; each one sent twice is the
message in flight at a kill (the last one the fake created before it); every footnote is in the thread
started from its summary (a DM: a reply to the summary), no summary got two threads, and the only threads
beside the ledger summaries' are those of an in-flight summary sent again, empty. Nothing pinged, nothing
was refused. A second process on the same database refuses to start while one runs; SIGTERM ends the bot
with status 0.

The seed of the kill points is printed; set ``ARXIV_DIGEST_KILL_SEED`` to replay one (timing still varies).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from arxiv_digest.storage.db import Database
from arxiv_digest.storage.repositories import ChatRepository, SubscriptionRepository
from tests.e2e.test_kill import (
    BACKENDS,
    CATEGORIES,
    DAY,
    PAPERS,
    Bot,
    database_url,
    ledger_by_chat,
    ledger_state,
)
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.discord_server import FakeDiscord, RecordedRequest

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GfAkEx.kill-discord-secret-token"
APP_ID = 123456789012345678  # the token's first part is base64 of it
GUILD = 730000000000000001
TEXT_CHANNELS = [730000000000000101 + i for i in range(20)]
DM_USERS = [830000000000000001 + i for i in range(4)]
KILLS = 12
STEP_TIMEOUT = 120.0  # per step: a restart (login, gateway, 2 s guild_ready_timeout) on a loaded machine
SCALE = 50  # rate-limit windows shrunk 50 times: discord.py's own pacing (5 messages / 5 s) barely waits
CREATE = "POST /channels/{channel_id}/messages"
START_THREAD = "POST /channels/{channel_id}/messages/{message_id}/threads"
# The bot's settings in the environment, replaced by the test's.
OWN_SETTINGS = ("ARXIV_", "DEEPL_", "DATABASE_", "TELEGRAM_", "DISCORD_", "OWNER_", "HARVEST_", "DELIVER_")
LOG_RECORD = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO ")
LINK = re.compile(r"\]\(<https://discord\.com/channels/(@me|\d+)/(\d+)/(\d+)>\)")


@dataclass
class Kill:
    """One SIGKILL: successful message creations seen then, and the last message created before it."""

    creates: int
    in_flight: tuple[int, int] | None  # (channel or thread id, message id)


def bot_env(database_url: str, fake: FakeDiscord, arxiv: FakeArxiv) -> dict[str, str]:
    """The environment of an ``arxiv-digest run`` serving Discord only, against the fakes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith((*OWN_SETTINGS, "LOG_", "DEFAULT_"))}
    env.update(
        DATABASE_URL=database_url,
        ARXIV_RSS_BASE_URL=arxiv.rss_base_url,
        ARXIV_API_URL=arxiv.api_url,
        ARXIV_MIN_INTERVAL="0",
        DISCORD_BOT_TOKEN=TOKEN,
        DISCORD_API_BASE_URL=fake.api_base,
        DISCORD_GATEWAY_URL=fake.gateway_url,
        DELIVER_INTERVAL="0.3",
        HARVEST_INTERVAL="2",
        DELIVERY_CONCURRENCY="1",
        LOG_LEVEL="INFO",
    )
    return env


def chat_keys(fake: FakeDiscord) -> dict[int, str]:
    """Every chat's channel id -> its kind: the guild's text channels, then the DMs' channels."""
    keys = {channel: "text" for channel in TEXT_CHANNELS}
    keys.update({fake.dm_channel(user): "dm" for user in DM_USERS})
    return keys


async def add_chats(db: Database, chats: dict[int, str]) -> None:
    """The chats following the fixture feed's categories since September, due at once (00:00 UTC)."""
    async with db.session() as session:
        repo = ChatRepository(session)
        subs = SubscriptionRepository(session)
        for i, (channel, kind) in enumerate(chats.items()):
            chat = await repo.ensure(
                "discord",
                str(channel),
                language="EN-US",
                timezone="UTC",
                push_time="00:00",
                title=f"papers-{i}" if kind == "text" else None,
                kind=kind,
                guild_key=str(GUILD) if kind == "text" else None,
                now=datetime(2026, 9, 1, tzinfo=UTC),
            )
            await repo.update(chat.id, include_replacements=True, start_day=DAY)
            await subs.add(chat.id, CATEGORIES, now=datetime(2026, 9, 1, tzinfo=UTC))
        await session.commit()


def creates(fake: FakeDiscord) -> list[RecordedRequest]:
    """The message creations the fake accepted, oldest first."""
    return [call for call in fake.recorded(CREATE) if call.status == 200]


def creates_reached(fake: FakeDiscord, count: int) -> Callable[[], bool]:
    return lambda: len(creates(fake)) >= count


def last_created(fake: FakeDiscord) -> tuple[int, int] | None:
    """The (channel or thread, message id) of the last message the bot created (one at a time)."""
    calls = creates(fake)
    if not calls:
        return None
    channel = int(calls[-1].params["channel_id"])
    return channel, int(fake.messages(channel)[-1]["id"])


async def wait_until(
    condition: Callable[[], bool], proc: subprocess.Popen[bytes], bot: Bot, what: str, interval: float = 0.002
) -> None:
    """Poll ``condition`` while the bot runs; fail with the end of its log if it exits or takes too long."""
    deadline = time.monotonic() + STEP_TIMEOUT
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"the bot exited ({proc.returncode}) while waiting for {what}:\n{bot.tail()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}:\n{bot.tail()}")
        await asyncio.sleep(interval)


async def settled(fake: FakeDiscord) -> None:
    """Let the fake finish the requests a dead process had already sent."""
    previous = -1
    while len(fake.recorded()) != previous:
        previous = len(fake.recorded())
        await asyncio.sleep(0.05)


async def kill_repeatedly(
    fake: FakeDiscord, db: Database, bot: Bot, rng: random.Random, chats: int
) -> list[Kill]:
    """Start the bot and SIGKILL it once the fake has created the next number of messages, ``KILLS`` times.

    The kill points are spread at random over the first 70 % of the fan-out's messages (counted from the
    ledger once the first message is out: every chat's delivery is planned before anything is sent), at least
    one message apart, plus a random delay of up to 20 ms (about the time from one message to the next:
    starting a summary's thread, recording the message in the ledger).
    """
    kills: list[Kill] = []
    gaps: list[int] = []
    for k in range(KILLS):
        proc = bot.start()
        try:
            baseline = len(creates(fake))
            if not gaps:
                await wait_until(creates_reached(fake, 1), proc, bot, "the first message")
                planned, _, total = await ledger_state(db)
                assert planned == chats
                assert total >= chats * (1 + PAPERS)
                points = sorted(rng.sample(range(1, int(total * 0.7)), KILLS))
                gaps = [b - a for a, b in zip([0, *points], points, strict=False)]
                print(f"{total} messages planned; kill points after message {points}")
            target = baseline + gaps[k]
            await wait_until(creates_reached(fake, target), proc, bot, f"message {target} (kill {k + 1})")
            await asyncio.sleep(rng.uniform(0.0, 0.02))
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        assert proc.returncode == -signal.SIGKILL
        await settled(fake)
        kills.append(Kill(len(creates(fake)), last_created(fake)))
        _, pending, _ = await ledger_state(db)
        assert pending > 0, f"the fan-out ended before kill {k + 1}: kill points too late"
    return kills


async def finish(fake: FakeDiscord, db: Database, bot: Bot, chats: int) -> None:
    """Run the bot until the ledger has every delivery done; meanwhile a second process on the same database
    must refuse to start, in one line; then SIGTERM, which must end the bot with status 0."""
    proc = bot.start()
    try:
        deadline = time.monotonic() + STEP_TIMEOUT
        while True:
            planned, pending, _ = await ledger_state(db)
            if planned == chats and pending == 0:
                break
            assert proc.poll() is None, bot.tail()
            assert time.monotonic() < deadline, f"fan-out not finished:\n{bot.tail()}"
            await asyncio.sleep(0.1)

        logins = len(fake.recorded("GET /users/@me"))
        second = await asyncio.to_thread(
            subprocess.run,
            [str(Path(sys.executable).with_name("arxiv-digest")), "run"],
            cwd=bot.cwd,
            env=bot.env,
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
        )
        assert second.returncode == 1, second.stderr[-2000:]
        # One line says why (besides the INFO log records of LOG_LEVEL=INFO: the database's revision).
        lines = second.stderr.strip().splitlines()
        said = [line for line in lines if not LOG_RECORD.match(line)]
        assert len(said) == 1, second.stderr[-3000:]
        assert said[0].startswith("arxiv-digest: Another arxiv-digest process"), said
        assert not any(" WARNING " in line or " ERROR " in line for line in lines), lines
        assert len(fake.recorded("GET /users/@me")) == logins  # it never got as far as Discord
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, bot.tail()
    # No error while it ran (the shutdown may log APScheduler's cancelled run: see test_kill.finish).
    log = bot.logs[-1].read_text(errors="replace")
    running, stopping, _ = log.partition(" INFO arxiv_digest.bot.runtime: stopping")
    assert stopping, log[-3000:]
    assert "Traceback" not in running, running[-3000:]


def address(message_id: str) -> tuple[int, int]:
    """A ledger message id, ``"<channel or thread>:<message>"``."""
    channel, _, message = message_id.partition(":")
    return int(channel), int(message)


def signature(content: str | None, embeds: Any) -> str:
    """What a reader sees of a message, as the ledger planned it or the fake stored it: its content and its
    embeds' texts (the fake adds defaults such as ``type``)."""
    keys = ("title", "url", "description")
    shown = [
        {**{k: e.get(k) for k in keys}, "fields": [(f["name"], f["value"]) for f in e.get("fields") or []]}
        | {"footer": (e.get("footer") or {}).get("text")}
        for e in embeds or []
    ]
    return json.dumps([content or "", shown], sort_keys=True)


def planned_signature(row: dict[str, Any]) -> str:
    return signature(row["text"], (row["payload"] or {}).get("embeds"))


def sent_signature(message: dict[str, Any]) -> str:
    return signature(message["content"], message["embeds"])


def check_chat(
    fake: FakeDiscord,
    channel: int,
    kind: str,
    rows: list[dict[str, Any]],
    in_flight: set[tuple[int, int] | None],
    fell_back: set[int],
) -> Counter[str]:
    """Check what ``channel`` (and its threads) got against its ledger rows; return its duplicates by role
    (and ``"thread"``: threads started from a duplicate summary)."""
    assert [r["status"] for r in rows if r["seq"] == 0] == ["done"], channel  # one delivery, finished
    assert all(r["message_id"] is not None for r in rows), channel
    sent = fake.messages(channel, include_threads=True)
    by_id = {int(m["id"]): m for m in sent}
    summary_row = rows[0]
    assert summary_row["role"] == "summary", channel
    summary_channel, summary = address(summary_row["message_id"])
    assert summary_channel == channel, summary_row["message_id"]
    # Where a message belongs: a summary (or its later parts) in the channel; a footnote in the summary's
    # thread, or in a DM (and where the sink could not start the thread) replying to the summary.
    threaded = kind == "text" and summary not in fell_back

    def placed(message: dict[str, Any], role: str) -> None:
        where = int(message["channel_id"])
        if role == "summary":
            assert where == channel, (channel, message["id"], "summary outside its channel")
            assert not message.get("message_reference"), (channel, message["id"])
        elif threaded:
            assert where == summary, (channel, message["id"], "footnote outside the summary's thread")
        else:
            assert where == channel, (channel, message["id"])
            assert message["message_reference"]["message_id"] == str(summary), (channel, message["id"])

    # The ledger's messages are there, where they belong, as planned (the first summary message with its
    # [n] linked to the footnotes: to the ledger's own).
    ledger_ids = set()
    links: dict[int, tuple[int, int]] = {}
    for r in rows:
        where, mid = address(r["message_id"])
        ledger_ids.add(mid)
        assert mid in by_id, (channel, r["message_id"], "lost")
        message = by_id[mid]
        assert int(message["channel_id"]) == where, (channel, r["message_id"])
        placed(message, r["role"])
        if r["seq"] == 0:
            assert message["content"].split("\n", 1)[0] == r["text"].split("\n", 1)[0], channel
        else:
            assert sent_signature(message) == planned_signature(r), (channel, r["seq"])
        if r["role"] == "footnote":
            links.setdefault(r["ref"], (where, mid))
    assert sorted(links) == list(range(1, PAPERS + 1)), (channel, sorted(links))
    guild = str(GUILD) if kind == "text" else "@me"
    shown = "\n".join(by_id[address(r["message_id"])[1]]["content"] for r in rows if r["role"] == "summary")
    linked = {int(m[3]): (m[1], int(m[2])) for m in LINK.finditer(shown)}
    assert linked == {mid: (guild, where) for where, mid in links.values()}, channel

    # Anything else is a message of the ledger sent again: the last one created before some kill.
    planned = Counter(planned_signature(r) for r in rows)
    roles = {planned_signature(r): r["role"] for r in rows}
    extras = [m for m in sent if int(m["id"]) not in ledger_ids]
    for m in extras:
        assert (int(m["channel_id"]), int(m["id"])) in in_flight, (channel, m["id"], sent_signature(m)[:120])
        assert sent_signature(m) in planned, (channel, m["id"], sent_signature(m)[:120])
        placed(m, roles[sent_signature(m)])

    # Threads: the ledger summary's, holding its footnotes (and their in-flight duplicates) and nothing else,
    # and otherwise only one started from an in-flight summary sent again, with nothing in it.
    threads = {int(t["id"]): t for t in fake.threads(channel)}
    late = 0
    if kind == "dm":
        assert threads == {}, channel
    elif threaded:
        assert summary in threads, (channel, "no thread for the summary")
        footnotes = {int(m["id"]) for m in sent if m["embeds"]}
        assert {int(m["id"]) for m in fake.messages(summary)} == footnotes, channel
        # named after the digest, unless a footnote found no thread and started it (a fallback name)
        late = int(threads[summary]["name"] != summary_row["payload"]["thread_name"])
    for thread in threads.keys() - {summary}:
        starter = by_id.get(thread)
        assert starter is not None, (channel, thread, "orphan thread")
        assert starter in extras, (channel, thread, "a second thread")
        assert roles[sent_signature(starter)] == "summary", (channel, thread)
        assert fake.messages(thread) == [], (channel, thread, "messages in a duplicate summary's thread")
    others = len(threads.keys() - {summary})
    return Counter([roles[sent_signature(m)] for m in extras] + ["thread"] * others + ["late thread"] * late)


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
async def test_sigkill_during_discord_fan_out_loses_nothing(backend: str, tmp_path: Path) -> None:
    seed = int(os.environ.get("ARXIV_DIGEST_KILL_SEED") or random.randrange(2**32))
    print(f"Discord kill test on {backend}: seed {seed} (ARXIV_DIGEST_KILL_SEED={seed} to replay)")
    started = time.monotonic()
    with FakeDiscord(token=TOKEN, application_id=APP_ID, scale=SCALE) as fake, FakeArxiv() as arxiv:
        fake.add_guild(GUILD, name="Physics")
        for i, channel in enumerate(TEXT_CHANNELS):
            fake.add_text_channel(GUILD, channel, name=f"papers-{i}")
        for user in DM_USERS:
            fake.add_user(user, username=f"reader{user % 100}")
        chats = chat_keys(fake)
        async with database_url(backend, tmp_path) as url:
            db = Database(url)
            try:
                await db.upgrade()
                await add_chats(db, chats)
                bot = Bot(bot_env(url, fake, arxiv), tmp_path)
                kills = await kill_repeatedly(fake, db, bot, random.Random(seed), len(chats))
                await finish(fake, db, bot, len(chats))
                ledger = await ledger_by_chat(db)
            finally:
                await db.dispose()

        # Nothing refused (a summary's thread started twice would be 400 160004), nothing pinged.
        refused = [(c.route, c.status, c.json) for c in fake.recorded() if c.status >= 400]
        assert refused == [], refused[:3]
        assert fake.pings() == []
        assert fake.internal_errors == []
        # At most one thread per summary; a footnote may reply in the channel only where starting the
        # thread was refused (never, above).
        started_threads = Counter(int(c.params["message_id"]) for c in fake.recorded(START_THREAD))
        assert all(n == 1 for n in started_threads.values()), started_threads.most_common(3)
        fell_back = {
            int(c.params["message_id"]) for c in fake.recorded(START_THREAD) if not 200 <= c.status < 300
        }
        # No error in the killed runs either (the last one's log is checked by finish); warnings are shown.
        logs = [log.read_text(errors="replace") for log in bot.logs]
        assert not any(TOKEN.split(".")[-1] in text for text in logs)
        for text in logs[:-1]:
            assert "Traceback" not in text, text[-3000:]
            assert " ERROR " not in text, text[-3000:]
        warnings = Counter(
            re.sub(r"\d", "0", line.split(" WARNING ", 1)[1])[:160]
            for text in logs
            for line in text.splitlines()
            if " WARNING " in line and "voice will NOT be supported" not in line  # discord.py, each start
        )
        for warning, count in warnings.most_common():
            print(f"warning logged {count} times: {warning}")

        assert set(ledger) == set(chats)
        in_flight = {k.in_flight for k in kills}
        repeated: Counter[str] = Counter()
        for channel, kind in chats.items():
            repeated += check_chat(fake, channel, kind, ledger[channel], in_flight, fell_back)
        duplicates = repeated["summary"] + repeated["footnote"]
        planned = sum(len(rows) for rows in ledger.values())
        sent = len(creates(fake))
        print(
            f"{len(kills)} kills, {sent} messages sent for {planned} planned, {duplicates} duplicates "
            f"({repeated['summary']} summaries, {repeated['thread']} with a thread of their own), "
            f"{repeated['late thread']} threads started by a footnote, "
            f"{time.monotonic() - started:.1f} s, seed {seed}"
        )
        assert len(kills) == KILLS
        assert duplicates <= len(kills)  # at most one per kill: each is the message in flight at a kill
        assert sent == planned + duplicates
