"""The Markdown formatter: the reference layout of qhduan/cn-chat-arxiv, byte for byte.

Two sets of goldens:

- **ours**, in the repository: ``tests/fixtures/golden/`` holds a digest of the four papers of the captured
  feed of 2026-09-24 (arXiv metadata, CC0) with Chinese translations and summaries written by this project's
  authors, and the Markdown written out by hand in the reference layout (labels and the English summary line
  included). It is rendered from its JSON and compared byte for byte, and parsed back with the same parser as
  the reference digests, so both follow one layout.
- **the reference's own** digests (``cs.LG.md`` of cn-chat-arxiv at two commits): that repository has no
  licence, so they are not copied here. Set ``ARXIV_DIGEST_REFERENCE`` to a folder holding them (``golden/``,
  as described in ``tests/fixtures/README.md``) to run those comparisons; without it they skip, saying so.

The reference goldens are parsed back into their fields (id, English title, translated title, summaries,
abstracts), rebuilt as ``Digest`` objects and rendered; the result must equal the golden text byte for byte
after three documented normalisations of the *expected* text:

- links: the reference wrote ``http://arxiv.org/abs/…`` for its 2023 records; we always write
  ``paper.abs_url`` (https);
- English titles of 2023 records: the reference stored the old-RSS title with its
  `` (arXiv:2310.19958v1 [cs.LG])`` suffix and showed it in the footnote (its table already shows the
  title without it). Our ``Paper.title`` is the title alone.
- fields holding what GitHub's Markdown would eat (``Schr\\"odinger`` showed there as ``Schr"odinger``) are
  escaped as ``markdown.escape_text`` does: 8 lines of the 2023 digest (``\\%`` and ``\\"``), none of
  the 2025 one.
  That the escaped text shows as written is checked on its own, against cmark-gfm, further down.

The golden abstracts are fed in exactly as they are (cut at 1,000 characters, with the RSS "Announce Type"
prefix and its translation), since the formatter must not alter abstracts.

The other tests use papers of ``tests/fixtures/papers/markdown_cases.json``: real arXiv titles and abstracts
that break Markdown (``|``, ``[ ]``, ``*``, ``<…>``, ``&``, ``>``, LaTeX), with stand-in translations of ours.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, replace
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options
from hypothesis import example, given, settings
from hypothesis import strategies as st

from arxiv_digest.formatters.markdown import (
    announce_label,
    escape_cell,
    escape_link_text,
    escape_text,
    render_digest,
    render_footnote,
)
from arxiv_digest.papers.models import AnnounceType, Digest, DigestEntry, Paper, PaperTranslation
from tests.corpora import FIXTURES

OUR_GOLDEN = FIXTURES / "golden" / "digest_2026-09-24_zh"
CASES = FIXTURES / "papers" / "markdown_cases.json"
REFERENCE_ENV = "ARXIV_DIGEST_REFERENCE"
GOLDEN_2023 = "cs.LG_2023-12-25_2544ab27.md"
GOLDEN_2025 = "cs.LG_2025-08-18_37681c21.md"
GOLDEN_EMPTY = "cs.LG_2026-08-22_bb505b83_empty.md"
EMPTY_ZH = "# 摘要\n\n| Ref | Title | Summary |\n| --- | --- | --- |\n\n\n# 详细\n\n\n\n"

ZH = "ZH-HANS"
EN = "EN-US"
OLD_SUFFIX = re.compile(r" \(arXiv:\d{4}\.\d{4,5}v\d+ \[[\w.-]+\]( UPDATED)?\)$")


def reference(name: str) -> Path:
    """A digest of qhduan/cn-chat-arxiv from the folder named by ``ARXIV_DIGEST_REFERENCE``; skips without."""
    folder = os.environ.get(REFERENCE_ENV, "").strip()
    if not folder:
        pytest.skip(
            f"compares with cn-chat-arxiv's own digests: set {REFERENCE_ENV} to the folder holding golden/"
            " (see tests/fixtures/README.md)"
        )
    path = Path(folder) / "golden" / name
    if not path.is_file():
        pytest.fail(f"{REFERENCE_ENV}={folder}: no golden/{name} there")
    return path


# --- reading the golden digests --------------------------------------------------------------------------


@dataclass(frozen=True)
class GoldenPaper:
    ref: int
    arxiv_id: str
    table_title: str
    translated_title: str
    english_title: str  # as the footnote shows it (2023 records: with the old-RSS suffix)
    summary: str
    summary_en: str
    translated_abstract: str
    abstract: str
    label: str = ""  # ours only: "(cross-list from …)" after the title link and after the footnote's link


_ROW = re.compile(r"\| \[\^(\d+)\] \| \[(.*)\]\((\S+)\)(?: \(([^()|]+)\))? \| (.*) \|")
_FOOTNOTE = re.compile(
    r"\[\^(\d+)\]: (.*)\n\n"  # translated title
    r"    (.*)\n\n    \[(\S+)\]\((\S+)\)(?: \(([^()]+)\))?\n\n"  # English title, link, label
    r"    (.*)\n\n    (.*)\n\n"  # summary, English summary
    r"    (.*)\n\n    (.*)\n    "  # translated abstract, abstract, closing four-space line
)


def parse_golden(text: str) -> list[GoldenPaper]:
    """The fields of every paper of a digest in the reference layout (zh headers); fails on any deviation."""
    head, sep, rest = text.partition("\n\n# 详细\n\n")
    assert sep
    assert rest.endswith("\n\n")
    rows = head.split("| --- | --- | --- |\n", 1)[1]
    body = rest[:-2]
    row_lines = rows.split("\n") if rows else []
    footnotes = re.split(r"\n(?=\[\^\d+\]: )", body) if body else []
    assert len(row_lines) == len(footnotes)
    papers = []
    for row, footnote in zip(row_lines, footnotes, strict=True):
        r = _ROW.fullmatch(row)
        f = _FOOTNOTE.fullmatch(footnote)
        assert r is not None
        assert f is not None
        ref, table_title, link, label, table_summary = r.groups()
        fref, tr_title, en_title, link1, link2, label2, summary, summary_en, tr_abstract, abstract = (
            f.groups()
        )
        assert ref == fref
        assert link == link1 == link2
        assert label == label2
        assert table_summary == summary
        papers.append(
            GoldenPaper(
                ref=int(ref),
                arxiv_id=link.rsplit("/", 1)[1],
                table_title=table_title,
                translated_title=tr_title,
                english_title=en_title,
                summary=summary,
                summary_en=summary_en,
                translated_abstract=tr_abstract,
                abstract=abstract,
                label=label or "",
            )
        )
    return papers


def entry_from_golden(g: GoldenPaper, *, summary_en: str | None = None) -> DigestEntry:
    paper = Paper(arxiv_id=g.arxiv_id, title=g.table_title, abstract=g.abstract, categories=("cs.LG",))
    translation = PaperTranslation(ZH, g.translated_title, g.translated_abstract, g.summary)
    return DigestEntry(
        paper=paper,
        announce_type=AnnounceType.NEW,  # the reference labels nothing
        matched_categories=("cs.LG",),
        summary_en=g.summary_en if summary_en is None else summary_en,
        translation=translation,
    )


def digest_of(
    entries: list[DigestEntry], *, language: str = ZH, omitted: int = 0, notices: tuple[str, ...] = ()
) -> Digest:
    return Digest(
        categories=("cs.LG",),
        announced_on=None,
        language=language,
        entries=tuple(entries),
        omitted=omitted,
        notices=notices,
    )


def normalise_expected(text: str) -> str:
    """The three documented normalisations of the golden text (see the module docstring)."""
    text = text.replace("http://arxiv.org/abs/", "https://arxiv.org/abs/")
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if line.startswith("    ") and not line.startswith("    [http") and OLD_SUFFIX.search(line):
            line = OLD_SUFFIX.sub("", line)
        lines[i] = _escaped_fields(line)
    return "\n".join(lines)


def _escaped_fields(line: str) -> str:
    """A line of a reference digest with its field escaped as ``escape_text`` escapes ours."""
    row = _ROW.fullmatch(line)
    if row is not None:
        ref, title, link, _, summary = row.groups()
        return f"| [^{ref}] | [{escape_link_text(title)}]({link}) | {escape_cell(summary)} |"
    head = re.fullmatch(r"(\[\^\d+\]: )(.*)", line)
    if head is not None:
        return head.group(1) + escape_text(head.group(2))
    if line.startswith("    ") and not line.startswith("    [http"):
        return "    " + escape_text(line[4:])
    return line


@pytest.fixture(params=[GOLDEN_2023, GOLDEN_2025], ids=["2023", "2025"])
def golden(request: pytest.FixtureRequest) -> tuple[str, list[GoldenPaper]]:
    text = reference(request.param).read_text(encoding="utf-8")
    return text, parse_golden(text)


def _translation(data: dict[str, str]) -> PaperTranslation:
    return PaperTranslation(data["language"], data["title"], data["abstract"], data["summary"])


def load_record(arxiv_id: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(CASES.read_text(encoding="utf-8"))[arxiv_id]
    return record


def entry_from_record(arxiv_id: str, **kw: object) -> DigestEntry:
    """A paper of ``markdown_cases.json``: its arXiv title and abstract, with our stand-in translation."""
    rec = load_record(arxiv_id)
    paper = Paper(arxiv_id=arxiv_id, title=rec["title"], abstract=rec["abstract"], categories=("cs.LG",))
    entry = DigestEntry(
        paper=paper,
        announce_type=AnnounceType.NEW,
        matched_categories=("cs.LG",),
        summary_en=rec["summary_en"],
        translation=_translation(rec["translation"]),
    )
    return replace(entry, **kw)  # type: ignore[arg-type]


def our_golden() -> tuple[Digest, str]:
    """Our golden digest (``tests/fixtures/golden``): the Digest from its JSON, and its Markdown."""
    data = json.loads(OUR_GOLDEN.with_suffix(".json").read_text(encoding="utf-8"))
    entries = []
    for p in data["papers"]:
        paper = Paper(
            arxiv_id=p["arxiv_id"],
            title=p["title"],
            abstract=p["abstract"],
            categories=tuple(p["categories"]),
            version=p["version"],
        )
        kind = AnnounceType(p["announce_type"])
        entries.append(DigestEntry(paper, kind, ("cs.LG",), p["summary_en"], _translation(p["translation"])))
    digest = Digest(
        categories=tuple(data["categories"]),
        announced_on=date.fromisoformat(data["announced_on"]),
        language=data["language"],
        entries=tuple(entries),
    )
    return digest, OUR_GOLDEN.with_suffix(".md").read_text(encoding="utf-8")


def skeleton(text: str) -> str:
    """The layout alone: every table row, footnote head and indented line replaced by a placeholder."""
    text = re.sub(r"(?m)^\| \[\^\d+\] \| .* \|$", "| [^n] | TITLE | SUMMARY |", text)
    text = re.sub(r"(?m)^\[\^\d+\]: .*$", "[^n]: HEAD", text)
    return re.sub(r"(?m)^    .*$", "    FIELD", text)


def layout(papers: int) -> str:
    """The skeleton of a zh digest of ``papers`` papers in the reference layout, written out from its
    description: a row per paper, then per paper a head, six fields and a closing four-space line."""
    rows = ["| [^n] | TITLE | SUMMARY |"] * papers
    footnote = "[^n]: HEAD\n\n" + "\n\n".join(["    FIELD"] * 6) + "\n    FIELD"
    return (
        "# 摘要\n\n| Ref | Title | Summary |\n| --- | --- | --- |\n"
        + "\n".join(rows)
        + "\n\n# 详细\n\n"
        + "\n".join([footnote] * papers)
        + "\n\n"
    )


def split_row(row: str) -> list[str]:
    """Cells of a GFM table row: split on pipes not escaped by a backslash."""
    assert row.startswith("| ")
    assert row.endswith(" |")
    return [c.strip() for c in re.split(r"(?<!\\)\|", row[1:-1])]


def table_rows(text: str) -> list[str]:
    head = text.split("| --- | --- | --- |\n", 1)[1].split("\n\n", 1)[0]
    return head.split("\n") if head else []


@dataclass
class Shown:
    """What GitHub shows of a digest (cmark-gfm, tables and footnotes): per table row its cells' text and
    the title link's href; per footnote its paragraphs' text. Whitespace runs are one space."""

    rows: list[list[str]]
    hrefs: list[str]
    footnotes: list[list[str]]
    raw_html: str


class _GfmReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.hrefs: list[str] = []
        self.footnotes: list[list[str]] = []
        self._cell: list[str] | None = None
        self._para: list[str] | None = None
        self._in_body = False
        self._in_footnotes = False
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows.append([])
        elif tag == "td" and self._in_body:
            self._cell = []
        elif tag == "a" and self._cell is not None and len(self.rows[-1]) == 1:
            self.hrefs.append(values.get("href") or "")
        elif tag == "section" and "data-footnotes" in values:
            self._in_footnotes = True
        elif tag == "li" and self._in_footnotes:
            self.footnotes.append([])
        elif tag == "p" and self._in_footnotes:
            self._para = []
        elif tag == "a" and "data-footnote-backref" in values:
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "p" and self._para is not None:
            self.footnotes[-1].append(" ".join("".join(self._para).split()))
            self._para = None
        elif tag == "a" and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._cell is not None:
            self._cell.append(data)
        if self._para is not None:
            self._para.append(data)


def shown(markdown: str) -> Shown:
    html_text = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_FOOTNOTES)
    reader = _GfmReader()
    reader.feed(html_text)
    reader.close()
    return Shown(reader.rows, reader.hrefs, reader.footnotes, html_text)


def one_space(text: str) -> str:
    return " ".join(text.split())


# --- our golden ------------------------------------------------------------------------------------------


def test_our_golden_bytes() -> None:
    digest, expected = our_golden()
    assert len(digest.entries) == 4
    assert render_digest(digest) == expected


def test_our_golden_follows_the_reference_layout() -> None:
    digest, text = our_golden()
    papers = parse_golden(text)  # the parser of the reference digests reads ours completely
    assert [p.arxiv_id for p in papers] == [e.paper.arxiv_id for e in digest.entries]
    assert [p.label for p in papers] == ["", "", "交叉列出，来自 stat.ME", "修订版 v3"]
    for paper, entry in zip(papers, digest.entries, strict=True):
        assert paper.english_title == paper.table_title == entry.paper.title
        assert paper.abstract == entry.paper.abstract  # whole, not cut at 1,000 characters
        assert paper.summary_en == entry.summary_en != ""  # the English summary line is filled
        assert "Announce Type" not in paper.abstract
        assert entry.translation is not None
        assert (paper.translated_title, paper.translated_abstract, paper.summary) == (
            entry.translation.title,
            entry.translation.abstract,
            entry.translation.summary,
        )


def test_our_golden_has_the_reference_layout() -> None:
    _, ours = our_golden()
    assert skeleton(ours) == layout(4)
    assert skeleton(EMPTY_ZH) == layout(0) == EMPTY_ZH


@pytest.mark.parametrize("name", [GOLDEN_2023, GOLDEN_2025])
def test_the_reference_digests_have_that_layout(name: str) -> None:
    theirs = reference(name).read_text(encoding="utf-8")
    assert skeleton(theirs) == layout(len(parse_golden(theirs)))


# --- the reference's goldens --------------------------------------------------------------------------------


def test_golden_files_parse_completely(golden: tuple[str, list[GoldenPaper]]) -> None:
    _, papers = golden
    assert len(papers) in (26, 5)
    assert [p.ref for p in papers] == list(range(1, len(papers) + 1))
    # The reference never filled the English summary line.
    assert all(p.summary_en == "" for p in papers)


def test_golden_bytes(golden: tuple[str, list[GoldenPaper]]) -> None:
    text, papers = golden
    rendered = render_digest(digest_of([entry_from_golden(p) for p in papers]))
    assert rendered == normalise_expected(text)


@pytest.mark.parametrize(("name", "escaped"), [(GOLDEN_2023, 8), (GOLDEN_2025, 0)])
def test_golden_escaping_touches_few_lines(name: str, escaped: int) -> None:
    text = reference(name).read_text(encoding="utf-8")
    changed = [line for line in text.split("\n") if _escaped_fields(line) != line]
    assert len(changed) == escaped, changed
    assert all("\\" in line or "<" in line for line in changed)


def test_golden_normalisation_is_limited() -> None:
    # Guard the test itself: normalisation only touches links and the 2023 title suffixes.
    text = reference(GOLDEN_2025).read_text(encoding="utf-8")
    normalised = normalise_expected(text)
    assert normalised.count("http://") == 0
    assert len(text) - len(normalised) == sum(
        len(m.group(0)) for m in re.finditer(r" \(arXiv:\S+ \[\S+\]\)(?=\n)", text)
    ) - text.count("http://arxiv.org/abs/")
    assert normalised.count("\n") == text.count("\n")


def test_golden_2025_keeps_the_abstracts_as_given() -> None:
    papers = parse_golden(reference(GOLDEN_2025).read_text(encoding="utf-8"))
    rendered = render_digest(digest_of([entry_from_golden(p) for p in papers]))
    # The reference's translated "Announce Type" header and cut abstracts pass through untouched.
    assert "    arXiv:2404.01946v1 公告类型：交叉 摘要：" in rendered
    assert "\n    arXiv:2404.01946v1 Announce Type: cross  Abstract: Deep learning" in rendered


def test_golden_with_english_summary_filled(golden: tuple[str, list[GoldenPaper]]) -> None:
    text, papers = golden
    entries = [entry_from_golden(p, summary_en=f"English summary of paper {p.ref}.") for p in papers]
    expected = normalise_expected(text)
    for p in papers:
        blank = f"    {escape_text(p.summary)}\n\n    \n\n"
        assert expected.count(blank) == 1
        filled = f"    {escape_text(p.summary)}\n\n    English summary of paper {p.ref}.\n\n"
        expected = expected.replace(blank, filled)
    assert render_digest(digest_of(entries)) == expected


def test_empty_digest_is_the_reference_empty_page() -> None:
    assert len(EMPTY_ZH.encode("utf-8")) == 70
    assert render_digest(digest_of([])) == EMPTY_ZH


def test_empty_digest_matches_the_golden_empty_page() -> None:
    expected = reference(GOLDEN_EMPTY).read_bytes()
    assert expected == EMPTY_ZH.encode("utf-8")


def test_empty_digest_in_english() -> None:
    assert render_digest(digest_of([], language=EN)) == (
        "# Summary\n\n| Ref | Title | Summary |\n| --- | --- | --- |\n\n\n# Details\n\n\n\n"
    )


@pytest.mark.parametrize(
    ("language", "summary", "details"), [("JA", "要約", "詳細"), ("DE", "Zusammenfassung", "Details")]
)
def test_headers_follow_the_language(language: str, summary: str, details: str) -> None:
    text = render_digest(digest_of([entry_from_record("2404.01946")], language=language))
    assert text.startswith(f"# {summary}\n\n| Ref | Title | Summary |\n| --- | --- | --- |\n| [^1] |")
    assert f"\n\n# {details}\n\n[^1]: " in text


def test_render_footnote_with_ref_is_the_digest_footnote() -> None:
    papers = parse_golden(reference(GOLDEN_2025).read_text(encoding="utf-8"))
    entries = [entry_from_golden(p) for p in papers]
    digest_text = render_digest(digest_of(entries))
    footnotes = "".join(render_footnote(e, language=ZH, ref=i) for i, e in enumerate(entries, 1))
    assert digest_text.endswith("# 详细\n\n" + footnotes + "\n")
    one = render_footnote(entries[1], language=ZH, ref=2)
    assert one.startswith("[^2]: 发现异性图的不变邻域模式\n\n    Discovering Invariant Neighborhood Patterns")
    assert one.endswith("learn in\n    \n")


# --- escaping --------------------------------------------------------------------------------------------


def test_escape_cell_changes_only_pipes_and_line_breaks() -> None:
    assert escape_cell("a | b") == "a \\| b"
    assert escape_cell("one\ntwo\r\nthree\rfour") == "one two three four"
    text = "$x_2^*$ [A*] _x_ < b & > 3 (a) $\\mathbf{x}$"  # nothing Markdown would take: bytes kept
    assert escape_cell(text) == text
    assert escape_link_text("Notes [Lecture Notes] | x") == "Notes \\[Lecture Notes\\] \\| x"


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("$\\|x\\|$", "$\\\\|x\\\\|$"),  # GitHub would show $|x|$
        ("\\& \\( \\{", "\\\\& \\\\( \\\\{"),
        ('Schr\\"odinger', 'Schr\\\\"odinger'),
        ("ends in \\", "ends in \\\\"),
        ('<think> and <a href="javascript:x">', '\\<think> and \\<a href="javascript:x">'),
        ("&lt;b&gt; &#60; &amp;", "\\&lt;b\\&gt; \\&#60; \\&amp;"),
        ("see [^1] and [x](http://e.org) [y][z]", "see \\[^1] and [x\\](http://e.org) [y\\][z]"),
        ("\\alpha \\mathbf{x}", "\\alpha \\mathbf{x}"),  # a backslash before a letter is LaTeX
    ],
)
def test_escape_text(text: str, escaped: str) -> None:
    assert escape_text(text) == escaped


@pytest.mark.parametrize("arxiv_id", ["2307.13720", "2402.10567"])
def test_pipe_in_title_keeps_three_cells(arxiv_id: str) -> None:
    entry = entry_from_record(arxiv_id)
    assert "|" in entry.paper.title
    [row] = table_rows(render_digest(digest_of([entry])))
    cells = split_row(row)
    assert len(cells) == 3
    assert cells[1] == f"[{entry.paper.title.replace('|', chr(92) + '|')}]({entry.paper.abs_url})"


def test_pipe_in_summary_keeps_three_cells_and_latex() -> None:
    entry = entry_from_record("2210.16997")  # summary has $\{ \|\mathbf{x}_t-\mathbf{x}_\infty\| \}_{…}$
    summary = entry.translation.summary if entry.translation else ""
    assert "\\|" in summary
    text = render_digest(digest_of([entry]))
    [row] = table_rows(text)
    assert len(split_row(row)) == 3
    # GitHub shows the summary as written, backslashes included, in the table and in the footnote. (On
    # github.com $…$ is math; cmark-gfm here does not know math and takes x_t … x_\infty for emphasis, so
    # underscores are left out of the comparison.)
    page = shown(text)

    def no_underscores(texts: list[str]) -> list[str]:
        return [t.replace("_", "") for t in texts]

    assert no_underscores(page.rows[0]) == no_underscores(["1", entry.paper.title, summary])
    assert one_space(summary).replace("_", "") in no_underscores(page.footnotes[0])
    assert one_space(entry.paper.abstract).replace("_", "") in no_underscores(page.footnotes[0])


def test_line_breaks_in_title_and_summary_become_spaces_in_the_table() -> None:
    paper = Paper(arxiv_id="2409.00001", title="A title\nover two lines", abstract="Line one.\nLine two.")
    entry = DigestEntry(paper, AnnounceType.NEW, ("cs.LG",), summary_en="First |\nsecond.")
    text = render_digest(digest_of([entry], language=EN))
    [row] = table_rows(text)
    assert row == "| [^1] | [A title over two lines](https://arxiv.org/abs/2409.00001) | First \\| second. |"
    # In the footnote the title is one line and multi-line fields stay indented, line by line.
    assert "[^1]: A title over two lines\n\n" in text
    assert "\n    Line one.\n    Line two.\n    \n" in text
    assert "\n    First |\n    second.\n" in text


@pytest.mark.parametrize(
    ("arxiv_id", "characters"),
    [
        ("2206.04432", "[]"),  # "[Lecture Notes]"
        ("1905.11346", "*"),  # "Weighted A*'s"
        ("2402.17527", "<>_"),  # "<Humans exhibit … _____>"
        ("2006.06889", "&"),  # "Fast Objective & Duality Gap"
        ("2111.02164", ">"),  # "Data structure > labels?"
    ],
)
def test_markdown_characters_in_titles(arxiv_id: str, characters: str) -> None:
    entry = entry_from_record(arxiv_id)
    title = entry.paper.title
    assert all(c in title for c in characters)
    text = render_digest(digest_of([entry]))
    [row] = table_rows(text)
    cells = split_row(row)
    assert len(cells) == 3
    m = re.fullmatch(r"\[(.*)\]\((\S+)\)", cells[1])
    assert m is not None
    assert m.group(2) == entry.paper.abs_url
    link_text = m.group(1)
    # No unescaped bracket can close the link text early, and GitHub shows the title as written.
    assert re.search(r"(?<!\\)[\[\]]", link_text) is None
    page = shown(text)
    assert page.rows[0][1] == title
    assert page.hrefs == [entry.paper.abs_url]
    assert one_space(title) in page.footnotes[0]


def test_latex_untouched_everywhere_but_pipes() -> None:
    entry = entry_from_record("1307.6616")  # $l^q$ in title, abstract and summary
    text = render_digest(digest_of([entry]))
    assert "[Does generalization performance of $l^q$ regularization learning" in text
    assert entry.translation is not None
    assert f"| {entry.translation.summary} |" in text
    assert f"\n    {entry.paper.abstract}\n" in text
    assert "$l^q$" in entry.paper.abstract


# --- labels, omitted, notices ----------------------------------------------------------------------------


def _labelled(kind: AnnounceType, **paper_kw: object) -> DigestEntry:
    paper = Paper(arxiv_id="2203.01250", title="T", abstract="A.", **paper_kw)  # type: ignore[arg-type]
    return DigestEntry(paper, kind, ("cs.LG",), summary_en="S.")


@pytest.mark.parametrize(
    ("kind", "paper_kw", "en", "zh"),
    [
        (AnnounceType.NEW, {"categories": ("cs.LG",)}, "", ""),
        (
            AnnounceType.CROSS,
            {"categories": ("cs.LG", "math.OC"), "primary_category": "math.OC"},
            "cross-list from math.OC",
            "交叉列出，来自 math.OC",
        ),
        (
            AnnounceType.CROSS,
            {"categories": ("math.OC", "cs.LG")},
            "cross-list from math.OC",
            "交叉列出，来自 math.OC",
        ),
        (AnnounceType.CROSS, {}, "cross-list", "交叉列出"),
        (AnnounceType.REPLACE, {"version": 3}, "replacement, v3", "修订版 v3"),
        (AnnounceType.REPLACE, {}, "replacement", "修订版"),
        (AnnounceType.REPLACE_CROSS, {"version": 2}, "replacement, cross-list", "修订版，交叉列出"),
    ],
)
def test_announce_label(kind: AnnounceType, paper_kw: dict[str, object], en: str, zh: str) -> None:
    entry = _labelled(kind, **paper_kw)
    assert announce_label(entry, language=EN) == en
    assert announce_label(entry, language=ZH) == zh


def test_labels_in_the_table_and_on_the_link_line() -> None:
    cross = entry_from_record(
        "1910.09706",
        announce_type=AnnounceType.CROSS,
        paper=replace(entry_from_record("1910.09706").paper, categories=("cs.SI", "cs.LG")),
    )
    replaced = entry_from_record(
        "2305.14012",
        announce_type=AnnounceType.REPLACE,
        paper=replace(entry_from_record("2305.14012").paper, version=2),
    )
    plain = entry_from_record("2404.01946")
    text = render_digest(digest_of([cross, replaced, plain]))
    rows = table_rows(text)
    assert rows[0].startswith(
        "| [^1] | [Collaborative Graph Walk for Semi-supervised Multi-Label Node Classification]"
        "(https://arxiv.org/abs/1910.09706) (交叉列出，来自 cs.SI) | "
    )
    assert "(https://arxiv.org/abs/2305.14012) (修订版 v2) | " in rows[1]
    assert rows[2].startswith(
        "| [^3] | [Synthetic Data for Robust Stroke Segmentation](https://arxiv.org/abs/2404.01946) | "
    )
    assert all(len(split_row(r)) == 3 for r in rows)
    link = "\n    [https://arxiv.org/abs/{0}](https://arxiv.org/abs/{0}){1}\n"
    assert link.format("1910.09706", " (交叉列出，来自 cs.SI)") in text
    assert link.format("2305.14012", " (修订版 v2)") in text
    assert link.format("2404.01946", "") in text


def test_omitted_line_after_the_table() -> None:
    entries = [entry_from_record("2404.01946"), entry_from_record("2402.08712")]
    zh = render_digest(digest_of(entries, omitted=3))
    rows_end = zh.index("\n| [^2] |")
    tail = zh[zh.index("\n", rows_end + 1) :]
    assert tail.startswith("\n\n……另有 3 篇\n\n# 详细\n\n[^1]: ")
    en = render_digest(digest_of(entries, language=EN, omitted=1))
    assert "|\n\n…and 1 more\n\n# Details\n\n" in en
    assert "more" not in render_digest(digest_of(entries, language=EN))


def test_notices_before_the_summary_header() -> None:
    entries = [entry_from_record("2404.01946")]
    text = render_digest(
        digest_of(
            entries,
            notices=("DeepL quota exhausted: showing English", "second\nnotice"),
        )
    )
    assert text.startswith("> DeepL quota exhausted: showing English\n\n> second notice\n\n# 摘要\n\n| Ref |")
    without = render_digest(digest_of(entries))
    assert text.endswith(without)


# --- without a translation -------------------------------------------------------------------------------


ENGLISH_FOOTNOTE = (
    "[^1]: Synthetic Data for Robust Stroke Segmentation\n"
    "\n"
    "    [https://arxiv.org/abs/2404.01946](https://arxiv.org/abs/2404.01946)\n"
    "\n"
    "    A synthetic framework.\n"
    "\n"
    "    We present a framework.\n"
    "    \n"
)


def _english_entry(*, translated: bool) -> DigestEntry:
    paper = Paper(
        arxiv_id="2404.01946",
        title="Synthetic Data for Robust Stroke Segmentation",
        abstract="We present a framework.",
    )
    translation = (
        PaperTranslation(ZH, "合成数据", "我们提出一个框架。", "一个合成框架。") if translated else None
    )
    return DigestEntry(paper, AnnounceType.NEW, ("cs.LG",), "A synthetic framework.", translation)


@pytest.mark.parametrize(("language", "translated"), [(EN, False), (EN, True), ("EN-GB", True), (ZH, False)])
def test_english_only_footnote(language: str, translated: bool) -> None:
    entry = _english_entry(translated=translated)
    assert render_footnote(entry, language=language, ref=1) == ENGLISH_FOOTNOTE


def test_english_only_digest() -> None:
    text = render_digest(digest_of([_english_entry(translated=True)], language=EN))
    assert text == (
        "# Summary\n\n| Ref | Title | Summary |\n| --- | --- | --- |\n"
        "| [^1] | [Synthetic Data for Robust Stroke Segmentation](https://arxiv.org/abs/2404.01946)"
        " | A synthetic framework. |\n\n# Details\n\n" + ENGLISH_FOOTNOTE + "\n"
    )
    assert "合成" not in text
    assert text.count("Synthetic Data for Robust Stroke Segmentation") == 2  # table + footnote head


def test_english_only_without_summary_has_no_blank_summary_line() -> None:
    entry = replace(_english_entry(translated=False), summary_en="")
    assert render_footnote(entry, language=EN, ref=1) == (
        "[^1]: Synthetic Data for Robust Stroke Segmentation\n\n"
        "    [https://arxiv.org/abs/2404.01946](https://arxiv.org/abs/2404.01946)\n\n"
        "    We present a framework.\n    \n"
    )


def test_translation_without_summary_shows_only_the_english_summary() -> None:
    entry = _english_entry(translated=True)
    assert entry.translation is not None
    entry = replace(entry, translation=replace(entry.translation, summary=""))
    text = render_digest(digest_of([entry]))
    assert text.split("# 详细\n\n", 1)[1] == (
        "[^1]: 合成数据\n\n"
        "    Synthetic Data for Robust Stroke Segmentation\n\n"
        "    [https://arxiv.org/abs/2404.01946](https://arxiv.org/abs/2404.01946)\n\n"
        "    A synthetic framework.\n\n"
        "    我们提出一个框架。\n\n"
        "    We present a framework.\n    \n\n"
    )
    assert "| A synthetic framework. |" in text  # the table falls back to the English summary


def test_translation_with_empty_title_does_not_repeat_the_english_title() -> None:
    entry = _english_entry(translated=True)
    assert entry.translation is not None
    entry = replace(entry, translation=replace(entry.translation, title=""))
    footnote = render_footnote(entry, language=ZH, ref=4)
    assert footnote.startswith("[^4]: Synthetic Data for Robust Stroke Segmentation\n\n    [https://")
    assert footnote.count("Synthetic Data for Robust Stroke Segmentation") == 1
    assert "\n    一个合成框架。\n\n    A synthetic framework.\n\n    我们提出一个框架。\n" in footnote


# --- render_footnote alone -------------------------------------------------------------------------------


def test_render_footnote_standalone() -> None:
    entry = replace(_english_entry(translated=True), announce_type=AnnounceType.REPLACE)
    entry = replace(entry, paper=replace(entry.paper, version=3))
    assert render_footnote(entry, language=ZH) == (
        "# 合成数据\n\n"
        "Synthetic Data for Robust Stroke Segmentation\n\n"
        "[https://arxiv.org/abs/2404.01946](https://arxiv.org/abs/2404.01946) (修订版 v3)\n\n"
        "一个合成框架。\n\n"
        "A synthetic framework.\n\n"
        "我们提出一个框架。\n\n"
        "We present a framework.\n"
    )
    english = render_footnote(replace(entry, summary_en=""), language=EN)
    assert english == (
        "# Synthetic Data for Robust Stroke Segmentation\n\n"
        "[https://arxiv.org/abs/2404.01946](https://arxiv.org/abs/2404.01946) (replacement, v3)\n\n"
        "We present a framework.\n"
    )


def test_render_footnote_from_a_golden_paper_with_ref() -> None:
    golden = reference(GOLDEN_2023).read_text(encoding="utf-8")
    papers = parse_golden(golden)
    g = papers[21]  # [^22]: Schr\"odinger in the title
    assert '\\"' in g.table_title
    text = render_footnote(entry_from_golden(g), language=ZH, ref=22)
    start = golden.index("[^22]: ")
    end = golden.index("[^23]: ")
    assert text == normalise_expected(golden[start:end])


def test_rendering_is_pure() -> None:
    digest = digest_of([entry_from_record("2404.01946"), entry_from_record("2210.16997")], omitted=2)
    assert render_digest(digest) == render_digest(digest)


# --- as GitHub shows it: nothing a title, summary or abstract holds is eaten --------------------------------

hostile = st.text(
    # arXiv's text has no control characters (cmark shows NUL as U+FFFD)
    alphabet=st.sampled_from(list("\\|[]^()<>&;#!/?{}$\"'`:ab xyz.12-+=\n"))
    | st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")),
    min_size=1,
    max_size=80,
).filter(lambda s: s.strip() != "")


def _visible(text: str) -> str:
    """What a field should show: itself, whitespace runs as one space. Markdown emphasis and code spans
    (``*`` ``_`` `````` ``~``) are left to GitHub, as the reference format does, so they are kept out of the
    generated texts below."""
    return one_space(text)


@settings(max_examples=150, deadline=None)
@example(  # the cases found on GitHub
    title="A title ending in a backslash \\",
    summary="The model <think>s; see [^1], \\| and \\& and \\(x\\)",
    abstract='Click <a href="javascript:alert(1)">here</a>. &lt;mask&gt; tokens. [link](http://e.org)',
)
@example(title="- 1. # heading", summary="> quoted\n===", abstract="line one\n---\n2) two")
@given(
    title=hostile.filter(lambda s: not set(s) & set("*_`~")),
    summary=hostile.filter(lambda s: not set(s) & set("*_`~")),
    abstract=hostile.filter(lambda s: not set(s) & set("*_`~")),
)
def test_github_shows_every_field_as_written(title: str, summary: str, abstract: str) -> None:
    paper = Paper(arxiv_id="2409.00001", title=title, abstract=abstract, categories=("cs.LG",))
    translation = PaperTranslation(ZH, "标题" + title, "摘要" + abstract, "总结" + summary)
    entries = [DigestEntry(paper, AnnounceType.NEW, ("cs.LG",), summary, translation)] * 2
    page = shown(render_digest(digest_of(entries)))
    assert len(page.rows) == 2
    for row in page.rows:
        assert row[1:] == [_visible(title), _visible("总结" + summary)]
    assert page.hrefs == [paper.abs_url] * 2  # no link of the text's own
    assert "raw HTML omitted" not in page.raw_html
    assert len(page.footnotes) == 2  # no footnote reference of the text's own
    assert page.footnotes[0] == [
        _visible("标题" + title),
        _visible(title),
        paper.abs_url,
        _visible("总结" + summary),
        _visible(summary),
        _visible("摘要" + abstract),
        _visible(abstract),
    ]
