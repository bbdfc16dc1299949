"""The arXiv client: the announcement feed (RSS, through httpx) and the API (through the ``arxiv`` package).

Every request, feed or API, passes one shared :class:`~arxiv_digest.papers.ratelimit.RequestGate`
(arXiv's terms: one request at a time, at least 3 s apart, for the whole process).

Errors, as our own exceptions:

- :class:`SourceUnavailable`: the feed or the API cannot be reached or keeps failing (after retries for
  timeouts, connection errors, HTTP 429 and 5xx; at once for other HTTP 4xx and for a body that is not
  a feed);
- :class:`InvalidArxivId`: a malformed id, raised before any request (arXiv answers 400, which the ``arxiv``
  package would otherwise retry);
- :class:`PaperNotFound`: a well-formed id that arXiv does not know.

About the ``arxiv`` package (4.0.x): it is blocking and has no timeout, so it runs in a worker thread
(``asyncio.to_thread``) with ONE shared ``arxiv.Client`` whose ``requests`` session gets an adapter that
applies a default timeout and takes the blocking side of the gate around every HTTP request (redirects
included). Its own spacing is off (``delay_seconds=0``: the gate spaces) and its own retries are off
(``num_retries=0``: we retry only what is worth retrying, never a 400). It reads response bytes and decodes
them as UTF-8 XML, which avoids the Latin-1 mojibake of ``requests``' ``.text``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import arxiv
import httpx
import requests
from requests.adapters import HTTPAdapter

from .errors import InvalidArxivId, PaperNotFound, SourceUnavailable, UnknownCategory
from .ids import parse_arxiv_id
from .models import Announcement, AnnouncementBatch, AnnounceType, Paper
from .ratelimit import RequestGate
from .rss import batch_fingerprint, normalize_abstract, normalize_title, parse_feed

logger = logging.getLogger(__name__)

DEFAULT_USER_AGENT = "arxiv-digest/0.1 (daily arXiv digest bot; httpx + arxiv.py)"
EASTERN = ZoneInfo("America/New_York")
ID_LIST_CHUNK = 100  # ids per id_list request
_CATEGORY = re.compile(r"^[A-Za-z]+(?:-[A-Za-z]+)*(?:\.[A-Za-z]+(?:-[A-Za-z]+)*)?$")
_T = TypeVar("_T")


# -- the arXiv schedule ------------------------------------------------------------------------------


def latest_submission_window(now: datetime) -> tuple[datetime, datetime, date]:
    """The submission window of the most recent announcement at or before ``now``.

    arXiv's schedule (US Eastern): submissions close Monday–Friday at 14:00; those received since the previous
    close are announced the same day at 20:00, except Friday's, announced on Sunday at 20:00. The feeds carry
    the next day's date (they refresh at midnight), so the announcement of Wednesday 20:00 is the batch of
    Thursday. Holidays are ignored (arXiv occasionally skips or shifts a day; this function does not know).

    Returns ``(start, end, announced_on)``: the window ``[start, end)`` as aware UTC datetimes and the
    announcement (feed) date.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local_day = now.astimezone(EASTERN).date()
    for back in range(0, 10):
        day = local_day - timedelta(days=back)
        if day.weekday() > 4:  # no cut-off on Saturday or Sunday
            continue
        cutoff = datetime.combine(day, time(14), tzinfo=EASTERN)
        announce_day = day + timedelta(days=2) if day.weekday() == 4 else day
        if datetime.combine(announce_day, time(20), tzinfo=EASTERN) > now:
            continue
        previous = day - timedelta(days=1)
        while previous.weekday() > 4:
            previous -= timedelta(days=1)
        start = datetime.combine(previous, time(14), tzinfo=EASTERN)
        return start.astimezone(UTC), cutoff.astimezone(UTC), announce_day + timedelta(days=1)
    raise AssertionError("unreachable: an announcement happens every week")  # pragma: no cover


# -- mapping arxiv.Result -> Paper ---------------------------------------------------------------------


