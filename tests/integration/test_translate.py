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


def cost(request: TranslationRequest) -> int:
    """Characters DeepL bills for a paper: title and abstract (the markup adds none)."""
    return len(request.title) + len(request.abstract)


# -- batching -----------------------------------------------------------------------------------------------


async def test_requests_hold_ten_papers_by_default(fake: FakeDeepL, sleep: RecordingSleep) -> None:
    # smaller than DeepL's 50 texts: a request whose answer is lost costs at most ten papers
    papers = [paper(n) for n in range(30)]
    outcome = await make(fake, sleep).translate(papers, "JA")
    assert len(outcome.translations) == 30
    assert [len(r.texts) for r in fake.translate_requests] == [20, 20, 20]


async def test_more_than_50_texts_are_split(fake: FakeDeepL, sleep: RecordingSleep) -> None:
    papers = [paper(n) for n in range(30)]  # 60 texts
    outcome = await make(fake, sleep, max_texts=50).translate(papers, "JA")

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
    ("status", "failure", "notice", "sizes"),
    [
        # a 456 is retried with smaller requests (halves, down to one paper), never with the same one
        (456, TranslationFailure.QUOTA_EXCEEDED, "DeepL quota exhausted: showing English.", [4, 2]),
        (403, TranslationFailure.AUTH_FAILED, "DeepL rejected the API key: showing English.", [4]),
    ],
)
async def test_quota_and_auth_are_not_retried(
    fake: FakeDeepL,
    sleep: RecordingSleep,
    status: int,
    failure: TranslationFailure,
    notice: str,
    sizes: list[int],
) -> None:
    fake.fail("/v2/translate", status)
    outcome = await make(fake, sleep).translate([paper(1), paper(2)], "DE")

    assert outcome.failure is failure
    assert outcome.notice == notice
    assert outcome.translations == {}
    assert outcome.billed_characters == 0
    assert outcome.uncertain_characters == 0
    assert [len(r.texts) for r in fake.translate_requests] == sizes
    assert all(r.status == status for r in fake.translate_requests)
    assert fake.billed_characters == 0
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
    assert sleep.delays == [1.0, 2.0]  # the same request again: nothing was sent
    assert outcome.uncertain_characters == 0  # nothing sent, nothing counted


async def test_quota_hit_half_way_keeps_what_was_paid_for(sleep: RecordingSleep) -> None:
    papers = [paper(n) for n in range(3)]
    per_paper = cost(papers[0])
    cache = InMemoryTranslationCache()
    with FakeDeepL(auth_key=KEY, character_limit=2 * per_paper) as server:
        translator = make(server, sleep, cache=cache, max_texts=2, check_quota=False)
        outcome = await translator.translate(papers, "ES")
        statuses = [r.status for r in server.translate_requests]

    assert statuses == [200, 200, 456]
    assert outcome.failure is TranslationFailure.QUOTA_EXCEEDED
    assert outcome.notice == "DeepL quota exhausted: showing English."
    assert set(outcome.translations) == {"2403.00000", "2403.00001"}
    assert outcome.billed_characters == 2 * per_paper
    assert len(cache.data) == 4  # both paid-for papers stored as they arrived


