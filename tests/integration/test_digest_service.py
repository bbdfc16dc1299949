"""DigestService (harvest -> store -> digest -> translate) on SQLite and PostgreSQL, with the real ``arxiv``
and ``deepl`` clients against the fakes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from arxiv_digest.bot.digests import DigestService, HarvestStatus
from arxiv_digest.papers.arxiv_client import ArxivClient
from arxiv_digest.papers.models import AnnounceType, DigestOptions
from arxiv_digest.papers.ratelimit import RequestGate
from arxiv_digest.papers.taxonomy import load_taxonomy
from arxiv_digest.papers.translate import PaperTranslator
from arxiv_digest.storage.db import Database
from arxiv_digest.storage.repositories import AnnouncementRepository, TranslationCacheRepository
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.deepl_server import FakeDeepL

KEY = "service-test-key:fx"
CATS = ("cs.LG", "cs.AI", "cs.CL", "stat.ML")
DAY = date(2026, 9, 24)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 9, 24, 6, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


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
    restarted = DigestService(
        db=service.db,
        arxiv=service.arxiv,
        translator=service.translator,
        taxonomy=service.taxonomy,
        clock=service.clock,
        daily_budget=billed + billed // 2,
    )
    assert restarted.billed_characters == 0  # since this process started
    assert await restarted.billed_today() == billed  # since midnight UTC, whoever billed it
    digest = await restarted.digest(DigestOptions(categories=CATS), language="DE", announced_on=DAY)
    assert deepl_fake.billed_characters == billed  # nothing sent: it would pass the budget
    assert all(e.translation is None for e in digest.entries)
    assert digest.notices  # the chat is told why it reads English
    # the next UTC day starts from zero
    clock = service.clock
    assert isinstance(clock, Clock)
    clock.now += timedelta(days=1)
    assert await restarted.billed_today() == 0
    await restarted.digest(DigestOptions(categories=CATS), language="DE", announced_on=DAY)
    assert deepl_fake.billed_characters == 2 * billed
    assert await restarted.billed_today() == billed


async def test_quota_gives_english_with_a_localized_notice(
    service: DigestService, deepl_fake: FakeDeepL
) -> None:
    await service.harvest(CATS)
    deepl_fake.fail("/v2/translate", 456)
    digest = await service.digest(DigestOptions(categories=CATS), language="ZH-HANS", announced_on=DAY)
    assert digest.notices == ("DeepL 额度已用尽：显示英文原文",)
    assert all(e.translation is None for e in digest.entries)
    assert len(digest.entries) == 3  # replacements off by default for subscriptions


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
