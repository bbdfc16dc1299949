"""ArxivClient (real httpx, real arxiv + requests) against the fake arXiv; RequestGate; the schedule."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import arxiv
import pytest

from arxiv_digest.papers.arxiv_client import ArxivClient, latest_submission_window, paper_from_result
from arxiv_digest.papers.errors import InvalidArxivId, PaperNotFound, SourceUnavailable
from arxiv_digest.papers.models import AnnounceType
from arxiv_digest.papers.ratelimit import RequestGate
from tests.fakes.arxiv_server import FakeArxiv, ScriptedResponse, fixtures_dir

ET = ZoneInfo("America/New_York")
MULTI = ["cs.LG", "cs.AI", "cs.CL", "stat.ML"]
MULTI_PATH = "/rss/cs.LG+cs.AI+cs.CL+stat.ML"
THURSDAY_MORNING = datetime(2026, 9, 24, 12, 0, tzinfo=UTC)  # 08:00 EDT, after Wednesday's announcement


class FakeClock:
    """A monotonic clock that only moves when someone sleeps on it (from any thread)."""

    def __init__(self) -> None:
        self.t = 1000.0
        self._lock = threading.Lock()
        self.gate_sleeps: list[float] = []
        self.backoff_sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def _advance(self, seconds: float) -> None:
        with self._lock:
            self.t += seconds

    async def gate_sleep(self, seconds: float) -> None:
        self.gate_sleeps.append(seconds)
        self._advance(seconds)
        await asyncio.sleep(0)

    def gate_sleep_sync(self, seconds: float) -> None:
        self.gate_sleeps.append(seconds)
        self._advance(seconds)

    async def backoff_sleep(self, seconds: float) -> None:
        self.backoff_sleeps.append(seconds)
        self._advance(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakeArxiv]:
    with FakeArxiv(clock=clock) as server:
        yield server


@pytest.fixture
def gate(clock: FakeClock) -> RequestGate:
    return RequestGate(
        min_interval=3.0, clock=clock, sleep=clock.gate_sleep, sync_sleep=clock.gate_sleep_sync
    )


@pytest.fixture
async def client(fake: FakeArxiv, gate: RequestGate, clock: FakeClock) -> AsyncIterator[ArxivClient]:
    c = ArxivClient(
        rss_base_url=fake.rss_base_url,
        api_url=fake.api_url,
        gate=gate,
        timeout=2.0,
        retries=3,
        backoff=2.0,
        sleep=clock.backoff_sleep,
        user_agent="arxiv-digest-tests/1",
    )
    yield c
    await c.aclose()


def _assert_spaced(fake: FakeArxiv, interval: float = 3.0) -> None:
    times = [r.time for r in fake.requests]
    assert times == sorted(times)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(g >= interval - 1e-9 for g in gaps), gaps


# -- RSS ----------------------------------------------------------------------------------------------------


async def test_feed_ok(client: ArxivClient, fake: FakeArxiv) -> None:
    batch = await client.fetch_announcements(MULTI)
    assert batch.source == "rss"
    assert batch.announced_on == date(2026, 9, 24)
    assert [a.announce_type for a in batch.announcements] == [
        AnnounceType.NEW,
        AnnounceType.NEW,
        AnnounceType.CROSS,
        AnnounceType.REPLACE,
    ]
    assert batch.categories == tuple(MULTI)
    (req,) = fake.requests
    assert req.path == MULTI_PATH
    assert req.headers["User-Agent"] == "arxiv-digest-tests/1"


async def test_atom_and_empty_feed_paths(client: ArxivClient, fake: FakeArxiv) -> None:
    batch = await client.fetch_announcements(["math.OC"])
    assert batch.announcements[0].announce_type is AnnounceType.REPLACE_CROSS
    empty = await client.fetch_announcements(["q-bio.NC"])  # no fixture: the weekend feed
    assert empty.is_empty
    assert empty.announced_on is None
    assert [r.path for r in fake.requests] == ["/rss/math.OC", "/rss/q-bio.NC"]


async def test_503_then_ok_retries_with_backoff(
    client: ArxivClient, fake: FakeArxiv, clock: FakeClock
) -> None:
    fake.fail(MULTI_PATH, 503, times=2)
    batch = await client.fetch_announcements(MULTI)
    assert len(batch.announcements) == 4
    assert len(fake.requests) == 3
    assert clock.backoff_sleeps == [2.0, 4.0]
    _assert_spaced(fake)


async def test_429_honours_retry_after(client: ArxivClient, fake: FakeArxiv, clock: FakeClock) -> None:
    fake.fail(MULTI_PATH, 429, headers={"Retry-After": "17"})
    await client.fetch_announcements(MULTI)
    assert clock.backoff_sleeps == [17.0]
    assert len(fake.requests) == 2


async def test_404_is_not_retried(client: ArxivClient, fake: FakeArxiv, clock: FakeClock) -> None:
    fake.fail(MULTI_PATH, 404)
    with pytest.raises(SourceUnavailable, match="404"):
        await client.fetch_announcements(MULTI)
    assert len(fake.requests) == 1
    assert clock.backoff_sleeps == []


async def test_timeout_is_retried(fake: FakeArxiv, gate: RequestGate, clock: FakeClock) -> None:
    fake.enqueue(MULTI_PATH, ScriptedResponse(body=b"late", delay=0.4))
    async with ArxivClient(
        rss_base_url=fake.rss_base_url,
        api_url=fake.api_url,
        gate=gate,
        timeout=0.1,
        retries=1,
        sleep=clock.backoff_sleep,
    ) as c:
        batch = await c.fetch_announcements(MULTI)
    assert len(batch.announcements) == 4
    assert len(fake.feed_requests) == 2
    assert clock.backoff_sleeps == [2.0]


async def test_html_error_page_with_200_is_source_unavailable(client: ArxivClient, fake: FakeArxiv) -> None:
    fake.enqueue(MULTI_PATH, ScriptedResponse(body="<!DOCTYPE html><html><body>Oops</body></html>"))
    with pytest.raises(SourceUnavailable):
        await client.fetch_announcements(MULTI)


async def test_persistent_failure_then_api_fallback(
    client: ArxivClient, fake: FakeArxiv, clock: FakeClock
) -> None:
    fake.fail("/rss/cs.CL", 503, times=8)
    with pytest.raises(SourceUnavailable, match="4 attempts"):
        await client.fetch_announcements(["cs.CL"])
    assert len(fake.feed_requests) == 4  # 1 + retries=3
    assert clock.backoff_sleeps == [2.0, 4.0, 8.0]

    batch = await client.fetch_batch(["cs.CL"], now=THURSDAY_MORNING)
    assert batch.source == "api"
    assert batch.announced_on == date(2026, 9, 24)
    got = {a.paper.arxiv_id: a.announce_type for a in batch.announcements}
    # cs.CL listing fixture: one cs.CL-primary paper and two cross-lists, all updated Wed before 14:00 EDT
    assert got == {
        "2609.28471": AnnounceType.NEW,
        "2609.28449": AnnounceType.CROSS,
        "2609.28442": AnnounceType.CROSS,
    }
    assert all(a.announced_on == date(2026, 9, 24) for a in batch.announcements)
    (api,) = fake.api_requests
    assert api.param("search_query") == "cat:cs.CL"
    assert api.param("sortBy") == "lastUpdatedDate"
    assert api.param("sortOrder") == "descending"
    _assert_spaced(fake)


async def test_api_fallback_window_excludes_other_days(client: ArxivClient) -> None:
    # One announcement later the same three papers are out of the window.
    batch = await client.fetch_latest_via_api(["cs.CL"], now=THURSDAY_MORNING + timedelta(days=1))
    assert batch.is_empty
    assert batch.source == "api"


async def test_both_down_raises(client: ArxivClient, fake: FakeArxiv) -> None:
    fake.fail("/rss/cs.CL", 503, times=4)
    fake.fail("/api/query", 503, times=4)
    with pytest.raises(SourceUnavailable, match=r"feed: .*API: "):
        await client.fetch_batch(["cs.CL"], now=THURSDAY_MORNING)
    assert len(fake.api_requests) == 4


# -- API ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["abc", "2403.1924", "0808.05394", "hep-th/99", "https://example.org/abs/2403.19243"]
)
async def test_malformed_id_rejected_without_any_request(
    client: ArxivClient, fake: FakeArxiv, text: str
) -> None:
    with pytest.raises(InvalidArxivId):
        await client.get_paper(text)
    with pytest.raises(InvalidArxivId):
        await client.fetch_papers(["1707.08567", text])
    assert fake.requests == []


async def test_abc_forced_through_api_gives_no_retry_storm(client: ArxivClient, fake: FakeArxiv) -> None:
    from arxiv_digest.papers.arxiv_client import _ApiStatusError

    with pytest.raises(_ApiStatusError) as info:
        await client._search_ids(["abc"])  # bypasses validation on purpose
    assert info.value.status == 400
    assert len(fake.requests) == 1  # the arxiv package alone would have retried the 400 three times
    (req,) = fake.requests
    assert req.param("id_list") == "abc"


async def test_error_entry_is_never_a_paper(client: ArxivClient, fake: FakeArxiv) -> None:
    body = (fixtures_dir() / "arxiv-api" / "error_malformed_id_abc.xml").read_bytes()
    # arxiv 4.0 drops the entry (it has no <published>); were it kept, our mapping still refuses it
    assert arxiv._feed.parse(body).results == []
    error = arxiv.Result(
        entry_id="https://arxiv.org/api/errors#incorrect_id_format_for_abc",
        title="Error",
        summary="incorrect id format for abc",
        authors=[arxiv.Result.Author("arXiv api core")],
    )
    assert paper_from_result(error) is None
    fake.enqueue("/api/query", ScriptedResponse(status=200, body=body))  # even if served with 200
    with pytest.raises(PaperNotFound):
        await client.get_paper("2104.12255")


async def test_missing_id_is_paper_not_found(client: ArxivClient, fake: FakeArxiv) -> None:
    with pytest.raises(PaperNotFound):
        await client.get_paper("2609.99999")
    assert len(fake.requests) == 1


async def test_fetch_papers_drops_missing_and_maps_metadata(client: ArxivClient) -> None:
    found = await client.fetch_papers(["0808.0539", "1707.08567", "astro-ph/0601001", "arXiv:2104.12255v1"])
    assert set(found) == {"1707.08567", "astro-ph/0601001", "2104.12255"}
    p = found["1707.08567"]
    assert p.version == 1
    assert p.primary_category == "cs.IT"
    assert p.categories == ("cs.IT",)
    assert "Dirk Wübben" in p.authors
    assert len(p.authors) == 34
    assert p.comment == "44 pages, editors for the proceedings: Yanling Chen and A. J. Han Vinck"
    assert p.published == datetime(2017, 7, 27, 8, 18, 33, tzinfo=UTC)
    old = found["astro-ph/0601001"]
    assert old.journal_ref == "ActaAstron.56:1-50,2006"
    assert old.abstract.startswith("We derive the frequencies")  # two leading spaces gone
    assert "V_max<17.5" in old.abstract
    assert "Gould & Morgan" in old.abstract
    assert found["2104.12255"].title == "0"


async def test_fetch_papers_batches_by_100(client: ArxivClient, fake: FakeArxiv) -> None:
    ids = [f"2609.{n:05d}" for n in range(1, 151)] + ["1707.08567"]
    found = await client.fetch_papers(ids)
    assert set(found) == {"1707.08567"}
    sizes = [len((r.param("id_list") or "").split(",")) for r in fake.api_requests]
    assert sizes == [100, 51]
    _assert_spaced(fake)


@pytest.mark.parametrize(
    ("text", "arxiv_id", "version", "primary"),
    [
        ("quant-ph/0201082v1", "quant-ph/0201082", 1, "quant-ph"),
        ("https://arxiv.org/abs/1605.08386", "1605.08386", 1, None),
        ("arXiv:2104.12255v1", "2104.12255", 1, "cs.CR"),
    ],
)
async def test_get_paper_forms(
    client: ArxivClient, text: str, arxiv_id: str, version: int, primary: str | None
) -> None:
    paper = await client.get_paper(text)
    assert paper.arxiv_id == arxiv_id
    assert paper.version == version
    assert paper.categories[0] == paper.primary_category
    if primary:
        assert paper.primary_category == primary
    assert paper.published is not None
    assert paper.published.tzinfo is not None


async def test_recorded_bytes_decode_as_utf8_not_latin1(client: ArxivClient, fake: FakeArxiv) -> None:
    wrapper = (
        fixtures_dir() / "arxiv-api" / "recorded-2026" / "id_0808.05394_1707.08567_s0_m100_42e5aa0ec3af.json"
    )
    body: str = json.loads(wrapper.read_text(encoding="utf-8"))["body"]
    assert "Dirk WÃ¼bben" in body  # the recorder's mojibake
    fake.enqueue("/api/query", ScriptedResponse(body=body.encode("latin-1")))  # = the bytes arXiv sent
    paper = await client.get_paper("1707.08567")
    assert "Dirk Wübben" in paper.authors
    assert not any("Ã" in a for a in paper.authors)


async def test_api_5xx_retried_then_ok(client: ArxivClient, fake: FakeArxiv, clock: FakeClock) -> None:
    fake.fail("/api/query", 502)
    paper = await client.get_paper("2104.12255")
    assert paper.arxiv_id == "2104.12255"
    assert len(fake.api_requests) == 2
    assert clock.backoff_sleeps == [2.0]


# -- the gate across RSS and API ----------------------------------------------------------------------------


async def test_gate_spacing_across_concurrent_rss_and_api(client: ArxivClient, fake: FakeArxiv) -> None:
    await asyncio.gather(
        client.fetch_announcements(MULTI),
        client.get_paper("2104.12255"),
        client.fetch_announcements(["math.OC"]),
        client.fetch_papers(["1707.08567", "astro-ph/0601001"]),
        client.fetch_announcements(["cs.LG"]),
        client.get_paper("quant-ph/0201082v1"),
    )
    assert len(fake.requests) == 6
    _assert_spaced(fake)
    assert fake.max_in_flight == 1


async def test_one_connection_for_the_feed(client: ArxivClient, fake: FakeArxiv) -> None:
    await asyncio.gather(*(client.fetch_announcements(MULTI) for _ in range(4)))
    assert len(fake.requests) == 4
    assert fake.connections_opened == 1
    assert fake.max_open_connections == 1
    _assert_spaced(fake)


async def test_one_connection_for_the_api(client: ArxivClient, fake: FakeArxiv) -> None:
    await asyncio.gather(*(client.get_paper(i) for i in ("2104.12255", "1707.08567", "1605.08386")))
    assert len(fake.requests) == 3
    assert fake.connections_opened == 1
    assert fake.max_open_connections == 1


async def test_gate_unit_async_and_thread(clock: FakeClock, gate: RequestGate) -> None:
    starts: list[tuple[str, float]] = []

    async def async_user(name: str) -> None:
        async with gate:
            starts.append((name, clock()))
            await asyncio.sleep(0.001)

    def thread_user(name: str) -> None:
        with gate:
            starts.append((name, clock()))

    await asyncio.gather(
        async_user("a1"),
        asyncio.to_thread(thread_user, "t1"),
        async_user("a2"),
        asyncio.to_thread(thread_user, "t2"),
        async_user("a3"),
    )
    assert sorted(n for n, _ in starts) == ["a1", "a2", "a3", "t1", "t2"]
    times = [t for _, t in starts]
    assert all(b - a >= 3.0 - 1e-9 for a, b in itertools.pairwise(times)), times
    assert gate.requests_started == 5
    assert not gate.locked


async def test_gate_first_request_does_not_wait(clock: FakeClock, gate: RequestGate) -> None:
    async with gate:
        pass
    assert clock.gate_sleeps == []
    clock.t += 10
    async with gate:
        pass
    assert clock.gate_sleeps == []  # already 10 s since the last start
    async with gate:
        pass
    assert clock.gate_sleeps == [3.0]


async def test_gate_cancelled_waiter_does_not_block_others(gate: RequestGate) -> None:
    holding = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with gate:
            holding.set()
            await release.wait()

    h = asyncio.create_task(holder())
    await holding.wait()
    waiter = asyncio.create_task(gate.__aenter__())
    await asyncio.sleep(0.01)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    release.set()
    await h

    async def later() -> None:
        async with gate:
            pass

    await asyncio.wait_for(later(), timeout=1.0)
    assert not gate.locked


async def test_gate_blocking_form_refused_on_event_loop(gate: RequestGate) -> None:
    with pytest.raises(RuntimeError), gate:
        pass


def test_gate_rejects_negative_interval() -> None:
    with pytest.raises(ValueError, match="min_interval"):
        RequestGate(min_interval=-1)


# -- the schedule -------------------------------------------------------------------------------------------


def _et(y: int, m: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=ET)


@pytest.mark.parametrize(
    ("now", "start", "end", "announced"),
    [
        # Thursday morning: Wednesday's 20:00 announcement (Tue 14:00 - Wed 14:00), feed dated Thursday
        (_et(2026, 9, 24, 8), _et(2026, 9, 22, 14), _et(2026, 9, 23, 14), date(2026, 9, 24)),
        # Wednesday 19:59: still Tuesday's announcement
        (_et(2026, 9, 23, 19, 59), _et(2026, 9, 21, 14), _et(2026, 9, 22, 14), date(2026, 9, 23)),
        # Saturday: Thursday's announcement (Wed 14:00 - Thu 14:00), feed dated Friday
        (_et(2026, 9, 26, 12), _et(2026, 9, 23, 14), _et(2026, 9, 24, 14), date(2026, 9, 25)),
        # Sunday 21:00: Friday's submissions (Thu 14:00 - Fri 14:00), announced Sunday, feed dated Monday
        (_et(2026, 9, 27, 21), _et(2026, 9, 24, 14), _et(2026, 9, 25, 14), date(2026, 9, 28)),
        # Tuesday 09:00: Monday's announcement covers Friday 14:00 - Monday 14:00
        (_et(2026, 9, 29, 9), _et(2026, 9, 25, 14), _et(2026, 9, 28, 14), date(2026, 9, 29)),
        # winter time (-0500)
        (_et(2026, 12, 10, 20, 30), _et(2026, 12, 9, 14), _et(2026, 12, 10, 14), date(2026, 12, 11)),
    ],
)
def test_latest_submission_window(now: datetime, start: datetime, end: datetime, announced: date) -> None:
    got_start, got_end, got_date = latest_submission_window(now.astimezone(UTC))
    assert (got_start, got_end, got_date) == (start, end, announced)
    assert got_start.tzinfo is UTC
    assert got_end.tzinfo is UTC


def test_latest_submission_window_needs_aware_now() -> None:
    with pytest.raises(ValueError, match="aware"):
        latest_submission_window(datetime(2026, 9, 24, 12))
