"""Parse arXiv's announcement feeds (``rss.arxiv.org/rss/…`` RSS 2.0 and ``/atom/…`` Atom) into a batch.

Pure: bytes in, :class:`AnnouncementBatch` out; no network, no clock.

Format facts this parser relies on (see the fixtures' README):

- one feed = one announcement batch for the union of the requested categories;
- each item has ``<arxiv:announce_type>`` (new / cross / replace / replace-cross); unknown types are skipped;
- the description (Atom: summary) reads ``arXiv:<id>vN Announce Type: <type> \\nAbstract: <abstract>``; the
  prefix is stripped (older feeds had it with one space, the first feeds none at all);
- ``<link>`` has no version: the version comes from ``<guid>`` (Atom: ``<id>``) ``oai:arXiv.org:<id>vN``, else
  from the description prefix;
- ``<dc:creator>`` is ONE comma-separated string of authors;
- ``<category>`` lists every category, primary first as far as observed, but the feed never says which is
  primary, so ``Paper.primary_category`` stays None (the API knows it);
- ``pubDate`` (Atom: ``published``) is the announcement date in US Eastern local time (-0400 / -0500). The
  batch's date is the date **as written in that offset**, never a UTC-converted date.

Empty feed (weekends, holidays): a channel without items gives an empty batch whose ``announced_on`` is
None (the channel's pubDate of an empty feed is not trusted to name a real announcement day).
"""

from __future__ import annotations

import hashlib
import logging
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime

from .errors import InvalidArxivId, SourceUnavailable
from .ids import parse_arxiv_id
from .models import Announcement, AnnouncementBatch, AnnounceType, Paper

logger = logging.getLogger(__name__)

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
DC = "{http://purl.org/dc/elements/1.1/}"

_PREFIX = re.compile(
    r"^\s*arXiv:(?P<id>\S+?)\s+Announce\s+Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:\s*)?",
    re.IGNORECASE,
)
_BARE_ABSTRACT = re.compile(r"^\s*Abstract:\s*", re.IGNORECASE)
_OAI = re.compile(r"^\s*oai:arXiv\.org:", re.IGNORECASE)
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]+|\n[ \t]*\n")
_NAME_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "phd", "ph.d."})


# -- text helpers (shared with the API client) -------------------------------------------------------


def normalize_title(text: str | None) -> str:
    """Collapse every run of whitespace (hard wraps included) into one space."""
    return " ".join((text or "").split())


def normalize_abstract(text: str | None) -> str:
    """Keep paragraph breaks, drop hard wraps.

    arXiv metadata marks a new paragraph with a line break followed by indentation (``"\\n  "``) or a blank
    line; any other line break is a hard wrap (the pre-2025 API wrapped at ~80 columns). Paragraphs come out
    joined by a blank line, each on one line with single spaces.
    """
    if not text:
        return ""
    body = text.strip().replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = (" ".join(p.split()) for p in _PARAGRAPH_BREAK.split(body))
    return "\n\n".join(p for p in paragraphs if p)


def split_authors(text: str | None) -> tuple[str, ...]:
    """Split the feed's single ``dc:creator`` string into names.

    Splits on commas and on a final "and" ("A, B and C", "A, B, and C", "A and B"). Suffixes split off by a
    comma ("Jr.", "III") are joined back to the preceding name. Names that contain a comma otherwise are
    rare and cannot be told apart from two names; they come out split.
    """
    if not text:
        return ()
    flat = " ".join(text.split())
    names: list[str] = []
    for chunk in flat.split(","):
        piece = chunk.strip()
        if not piece:
            continue
        if piece.lower().startswith("and "):
            piece = piece[4:].strip()
        parts = [p.strip() for p in re.split(r"\s+and\s+", piece) if p.strip()]
        for part in parts:
            if names and part.lower() in _NAME_SUFFIXES:
                names[-1] = f"{names[-1]}, {part}"
            else:
                names.append(part)
    return tuple(names)


