"""A fake arXiv on 127.0.0.1: the RSS/Atom feeds and the export API, served from the real fixture files.

Usage::

    with FakeArxiv() as fake:
        client = ArxivClient(rss_base_url=fake.rss_base_url, api_url=fake.api_url, ...)
        ...
        assert len(fake.requests) == 1

Routes (HTTP/1.1, keep-alive, like arXiv):

- ``GET /rss/<cat+cat…>`` and ``GET /atom/<cat+cat…>``: the fixture feed captured for that path
  (``/rss/cs.LG+cs.AI+cs.CL+stat.ML``, ``/atom/cs.LG``, ``/rss/math.OC``); any other path gets the empty
  (weekend) feed. :meth:`FakeArxiv.set_feed` replaces the body of a path.
- ``GET /api/query?id_list=…``: entries from every API fixture file, indexed by id. An unversioned id gets
  the latest version known; unknown well-formed ids are simply absent (an empty feed when none is known);
  a malformed id answers HTTP 400 with the real "Error" feed.
- ``GET /api/query?search_query=cat:A OR cat:B…``: the fixture entries in any of those categories, sorted
  by ``sortBy`` (lastUpdatedDate / submittedDate, else as stored), paged with ``start``/``max_results``.

Scripting: :meth:`FakeArxiv.enqueue` queues responses (status, body, headers, delay) for a path; each request
to that path takes the next one before the default behaviour applies. Observation: :attr:`FakeArxiv.requests`
(method, path, query, time by the injectable ``clock``), :attr:`max_in_flight` (requests being handled at
once), :attr:`max_open_connections` and :attr:`connections_opened` (TCP connections).

The captures it serves are in ``tests/fixtures/`` (provenance and licences in ``tests/fixtures/README.md``).
"""

from __future__ import annotations

import re
import threading
import time
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
_ENTRY = re.compile(r"<entry>.*?</entry>", re.DOTALL)
# What arXiv's API accepts as an id: independent of our own parser on purpose.
_API_ID = re.compile(r"(?:\d{4}\.\d{4,5}|[a-z]+(?:-[a-z]+)*(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?")
_VERSION = re.compile(r"^(?P<base>.+?)(?:v(?P<v>\d+))?$")


def fixtures_dir() -> Path:
    """The repository's fixture directory, ``tests/fixtures``."""
    return Path(__file__).resolve().parents[1] / "fixtures"


