"""The flood limiter in the real python-telegram-bot against the fake Bot API enforcing Telegram's limits
(scaled five times, so a run takes about two seconds)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from telegram.error import RetryAfter
from telegram.ext import ExtBot

from arxiv_digest.bot.delivery import fan_out
from arxiv_digest.bot.telegram.limiter import FloodLimiter
from tests.fakes.telegram_server import FakeTelegram

TOKEN = "123456789:limiter"
SCALE = 5.0
PRIVATE = list(range(1, 41))
GROUPS = [-1001000000001 - i for i in range(4)]


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TOKEN, enforce_rate_limits=True, scale=SCALE) as server:
        yield server


async def _burst(bot: ExtBot[None], per_private: int, per_group: int) -> dict[int, list[int]]:
    """Every chat at once: ``per_private`` messages to each private chat, ``per_group`` to each group, each
    chat's in order. Returns the numbers each chat received."""
    received: dict[int, list[int]] = {}

    async def chat(chat_id: int, count: int) -> None:
        for n in range(count):
            try:
                await bot.send_message(chat_id, f"message {n}")
                received.setdefault(chat_id, []).append(n)
            except RetryAfter:
                pass

    with fan_out():
        await asyncio.gather(*(chat(c, per_private) for c in PRIVATE), *(chat(g, per_group) for g in GROUPS))
    return received


async def test_a_burst_to_many_chats_meets_no_429(fake: FakeTelegram) -> None:
    limiter = FloodLimiter(scale=SCALE)
    async with ExtBot(TOKEN, base_url=fake.base_url, rate_limiter=limiter) as bot:
        received = await _burst(bot, per_private=5, per_group=20)
    assert fake.rate_limited == 0
    assert limiter.retried == 0
    assert all(received[c] == list(range(5)) for c in PRIVATE)
    assert all(received[g] == list(range(20)) for g in GROUPS)


async def test_without_the_limiter_the_same_burst_meets_429s(fake: FakeTelegram) -> None:
    """The check above can fail: the fake does refuse what the limiter holds back."""
    async with ExtBot(TOKEN, base_url=fake.base_url) as bot:
        await _burst(bot, per_private=2, per_group=2)
    assert fake.rate_limited > 0


async def test_a_reply_overtakes_the_fan_out(fake: FakeTelegram) -> None:
    """With the overall window full of fan-out messages, a command's reply goes out next."""
    limiter = FloodLimiter(scale=SCALE, overall=(5, 1.0))  # 25 a second here: the fan-out queues for seconds
    async with ExtBot(TOKEN, base_url=fake.base_url, rate_limiter=limiter) as bot:
        fan = asyncio.create_task(_burst(bot, per_private=1, per_group=0))
        await asyncio.sleep(0.05)
        assert limiter.overall.waiting[1] > 20, "the fan-out should be waiting by now"
        await bot.send_message(999, "reply")
        waiting = limiter.overall.waiting[1]
        received = await fan
    assert waiting > 10  # fan-out messages queued before the reply were still waiting when it went out
    assert sorted(received) == PRIVATE
    assert fake.rate_limited == 0