def batch_fingerprint(announced_on: date | None, triples: Iterable[tuple[str, int | None, str]]) -> str:
    """sha256 over the sorted (id, version, type) triples plus the date: same content, same fingerprint."""
    h = hashlib.sha256()
    h.update(f"date={announced_on.isoformat() if announced_on else '-'}\n".encode())
    for arxiv_id, version, kind in sorted(triples, key=lambda t: (t[0], t[1] or 0, t[2])):
        h.update(f"{arxiv_id}\t{version if version is not None else '-'}\t{kind}\n".encode())
    return h.hexdigest()


# -- parsing -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Item:
    """The flavour-independent fields of one feed item."""

    guid: str | None
    link: str | None
    title: str | None
    description: str | None
    categories: tuple[str, ...]
    date_text: str | None
    announce_type: str | None
    creators: tuple[str, ...]
    author_names: tuple[str, ...]
    doi: str | None
    journal_ref: str | None


def _text(elem: ET.Element, tag: str) -> str | None:
    found = elem.find(tag)
    if found is None or found.text is None:
        return None
    return found.text


def _first_text(elem: ET.Element, *tags: str) -> str | None:
    for tag in tags:
        value = _text(elem, tag)
        if value is not None and value.strip():
            return value.strip()
    return None


def _dedupe(values: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for v in values:
        v = v.strip()
        if v:
            seen.setdefault(v, None)
    return tuple(seen)


def _rss_items(channel: ET.Element) -> list[_Item]:
    items = []
    for item in channel.findall("item"):
        items.append(
            _Item(
                guid=_first_text(item, "guid"),
                link=_first_text(item, "link"),
                title=_text(item, "title"),
                description=_text(item, "description"),
                categories=_dedupe(c.text or "" for c in item.findall("category")),
                date_text=_first_text(item, "pubDate"),
                announce_type=_first_text(item, f"{ARXIV}announce_type"),
                creators=tuple(c.text or "" for c in item.findall(f"{DC}creator")),
                author_names=(),
                doi=_first_text(item, f"{ARXIV}DOI", f"{ARXIV}doi"),
                journal_ref=_first_text(item, f"{ARXIV}journal_reference", f"{ARXIV}journal_ref"),
            )
        )
    return items


def _atom_items(feed: ET.Element) -> list[_Item]:
    items = []
    for entry in feed.findall(f"{ATOM}entry"):
        link = None
        for el in entry.findall(f"{ATOM}link"):
            if el.get("rel", "alternate") == "alternate" and el.get("href"):
                link = el.get("href")
                break
        items.append(
            _Item(
                guid=_first_text(entry, f"{ATOM}id"),
                link=link,
                title=_text(entry, f"{ATOM}title"),
                description=_text(entry, f"{ATOM}summary"),
                categories=_dedupe(c.get("term") or "" for c in entry.findall(f"{ATOM}category")),
                date_text=_first_text(entry, f"{ATOM}published"),
                announce_type=_first_text(entry, f"{ARXIV}announce_type"),
                creators=tuple(c.text or "" for c in entry.findall(f"{DC}creator")),
                author_names=tuple(
                    (a.findtext(f"{ATOM}name") or "").strip() for a in entry.findall(f"{ATOM}author")
                ),
                doi=_first_text(entry, f"{ARXIV}DOI", f"{ARXIV}doi"),
                journal_ref=_first_text(entry, f"{ARXIV}journal_reference", f"{ARXIV}journal_ref"),
            )
        )
    return items


def _parse_date(text: str | None) -> datetime | None:
    """RFC 822 (RSS pubDate) or ISO 8601 (Atom published); aware, in the offset as written."""
    if not text:
        return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            logger.warning("feed: unparseable date %r", text)
            return None
    if parsed.tzinfo is None:
        logger.warning("feed: date without a UTC offset %r, assuming UTC", text)
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _build(item: _Item) -> tuple[Paper, AnnounceType, datetime | None] | None:
    description = item.description or ""
    prefix = _PREFIX.match(description)
    raw_id = None
    if item.guid:
        raw_id = _OAI.sub("", item.guid)
    elif prefix:
        raw_id = prefix.group("id")
    elif item.link:
        raw_id = item.link
    if not raw_id:
        logger.warning("feed: item without an id skipped (title %r)", normalize_title(item.title)[:80])
        return None
    try:
        parsed = parse_arxiv_id(raw_id)
    except InvalidArxivId:
        logger.warning("feed: item with a malformed id %r skipped", raw_id[:80])
        return None
    version = parsed.version
    if version is None and prefix:
        try:
            version = parse_arxiv_id(prefix.group("id")).version
        except InvalidArxivId:
            version = None

    type_text = item.announce_type or (prefix.group("type") if prefix else None)
    try:
        kind = AnnounceType((type_text or "").strip().lower())
    except ValueError:
        logger.warning("feed: item %s with unknown announce type %r skipped", parsed.id, type_text)
        return None

    abstract = description[prefix.end() :] if prefix else _BARE_ABSTRACT.sub("", description)
    authors = split_authors(", ".join(c for c in item.creators if c.strip())) or tuple(
        n for n in item.author_names if n
    )
    announced = _parse_date(item.date_text)
    paper = Paper(
        arxiv_id=parsed.id,
        title=normalize_title(item.title),
        abstract=normalize_abstract(abstract),
        authors=authors,
        categories=item.categories,
        version=version,
        primary_category=None,
        doi=item.doi,
        journal_ref=normalize_title(item.journal_ref) or None,
        published=announced.astimezone(UTC) if announced else None,
    )
    return paper, kind, announced


def _reject_non_feed(content: bytes) -> None:
    head = content[:2048].lstrip().lower()
    if not head:
        raise SourceUnavailable("arXiv feed response is empty")
    if b"<!doctype" in head or b"<!entity" in content.lower() or head.startswith(b"<html"):
        raise SourceUnavailable("arXiv feed response is not a feed (an HTML page or a DOCTYPE)")


def parse_feed(content: bytes, *, categories: Sequence[str]) -> AnnouncementBatch:
    """Parse one RSS 2.0 or Atom announcement feed.

    Raises SourceUnavailable when ``content`` is not an arXiv feed (an HTML error page, truncated XML, an
    unknown root element), or when a non-empty feed carries no announcement date at all.
    """
    _reject_non_feed(content)
    try:
        root = ET.fromstring(content)
    except ET.ParseError as exc:
        raise SourceUnavailable(f"arXiv feed response is not valid XML: {exc}") from exc

    if root.tag == "rss":
        channel = root.find("channel")
        if channel is None:
            raise SourceUnavailable("arXiv RSS feed has no <channel>")
        items = _rss_items(channel)
        channel_date = _parse_date(_first_text(channel, "pubDate"))
    elif root.tag == f"{ATOM}feed":
        items = _atom_items(root)
        channel_date = None  # the Atom feed's <updated> is a UTC build time, not the announcement date
    else:
        raise SourceUnavailable(f"arXiv feed has an unexpected root element {root.tag!r}")

    built: list[tuple[Paper, AnnounceType, datetime | None]] = []
    seen: set[str] = set()
    for item in items:
        entry = _build(item)
        if entry is None:
            continue
        if entry[0].arxiv_id in seen:
            logger.warning("feed: duplicate item %s skipped", entry[0].arxiv_id)
            continue
        seen.add(entry[0].arxiv_id)
        built.append(entry)
    if not built:
        if items:
            logger.warning("feed: all %d items were skipped", len(items))
        return AnnouncementBatch(
            categories=tuple(categories),
            announced_on=None,
            announcements=(),
            fingerprint=batch_fingerprint(None, ()),
        )

    item_dates = [announced.date() for _, _, announced in built if announced is not None]
    if item_dates:
        counts = Counter(item_dates)
        batch_date = max(item_dates)
        if len(counts) > 1:
            logger.warning(
                "feed: items carry %d different dates %s; using %s", len(counts), counts, batch_date
            )
    elif channel_date is not None:
        batch_date = channel_date.date()
    else:
        raise SourceUnavailable("arXiv feed has items but no announcement date")

    announcements = tuple(
        Announcement(
            paper=paper,
            announce_type=kind,
            announced_on=announced.date() if announced is not None else batch_date,
        )
        for paper, kind, announced in built
    )
    fingerprint = batch_fingerprint(
        batch_date, ((a.paper.arxiv_id, a.paper.version, a.announce_type.value) for a in announcements)
    )
    return AnnouncementBatch(
        categories=tuple(categories),
        announced_on=batch_date,
        announcements=announcements,
        fingerprint=fingerprint,
        source="rss",
    )
