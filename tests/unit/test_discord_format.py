"""Discord rendering: every limit in every payload, Markdown and mentions neutralised, nothing lost,
duplicated or reordered."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from arxiv_digest.formatters.discord import (
    EMBED_AUTHOR_NAME_LIMIT,
    EMBED_COLOR,
    EMBED_DESCRIPTION_LIMIT,
    EMBED_FIELD_NAME_LIMIT,
    EMBED_FIELD_VALUE_LIMIT,
    EMBED_FIELDS_LIMIT,
    EMBED_FOOTER_LIMIT,
    EMBED_TITLE_LIMIT,
    EMBED_TOTAL_LIMIT,
    EMBEDS_PER_MESSAGE,
    MESSAGE_LIMIT,
    THREAD_NAME_LIMIT,
    escape_markdown,
    link_refs,
    neutralise_mentions,
    render_footnote,
    render_summary,
    summary_row,
    thread_name,
)
from arxiv_digest.formatters.i18n import t
from arxiv_digest.papers.models import AnnounceType, Digest, DigestEntry, Paper, PaperTranslation

ZWSP = "\u200b"
ABS = "https://arxiv.org/abs/"
MARKUP = set("\\*_~|`[]()<>#")

# ------------------------------------------------------------------------------------------------ helpers


def unescape(text: str) -> str:
    """Inverse of ``neutralise_mentions(escape_markdown(x))``."""
    text = text.replace("<" + ZWSP, "<")
    text = re.sub(f"@{ZWSP}(?={ZWSP}*(?:everyone|here))", "@", text, flags=re.IGNORECASE)
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)


def _link_end(text: str, i: int) -> tuple[str, str, int] | None:
    """At an unescaped ``[``: (label, url, end) of a masked link ``[label](url)``, or None."""
    j = i + 1
    while j < len(text) and text[j] != "]":
        j += 2 if text[j] == "\\" else 1
    if j >= len(text) or not text.startswith("](", j):
        return None
    k = text.index(")", j)
    return text[i + 1 : j], text[j + 2 : k], k + 1


def visible(text: str, *, link_prefixes: tuple[str, ...] = (ABS,)) -> str:
    """The text Discord shows for Markdown built by the formatter: our wrappers (``*``, ``**``), quote
    markers and link syntax dropped, escapes resolved. Asserts that every markup character not ours is
    escaped: no inline markup, no block marker at a line's start, no autolink, links only to our URLs."""
    text = text.replace("<" + ZWSP, "<")
    text = re.sub(f"@{ZWSP}(?={ZWSP}*(?:everyone|here))", "@", text, flags=re.IGNORECASE)
    out: list[str] = []
    i = 0
    line_start = True
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            assert i + 1 < len(text), f"dangling backslash in {text!r}"
            out.append(text[i + 1])
            i += 2
            line_start = False
            continue
        if ch == "\n":
            out.append(ch)
            i += 1
            line_start = True
            continue
        if line_start and text.startswith("> ", i):
            i += 2
            continue
        if ch == "*":  # our bold/italic wrappers: every * of a text is escaped
            i += 1
            continue
        if ch == "[":
            ref = re.match(r"\[(\d+)\](?: |$)", text[i:])
            if ref and line_start:
                out.append(ref.group(0))
                i += len(ref.group(0))
                line_start = False
                continue
            link = _link_end(text, i)
            assert link is not None, f"unescaped [ in {text[i : i + 80]!r}"
            label, url, end = link
            assert url.strip("<>").startswith(link_prefixes), url
            out.append(visible(label, link_prefixes=link_prefixes))
            i = end
            line_start = False
            continue
        assert ch not in MARKUP, f"unescaped {ch!r} in {text[max(0, i - 40) : i + 40]!r}"
        if line_start and not ch.isspace():
            assert ch not in "-+", f"list marker at a line's start: {text[i : i + 40]!r}"
            number = re.match(r"[0-9]+\.", text[i:])
            assert number is None, f"numbered list at a line's start: {text[i : i + 40]!r}"
        if ch == ":":
            assert not text.startswith("//", i + 1), f"autolink: {text[max(0, i - 20) : i + 20]!r}"
        if not ch.isspace():
            line_start = False
        out.append(ch)
        i += 1
    return "".join(out)


def assert_no_pings(text: str) -> None:
    assert re.search("@(everyone|here)", text, re.IGNORECASE) is None, text
    assert re.search(r"(?<!\]\()<[@#/:!&a-zA-Z]", text) is None, text  # but our ](<https://…>)


def squash(text: str) -> str:
    return "".join(text.split())


def check_payloads(payloads: list[dict[str, Any]]) -> list[str]:
    """Assert every Discord limit of every payload; return each embed's visible text (title, then
    description), in order."""
    texts: list[str] = []
    assert payloads
    for payload in payloads:
        assert set(payload) == {"embeds"}
        json.dumps(payload)  # JSON-ready
        embeds = payload["embeds"]
        assert 1 <= len(embeds) <= EMBEDS_PER_MESSAGE
        total = 0
        for embed in embeds:
            assert embed["color"] == EMBED_COLOR
            title = embed.get("title", "")
            description = embed.get("description", "")
            footer = embed.get("footer", {}).get("text", "")
            author = embed.get("author", {}).get("name", "")
            fields = embed.get("fields", [])
            assert title.strip() or description.strip()
            assert "description" not in embed or description.strip()
            assert len(title) <= EMBED_TITLE_LIMIT
            assert len(description) <= EMBED_DESCRIPTION_LIMIT
            assert len(footer) <= EMBED_FOOTER_LIMIT
            assert len(author) <= EMBED_AUTHOR_NAME_LIMIT
            assert len(fields) <= EMBED_FIELDS_LIMIT
            for field in fields:
                assert 0 < len(field["name"]) <= EMBED_FIELD_NAME_LIMIT
                assert 0 < len(field["value"]) <= EMBED_FIELD_VALUE_LIMIT
            total += len(title) + len(description) + len(footer) + len(author)
            total += sum(len(f["name"]) + len(f["value"]) for f in fields)
            assert_no_pings(title + "\n" + description + "\n" + footer)
            assert "\n" not in title
            texts.append(visible(title) + "\n" + visible(description))
        assert total <= EMBED_TOTAL_LIMIT
    return texts


def entry(
    title: str,
    abstract: str,
    *,
    tr: PaperTranslation | None = None,
    summary: str = "",
    authors: tuple[str, ...] = ("Ada Lovelace", "Dirk Wübben"),
    categories: tuple[str, ...] = ("cs.LG", "stat.ML"),
    kind: AnnounceType = AnnounceType.NEW,
) -> DigestEntry:
    paper = Paper(
        arxiv_id="2409.01234",
        title=title,
        abstract=abstract,
        authors=authors,
        categories=categories,
        version=2,
    )
    return DigestEntry(paper, kind, categories, summary, tr)


def expected_footnote(item: DigestEntry, language: str, ref: int | None) -> str:
    """Every field the footnote shows, in order, as the formatter is documented to show them."""
    paper, tr = item.paper, item.translation
    translated_title = tr is not None and tr.title.strip() != ""
    title = tr.title if tr is not None and translated_title else paper.title
    if not title.strip():
        title = f"arXiv:{paper.versioned_id}"
    parts = [(f"[{ref}] " if ref is not None else "") + title]
    if translated_title:
        parts.append(paper.title)
    parts.append(f"arXiv:{paper.versioned_id}")
    names = [a for a in paper.authors if a.strip()]
    authors = ", ".join(names[:12]) + (f" +{len(names) - 12}" if len(names) > 12 else "")
    parts.extend([", ".join(item.matched_categories or paper.categories), authors])
    kind = item.announce_type
    if kind is AnnounceType.REPLACE:
        parts.append(t(language, "label_replace", version=paper.version))
    elif kind is AnnounceType.REPLACE_CROSS:
        parts.append(t(language, "label_replace_cross", version=paper.version))
    elif kind is AnnounceType.CROSS:
        parts.append(t(language, "label_cross", categories=paper.categories[0]))
    if tr is not None and tr.summary.strip():
        parts.append(tr.summary)
    parts.append(item.summary_en)
    if tr is not None:
        parts.append(tr.abstract)
    parts.append(paper.abstract)
    return "".join(parts)


def footnote_visible(payloads: list[dict[str, Any]]) -> str:
    return "\n".join(check_payloads(payloads))


def same_text(shown: str, expected: str) -> None:
    """Equal up to blanks and the ``·`` separators: each character once, in order."""
    a = squash(shown).replace("·", "")
    b = squash(expected).replace("·", "")
    assert a == b


# ------------------------------------------------------------------------------------------- strategies

TOKENS = [
    "@everyone",
    "@here",
    "@EVERYONE",
    "<@123456789012345678>",
    "<@!1>",
    "<@&2>",
    "<#3>",
    "</cmd:4>",
    "<:e:5>",
    "<t:6:R>",
    "<https://x.y>",
    "https://github.com/a_b/c*d",
    "[x](https://evil.example)",
    "**",
    "__",
    "~~",
    "||",
    "```",
    "`",
    "\\",
    "\\*",
    "# ",
    "## ",
    "-# ",
    "- ",
    "+ ",
    "* ",
    "1. ",
    "12. ",
    "> ",
    ">>> ",
    "\n",
    "\n\n",
    "\r\n",
    "\u2028",
    " ",
    "  ",
    ZWSP,
    "中文字",
    "。",
    "🙂",
    "👩‍🔬",
    "🇺🇸",
    "é",
    ". ",
    "$x_i^*$",
    "[",
    "]",
    "(",
    ")",
    "<",
    ">",
    "@",
    "a",
    "word",
]
# Without U+200B, the invisible character the escaping inserts: the checks read the escapes back, which a
# ZWSP already in the text would make ambiguous (it would show exactly as typed all the same).
hostile = st.lists(st.sampled_from(TOKENS) | st.characters(codec="utf-8"), max_size=60).map(
    lambda parts: "".join(parts).replace(ZWSP, "")
)
nonblank = hostile.filter(lambda s: s.strip() != "")


def repeated(unit: st.SearchStrategy[str], low: int, high: int) -> st.SearchStrategy[str]:
    return st.tuples(unit, st.integers(min_value=low, max_value=high)).map(lambda p: p[0] * p[1])


UNITS = st.sampled_from(
    [
        "a",
        "word ",
        "x y. ",
        "中",
        "要旨。",
        "🙂",
        "👩‍🔬",
        "*_~",
        "@everyone ",
        "<@1> ",
        "- a\n",
        "1. b\n",
        "é",
    ]
)

# ---------------------------------------------------------------------------------------------- escaping


@settings(max_examples=300, deadline=None)
@given(text=hostile)
def test_escape_then_neutralise_is_invertible_and_leaves_no_markup(text: str) -> None:
    cleaned = neutralise_mentions(escape_markdown(text))
    assert unescape(cleaned) == text
    assert visible(cleaned) == text  # asserts no unescaped markup, marker or autolink survives
    assert_no_pings(cleaned)


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("# Heading", "\\# Heading"),
        ("-# subtext", "\\-\\# subtext"),
        ("- item\n  + item", "\\- item\n  \\+ item"),
        ("1. first\n2) second", "1\\. first\n2\\) second"),
        ("> quote\n>>> all", "\\> quote\n\\>\\>\\> all"),
        ("**b** __u__ ~~s~~ ||sp|| `c`", "\\*\\*b\\*\\* \\_\\_u\\_\\_ \\~\\~s\\~\\~ \\|\\|sp\\|\\| \\`c\\`"),
        ("[t](https://e.x)", "\\[t\\]\\(https\\://e.x\\)"),
        ("a - b 1. c", "a - b 1. c"),
        ("back\\slash", "back\\\\slash"),
        ("plain text, 中文。", "plain text, 中文。"),
    ],
)
def test_escape_markdown_examples(text: str, escaped: str) -> None:
    assert escape_markdown(text) == escaped


