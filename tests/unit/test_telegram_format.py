"""Telegram HTML rendering: limits in UTF-16, balanced tags, nothing lost or duplicated."""

from __future__ import annotations

import html
import re
from datetime import date
from html.parser import HTMLParser

from hypothesis import example, given, settings
from hypothesis import strategies as st

from arxiv_digest.formatters.telegram import (
    MESSAGE_LIMIT,
    render_footnote,
    render_summary,
    summary_row,
    utf16_len,
)
from arxiv_digest.papers.models import AnnounceType, Digest, DigestEntry, Paper, PaperTranslation

ALLOWED = {"b", "i", "a", "blockquote"}


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED:
            self.errors.append(f"unexpected tag {tag}")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unbalanced </{tag}> with {self.stack}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check(chunk: str) -> str:
    """Assert ``chunk`` is within the limit and well-formed; return its visible text."""
    assert utf16_len(chunk) <= MESSAGE_LIMIT
    # Only &amp; &lt; &gt; &quot; &#x27; entities are produced.
    for ent in re.findall(r"&[^;\s]*;?", chunk):
        assert ent in {"&amp;", "&lt;", "&gt;", "&quot;", "&#x27;"}, ent
    parser = _Checker()
    parser.feed(chunk)
    parser.close()
    assert not parser.errors, parser.errors
    assert not parser.stack, parser.stack
    return "".join(parser.text)


def squash(text: str) -> str:
    return "".join(text.split())


def entry(title: str, abstract: str, *, tr: PaperTranslation | None = None, summary: str = "") -> DigestEntry:
    paper = Paper(
        arxiv_id="2409.01234",
        title=title,
        abstract=abstract,
        authors=("Ada Lovelace", "Dirk Wübben"),
        categories=("cs.LG", "stat.ML"),
        version=2,
    )
    return DigestEntry(paper, AnnounceType.NEW, ("cs.LG",), summary, tr)


nasty = st.text(
    alphabet=st.sampled_from(list("&<>|_*[]$\\(){}ab c.!?。中文字🙂👩‍🔬\n\"'"))
    | st.characters(codec="utf-8"),
    min_size=0,
    max_size=400,
)


@settings(max_examples=150, deadline=None)
@given(title=nasty.filter(lambda s: s.strip() != ""), abstract=nasty, summary=nasty, tr_abs=nasty)
def test_footnote_small_is_one_valid_message(title: str, abstract: str, summary: str, tr_abs: str) -> None:
    tr = PaperTranslation("ZH-HANS", "标题 " + title, tr_abs, "总结" + summary)
    chunks = render_footnote(entry(title, abstract, tr=tr, summary=summary), language="ZH-HANS", ref=3)
    assert len(chunks) == 1
    text = check(chunks[0])
    # Nothing lost: every field's visible text is present.
    for part in (title, abstract, summary, tr_abs):
        assert squash(" ".join(part.split())) in squash(text) or squash(part) in squash(text)


