"""DeepL translation of papers (title, abstract, one-sentence summary), cached and batched.

``PaperTranslator.translate`` never raises for DeepL failures: it returns what it could translate plus a
``TranslationFailure`` and a one-line English notice, and the caller shows the rest in English.

* Every text is protected (``papers.markup``: entities escaped, LaTeX in an ignored ``<x>``, the summary
  sentence marked by ``<s>`` inside the abstract) and looked up in the cache by
  ``CacheKey(sha256(text sent), language, OPTIONS_TAG)`` first; only misses are sent, each once.
* Requests hold at most ``max_texts`` texts and ``max_request_bytes`` of JSON-encoded text (the body the
  ``deepl`` library builds, with headroom for the other fields). Results go to the cache after each
  request, so a failure half-way keeps what was paid for.
* The summary is the text DeepL returns inside the marker, so it costs nothing beyond the abstract. When
  DeepL lost the marker, it is the sentence of the translated abstract at the summary's index if both
  texts split into the same number of sentences, else "" (the formatter then shows the English summary).
* Retries: 429, 5xx and connection errors are retried ``retries`` times after the first attempt, sleeping
  ``backoff * 2**attempt`` seconds through the injected ``sleep``; the ``deepl`` library's own retry loop
  (blocking ``time.sleep`` backoff) is switched off for our client. 456 and 403 are not retried.
* The ``context`` parameter is not used: it is per request, and requests batch many papers.
* ``deepl`` is blocking: every call runs in ``asyncio.to_thread``. The auth key is never logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import deepl
from deepl.http_client import HttpClient

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
    DeepL reported them for this call; ``failure``/``notice`` set when DeepL failed or is off."""

    translations: dict[str, PaperTranslation]
    billed_characters: int
    failure: TranslationFailure | None
    notice: str | None


class _NoRetryHttpClient(HttpClient):
    """The library's HTTP client without its own retry loop (whose backoff is a blocking ``time.sleep``):
    ``PaperTranslator`` retries itself, through an injectable async sleep."""

    def _should_retry(self, response: Any, exception: Any, num_retries: int) -> bool:
        return False


class _Failed(Exception):
    def __init__(self, failure: TranslationFailure) -> None:
        super().__init__(failure.value)
        self.failure = failure


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _encoded_size(text: str) -> int:
    """Bytes ``text`` takes in the JSON body ``requests`` builds (``json.dumps``, ASCII-escaped) plus a
    separator."""
    return len(json.dumps(text)) + 2


class PaperTranslator:
    """Translates papers with DeepL through a cache. See the module docstring for the policies."""

    def __init__(
        self,
        *,
        auth_key: str | None,
        cache: TranslationCache,
        server_url: str | None = None,
        max_texts: int = 50,
        max_request_bytes: int = 120 * 1024,
        retries: int = 3,
        backoff: float = 1.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if max_texts < 1:
            raise ValueError("max_texts must be at least 1")
        if max_request_bytes <= _BODY_HEADROOM:
            raise ValueError(f"max_request_bytes must be more than {_BODY_HEADROOM}")
        self._auth_key = auth_key or None
        self._cache = cache
        self._server_url = server_url
        self._max_texts = max_texts
        self._max_text_bytes = max_request_bytes - _BODY_HEADROOM
        self._retries = max(0, retries)
        self._backoff = backoff
        self._sleep = sleep
        self._translator: deepl.Translator | None = None

    def __repr__(self) -> str:  # never show the key
        return f"PaperTranslator(server_url={self._server_url!r}, key={'set' if self._auth_key else 'none'})"

    @property
    def enabled(self) -> bool:
        return self._auth_key is not None

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
            translator._client = _NoRetryHttpClient(send_platform_info=False)
            self._translator = translator
        return self._translator

    # -- public API ------------------------------------------------------------------------------------
    async def translate(
        self, requests: Sequence[TranslationRequest], language: str, *, budget: int | None = None
    ) -> TranslationOutcome:
        """Translate ``requests`` into ``language`` (a canonical DeepL target code); never raises for DeepL
        failures. ``budget``: at most this many characters may be billed by this call; a batch that would
        pass it is not sent (failure ``BUDGET_EXHAUSTED``)."""
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
        missing = [text for text in keys if text not in results]  # paper order: title, abstract, ...
        logger.info(
            "translating %d papers into %s: %d texts cached, %d to send",
            len(papers),
            language,
            len(keys) - len(missing),
            len(missing),
        )

        billed = 0
        failure: TranslationFailure | None = None
        for batch in self._batches(missing):
            if budget is not None and billed + sum(billable_length(t) for t in batch) > budget:
                failure = TranslationFailure.BUDGET_EXHAUSTED
                break
            try:
                translated, batch_billed = await self._send(batch, language)
            except _Failed as exc:
                failure = exc.failure
                break
            billed += batch_billed
            results.update(zip(batch, translated, strict=True))
            await self._cache.put_many({keys[t]: out for t, out in zip(batch, translated, strict=True)})

        translations: dict[str, PaperTranslation] = {}
        for paper_id, (title_xml, abstract_xml) in sent.items():
            if title_xml in results and abstract_xml in results:
                translations[paper_id] = self._assemble(
                    papers[paper_id], language, results[title_xml], results[abstract_xml]
                )
        if failure is not None:
            logger.warning(
                "DeepL failed (%s): %d of %d papers translated into %s",
                failure.value,
                len(translations),
                len(papers),
                language,
            )
        return TranslationOutcome(
            translations, billed, failure, NOTICES[failure] if failure is not None else None
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
    def _batches(self, texts: Sequence[str]) -> list[list[str]]:
        batches: list[list[str]] = []
        current: list[str] = []
        size = 0
        for text in texts:
            text_size = _encoded_size(text)
            if current and (len(current) >= self._max_texts or size + text_size > self._max_text_bytes):
                batches.append(current)
                current, size = [], 0
            current.append(text)  # a single text over the limit still goes, alone
            size += text_size
        if current:
            batches.append(current)
        return batches

    async def _send(self, texts: list[str], language: str) -> tuple[list[str], int]:
        def call(client: deepl.Translator) -> Any:
            return client.translate_text(
                texts,
                source_lang=SOURCE_LANGUAGE,
                target_lang=language,
                tag_handling="xml",
                ignore_tags=[IGNORE_TAG],
            )

        results = await self._call(call)
        if not isinstance(results, list) or len(results) != len(texts):
            logger.error(
                "DeepL answered %s results for %d texts", getattr(results, "__len__", "?"), len(texts)
            )
            raise _Failed(TranslationFailure.UNAVAILABLE)
        billed = sum(int(r.billed_characters or 0) for r in results)
        logger.debug("DeepL translated %d texts, %d characters billed", len(texts), billed)
        return [r.text for r in results], billed

    async def _call(self, fn: Callable[[deepl.Translator], Any]) -> Any:
        client = self._client()
        attempt = 0
        while True:
            try:
                return await asyncio.to_thread(fn, client)
            except deepl.QuotaExceededException:
                raise _Failed(TranslationFailure.QUOTA_EXCEEDED) from None
            except deepl.AuthorizationException:
                raise _Failed(TranslationFailure.AUTH_FAILED) from None
            except deepl.DeepLException as exc:
                status = exc.http_status_code
                retryable = (
                    isinstance(exc, deepl.ConnectionException) or status == 429 or (status or 0) >= 500
                )
                reason = f"HTTP {status}" if status is not None else type(exc).__name__
                if not retryable or attempt >= self._retries:
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