@pytest.mark.parametrize(
    "text",
    ["@everyone", "@here", "@Everyone", "<@123>", "<@!123>", "<@&123>", "<#123>", "</name:123>", "<t:1:R>"],
)
def test_mentions_do_not_resolve(text: str) -> None:
    out = neutralise_mentions(text)
    assert out != text
    assert out.replace(ZWSP, "") == text  # visible text unchanged
    assert_no_pings(out)


def test_neutralise_leaves_ordinary_text() -> None:
    assert neutralise_mentions("a < b, mail@example.org, @someone") == "a < b, mail@example.org, @someone"


# ---------------------------------------------------------------------------------------------- footnote


def test_footnote_layout_short_paper() -> None:
    tr = PaperTranslation("ZH-HANS", "译题", "译文摘要。", "译文总结")
    item = entry(
        "English title", "English abstract.", tr=tr, summary="English summary", kind=AnnounceType.REPLACE
    )
    payloads = render_footnote(item, language="ZH-HANS", ref=2)
    assert len(payloads) == 1
    [embed] = payloads[0]["embeds"]
    assert embed["title"] == "[2] 译题"
    assert embed["url"] == "https://arxiv.org/abs/2409.01234"
    assert "footer" not in embed
    assert embed["description"] == (
        "*English title*\n"
        "[arXiv:2409.01234v2](https://arxiv.org/abs/2409.01234) · cs.LG, stat.ML · "
        "Ada Lovelace, Dirk Wübben\n"
        f"*{t('ZH-HANS', 'label_replace', version=2)}*\n"
        "\n"
        "**译文总结**\n"
        "*English summary*\n"
        "\n"
        "> 译文摘要。\n"
        "\n"
        "> English abstract."
    )
    same_text(footnote_visible(payloads), expected_footnote(item, "ZH-HANS", 2))


