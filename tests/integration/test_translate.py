"""PaperTranslator with the real ``deepl`` client against the fake DeepL server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from arxiv_digest.papers.errors import TranslationFailure
from arxiv_digest.papers.markup import protect
from arxiv_digest.papers.ports import CacheKey, InMemoryTranslationCache
from arxiv_digest.papers.translate import OPTIONS_TAG, PaperTranslator, TranslationRequest
from tests.fakes.deepl_server import FakeDeepL

KEY = "0f1e2d3c-secret-auth-key-9999:fx"


class RecordingSleep:
    """An injected sleep: records the delays, returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


@pytest.fixture
def fake() -> Iterator[FakeDeepL]:
    with FakeDeepL(auth_key=KEY) as server:
        yield server


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


def make(
    fake: FakeDeepL,
    sleep: RecordingSleep,
    *,
    cache: InMemoryTranslationCache | None = None,
    auth_key: str | None = KEY,
    **options: Any,
) -> PaperTranslator:
    return PaperTranslator(
        auth_key=auth_key,
        cache=cache if cache is not None else InMemoryTranslationCache(),
        server_url=fake.url,
        sleep=sleep,
        **options,
    )


def paper(n: int, *, abstract: str | None = None) -> TranslationRequest:
    """A paper whose second sentence is the summary."""
    text = abstract or (
        f"We study problem {n} on graphs. "
        f"We prove a tight bound for case {n} with $O(n)$ work. "
        "Experiments confirm the theory."
    )
    start = text.index(". ") + 2
    end = text.index(". ", start) + 1
    return TranslationRequest(f"2403.{n:05d}", f"Paper number {n}", text, (start, end))


def upper(text: str) -> str:
    return text.upper()


# -- batching -----------------------------------------------------------------------------------------------


async def test_more_than_50_texts_are_split(fake: FakeDeepL, sleep: RecordingSleep) -> None:
    papers = [paper(n) for n in range(30)]  # 60 texts
    outcome = await make(fake, sleep).translate(papers, "JA")

    assert outcome.failure is None
    assert outcome.notice is None
    sizes = [len(r.texts) for r in fake.translate_requests]
    assert sizes == [50, 10]
    assert all(r.status == 200 for r in fake.translate_requests)
    params = fake.translate_requests[0].params
    assert params["source_lang"] == "EN"
    assert params["target_lang"] == "JA"
    assert params["tag_handling"] == "xml"
    assert params["ignore_tags"] == ["x"]
    assert params["show_billed_characters"] is True
    assert set(outcome.translations) == {p.paper_id for p in papers}
    first = outcome.translations["2403.00000"]
    assert first.language == "JA"
    assert first.title == "[JA] PAPER NUMBER 0"
    assert (
        first.abstract
        == "[JA] WE STUDY PROBLEM 0 ON GRAPHS. WE PROVE A TIGHT BOUND FOR CASE 0 WITH $O(n)$ WORK. "
        + ("EXPERIMENTS CONFIRM THE THEORY.")
    )
    # the summary comes from the marker: translated, LaTeX verbatim
    assert first.summary == "WE PROVE A TIGHT BOUND FOR CASE 0 WITH $O(n)$ WORK."


async def test_request_body_size_split(sleep: RecordingSleep) -> None:
    limit = 4096
    # non-ASCII characters take six bytes each in the JSON body the client sends
    papers = [paper(n, abstract=f"Étude {n}. " + "é" * 300 + ". Fin.") for n in range(8)]
    with FakeDeepL(auth_key=KEY, max_body_bytes=limit) as server:
        outcome = await make(server, sleep, max_request_bytes=limit).translate(papers, "FR")
        requests = server.translate_requests

    assert outcome.failure is None
    assert len(outcome.translations) == 8
    assert len(requests) > 1
    assert all(r.status == 200 and r.body_bytes <= limit for r in requests)
    assert sum(r.body_bytes for r in requests) > limit  # one request would have been refused (413)
    assert outcome.translations["2403.00003"].abstract.startswith("[FR] ÉTUDE 3. ÉÉÉ")


