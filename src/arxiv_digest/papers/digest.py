"""Digest building: from one day's announcements and a subscription's options to an ordered digest.

- Papers are deduplicated across categories by version-less id; every subscribed category the paper was
  announced in (or matches) is kept in ``matched_categories``.
- The announce type is relative to the subscription: a paper whose primary category is not among the
  subscribed ones is a cross-list for this reader, even if the combined feed called it "new".
- Cross-lists and replacements are filtered by the options; keywords are plain words or phrases matched
  case-insensitively, on whole words, in the title and abstract (no user text ever becomes a regular
  expression).
- Order: new papers, then cross-lists, then replacements, each in feed order. ``max_papers`` caps the list
  and the rest is counted in ``omitted``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from .models import Announcement, AnnounceType, Digest, DigestEntry, DigestOptions, Paper, PaperTranslation

CategoryMatcher = Callable[[str, Sequence[str]], bool]

_WORD = re.compile(r"\w+")
MAX_KEYWORD_LENGTH = 100


def _exact_match(subscribed: str, categories: Sequence[str]) -> bool:
    return subscribed in categories


def tokens(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def keyword_matches(keyword: str, text_tokens: Sequence[str]) -> bool:
    """True when the keyword's words appear consecutively in ``text_tokens`` (already case-folded)."""
    needle = tokens(keyword)
    if not needle:
        return False
    n = len(needle)
    first = needle[0]
    return any(tok == first and list(text_tokens[i : i + n]) == needle for i, tok in enumerate(text_tokens))


def matches_keywords(paper: Paper, keywords: Sequence[str]) -> bool:
    if not keywords:
        return True
    text_tokens = tokens(paper.title) + tokens(paper.abstract)
    return any(keyword_matches(k, text_tokens) for k in keywords)


def primary_category(paper: Paper) -> str | None:
    if paper.primary_category:
        return paper.primary_category
    return paper.categories[0] if paper.categories else None


def effective_type(
    announcement: Announcement, subscribed: Sequence[str], matcher: CategoryMatcher = _exact_match
) -> AnnounceType:
    """The announce type as this subscription sees it."""
    primary = primary_category(announcement.paper)
    feed_type = announcement.announce_type
    if primary is None:
        return feed_type
    is_cross = not any(matcher(sub, [primary]) for sub in subscribed)
    if feed_type.is_replacement:
        return AnnounceType.REPLACE_CROSS if is_cross else AnnounceType.REPLACE
    return AnnounceType.CROSS if is_cross else AnnounceType.NEW


@dataclass(frozen=True, slots=True)
class Selection:
    """Papers chosen for a digest, before summaries and translations are attached."""

    announced_on: date | None
    items: tuple[tuple[Announcement, AnnounceType, tuple[str, ...]], ...]
    omitted: int

    @property
    def papers(self) -> tuple[Paper, ...]:
        return tuple(a.paper for a, _, _ in self.items)


_ORDER = {AnnounceType.NEW: 0, AnnounceType.CROSS: 1, AnnounceType.REPLACE: 2, AnnounceType.REPLACE_CROSS: 3}


def select(
    announcements: Iterable[tuple[str, Announcement]] | Iterable[Announcement],
    options: DigestOptions,
    *,
    matcher: CategoryMatcher = _exact_match,
) -> Selection:
    """Choose and order the papers of one announcement day for one subscription.

    ``announcements`` are either plain announcements (one feed) or (category, announcement) pairs as stored
    per category; the same paper may appear several times.
    """
    by_id: dict[str, Announcement] = {}
    cats: dict[str, list[str]] = {}
    order: list[str] = []
    announced_on: date | None = None
    for item in announcements:
        if isinstance(item, tuple):
            category, ann = item
            found = [category]
        else:
            ann = item
            found = []
        pid = ann.paper.arxiv_id
        if announced_on is None or ann.announced_on > announced_on:
            announced_on = ann.announced_on
        if pid not in by_id:
            by_id[pid] = ann
            cats[pid] = []
            order.append(pid)
        elif (ann.paper.version or 0) > (by_id[pid].paper.version or 0):
            by_id[pid] = ann
        for c in found:
            if c not in cats[pid]:
                cats[pid].append(c)

    chosen: list[tuple[Announcement, AnnounceType, tuple[str, ...]]] = []
    for pid in order:
        ann = by_id[pid]
        matched = [s for s in options.categories if s in cats[pid] or matcher(s, ann.paper.categories)]
        if not matched:
            continue
        kind = effective_type(ann, options.categories, matcher)
        if kind.is_cross and not options.include_cross:
            continue
        if kind.is_replacement and not options.include_replacements:
            continue
        if not matches_keywords(ann.paper, options.keywords):
            continue
        chosen.append((ann, kind, tuple(matched)))
    chosen.sort(key=lambda item: _ORDER[item[1]])  # stable: feed order kept within a type
    omitted = 0
    if options.max_papers is not None and len(chosen) > options.max_papers:
        omitted = len(chosen) - options.max_papers
        chosen = chosen[: options.max_papers]
    return Selection(announced_on=announced_on, items=tuple(chosen), omitted=omitted)


def assemble(
    selection: Selection,
    *,
    categories: Sequence[str],
    language: str,
    summaries_en: Mapping[str, str],
    translations: Mapping[str, PaperTranslation],
    notices: Sequence[str] = (),
) -> Digest:
    """Attach English summaries and translations (missing translation = English only) to a selection."""
    entries = tuple(
        DigestEntry(
            paper=ann.paper,
            announce_type=kind,
            matched_categories=matched,
            summary_en=summaries_en.get(ann.paper.arxiv_id, ""),
            translation=translations.get(ann.paper.arxiv_id),
        )
        for ann, kind, matched in selection.items
    )
    return Digest(
        categories=tuple(categories),
        announced_on=selection.announced_on,
        language=language,
        entries=entries,
        omitted=selection.omitted,
        notices=tuple(notices),
    )
