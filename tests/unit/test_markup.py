"""papers.markup: LaTeX protection, the summary marker, billing length, and the lost-marker fallback."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from arxiv_digest.papers.markup import (
    billable_length,
    corresponding_sentence,
    latex_spans,
    protect,
    summary_bounds,
    unprotect,
)


def _parse(xml_text: str) -> ET.Element:
    return ET.fromstring(f"<root>{xml_text}</root>")


# -- protect ------------------------------------------------------------------------------------------------


def test_escapes_xml_specials() -> None:
    assert protect("a & b < c > d", summary_span=None) == "a &amp; b &lt; c &gt; d"


def test_existing_entities_are_escaped_not_interpreted() -> None:
    text = "R&amp;D &lt;3"
    xml_text = protect(text, summary_span=None)
    assert xml_text == "R&amp;amp;D &amp;lt;3"
    assert unprotect(xml_text) == (text, None)


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        (r"with $\alpha$ here", [r"$\alpha$"]),
        (r"display $$x^2$$ here", [r"$$x^2$$"]),
        (r"paren \(x\) and bracket \[y\]", [r"\(x\)", r"\[y\]"]),
        (r"costs \$5 and \$6", []),  # escaped dollars are not delimiters
        (r"a lone $ dollar", []),  # unbalanced: left alone
        (r"$a$ then $ unclosed", ["$a$"]),
        (r"$a\$b$", [r"$a\$b$"]),  # an escaped dollar inside maths does not close it
        (r"$a$$b$", ["$a$", "$b$"]),
        (r"unclosed \( paren", []),
        (r"$$ unclosed display", []),
    ],
)
def test_latex_spans(text: str, spans: list[str]) -> None:
    assert [text[a:b] for a, b in latex_spans(text)] == spans


def test_latex_wrapped_in_ignored_tag() -> None:
    text = r"Let $\alpha<\beta$ & \(x\) hold."
    xml_text = protect(text, summary_span=None)
    assert xml_text == r"Let <x>$\alpha&lt;\beta$</x> &amp; <x>\(x\)</x> hold."
    assert [e.text for e in _parse(xml_text).iter("x")] == [r"$\alpha<\beta$", r"\(x\)"]


def test_summary_marked_with_latex_inside() -> None:
    text = r"We study graphs. We prove $n \log n$ bounds. Experiments agree."
    start = text.index("We prove")
    end = text.index(" Experiments")
    xml_text = protect(text, summary_span=(start, end))
    assert xml_text == (r"We study graphs. <s>We prove <x>$n \log n$</x> bounds.</s> Experiments agree.")
    assert unprotect(xml_text) == (text, text[start:end])


def test_marker_sharing_a_boundary_with_latex_nests() -> None:
    text = r"$a$ is small"
    xml_text = protect(text, summary_span=(0, 3))
    assert xml_text == "<s><x>$a$</x></s> is small"
    xml_text = protect(text, summary_span=(0, len(text)))
    assert xml_text == "<s><x>$a$</x> is small</s>"
    _parse(xml_text)


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        ((5, 20), (2, 20)),  # starts inside "$x+y$": widened back to the "$"
        ((0, 4), (0, 7)),  # ends inside "$x+y$": widened to its end
        ((3, 6), (2, 7)),  # entirely inside: the whole formula
    ],
)
def test_marker_widened_over_crossing_latex(span: tuple[int, int], expected: tuple[int, int]) -> None:
    text = "A $x+y$ holds. B follows."
    assert summary_bounds(text, span) == expected
    xml_text = protect(text, summary_span=span)
    _parse(xml_text)  # properly nested
    assert unprotect(xml_text) == (text, text[expected[0] : expected[1]])


def test_empty_or_out_of_range_span() -> None:
    assert summary_bounds("abc", (2, 2)) is None
    assert protect("abc", summary_span=(2, 2)) == "abc"
    assert summary_bounds("abc", (1, 99)) == (1, 3)
    assert protect("abc", summary_span=(1, 99)) == "a<s>bc</s>"


# -- unprotect ----------------------------------------------------------------------------------------------


def test_unprotect_translated_output() -> None:
    translated = "<s>Wir zeigen <x>$\\alpha$</x> &amp; mehr.</s> Ende &#233;&#x4E2D;."
    assert unprotect(translated) == ("Wir zeigen $\\alpha$ & mehr. Ende é中.", "Wir zeigen $\\alpha$ & mehr.")


@pytest.mark.parametrize(
    "translated",
    [
        "Kein Marker hier.",
        "<s>nur offen",
        "nur zu</s>",
        "<s>eins</s> und <s>zwei</s>",
        "</s>verkehrt<s>",
    ],
)
def test_lost_or_split_marker_is_none(translated: str) -> None:
    plain, marker = unprotect(translated)
    assert marker is None
    assert "<" not in plain


def test_unknown_entity_kept() -> None:
    assert unprotect("a &nbsp; b")[0] == "a &nbsp; b"


# -- billing ------------------------------------------------------------------------------------------------


def test_billable_length_counts_entities_once_and_tags_free() -> None:
    assert billable_length("<s>a &amp; <x>$b$</x></s>") == len("a & $b$")
    assert billable_length("&#233;&lt;") == 2


def test_billable_length_of_protected_text_is_original_length() -> None:
    text = r"Graphs & trees <3: $\alpha$ > \(x\) | _a_ *b* [c]"
    assert billable_length(protect(text, summary_span=(0, 10))) == len(text)


# -- lost-marker fallback -----------------------------------------------------------------------------------


def test_corresponding_sentence_by_index() -> None:
    source = "First one. Second, with $x.y$ maths. Third!"
    translated = "Erstens. Zweitens, mit $x.y$ Mathe. Drittens!"
    start = source.index("Second")
    end = source.index(" Third")
    assert corresponding_sentence(source, (start, end), translated) == "Zweitens, mit $x.y$ Mathe."
    assert corresponding_sentence(source, (0, 10), translated) == "Erstens."
    assert corresponding_sentence(source, (start + 3, end), translated) == "Zweitens, mit $x.y$ Mathe."


def test_corresponding_sentence_cjk() -> None:
    source = "We propose X. It works."
    translated = "我们提出X。它有效。"
    assert corresponding_sentence(source, (14, 23), translated) == "它有效。"


def test_corresponding_sentence_unknown_when_splits_disagree() -> None:
    source = "One. Two. Three."
    assert corresponding_sentence(source, (5, 9), "Eins und zwei. Drei.") == ""
    assert corresponding_sentence(source, None, "Eins. Zwei. Drei.") == ""
    assert corresponding_sentence(source, (5, 9), "") == ""


# -- properties ---------------------------------------------------------------------------------------------

_ALPHABET = st.sampled_from([*"ab $$$\\\\()[]&<>;#. xé中!?", "&amp;", "<x>", "</s>", "\\(", "\\)", "$$"])
_TEXT = st.lists(_ALPHABET, max_size=60).map("".join)


@st.composite
def _text_and_span(draw: st.DrawFn) -> tuple[str, tuple[int, int] | None]:
    text = draw(_TEXT)
    if draw(st.booleans()):
        return text, None
    start = draw(st.integers(0, len(text)))
    end = draw(st.integers(start, len(text)))
    return text, (start, end)


@settings(max_examples=400, deadline=None)
@given(_text_and_span())
@example((r"A $x+y$ holds.", (5, 9)))
@example((r"\(a\)\[b\]$$c$$$d$", (1, 14)))
def test_round_trip_through_identity_translator(case: tuple[str, tuple[int, int] | None]) -> None:
    text, span = case
    xml_text = protect(text, summary_span=span)
    root = _parse(xml_text)  # well-formed, properly nested
    plain, marker = unprotect(xml_text)
    assert plain == text
    bounds = summary_bounds(text, span)
    if bounds is None:
        assert marker is None
        assert span is None or min(span[1], len(text)) <= span[0]
    else:
        assert span is not None
        assert marker == text[bounds[0] : bounds[1]]
        requested = (span[0], min(span[1], len(text)))
        assert bounds[0] <= requested[0] < requested[1] <= bounds[1]  # only ever widened
        if not any(a < p < b for a, b in latex_spans(text) for p in requested):
            # no formula crosses a boundary: the marker is exactly the requested summary
            assert bounds == requested
    assert billable_length(xml_text) == len(text)
    # every formula sits in an ignored element, verbatim
    assert ["".join(e.itertext()) for e in root.iter("x")] == [text[a:b] for a, b in latex_spans(text)]
