"""A fake DeepL API on 127.0.0.1, for pointing the real ``deepl`` client at (``server_url=fake.url``).

It speaks what ``deepl`` 1.32 sends and expects:

* ``POST /v2/translate`` with a JSON body (the library's encoding; form encoding is accepted too):
  ``text`` (list), ``target_lang``, optional ``source_lang``, ``tag_handling``, ``ignore_tags``,
  ``context``, ``show_billed_characters``. The answer is
  ``{"translations": [{"detected_source_language", "text", "billed_characters"}]}``.
* ``GET|POST /v2/usage`` -> ``{"character_count", "character_limit"}``.
* ``Authorization: DeepL-Auth-Key <key>``; a missing or wrong key gets 403.
* Limits: more than ``max_texts`` texts or a body over ``max_body_bytes`` gets 413; a request whose billed
  characters would pass ``character_limit`` gets 456 and bills nothing (all or nothing per request).

"Translation" is deterministic and easy to recognise: the text outside tags is upper-cased and the whole
text gets a ``[<TARGET>] `` prefix. With ``tag_handling=xml`` every tag is kept verbatim, and so is the
content of the ``ignore_tags`` elements; entities count as one billed character, tags are free, ``context``
is free. ``lose_tags`` names tags the fake drops from its output (content kept), like DeepL losing a marker.

Scripted failures: ``fail("/v2/translate", 429, 500, retry_after=1)`` queues responses that are served,
one per request, before normal handling resumes. A scripted 456 is the account's state, not a one-off: it
also uses the quota up (``character_limit`` becomes the count so far), so later requests get 456 too.

Slow and lost answers: ``delay`` / ``delay_per_kib`` (seconds, per KiB of request body) hold every answer
that long. ``withhold(count, billed=True, hold=...)`` makes the next ``count`` requests on a path get no
answer: with ``billed=True`` the request is handled in full (quota checked, characters billed, usage
updated) and then the answer is dropped: the connection is held open ``hold`` seconds (past the client's
timeout) and closed without a byte, or closed at once when ``hold`` is None (the client sees the connection
dropped after sending). ``RecordedRequest.answered`` is False and ``billed`` holds what was billed, so tests
can compare what the server billed (``billed_characters``, ``unanswered_billed_characters``) with what the
client counted.

Taken from DeepL's official mock server (github.com/DeepLcom/deepl-mock, sessions.js, index.js, auth.js):
its session header ``mock-server-session-no-response-count`` makes the next N requests of a session get no
response at all: the request is dropped by the first middleware, before authentication and before any
handling, and the connection stays open, so the client must time out (the mock then accepts the new
sockets the client opens, which it otherwise rejects in a session). Nothing is billed for those requests.
``withhold(..., billed=False)`` reproduces exactly that (any path, before the key check, nothing
billed); ``billed=True`` is the case the official mock does not cover and a real server can produce: the
work was done and billed, only the answer was lost. From its usage accounting: characters are counted per
request, all or nothing (a request that would pass the limit gets 456 and counts nothing), ``/v2/usage``
reports the same counter, and its ``429-count`` answers 429 before the quota check (nothing billed), as
scripted failures here do. Not taken: the official mock bills ``text.length`` including tags and answers a
fixed phrase; this fake bills like DeepL with ``tag_handling`` (tags free, an entity one character) and
transforms the text so tests can check it. Sessions, the User-Agent and keep-alive checks are not modelled.

Use::

    with FakeDeepL(auth_key="k") as fake:
        translator = deepl.Translator("k", server_url=fake.url)
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["FakeDeepL", "RecordedRequest"]

_TOKEN = re.compile(r"<(/?)([A-Za-z_][\w.-]*)[^>]*?(/?)>|&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z]+);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_MESSAGES = {
    400: "Bad request.",
    403: "Authorization failure, check auth_key.",
    404: "Not found.",
    413: "Request Entity Too Large.",
    429: "Too many requests.",
    456: "Quota Exceeded.",
    500: "Internal server error.",
    503: "Service unavailable.",
}


@dataclass(frozen=True)
class _Withheld:
    billed: bool
    hold: float | None


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received (scripted failures included)."""

    method: str
    path: str
    status: int  # the status meant (also when the answer was withheld); 0: dropped unhandled
    body_bytes: int
    params: dict[str, Any] = field(default_factory=dict)
    billed: int = 0  # characters this request billed
    answered: bool = True  # False: the answer was withheld (``FakeDeepL.withhold``)

    @property
    def texts(self) -> list[str]:
        texts = self.params.get("text", [])
        return list(texts) if isinstance(texts, list) else [str(texts)]


