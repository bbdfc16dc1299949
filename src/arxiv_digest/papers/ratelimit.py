"""A process-wide gate for requests to arXiv.

arXiv's terms of use ask for at most one request every 3 seconds, over one connection, for the whole
deployment, RSS feed and API together. :class:`RequestGate` enforces both halves:

- **one at a time**: whoever holds the gate is the only one talking to arXiv;
- **spacing**: the START of a request is at least ``min_interval`` seconds after the START of the
  previous one.

The same gate is used from asyncio code (``async with gate:``) and from the worker thread the blocking
``arxiv`` client runs in (``with gate:``). Waiters of both kinds queue in one FIFO; ownership is handed
directly from the releaser to the next waiter, so neither side can starve the other. The spacing wait
happens while holding the gate, with the injected ``sleep`` (async side) or ``sync_sleep`` (thread side),
and ``clock`` tells the time, so tests run on a fake clock without real waiting.

Never use the blocking form on an event loop thread: it would block the loop (it raises RuntimeError).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType

logger = logging.getLogger(__name__)


class _Waiter:
    """One queued acquirer: an asyncio future (async side) or a threading.Event (thread side)."""

    __slots__ = ("event", "future", "granted", "loop")

    def __init__(
        self,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
        future: asyncio.Future[None] | None = None,
        event: threading.Event | None = None,
    ) -> None:
        self.loop = loop
        self.future = future
        self.event = event
        self.granted = False

    def wake(self) -> bool:
        """Tell the waiter it owns the gate. False when it can no longer take it (cancelled, loop closed)."""
        if self.event is not None:
            self.event.set()
            return True
        assert self.future is not None
        assert self.loop is not None
        if self.future.done():
            return False
        try:
            self.loop.call_soon_threadsafe(_resolve, self.future)
        except RuntimeError:  # the loop is closed
            return False
        return True


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class RequestGate:
    """At most one request at a time, starts at least ``min_interval`` seconds apart; thread-safe.

    Usage::

        gate = RequestGate()             # one per process, shared by every arXiv client
        async with gate:                 # asyncio side
            response = await http.get(url)
        with gate:                       # worker-thread side (blocking)
            response = session.get(url)
    """

    def __init__(
        self,
        *,
        min_interval: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        sync_sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if min_interval < 0:
            raise ValueError("min_interval must be >= 0")
        self.min_interval = min_interval
        self._clock = clock
        self._sleep = sleep
        self._sync_sleep = sync_sleep
        self._mutex = threading.Lock()  # guards the fields below; held only for a few statements
        self._owned = False
        self._waiters: deque[_Waiter] = deque()
        self._last_start: float | None = None
        self._count = 0

    # -- introspection ---------------------------------------------------------------------------

    @property
    def last_start(self) -> float | None:
        """The clock reading at the start of the latest request, None before the first."""
        return self._last_start

    @property
    def requests_started(self) -> int:
        """How many requests have passed the gate."""
        return self._count

    @property
    def locked(self) -> bool:
        return self._owned

    # -- ownership (shared by both sides) --------------------------------------------------------

    def _try_take_or_enqueue(self, waiter: _Waiter) -> bool:
        with self._mutex:
            if not self._owned:
                self._owned = True
                return True
            self._waiters.append(waiter)
            return False

    def _release(self) -> None:
        with self._mutex:
            while self._waiters:
                nxt = self._waiters.popleft()
                if nxt.wake():
                    nxt.granted = True  # ownership handed over: _owned stays True
                    return
            self._owned = False

    def _cancel_wait(self, waiter: _Waiter) -> None:
        """A waiter gave up. If ownership already reached it, pass it on; otherwise leave the queue."""
        with self._mutex:
            if not waiter.granted:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
                return
        self._release()

    def _delay(self) -> float:
        if self._last_start is None:
            return 0.0
        return self._last_start + self.min_interval - self._clock()

    def _mark_start(self) -> None:
        self._last_start = self._clock()
        self._count += 1

    # -- asyncio side ----------------------------------------------------------------------------

    async def __aenter__(self) -> None:
        loop = asyncio.get_running_loop()
        waiter = _Waiter(loop=loop, future=loop.create_future())
        if not self._try_take_or_enqueue(waiter):
            assert waiter.future is not None
            try:
                await waiter.future
            except BaseException:
                self._cancel_wait(waiter)
                raise
        try:
            delay = self._delay()
            while delay > 0:
                logger.debug("request gate: waiting %.3f s", delay)
                await self._sleep(delay)
                delay = self._delay()
            self._mark_start()
        except BaseException:
            self._release()
            raise

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._release()

    # -- thread side (blocking) ------------------------------------------------------------------

    def __enter__(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError("RequestGate: use 'async with' on an event loop thread, not 'with'")
        waiter = _Waiter(event=threading.Event())
        if not self._try_take_or_enqueue(waiter):
            assert waiter.event is not None
            waiter.event.wait()
        try:
            delay = self._delay()
            while delay > 0:
                logger.debug("request gate (thread): waiting %.3f s", delay)
                self._sync_sleep(delay)
                delay = self._delay()
            self._mark_start()
        except BaseException:
            self._release()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._release()
