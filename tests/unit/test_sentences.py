"""Sentence splitting of arXiv abstracts: ``papers.sentences``."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arxiv_digest.papers.sentences import sentence_texts, split_sentences
from tests.corpora import cc0_papers, summary_corpus


def _check_invariants(text: str) -> None:
    """Spans are ordered, non-overlapping, trimmed, and cover every non-space character."""
    spans = split_sentences(text)
    prev = 0
    for start, end in spans:
        assert prev <= start < end <= len(text)
        piece = text[start:end]
        assert piece == piece.strip()
        assert text[prev:start].strip() == ""  # nothing but whitespace between sentences
        prev = end
    assert text[prev:].strip() == ""
    assert bool(spans) == bool(text.strip())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "We use e.g. transformers, i.e. attention models. It works.",
            ["We use e.g. transformers, i.e. attention models.", "It works."],
        ),
        ("Smith et al. proposed X. We extend it.", ["Smith et al. proposed X.", "We extend it."]),
        (
            "As shown by Smith et al. [3], it works. Next.",
            ["As shown by Smith et al. [3], it works.", "Next."],
        ),
        ("Following Lee et al. 2021 we train. Done.", ["Following Lee et al. 2021 we train.", "Done."]),
        (
            "See Fig. 2 for details. Results are in Table 3.",
            ["See Fig. 2 for details.", "Results are in Table 3."],
        ),
        ("Eq. (2) holds, cf. Sec. 4. Next.", ["Eq. (2) holds, cf. Sec. 4.", "Next."]),
        ("We compare w.r.t. the baseline. Fine.", ["We compare w.r.t. the baseline.", "Fine."]),
    ],
)
def test_abbreviations_do_not_end_sentences(text: str, expected: list[str]) -> None:
    assert sentence_texts(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Accuracy improves by 3.5% over v2.1 of the baseline. Done.",
            ["Accuracy improves by 3.5% over v2.1 of the baseline.", "Done."],
        ),
        ("The model reaches 93.1. This is new.", ["The model reaches 93.1.", "This is new."]),
        ("A gain of 0.5 points. Then 1.25 more.", ["A gain of 0.5 points.", "Then 1.25 more."]),
    ],
)
def test_decimals(text: str, expected: list[str]) -> None:
    assert sentence_texts(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Code is at https://github.com/a/b.c. We release it.",
            ["Code is at https://github.com/a/b.c.", "We release it."],
        ),
        (
            "See www.example.org/x. Y holds. Mail me at a.b@c.org. Ok.",
            ["See www.example.org/x.", "Y holds.", "Mail me at a.b@c.org.", "Ok."],
        ),
        (
            "Data at https://x.org/a. B/c.html is here. Next.",
            ["Data at https://x.org/a.", "B/c.html is here.", "Next."],
        ),
        (
            "The DOI is 10.1000/j.x.2020.01. We cite it.",
            ["The DOI is 10.1000/j.x.2020.01.", "We cite it."],
        ),
        ("Version v2.1. Python 3.11 is used. Fine.", ["Version v2.1.", "Python 3.11 is used.", "Fine."]),
    ],
)
def test_urls_and_dois(text: str, expected: list[str]) -> None:
    assert sentence_texts(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "We prove $a. B$ holds for $x \\in \\mathbb{R}. Y$. Then more.",
            ["We prove $a. B$ holds for $x \\in \\mathbb{R}. Y$.", "Then more."],
        ),
        ("In \\(a. B\\) we go. Next.", ["In \\(a. B\\) we go.", "Next."]),
        ("Let \\[x. Y\\] be given. Next.", ["Let \\[x. Y\\] be given.", "Next."]),
        ("Consider $$x = 1. Y = 2.$$ Then z.", ["Consider $$x = 1. Y = 2.$$ Then z."]),
        ("It costs \\$5. That is all. Fine.", ["It costs \\$5.", "That is all.", "Fine."]),
        ("The value is $5. That is all.", ["The value is $5.", "That is all."]),  # unbalanced $: plain text
    ],
)
def test_latex_is_protected(text: str, expected: list[str]) -> None:
    assert sentence_texts(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Work by Paul J. Mayer shows this. Next.", ["Work by Paul J. Mayer shows this.", "Next."]),
        ("Also O. M. Smith agrees. Next.", ["Also O. M. Smith agrees.", "Next."]),
        ("Written by Y.-H. He. The paper is short.", ["Written by Y.-H. He.", "The paper is short."]),
        (
            "This is done in Task B. Our results are good.",
            ["This is done in Task B.", "Our results are good."],
        ),
    ],
)
def test_initials(text: str, expected: list[str]) -> None:
    assert sentence_texts(text) == expected


def test_question_and_exclamation_marks() -> None:
    assert sentence_texts("Does it work? Yes! It does.") == ["Does it work?", "Yes!", "It does."]
    assert sentence_texts("Is it (a) or (b)? and why? Yes.") == ["Is it (a) or (b)? and why?", "Yes."]


def test_ellipsis_quotes_and_citations() -> None:
    assert sentence_texts("Wait... Then it happened.") == ["Wait...", "Then it happened."]
    assert sentence_texts('He said "stop." Then left.') == ['He said "stop."', "Then left."]
    assert sentence_texts("We show it.[3] Then next.") == ["We show it.[3]", "Then next."]


def test_blank_lines_and_bullets_end_sentences() -> None:
    assert sentence_texts("First paragraph without period\n\nSecond paragraph.") == [
        "First paragraph without period",
        "Second paragraph.",
    ]
    assert sentence_texts("Contributions:\n- one thing\n- another thing. Fine.") == [
        "Contributions:",
        "- one thing",
        "- another thing.",
        "Fine.",
    ]
    # A single newline inside a sentence (hard-wrapped text) is not a boundary.
    assert sentence_texts("A wrapped\nsentence here. Next.") == ["A wrapped\nsentence here.", "Next."]


def test_trailing_fragment_and_spans_into_original_text() -> None:
    text = "  A full sentence.   And a trailing fragment without end  "
    spans = split_sentences(text)
    assert [text[a:b] for a, b in spans] == ["A full sentence.", "And a trailing fragment without end"]
    assert spans[0][0] == 2


def test_list_markers_are_not_sentences() -> None:
    assert sentence_texts("We make two points. 1. Models overfit. 2. Data helps.")[0] == "We make two points."
    assert "2." not in sentence_texts("We make two points. 1. Models overfit. 2. Data helps.")


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t"])
def test_blank_text(text: str) -> None:
    assert split_sentences(text) == []


_PIECES = st.sampled_from(
    [
        *"aAbBzZ.?!…$()[]{}\\\n\t 0123456789,;:\"'”-/@",
        "e.g.", "et al.", "Fig. ", "http://", "www.", "10.1234/", " We ", "$$", "\\(", "\\)", "\\[",
        "\\]", "\n\n", "\n- ", "\n1. ", "...", " J. ", "U.S.", "\u00a0", "\u2028", "\r\n", " The ",
    ]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=60).map("".join))
def test_invariants_on_tricky_random_text(text: str) -> None:
    _check_invariants(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_invariants_on_any_text(text: str) -> None:
    _check_invariants(text)


def test_invariants_on_cc0_abstracts() -> None:
    abstracts = [record["abstract"] for record in cc0_papers()]
    assert len(abstracts) == 300
    multi = 0
    for abstract in abstracts:
        _check_invariants(abstract)
        multi += len(split_sentences(abstract)) > 1
    assert multi > 290  # real abstracts have several sentences


def test_invariants_on_the_summary_corpus() -> None:
    abstracts = [record["abstract"] for record in summary_corpus()]
    assert len(abstracts) == 3000
    for abstract in abstracts:
        _check_invariants(abstract)