async def test_oversized_body_is_refused_by_the_fake(sleep: RecordingSleep) -> None:
    """The fake's 413 is real: a client allowed bigger bodies than the server takes fails (no retry)."""
    papers = [paper(n, abstract="é" * 400 + f". Done {n}. End.") for n in range(8)]
    with FakeDeepL(auth_key=KEY, max_body_bytes=4096) as server:
        outcome = await make(server, sleep).translate(papers, "FR")
        assert [r.status for r in server.translate_requests] == [413]
    assert outcome.failure is TranslationFailure.UNAVAILABLE
    assert outcome.translations == {}
    assert sleep.delays == []


# -- failures -----------------------------------------------------------------------------------------------


async def test_429_then_success(fake: FakeDeepL, sleep: RecordingSleep) -> None:
    fake.fail("/v2/translate", 429, retry_after=1)
    outcome = await make(fake, sleep, backoff=0.5).translate([paper(1)], "DE")

    assert [r.status for r in fake.translate_requests] == [429, 200]
    assert sleep.delays == [0.5]
    assert outcome.failure is None
    assert outcome.translations["2403.00001"].title == "[DE] PAPER NUMBER 1"


@pytest.mark.parametrize(
    ("status", "failure", "notice"),
    [
        (456, TranslationFailure.QUOTA_EXCEEDED, "DeepL quota exhausted: showing English."),
        (403, TranslationFailure.AUTH_FAILED, "DeepL rejected the API key: showing English."),
    ],
)
async def test_quota_and_auth_are_not_retried(
    fake: FakeDeepL, sleep: RecordingSleep, status: int, failure: TranslationFailure, notice: str
) -> None:
    fake.fail("/v2/translate", status)
    outcome = await make(fake, sleep).translate([paper(1), paper(2)], "DE")

    assert outcome.failure is failure
    assert outcome.notice == notice
    assert outcome.translations == {}
    assert outcome.billed_characters == 0
    assert len(fake.translate_requests) == 1
    assert sleep.delays == []


async def test_wrong_key_is_auth_failure(fake: FakeDeepL, sleep: RecordingSleep) -> None:
    outcome = await make(fake, sleep, auth_key="not-the-key").translate([paper(1)], "DE")
    assert outcome.failure is TranslationFailure.AUTH_FAILED
    assert [r.status for r in fake.translate_requests] == [403]


@pytest.mark.parametrize("status", [500, 503])
async def test_persistent_5xx_is_unavailable_after_retries(
    fake: FakeDeepL, sleep: RecordingSleep, status: int
) -> None:
    fake.fail("/v2/translate", *[status] * 10)
    outcome = await make(fake, sleep, retries=3, backoff=1.0).translate([paper(1)], "DE")

    assert outcome.failure is TranslationFailure.UNAVAILABLE
    assert outcome.notice == "DeepL is unavailable: showing English."
    assert outcome.translations == {}
    assert len(fake.translate_requests) == 4  # the library did not retry on its own
    assert sleep.delays == [1.0, 2.0, 4.0]


async def test_connection_refused_is_unavailable(sleep: RecordingSleep) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before use: nothing listens there
    translator = PaperTranslator(
        auth_key=KEY,
        cache=InMemoryTranslationCache(),
        server_url=f"http://127.0.0.1:{port}",
        retries=2,
        sleep=sleep,
    )
    outcome = await translator.translate([paper(1)], "DE")
    assert outcome.failure is TranslationFailure.UNAVAILABLE
    assert sleep.delays == [1.0, 2.0]


