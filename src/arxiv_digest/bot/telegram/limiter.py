"""Telegram's flood limits, kept before the request instead of learnt from 429s.

Telegram allows a bot about 30 messages a second overall, one a second in a private chat and 20 a minute in
a group or channel. ``FloodLimiter`` is python-telegram-bot's rate-limiter hook (``BaseRateLimiter``): every
request but ``getUpdates`` and the read-only ``get*`` methods passes the overall window; requests aimed at a
chat (``chat_id`` in the request) pass that chat's window first.

Each window counts a request from the moment it is let through until ``period`` after its answer came back.
Telegram counts a message when it receives it, which is somewhere between those two instants, so however
the requests are delayed on their way (a busy event loop, a slow connection) no ``period`` at the server
ever holds more than ``count`` of them: the limiter needs no safety margin on the rates and never bunches
messages after a pause. Its cost is the round trip: a window lets ``count`` requests through per ``period``
plus the time one takes.

Requests wait in order of arrival, except that the scheduled fan-out's (``delivery.fan_out()``) wait behind
all others, so a command's reply is not stuck behind ten thousand chats' digests. A 429 that still happens
(another client with the same token, a limit Telegram does not publish) to a reply is waited out and
retried, up to ``max_retries`` times and ``max_retry_wait`` seconds, holding back only the chat it concerns;
then ``RetryAfter`` reaches the caller. A reply that fails on Telegram's side (5xx) or cannot connect is
retried the same way after ``network_backoff`` (doubling); a timeout is not, since the message may have
arrived. A 429 in the fan-out reaches the caller at once: the delivery
(``delivery.Deliverer``) owns that chat's waiting, so a 429 is never waited out twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter

from ..delivery import in_fan_out

logger = logging.getLogger(__name__)

OVERALL = (30, 1.0)  # messages, seconds
PRIVATE = (1, 1.0)
GROUP = (20, 60.0)
Result = bool | dict[str, Any] | list[dict[str, Any]]  # what a Bot API request returns
_SWEEP_EVERY = 1024  # requests between sweeps of idle chat windows


class Window:
    """At most ``count`` requests in any ``period`` seconds at the far end, whatever the delays on the way.

    ``acquire`` waits for a slot (urgent waiters first, each class in arrival order); ``release`` ends the
    request: a request that was sent keeps its slot until ``period`` after ``release``, one that was not
    frees it at once.
    """

    __slots__ = ("_busy", "_ends", "_queues", "_timer", "clock", "count", "period")

    def __init__(self, count: int, period: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if count < 1 or period <= 0:
            raise ValueError("a window needs count >= 1 and period > 0")
        self.count = count
        self.period = period
        self.clock = clock
        self._ends: deque[float] = deque()  # when sent requests ended, oldest first
        self._busy = 0  # let through, not ended
        self._queues: tuple[deque[asyncio.Future[None]], deque[asyncio.Future[None]]] = (deque(), deque())
        self._timer: asyncio.TimerHandle | None = None

    @property
    def idle(self) -> bool:
        """Nothing in flight, nobody waiting, nothing counted any more."""
        self._expire(self.clock())
        return not self._busy and not self._ends and not self._queues[0] and not self._queues[1]

    @property
    def waiting(self) -> tuple[int, int]:
        """Requests waiting: (urgent, fan-out)."""
        return len(self._queues[0]), len(self._queues[1])

    def _expire(self, now: float) -> None:
        ends = self._ends
        while ends and ends[0] + self.period <= now:
            ends.popleft()

    def _room(self) -> bool:
        self._expire(self.clock())
        return self._busy + len(self._ends) < self.count

    async def acquire(self, *, urgent: bool = True) -> None:
        if self._room() and not self._queues[0] and not (self._queues[1] and not urgent):
            self._busy += 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queues[0 if urgent else 1].append(future)
        self._pump()
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release(sent=False)  # granted just as we were cancelled
            else:
                with contextlib.suppress(ValueError):
                    self._queues[0 if urgent else 1].remove(future)
            raise

    def release(self, *, sent: bool = True) -> None:
        self._busy -= 1
        if sent:
            self._ends.append(self.clock())
        self._pump()

    def _pump(self) -> None:
        """Let waiters through while there is room; else wake up when the oldest counted request expires."""
        for queue in self._queues:
            while queue and self._room():
                future = queue.popleft()
                if not future.done():
                    self._busy += 1
                    future.set_result(None)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if (self._queues[0] or self._queues[1]) and self._ends:
            delay = self._ends[0] + self.period - self.clock()
            self._timer = asyncio.get_running_loop().call_later(max(delay, 0.0), self._pump)
        # with everything in flight, the next release pumps


def _chat_key(data: dict[str, Any]) -> tuple[str, bool] | None:
    """(chat id, is a private chat) of a request, or None for a request not aimed at a chat."""
    chat_id = data.get("chat_id")
    if chat_id is None or chat_id == "":
        return None
    text = str(chat_id)
    private = text.lstrip("-").isdigit() and not text.startswith("-")  # users have positive ids
    return text, private


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class FloodLimiter(BaseRateLimiter[None]):
    """python-telegram-bot's rate limiter at Telegram's limits (see the module docstring).

    ``scale`` multiplies every rate, for a fake Bot API enforcing scaled limits (the fan-out benchmark, the
    tests). ``overall``, ``private`` and ``group`` are (messages, seconds) at scale 1.
    """

    def __init__(
        self,
        *,
        scale: float = 1.0,
        overall: tuple[int, float] = OVERALL,
        private: tuple[int, float] = PRIVATE,
        group: tuple[int, float] = GROUP,
        max_retries: int = 2,
        max_retry_wait: float = 30.0,
        network_backoff: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.scale = scale
        self.clock = clock
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self.network_backoff = network_backoff
        self._private = (private[0], private[1] / scale)
        self._group = (group[0], group[1] / scale)
        self.overall = Window(overall[0], overall[1] / scale, clock=clock)
        self._chats: dict[str, Window] = {}
        self._requests = 0
        self.retried = 0  # replies retried: after a 429 waited out, or a 5xx or failed connection

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        self._chats.clear()

    def chat_window(self, chat_id: str, private: bool) -> Window:
        window = self._chats.get(chat_id)
        if window is None:
            count, period = self._private if private else self._group
            window = self._chats[chat_id] = Window(count, period, clock=self.clock)
        return window

    def _sweep(self) -> None:
        self._requests += 1
        if self._requests % _SWEEP_EVERY == 0:
            for key in [key for key, window in self._chats.items() if window.idle]:
                del self._chats[key]

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> Result:
        if endpoint.startswith("get"):  # reads: not messages, not limited
            return await callback(*args, **kwargs)
        self._sweep()
        chat = _chat_key(data)
        urgent = not in_fan_out()
        attempt = 0
        while True:
            windows = [self.chat_window(*chat), self.overall] if chat else [self.overall]
            try:
                return await self._through(windows, urgent, callback, args, kwargs)
            except RetryAfter as exc:
                wait = _seconds(exc.retry_after)
                attempt += 1
                if not urgent or attempt > self.max_retries or wait > self.max_retry_wait:
                    raise  # the fan-out's waits belong to the delivery
                self.retried += 1
                logger.info(
                    "%s to chat %s: Telegram asked to wait %.3g s; retrying", endpoint, chat and chat[0], wait
                )
                await asyncio.sleep(wait)
            except NetworkError as exc:
                # A reply that failed on Telegram's side (5xx) or never left (no connection) is sent again
                # rather than lost; a timeout is not (the message may have arrived), nor anything of the
                # fan-out (its delivery stays pending and the next run sends it).
                attempt += 1
                # (PTB's BadRequest is a NetworkError too: a 400 is the request's fault, never retried)
                if not urgent or isinstance(exc, TimedOut | BadRequest) or attempt > self.max_retries:
                    raise
                self.retried += 1
                wait = self.network_backoff * 2 ** (attempt - 1)
                logger.info(
                    "%s to chat %s failed (%s); retrying in %.3g s", endpoint, chat and chat[0], exc, wait
                )
                await asyncio.sleep(wait)

    @staticmethod
    async def _through(
        windows: list[Window],
        urgent: bool,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
    ) -> Result:
        """Acquire ``windows`` in order (the chat's, then the overall one), make the request, release."""
        held: list[Window] = []
        sent = False
        try:
            for window in windows:
                await window.acquire(urgent=urgent)
                held.append(window)
            sent = True
            return await callback(*args, **kwargs)
        finally:
            for window in held:
                window.release(sent=sent)
