"""Discord rendering (message Markdown and embeds). Pure: same input, same payloads; no I/O, no clock.

**Summary** (message ``content``, at most 2,000 characters a message)::

    **cs.LG, stat.ML · 2026-09-24**
    12 new · 3 cross-listed
    *DeepL quota exhausted: showing English*

    [1] [English title](<https://arxiv.org/abs/2409.01234>) — one-sentence summary in the digest's language

    [2] …

    *…and 4 more*

split into messages on row boundaries (the links are in ``<…>`` so Discord shows no link preview). With a
footnote's message link, ``[n]`` becomes ``[\\[n\\]](<link>)`` (``link_refs`` does the same to a sent
message). A title whose brackets a masked link cannot hold (unbalanced ``[``/``]``) is shown after the link
instead: ``[n] [arXiv:2409.01234](<…>) title — summary``. A single row longer than the limit (a pathological
summary) keeps its link intact and continues at sentence or word boundaries in the next messages; if even
the link does not fit, the title is shown as plain text.

**Footnote**: one message with one embed when it fits. ``render_footnote(entry, language="ZH-HANS",
ref=3)`` for a short replaced paper gives (``description`` shown line by line)::

    [{"embeds": [{
      "title": "[3] 注意力就是你所需要的",                # translated title (else English), "[ref] " prefix
      "url": "https://arxiv.org/abs/2409.01234",           # the title links to the abstract page
      "color": 11737883,                                   # 0xB31B1B, arXiv red, on every embed
      "description":
        *Attention is all you need*                        # English title, when the title is translated
        [arXiv:2409.01234v2](https://arxiv.org/abs/2409.01234) · cs.LG, stat.ML · Ada Lovelace, Dirk Wübben
        *修订版 v2*                                         # announce-type label, when there is one

        **提出 Transformer。**                              # summary in the chat's language (else English)
        *We propose the Transformer.*                      # English summary, when translated

        > 我们提出了 Transformer。                           # translated abstract, a block quote

        > We propose the Transformer.                      # English abstract, a block quote
    }]}]

(the second line of the description is the link line: the versioned id linked, categories, authors)

The categories are the matched ones (else the paper's), the authors at most 12 then ``+N``. Fields, author
and timestamp are not used.

Everything flows through embed descriptions, in this order; what does not fit continues. A block (a
title, the link line's categories and authors, a label, a summary, an abstract) that does not fit the room
left in an embed goes whole into the next embed when it fits there; otherwise it fills the room up to a
sentence end (else a blank, else a grapheme boundary) and continues in a *continuation embed*: same colour,
no title, no url, the next part of the description (a block quote continues as a block quote). An embed
joins the current message while the message stays within 10 embeds and 6,000 characters (titles,
descriptions and footers of all its embeds), else it starts a new message (a new ``{"embeds": [...]}``
payload). When a footnote takes more than one embed, each of its embeds carries the footer
``arXiv:2409.01234v2 · i/n`` (plain text), so a continuation is recognisable wherever it lands; a single
embed has no footer. A 20,000-character English abstract thus becomes seven embeds over four messages
(descriptions of about 4,090 + 1,860 characters in each of the first three, the rest in the fourth): the
6,000 characters a message allows, filled. A title longer than 256 characters keeps its first part in
``title`` and continues in bold at the start of the description. Nothing is cut or dropped; only blanks at
a part's ends are trimmed (Discord trims them too).

**Escaping**: every piece of arXiv or user text goes through ``escape_markdown`` and then
``neutralise_mentions`` before it is placed in a payload (``clean``); the arxiv.org links built here are
not escaped (only characters a URL cannot hold in Markdown are percent-encoded). Embed titles are escaped
too (Discord renders Markdown there); the footer is plain text and holds only the arXiv id built here.
Lengths are counted as Discord does: ``len`` of the str, in code points.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final, Protocol
from urllib.parse import quote

from ..papers.models import Digest, DigestEntry
from .common import authors_line, type_label
from .i18n import t

MESSAGE_LIMIT: Final = 2000
EMBED_TITLE_LIMIT: Final = 256
EMBED_DESCRIPTION_LIMIT: Final = 4096
EMBED_FIELDS_LIMIT: Final = 25
EMBED_FIELD_NAME_LIMIT: Final = 256
EMBED_FIELD_VALUE_LIMIT: Final = 1024
EMBED_FOOTER_LIMIT: Final = 2048
EMBED_AUTHOR_NAME_LIMIT: Final = 256
EMBED_TOTAL_LIMIT: Final = 6000  # title + description + field names and values + footer + author, all embeds
EMBEDS_PER_MESSAGE: Final = 10
THREAD_NAME_LIMIT: Final = 100
MIN_LIMIT: Final = 64  # the smallest ``limit`` render_summary accepts

EMBED_COLOR: Final = 0xB31B1B  # arXiv red

_MIN_SPLIT: Final = 240  # a block is split into the room left only when at least this much is left
_MIN_EMBED_ROOM: Final = 300  # a continuation embed starts a new message when less than this is left
_MAX_RAW_LINK: Final = 300  # a link longer than this (an absurd id) is shown as plain text
_MAX_URL: Final = 2048
_ZWSP: Final = "\u200b"

# ---------------------------------------------------------------------------------------------- escaping

# Characters Discord's parser may read as a line break (JavaScript's line terminators and Python's).
_NEWLINES: Final = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_ESCAPE: Final = re.compile(
    # Inline markup anywhere: escape \ * _ ~ | ` (bold, italics, underline, strike, spoilers, code),
    # [ ] ( ) (masked links), < > (mentions, emoji, timestamps, <url>; quotes), # (headings, subtext).
    r"(?P<char>[\\*_~|`\[\]()<>#])"
    # ``scheme://``: no autolink (a backslash inside a link would show), the URL stays as written.
    r"|:(?=//)"
    # At a line's start (after optional blanks): list markers ``-``/``+``/``1.``, subtext ``-#``.
    rf"|(?:^|(?<=[{_NEWLINES}]))(?P<lead>[^\S{_NEWLINES}]*)(?P<marker>[-+]|[0-9]+\.)"
)
_AT_MENTION: Final = re.compile(r"@(?=\u200b*(?:everyone|here))", re.IGNORECASE)
_ANGLE: Final = re.compile(r"<(?=\S)")


def _escape_match(match: re.Match[str]) -> str:
    marker = match.group("marker")
    if marker is None:
        return "\\" + match.group(0)
    if marker.endswith("."):
        return f"{match.group('lead')}{marker[:-1]}\\."
    return f"{match.group('lead')}\\{marker}"


def escape_markdown(text: str) -> str:
    """``text`` with a backslash before everything Discord would read as Markdown, so it shows as written.

    Always escaped: ``\\ * _ ~ | ` [ ] ( ) < > #``; ``:`` before ``//`` (no autolink); at a line's start
    (the start of ``text`` included) ``-``, ``+`` and the dot of ``1.``. Discord shows ``\\x`` as ``x`` for
    any ASCII punctuation ``x``, so the escapes are invisible. Every backslash in the result starts a pair
    ``\\x`` standing for ``x``: dropping each pair's backslash gives ``text`` back.
    """
    return _ESCAPE.sub(_escape_match, text)


def neutralise_mentions(text: str) -> str:
    """A zero-width space after ``@`` before ``everyone``/``here`` (any case) and after every ``<`` followed
    by a non-blank (``<@id>``, ``<@!id>``, ``<@&id>``, ``<#id>``, ``</cmd:id>``, ``<:emoji:id>``,
    ``<t:…>``): nothing pings or resolves, the visible text is unchanged. Invertible: drop one zero-width
    space after each ``<`` that has one, and after each ``@`` where one is followed by (more zero-width
    spaces and) ``everyone``/``here``."""
    return _ANGLE.sub("<" + _ZWSP, _AT_MENTION.sub("@" + _ZWSP, text))


def clean(text: str) -> str:
    """``text`` ready for a payload: Markdown escaped, then mentions neutralised."""
    return neutralise_mentions(escape_markdown(text))


def _safe_url(url: str) -> str:
    """``url`` with what Markdown link syntax cannot hold (brackets, parentheses, blanks…) percent-encoded;
    an ordinary arxiv.org or discord.com URL is unchanged."""
    return quote(url, safe="/:?#=&%~+.,;@!$'*-_")


def _one_line(text: str) -> str:
    return " ".join(text.split())


# ------------------------------------------------------------------------------------------------ blocks


class _Style(Enum):
    PLAIN = "plain"
    BOLD = "bold"
    ITALIC = "italic"
    QUOTE = "quote"
    RAW = "raw"  # markup built here (a link): never split, never escaped


_LINE_BREAK: Final = re.compile(rf"\r\n|[{_NEWLINES}]")


def _render(style: _Style, text: str) -> str:
    """One part of a block as Markdown; "" when it has nothing but blanks."""
    if style is _Style.RAW:
        return text
    body = text.strip()
    if not body:
        return ""
    escaped = clean(body)
    if style is _Style.BOLD:
        return f"**{escaped}**"
    if style is _Style.ITALIC:
        return f"*{escaped}*"
    if style is _Style.QUOTE:
        return "\n".join(f"> {line}" for line in _LINE_BREAK.split(escaped))
    return escaped


@dataclass(frozen=True, slots=True)
class _Block:
    """``text`` (plain, unescaped; markup for RAW) shown in ``style``, after ``sep`` unless it opens a
    container (a message or an embed description)."""

    text: str
    style: _Style
    sep: str = "\n"


_SENTENCE_END: Final = frozenset(".!?")
_CJK_SENTENCE_END: Final = frozenset("。！？；…")


def _inside_grapheme(text: str, i: int) -> bool:
    """True when a cut between ``text[i-1]`` and ``text[i]`` would split a user-perceived character."""
    before, after = text[i - 1], text[i]
    if before == "\u200d" or after == "\u200d" or (before == "\r" and after == "\n"):
        return True
    code = ord(after)
    if 0xFE00 <= code <= 0xFE0F or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F:
        return True  # variation selectors, skin tones, tag characters (flags of regions)
    if code == 0x20E3 or unicodedata.category(after) in ("Mn", "Mc", "Me"):
        return True  # combining marks, keycaps
    return 0x1F1E6 <= code <= 0x1F1FF and 0x1F1E6 <= ord(before) <= 0x1F1FF  # a regional-indicator flag


def _cut(text: str, style: _Style, room: int) -> int:
    """Where to cut ``text`` so that ``_render(style, text[:cut])`` fits ``room``: the longest prefix that
    fits, moved back to a sentence end, else a blank, else a grapheme boundary, when one is in its second
    half. 0 when not even one character fits. The rendered length never shrinks as the prefix grows (escapes
    and wrappers only depend on what precedes a character and a few characters after it), so a binary
    search finds the longest prefix."""
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(_render(style, text[:mid])) <= room:
            lo = mid
        else:
            hi = mid - 1
    fit = lo
    if fit == 0 or fit == len(text):
        return fit
    cut = _boundary(text, fit)
    return cut if len(_render(style, text[:cut])) <= room else fit


def _boundary(text: str, fit: int) -> int:
    """The best place to cut ``text`` at or before ``fit`` (``0 < fit < len(text)``)."""
    half = fit // 2
    for i in range(fit, half, -1):  # after a sentence end followed by a blank, or after CJK punctuation
        ch = text[i - 1]
        if ch in _CJK_SENTENCE_END or ch in _NEWLINES or (ch in _SENTENCE_END and text[i].isspace()):
            return i
    for i in range(fit, half, -1):
        if text[i - 1].isspace():
            return i
    for i in range(fit, half, -1):
        if not _inside_grapheme(text, i):
            return i
    return fit


class _Sink(Protocol):
    def room(self) -> int: ...
    def fresh_room(self) -> int: ...
    def empty(self) -> bool: ...
    def add(self, text: str) -> None: ...
    def next(self) -> None: ...


def _flow(blocks: Sequence[_Block], sink: _Sink) -> None:
    """Pour ``blocks`` into ``sink``'s containers, in order, splitting a text block that does not fit."""
    for block in blocks:
        if block.style is _Style.RAW:
            sep = "" if sink.empty() else block.sep
            if len(sep) + len(block.text) > sink.room():
                sink.next()
                sep = ""
                if len(block.text) > sink.room():  # callers keep raw blocks short: a bug if reached
                    raise ValueError(f"raw block of {len(block.text)} characters does not fit")
            sink.add(sep + block.text)
            continue
        rest = block.text
        while True:
            rendered = _render(block.style, rest)
            if not rendered:
                break
            sep = "" if sink.empty() else block.sep
            room = sink.room() - len(sep)
            if len(rendered) <= room:
                sink.add(sep + rendered)
                break
            if not sink.empty() and len(rendered) <= sink.fresh_room():
                sink.next()  # whole in the next container rather than broken across two
                continue
            if room >= _MIN_SPLIT or sink.empty():
                cut = _cut(rest, block.style, room)
                if cut == 0 and sink.empty():
                    raise ValueError(f"a container of {room} characters cannot hold one character")
                part = _render(block.style, rest[:cut])
                if part:
                    sink.add(sep + part)
                rest = rest[cut:]
            sink.next()


# ----------------------------------------------------------------------------------------------- summary


class _TextSink:
    """Message contents of at most ``limit`` characters."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.messages: list[str] = []
        self.current = ""

    def room(self) -> int:
        return self.limit - len(self.current)

    def fresh_room(self) -> int:
        return self.limit

    def empty(self) -> bool:
        return not self.current

    def add(self, text: str) -> None:
        self.current += text

    def next(self) -> None:
        if self.current:
            self.messages.append(self.current)
        self.current = ""

    def finish(self) -> list[str]:
        self.next()
        return self.messages


def _ref(n: int, footnote_link: str | None) -> str:
    if footnote_link:
        return f"[\\[{n}\\]](<{_safe_url(footnote_link)}>)"
    return f"[{n}]"


_BRACKETS_ONLY: Final = re.compile(r"[^\[\]]")
_BALANCED: Final = re.compile(r"(?:\[\])*")


def _label_ok(label: str) -> bool:
    """Whether a masked link can hold ``label`` (escaped text): its brackets, escaped or not, must pair up
    without nesting, as the link rule counts them."""
    return bool(label) and _BALANCED.fullmatch(_BRACKETS_ONLY.sub("", label)) is not None


def _row_summary(entry: DigestEntry) -> str:
    tr = entry.translation
    return _one_line(tr.summary if tr is not None and tr.summary.strip() else entry.summary_en)


def summary_row(n: int, entry: DigestEntry, *, footnote_link: str | None = None) -> str:
    """One summary row: ``[n] [English title](<abs>) — summary`` (summary in the digest's language, else
    English). ``footnote_link`` (the footnote's message URL) turns ``[n]`` into a link to it."""
    url = _safe_url(entry.paper.abs_url)
    title = clean(_one_line(entry.paper.title))
    if _label_ok(title):
        row = f"{_ref(n, footnote_link)} [{title}](<{url}>)"
    else:
        row = f"{_ref(n, footnote_link)} [{clean('arXiv:' + entry.paper.arxiv_id)}](<{url}>)"
        if title:
            row += f" {title}"
    summary = _row_summary(entry)
    if summary:
        row += f" — {clean(summary)}"
    return row


def _long_row(n: int, entry: DigestEntry, link: str | None, limit: int) -> list[_Block]:
    """A row longer than ``limit`` as blocks: a short raw head (with the title's link when it fits, else
    the arXiv id's, else none) and the text, which splits."""
    url = _safe_url(entry.paper.abs_url)
    title = _one_line(entry.paper.title)
    label = clean(title)
    ref = _ref(n, link)
    if len(ref) > limit // 4:
        ref = _ref(n, None)
    blocks: list[_Block] = []
    head = f"{ref} [{label}](<{url}>)"
    if _label_ok(label) and len(head) <= limit:
        blocks.append(_Block(head, _Style.RAW, "\n\n"))
    else:
        head = f"{ref} [{clean('arXiv:' + entry.paper.arxiv_id)}](<{url}>)"
        blocks.append(_Block(head if len(head) <= limit // 2 else ref, _Style.RAW, "\n\n"))
        blocks.append(_Block(title, _Style.PLAIN, " "))
    blocks.append(_Block(_row_summary(entry), _Style.PLAIN, " — "))
    return blocks


def render_summary(
    digest: Digest,
    *,
    footnote_links: Sequence[str | None] = (),
    limit: int = MESSAGE_LIMIT,
) -> list[str]:
    """The summary as message contents of at most ``limit`` characters, split between rows (a row longer
    than ``limit`` alone continues at sentence or word boundaries). ``footnote_links[n-1]`` (a message URL,
    or None) links row n's ``[n]`` to its footnote."""
    if limit < MIN_LIMIT:
        raise ValueError(f"limit must be at least {MIN_LIMIT}")
    language = digest.language
    counts = digest.counts
    day = digest.announced_on.isoformat() if digest.announced_on else ""
    header = " · ".join(x for x in (", ".join(digest.categories), day) if x.strip())
    parts = [t(language, "tg_count_new", count=counts["new"])]
    if counts["cross"]:
        parts.append(t(language, "tg_count_cross", count=counts["cross"]))
    if counts["replace"]:
        parts.append(t(language, "tg_count_replace", count=counts["replace"]))
    blocks = [_Block(header, _Style.BOLD), _Block(" · ".join(parts), _Style.PLAIN)]
    blocks.extend(_Block(notice, _Style.ITALIC) for notice in digest.notices)
    for i, entry in enumerate(digest.entries, start=1):
        link = footnote_links[i - 1] if i - 1 < len(footnote_links) else None
        row = summary_row(i, entry, footnote_link=link)
        if len(row) <= limit:
            blocks.append(_Block(row, _Style.RAW, "\n\n"))
        else:
            blocks.extend(_long_row(i, entry, link, limit))
    if digest.omitted:
        blocks.append(_Block(t(language, "and_more", count=digest.omitted), _Style.ITALIC, "\n\n"))
    sink = _TextSink(limit)
    _flow(blocks, sink)
    return sink.finish()


_ROW_REF: Final = re.compile(r"^\[(\d+)\] ", re.MULTILINE)


def link_refs(summary: str, links: Mapping[int, str], *, limit: int = MESSAGE_LIMIT) -> str | None:
    """A rendered summary message with each row's ``[n]`` turned into a masked link to ``links[n]`` (its
    footnote's message URL). Rows without a link stay as they are; None when the result would pass
    ``limit``. (Only rows start a line with an unescaped ``[``: every ``[`` of a text is escaped.)"""

    def linked(match: re.Match[str]) -> str:
        n = int(match.group(1))
        url = links.get(n)
        return match.group(0) if url is None else f"{_ref(n, url)} "

    text = _ROW_REF.sub(linked, summary)
    return text if len(text) <= limit else None


def thread_name(digest: Digest) -> str:
    """``<categories> · <YYYY-MM-DD>`` on one line, at most 100 characters (the categories shortened with
    ``…``), never empty."""
    day = digest.announced_on.isoformat() if digest.announced_on else ""
    categories = ", ".join(c for c in (_printable(x) for x in digest.categories) if c)
    if not categories:
        return day or "arXiv"
    suffix = f" · {day}" if day else ""
    name = categories + suffix
    if len(name) <= THREAD_NAME_LIMIT:
        return name
    cut = THREAD_NAME_LIMIT - len(suffix) - 1
    while cut > 1 and _inside_grapheme(categories, cut):
        cut -= 1
    return categories[:cut].rstrip(" ,") + "…" + suffix


def _printable(text: str) -> str:
    """One line without control or format characters (a thread name shows them raw)."""
    return _one_line("".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text))


# ---------------------------------------------------------------------------------------------- footnote


def _footer(versioned_id: str, i: int, n: int) -> str:
    shown = _printable(versioned_id)
    if len(shown) > 64:
        shown = shown[:63] + "…"
    return f"arXiv:{shown} · {i}/{n}"


def _embed_chars(embed: Mapping[str, Any]) -> int:
    return len(embed.get("title", "")) + len(embed.get("description", ""))


class _EmbedSink:
    """Embed descriptions, embeds grouped into messages within Discord's limits. ``reserve`` characters
    are kept in every embed for its footer."""

    def __init__(self, head: dict[str, Any], reserve: int) -> None:
        self.reserve = reserve
        self.messages: list[list[dict[str, Any]]] = []
        self.embeds: list[dict[str, Any]] = []
        self.used = 0  # characters of the closed embeds of the current message, footers reserved
        self.embed = head
        self.description = ""

    def room(self) -> int:
        title = len(self.embed.get("title", ""))
        capacity = min(EMBED_DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - self.used - title - self.reserve)
        return capacity - len(self.description)

    def _after_close(self) -> tuple[int, int]:
        """(embeds, characters used) of the current message once the current embed is closed."""
        if "title" in self.embed or self.description:
            used = self.used + len(self.embed.get("title", "")) + len(self.description) + self.reserve
            return len(self.embeds) + 1, used
        return len(self.embeds), self.used

    def _needs_new_message(self, embeds: int, used: int) -> bool:
        return embeds >= EMBEDS_PER_MESSAGE or EMBED_TOTAL_LIMIT - used - self.reserve < _MIN_EMBED_ROOM

    def fresh_room(self) -> int:
        embeds, used = self._after_close()
        if self._needs_new_message(embeds, used):
            used = 0
        return min(EMBED_DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - used - self.reserve)

    def empty(self) -> bool:
        return not self.description

    def add(self, text: str) -> None:
        self.description += text

    def _close(self) -> None:
        if self.description:
            self.embed["description"] = self.description
        if "title" in self.embed or self.description:
            self.embeds.append(self.embed)
            self.used += _embed_chars(self.embed) + self.reserve
        self.embed = {"color": EMBED_COLOR}
        self.description = ""

    def _flush(self) -> None:
        if self.embeds:
            self.messages.append(self.embeds)
        self.embeds = []
        self.used = 0

    def next(self) -> None:
        self._close()
        if self._needs_new_message(len(self.embeds), self.used):
            self._flush()

    def finish(self) -> list[list[dict[str, Any]]]:
        self._close()
        self._flush()
        return self.messages


def _footnote_blocks(entry: DigestEntry, language: str) -> list[_Block]:
    paper = entry.paper
    tr = entry.translation
    blocks: list[_Block] = []
    if tr is not None and tr.title.strip():
        blocks.append(_Block(_one_line(paper.title), _Style.ITALIC))
    link = f"[{clean('arXiv:' + paper.versioned_id)}]({_safe_url(paper.abs_url)})"
    if len(link) <= _MAX_RAW_LINK:
        blocks.append(_Block(link, _Style.RAW))
    else:
        blocks.append(_Block("arXiv:" + paper.versioned_id, _Style.PLAIN))
    cats = entry.matched_categories or paper.categories
    meta = " · ".join(x for x in (", ".join(cats), authors_line(paper.authors)) if x.strip())
    blocks.append(_Block(meta, _Style.PLAIN, " · "))
    blocks.append(_Block(type_label(entry, language), _Style.ITALIC))
    if tr is not None and tr.summary.strip():
        blocks.append(_Block(tr.summary, _Style.BOLD, "\n\n"))
        blocks.append(_Block(entry.summary_en, _Style.ITALIC))
    else:
        blocks.append(_Block(entry.summary_en, _Style.BOLD, "\n\n"))
    if tr is not None:
        blocks.append(_Block(tr.abstract, _Style.QUOTE, "\n\n"))
    blocks.append(_Block(paper.abstract, _Style.QUOTE, "\n\n"))
    return blocks


def render_footnote(entry: DigestEntry, *, language: str, ref: int | None = None) -> list[dict[str, Any]]:
    """One paper's footnote as Discord message payloads ``{"embeds": [embed, ...]}``: usually one message
    with one embed; a long paper continues in continuation embeds and messages (see the module docstring).
    ``language`` is the chat's (for the announce-type label); ``ref`` prefixes the title with ``[ref]``."""
    paper = entry.paper
    tr = entry.translation
    prefix = f"[{ref}] " if ref is not None else ""
    title = _one_line(tr.title if tr is not None and tr.title.strip() else paper.title)
    if not title:
        title = "arXiv:" + paper.versioned_id
    title_rest = ""
    room = EMBED_TITLE_LIMIT - len(prefix)
    if len(_render(_Style.PLAIN, title)) > room:
        cut = _cut(title, _Style.PLAIN, room)
        title, title_rest = title[:cut], title[cut:]
    blocks = [_Block(title_rest, _Style.BOLD), *_footnote_blocks(entry, language)]
    url = _safe_url(paper.abs_url)

    digits = 1
    while True:  # reserve room for footers "i/n" of as many digits as the count needs
        reserve = len(_footer(paper.versioned_id, 10**digits - 1, 10**digits - 1))
        head: dict[str, Any] = {"title": prefix + _render(_Style.PLAIN, title)}
        if len(url) <= _MAX_URL:
            head["url"] = url
        head["color"] = EMBED_COLOR
        sink = _EmbedSink(head, reserve)
        _flow(blocks, sink)
        messages = sink.finish()
        count = sum(len(embeds) for embeds in messages)
        if count == 1 or len(str(count)) <= digits:
            break
        digits = len(str(count))
    if count > 1:
        i = 0
        for embeds in messages:
            for embed in embeds:
                i += 1
                embed["footer"] = {"text": _footer(paper.versioned_id, i, count)}
    return [{"embeds": embeds} for embeds in messages]