async def test_quota_hit_half_way_keeps_what_was_paid_for(sleep: RecordingSleep) -> None:
    papers = [paper(n) for n in range(3)]
    per_paper = len(papers[0].title) + len(papers[0].abstract)
    cache = InMemoryTranslationCache()
    with FakeDeepL(auth_key=KEY, character_limit=2 * per_paper) as server:
        outcome = await make(server, sleep, cache=cache, max_texts=2).translate(papers, "ES")
        statuses = [r.status for r in server.translate_requests]

    assert statuses == [200, 200, 456]
    assert outcome.failure is TranslationFailure.QUOTA_EXCEEDED
    assert outcome.notice == "DeepL quota exhausted: showing English."
    assert set(outcome.translations) == {"2403.00000", "2403.00001"}
    assert outcome.billed_characters == 2 * per_paper
    assert len(cache.data) == 4  # both paid-for papers stored as they arrived


# -- cache and deduplication --------------------------------------------------------------------------------


async def test_second_run_bills_nothing(fake: FakeDeepL, sleep: RecordingSleep) -> None:
    cache = InMemoryTranslationCache()
    papers = [paper(n) for n in range(5)]
    first = await make(fake, sleep, cache=cache).translate(papers, "KO")
    requests_after_first = len(fake.requests)

    second = await make(fake, sleep, cache=cache).translate(papers, "KO")

    assert first.billed_characters > 0
    assert second.billed_characters == 0
    assert len(fake.requests) == requests_after_first
    assert second.translations == first.translations
    assert all(key.options == OPTIONS_TAG and key.language == "KO" for key in cache.data)
    # another language is another key
    third = await make(fake, sleep, cache=cache).translate(papers[:1], "FR")
    assert third.billed_characters > 0


async def test_same_paper_requested_three_times_is_translated_once(
    fake: FakeDeepL, sleep: RecordingSleep
) -> None:
    one = paper(7)
    twin_title = TranslationRequest("2403.99999", one.title, "A different abstract.", None)
    outcome = await make(fake, sleep).translate([one, one, one, twin_title], "IT")

    sent = [text for r in fake.translate_requests for text in r.texts]
    assert len(fake.translate_requests) == 1
    assert len(sent) == 3  # one title (shared by both papers), two abstracts
    assert len(sent) == len(set(sent))
    assert set(outcome.translations) == {one.paper_id, "2403.99999"}
    assert outcome.translations["2403.99999"].summary == ""
    assert outcome.translations["2403.99999"].title == outcome.translations[one.paper_id].title


async def test_billed_characters_are_title_plus_abstract(fake: FakeDeepL, sleep: RecordingSleep) -> None:
    papers = [paper(n) for n in range(12)]
    papers.append(
        TranslationRequest(
            "2403.50000",
            r"Bounds & <tricks> for $\alpha$-graphs",
            r"Intro & more. The core: \(x\) < \[y\] | _a_ *b* [c]. End.",
            (14, 51),
        )
    )
    assert all(p.summary_span is not None for p in papers)
    outcome = await make(fake, sleep).translate(papers, "PL")

    expected = sum(len(p.title) + len(p.abstract) for p in papers)
    assert outcome.billed_characters == expected  # the summary adds nothing
    assert fake.billed_characters == expected
    assert all(t.summary for t in outcome.translations.values())


# -- content ------------------------------------------------------------------------------------------------


async def test_latex_returned_verbatim(fake: FakeDeepL, sleep: RecordingSleep) -> None:
    abstract = r"We bound $\alpha$ and \(x_i\) by \[y^2\]. Also $$\sum_k k$$ holds."
    request = TranslationRequest("2403.00042", r"On $\alpha$ \(x\)", abstract, (0, abstract.index(" Also")))
    outcome = await make(fake, sleep).translate([request], "ZH-HANS")

    t = outcome.translations["2403.00042"]
    assert t.abstract == r"[ZH-HANS] WE BOUND $\alpha$ AND \(x_i\) BY \[y^2\]. ALSO $$\sum_k k$$ HOLDS."
    assert t.title == r"[ZH-HANS] ON $\alpha$ \(x\)"
    assert t.summary == r"WE BOUND $\alpha$ AND \(x_i\) BY \[y^2\]."


