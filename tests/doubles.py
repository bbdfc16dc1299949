"""Test doubles the integration and end-to-end tests share: a clock set by hand, sleeps recorded instead of
slept, and the raw answer a fault test puts on the wire instead of a fake's own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

# Thursday 02:00 EDT: the 2026-09-24 batch (the fixture feed's) is out.
THURSDAY = datetime(2026, 9, 24, 6, 0, tzinfo=UTC)


class Clock:
    """``now`` as the code under test reads it; tests move it by assigning ``now``."""

    def __init__(self, now: datetime = THURSDAY) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Sleeps:
    """An injected sleep: records the delays, returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@dataclass(frozen=True)
class RawAnswer:
    """What to put on the wire instead of the fake's own answer. ``length``: the Content-Length to announce
    (longer than ``body``: the connection is closed mid-body)."""

    body: bytes
    status: int = 200
    content_type: str = "application/json"
    length: int | None = None
