"""The Telegram flood limiter's windows, queues and retries (short real periods, no server)."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import timedelta
from typing import Any

import pytest
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from arxiv_digest.bot.delivery import fan_out
from arxiv_digest.bot.telegram.limiter import FloodLimiter, Window, _chat_key


def _max_in_any_period(times: list[float], period: float) -> int:
    times = sorted(times)
    best = start = 0
    for end, t in enumerate(times):
        while times[start] <= t - period:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_no_period_at_the_far_end_holds_more_than_count_whatever_the_delays() -> None:
    """Requests reach the 'server' after a random delay and answer after another: the arrival times never
    crowd more than ``count`` into one ``period``, although the requests are let through as fast as
    possible."""
    window = Window(5, 0.05)
    rng = random.Random(7)
    arrivals: list[float] = []

    async def request() -> None:
        for _ in range(6):
            await window.acquire()
            try:
                await asyncio.sleep(rng.uniform(0, 0.02))  # on the way
                arrivals.append(time.monotonic())
                await asyncio.sleep(rng.uniform(0, 0.02))  # the answer on its way back
            finally:
                window.release()

    await asyncio.gather(*(request() for _ in range(15)))
    assert len(arrivals) == 90
    assert _max_in_any_period(arrivals, 0.05) <= 5


async def test_a_window_lets_count_requests_through_at_once() -> None:
    window = Window(3, 10.0)
    for _ in range(3):
        await asyncio.wait_for(window.acquire(), 0.1)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(window.acquire(), 0.05)


async def test_a_request_not_sent_frees_its_place_at_once_and_a_sent_one_after_the_period() -> None:
    window = Window(1, 0.2)
    await window.acquire()
    window.release(sent=False)
    await asyncio.wait_for(window.acquire(), 0.05)
    window.release(sent=True)
    started = time.monotonic()
    await window.acquire()
    assert time.monotonic() - started >= 0.19
    window.release()


async def test_urgent_requests_overtake_the_fan_out_and_each_class_keeps_its_order() -> None:
    window = Window(1, 0.02)
    await window.acquire()
    order: list[str] = []

    async def wait(name: str, urgent: bool) -> None:
        await window.acquire(urgent=urgent)
        order.append(name)
        window.release()

    tasks = [asyncio.create_task(wait(f"bulk{i}", False)) for i in range(3)]
    await asyncio.sleep(0)
    tasks += [asyncio.create_task(wait(f"urgent{i}", True)) for i in range(2)]
    await asyncio.sleep(0)
    window.release()
    await asyncio.wait_for(asyncio.gather(*tasks), 2)
    assert order == ["urgent0", "urgent1", "bulk0", "bulk1", "bulk2"]


async def test_a_cancelled_waiter_gives_up_its_place() -> None:
    window = Window(1, 0.02)
    await window.acquire()
    cancelled = asyncio.create_task(window.acquire())
    after = asyncio.create_task(window.acquire())
    await asyncio.sleep(0)
    cancelled.cancel()
    window.release()
    await asyncio.wait_for(after, 1)
    window.release()
    assert await asyncio.wait_for(_idle_after(window, 0.05), 1)


async def _idle_after(window: Window, seconds: float) -> bool:
    await asyncio.sleep(seconds)
    return window.idle


def test_chat_keys() -> None:
    assert _chat_key({"chat_id": 42}) == ("42", True)
    assert _chat_key({"chat_id": "42"}) == ("42", True)
    assert _chat_key({"chat_id": -1001234}) == ("-1001234", False)
    assert _chat_key({"chat_id": "@channel"}) == ("@channel", False)
    assert _chat_key({"text": "no chat"}) is None
    assert _chat_key({"chat_id": ""}) is None


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="count"):
        Window(0, 1.0)
    with pytest.raises(ValueError, match="scale"):
        FloodLimiter(scale=0)


class _Flaky:
    """A request callback that answers 429 ``failures`` times, then succeeds."""

    def __init__(self, failures: int, retry_after: float) -> None:
        self.failures = failures
        self.retry_after = retry_after
        self.calls = 0

    async def __call__(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.failures:
            raise RetryAfter(timedelta(seconds=self.retry_after))
        return {"ok": True}


async def _request(limiter: FloodLimiter, callback: Any, endpoint: str = "sendMessage") -> Any:
    return await limiter.process_request(callback, (), {}, endpoint, {"chat_id": 42}, None)


async def test_a_429_is_waited_out_and_retried() -> None:
    limiter = FloodLimiter(scale=1000, max_retries=2)
    flaky = _Flaky(2, 0.01)
    assert await _request(limiter, flaky) == {"ok": True}
    assert flaky.calls == 3
    assert limiter.retried == 2


async def test_retries_are_bounded() -> None:
    limiter = FloodLimiter(scale=1000, max_retries=1)
    flaky = _Flaky(5, 0.01)
    with pytest.raises(RetryAfter):
        await _request(limiter, flaky)
    assert flaky.calls == 2


async def test_a_long_wait_reaches_the_caller_at_once() -> None:
    limiter = FloodLimiter(scale=1000, max_retry_wait=5)
    flaky = _Flaky(1, 60)
    with pytest.raises(RetryAfter):
        await _request(limiter, flaky)
    assert flaky.calls == 1


async def test_a_429_in_the_fan_out_reaches_the_delivery_at_once() -> None:
    """The delivery owns the fan-out's waits: the limiter does not wait the same 429 out a second time."""
    limiter = FloodLimiter(scale=1000, max_retries=2)
    flaky = _Flaky(1, 0.01)
    with fan_out(), pytest.raises(RetryAfter):
        await _request(limiter, flaky)
    assert flaky.calls == 1
    assert limiter.retried == 0


