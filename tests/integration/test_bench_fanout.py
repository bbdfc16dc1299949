"""A small run of the fan-out benchmark (`python -m bench.fanout`): each planned message arrives once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bench.fanout import format_fanout, run_fanout

LAST_LINE = re.compile(
    r"messages=(?P<messages>\d+) seconds=(?P<seconds>[\d.]+) rate=(?P<rate>[\d.]+) limit=(?P<limit>[\d.]+) "
    r"ratio=(?P<ratio>[\d.]+) 429s=(?P<limited>\d+) lost=(?P<lost>\d+) duplicated=(?P<duplicated>\d+)"
)


async def test_small_run_delivers_every_message_once(tmp_path: Path) -> None:
    result = await run_fanout(chats=20, groups=2, papers=5, scale=20.0, concurrency=20, work_dir=tmp_path)

    assert (result.planned, result.delivered, result.failed, result.later) == (20, 20, 0, 0)
    assert result.lost == 0
    assert result.duplicated == 0
    assert result.unexpected == 0
    assert result.rate_limited == 0  # the limiter keeps under the fake's limits without learning from 429s
    # 20 chats x (one summary + 5 footnotes); the two supergroups get their summary linked by an edit.
    assert result.expected == 20 * 6
    assert result.messages == result.expected
    assert result.per_kind == {"private": 18 * 6, "supergroup": 2 * 6}
    assert result.edits == 2
    assert result.fake == "process"
    assert result.plan_seconds > 0
    assert result.send_seconds > 0

    text = format_fanout(result)
    match = LAST_LINE.fullmatch(text.splitlines()[-1])
    assert match is not None, text
    assert int(match["messages"]) == result.messages
    assert float(match["limit"]) == pytest.approx(30.0 * 20.0)
    assert float(match["ratio"]) == pytest.approx(result.rate / result.limit, abs=1e-3)
    assert int(match["limited"]) == result.rate_limited
    assert (int(match["lost"]), int(match["duplicated"])) == (0, 0)


async def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="groups"):
        await run_fanout(chats=2, groups=3, papers=1, work_dir=tmp_path)


def test_lost_duplicated_and_unplanned_messages_are_counted() -> None:
    from bench.fanout import _count

    planned = {
        "1": [("summary", None, "s1"), ("footnote", 1, "f1"), ("footnote", 2, "f2")],
        "-1001000000001": [("summary", None, "g"), ("footnote", 1, "gf1")],  # footnote 2 never planned
    }
    keys = [("1", "private"), ("-1001000000001", "supergroup"), ("2", "private")]  # chat 2: no delivery
    sent = [(1, "s1"), (1, "f1"), (1, "f1"), (-1001000000001, "g"), (-1001000000001, "gf1"), (1, "plain")]
    counts = _count(planned, keys, 2, sent)
    # lost: chat 1's f2, the group's unplanned footnote 2, chat 2's summary and two footnotes
    assert counts.lost == 1 + 1 + 3
    assert counts.duplicated == 1
    assert counts.unexpected == 1
    assert counts.expected == 3 + 2 + 1 + 3
    assert counts.per_kind == {"private": 4, "supergroup": 2}
