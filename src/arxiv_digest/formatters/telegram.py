"""Telegram rendering (HTML parse mode). Pure: same input, same text.

Telegram has no tables, so the summary is a numbered list, one row per paper::

    [n] <a href="https://arxiv.org/abs/ID">English title</a> — one-sentence summary

split on row boundaries into messages of at most 4096 UTF-16 code units. Each paper's footnote is its own
message (the bot sends it as a reply to the summary): translated title, English title, link with categories
and authors, summary (target language), English summary, translated abstract, English abstract, the two
abstracts in expandable blockquotes. A footnote longer than the limit is split into parts that each stay
valid HTML: text is split only between pieces, and a piece too long for one message is cut at a sentence or
word boundary with its tags closed and re-opened.

Every piece of text is escaped when it is built (``& < >``; attribute values also quotes); lengths are
measured on the HTML source, which is never shorter than the text Telegram counts, so a chunk within the
limit here is within it there.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..papers.models import Digest, DigestEntry
from .common import authors_line, type_label
from .i18n import t

MESSAGE_LIMIT = 4096


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts."""
    return len(text.encode("utf-16-le")) // 2


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def esc_attr(text: str) -> str:
    return html.escape(text, quote=True)


@dataclass(frozen=True, slots=True)
class Piece:
    """``text`` (plain, unescaped) shown inside ``open``/``close`` tags; ``raw`` pieces are trusted HTML
    built here (links) and never split, so they must be short: only a link of a fixed shape is raw."""

    text: str
    open: str = ""
    close: str = ""
    raw: bool = False
    separator: str = "\n"

    def html(self) -> str:
        body = self.text if self.raw else esc(self.text)
        return f"{self.open}{body}{self.close}"


def _split_points(text: str) -> list[int]:
    """Candidate cut positions, preferring sentence ends, then spaces."""
    return [i + 1 for i, ch in enumerate(text) if ch in ".!?。！？\n" or ch == " "]


def _split_text(text: str, budget: int, wrap: int) -> list[str]:
    """Cut ``text`` into parts whose escaped length plus ``wrap`` (tags) fits ``budget`` UTF-16 units."""
    parts: list[str] = []
    rest = text
    while rest:
        if utf16_len(esc(rest)) + wrap <= budget:
            parts.append(rest)
            break
        # Longest prefix that fits, measured incrementally.
        size = 0
        limit_idx = 0
        for i, ch in enumerate(rest):
            size += utf16_len(esc(ch))
            if size + wrap > budget:
                break
            limit_idx = i + 1
        cut = limit_idx
        window = rest[:limit_idx]
        sentence = max((i for i in _split_points(window) if window[i - 1] in ".!?。！？\n"), default=0)
        space = max((i for i in _split_points(window) if window[i - 1] == " "), default=0)
        if sentence > limit_idx // 2:
            cut = sentence
        elif space > limit_idx // 2:
            cut = space
        if cut <= 0:  # budget smaller than one character: cannot happen with real limits
            cut = max(1, limit_idx)
        parts.append(rest[:cut])
        rest = rest[cut:]
    return parts