def _entity(name: str, raw: str) -> str:
    try:
        if name[:2] in ("#x", "#X"):
            return chr(int(name[2:], 16))
        if name.startswith("#"):
            return chr(int(name[1:]))
    except (ValueError, OverflowError):
        return raw
    return _ENTITIES.get(name, raw)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def translate_xml(
    text: str, target: str, *, ignore: Iterable[str], lose: Iterable[str] = ()
) -> tuple[str, int]:
    """The fake's translation of one XML text and its billed characters."""
    ignore_set, lose_set = set(ignore), set(lose)
    out: list[str] = [f"[{target}] "]
    billed = 0
    ignored_depth = 0
    pending: list[str] = []  # decoded text of the current run outside tags

    def flush() -> None:
        run = "".join(pending)
        pending.clear()
        out.append(run if ignored_depth else _escape(run.upper()))

    pos = 0
    for m in _TOKEN.finditer(text):
        plain = text[pos : m.start()]
        pos = m.end()
        pending.append(plain)
        billed += len(plain)
        if m.group(4) is not None:
            char = _entity(m.group(4), m.group(0))
            billed += 1
            if ignored_depth:
                flush()
                out.append(m.group(0))  # ignored content stays verbatim, entity and all
            else:
                pending.append(char)
            continue
        flush()
        name, closing, selfclosing = m.group(2), bool(m.group(1)), bool(m.group(3))
        if name in ignore_set and not selfclosing:
            ignored_depth += -1 if closing else 1
            ignored_depth = max(ignored_depth, 0)
        if name not in lose_set:
            out.append(m.group(0))
    tail = text[pos:]
    pending.append(tail)
    billed += len(tail)
    flush()
    return "".join(out), billed


def translate_plain(text: str, target: str) -> tuple[str, int]:
    return f"[{target}] {text.upper()}", len(text)


class FakeDeepL:
    """A fake DeepL API server in a background thread on 127.0.0.1 (port 0). See the module docstring.

    Attributes read by tests: ``url``, ``requests`` (every RecordedRequest), ``translate_requests``,
    ``billed_characters`` (total billed), ``unanswered_billed_characters`` (billed by requests whose answer
    was withheld), ``character_count`` (what /v2/usage reports). ``delay``, ``delay_per_kib`` and
    ``character_limit`` may be changed while the fake runs.
    """

    def __init__(
        self,
        *,
        auth_key: str = "test-key:fx",
        max_texts: int = 50,
        max_body_bytes: int = 128 * 1024,
        character_limit: int | None = None,
        lose_tags: Iterable[str] = (),
        delay: float = 0.0,
        delay_per_kib: float = 0.0,
    ) -> None:
        self.auth_key = auth_key
        self.max_texts = max_texts
        self.max_body_bytes = max_body_bytes
        self.character_limit = character_limit
        self.lose_tags = tuple(lose_tags)
        self.delay = delay
        self.delay_per_kib = delay_per_kib
        self.requests: list[RecordedRequest] = []
        self.billed_characters = 0
        self.character_count = 0
        self._failures: dict[str, deque[tuple[int, float | None]]] = {}
        self._withheld: dict[str, deque[_Withheld]] = {}
        self._released = threading.Event()  # set on stop: held connections are let go
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self, port: int = 0) -> FakeDeepL:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._released.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-deepl", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeDeepL:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL to pass as ``server_url``."""
        if self._server is None:
            raise RuntimeError("FakeDeepL is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- scripting ------------------------------------------------------------------------------------
    def fail(self, path: str, *statuses: int, retry_after: float | None = None) -> None:
        """Queue ``statuses`` as the next answers on ``path`` ("/v2/translate" or "/v2/usage")."""
        with self._lock:
            queue = self._failures.setdefault(path, deque())
            queue.extend((status, retry_after) for status in statuses)

    def withhold(
        self, count: int = 1, *, path: str = "/v2/translate", billed: bool = True, hold: float | None = 30.0
    ) -> None:
        """Give no answer to the next ``count`` requests on ``path``. ``billed``: handle each in full (and
        bill it) before dropping the answer; else drop it unhandled, like the official mock's
        ``mock-server-session-no-response-count``. ``hold``: seconds the connection stays open before it is
        closed without an answer (cut short by ``stop``); None closes it at once."""
        with self._lock:
            queue = self._withheld.setdefault(path, deque())
            queue.extend(_Withheld(billed, hold) for _ in range(count))

    @property
    def translate_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == "/v2/translate"]

    @property
    def unanswered_billed_characters(self) -> int:
        """Characters billed by requests whose answer was withheld."""
        with self._lock:
            return sum(r.billed for r in self.requests if not r.answered)

    # -- handling (called from the server threads) ---------------------------------------------------
    def _next_failure(self, path: str) -> tuple[int, float | None] | None:
        with self._lock:
            queue = self._failures.get(path)
            failure = queue.popleft() if queue else None
            if failure is not None and failure[0] == 456 and path == "/v2/translate":
                self.character_limit = self.character_count  # the quota is used up
            return failure

    def _next_withheld(self, path: str) -> _Withheld | None:
        with self._lock:
            queue = self._withheld.get(path)
            return queue.popleft() if queue else None

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._released.wait(seconds)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _translate(self, params: dict[str, Any]) -> tuple[int, dict[str, Any], int]:
        texts = params.get("text")
        if isinstance(texts, str):
            texts = [texts]
        target = params.get("target_lang")
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            return 400, {"message": "Parameter 'text' not specified."}, 0
        if not isinstance(target, str) or not target:
            return 400, {"message": "Parameter 'target_lang' not specified."}, 0
        if len(texts) > self.max_texts:
            return 413, {"message": f"Too many texts: at most {self.max_texts} per request."}, 0
        tag_handling = params.get("tag_handling")
        ignore = params.get("ignore_tags") or []
        if isinstance(ignore, str):
            ignore = ignore.split(",")
        results: list[tuple[str, int]] = []
        for text in texts:
            if tag_handling == "xml":
                results.append(translate_xml(text, target.upper(), ignore=ignore, lose=self.lose_tags))
            else:
                results.append(translate_plain(text, target.upper()))
        billed = sum(b for _, b in results)
        with self._lock:
            if self.character_limit is not None and self.character_count + billed > self.character_limit:
                return 456, {"message": "Quota Exceeded"}, 0
            self.character_count += billed
            self.billed_characters += billed
        source = params.get("source_lang")
        show_billed = params.get("show_billed_characters") in (True, "1", "true", "True")
        translations = []
        for text, billed_chars in results:
            item: dict[str, Any] = {
                "detected_source_language": source.upper() if isinstance(source, str) else "EN",
                "text": text,
            }
            if show_billed:
                item["billed_characters"] = billed_chars
            translations.append(item)
        return 200, {"translations": translations}, billed

    def _usage(self) -> tuple[int, dict[str, Any]]:
        with self._lock:
            limit = self.character_limit if self.character_limit is not None else 500_000
            return 200, {"character_count": self.character_count, "character_limit": limit}


