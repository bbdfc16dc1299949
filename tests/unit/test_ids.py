from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from arxiv_digest.papers.errors import InvalidArxivId, InvalidInput
from arxiv_digest.papers.ids import ArxivId, is_valid_arxiv_id, parse_arxiv_id, split_versioned


@pytest.mark.parametrize(
    ("text", "canonical", "version"),
    [
        # new style
        ("2403.19243", "2403.19243", None),
        ("2403.19243v2", "2403.19243", 2),
        ("2403.19243V2", "2403.19243", 2),
        ("  2403.19243v11\n", "2403.19243", 11),
        ("1412.1234", "1412.1234", None),  # four digits up to 1412
        ("0704.0001", "0704.0001", None),  # the first new-style id
        ("1501.00001", "1501.00001", None),  # five digits from 1501
        ("arXiv:2403.19243", "2403.19243", None),
        ("arxiv:2403.19243v3", "2403.19243", 3),
        ("ARXIV:2403.19243", "2403.19243", None),
        # URLs
        ("https://arxiv.org/abs/2403.19243", "2403.19243", None),
        ("https://arxiv.org/abs/2403.19243v2", "2403.19243", 2),
        ("http://arxiv.org/abs/2403.19243", "2403.19243", None),
        ("https://www.arxiv.org/abs/2403.19243", "2403.19243", None),
        ("https://export.arxiv.org/abs/2403.19243", "2403.19243", None),
        ("https://arxiv.org/abs/2403.19243/", "2403.19243", None),
        ("https://arxiv.org/pdf/2403.19243", "2403.19243", None),
        ("https://arxiv.org/pdf/2403.19243.pdf", "2403.19243", None),
        ("https://arxiv.org/pdf/2403.19243v2.pdf", "2403.19243", 2),
        ("https://arxiv.org/pdf/2403.19243v2", "2403.19243", 2),
        ("https://arxiv.org/html/2403.19243v1", "2403.19243", 1),
        ("https://arxiv.org/abs/2403.19243?context=cs", "2403.19243", None),
        ("https://arxiv.org/abs/2403.19243v2#S1", "2403.19243", 2),
        ("HTTPS://ARXIV.ORG/ABS/2403.19243", "2403.19243", None),
        ("http://arxiv.org/abs/hep-th/9901001v1", "hep-th/9901001", 1),
        ("https://arxiv.org/pdf/math.GT/0309136.pdf", "math.GT/0309136", None),
        # old style
        ("hep-th/9901001", "hep-th/9901001", None),
        ("hep-th/9901001v3", "hep-th/9901001", 3),
        ("HEP-TH/9901001", "hep-th/9901001", None),
        ("arXiv:hep-th/9901001", "hep-th/9901001", None),
        ("math.GT/0309136", "math.GT/0309136", None),
        ("math.gt/0309136v2", "math.GT/0309136", 2),
        ("astro-ph/0601001", "astro-ph/0601001", None),
        ("quant-ph/0201082v1", "quant-ph/0201082", 1),
        ("cond-mat/0412498v1", "cond-mat/0412498", 1),
        ("hep-th/9108001", "hep-th/9108001", None),  # August 1991, the first month
        ("math/0703001", "math/0703001", None),  # March 2007, the last month
    ],
)
def test_accepted_forms(text: str, canonical: str, version: int | None) -> None:
    parsed = parse_arxiv_id(text)
    assert parsed == ArxivId(canonical, version)
    assert parsed.id == canonical
    assert parsed.version == version
    assert split_versioned(text) == (canonical, version)
    assert is_valid_arxiv_id(text)


def test_properties() -> None:
    new = parse_arxiv_id("arXiv:2403.19243v2")
    assert new.versioned == "2403.19243v2"
    assert str(new) == "2403.19243v2"
    assert new.abs_url == "https://arxiv.org/abs/2403.19243"
    assert not new.is_old_style
    old = parse_arxiv_id("hep-th/9901001")
    assert old.versioned == "hep-th/9901001"
    assert str(old) == "hep-th/9901001"
    assert old.abs_url == "https://arxiv.org/abs/hep-th/9901001"
    assert old.is_old_style