def pack(pieces: Sequence[Piece], *, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Greedily pack pieces into messages of at most ``limit`` UTF-16 units, splitting oversized pieces."""
    expanded: list[Piece] = []
    for piece in pieces:
        if utf16_len(piece.html()) <= limit or piece.raw:
            expanded.append(piece)
            continue
        wrap = utf16_len(piece.open) + utf16_len(piece.close)
        chunks = _split_text(piece.text, limit, wrap)
        for i, chunk in enumerate(chunks):
            expanded.append(
                Piece(chunk, piece.open, piece.close, separator=piece.separator if i == 0 else "")
            )
    messages: list[str] = []
    current = ""
    for piece in expanded:
        body = piece.html()
        candidate = f"{current}{piece.separator}{body}" if current else body
        if utf16_len(candidate) <= limit:
            current = candidate
        else:
            if current:
                messages.append(current)
            current = body
    if current:
        messages.append(current)
    return messages


def _header_pieces(digest: Digest) -> list[Piece]:
    """``<b>categories · date</b>`` and the counts line, as pieces (a chat may follow many categories)."""
    counts = digest.counts
    cats = ", ".join(digest.categories)
    day = digest.announced_on.isoformat() if digest.announced_on else ""
    parts = [t(digest.language, "tg_count_new", count=counts["new"])]
    if counts["cross"]:
        parts.append(t(digest.language, "tg_count_cross", count=counts["cross"]))
    if counts["replace"]:
        parts.append(t(digest.language, "tg_count_replace", count=counts["replace"]))
    return [Piece(f"{cats} · {day}", "<b>", "</b>"), Piece(" · ".join(parts))]


def summary_row(n: int, entry: DigestEntry, *, footnote_link: str | None = None) -> str:
    """One row: ``[n] <a href=abs>English title</a> — summary``. ``footnote_link`` (a t.me message link)
    turns ``[n]`` into a link to the footnote message."""
    ref = f"[{n}]"
    ref_html = f'<a href="{esc_attr(footnote_link)}">{ref}</a>' if footnote_link else ref
    title = " ".join(entry.paper.title.split())
    summary = (
        entry.translation.summary if entry.translation and entry.translation.summary else entry.summary_en
    )
    row = f'{ref_html} <a href="{esc_attr(entry.paper.abs_url)}">{esc(title)}</a>'
    if summary:
        row += f" — {esc(' '.join(summary.split()))}"
    return row


def render_summary(
    digest: Digest,
    *,
    footnote_links: Sequence[str | None] = (),
    limit: int = MESSAGE_LIMIT,
) -> list[str]:
    """The summary as one or more messages, split on row boundaries."""
    pieces = _header_pieces(digest)
    for notice in digest.notices:
        pieces.append(Piece(notice, "<i>", "</i>"))
    for i, entry in enumerate(digest.entries, start=1):
        link = footnote_links[i - 1] if i - 1 < len(footnote_links) else None
        row = summary_row(i, entry, footnote_link=link)
        if utf16_len(row) > limit:  # pathological summary: fall back to a splittable plain row
            pieces.append(Piece(f"[{i}] {entry.paper.title} — {entry.summary_en}", separator="\n\n"))
        else:
            pieces.append(Piece(row, raw=True, separator="\n\n"))
    if digest.omitted:
        pieces.append(
            Piece(t(digest.language, "and_more", count=digest.omitted), "<i>", "</i>", separator="\n\n")
        )
    return pack(pieces, limit=limit)


_ROW_REF = re.compile(r"^\[(\d+)\] (?=<a href=)", re.MULTILINE)


def link_refs(summary: str, links: Mapping[int, str], *, limit: int = MESSAGE_LIMIT) -> str | None:
    """A sent summary message with each row's ``[n]`` turned into a link to ``links[n]`` (its footnote).
    None when the result would pass ``limit``; rows without a link are left as they are."""

    def linked(match: re.Match[str]) -> str:
        url = links.get(int(match.group(1)))
        if url is None:
            return match.group(0)
        return f'<a href="{esc_attr(url)}">[{match.group(1)}]</a> '

    text = _ROW_REF.sub(linked, summary)
    return text if utf16_len(text) <= limit else None


def render_footnote(
    entry: DigestEntry, *, language: str, ref: int | None = None, limit: int = MESSAGE_LIMIT
) -> list[str]:
    """One paper's footnote as one message, or several valid-HTML parts when it is too long."""
    paper = entry.paper
    tr = entry.translation
    title = " ".join(paper.title.split())
    prefix = f"[{ref}] " if ref is not None else ""
    pieces: list[Piece] = []
    if tr is not None and tr.title:
        pieces.append(Piece(prefix + " ".join(tr.title.split()), "<b>", "</b>"))
        pieces.append(Piece(title, "<i>", "</i>"))
    else:
        pieces.append(Piece(prefix + title, "<b>", "</b>"))
    cats = entry.matched_categories or paper.categories
    link = f'<a href="{esc_attr(paper.abs_url)}">arXiv:{esc(paper.versioned_id)}</a>'
    pieces.append(Piece(link, raw=True, separator="\n\n"))  # short: the only piece never split
    meta = " · ".join(x for x in (", ".join(cats), authors_line(paper.authors)) if x)
    if meta:  # categories and authors can be long (collaborations): plain text, split like any other
        pieces.append(Piece(meta, separator=" · "))
    label = type_label(entry, language)
    if label:
        pieces.append(Piece(label, "<i>", "</i>"))
    if tr is not None and tr.summary:
        pieces.append(Piece(tr.summary, "<b>", "</b>", separator="\n\n"))
        if entry.summary_en:
            pieces.append(Piece(entry.summary_en, "<i>", "</i>"))
    elif entry.summary_en:
        pieces.append(Piece(entry.summary_en, "<b>", "</b>", separator="\n\n"))
    quote_open, quote_close = "<blockquote expandable>", "</blockquote>"
    if tr is not None and tr.abstract:
        pieces.append(Piece(tr.abstract, quote_open, quote_close, separator="\n\n"))
    if paper.abstract:
        pieces.append(
            Piece(paper.abstract, quote_open, quote_close, separator="\n\n" if tr is None else "\n")
        )
    return pack(pieces, limit=limit)