@settings(max_examples=40, deadline=None)
@given(
    unit=st.sampled_from(["a", "&", "<", "中", "🙂", "x y. ", "$\\alpha$ ", "👩‍🔬"]),
    repeat=st.integers(min_value=500, max_value=6000),
)
def test_long_footnote_splits_into_valid_parts_without_loss(unit: str, repeat: int) -> None:
    abstract = unit * repeat
    tr = PaperTranslation("JA", "タイトル", "要旨。" * (repeat // 3), "要約")
    chunks = render_footnote(entry("A title", abstract, tr=tr, summary="We do it."), language="JA", ref=1)
    texts = [check(c) for c in chunks]
    joined = squash("".join(texts))
    # No text lost or duplicated: the visible text is exactly the fields, once each.
    assert joined.count(squash(abstract)) == 1
    assert squash("要旨。" * (repeat // 3)) in joined
    assert len(chunks) >= 1


def digest_of(entries: list[DigestEntry], *, omitted: int = 0) -> Digest:
    return Digest(("cs.LG",), date(2026, 9, 24), "ZH-HANS", tuple(entries), omitted=omitted)


@settings(max_examples=60, deadline=None)
@given(
    titles=st.lists(nasty.filter(lambda s: s.strip() != ""), min_size=1, max_size=80),
    summary=nasty,
)
def test_summary_rows_split_on_row_boundaries(titles: list[str], summary: str) -> None:
    entries = [entry(t, "abstract", summary=summary) for t in titles]
    chunks = render_summary(digest_of(entries, omitted=4))
    texts = [check(c) for c in chunks]
    rows = [line for text in texts for line in text.split("\n\n")]
    refs = [r for r in rows if r.startswith("[")]
    assert [r.split("]")[0] for r in refs] == [f"[{i}" for i in range(1, len(titles) + 1)]


def test_4096_boundary_with_cjk_and_emoji() -> None:
    # Rows sized so that the packing lands exactly around the limit.
    entries = [entry("🙂中" * 200, "x", summary="总结🙂" * 100) for _ in range(12)]
    chunks = render_summary(digest_of(entries))
    assert len(chunks) > 1
    for c in chunks:
        check(c)
    assert max(utf16_len(c) for c in chunks) > MESSAGE_LIMIT - 1200  # packed, not one row a message


def test_row_links_title_and_escapes() -> None:
    e = entry("Attention <is> all & you [need]", "x", summary="We show a < b & c.")
    row = summary_row(7, e)
    assert row.startswith('[7] <a href="https://arxiv.org/abs/2409.01234">')
    assert "Attention &lt;is&gt; all &amp; you [need]</a> — We show a &lt; b &amp; c." in row
    linked = summary_row(7, e, footnote_link="https://t.me/c/123/45?x=1&y=2")
    assert linked.startswith('<a href="https://t.me/c/123/45?x=1&amp;y=2">[7]</a> ')


def test_footnote_fields_in_reference_order() -> None:
    tr = PaperTranslation("ZH-HANS", "译题", "译文摘要。", "译文总结")
    chunks = render_footnote(
        entry("English title", "English abstract.", tr=tr, summary="English summary"),
        language="ZH-HANS",
        ref=2,
    )
    text = check(chunks[0])
    order = [
        "[2] 译题",
        "English title",
        "arXiv:2409.01234v2",
        "译文总结",
        "English summary",
        "译文摘要。",
        "English abstract.",
    ]
    positions = [text.index(s) for s in order]
    assert positions == sorted(positions)
    assert chunks[0].count("<blockquote expandable>") == 2
    assert "Dirk Wübben" in html.unescape(chunks[0])


def test_english_only_footnote_has_no_duplicates() -> None:
    chunks = render_footnote(
        entry("Only English", "Abstract here.", summary="Summary here."), language="EN-US"
    )
    text = check(chunks[0])
    assert text.count("Only English") == 1
    assert text.count("Summary here.") == 1
    assert chunks[0].count("<blockquote expandable>") == 1


def test_labels_for_cross_and_replacement() -> None:
    p = Paper("2409.00001", "T", "A.", categories=("math.OC", "cs.LG"), version=3)
    cross = render_footnote(DigestEntry(p, AnnounceType.CROSS, ("cs.LG",), "s"), language="EN-US")[0]
    assert "cross-list from math.OC" in cross
    rep = render_footnote(DigestEntry(p, AnnounceType.REPLACE, ("cs.LG",), "s"), language="EN-US")[0]
    assert "replacement, v3" in rep


def test_summary_header_counts_and_more() -> None:
    p = Paper("2409.00001", "T", "A.", categories=("cs.LG",))
    d = Digest(
        ("cs.LG", "stat.ML"),
        date(2026, 9, 24),
        "EN-US",
        (
            DigestEntry(p, AnnounceType.NEW, ("cs.LG",), "s"),
            DigestEntry(p, AnnounceType.CROSS, ("cs.LG",), "s"),
        ),
        omitted=3,
        notices=("DeepL quota exhausted: showing English",),
    )
    text = check(render_summary(d)[0])
    assert text.startswith("cs.LG, stat.ML · 2026-09-24\n1 new · 1 cross-listed")
    assert "DeepL quota exhausted" in text
    assert text.rstrip().endswith("…and 3 more")


long_text = st.text(
    alphabet=st.sampled_from(list("&<>ab c.中🙂 ,-")) | st.characters(codec="utf-8"),
    min_size=0,
    max_size=9000,
)


@settings(max_examples=60, deadline=None)
@example(  # the case found: twelve collaboration names of ~420 characters, 5 KB on the link line
    title="A measurement",
    abstract="We measure.",
    summary_en="We measure.",
    tr_title="測定",
    tr_abstract="測定する。",
    tr_summary="測定する。",
    authors=[f"The Large Collaboration {i}: " + "Author & Co, " * 30 for i in range(12)],
    categories=["hep-ex"],
)
@example(
    title="T" * 5000,
    abstract="",
    summary_en="",
    tr_title="題" * 5000,
    tr_abstract="",
    tr_summary="",
    authors=[],
    categories=["cs.LG"] * 900,
)
@given(
    title=long_text.filter(lambda s: s.strip() != ""),
    abstract=long_text,
    summary_en=long_text,
    tr_title=long_text,
    tr_abstract=long_text,
    tr_summary=long_text,
    authors=st.lists(long_text, max_size=15),
    categories=st.lists(st.sampled_from(["cs.LG", "stat.ML", "hep-th", "math.OC"]), min_size=1, max_size=400),
)
def test_every_field_of_any_length_fits_in_valid_parts(
    title: str,
    abstract: str,
    summary_en: str,
    tr_title: str,
    tr_abstract: str,
    tr_summary: str,
    authors: list[str],
    categories: list[str],
) -> None:
    # A collaboration's author list of several kilobytes once made one part of 4,096+ (Telegram: 400).
    paper = Paper(
        arxiv_id="2409.01234",
        title=title,
        abstract=abstract,
        authors=tuple(authors),
        categories=tuple(categories),
        version=3,
    )
    tr = PaperTranslation("JA", tr_title, tr_abstract, tr_summary)
    item = DigestEntry(paper, AnnounceType.REPLACE, tuple(categories), summary_en, tr)
    chunks = render_footnote(item, language="JA", ref=7)
    visible = squash("".join(check(c) for c in chunks))  # each part within the limit, valid HTML
    for field in (title, abstract, summary_en, tr_title, tr_abstract, tr_summary, *authors[:12]):
        assert squash(" ".join(field.split())) in visible
    summary = render_summary(Digest(tuple(categories), date(2026, 9, 24), "JA", (item,)))
    assert [check(c) for c in summary]
