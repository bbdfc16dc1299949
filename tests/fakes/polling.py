"""What every fake offers its tests: wait, without blocking the event loop, for something to happen."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def wait_until(predicate: Callable[[], bool], timeout: float, interval: float) -> None:  # noqa: ASYNC109
    """Poll ``predicate`` every ``interval`` seconds; TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
