"""arXiv's announcement calendar and a chat's push times. Pure: ``now`` is always passed in.

arXiv announces new submissions at 20:00 US Eastern, Sunday to Thursday (its "mailings"); the RSS feeds
switch to the new batch at the following midnight Eastern, Monday to Friday, and that date is the batch's
announcement date (what the feed states, and how batches are keyed here). The times below are feed
refreshes. Holidays are not known in advance: on a holiday the feed stays empty or unchanged and no
digest is sent, so the times computed here are the earliest a digest can arrive, not a promise.

A chat's digest is due at its local push time on a day whose preceding 24 hours contain an announcement.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

ARXIV_TZ = ZoneInfo("America/New_York")
FEED_REFRESH_AT = time(0, 0)
FEED_WEEKDAYS = frozenset({0, 1, 2, 3, 4})  # Monday .. Friday (Monday == 0)


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now


def announcements_between(start: datetime, end: datetime) -> list[datetime]:
    """Feed refreshes with a new batch in ``(start, end]`` (UTC)."""
    start, end = _aware(start), _aware(end)
    found: list[datetime] = []
    day = start.astimezone(ARXIV_TZ).date() - timedelta(days=1)
    last = end.astimezone(ARXIV_TZ).date()
    while day <= last:
        if day.weekday() in FEED_WEEKDAYS:
            instant = datetime.combine(day, FEED_REFRESH_AT, ARXIV_TZ).astimezone(UTC)
            if start < instant <= end:
                found.append(instant)
        day += timedelta(days=1)
    return found


def next_announcement(now: datetime) -> datetime:
    """The first feed refresh with a new batch after ``now`` (UTC)."""
    found = announcements_between(now, now + timedelta(days=4))
    return found[0]


def announcement_date(instant: datetime) -> date:
    """The announcement date of the batch the feed serves from ``instant`` on (a refresh instant)."""
    return instant.astimezone(ARXIV_TZ).date()


def push_at(day: date, push_time: time, timezone: str) -> datetime:
    """The UTC instant of ``push_time`` on local ``day`` in ``timezone`` (a DST gap moves it forward)."""
    local = datetime.combine(day, push_time, ZoneInfo(timezone))
    return local.astimezone(UTC)


def next_push(now: datetime, push_time: time, timezone: str) -> datetime:
    """The next instant (UTC, after ``now``) at which a chat with this push time gets a digest."""
    now = _aware(now)
    today = now.astimezone(ZoneInfo(timezone)).date()
    for offset in range(0, 9):
        candidate = push_at(today + timedelta(days=offset), push_time, timezone)
        if candidate <= now:
            continue
        if announcements_between(candidate - timedelta(days=1), candidate):
            return candidate
    raise AssertionError("no announcement within a week")  # pragma: no cover - five per week


def format_local(instant: datetime, timezone: str, weekdays: Sequence[str] | None = None) -> str:
    """``2026-11-27 Fri 09:00 (Asia/Shanghai)``: a push time as the chat reads it. ``weekdays``: the seven
    day names to use, Monday first (the chat's language); English abbreviations by default."""
    local = instant.astimezone(ZoneInfo(timezone))
    names = weekdays if weekdays is not None and len(weekdays) == 7 else _WEEKDAYS
    return f"{local:%Y-%m-%d} {names[local.weekday()]} {local:%H:%M} ({timezone})"


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # not %a: that follows the process locale


def refresh_of(day: date) -> datetime:
    """The instant (UTC) the feeds switch to the batch announced on ``day``."""
    return datetime.combine(day, FEED_REFRESH_AT, ARXIV_TZ).astimezone(UTC)


def latest_batch_date(now: datetime) -> date:
    """The announcement date of the batch the feeds serve at ``now`` (holidays not known)."""
    found = announcements_between(_aware(now) - timedelta(days=5), now)
    return announcement_date(found[-1])


def expected_dates(since: date, now: datetime) -> list[date]:
    """Announcement dates after ``since`` up to the batch served at ``now``, oldest first."""
    start = refresh_of(since)
    return [announcement_date(i) for i in announcements_between(start, _aware(now))]


def first_push_at_or_after(instant: datetime, push_time: time, timezone: str) -> datetime:
    """The first local ``push_time`` in ``timezone`` at or after ``instant`` (UTC)."""
    local_day = _aware(instant).astimezone(ZoneInfo(timezone)).date()
    for offset in range(0, 3):
        candidate = push_at(local_day + timedelta(days=offset), push_time, timezone)
        if candidate >= instant:
            return candidate
    raise AssertionError("a push time within two days")  # pragma: no cover


def push_due(day: date, push_time: time, timezone: str, *, not_before: datetime | None = None) -> datetime:
    """When a chat gets the batch of ``day``: its first push time after the feed refresh (and after
    ``not_before``, the chat's subscription, so a new subscriber gets the latest batch at the next push
    time rather than at once)."""
    instant = refresh_of(day)
    if not_before is not None and not_before > instant:
        instant = not_before
    return first_push_at_or_after(instant, push_time, timezone)


_NOT_ZONES = frozenset({"Factory", "localtime", "posixrules"})  # files in the tz database, not places


@functools.cache
def _zones() -> dict[str, str]:
    """Every IANA zone name by its lower-cased form."""
    return {name.lower(): name for name in available_timezones() if name not in _NOT_ZONES}


def canonical_timezone(text: str) -> str | None:
    """The IANA zone ``text`` names (any case: ``asia/shanghai`` is ``Asia/Shanghai``; ``Z`` and ``GMT``
    are ``UTC``), or None. Only names of the tz database's zone list count: a region directory such as
    ``America``, a path, or ``localtime``/``Factory``/``posixrules`` are not zones."""
    name = text.strip()
    if name.upper() in {"UTC", "GMT", "Z"}:
        return "UTC"
    return _zones().get(name.lower())