def test_canonical_forms_round_trip() -> None:
    for text in ("https://arxiv.org/pdf/2403.19243v2.pdf", "ARXIV:math.gt/0309136v2", "hep-th/9901001v3"):
        parsed = parse_arxiv_id(text)
        assert parse_arxiv_id(parsed.versioned) == parsed
        assert parse_arxiv_id(parsed.abs_url) == ArxivId(parsed.id)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "nonsense",
        "abc",
        "2403",
        "2403.",
        "2403.1924",  # four digits after 1501
        "2403.192431",  # six digits
        "0704.00001",  # five digits before 1501
        "1412.12345",
        "2413.19243",  # month 13
        "2400.19243",  # month 0
        "0703.0001",  # before the new scheme began (April 2007)
        "2403.19243v0",
        "2403.19243v",
        "2403.19243v1000",
        "2403.19243v-1",
        "arXiv 2403.19243",
        "arXiv:",
        "hep-th/990100",  # six digits
        "hep-th/99010011",
        "hep-th/9913001",  # month 13
        "hep-th/9101001",  # before August 1991
        "hep-th/0801001",  # after March 2007
        "hep-th/9901001v0",
        "hep_th/9901001",
        "/9901001",
        "math.G/0309136",
        "https://evil.example/abs/2403.19243",
        "https://arxiv.org.evil.example/abs/2403.19243",
        "https://evil.example/?https://arxiv.org/abs/2403.19243",
        "ftp://arxiv.org/abs/2403.19243",
        "https://arxiv.org/list/2403.19243",
        "https://arxiv.org/abs/",
        "https://arxiv.org/abs/2403.19243.html",
        "2403.19243\n2403.19244",  # embedded newline
        "2403.19243\nrm -rf /",
        "https://arxiv.org/abs/2403.19243?x\ny",
        "2403.19243 2403.19244",
        "２４０３.１９２４３",  # full-width digits
        "٢٤٠٣.١٩٢٤٣",  # Arabic-Indic digits
        "\u017ftat/9901001",  # long s, which folds to "s" under IGNORECASE
        "\u212aa/9901001",  # Kelvin sign, which folds to "k"
        "2403.19243" + " " * 400 + "x",
        "1" * 10_000,
        "https://arxiv.org/abs/2403.19243?" + "a" * 1000,
    ],
)
def test_rejections(text: str) -> None:
    with pytest.raises(InvalidArxivId) as info:
        parse_arxiv_id(text)
    assert isinstance(info.value, InvalidInput)
    assert info.value.text == text
    assert len(str(info.value)) < 300  # the message quotes at most a short prefix
    assert not is_valid_arxiv_id(text)


def test_rejection_message_has_a_hint() -> None:
    with pytest.raises(InvalidArxivId) as info:
        parse_arxiv_id("abc")
    assert "'abc'" in info.value.message
    assert "2403.19243" in info.value.hint


_id_ish = st.one_of(
    st.text(max_size=60),
    st.text(alphabet="0123456789.v/:-abhtpsAXIVxr ", max_size=40),
    st.from_regex(r"\A(arXiv:)?\d{4}\.\d{4,5}(v\d{1,4})?\Z"),
    st.from_regex(r"\A[a-z]{1,8}(-[a-z]{2,4})?(\.[A-Z]{2})?/\d{7}(v\d)?\Z"),
)


@settings(max_examples=400, deadline=None)
@given(_id_ish)
@example("2403.19243\x00")
@example("https://arxiv.org/abs/2403.19243\u2028")
def test_never_raises_anything_but_invalid_arxiv_id(text: str) -> None:
    try:
        parsed = parse_arxiv_id(text)
    except InvalidArxivId:
        return
    # Anything accepted is canonical ASCII and re-parses to itself.
    assert parsed.id.isascii()
    assert parse_arxiv_id(parsed.versioned) == parsed
    assert parsed.version is None or parsed.version >= 1