def test_english_only_footnote_has_no_duplicates() -> None:
    payloads = render_footnote(
        entry("Only English", "Abstract here.", summary="Summary here."), language="EN-US"
    )
    [embed] = payloads[0]["embeds"]
    assert embed["title"] == "Only English"
    text = footnote_visible(payloads)
    assert text.count("Only English") == 1
    assert text.count("Summary here.") == 1
    assert embed["description"].count("> ") == 1
    assert "**Summary here.**" in embed["description"]


def test_labels_for_cross_and_replacement() -> None:
    p = Paper("2409.00001", "T", "A.", categories=("math.OC", "cs.LG"), version=3)
    cross = render_footnote(DigestEntry(p, AnnounceType.CROSS, ("cs.LG",), "s"), language="EN-US")
    assert "*cross-list from math.OC*" in cross[0]["embeds"][0]["description"]
    rep = render_footnote(DigestEntry(p, AnnounceType.REPLACE, ("cs.LG",), "s"), language="EN-US")
    assert "*replacement, v3*" in rep[0]["embeds"][0]["description"]
    both = render_footnote(DigestEntry(p, AnnounceType.REPLACE_CROSS, ("cs.LG",), "s"), language="DE")
    assert f"*{t('DE', 'label_replace_cross', version=3)}*" in both[0]["embeds"][0]["description"]


