"""Domain models. Plain frozen dataclasses; timezone-aware datetimes; no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class AnnounceType(StrEnum):
    """The ``<arxiv:announce_type>`` of an RSS item."""

    NEW = "new"
    CROSS = "cross"
    REPLACE = "replace"
    REPLACE_CROSS = "replace-cross"

    @property
    def is_cross(self) -> bool:
        return self in (AnnounceType.CROSS, AnnounceType.REPLACE_CROSS)

    @property
    def is_replacement(self) -> bool:
        return self in (AnnounceType.REPLACE, AnnounceType.REPLACE_CROSS)


@dataclass(frozen=True, slots=True)
class Paper:
    """One arXiv paper. ``arxiv_id`` is canonical and version-less (``2403.19243``, ``hep-th/9901001``)."""

    arxiv_id: str
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()  # primary first when known
    version: int | None = None
    primary_category: str | None = None
    comment: str | None = None
    journal_ref: str | None = None
    doi: str | None = None
    published: datetime | None = None  # first version submitted (API) / announced (feed)
    updated: datetime | None = None

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}"

    @property
    def versioned_id(self) -> str:
        return f"{self.arxiv_id}v{self.version}" if self.version else self.arxiv_id


@dataclass(frozen=True, slots=True)
class Announcement:
    """A paper as announced on one day in one feed."""

    paper: Paper
    announce_type: AnnounceType
    announced_on: date


@dataclass(frozen=True, slots=True)
class AnnouncementBatch:
    """What one feed request returned.

    ``announced_on`` is the feed's announcement date (US Eastern), None for an empty feed.
    ``fingerprint`` identifies the content (ids + versions + types): an unchanged feed is recognised as stale.
    ``source`` is "rss" or "api" (the fallback, an approximation of the announcement).
    """

    categories: tuple[str, ...]
    announced_on: date | None
    announcements: tuple[Announcement, ...]
    fingerprint: str
    source: str = "rss"

    @property
    def is_empty(self) -> bool:
        return not self.announcements


@dataclass(frozen=True, slots=True)
class PaperTranslation:
    """A paper's title, abstract and one-sentence summary in ``language`` (a DeepL target code)."""

    language: str
    title: str
    abstract: str
    summary: str


@dataclass(frozen=True, slots=True)
class DigestEntry:
    paper: Paper
    announce_type: AnnounceType
    matched_categories: tuple[str, ...]  # the subscribed categories this paper was announced in
    summary_en: str
    translation: PaperTranslation | None = None  # None: English only


@dataclass(frozen=True, slots=True)
class DigestOptions:
    """A subscription's choices. ``keywords`` are plain words/phrases, matched case-insensitively."""

    categories: tuple[str, ...]
    include_cross: bool = True
    include_replacements: bool = False
    keywords: tuple[str, ...] = ()
    max_papers: int | None = None


@dataclass(frozen=True, slots=True)
class Digest:
    categories: tuple[str, ...]
    announced_on: date | None
    language: str  # target language code; "EN" variants mean no translation
    entries: tuple[DigestEntry, ...]
    omitted: int = 0  # "…and K more" after the cap
    notices: tuple[str, ...] = field(default=())  # one-line notices (e.g. translation unavailable)

    @property
    def counts(self) -> dict[str, int]:
        new = sum(1 for e in self.entries if e.announce_type is AnnounceType.NEW)
        cross = sum(1 for e in self.entries if e.announce_type is AnnounceType.CROSS)
        replaced = sum(1 for e in self.entries if e.announce_type.is_replacement)
        return {"new": new, "cross": cross, "replace": replaced}
