"""The digest pipeline used by the CLI, the scheduler and the chat commands:
harvest a feed into storage, then build a translated digest for one subscription.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from ..formatters.i18n import t
from ..papers.arxiv_client import ArxivClient
from ..papers.digest import Selection, assemble, select
from ..papers.errors import TranslationFailure
from ..papers.ids import parse_arxiv_id
from ..papers.languages import is_english
from ..papers.models import (
    Announcement,
    AnnouncementBatch,
    AnnounceType,
    Digest,
    DigestEntry,
    DigestOptions,
    Paper,
)
from ..papers.schedule import refresh_of
from ..papers.summary import SummaryChoice, choose_summary
from ..papers.taxonomy import Taxonomy
from ..papers.translate import PaperTranslator, TranslationOutcome, TranslationRequest
from ..storage.db import Database
from ..storage.repositories import AnnouncementRepository, PaperRepository, UsageRepository

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=8192)
def _summary(title: str, abstract: str) -> SummaryChoice:
    """``choose_summary``, computed once per paper text (a fan-out builds the same papers for every chat)."""
    return choose_summary(title, abstract)


class HarvestStatus(StrEnum):
    FRESH = "fresh"  # a batch not seen before, now stored
    STALE = "stale"  # identical to the last check: re-check later, not a quiet day
    EMPTY = "empty"  # no items: weekend or holiday, nothing overwritten


@dataclass(frozen=True, slots=True)
class HarvestResult:
    status: HarvestStatus
    feed_key: str
    batch: AnnouncementBatch


def feed_key(categories: Sequence[str]) -> str:
    return "+".join(sorted(set(categories)))


_NOTICE_KEYS = {
    TranslationFailure.QUOTA_EXCEEDED: "notice_quota_exhausted",
    TranslationFailure.BUDGET_EXHAUSTED: "notice_budget_exhausted",
    TranslationFailure.AUTH_FAILED: "notice_key_rejected",
    TranslationFailure.UNAVAILABLE: "notice_unavailable",
}

ENGLISH = "EN-US"


def failure_notice(failure: TranslationFailure, language: str) -> str:
    """The one-line notice shown in a digest whose translation failed, in the digest's language."""
    return t(language, _NOTICE_KEYS[failure])


