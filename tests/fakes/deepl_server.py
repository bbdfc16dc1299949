"""A fake DeepL API on 127.0.0.1, for pointing the real ``deepl`` client at (``server_url=fake.url``).

It speaks what ``deepl`` 1.32 sends and expects:

* ``POST /v2/translate`` with a JSON body (the library's encoding; form encoding is accepted too):
  ``text`` (list), ``target_lang``, optional ``source_lang``, ``tag_handling``, ``ignore_tags``,
  ``context``, ``show_billed_characters``. The answer is
  ``{"translations": [{"detected_source_language", "text", "billed_characters"}]}``.
* ``GET|POST /v2/usage`` -> ``{"character_count", "character_limit"}``.
* ``Authorization: DeepL-Auth-Key <key>``; a missing or wrong key gets 403.
* Limits: more than ``max_texts`` texts or a body over ``max_body_bytes`` gets 413; a request whose billed
  characters would pass ``character_limit`` gets 456 (nothing billed).

"Translation" is deterministic and easy to recognise: the text outside tags is upper-cased and the whole
text gets a ``[<TARGET>] `` prefix. With ``tag_handling=xml`` every tag is kept verbatim, and so is the
content of the ``ignore_tags`` elements; entities count as one billed character, tags are free, ``context``
is free. ``lose_tags`` names tags the fake drops from its output (content kept), like DeepL losing a marker.

Scripted failures: ``fail("/v2/translate", 429, 500, retry_after=1)`` queues responses that are served,
one per request, before normal handling resumes.

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
class RecordedRequest:
    """One request the fake received (scripted failures included)."""

    method: str
    path: str
    status: int
    body_bytes: int
    params: dict[str, Any] = field(default_factory=dict)

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
    ``billed_characters`` (total billed), ``character_count`` (what /v2/usage reports).
    """

    def __init__(
        self,
        *,
        auth_key: str = "test-key:fx",
        max_texts: int = 50,
        max_body_bytes: int = 128 * 1024,
        character_limit: int | None = None,
        lose_tags: Iterable[str] = (),
    ) -> None:
        self.auth_key = auth_key
        self.max_texts = max_texts
        self.max_body_bytes = max_body_bytes
        self.character_limit = character_limit
        self.lose_tags = tuple(lose_tags)
        self.requests: list[RecordedRequest] = []
        self.billed_characters = 0
        self.character_count = 0
        self._failures: dict[str, deque[tuple[int, float | None]]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self, port: int = 0) -> FakeDeepL:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-deepl", daemon=True
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

    @property
    def translate_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == "/v2/translate"]

    # -- handling (called from the server threads) ---------------------------------------------------
    def _next_failure(self, path: str) -> tuple[int, float | None] | None:
        with self._lock:
            queue = self._failures.get(path)
            return queue.popleft() if queue else None

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _translate(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        texts = params.get("text")
        if isinstance(texts, str):
            texts = [texts]
        target = params.get("target_lang")
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            return 400, {"message": "Parameter 'text' not specified."}
        if not isinstance(target, str) or not target:
            return 400, {"message": "Parameter 'target_lang' not specified."}
        if len(texts) > self.max_texts:
            return 413, {"message": f"Too many texts: at most {self.max_texts} per request."}
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
                return 456, {"message": "Quota Exceeded"}
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
        return 200, {"translations": translations}

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
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

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

        def answer(
            status: int, payload: dict[str, Any], params: dict[str, Any] | None = None, **h: str
        ) -> None:
            owner._record(RecordedRequest(method, path, status, len(body), params or {}))
            self._send(status, payload, h or None)

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
            answer(status, {"message": _MESSAGES.get(status, "Error")}, params, **extra)
            return
        status, payload = owner._translate(params) if path == "/v2/translate" else owner._usage()
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