async def test_reads_are_not_limited_and_writes_to_a_private_chat_are() -> None:
    limiter = FloodLimiter(scale=1, overall=(1000, 1.0))  # one message a second per private chat
    ok = _Flaky(0, 0)
    for _ in range(5):
        await asyncio.wait_for(_request(limiter, ok, "getChatMember"), 0.5)
    await _request(limiter, ok)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(_request(limiter, ok), 0.3)


async def test_the_fan_out_marker_reaches_the_limiter_through_tasks() -> None:
    limiter = FloodLimiter(scale=1, overall=(1, 10.0))
    ok = _Flaky(0, 0)
    await limiter.process_request(ok, (), {}, "sendMessage", {"chat_id": 1}, None)  # fills the window
    order: list[str] = []

    async def send(name: str, chat: int) -> None:
        await limiter.process_request(ok, (), {}, "sendMessage", {"chat_id": chat}, None)
        order.append(name)

    with fan_out():
        bulk = asyncio.create_task(send("fan-out", 2))
    await asyncio.sleep(0)
    reply = asyncio.create_task(send("reply", 3))
    await asyncio.sleep(0)
    assert limiter.overall.waiting == (1, 1)
    bulk.cancel()
    reply.cancel()
    await asyncio.gather(bulk, reply, return_exceptions=True)
    assert order == []


class _Failing:
    """A request callback that raises ``error`` ``failures`` times, then succeeds."""

    def __init__(self, error: Exception, failures: int) -> None:
        self.error = error
        self.failures = failures
        self.calls = 0

    async def __call__(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return {"ok": True}


async def test_a_reply_failing_on_telegrams_side_is_sent_again() -> None:
    limiter = FloodLimiter(scale=1000, max_retries=2, network_backoff=0.01)
    failing = _Failing(NetworkError("Bad Gateway"), 2)
    assert await _request(limiter, failing) == {"ok": True}
    assert failing.calls == 3
    with pytest.raises(NetworkError):  # bounded
        await _request(limiter, _Failing(NetworkError("Bad Gateway"), 5))


async def test_a_timed_out_reply_and_the_fan_out_are_not_sent_again() -> None:
    limiter = FloodLimiter(scale=1000, max_retries=2, network_backoff=0.01)
    timed_out = _Failing(TimedOut(), 1)  # it may have arrived: a second one would be a duplicate
    with pytest.raises(TimedOut):
        await _request(limiter, timed_out)
    assert timed_out.calls == 1
    bad = _Failing(
        BadRequest("can't parse entities"), 1
    )  # a 400 (a NetworkError in PTB): the request's fault
    with pytest.raises(BadRequest):
        await _request(limiter, bad)
    assert bad.calls == 1
    failing = _Failing(NetworkError("Bad Gateway"), 1)  # the delivery stays pending; the next run sends it
    with fan_out(), pytest.raises(NetworkError):
        await _request(limiter, failing)
    assert failing.calls == 1
