"""DigestService (harvest -> store -> digest -> translate) on SQLite and PostgreSQL, with the real ``arxiv``
and ``deepl`` clients against the fakes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from arxiv_digest.bot.digests import DigestService, HarvestStatus, failure_notice
from arxiv_digest.papers.arxiv_client import ArxivClient
from arxiv_digest.papers.errors import TranslationFailure
from arxiv_digest.papers.models import AnnounceType, DigestOptions, Paper
from arxiv_digest.papers.ratelimit import RequestGate
from arxiv_digest.papers.taxonomy import load_taxonomy
from arxiv_digest.papers.translate import PaperTranslator
from arxiv_digest.storage.db import Database
from arxiv_digest.storage.repositories import AnnouncementRepository, TranslationCacheRepository
from tests.doubles import Clock
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.deepl_server import FakeDeepL

KEY = "service-test-key:fx"
CATS = ("cs.LG", "cs.AI", "cs.CL", "stat.ML")
DAY = date(2026, 9, 24)


async def _no_sleep(_: float) -> None:
    return None


@pytest.fixture
def arxiv_fake() -> Iterator[FakeArxiv]:
    with FakeArxiv() as fake:
        yield fake


@pytest.fixture
def deepl_fake() -> Iterator[FakeDeepL]:
    with FakeDeepL(auth_key=KEY) as fake:
        yield fake


@pytest.fixture
async def service(
    database: Database, arxiv_fake: FakeArxiv, deepl_fake: FakeDeepL
) -> AsyncIterator[DigestService]:
    client = ArxivClient(
        rss_base_url=arxiv_fake.rss_base_url,
        api_url=arxiv_fake.api_url,
        gate=RequestGate(min_interval=0),
        timeout=5,
        sleep=_no_sleep,
    )
    translator = PaperTranslator(
        auth_key=KEY, cache=TranslationCacheRepository(database), server_url=deepl_fake.url, sleep=_no_sleep
    )
    yield DigestService(
        db=database, arxiv=client, translator=translator, taxonomy=load_taxonomy(), clock=Clock()
    )
    await client.aclose()
    translator.close()


async def test_fresh_then_stale_then_empty(service: DigestService, arxiv_fake: FakeArxiv) -> None:
    first = await service.harvest(CATS)
    assert first.status is HarvestStatus.FRESH
    assert first.batch.announced_on == DAY
    assert await service.stored_dates() == [DAY]

    second = await service.harvest(CATS)
    assert second.status is HarvestStatus.STALE  # identical feed: not a quiet day, not re-stored

    arxiv_fake.set_feed("/rss/" + "+".join(CATS), arxiv_fake.empty_feed)
    third = await service.harvest(CATS)
    assert third.status is HarvestStatus.EMPTY
    # nothing overwritten: the stored day is intact
    assert await service.stored_dates() == [DAY]
    async with service.db.session() as session:
        pairs = await AnnouncementRepository(session).for_date(DAY)
    assert {ann.paper.arxiv_id for _, ann in pairs} == {
        "2609.26811",
        "2609.26820",
        "2205.06398",
        "2009.13987",
    }


async def test_digest_dedupes_and_labels(service: DigestService, deepl_fake: FakeDeepL) -> None:
    await service.harvest(CATS)
    options = DigestOptions(categories=CATS, include_replacements=True)
    digest = await service.digest(options, language="ZH-HANS", announced_on=DAY)

    ids = [e.paper.arxiv_id for e in digest.entries]
    assert ids == ["2609.26811", "2609.26820", "2205.06398", "2009.13987"]
    by_id = {e.paper.arxiv_id: e for e in digest.entries}
    assert by_id["2609.26820"].matched_categories == ("cs.LG", "cs.AI")
    assert by_id["2205.06398"].announce_type is AnnounceType.CROSS
    assert by_id["2009.13987"].announce_type is AnnounceType.REPLACE
    assert all(e.translation is not None and e.translation.summary for e in digest.entries)
    assert all(e.summary_en and e.summary_en in e.paper.abstract for e in digest.entries)
    assert deepl_fake.billed_characters == sum(
        len(e.paper.title) + len(e.paper.abstract) for e in digest.entries
    )


async def test_second_digest_and_other_subscriptions_bill_nothing(
    service: DigestService, deepl_fake: FakeDeepL
) -> None:
    await service.harvest(CATS)
    await service.digest(DigestOptions(categories=CATS), language="JA", announced_on=DAY)
    billed = deepl_fake.billed_characters
    assert billed > 0
    # the same papers for other subscriptions (one category, an archive) and again: all from the cache
    await service.digest(DigestOptions(categories=("cs.LG",)), language="JA", announced_on=DAY)
    await service.digest(DigestOptions(categories=("cs",)), language="JA", announced_on=DAY)
    await service.digest(DigestOptions(categories=CATS), language="JA", announced_on=DAY)
    assert deepl_fake.billed_characters == billed
    # another language is billed once more
    await service.digest(DigestOptions(categories=CATS), language="DE", announced_on=DAY)
    assert deepl_fake.billed_characters == 2 * billed


async def test_two_chats_asking_at_once_bill_the_papers_once(
    service: DigestService, deepl_fake: FakeDeepL
) -> None:
    await service.harvest(CATS)
    options = DigestOptions(categories=CATS)
    first, second = await asyncio.gather(
        service.digest(options, language="JA", announced_on=DAY),
        service.digest(options, language="JA", announced_on=DAY),
    )
    assert [e.translation for e in first.entries] == [e.translation for e in second.entries]
    assert all(e.translation is not None for e in first.entries)
    billed = deepl_fake.billed_characters
    await service.digest(options, language="DE", announced_on=DAY)
    assert deepl_fake.billed_characters == 2 * billed  # JA was billed once, like DE


async def test_the_daily_budget_survives_a_restart_and_a_new_day_resets_it(
    service: DigestService, deepl_fake: FakeDeepL
) -> None:
    await service.harvest(CATS)
    await service.digest(DigestOptions(categories=CATS), language="JA", announced_on=DAY)
    billed = deepl_fake.billed_characters
    assert billed > 0
    assert await service.billed_today() == billed
    # a restart: a new service on the same database, its budget short of another language's worth
    restarted = another_service(service, daily_budget=billed + billed // 2)
    assert restarted.billed_characters == 0  # since this process started
    assert await restarted.billed_today() == billed  # since midnight UTC, whoever billed it
    digest = await restarted.digest(DigestOptions(categories=CATS), language="DE", announced_on=DAY)
    # what is left (half a language's worth) translates the first papers, whole, the rest stays English
    costs = [cost(e.paper) for e in digest.entries]
    fits = max(k for k in range(len(costs) + 1) if sum(costs[:k]) <= billed // 2)
    assert 0 < fits < len(costs)
    assert [e.translation is not None for e in digest.entries] == [i < fits for i in range(len(costs))]
    assert digest.notices == (failure_notice(TranslationFailure.BUDGET_EXHAUSTED, "DE"),)
    assert deepl_fake.billed_characters == billed + sum(costs[:fits]) <= billed + billed // 2
    assert await restarted.billed_today() == deepl_fake.billed_characters
    # the next UTC day starts from zero
    clock = service.clock
    assert isinstance(clock, Clock)
    clock.now += timedelta(days=1)
    assert await restarted.billed_today() == 0
    await restarted.digest(DigestOptions(categories=CATS), language="DE", announced_on=DAY)
    assert deepl_fake.billed_characters == 2 * billed  # the rest of DE, nothing twice
    assert await restarted.billed_today() == billed - sum(costs[:fits])


async def test_quota_gives_english_with_a_localized_notice(
    service: DigestService, deepl_fake: FakeDeepL
) -> None:
    await service.harvest(CATS)
    deepl_fake.fail("/v2/translate", 456)
    digest = await service.digest(DigestOptions(categories=CATS), language="ZH-HANS", announced_on=DAY)
    assert digest.notices == ("DeepL 额度已用尽：显示英文原文",)
    assert all(e.translation is None for e in digest.entries)
    assert len(digest.entries) == 3  # replacements off by default for subscriptions
    # smaller requests were tried (halves, down to one paper), none billed
    assert [len(r.texts) // 2 for r in deepl_fake.translate_requests] == [3, 2, 1]
    assert deepl_fake.billed_characters == 0


async def test_a_quota_covering_one_paper_translates_that_one(
    service: DigestService, deepl_fake: FakeDeepL
) -> None:
    await service.harvest(CATS)
    options = DigestOptions(categories=CATS)
    english = await service.digest(options, language="EN-US", announced_on=DAY)
    deepl_fake.character_limit = cost(english.entries[0].paper) + 5
    digest = await service.digest(options, language="ZH-HANS", announced_on=DAY)
    assert [e.translation is not None for e in digest.entries] == [True, False, False]
    assert digest.notices == ("DeepL 额度已用尽：显示英文原文",)
    assert all(r.status == 200 for r in deepl_fake.translate_requests)  # the quota was known up front
    assert await service.billed_today() == deepl_fake.billed_characters == cost(digest.entries[0].paper)


# -- lost answers and the daily budget -------------------------------------------------------------------


def cost(paper: Paper) -> int:
    return len(paper.title) + len(paper.abstract)


def another_service(service: DigestService, **options: Any) -> DigestService:
    """A second ``DigestService`` over the same database, clients and clock (a restart, or other options)."""
    return DigestService(
        db=service.db,
        arxiv=service.arxiv,
        translator=service.translator,
        taxonomy=service.taxonomy,
        clock=service.clock,
        **options,
    )


def slow_service(service: DigestService, deepl_fake: FakeDeepL, **options: Any) -> DigestService:
    """``service`` with a translator that gives up on an answer after 1 s (the fake answers in ms)."""
    translator = PaperTranslator(
        auth_key=KEY,
        cache=TranslationCacheRepository(service.db),
        server_url=deepl_fake.url,
        sleep=_no_sleep,
        read_timeout=1.0,
        read_timeout_per_kib=0.0,
        max_read_timeout=1.0,
    )
    return DigestService(
        db=service.db,
        arxiv=service.arxiv,
        translator=translator,
        taxonomy=service.taxonomy,
        clock=service.clock,
        **options,
    )


async def test_a_lost_answer_is_counted_against_the_daily_budget(
    service: DigestService, deepl_fake: FakeDeepL
) -> None:
    await service.harvest(CATS)
    slow = slow_service(service, deepl_fake)
    deepl_fake.withhold(1)  # billed by the server, the answer never arrives
    options = DigestOptions(categories=CATS)
    digest = await slow.digest(options, language="JA", announced_on=DAY)
    slow.translator.close()

    assert all(e.translation is not None for e in digest.entries)
    assert digest.notices == ()
    total = sum(cost(e.paper) for e in digest.entries)
    sizes = [len(r.texts) // 2 for r in deepl_fake.translate_requests]
    assert sizes == [3, 2, 1]  # the lost request is retried smaller, never as it was
    assert deepl_fake.billed_characters == 2 * total  # billed once lost, once answered
    assert slow.billed_characters == total  # confirmed by DeepL
    assert slow.uncertain_characters == total  # sent without an answer
    assert await slow.billed_today() == 2 * total >= deepl_fake.billed_characters

    # the cache still means a second run bills nothing and counts nothing
    await slow.digest(options, language="JA", announced_on=DAY)
    await service.digest(options, language="JA", announced_on=DAY)
    assert len(deepl_fake.translate_requests) == 3
    assert await slow.billed_today() == 2 * total


async def test_a_lost_answer_cannot_push_the_day_past_its_budget(
    service: DigestService, deepl_fake: FakeDeepL
) -> None:
    await service.harvest(CATS)
    english = await service.digest(DigestOptions(categories=CATS), language="EN-US", announced_on=DAY)
    papers = [e.paper for e in english.entries]
    budget = sum(cost(p) for p in papers)  # every paper once
    slow = slow_service(service, deepl_fake, daily_budget=budget)
    deepl_fake.withhold(1)  # the whole budget sent, billed, the answer lost
    _, outcome = await slow.translate(papers, "JA")
    slow.translator.close()

    assert outcome.translations == {}
    assert outcome.failure is TranslationFailure.BUDGET_EXHAUSTED  # nothing left for a retry
    assert len(deepl_fake.translate_requests) == 1
    assert await slow.billed_today() == budget >= deepl_fake.billed_characters


async def test_a_budget_covering_two_of_five_papers_translates_those_two(
    service: DigestService, deepl_fake: FakeDeepL
) -> None:
    papers = [
        Paper(f"2609.{n:05d}", f"Paper number {n}", f"We study problem {n}. We solve it. It works.")
        for n in range(5)
    ]
    budget = cost(papers[0]) + cost(papers[1]) + len(papers[2].title)  # not a whole third paper
    limited = another_service(service, daily_budget=budget)
    _, outcome = await limited.translate(papers, "DE")  # the scheduler's call: all papers of a language
    assert set(outcome.translations) == {"2609.00000", "2609.00001"}
    assert outcome.translations["2609.00001"].title == "[DE] PAPER NUMBER 1"
    assert outcome.failure is TranslationFailure.BUDGET_EXHAUSTED
    assert [len(r.texts) for r in deepl_fake.translate_requests] == [4]  # two whole papers
    assert await limited.billed_today() == deepl_fake.billed_characters == budget - len(papers[2].title)

    # a /paper lookup with the budget used up: English with the notice, nothing sent
    entry, notices = await limited.paper("arXiv:1605.08386", language="DE")
    assert entry.translation is None
    assert notices == (failure_notice(TranslationFailure.BUDGET_EXHAUSTED, "DE"),)
    assert len(deepl_fake.translate_requests) == 1


async def test_two_languages_at_once_share_one_budget(service: DigestService, deepl_fake: FakeDeepL) -> None:
    papers = [
        Paper(f"2609.{n:05d}", f"Paper number {n}", f"We study problem {n}. We solve it. It works.")
        for n in range(3)
    ]
    budget = sum(cost(p) for p in papers)  # one language's worth
    deepl_fake.delay = 0.3  # both calls are in flight together unless one waits for the other
    limited = another_service(service, daily_budget=budget)
    (_, de), (_, ja) = await asyncio.gather(limited.translate(papers, "DE"), limited.translate(papers, "JA"))
    assert sorted([len(de.translations), len(ja.translations)]) == [0, 3]
    assert deepl_fake.billed_characters == budget
    assert await limited.billed_today() == budget


async def test_fresh_day_does_not_refetch_within_max_age(
    service: DigestService, arxiv_fake: FakeArxiv
) -> None:
    assert await service.fresh_day(CATS, max_age=timedelta(minutes=15)) == DAY
    assert await service.fresh_day(CATS, max_age=timedelta(minutes=15)) == DAY
    assert len(arxiv_fake.feed_requests) == 1
    clock = service.clock
    assert isinstance(clock, Clock)
    clock.now += timedelta(minutes=16)
    assert await service.fresh_day(CATS, max_age=timedelta(minutes=15)) == DAY
    assert len(arxiv_fake.feed_requests) == 2


async def test_paper_lookup_stores_and_translates(service: DigestService, arxiv_fake: FakeArxiv) -> None:
    entry, notices = await service.paper("arXiv:1605.08386", language="ZH-HANS")
    assert notices == ()
    assert entry.paper.arxiv_id == "1605.08386"
    assert entry.translation is not None
    assert entry.translation.title.startswith("[ZH-HANS] ")
    requests = len(arxiv_fake.api_requests)
    again, _ = await service.paper("1605.08386", language="ZH-HANS")
    assert again.paper == entry.paper
    assert len(arxiv_fake.api_requests) == requests  # served from storage