class DigestService:
    def __init__(
        self,
        *,
        db: Database,
        arxiv: ArxivClient,
        translator: PaperTranslator,
        taxonomy: Taxonomy,
        clock: Callable[[], datetime],
        daily_budget: int | None = None,
    ) -> None:
        self.db = db
        self.arxiv = arxiv
        self.translator = translator
        self.taxonomy = taxonomy
        self.clock = clock
        self.daily_budget = daily_budget
        self.billed_characters = 0  # since start, as DeepL confirmed them
        self.uncertain_characters = 0  # since start, sent on attempts whose answer was lost (maybe billed)
        # one translation at a time per language: two chats asking for the same papers at once (commands run
        # concurrently, beside the scheduled pre-translation) must not both miss the cache and bill twice;
        # under a daily budget one at a time over all languages, so that two cannot share out the same rest
        self._translating: dict[str, asyncio.Lock] = {}
        self._budget_lock = asyncio.Lock()

    def _utc_day(self) -> date:
        return self.clock().astimezone(UTC).date()

    async def billed_today(self) -> int:
        """DeepL characters counted this UTC day, by this process and the ones before it: those DeepL
        confirmed plus those sent on attempts whose answer was lost (DeepL may have billed them). The daily
        budget is checked against this count."""
        async with self.db.session() as session:
            return await UsageRepository(session).billed_on(self._utc_day())

    async def _reserve(self, characters: int) -> None:
        """Today's count in the database, moved as the translator goes: a request's characters before it is
        sent, DeepL's own count once it answers (``PaperTranslator.translate``'s ``reserve``)."""
        if characters:
            async with self.db.session() as session:
                await UsageRepository(session).add(self._utc_day(), characters, now=self.clock())
                await session.commit()

    def _count(self, outcome: TranslationOutcome, language: str) -> None:
        """Keep this process's totals (for /stats); the database's count was kept by ``_reserve``."""
        self.billed_characters += outcome.billed_characters
        self.uncertain_characters += outcome.uncertain_characters
        if outcome.uncertain_characters:  # the translator has warned; this says what the budget counts
            logger.info(
                "DeepL %s: %d characters confirmed and %d sent without an answer, %d counted today",
                language,
                outcome.billed_characters,
                outcome.uncertain_characters,
                outcome.counted_characters,
            )

    async def harvest(self, categories: Sequence[str]) -> HarvestResult:
        """Fetch the current announcement batch for ``categories`` (one request) and store it.

        Raises SourceUnavailable when neither the feed nor the API answers.
        """
        key = feed_key(categories)
        now = self.clock()
        batch = await self.arxiv.fetch_batch(sorted(set(categories)), now=now)
        async with self.db.session() as session:
            repo = AnnouncementRepository(session)
            last = await repo.last_check(key)
            if batch.is_empty:
                await repo.record_check(
                    key, checked_at=now, announced_on=None, fingerprint=batch.fingerprint, count=0
                )
                await session.commit()
                logger.info("harvest %s: empty feed (no announcement today)", key)
                return HarvestResult(HarvestStatus.EMPTY, key, batch)
            if last is not None and last.fingerprint == batch.fingerprint:
                await repo.record_check(
                    key,
                    checked_at=now,
                    announced_on=batch.announced_on,
                    fingerprint=batch.fingerprint,
                    count=len(batch.announcements),
                )
                await session.commit()
                logger.info("harvest %s: feed unchanged since %s (stale)", key, last.checked_at.isoformat())
                return HarvestResult(HarvestStatus.STALE, key, batch)
        batch = await self._with_metadata(batch)
        async with self.db.session() as session:
            await AnnouncementRepository(session).save_batch(
                batch, feed_key=key, checked_at=now, matcher=self.taxonomy.matches
            )
            await session.commit()
        logger.info(
            "harvest %s: %d announcements for %s (%s)",
            key,
            len(batch.announcements),
            batch.announced_on,
            batch.source,
        )
        return HarvestResult(HarvestStatus.FRESH, key, batch)

    async def backfill(self, categories: Sequence[str], day: date) -> int:
        """Store an approximation of ``day``'s batch from the API (the feed only shows the latest day): for
        days missed while the bot was down. Returns the number of announcements stored."""
        now = refresh_of(day) + timedelta(minutes=1)
        batch = await self.arxiv.fetch_latest_via_api(sorted(set(categories)), now=now)
        if batch.is_empty or batch.announced_on != day:
            return 0
        async with self.db.session() as session:
            await AnnouncementRepository(session).save_batch(
                batch,
                feed_key=feed_key(categories) + "@api",
                checked_at=self.clock(),
                matcher=self.taxonomy.matches,
            )
            await session.commit()
        return len(batch.announcements)

    async def _with_metadata(self, batch: AnnouncementBatch) -> AnnouncementBatch:
        """Fill what the feed lacks (primary category, comment) from one batched API call; best effort."""
        if batch.source != "rss" or not batch.announcements:
            return batch
        from dataclasses import replace

        from ..papers.errors import SourceUnavailable

        ids = [a.paper.arxiv_id for a in batch.announcements]
        try:
            found = await self.arxiv.fetch_papers(ids)
        except SourceUnavailable as exc:
            logger.warning("metadata lookup failed, keeping feed metadata: %s", exc)
            return batch
        merged = []
        for ann in batch.announcements:
            api = found.get(ann.paper.arxiv_id)
            if api is None:
                merged.append(ann)
                continue
            paper = replace(
                ann.paper,
                primary_category=api.primary_category or ann.paper.primary_category,
                comment=api.comment or ann.paper.comment,
                journal_ref=ann.paper.journal_ref or api.journal_ref,
                doi=ann.paper.doi or api.doi,
                updated=api.updated or ann.paper.updated,
            )
            merged.append(replace(ann, paper=paper))
        return replace(batch, announcements=tuple(merged))

    async def fresh_day(self, categories: Sequence[str], *, max_age: timedelta) -> date | None:
        """The announcement day to show now for ``categories``: the feed is fetched unless it was checked
        within ``max_age``; an empty feed (weekend) falls back to the latest stored day. None when nothing
        was ever stored. Raises SourceUnavailable when arXiv cannot be reached."""
        async with self.db.session() as session:
            last = await AnnouncementRepository(session).last_check(feed_key(categories))
        if last is None or self.clock() - last.checked_at > max_age:
            result = await self.harvest(categories)
            if not result.batch.is_empty:
                return result.batch.announced_on
        elif last.announced_on is not None:
            return last.announced_on
        stored = await self.stored_dates()
        return stored[-1] if stored else None

    async def stored_dates(self) -> list[date]:
        """Announcement days this installation has harvested, ascending."""
        async with self.db.session() as session:
            return await AnnouncementRepository(session).dates()

    async def announcements(self, announced_on: date) -> list[tuple[str, Announcement]]:
        """Every stored (category, announcement) of the day: load once when serving many chats."""
        async with self.db.session() as session:
            return await AnnouncementRepository(session).for_date(announced_on)

    async def selection(
        self,
        options: DigestOptions,
        announced_on: date,
        *,
        day: Sequence[tuple[str, Announcement]] | None = None,
    ) -> Selection:
        """The day's papers for ``options`` (from ``day``, the day's announcements, when given). Every stored
        announcement of the day is considered, so that an archive (``cs``) or an alias matches papers
        harvested under any feed."""
        pairs = day if day is not None else await self.announcements(announced_on)
        return select(pairs, options, matcher=self.taxonomy.matches)

    @property
    def translation_enabled(self) -> bool:
        return self.translator.enabled

    def effective_language(self, language: str) -> str:
        """``language``, or English when translation is off (no DeepL key)."""
        return language if self.translator.enabled else ENGLISH

    async def digest(
        self,
        options: DigestOptions,
        *,
        language: str,
        announced_on: date,
        day: Sequence[tuple[str, Announcement]] | None = None,
    ) -> Digest:
        """The digest of ``announced_on`` for one subscription, translated into ``language``.

        Without a DeepL key the digest is English (the caller says so once); when DeepL fails the digest is
        in ``language`` with the untranslated papers in English and a one-line notice saying why.
        """
        language = self.effective_language(language)
        sel = await self.selection(options, announced_on, day=day)
        summaries, outcome = await self.translate(sel.papers, language)
        notices = [failure_notice(outcome.failure, language)] if outcome.failure is not None else []
        return assemble(
            sel,
            categories=options.categories,
            language=language,
            summaries_en=summaries,
            translations=outcome.translations,
            notices=notices,
        )

    async def translate(
        self, papers: Sequence[Paper], language: str
    ) -> tuple[dict[str, str], TranslationOutcome]:
        """English summaries by paper id, and the translation of ``papers`` into ``language``.

        With a daily budget, what is left of it today is handed to the translator, which translates whole
        papers in the order given as far as it reaches (and DeepL's quota, when known) and leaves the rest
        in English with a notice. Everything the call counted (confirmed and uncertain characters) is added
        to today's count before the next translation of the language (of any language, under a budget)
        starts.
        """
        summaries: dict[str, str] = {}
        requests: list[TranslationRequest] = []
        for p in papers:
            choice = _summary(p.title, p.abstract)
            summaries[p.arxiv_id] = choice.text
            span = (choice.start, choice.end) if choice.text else None
            requests.append(TranslationRequest(p.arxiv_id, p.title, p.abstract, span))
        if is_english(language) or not requests or not self.translator.enabled:
            return summaries, TranslationOutcome({}, 0, None, None)
        lock = (
            self._budget_lock
            if self.daily_budget is not None
            else self._translating.setdefault(language, asyncio.Lock())
        )
        async with lock:
            budget = None
            if self.daily_budget is not None:
                budget = max(0, self.daily_budget - await self.billed_today())
            outcome = await self.translator.translate(
                requests, language, budget=budget, reserve=self._reserve
            )
            self._count(outcome, language)
        return summaries, outcome

    async def paper(self, text: str, *, language: str) -> tuple[DigestEntry, tuple[str, ...]]:
        """One paper as a digest entry, from storage or arXiv. Raises InvalidArxivId / PaperNotFound /
        SourceUnavailable."""
        parsed = parse_arxiv_id(text)
        async with self.db.session() as session:
            stored = await PaperRepository(session).get(parsed.id)
        if stored is None or (parsed.version is not None and stored.version != parsed.version):
            paper = await self.arxiv.get_paper(parsed.versioned)
            if parsed.version is None:
                async with self.db.session() as session:
                    await PaperRepository(session).upsert_many([paper])
                    await session.commit()
        else:
            paper = stored
        language = self.effective_language(language)
        summaries, outcome = await self.translate([paper], language)
        kind = AnnounceType.REPLACE if (paper.version or 1) > 1 else AnnounceType.NEW
        entry = DigestEntry(
            paper=paper,
            announce_type=kind,
            matched_categories=(),
            summary_en=summaries[paper.arxiv_id],
            translation=outcome.translations.get(paper.arxiv_id),
        )
        notices = (failure_notice(outcome.failure, language),) if outcome.failure is not None else ()
        return entry, notices
