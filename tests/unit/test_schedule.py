"""arXiv's announcement calendar and push times."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from arxiv_digest.papers.schedule import (
    announcement_date,
    announcements_between,
    format_local,
    next_announcement,
    next_push,
    push_at,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_feed_refreshes_monday_to_friday_at_midnight_eastern() -> None:
    week = announcements_between(utc(2026, 11, 22), utc(2026, 11, 29))  # Sunday .. Sunday
    assert [announcement_date(i) for i in week] == [date(2026, 11, d) for d in (23, 24, 25, 26, 27)]
    assert all(i.hour == 5 for i in week)  # 00:00 EST == 05:00 UTC


def test_daylight_saving_moves_the_utc_hour() -> None:
    summer = next_announcement(utc(2026, 7, 1, 12))
    assert summer == utc(2026, 7, 2, 4)  # 00:00 EDT
    # 2026-03-08 is the US switch to DST: Monday's refresh is at 04:00 UTC, the previous Friday's at 05:00
    assert next_announcement(utc(2026, 3, 6, 0)) == utc(2026, 3, 6, 5)
    assert next_announcement(utc(2026, 3, 7, 0)) == utc(2026, 3, 9, 4)


@pytest.mark.parametrize(
    ("now", "push", "zone", "expected_local"),
    [
        # Thursday evening UTC: Friday's batch (refresh 05:00 UTC) reaches Shanghai at 09:00 the next day
        (utc(2026, 11, 26, 19), time(9), "Asia/Shanghai", "2026-11-27 Fri 09:00"),
        # Saturday: nothing until Monday's refresh; 13:00 in Shanghai, so Tuesday 09:00 there
        (utc(2026, 11, 28, 12), time(9), "Asia/Shanghai", "2026-12-01 Tue 09:00"),
        (utc(2026, 11, 28, 12), time(8), "Europe/Berlin", "2026-11-30 Mon 08:00"),
        # UTC+14 and UTC-12 (no DST)
        (utc(2026, 11, 28, 12), time(7), "Pacific/Kiritimati", "2026-12-01 Tue 07:00"),
        (utc(2026, 11, 28, 12), time(7), "Etc/GMT+12", "2026-11-30 Mon 07:00"),
        # half an hour after the refresh, in New York
        (utc(2026, 11, 24, 1), time(0, 30), "America/New_York", "2026-11-24 Tue 00:30"),
        # late the same evening: Monday's batch (refreshed at 00:00) still goes out Monday
        (utc(2026, 11, 24, 1), time(23, 55), "America/New_York", "2026-11-23 Mon 23:55"),
    ],
)
def test_next_push(now: datetime, push: time, zone: str, expected_local: str) -> None:
    at = next_push(now, push, zone)
    assert at > now
    assert format_local(at, zone) == f"{expected_local} ({zone})"
    # a refresh happened within the 24 hours before it
    assert announcements_between(at - timedelta(days=1), at)


def test_push_time_in_a_dst_gap_moves_forward() -> None:
    # 2026-03-29 02:30 does not exist in Berlin: it is taken as 03:30 CEST (01:30 UTC)
    assert push_at(date(2026, 3, 29), time(2, 30), "Europe/Berlin") == utc(2026, 3, 29, 1, 30)
    # in a repeated hour (2026-10-25 02:30 happens twice) the first one counts
    assert push_at(date(2026, 10, 25), time(2, 30), "Europe/Berlin") == utc(2026, 10, 25, 0, 30)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_push(datetime(2026, 1, 1), time(9), "UTC")


def test_format_local_in_the_chat_language() -> None:
    at = utc(2026, 11, 27, 1)  # a Friday
    ja = ("月", "火", "水", "木", "金", "土", "日")
    assert format_local(at, "Asia/Tokyo", ja) == "2026-11-27 金 10:00 (Asia/Tokyo)"
    assert format_local(at, "UTC") == "2026-11-27 Fri 01:00 (UTC)"  # not the process locale's %a