def _aware_utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime) or value.year <= 1:
        return None
    moment: datetime = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _or_none(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return text or None


def paper_from_result(result: Any) -> Paper | None:
    """Map an ``arxiv.Result`` to a Paper.

    None for anything that is not a paper, such as the API's "Error" entry of an HTTP 400.
    """
    entry_id = str(getattr(result, "entry_id", "") or "")
    if "arxiv.org/abs/" not in entry_id or "/api/errors" in entry_id:
        logger.warning("arXiv API: entry %r is not a paper, skipped", entry_id[:120])
        return None
    try:
        parsed = parse_arxiv_id(entry_id.split("arxiv.org/abs/", 1)[1])
    except InvalidArxivId:
        logger.warning("arXiv API: entry with a malformed id %r skipped", entry_id[:120])
        return None
    primary = (getattr(result, "primary_category", "") or "").strip() or None
    others = [c.strip() for c in (getattr(result, "categories", None) or []) if c and c.strip()]
    categories = tuple(dict.fromkeys(([primary] if primary else []) + others))
    authors = tuple(
        n for n in (" ".join(str(getattr(a, "name", "")).split()) for a in result.authors or []) if n
    )
    return Paper(
        arxiv_id=parsed.id,
        title=normalize_title(getattr(result, "title", "")),
        abstract=normalize_abstract(getattr(result, "summary", "")),
        authors=authors,
        categories=categories,
        version=parsed.version,
        primary_category=primary,
        comment=_or_none(getattr(result, "comment", None)),
        journal_ref=_or_none(getattr(result, "journal_ref", None)),
        doi=_or_none(getattr(result, "doi", None)),
        published=_aware_utc(getattr(result, "published", None)),
        updated=_aware_utc(getattr(result, "updated", None)),
    )


def _in_requested(category: str | None, requested: Sequence[str]) -> bool:
    if not category:
        return False
    return any(category == c or category.startswith(c + ".") for c in requested)


# -- the requests side: a gated adapter with a default timeout ----------------------------------------


class _GatedAdapter(HTTPAdapter):
    """Every HTTP request of the ``arxiv`` package's session: through the gate, with a timeout and our UA.

    The body is read while the gate is held, so a request is over when the gate opens again.
    """

    def __init__(self, *, gate: RequestGate, timeout: float, user_agent: str) -> None:
        super().__init__(pool_connections=1, pool_maxsize=1, max_retries=0)
        self._gate = gate
        self._timeout = timeout
        self._user_agent = user_agent

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        request.headers["User-Agent"] = self._user_agent
        with self._gate:
            response = super().send(
                request,
                stream=stream,
                timeout=self._timeout if timeout is None else timeout,
                verify=verify,
                cert=cert,
                proxies=proxies,
            )
            if not stream:
                _ = response.content
        if response.status_code == 200 and not stream and not _is_atom_feed(response.content):
            # The arxiv package would read a page that is not a feed (an HTML error page, a body cut off)
            # as an empty result: "no such paper", or a day without announcements. It is arXiv failing.
            raise _NotAFeed(f"the API answered something that is not a complete Atom feed: {request.url}")
        return response


class _NotAFeed(requests.ConnectionError):
    """An API answer that is not a whole Atom feed; a ConnectionError, so it is retried as one."""


def _is_atom_feed(content: bytes) -> bool:
    """Whether ``content`` parses as XML whose root is an Atom ``feed`` (an answer cut short does not)."""
    try:
        root = ET.fromstring(content)
    except ET.ParseError:
        return False
    return root.tag == "{http://www.w3.org/2005/Atom}feed"


class _ApiStatusError(SourceUnavailable):
    """The API answered an HTTP error status (kept for callers that treat 400 specially)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, arxiv.HTTPError):
        status = int(exc.status)
        return status == 429 or status >= 500
    return isinstance(exc, (arxiv.UnexpectedEmptyPageError, requests.Timeout, requests.ConnectionError))


# -- the client ----------------------------------------------------------------------------------------


class ArxivClient:
    """arXiv feed + API client. One per process, sharing one :class:`RequestGate` with anything else that
    talks to arXiv. Close it with :meth:`aclose`.

    ``retries`` is the number of retries after the first attempt; the n-th retry waits ``backoff * 2**(n-1)``
    seconds (or the server's Retry-After when longer, capped at ``max_retry_after``) through ``sleep``.
    """

    def __init__(
        self,
        *,
        rss_base_url: str = "https://rss.arxiv.org",
        api_url: str = "https://export.arxiv.org/api/query",
        gate: RequestGate | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 2.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        user_agent: str = DEFAULT_USER_AGENT,
        max_retry_after: float = 600.0,
        max_api_results: int = 2000,
    ) -> None:
        self._rss_base = rss_base_url.rstrip("/")
        self._api_url = api_url
        self._gate = gate if gate is not None else RequestGate()
        self._timeout = timeout
        self._retries = max(0, retries)
        self._backoff = backoff
        self._sleep = sleep
        self._max_retry_after = max_retry_after
        self._max_api_results = max_api_results
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            follow_redirects=True,
            headers={"User-Agent": user_agent},
        )
        self._session = requests.Session()
        self._session.headers["User-Agent"] = user_agent
        adapter = _GatedAdapter(gate=self._gate, timeout=timeout, user_agent=user_agent)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._api = arxiv.Client(page_size=ID_LIST_CHUNK, delay_seconds=0.0, num_retries=0)
        self._api.query_url_format = api_url + "?{}"
        if not hasattr(self._api, "_session"):  # pragma: no cover - guards an upgrade of the arxiv package
            raise RuntimeError("arxiv.Client has no _session: the gated session cannot be installed")
        self._api._session = self._session

    @property
    def gate(self) -> RequestGate:
        return self._gate

    async def aclose(self) -> None:
        await self._http.aclose()
        self._session.close()

    async def __aenter__(self) -> ArxivClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- retry policy ----------------------------------------------------------------------------

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        delay: float = self._backoff * (2.0**attempt)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self._max_retry_after))
        return delay

    @staticmethod
    def _retry_after(response: httpx.Response) -> float | None:
        value = response.headers.get("Retry-After")
        if not value:
            return None
        value = value.strip()
        if value.isascii() and value.isdigit():
            return float(value)
        try:  # an HTTP date: relative to the response's own Date header (we read no clock here)
            when = parsedate_to_datetime(value)
            sent = parsedate_to_datetime(response.headers["Date"])
        except (KeyError, TypeError, ValueError):
            return None
        return max(0.0, (when - sent).total_seconds())

    # -- RSS ---------------------------------------------------------------------------------------

    @staticmethod
    def _check_categories(categories: Sequence[str]) -> list[str]:
        if isinstance(categories, str):
            categories = [categories]
        cats = list(dict.fromkeys(c.strip() for c in categories if c.strip()))
        if not cats:
            raise ValueError("at least one category is needed")
        for c in cats:
            if not _CATEGORY.fullmatch(c):
                raise UnknownCategory(c)
        return cats

    def feed_url(self, categories: Sequence[str]) -> str:
        return f"{self._rss_base}/rss/{'+'.join(self._check_categories(categories))}"

    async def _get_feed(self, url: str) -> bytes:
        attempt = 0
        while True:
            retry_after: float | None = None
            try:
                async with self._gate:
                    response = await self._http.get(url)
            except httpx.TransportError as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            except httpx.HTTPError as exc:
                raise SourceUnavailable(f"arXiv feed {url} failed: {exc}") from exc
            else:
                if response.status_code == 200:
                    return response.content
                if response.status_code != 429 and response.status_code < 500:
                    raise SourceUnavailable(f"arXiv feed {url} answered HTTP {response.status_code}")
                reason = f"HTTP {response.status_code}"
                retry_after = self._retry_after(response)
            if attempt >= self._retries:
                raise SourceUnavailable(f"arXiv feed {url} failed after {attempt + 1} attempts: {reason}")
            delay = self._delay(attempt, retry_after)
            logger.warning("arXiv feed %s: %s; retry %d in %.1f s", url, reason, attempt + 1, delay)
            await self._sleep(delay)
            attempt += 1

    async def fetch_announcements(self, categories: Sequence[str]) -> AnnouncementBatch:
        """The current announcement batch of the RSS feed for the union of ``categories``.

        An empty batch (``announced_on`` None) is a day without announcements (weekend, holiday).
        Raises SourceUnavailable when the feed cannot be had.
        """
        cats = self._check_categories(categories)
        content = await self._get_feed(self.feed_url(cats))
        batch = parse_feed(content, categories=cats)
        logger.info(
            "arXiv feed %s: %d announcements dated %s",
            "+".join(cats),
            len(batch.announcements),
            batch.announced_on,
        )
        return batch

    # -- API ---------------------------------------------------------------------------------------

    async def _api_call(self, what: str, fn: Callable[[], _T]) -> _T:
        """Run a blocking ``arxiv`` call in a thread, with our retry policy and our exceptions."""
        attempt = 0
        while True:
            try:
                return await asyncio.to_thread(fn)
            except (arxiv.ArxivError, requests.RequestException) as exc:
                status = exc.status if isinstance(exc, arxiv.HTTPError) else None
                reason = f"HTTP {status}" if status is not None else f"{type(exc).__name__}: {exc}"
                if not _transient(exc):
                    if status is not None:
                        raise _ApiStatusError(f"arXiv API {what}: {reason}", status=status) from exc
                    raise SourceUnavailable(f"arXiv API {what}: {reason}") from exc
                if attempt >= self._retries:
                    raise SourceUnavailable(
                        f"arXiv API {what} failed after {attempt + 1} attempts: {reason}"
                    ) from exc
            delay = self._delay(attempt, None)
            logger.warning("arXiv API %s: %s; retry %d in %.1f s", what, reason, attempt + 1, delay)
            await self._sleep(delay)
            attempt += 1

    def _results(self, search: arxiv.Search) -> Iterator[Any]:
        return self._api.results(search)  # type: ignore[no-any-return]

    async def _search_ids(self, id_list: Sequence[str]) -> list[Paper]:
        """One id_list request (ids already validated). Non-paper entries are dropped."""
        search = arxiv.Search(id_list=list(id_list), max_results=len(id_list))

        def run() -> list[Any]:
            return list(self._results(search))

        results = await self._api_call(f"id_list={','.join(id_list)[:200]}", run)
        return [p for p in (paper_from_result(r) for r in results) if p is not None]

    async def fetch_papers(self, ids: Sequence[str]) -> dict[str, Paper]:
        """Metadata for ``ids`` from the API, in id_list requests of at most 100 ids.

        Every id is validated first (InvalidArxivId before any request). A versioned id asks for that
        version. The result is keyed by the canonical version-less id; ids arXiv does not know are absent.
        """
        parsed = [parse_arxiv_id(i) for i in ids]
        wanted = list(dict.fromkeys(p.versioned for p in parsed))
        found: dict[str, Paper] = {}
        for start in range(0, len(wanted), ID_LIST_CHUNK):
            for paper in await self._search_ids(wanted[start : start + ID_LIST_CHUNK]):
                found[paper.arxiv_id] = paper
        return found

    async def get_paper(self, text: str) -> Paper:
        """One paper by any accepted id form or URL. InvalidArxivId (no request made) or PaperNotFound."""
        parsed = parse_arxiv_id(text)
        try:
            papers = await self._search_ids([parsed.versioned])
        except _ApiStatusError as exc:
            if exc.status == 400:
                raise PaperNotFound(parsed.versioned) from exc
            raise
        for paper in papers:
            if paper.arxiv_id == parsed.id:
                return paper
        raise PaperNotFound(parsed.versioned)

    async def fetch_latest_via_api(self, categories: Sequence[str], *, now: datetime) -> AnnouncementBatch:
        """An approximation of the latest announcement, from the API: the fallback when the feed is down.

        Queries ``cat:A OR cat:B …`` sorted by lastUpdatedDate, newest first, and keeps the papers whose last
        update falls in the submission window of the most recent announcement before ``now`` (see
        :func:`latest_submission_window`: Mon–Fri 14:00 ET cut-offs, announced at 20:00 ET the same day,
        Friday's on Sunday; holidays ignored). Types: version 1 is ``new`` when the primary category is among
        the requested ones, else ``cross``; a later version is ``replace`` / ``replace-cross`` likewise.
        It differs from the real announcement: a paper on hold, or moved between windows, is placed by its
        timestamp, and a holiday is not known. ``announced_on`` is the feed date the window is announced
        under (US Eastern); ``source="api"``.
        """
        cats = self._check_categories(categories)
        start, end, announced_on = latest_submission_window(now)
        search = arxiv.Search(
            query=" OR ".join(f"cat:{c}" for c in cats),
            max_results=self._max_api_results,
            sort_by=arxiv.SortCriterion.LastUpdatedDate,
            sort_order=arxiv.SortOrder.Descending,
        )

        def run() -> list[Any]:
            kept: list[Any] = []
            for result in self._results(search):
                updated = _aware_utc(result.updated)
                if updated is None:
                    continue
                if updated < start:
                    break  # sorted newest first: everything after this is older
                if updated < end:
                    kept.append(result)
            return kept

        results = await self._api_call(f"search {search.query!r}", run)
        announcements: list[Announcement] = []
        seen: set[str] = set()
        for result in results:
            paper = paper_from_result(result)
            if paper is None or paper.arxiv_id in seen:
                continue
            seen.add(paper.arxiv_id)
            own = _in_requested(paper.primary_category, cats)
            if (paper.version or 1) <= 1:
                kind = AnnounceType.NEW if own else AnnounceType.CROSS
            else:
                kind = AnnounceType.REPLACE if own else AnnounceType.REPLACE_CROSS
            announcements.append(Announcement(paper=paper, announce_type=kind, announced_on=announced_on))
        logger.info(
            "arXiv API fallback %s: %d papers updated in [%s, %s) for %s",
            "+".join(cats),
            len(announcements),
            start.isoformat(),
            end.isoformat(),
            announced_on,
        )
        fingerprint = batch_fingerprint(
            announced_on,
            ((a.paper.arxiv_id, a.paper.version, a.announce_type.value) for a in announcements),
        )
        return AnnouncementBatch(
            categories=tuple(cats),
            announced_on=announced_on if announcements else None,
            announcements=tuple(announcements),
            fingerprint=fingerprint,
            source="api",
        )

    async def fetch_batch(self, categories: Sequence[str], *, now: datetime) -> AnnouncementBatch:
        """The feed's batch; when the feed is unavailable, the API approximation (``source="api"``).

        Raises SourceUnavailable when both fail.
        """
        try:
            return await self.fetch_announcements(categories)
        except SourceUnavailable as feed_exc:
            logger.warning("arXiv feed unavailable (%s); falling back to the API", feed_exc)
            try:
                return await self.fetch_latest_via_api(categories, now=now)
            except SourceUnavailable as api_exc:
                raise SourceUnavailable(f"feed: {feed_exc}; API: {api_exc}") from api_exc