class _Handler(BaseHTTPRequestHandler):
    owner: FakeDeepL
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up waiting (a slow answer): it was billed all the same
            self.close_connection = True

    def _drop(self, hold: float | None) -> None:
        """Answer nothing: keep the connection open ``hold`` seconds, then close it."""
        self.close_connection = True
        if hold is not None:
            self.owner._wait(hold)

    def _params(self, body: bytes) -> dict[str, Any]:
        query = parse_qs(urlsplit(self.path).query)
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("application/json") and body:
            loaded = json.loads(body)
            return loaded if isinstance(loaded, dict) else {}
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True) if body else {}
        merged = {**query, **form}
        return {k: (v if k in ("text", "ignore_tags") else v[-1]) for k, v in merged.items()}

    def _handle(self, method: str) -> None:
        owner = self.owner
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        withheld = owner._next_withheld(path)

        def answer(
            status: int,
            payload: dict[str, Any],
            params: dict[str, Any] | None = None,
            *,
            billed: int = 0,
            headers: dict[str, str] | None = None,
        ) -> None:
            answered = withheld is None
            owner._record(RecordedRequest(method, path, status, len(body), params or {}, billed, answered))
            if not answered:
                assert withheld is not None
                self._drop(withheld.hold)
                return
            owner._wait(owner.delay + owner.delay_per_kib * len(body) / 1024)
            self._send(status, payload, headers)

        if withheld is not None and not withheld.billed:
            # the official mock's no-response: dropped before the key check and any handling
            try:
                params = self._params(body)
            except (ValueError, UnicodeDecodeError):
                params = {}
            answer(0, {}, params)
            return
        if path not in ("/v2/translate", "/v2/usage") or (path == "/v2/translate" and method != "POST"):
            answer(404, {"message": "Not found"})
            return
        if self.headers.get("Authorization") != f"DeepL-Auth-Key {owner.auth_key}":
            answer(403, {"message": _MESSAGES[403]})
            return
        if len(body) > owner.max_body_bytes:
            answer(413, {"message": _MESSAGES[413]})
            return
        try:
            params = self._params(body)
        except (ValueError, UnicodeDecodeError):
            answer(400, {"message": "Malformed request body."})
            return
        failure = owner._next_failure(path)
        if failure is not None:
            status, retry_after = failure
            extra = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
            answer(status, {"message": _MESSAGES.get(status, "Error")}, params, headers=extra)
            return
        if path == "/v2/translate":
            status, payload, billed = owner._translate(params)
            answer(status, payload, params, billed=billed)
        else:
            status, payload = owner._usage()
            answer(status, payload, params)


def main(argv: list[str] | None = None) -> None:
    """Serve the fake DeepL on 127.0.0.1 until interrupted (for trying the CLI offline)."""
    import argparse
    import time

    parser = argparse.ArgumentParser(
        description="A fake DeepL API on 127.0.0.1 (upper-cases, prefixes [LANG])."
    )
    parser.add_argument("--port", type=int, default=8026)
    parser.add_argument("--auth-key", default="test-key:fx")
    args = parser.parse_args(argv)
    fake = FakeDeepL(auth_key=args.auth_key).start(args.port)
    print(f"fake DeepL on {fake.url}\nDEEPL_SERVER_URL={fake.url} DEEPL_AUTH_KEY={args.auth_key}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        print(f"billed characters: {fake.billed_characters}", flush=True)
        fake.stop()


if __name__ == "__main__":
    main()