async def test_456_part_way_keeps_the_papers_that_fit(sleep: RecordingSleep) -> None:
    """One request of 8 papers passes the quota: halves are tried until the papers that fit are in."""
    papers = [paper(n) for n in range(8)]
    limit = sum(cost(p) for p in papers[:3]) + 10
    with FakeDeepL(auth_key=KEY, character_limit=limit) as server:
        outcome = await make(server, sleep, check_quota=False).translate(papers, "ES")
        requests = server.translate_requests
        billed = server.billed_characters

    # papers per request: 8 (456), 4 (456), 2 (ok), 2 (456), 1 (ok), 1 (456: the call stops there)
    assert [len(r.texts) // 2 for r in requests] == [8, 4, 2, 2, 1, 1]
    assert [r.status for r in requests] == [456, 456, 200, 456, 200, 456]
    assert set(outcome.translations) == {p.paper_id for p in papers[:3]}
    assert outcome.failure is TranslationFailure.QUOTA_EXCEEDED
    assert outcome.billed_characters == billed == sum(cost(p) for p in papers[:3])
    assert sleep.delays == []


async def test_known_quota_translates_what_it_covers_without_a_456(sleep: RecordingSleep) -> None:
    papers = [paper(n) for n in range(5)]
    limit = cost(papers[0]) + cost(papers[1]) + len(papers[2].title) + 5  # 2 papers and a title
    with FakeDeepL(auth_key=KEY, character_limit=limit) as server:
        outcome = await make(server, sleep).translate(papers, "ES")
        paths = [r.path for r in server.requests]
        requests = server.translate_requests

    assert paths == ["/v2/usage", "/v2/translate"]  # the account's quota asked once, up front
    assert [r.status for r in requests] == [200]
    assert requests[0].texts == [protect(p.title, summary_span=None) for p in papers[:1]] + [
        protect(papers[0].abstract, summary_span=papers[0].summary_span),
        protect(papers[1].title, summary_span=None),
        protect(papers[1].abstract, summary_span=papers[1].summary_span),
    ]
    assert set(outcome.translations) == {p.paper_id for p in papers[:2]}
    assert outcome.failure is TranslationFailure.QUOTA_EXCEEDED
    assert outcome.notice == "DeepL quota exhausted: showing English."


async def test_one_paper_does_not_ask_for_the_quota(fake: FakeDeepL, sleep: RecordingSleep) -> None:
    await make(fake, sleep).translate([paper(1)], "ES")
    assert [r.path for r in fake.requests] == ["/v2/translate"]


# -- the daily budget ---------------------------------------------------------------------------------------


async def test_budget_covering_two_of_five_papers_translates_exactly_those(
    fake: FakeDeepL, sleep: RecordingSleep
) -> None:
    papers = [paper(n) for n in range(5)]
    budget = cost(papers[0]) + cost(papers[1]) + len(papers[2].title) + 10  # not a whole third paper
    outcome = await make(fake, sleep).translate(papers, "FR", budget=budget)

    assert set(outcome.translations) == {"2403.00000", "2403.00001"}
    assert outcome.translations["2403.00001"].title == "[FR] PAPER NUMBER 1"
    assert outcome.failure is TranslationFailure.BUDGET_EXHAUSTED
    assert outcome.notice == "Daily translation budget used up: showing English."
    assert [len(r.texts) for r in fake.translate_requests] == [4]  # whole papers: no third title
    assert outcome.billed_characters == fake.billed_characters == cost(papers[0]) + cost(papers[1])
    assert outcome.counted_characters <= budget


async def test_budget_too_small_for_the_first_paper_sends_nothing(
    fake: FakeDeepL, sleep: RecordingSleep
) -> None:
    papers = [paper(n) for n in range(3)]
    outcome = await make(fake, sleep).translate(papers, "FR", budget=cost(papers[0]) - 1)
    assert fake.translate_requests == []
    assert outcome.translations == {}
    assert outcome.failure is TranslationFailure.BUDGET_EXHAUSTED


# -- timeouts and lost answers ------------------------------------------------------------------------------


def test_request_timeout_is_sized_to_the_body() -> None:
    cache = InMemoryTranslationCache()
    default = PaperTranslator(auth_key=KEY, cache=cache)
    assert default.request_timeout(0) == (5.0, 10.0)
    assert default.request_timeout(4 * 1024) == (5.0, 11.0)
    assert default.request_timeout(120 * 1024) == (5.0, 40.0)  # a full request
    assert default.request_timeout(10 * 1024 * 1024) == (5.0, 60.0)  # the ceiling
    custom = PaperTranslator(
        auth_key=KEY,
        cache=cache,
        connect_timeout=2,
        read_timeout=3,
        read_timeout_per_kib=0.5,
        max_read_timeout=8,
    )
    assert custom.request_timeout(2048) == (2, 4.0)
    assert custom.request_timeout(1 << 20) == (2, 8)
    with pytest.raises(ValueError, match="max_read_timeout"):
        PaperTranslator(auth_key=KEY, cache=cache, read_timeout=10, max_read_timeout=5)
    with pytest.raises(ValueError, match="positive"):
        PaperTranslator(auth_key=KEY, cache=cache, read_timeout=0)


@pytest.mark.parametrize(("per_kib", "answered"), [(0.25, True), (0.0, False)])
async def test_a_slow_answer_within_the_sized_timeout_arrives(
    sleep: RecordingSleep, per_kib: float, answered: bool
) -> None:
    """The fake answers after 0.1 s per KiB (about 0.8 s here); the read timeout is 0.2 s plus ``per_kib``
    per KiB: sized to the request it waits long enough, without the allowance it gives up."""
    papers = [paper(n, abstract=f"Study {n}. " + "Words and more words. " * 90) for n in range(4)]
    with FakeDeepL(auth_key=KEY, delay_per_kib=0.1) as server:
        translator = make(
            server, sleep, read_timeout=0.2, read_timeout_per_kib=per_kib, max_read_timeout=5, retries=0
        )
        outcome = await translator.translate(papers, "IT")
        requests = server.translate_requests
        billed = server.billed_characters

    assert len(requests) == 1
    assert requests[0].body_bytes > 6 * 1024
    total = sum(cost(p) for p in papers)
    assert billed == total  # the server did the work either way
    if answered:
        assert outcome.failure is None
        assert len(outcome.translations) == 4
        assert (outcome.billed_characters, outcome.uncertain_characters) == (total, 0)
    else:
        assert outcome.failure is TranslationFailure.UNAVAILABLE
        assert outcome.translations == {}
        assert (outcome.billed_characters, outcome.uncertain_characters) == (0, total)
    assert outcome.counted_characters >= billed


def short_timeouts() -> dict[str, Any]:
    """Give up on an answer after 1 s: far longer than the fake takes to answer, even on a busy machine."""
    return {"read_timeout": 1.0, "read_timeout_per_kib": 0.0, "max_read_timeout": 1.0}


@pytest.mark.parametrize(
    ("billed", "hold"),
    [
        (True, 30.0),  # billed, then no answer before the client's timeout
        (True, None),  # billed, then the connection closed without an answer
        (False, 30.0),  # the official mock's no-response: dropped unbilled, the client cannot know
    ],
    ids=["timeout", "dropped", "unbilled"],
)
async def test_a_lost_answer_is_counted_and_its_papers_retried_in_halves(
    fake: FakeDeepL, sleep: RecordingSleep, billed: bool, hold: float | None
) -> None:
    papers = [paper(n) for n in range(30)]  # 25 papers then 5, by max_texts
    cache = InMemoryTranslationCache()
    fake.withhold(1, billed=billed, hold=hold)
    outcome = await make(fake, sleep, cache=cache, max_texts=50, **short_timeouts()).translate(papers, "JA")

    requests = fake.translate_requests
    # the lost request (25 papers) is never sent again: its halves are, and nothing larger after it
    assert [len(r.texts) // 2 for r in requests] == [25, 13, 12, 5]
    assert [r.answered for r in requests] == [False, True, True, True]
    assert sleep.delays == [1.0]
    lost = sum(cost(p) for p in papers[:25])
    total = sum(cost(p) for p in papers)
    assert outcome.failure is None
    assert set(outcome.translations) == {p.paper_id for p in papers}
    assert outcome.billed_characters == total  # confirmed by DeepL
    assert outcome.uncertain_characters == lost  # sent, answer lost: counted as billed
    assert fake.billed_characters == total + (lost if billed else 0)
    assert fake.unanswered_billed_characters == (lost if billed else 0)
    assert outcome.counted_characters >= fake.billed_characters

    # the cache still means a second run bills nothing
    again = await make(fake, sleep, cache=cache, max_texts=50, **short_timeouts()).translate(papers, "JA")
    assert len(fake.translate_requests) == 4
    assert (again.billed_characters, again.uncertain_characters) == (0, 0)
    assert again.translations == outcome.translations


async def test_retries_after_a_lost_answer_never_pass_the_budget(
    fake: FakeDeepL, sleep: RecordingSleep
) -> None:
    papers = [paper(n) for n in range(30)]
    budget = sum(cost(p) for p in papers)  # enough for every paper once
    fake.withhold(1)  # the first request (25 papers) is billed, its answer lost
    outcome = await make(fake, sleep, max_texts=50, **short_timeouts()).translate(papers, "JA", budget=budget)

    lost = sum(cost(p) for p in papers[:25])
    fits = max(k for k in range(31) if sum(cost(p) for p in papers[:k]) <= budget - lost)
    assert 0 < fits < 25
    assert set(outcome.translations) == {p.paper_id for p in papers[:fits]}  # the first ones, whole
    assert outcome.failure is TranslationFailure.BUDGET_EXHAUSTED
    assert outcome.uncertain_characters == lost
    assert outcome.counted_characters <= budget
    assert fake.billed_characters <= budget
    assert outcome.counted_characters >= fake.billed_characters


async def test_repeated_lost_answers_shrink_the_requests_then_give_up(
    fake: FakeDeepL, sleep: RecordingSleep
) -> None:
    papers = [paper(n) for n in range(8)]
    fake.withhold(10, hold=None)
    outcome = await make(fake, sleep, retries=3, **short_timeouts()).translate(papers, "JA")

    sizes = [len(r.texts) // 2 for r in fake.translate_requests]
    assert sizes == [8, 4, 2, 1]  # retries + 1 lost answers, each request half the last
    assert sleep.delays == [1.0, 2.0, 4.0]
    assert outcome.failure is TranslationFailure.UNAVAILABLE
    assert outcome.translations == {}
    assert outcome.billed_characters == 0
    expected = sum(sum(cost(p) for p in papers[:n]) for n in sizes)
    assert outcome.uncertain_characters == expected == fake.billed_characters
    # the bound: the first request plus at most ``retries`` halves of it
    assert outcome.uncertain_characters <= sum(cost(p) for p in papers) * (1 + 3 / 2)


async def test_a_lost_usage_answer_is_retried(fake: FakeDeepL, sleep: RecordingSleep) -> None:
    fake.withhold(1, path="/v2/usage", billed=False, hold=None)
    assert await make(fake, sleep, **short_timeouts()).usage() == (0, 500_000)
    assert sleep.delays == [1.0]


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