async def test_markdown_and_xml_characters_survive(fake: FakeDeepL, sleep: RecordingSleep) -> None:
    title = "A & B < C > D | e_f *g* [h]"
    abstract = "Use <tags> & pipes | under_scores *stars* [brackets]. Done."
    request = TranslationRequest("2403.00043", title, abstract, (0, abstract.index(" Done")))
    outcome = await make(fake, sleep).translate([request], "NL")

    t = outcome.translations["2403.00043"]
    assert t.title == "[NL] " + upper(title)
    assert t.abstract == "[NL] " + upper(abstract)
    assert t.summary == upper("Use <tags> & pipes | under_scores *stars* [brackets].")
    assert "&amp;" in fake.translate_requests[0].texts[0]  # sent escaped


async def test_lost_marker_falls_back_to_the_corresponding_sentence(sleep: RecordingSleep) -> None:
    request = paper(3)
    with FakeDeepL(auth_key=KEY, lose_tags=["s"]) as server:
        outcome = await make(server, sleep).translate([request], "DE")
    assert request.summary_span is not None
    start, end = request.summary_span
    assert request.abstract[start:end] == "We prove a tight bound for case 3 with $O(n)$ work."
    assert (
        outcome.translations[request.paper_id].summary
        == "WE PROVE A TIGHT BOUND FOR CASE 3 WITH $O(n)$ WORK."
    )


# -- off switches -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["EN-US", "EN-GB"])
async def test_english_target_sends_nothing(fake: FakeDeepL, sleep: RecordingSleep, language: str) -> None:
    outcome = await make(fake, sleep).translate([paper(1)], language)
    assert fake.requests == []
    assert outcome.translations == {}
    assert outcome.failure is None
    assert outcome.notice is None


async def test_no_key_sends_nothing_and_says_so(fake: FakeDeepL, sleep: RecordingSleep) -> None:
    translator = make(fake, sleep, auth_key=None)
    outcome = await translator.translate([paper(1)], "DE")
    assert fake.requests == []
    assert outcome.translations == {}
    assert outcome.failure is None
    assert outcome.notice is not None
    assert "off" in outcome.notice
    assert await translator.usage() is None


async def test_usage(fake: FakeDeepL, sleep: RecordingSleep) -> None:
    translator = make(fake, sleep)
    assert await translator.usage() == (0, 500_000)
    outcome = await translator.translate([paper(1)], "DE")
    assert await translator.usage() == (outcome.billed_characters, 500_000)
    fake.fail("/v2/usage", 403)
    assert await translator.usage() is None


# -- secrets ------------------------------------------------------------------------------------------------


async def test_key_never_logged(
    fake: FakeDeepL, sleep: RecordingSleep, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, the deepl library's and urllib3's included
    translator = make(fake, sleep)
    fake.fail("/v2/translate", 429, 500)
    await translator.translate([paper(1)], "DE")
    fake.fail("/v2/translate", 403)
    await translator.translate([paper(2)], "DE")
    await translator.usage()
    await make(fake, sleep, auth_key="wrong").translate([paper(3)], "DE")

    assert caplog.records  # something was logged
    assert KEY not in caplog.text
    assert all(KEY not in record.getMessage() for record in caplog.records)
    assert KEY not in repr(translator)


async def test_cache_key_hashes_the_exact_text_sent(fake: FakeDeepL, sleep: RecordingSleep) -> None:
    cache = InMemoryTranslationCache()
    request = paper(1)
    await make(fake, sleep, cache=cache).translate([request], "DE")

    sent_abstract = protect(request.abstract, summary_span=request.summary_span)
    assert sent_abstract in fake.translate_requests[0].texts
    key = CacheKey(hashlib.sha256(sent_abstract.encode()).hexdigest(), "DE", OPTIONS_TAG)
    assert cache.data[key].startswith("[DE] ")
