"""DeepL translation of papers (title, abstract, one-sentence summary), cached, batched and budgeted.

``PaperTranslator.translate`` never raises for DeepL failures: it returns what it could translate plus a
``TranslationFailure`` and a one-line English notice, and the caller shows the rest in English.

* Every text is protected (``papers.markup``: entities escaped, LaTeX in an ignored ``<x>``, the summary
  sentence marked by ``<s>`` inside the abstract) and looked up in the cache by
  ``CacheKey(sha256(text sent), language, OPTIONS_TAG)`` first; only misses are sent, each once (a text
  shared by two papers goes with the first of them).
* The paper is the unit of sending, of budgeting and of splitting: its texts (title and abstract, those not
  cached) always travel together in one request, so DeepL never bills half a paper. Papers keep the order
  given. A request holds whole papers, at most ``max_texts`` texts (default 20, i.e. 10 papers, well under
  DeepL's 50: a request whose answer is lost costs at most that much; at least 2) and ``max_request_bytes``
  of JSON-encoded text (the body the ``deepl`` library builds, with headroom for the other fields); a paper
  over the byte limit goes alone. Results go to the cache after each request, so a failure half-way keeps
  what was paid for.
* Timeouts: every request gets an explicit ``(connect, read)`` timeout, sized to its body: connect
  ``connect_timeout`` (5 s); read ``read_timeout + read_timeout_per_kib * body KiB`` (10 s + 0.25 s/KiB),
  at most ``max_read_timeout`` (60 s): a full 120 KiB request waits 40 s, a one-paper request about 10.5 s.
  The ``deepl`` library's own timeout (10 s or its backoff deadline) and its retry loop (blocking
  ``time.sleep``) are not used.
* Lost answers: a request whose answer does not arrive (read timeout, or the connection closed or broken
  after the request was sent: anything but a failure to connect) may have been processed and billed by
  DeepL. Its billable characters (``billable_length``) are counted as ``uncertain_characters`` (reported
  apart from the ``billed_characters`` DeepL confirmed), logged, and count against ``budget`` and the known
  quota exactly like billed ones. The same request is never sent again: its papers are retried in two
  halves (first half first, order kept; a single paper as it is) after sleeping ``backoff * 2**(n - 1)``
  for the n-th lost answer, and for the rest of the call no request holds more papers than that half. After
  ``retries + 1`` lost answers in one call the rest is given up (UNAVAILABLE). So what a call counts on top
  of what DeepL confirmed is the lost requests: the first (at most one full request) and at most
  ``retries`` more, each with at most half (rounded up) as many papers as the first.
* Partial coverage: before each request its papers are checked against what is left of ``budget`` (minus
  everything this call counted, confirmed and uncertain) and, when known, of the account's quota (asked
  with one ``/v2/usage`` attempt at the start of a call with more than one paper to send, when
  ``check_quota``; unknown when that fails or the account has no limit). Papers are sent whole, in the
  order given, up to the first that does not fit; that one and every later one stay in English
  (BUDGET_EXHAUSTED, or QUOTA_EXCEEDED when the quota was the limit) and nothing is sent for them, so
  neither retries nor lost answers can take a call past its budget. Papers found in the cache are
  translated wherever they stand.
* 456 (quota exceeded, nothing billed): a request of several papers is split in halves and retried at once,
  first half first, so papers that fit in a smaller request are not lost (a binary search: at most
  log2(papers of the request) + 1 answers 456 for it); a single paper answered 456 ends the call
  (QUOTA_EXCEEDED) with what came before.
* Retries of the same request: 429, 5xx and failures to connect (nothing sent, nothing billed) are retried
  ``retries`` times after the first attempt, sleeping ``backoff * 2**attempt`` seconds through the
  injected ``sleep``. 403 is not retried.
* ``billed_characters`` are the ``billed_characters`` DeepL returns; for a text it returns none for, the
  text's billable length (never less than DeepL would bill).
* The ``context`` parameter is not used: it is per request, and requests batch many papers.
* ``deepl`` is blocking: every call runs in ``asyncio.to_thread``. The auth key is never logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import deepl
import urllib3.exceptions
from deepl.http_client import HttpClient
from requests import Response
from requests import exceptions as http_errors

from .errors import TranslationFailure
from .languages import is_english
from .markup import (
    IGNORE_TAG,
    MARKER_TAG,
    SCHEME,
    billable_length,
    corresponding_sentence,
    protect,
    unprotect,
)
from .models import PaperTranslation
from .ports import CacheKey, TranslationCache

__all__ = [
    "NOTICES",
    "OPTIONS_TAG",
    "PaperTranslator",
    "TranslationOutcome",
    "TranslationRequest",
]

logger = logging.getLogger(__name__)

OPTIONS_TAG = f"xml:{IGNORE_TAG}:{MARKER_TAG}:{SCHEME}"
"""Names tag handling, the ignored tag, the marker tag and the markup scheme version in every cache key."""

SOURCE_LANGUAGE = "EN"
_BODY_HEADROOM = 1024  # target_lang, source_lang, tag_handling, ignore_tags, show_billed_characters, braces

NOTICE_NO_KEY = "Translation is off (no DeepL API key): showing English."
NOTICES: dict[TranslationFailure, str] = {
    TranslationFailure.QUOTA_EXCEEDED: "DeepL quota exhausted: showing English.",
    TranslationFailure.AUTH_FAILED: "DeepL rejected the API key: showing English.",
    TranslationFailure.UNAVAILABLE: "DeepL is unavailable: showing English.",
    TranslationFailure.BUDGET_EXHAUSTED: "Daily translation budget used up: showing English.",
}


@dataclass(frozen=True)
class TranslationRequest:
    """One paper to translate; ``summary_span`` is the summary sentence as ``abstract[start:end]``."""

    paper_id: str
    title: str
    abstract: str
    summary_span: tuple[int, int] | None


@dataclass(frozen=True)
class TranslationOutcome:
    """``translations`` by paper id (papers not fully translated are absent); ``billed_characters`` as
    DeepL confirmed them for this call; ``uncertain_characters`` sent on attempts whose answer was lost
    (DeepL may have billed them); ``failure``/``notice`` set when DeepL failed, is off, or the budget or
    quota stopped the call."""

    translations: dict[str, PaperTranslation]
    billed_characters: int
    failure: TranslationFailure | None
    notice: str | None
    uncertain_characters: int = 0

    @property
    def counted_characters(self) -> int:
        """What this call counts against a budget: confirmed plus uncertain characters."""
        return self.billed_characters + self.uncertain_characters


@dataclass(frozen=True)
class _Timeouts:
    connect: float
    read: float
    read_per_kib: float
    max_read: float

    def for_body(self, body_bytes: int) -> tuple[float, float]:
        read = min(self.max_read, self.read + self.read_per_kib * max(0, body_bytes) / 1024)
        return self.connect, read


class _Garbled(Exception):
    """DeepL answered, but not with translations we can read (not JSON, the wrong shape, the wrong count):
    the request was handled and may have been billed; asking again would most likely be answered the same."""


class _AnswerLost(deepl.ConnectionException):
    """The request went out (or may have) but its answer did not arrive: DeepL may have billed it."""

    def __init__(self, message: str, *, read_timeout: float) -> None:
        super().__init__(message, should_retry=True)
        self.read_timeout = read_timeout


def _nothing_sent(cause: BaseException | None) -> bool:
    """True when ``cause`` (what ``requests`` raised) proves the request never reached the server."""
    if isinstance(cause, http_errors.ConnectTimeout):
        return True
    if isinstance(cause, http_errors.ConnectionError):
        reason: object = cause.args[0] if cause.args else None
        if isinstance(reason, urllib3.exceptions.MaxRetryError):
            reason = reason.reason
        # refused, unreachable, unresolvable, or no connection within the connect timeout
        return isinstance(
            reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError
        )
    if isinstance(cause, http_errors.RequestException):
        # a read timeout or a broken answer: sent; a bad URL, header or schema: never sent
        return not isinstance(
            cause,
            http_errors.Timeout | http_errors.ChunkedEncodingError | http_errors.ContentDecodingError,
        )
    return False  # anything else: assume the worst


class _HttpClient(HttpClient):
    """The library's HTTP client with one attempt per call (``PaperTranslator`` retries itself, through an
    injectable async sleep), an explicit timeout sized to the request body, and a lost answer told apart
    from a failure to connect (``_AnswerLost``)."""

    def __init__(self, timeouts: _Timeouts) -> None:
        super().__init__(send_platform_info=False)
        self._timeouts = timeouts

    def request_with_backoff(
        self,
        method: str,
        url: str,
        data: dict[Any, Any] | None,
        json: dict[Any, Any] | None,
        headers: dict[Any, Any],
        stream: bool = False,
        **kwargs: Any,
    ) -> tuple[int, str | Response]:
        request = self._prepare_request(method, url, data, json, headers, **kwargs)
        body = request.body
        size = (
            len(body.encode("utf-8"))
            if isinstance(body, str)
            else len(body)
            if isinstance(body, bytes)
            else 0
        )
        timeout = self._timeouts.for_body(size)
        try:
            return self._internal_request(request, stream, timeout=timeout)  # type: ignore[arg-type]
        except deepl.ConnectionException as exc:
            cause = exc.__cause__
            if _nothing_sent(cause):
                raise
            kind = "no answer within" if isinstance(cause, http_errors.Timeout) else "answer lost"
            raise _AnswerLost(
                f"{kind} ({type(cause).__name__}; read timeout {timeout[1]:.1f} s, {size} bytes sent)",
                read_timeout=timeout[1],
            ) from cause


class _Failed(Exception):
    def __init__(self, failure: TranslationFailure) -> None:
        super().__init__(failure.value)
        self.failure = failure


@dataclass(frozen=True)
class _Unit:
    """One paper's texts to send (those not cached nor sent with an earlier paper) and their billable
    characters."""

    paper_id: str
    texts: tuple[str, ...]
    cost: int
    size: int  # encoded bytes


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _encoded_size(text: str) -> int:
    """Bytes ``text`` takes in the JSON body ``requests`` builds (``json.dumps``, ASCII-escaped) plus a
    separator."""
    return len(json.dumps(text)) + 2


def _halves(piece: list[_Unit]) -> tuple[list[_Unit], list[_Unit]]:
    middle = (len(piece) + 1) // 2
    return piece[:middle], piece[middle:]


def _cost(units: Sequence[_Unit]) -> int:
    return sum(u.cost for u in units)


class PaperTranslator:
    """Translates papers with DeepL through a cache. See the module docstring for the policies."""

    def __init__(
        self,
        *,
        auth_key: str | None,
        cache: TranslationCache,
        server_url: str | None = None,
        max_texts: int = 20,
        max_request_bytes: int = 120 * 1024,
        retries: int = 3,
        backoff: float = 1.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        read_timeout_per_kib: float = 0.25,
        max_read_timeout: float = 60.0,
        check_quota: bool = True,
    ) -> None:
        if max_texts < 2:
            raise ValueError("max_texts must be at least 2 (a paper's title and abstract go together)")
        if max_request_bytes <= _BODY_HEADROOM:
            raise ValueError(f"max_request_bytes must be more than {_BODY_HEADROOM}")
        if connect_timeout <= 0 or read_timeout <= 0 or read_timeout_per_kib < 0:
            raise ValueError("timeouts must be positive (the per-KiB allowance may be 0)")
        if max_read_timeout < read_timeout:
            raise ValueError("max_read_timeout must be at least read_timeout")
        self._auth_key = auth_key or None
        self._cache = cache
        self._server_url = server_url
        self._max_texts = max_texts
        self._max_text_bytes = max_request_bytes - _BODY_HEADROOM
        self._retries = max(0, retries)
        self._backoff = backoff
        self._sleep = sleep
        self._timeouts = _Timeouts(connect_timeout, read_timeout, read_timeout_per_kib, max_read_timeout)
        self._check_quota = check_quota
        self._translator: deepl.Translator | None = None

    def __repr__(self) -> str:  # never show the key
        return f"PaperTranslator(server_url={self._server_url!r}, key={'set' if self._auth_key else 'none'})"

    @property
    def enabled(self) -> bool:
        return self._auth_key is not None

    def request_timeout(self, body_bytes: int) -> tuple[float, float]:
        """The ``(connect, read)`` timeout in seconds of a request whose body is ``body_bytes`` long."""
        return self._timeouts.for_body(body_bytes)

    def close(self) -> None:
        """Close the HTTP session (optional; the library also closes it when collected)."""
        if self._translator is not None:
            self._translator.close()  # type: ignore[no-untyped-call]
            self._translator = None

    def _client(self) -> deepl.Translator:
        if self._translator is None:
            assert self._auth_key is not None
            translator = deepl.Translator(
                self._auth_key, server_url=self._server_url, send_platform_info=False
            )
            translator._client.close()  # type: ignore[no-untyped-call]
            translator._client = _HttpClient(self._timeouts)
            self._translator = translator
        return self._translator

    # -- public API ------------------------------------------------------------------------------------
    async def translate(
        self,
        requests: Sequence[TranslationRequest],
        language: str,
        *,
        budget: int | None = None,
        reserve: Callable[[int], Awaitable[None]] | None = None,
    ) -> TranslationOutcome:
        """Translate ``requests`` into ``language`` (a canonical DeepL target code); never raises for DeepL
        failures. ``budget``: at most this many characters may be counted by this call, billed or sent on an
        attempt whose answer was lost; papers past it stay untranslated (``BUDGET_EXHAUSTED``).

        ``reserve(characters)`` keeps a running count where it survives the process (the daily count in the
        database): it is told a request's billable characters *before* the request goes out, then the
        difference once DeepL confirms what it billed (negative for a request DeepL refused without billing).
        A process killed while a request is in flight has thus counted it already."""
        if is_english(language) or not requests:
            return TranslationOutcome({}, 0, None, None)
        if self._auth_key is None:
            return TranslationOutcome({}, 0, None, NOTICE_NO_KEY)

        papers: dict[str, TranslationRequest] = {}
        for request in requests:
            papers.setdefault(request.paper_id, request)  # the same paper twice is translated once

        # The exact texts sent, per paper, and their cache keys.
        sent: dict[str, tuple[str, str]] = {}
        keys: dict[str, CacheKey] = {}
        for paper_id, request in papers.items():
            title_xml = protect(request.title, summary_span=None)
            abstract_xml = protect(request.abstract, summary_span=request.summary_span)
            sent[paper_id] = (title_xml, abstract_xml)
            for text in (title_xml, abstract_xml):
                keys.setdefault(text, CacheKey(_hash(text), language, OPTIONS_TAG))

        results: dict[str, str] = {text: text for text in keys if not text.strip()}  # nothing to translate
        cached = await self._cache.get_many([k for t, k in keys.items() if t not in results])
        by_key = {key: text for text, key in keys.items()}
        for key, value in cached.items():
            results[by_key[key]] = value

        units: list[_Unit] = []
        queued: set[str] = set()
        for paper_id, texts in sent.items():
            todo = tuple(dict.fromkeys(t for t in texts if t not in results and t not in queued))
            if todo:
                queued.update(todo)
                units.append(
                    _Unit(
                        paper_id,
                        todo,
                        sum(billable_length(t) for t in todo),
                        sum(_encoded_size(t) for t in todo),
                    )
                )
        logger.info(
            "translating into %s: %d of %d papers to send (%d texts, %d characters), %d texts cached",
            language,
            len(units),
            len(papers),
            len(queued),
            _cost(units),
            len(keys) - len(queued),
        )

        quota: int | None = None
        if units and self._check_quota and len(units) > 1:
            quota = await self._quota_left()
        billed, uncertain, failure = await self._send_units(
            units, language, keys, results, budget, quota, reserve
        )

        translations: dict[str, PaperTranslation] = {}
        for paper_id, (title_xml, abstract_xml) in sent.items():
            if title_xml in results and abstract_xml in results:
                translations[paper_id] = self._assemble(
                    papers[paper_id], language, results[title_xml], results[abstract_xml]
                )
        if uncertain:
            logger.warning(
                "DeepL into %s: %d characters confirmed, %d more sent on attempts whose answer was lost "
                "(counted as billed)",
                language,
                billed,
                uncertain,
            )
        if failure is not None:
            logger.warning(
                "DeepL stopped (%s): %d of %d papers translated into %s",
                failure.value,
                len(translations),
                len(papers),
                language,
            )
        return TranslationOutcome(
            translations,
            billed,
            failure,
            NOTICES[failure] if failure is not None else None,
            uncertain_characters=uncertain,
        )

    async def usage(self) -> tuple[int, int | None] | None:
        """``(characters used, limit)`` this billing period, or None without a key or when DeepL fails."""
        if self._auth_key is None:
            return None
        try:
            usage = await self._call(lambda client: client.get_usage())
        except _Failed as exc:
            logger.warning("DeepL usage query failed (%s)", exc.failure.value)
            return None
        return usage.character.count or 0, usage.character.limit

    # -- internals ---------------------------------------------------------------------------------------
    async def _quota_left(self) -> int | None:
        """Characters left in the account's billing period (one attempt), or None when unknown/unlimited."""
        try:
            usage = await self._call(lambda client: client.get_usage(), retries=0)
        except _Failed as exc:
            logger.info("DeepL usage unknown (%s): sending without a quota check", exc.failure.value)
            return None
        count: int | None = usage.character.count
        limit: int | None = usage.character.limit
        if count is None or not limit:
            return None
        return max(0, limit - count)

    def _pack(self, units: Sequence[_Unit]) -> list[list[_Unit]]:
        """Whole papers into requests within ``max_texts`` and the byte limit; a paper over the byte limit
        goes alone."""
        pieces: list[list[_Unit]] = []
        current: list[_Unit] = []
        texts = size = 0
        for unit in units:
            if current and (
                texts + len(unit.texts) > self._max_texts or size + unit.size > self._max_text_bytes
            ):
                pieces.append(current)
                current, texts, size = [], 0, 0
            current.append(unit)
            texts += len(unit.texts)
            size += unit.size
        if current:
            pieces.append(current)
        return pieces

    async def _send_units(
        self,
        units: Sequence[_Unit],
        language: str,
        keys: dict[str, CacheKey],
        results: dict[str, str],
        budget: int | None,
        quota: int | None,
        reserve: Callable[[int], Awaitable[None]] | None = None,
    ) -> tuple[int, int, TranslationFailure | None]:
        """Send ``units`` by the policies of the module docstring; fills ``results`` (and the cache).
        Returns ``(confirmed characters, uncertain characters, failure)``."""
        pending: deque[list[_Unit]] = deque(self._pack(units))
        billed = uncertain = lost = 0
        cap: int | None = None  # most papers per request, once an answer was lost
        failure: TranslationFailure | None = None
        while pending:
            piece = pending.popleft()
            if cap is not None and len(piece) > cap:
                chunks = [piece[i : i + cap] for i in range(0, len(piece), cap)]
                pending.extendleft(reversed(chunks))
                continue

            counted = billed + uncertain
            room_budget = None if budget is None else budget - counted
            room_quota = None if quota is None else quota - counted
            fit: list[_Unit] = []
            total = 0
            for unit in piece:
                if room_budget is not None and total + unit.cost > room_budget:
                    failure = TranslationFailure.BUDGET_EXHAUSTED
                    break
                if room_quota is not None and total + unit.cost > room_quota:
                    failure = TranslationFailure.QUOTA_EXCEEDED
                    break
                fit.append(unit)
                total += unit.cost
            if len(fit) < len(piece):
                left = len(piece) - len(fit) + sum(len(p) for p in pending)
                logger.info(
                    "%s leaves room for %d more characters: %d more papers sent, %d left in English",
                    "the daily budget" if failure is TranslationFailure.BUDGET_EXHAUSTED else "DeepL's quota",
                    min(r for r in (room_budget, room_quota) if r is not None),
                    len(fit),
                    left,
                )
                pending.clear()  # papers go in order: none after the first that does not fit
                if not fit:
                    break
                piece = fit

            texts = [t for unit in piece for t in unit.texts]
            if reserve is not None:
                await reserve(total)  # before it goes out: a stop in flight has counted it
            try:
                translated, piece_billed = await self._send(texts, language)
            except _Garbled as exc:
                uncertain += total  # handled and maybe billed: the reservation stays
                logger.error(
                    "DeepL: an answer we cannot read (%s) for %d papers (%d characters): counted as billed",
                    exc,
                    len(piece),
                    total,
                )
                failure = TranslationFailure.UNAVAILABLE
                break
            except _AnswerLost as exc:
                lost += 1
                uncertain += total
                logger.warning(
                    "DeepL: %s for %d papers (%d characters): counted as billed",
                    exc,
                    len(piece),
                    total,
                )
                if lost > self._retries:
                    logger.error("DeepL: %d answers lost in one call, giving up", lost)
                    failure = TranslationFailure.UNAVAILABLE
                    break
                first, second = _halves(piece)
                cap = len(first) if cap is None else min(cap, len(first))
                if second:
                    pending.appendleft(second)
                pending.appendleft(first)
                delay = self._backoff * 2 ** (lost - 1)
                logger.warning(
                    "DeepL: retrying those papers in requests of at most %d papers in %.2f s", cap, delay
                )
                await self._sleep(delay)
                continue
            except _Failed as exc:
                if reserve is not None:
                    await reserve(-total)  # refused (429/5xx given up, 456, 403): nothing billed
                if exc.failure is TranslationFailure.QUOTA_EXCEEDED and len(piece) > 1:
                    first, second = _halves(piece)
                    logger.info(
                        "DeepL quota exceeded for %d papers: trying %d, then %d",
                        len(piece),
                        len(first),
                        len(second),
                    )
                    pending.appendleft(second)
                    pending.appendleft(first)
                    continue
                failure = exc.failure
                break
            billed += piece_billed
            if reserve is not None and piece_billed != total:
                await reserve(piece_billed - total)  # DeepL's own count replaces the estimate
            results.update(zip(texts, translated, strict=True))
            await self._cache.put_many({keys[t]: out for t, out in zip(texts, translated, strict=True)})
        return billed, uncertain, failure

    async def _send(self, texts: list[str], language: str) -> tuple[list[str], int]:
        def call(client: deepl.Translator) -> Any:
            return client.translate_text(
                texts,
                source_lang=SOURCE_LANGUAGE,
                target_lang=language,
                tag_handling="xml",
                ignore_tags=[IGNORE_TAG],
            )

        results = await self._call(call, billable=True)
        if not isinstance(results, list) or len(results) != len(texts):
            count = len(results) if isinstance(results, list) else type(results).__name__
            raise _Garbled(f"{count} results for {len(texts)} texts")
        try:
            billed = sum(
                int(r.billed_characters) if r.billed_characters is not None else billable_length(text)
                for r, text in zip(results, texts, strict=True)
            )
            translated = [str(r.text) for r in results]
        except (AttributeError, TypeError, ValueError) as exc:
            raise _Garbled(f"{type(exc).__name__}: {exc}") from None
        logger.debug("DeepL translated %d texts, %d characters billed", len(texts), billed)
        return translated, billed

    async def _call(
        self, fn: Callable[[deepl.Translator], Any], *, billable: bool = False, retries: int | None = None
    ) -> Any:
        """Run ``fn`` with the client, retrying 429, 5xx and connection failures. ``billable``: a lost answer
        (``_AnswerLost``) is raised to the caller instead of resending the same request."""
        client = self._client()
        limit = self._retries if retries is None else retries
        attempt = 0
        while True:
            try:
                return await asyncio.to_thread(fn, client)
            except _AnswerLost:
                if billable:
                    raise
                reason = "answer lost"
                retryable = True
            except deepl.QuotaExceededException:
                raise _Failed(TranslationFailure.QUOTA_EXCEEDED) from None
            except deepl.AuthorizationException:
                raise _Failed(TranslationFailure.AUTH_FAILED) from None
            except deepl.DeepLException as exc:
                status = exc.http_status_code
                if billable and status is not None and 200 <= status < 300:
                    raise _Garbled(str(exc)) from None  # answered, but not readable
                retryable = (
                    isinstance(exc, deepl.ConnectionException) or status == 429 or (status or 0) >= 500
                )
                reason = f"HTTP {status}" if status is not None else type(exc).__name__
            except (AttributeError, TypeError, ValueError, KeyError) as exc:  # the library choking on it
                if billable:
                    raise _Garbled(f"{type(exc).__name__}: {exc}") from None
                logger.error("DeepL answered something unreadable (%s)", type(exc).__name__)
                raise _Failed(TranslationFailure.UNAVAILABLE) from None
            if not retryable or attempt >= limit:
                logger.error("DeepL request failed (%s) after %d attempt(s)", reason, attempt + 1)
                raise _Failed(TranslationFailure.UNAVAILABLE) from None
            delay = self._backoff * 2**attempt
            attempt += 1
            logger.warning("DeepL request failed (%s); retry %d in %.2f s", reason, attempt, delay)
            await self._sleep(delay)

    @staticmethod
    def _assemble(
        request: TranslationRequest, language: str, title_xml: str, abstract_xml: str
    ) -> PaperTranslation:
        title, _ = unprotect(title_xml)
        abstract, marker = unprotect(abstract_xml)
        if request.summary_span is None:
            summary = ""
        elif marker is not None:
            summary = marker.strip()
        else:
            summary = corresponding_sentence(request.abstract, request.summary_span, abstract)
            logger.info(
                "DeepL lost the summary marker of %s; fallback found: %s", request.paper_id, bool(summary)
            )
        return PaperTranslation(
            language=language, title=title.strip(), abstract=abstract.strip(), summary=summary
        )