@dataclass(frozen=True, slots=True)
class ScriptedResponse:
    """One scripted answer. ``delay`` (seconds, real time) is waited before answering."""

    status: int = 200
    body: bytes | str = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_type: str = "application/xml; charset=utf-8"

    def encoded(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    time: float
    headers: dict[str, str]

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass(frozen=True, slots=True)
class _ApiEntry:
    versioned_id: str
    base_id: str
    version: int
    updated: datetime
    published: datetime
    categories: tuple[str, ...]
    xml: str


def _iso(text: str | None) -> datetime:
    return datetime.fromisoformat((text or "1970-01-01T00:00:00Z").strip().replace("Z", "+00:00"))


def _load_api_entries(root: Path) -> dict[str, _ApiEntry]:
    """Every <entry> of every API fixture, verbatim, by versioned id.

    Top-level (2025+ serializer) files win over legacy-2016/.
    """
    entries: dict[str, _ApiEntry] = {}
    files = sorted(
        (root / "arxiv-api").rglob("*.xml"), key=lambda p: (len(p.relative_to(root).parts), p.name)
    )
    for path in files:
        text = path.read_text(encoding="utf-8")
        for raw in _ENTRY.findall(text):
            try:
                el = ET.fromstring(
                    raw.replace(
                        "<entry>",
                        '<entry xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">',
                        1,
                    )
                )
            except ET.ParseError:
                continue
            entry_id = (el.findtext(f"{ATOM}id") or "").strip()
            if "arxiv.org/abs/" not in entry_id:
                continue  # the "Error" entry
            versioned = entry_id.split("arxiv.org/abs/", 1)[1]
            m = _VERSION.match(versioned)
            assert m is not None
            if versioned in entries:
                continue
            entries[versioned] = _ApiEntry(
                versioned_id=versioned,
                base_id=m.group("base"),
                version=int(m.group("v") or 1),
                updated=_iso(el.findtext(f"{ATOM}updated")),
                published=_iso(el.findtext(f"{ATOM}published")),
                categories=tuple(c.get("term", "") for c in el.findall(f"{ATOM}category")),
                xml=raw,
            )
    return entries


def _default_feeds(root: Path) -> dict[str, bytes]:
    feeds: dict[str, bytes] = {}
    for path in sorted((root / "arxiv-rss").rglob("*.xml")):
        name = path.name
        m = re.match(r"(rss|atom)_(?P<cats>[^_]+)_", name)
        if m and "empty" not in name:
            feeds[feed_path_key(f"/{m.group(1)}/{m.group('cats')}")] = path.read_bytes()
    return feeds


def feed_path_key(path: str) -> str:
    """``/rss/b+a`` and ``/rss/a+b`` are the same feed on arXiv: compare category sets."""
    kind, sep, cats = path.lstrip("/").partition("/")
    if not sep or kind not in ("rss", "atom"):
        return path
    return f"/{kind}/" + "+".join(sorted(set(cats.split("+"))))


class FakeArxiv:
    """A fake rss.arxiv.org + export.arxiv.org on 127.0.0.1 (port 0).

    Thread-safe; use it as a context manager (or start()/stop()).
    """

    def __init__(self, *, fixtures: Path | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.fixtures = fixtures or fixtures_dir()
        self.clock = clock
        self._lock = threading.Lock()
        self._queues: dict[str, deque[ScriptedResponse]] = {}
        self.feeds: dict[str, bytes] = _default_feeds(self.fixtures)
        rss = self.fixtures / "arxiv-rss" / "derived"
        self.empty_feed: bytes = (rss / "rss_empty_no_items_DERIVED.xml").read_bytes()
        api = self.fixtures / "arxiv-api"
        self.error_feed_template: str = (api / "error_malformed_id_abc.xml").read_text(encoding="utf-8")
        self.entries: dict[str, _ApiEntry] = _load_api_entries(self.fixtures)
        self.requests: list[LoggedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.open_connections = 0
        self.max_open_connections = 0
        self.connections_opened = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> FakeArxiv:
        handler = type("_BoundHandler", (_Handler,), {"fake": self})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeArxiv:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- addresses -----------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._server is not None, "FakeArxiv is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def rss_base_url(self) -> str:
        """Pass as ArxivClient(rss_base_url=…)."""
        return self.base_url

    @property
    def api_url(self) -> str:
        """Pass as ArxivClient(api_url=…) (the arxiv package's ``query_url_format`` is this + ``?{}``)."""
        return self.base_url + "/api/query"

    # -- scripting -----------------------------------------------------------------------------------

    def set_feed(self, path: str, body: bytes | str) -> None:
        """Serve ``body`` (200) for a feed path such as ``/rss/cs.LG`` from now on."""
        with self._lock:
            self.feeds[feed_path_key(path)] = body.encode("utf-8") if isinstance(body, str) else body

    def add_paper(
        self,
        arxiv_id: str,
        *,
        title: str,
        abstract: str,
        categories: tuple[str, ...] = ("cs.LG",),
        authors: tuple[str, ...] = ("A. Author",),
        version: int = 1,
        when: datetime = datetime(2024, 3, 28, 12, 0, tzinfo=UTC),
    ) -> None:
        """Make the API know one more paper (an entry in the format the real API serves)."""
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        versioned = f"{arxiv_id}v{version}"
        cats = "".join(
            f'<category term="{escape(c)}" scheme="http://arxiv.org/schemas/atom"/>' for c in categories
        )
        names = "".join(f"<author><name>{escape(a)}</name></author>" for a in authors)
        xml = (
            f"<entry><id>http://arxiv.org/abs/{versioned}</id><title>{escape(title)}</title>"
            f"<updated>{stamp}</updated>"
            f'<link href="https://arxiv.org/abs/{versioned}" rel="alternate" type="text/html"/>'
            f"<summary>{escape(abstract)}</summary>{cats}<published>{stamp}</published>"
            f'<arxiv:primary_category term="{escape(categories[0])}"/>{names}</entry>'
        )
        with self._lock:
            self.entries[versioned] = _ApiEntry(
                versioned_id=versioned,
                base_id=arxiv_id,
                version=version,
                updated=when,
                published=when,
                categories=categories,
                xml=xml,
            )

    def enqueue(self, path: str, *responses: ScriptedResponse) -> None:
        """Queue responses for ``path`` (e.g. ``/rss/cs.LG`` or ``/api/query``), used before the default."""
        with self._lock:
            self._queues.setdefault(path, deque()).extend(responses)

    def fail(
        self, path: str, status: int = 503, *, times: int = 1, headers: Mapping[str, str] | None = None
    ) -> None:
        """Shortcut: the next ``times`` requests to ``path`` get ``status``."""
        self.enqueue(
            path,
            *[
                ScriptedResponse(
                    status=status, body=f"<html><body>{status}</body></html>", headers=headers or {}
                )
                for _ in range(times)
            ],
        )

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()
            self.max_in_flight = self.in_flight
            self.max_open_connections = self.open_connections
            self.connections_opened = 0

    # -- observation ---------------------------------------------------------------------------------

    def requests_to(self, prefix: str) -> list[LoggedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(prefix)]

    @property
    def api_requests(self) -> list[LoggedRequest]:
        return self.requests_to("/api/")

    @property
    def feed_requests(self) -> list[LoggedRequest]:
        return [r for r in self.requests_to("/") if r.path.startswith(("/rss/", "/atom/"))]

    # -- behaviour (called from handler threads) -----------------------------------------------------

    def _next_scripted(self, path: str) -> ScriptedResponse | None:
        with self._lock:
            queue = self._queues.get(path)
            if queue:
                return queue.popleft()
        return None

    def respond(self, path: str, query: dict[str, list[str]]) -> ScriptedResponse:
        scripted = self._next_scripted(path)
        if scripted is not None:
            return scripted
        if path.startswith(("/rss/", "/atom/")):
            with self._lock:
                body = self.feeds.get(feed_path_key(path), self.empty_feed)
            kind = "application/rss+xml" if path.startswith("/rss/") else "application/atom+xml"
            return ScriptedResponse(body=body, content_type=f"{kind}; charset=utf-8")
        if path == "/api/query":
            return self._api(query)
        return ScriptedResponse(
            status=404, body="<html><body>Not Found</body></html>", content_type="text/html"
        )

    def _api(self, query: dict[str, list[str]]) -> ScriptedResponse:
        def one(name: str, default: str = "") -> str:
            values = query.get(name)
            return values[0] if values else default

        ids = [i.strip() for i in one("id_list").split(",") if i.strip()]
        search = one("search_query")
        start = int(one("start", "0") or 0)
        max_results = int(one("max_results", "10") or 10)
        for i in ids:
            if not _API_ID.fullmatch(i):
                body = self.error_feed_template.replace("abc", escape(i))
                return ScriptedResponse(
                    status=400, body=body, content_type="application/atom+xml; charset=utf-8"
                )
        matched: list[_ApiEntry]
        if ids:
            matched = []
            for i in ids:
                entry = self._lookup(i)
                if entry is not None and entry not in matched:
                    matched.append(entry)
            if search:
                matched = [e for e in matched if self._matches(e, search)]
        elif search:
            matched = [e for e in self._latest_versions() if self._matches(e, search)]
            sort_by = one("sortBy")
            if sort_by == "lastUpdatedDate":
                matched.sort(key=lambda e: e.updated, reverse=one("sortOrder", "descending") != "ascending")
            elif sort_by == "submittedDate":
                matched.sort(key=lambda e: e.published, reverse=one("sortOrder", "descending") != "ascending")
        else:
            matched = []
        page = matched[start : start + max_results]
        return ScriptedResponse(
            body=self._feed(query, page, total=len(matched), start=start, per_page=max_results),
            content_type="application/atom+xml; charset=utf-8",
        )

    def _lookup(self, requested: str) -> _ApiEntry | None:
        if requested in self.entries:
            return self.entries[requested]
        if re.search(r"v\d+$", requested):
            return None  # a version that is not known
        versions = [e for e in self.entries.values() if e.base_id == requested]
        return max(versions, key=lambda e: e.version) if versions else None

    def _latest_versions(self) -> list[_ApiEntry]:
        latest: dict[str, _ApiEntry] = {}
        for e in self.entries.values():
            if e.base_id not in latest or e.version > latest[e.base_id].version:
                latest[e.base_id] = e
        return list(latest.values())

    @staticmethod
    def _matches(entry: _ApiEntry, search: str) -> bool:
        cats = re.findall(r"cat:([\w.\-]+)", search)
        if not cats:
            return False  # only category queries are understood; script other searches with enqueue()
        return any(c == want or c.startswith(want + ".") for c in entry.categories for want in cats)

    @staticmethod
    def _feed(
        query: dict[str, list[str]], entries: list[_ApiEntry], *, total: int, start: int, per_page: int
    ) -> str:
        q = "&".join(f"{k}={v[0]}" for k, v in query.items() if v)
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = "\n  ".join(e.xml for e in entries)
        return (
            "<?xml version='1.0' encoding='UTF-8'?>\n"
            '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
            'xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">\n'
            "  <id>https://arxiv.org/api/fake</id>\n"
            f"  <title>arXiv Query: {escape(q)}</title>\n"
            f"  <updated>{now}</updated>\n"
            f'  <link href="https://arxiv.org/api/query?{escape(q)}" type="application/atom+xml"/>\n'
            f"  <opensearch:itemsPerPage>{per_page}</opensearch:itemsPerPage>\n"
            f"  <opensearch:totalResults>{total}</opensearch:totalResults>\n"
            f"  <opensearch:startIndex>{start}</opensearch:startIndex>\n"
            + (f"  {body}\n" if entries else "")
            + "</feed>\n"
        )

    def _log(self, handler: BaseHTTPRequestHandler, path: str, query: dict[str, list[str]]) -> None:
        with self._lock:
            self.requests.append(
                LoggedRequest(
                    method=handler.command,
                    path=path,
                    query=query,
                    time=self.clock(),
                    headers={k: v for k, v in handler.headers.items()},
                )
            )

    def _enter(self, *, connection: bool) -> None:
        with self._lock:
            if connection:
                self.open_connections += 1
                self.connections_opened += 1
                self.max_open_connections = max(self.max_open_connections, self.open_connections)
            else:
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self, *, connection: bool) -> None:
        with self._lock:
            if connection:
                self.open_connections -= 1
            else:
                self.in_flight -= 1


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeArxiv/1.0"
    timeout = 10  # idle keep-alive connections end after this
    fake: FakeArxiv

    def setup(self) -> None:
        super().setup()
        self.fake._enter(connection=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.fake._leave(connection=True)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        self.fake._enter(connection=False)
        try:
            self.fake._log(self, path, query)
            response = self.fake.respond(path, query)
            if response.delay:
                time.sleep(response.delay)
            body = response.encoded()
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            self.fake._leave(connection=False)


@contextmanager
def running_fake_arxiv(**kwargs: Any) -> Iterator[FakeArxiv]:
    """``with running_fake_arxiv() as fake:`` — a started FakeArxiv, stopped afterwards (pytest-friendly)."""
    fake = FakeArxiv(**kwargs)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve the fixture feeds and API on 127.0.0.1 until interrupted (for trying the CLI offline)."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(description="Serve arXiv fixture feeds and API answers on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8025)
    args = parser.parse_args(argv)
    fake = FakeArxiv()
    handler = type("_BoundHandler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    server.daemon_threads = True
    fake._server = server
    print(
        f"fake arXiv on {fake.base_url}\n"
        f"ARXIV_RSS_BASE_URL={fake.rss_base_url} ARXIV_API_URL={fake.api_url}\n"
        f"feeds: {' '.join(sorted(fake.feeds))}",
        flush=True,
    )
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