def test_authors_capped_at_twelve() -> None:
    authors = tuple(f"Author {i}" for i in range(3000))
    payloads = render_footnote(entry("T", "A.", authors=authors), language="EN-US")
    description = payloads[0]["embeds"][0]["description"]
    assert "Author 11 +2988" in description
    assert "Author 12," not in description


def test_twenty_thousand_character_abstract_continues_without_loss() -> None:
    abstract = "We study a hard problem and solve it. " * 527  # 20,026 characters
    tr = PaperTranslation("DE", "Ein Titel", "Wir lösen es. " * 1500, "Gelöst.")
    item = entry("A title", abstract, tr=tr, summary="Solved.")
    payloads = render_footnote(item, language="DE", ref=4)
    embeds = [e for p in payloads for e in p["embeds"]]
    assert len(payloads) > 1
    assert embeds[0]["title"] == "[4] Ein Titel"
    assert all("title" not in e and "url" not in e for e in embeds[1:])  # continuation embeds
    n = len(embeds)
    assert [e["footer"]["text"] for e in embeds] == [f"arXiv:2409.01234v2 · {i}/{n}" for i in range(1, n + 1)]
    assert all(e["description"].startswith("> ") for e in embeds[1:])  # the quote continues as a quote
    same_text(footnote_visible(payloads), expected_footnote(item, "DE", 4))
    # Cut at sentence ends, not inside words.
    for e in embeds[:-1]:
        assert e["description"].endswith((".", "**", "*"))
    # Messages are filled: no message but the last holds less than half of what it could.
    totals = [sum(len(e.get("description", "")) for e in p["embeds"]) for p in payloads]
    assert all(x > EMBED_TOTAL_LIMIT // 2 for x in totals[:-1])


def test_title_longer_than_an_embed_title_continues_in_the_description() -> None:
    title = "Very long title word " * 40
    payloads = render_footnote(entry(title, "Abstract."), language="EN-US", ref=1)
    embed = payloads[0]["embeds"][0]
    assert len(embed["title"]) <= EMBED_TITLE_LIMIT
    assert embed["description"].startswith("**")
    same_text(footnote_visible(payloads), expected_footnote(entry(title, "Abstract."), "EN-US", 1))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(
    title=hostile,
    abstract=hostile,
    summary=hostile,
    tr=st.none() | st.builds(PaperTranslation, st.just("JA"), hostile, hostile, hostile),
    authors=st.lists(hostile, max_size=15),
    kind=st.sampled_from(list(AnnounceType)),
    ref=st.none() | st.integers(min_value=1, max_value=500),
)
def test_hostile_footnote_within_limits_neutralised_and_lossless(
    title: str,
    abstract: str,
    summary: str,
    tr: PaperTranslation | None,
    authors: list[str],
    kind: AnnounceType,
    ref: int | None,
) -> None:
    item = entry(title, abstract, tr=tr, summary=summary, authors=tuple(authors), kind=kind)
    payloads = render_footnote(item, language="JA", ref=ref)
    same_text(footnote_visible(payloads), expected_footnote(item, "JA", ref))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@example(  # twelve collaboration names of 5 KB each, thousands of authors
    title="A measurement",
    abstract="We measure.",
    tr_title="測定",
    tr_abstract="測定する。",
    authors=[f"The Large Collaboration {i}: " + "Author & Co, " * 400 for i in range(3000)],
)
@example(title="T" * 20000, abstract="", tr_title="題" * 20000, tr_abstract="", authors=[])
@example(
    title="👩‍🔬" * 3000,
    abstract="- a\n1. b\n> c\n# d\n@everyone <@1>\n" * 700,
    tr_title="",
    tr_abstract="🇺🇸é" * 7000,
    authors=["@here"] * 20,
)
@given(
    title=repeated(UNITS, 0, 3000) | nonblank,
    abstract=repeated(UNITS, 0, 20000),
    tr_title=repeated(UNITS, 0, 400) | hostile,
    tr_abstract=repeated(UNITS, 0, 12000),
    authors=st.lists(repeated(UNITS, 0, 2000), max_size=14),
)
def test_huge_footnote_within_limits_and_lossless(
    title: str, abstract: str, tr_title: str, tr_abstract: str, authors: list[str]
) -> None:
    tr = PaperTranslation("ZH-HANT", tr_title, tr_abstract, "總結" * 50)
    item = entry(title, abstract, tr=tr, summary="Summary. " * 40, authors=tuple(authors))
    payloads = render_footnote(item, language="ZH-HANT", ref=12)
    same_text(footnote_visible(payloads), expected_footnote(item, "ZH-HANT", 12))
    embeds = [e for p in payloads for e in p["embeds"]]
    if len(embeds) > 1:
        assert all(e["footer"]["text"].endswith(f"/{len(embeds)}") for e in embeds)


# ----------------------------------------------------------------------------------------------- summary


def digest_of(entries: list[DigestEntry], *, omitted: int = 0, notices: tuple[str, ...] = ()) -> Digest:
    return Digest(("cs.LG", "stat.ML"), date(2026, 9, 24), "ZH-HANS", tuple(entries), omitted, notices)


REF = re.compile(r"^(?:\[(\d+)\](?: |$)|\[\\\[(\d+)\\\]\]\()", re.MULTILINE)


def refs(messages: list[str]) -> list[int]:
    return [int(a or b) for m in messages for a, b in REF.findall(m)]


def check_summary(messages: list[str], limit: int, link_prefixes: tuple[str, ...] = (ABS,)) -> str:
    assert messages
    for m in messages:
        assert 0 < len(m) <= limit
        assert_no_pings(m)
    return "\n".join(visible(m, link_prefixes=link_prefixes) for m in messages)


def test_summary_layout() -> None:
    p = Paper("2409.00001", "Attention is all you need", "A.", categories=("cs.LG",))
    tr = PaperTranslation("ZH-HANS", "注意力", "摘要", "提出 Transformer。")
    d = Digest(
        ("cs.LG", "stat.ML"),
        date(2026, 9, 24),
        "EN-US",
        (
            DigestEntry(p, AnnounceType.NEW, ("cs.LG",), "We propose it.", tr),
            DigestEntry(p, AnnounceType.CROSS, ("cs.LG",), "We propose it."),
        ),
        omitted=3,
        notices=("DeepL quota exhausted: showing English",),
    )
    assert render_summary(d) == [
        "**cs.LG, stat.ML · 2026-09-24**\n"
        "1 new · 1 cross-listed\n"
        "*DeepL quota exhausted: showing English*\n"
        "\n"
        "[1] [Attention is all you need](<https://arxiv.org/abs/2409.00001>) — 提出 Transformer。\n"
        "\n"
        "[2] [Attention is all you need](<https://arxiv.org/abs/2409.00001>) — We propose it.\n"
        "\n"
        "*…and 3 more*"
    ]
    linked = render_summary(d, footnote_links=["https://discord.com/channels/1/2/3"])[0]
    assert "\n[\\[1\\]](<https://discord.com/channels/1/2/3>) [Attention" in linked
    assert "\n[2] [Attention" in linked


def test_row_with_unbalanced_brackets_keeps_a_link() -> None:
    row = summary_row(3, entry("A [broken title", "x", summary="s"))
    assert row == "[3] [arXiv:2409.01234](<https://arxiv.org/abs/2409.01234>) A \\[broken title — s"
    balanced = summary_row(3, entry("[Re] A title", "x", summary="s"))
    assert balanced == "[3] [\\[Re\\] A title](<https://arxiv.org/abs/2409.01234>) — s"


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(
    titles=st.lists(nonblank, min_size=1, max_size=60),
    summary=hostile,
    limit=st.sampled_from([MESSAGE_LIMIT, 500]),
)
def test_summary_rows_split_only_between_rows(titles: list[str], summary: str, limit: int) -> None:
    entries = [entry(title, "abstract", summary=summary) for title in titles]
    digest = digest_of(entries, omitted=4, notices=("Notice *one*",))
    messages = render_summary(digest, limit=limit)
    shown = check_summary(messages, limit)
    assert refs(messages) == list(range(1, len(titles) + 1))
    rows = [summary_row(i, e) for i, e in enumerate(entries, start=1)]
    if all(len(r) <= limit for r in rows):
        whole = render_summary(digest, limit=10**9)
        assert len(whole) == 1
        assert "\n\n".join(messages) == whole[0]  # the cuts are exactly row separators
        for m in messages[1:]:
            assert m.startswith(("[", "*…"))
        for r in rows:
            assert sum(m.count(r) for m in messages) >= 1
    # Titles and summaries, in order, each present.
    flat = squash(shown)
    pos = 0
    for e in entries:
        for part in (e.paper.title, e.summary_en):
            pos = flat.index(squash(part), pos) + len(squash(part))
    assert flat.count(squash("https://arxiv.org/abs/")) == 0  # URLs are link targets, not text
    assert sum(m.count(f"](<{ABS}2409.01234>)") for m in messages) == len(entries)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(
    title=repeated(UNITS, 1, 3000),
    summary=repeated(UNITS, 0, 20000),
    limit=st.sampled_from([MESSAGE_LIMIT, 300, 64]),
)
def test_pathological_row_splits_without_breaking_its_link(title: str, summary: str, limit: int) -> None:
    entries = [
        entry("Short one", "a", summary="s1"),
        entry(title, "b", summary=summary),
        entry("Short three", "c", summary="s3"),
    ]
    messages = render_summary(digest_of(entries), limit=limit)
    shown = squash(check_summary(messages, limit))  # each within limit, links whole and to arxiv.org
    assert refs(messages) == [1, 2, 3]
    for part in ("Short one", "s1", title, summary, "Short three", "s3"):
        assert squash(part) in shown
    assert shown.count(squash(summary)) >= 1


def test_link_refs() -> None:
    entries = [entry(f"Title {i}", "a", summary="s") for i in range(1, 4)]
    [message] = render_summary(digest_of(entries))
    links = {1: "https://discord.com/channels/1/2/10", 3: "https://discord.com/channels/1/2/30"}
    linked = link_refs(message, links)
    assert linked is not None
    assert linked == render_summary(digest_of(entries), footnote_links=[links[1], None, links[3]])[0]
    assert "[\\[1\\]](<https://discord.com/channels/1/2/10>) [Title 1]" in linked
    assert "\n[2] [Title 2]" in linked
    check_summary([linked], MESSAGE_LIMIT, link_prefixes=(ABS, "https://discord.com/"))
    assert link_refs(message, {}) == message
    assert link_refs(message, links, limit=len(message) + 10) is None


@settings(max_examples=60, deadline=None)
@given(titles=st.lists(nonblank, min_size=1, max_size=20), summary=hostile)
def test_link_refs_of_any_summary_only_touches_refs(titles: list[str], summary: str) -> None:
    entries = [entry(title, "x", summary=summary) for title in titles]
    links = {i: f"https://discord.com/channels/1/2/{i}" for i in range(1, len(titles) + 1)}
    messages = render_summary(digest_of(entries))
    for m in messages:
        x = link_refs(m, links, limit=10**9)
        assert x is not None
        assert visible(x, link_prefixes=(ABS, "https://discord.com/")) == visible(m)
        assert refs([x]) == refs([m])
    [whole] = render_summary(digest_of(entries), limit=10**9)
    linked_whole = render_summary(digest_of(entries), footnote_links=list(links.values()), limit=10**9)
    assert [link_refs(whole, links, limit=10**9)] == linked_whole


# -------------------------------------------------------------------------------------------- thread name


@settings(max_examples=200, deadline=None)
@given(
    categories=st.lists(hostile | st.sampled_from(["cs.LG", "stat.ML", "hep-th"]), max_size=200),
    day=st.none() | st.dates(),
)
def test_thread_name(categories: list[str], day: date | None) -> None:
    name = thread_name(Digest(tuple(categories), day, "EN-US", ()))
    assert 0 < len(name) <= THREAD_NAME_LIMIT
    assert name == " ".join(name.split())  # one line, no runs of blanks
    assert all(unicodedata.category(ch)[0] != "C" for ch in name)  # no control or format characters
    if day is not None:
        assert name.endswith(day.isoformat())


def test_thread_name_examples() -> None:
    assert thread_name(digest_of([])) == "cs.LG, stat.ML · 2026-09-24"
    many = Digest(tuple(f"cat.{i}" for i in range(100)), date(2026, 9, 24), "EN-US", ())
    name = thread_name(many)
    assert len(name) <= THREAD_NAME_LIMIT
    assert name.startswith("cat.0, cat.1, ")
    assert name.endswith("… · 2026-09-24")
    assert thread_name(Digest((), None, "EN-US", ())) == "arXiv"


# ----------------------------------------------------------------------------------------------- purity


def test_formatters_are_pure() -> None:
    tr = PaperTranslation("JA", "題", "要旨。" * 3000, "要約")
    item = entry("T *x* @everyone", "Abstract. " * 2500, tr=tr, summary="S")
    first = render_footnote(item, language="JA", ref=1)
    assert render_footnote(item, language="JA", ref=1) == first
    assert first is not render_footnote(item, language="JA", ref=1)
    d = digest_of([item] * 20, omitted=2, notices=("n",))
    assert render_summary(d) == render_summary(d)
    assert thread_name(d) == thread_name(d)
    m = render_summary(d)[0]
    assert link_refs(m, {1: "https://discord.com/channels/1/2/3"}) == link_refs(
        m, {1: "https://discord.com/channels/1/2/3"}
    )
