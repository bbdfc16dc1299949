"""parse_feed on every real feed fixture, plus synthetic feeds for the edge cases."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from arxiv_digest.papers.errors import SourceUnavailable
from arxiv_digest.papers.models import AnnounceType
from arxiv_digest.papers.rss import normalize_abstract, parse_feed, split_authors
from tests.fakes.arxiv_server import fixtures_dir

RSS = fixtures_dir() / "arxiv-rss"
MULTI = RSS / "new-format" / "rss_cs.LG+cs.AI+cs.CL+stat.ML_2026-09-24_trimmed4.xml"
ATOM = RSS / "new-format" / "atom_cs.LG_2026-09-25_trimmed3.xml"
EMPTY = RSS / "derived" / "rss_empty_no_items_DERIVED.xml"
REPLACE_CROSS = RSS / "derived" / "rss_math.OC_replace-cross_item_DERIVED_from_arxiv-docs.xml"
ALL_FEEDS = sorted(RSS.rglob("*.xml"))


def _item(
    *,
    guid: str = "oai:arXiv.org:2609.00001v2",
    description: str = "arXiv:2609.00001v2 Announce Type: new \nAbstract: Plain abstract.",
    announce_type: str | None = "new",
    creator: str = "Ada Lovelace, Alan Turing",
    pub_date: str = "Thu, 24 Sep 2026 00:00:00 -0400",
    title: str = "A title",
    categories: tuple[str, ...] = ("cs.LG",),
) -> str:
    cats = "".join(f"<category>{c}</category>" for c in categories)
    kind = f"<arxiv:announce_type>{announce_type}</arxiv:announce_type>" if announce_type else ""
    return (
        f"<item><title>{title}</title><link>https://arxiv.org/abs/x</link>"
        f"<description>{description}</description>"
        f'<guid isPermaLink="false">{guid}</guid>{cats}<pubDate>{pub_date}</pubDate>{kind}'
        f"<dc:creator>{creator}</dc:creator></item>"
    )


def _rss(*items: str, channel_date: str = "Thu, 24 Sep 2026 00:00:00 -0400") -> bytes:
    return (
        "<?xml version='1.0' encoding='UTF-8'?>\n"
        '<rss xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'version="2.0"><channel><title>t</title>'
        f"<pubDate>{channel_date}</pubDate>{''.join(items)}</channel></rss>"
    ).encode()


@pytest.mark.parametrize("path", ALL_FEEDS, ids=lambda p: p.name)
def test_every_fixture_parses_clean(path: Path) -> None:
    batch = parse_feed(path.read_bytes(), categories=["cs.LG"])
    assert batch.categories == ("cs.LG",)
    assert batch.source == "rss"
    for ann in batch.announcements:
        p = ann.paper
        assert "Announce Type" not in p.abstract
        assert not p.abstract.startswith(("arXiv:", "Abstract:"))
        assert p.abstract
        assert p.title == " ".join(p.title.split())
        assert "\n" not in p.title
        assert p.version is not None
        assert p.version >= 1
        assert p.authors
        assert all("," not in a and a == a.strip() for a in p.authors)
        assert p.published is not None
        assert p.published.utcoffset() is not None
        assert p.primary_category is None  # the feed never says which one is primary
        assert ann.announced_on == batch.announced_on


def test_multi_category_rss_feed() -> None:
    batch = parse_feed(MULTI.read_bytes(), categories=["cs.LG", "cs.AI", "cs.CL", "stat.ML"])
    assert batch.announced_on == date(2026, 9, 24)
    got = [(a.paper.arxiv_id, a.paper.version, a.announce_type) for a in batch.announcements]
    assert got == [
        ("2609.26811", 1, AnnounceType.NEW),
        ("2609.26820", 1, AnnounceType.NEW),
        ("2205.06398", 2, AnnounceType.CROSS),
        ("2009.13987", 3, AnnounceType.REPLACE),
    ]
    cross = batch.announcements[2].paper
    assert cross.categories == ("stat.ME", "stat.AP", "stat.ML")
    assert cross.doi == "10.1093/bioinformatics/btac431"
    assert cross.authors == ("Pritam Dey", "Zhengwu Zhang", "David B. Dunson")
    assert cross.abstract.startswith("It has become routine in neuroscience studies")
    assert cross.published == datetime(2026, 9, 24, 4, 0, tzinfo=UTC)
    assert batch.announcements[0].paper.abstract.endswith("precisely where normalization is absent.")


def test_atom_feed() -> None:
    batch = parse_feed(ATOM.read_bytes(), categories=["cs.LG"])
    assert batch.announced_on == date(2026, 9, 25)
    types = [(a.paper.arxiv_id, a.paper.version, a.announce_type) for a in batch.announcements]
    assert types == [
        ("2609.28553", 1, AnnounceType.NEW),
        ("2402.10149", 3, AnnounceType.CROSS),
        ("2401.08875", 3, AnnounceType.REPLACE),
    ]
    first = batch.announcements[0].paper
    assert first.journal_ref
    assert first.journal_ref.startswith("2026 International Conference on Multimedia")
    assert first.doi == "10.1109/MAPR72750.2026.11685822"
    assert len(first.authors) == 6
    assert first.authors[-1] == "Trong Nghia Nguyen"
    assert first.abstract.startswith("Drug toxicity prediction is critical")
    assert batch.announcements[1].paper.categories == ("hep-ph", "cs.LG", "hep-ex")


def test_replace_cross_with_latex_and_tex_accents() -> None:
    batch = parse_feed(REPLACE_CROSS.read_bytes(), categories=["math.OC"])
    (ann,) = batch.announcements
    assert ann.announce_type is AnnounceType.REPLACE_CROSS
    assert ann.announce_type.is_cross
    assert ann.announce_type.is_replacement
    assert ann.paper.arxiv_id == "2203.01250"
    assert ann.paper.version == 3
    assert r"$\min \int_{\mathbb{R}^N}f(u,\nabla u)$" in ann.paper.abstract
    assert r"$\Gamma$-converge" in ann.paper.abstract
    assert (
        ann.paper.journal_ref
        == r"Journal de l'\'Ecole polytechnique - Math\'ematiques, Tome 11 (2024), pp. 431-472"
    )
    # the item's date wins over the (older) channel date of this derived fixture
    assert batch.announced_on == date(2024, 8, 23)


def test_empty_feed_gives_empty_batch_without_date() -> None:
    batch = parse_feed(EMPTY.read_bytes(), categories=["cs.LG"])
    assert batch.is_empty
    assert batch.announced_on is None
    assert batch.fingerprint == parse_feed(EMPTY.read_bytes(), categories=["cs.LG"]).fingerprint
    assert batch.fingerprint != parse_feed(MULTI.read_bytes(), categories=["cs.LG"]).fingerprint


def test_fingerprint_stable_and_sensitive() -> None:
    a = parse_feed(MULTI.read_bytes(), categories=["cs.LG"])
    b = parse_feed(MULTI.read_bytes(), categories=["cs.LG"])
    assert a.fingerprint == b.fingerprint
    assert len(a.fingerprint) == 64
    changed_version = MULTI.read_bytes().replace(b"oai:arXiv.org:2009.13987v3", b"oai:arXiv.org:2009.13987v4")
    assert parse_feed(changed_version, categories=["cs.LG"]).fingerprint != a.fingerprint
    changed_date = MULTI.read_bytes().replace(b"Thu, 24 Sep 2026", b"Fri, 25 Sep 2026")
    assert parse_feed(changed_date, categories=["cs.LG"]).fingerprint != a.fingerprint
    # order of items does not matter
    one, two = _item(guid="oai:arXiv.org:2609.00001v1"), _item(guid="oai:arXiv.org:2609.00002v1")
    assert (
        parse_feed(_rss(one, two), categories=["x"]).fingerprint
        == parse_feed(_rss(two, one), categories=["x"]).fingerprint
    )


def test_date_is_the_eastern_date_as_written_not_utc() -> None:
    late = _item(pub_date="Thu, 24 Sep 2026 23:30:00 -0400")  # already Friday in UTC
    batch = parse_feed(_rss(late, channel_date="Thu, 24 Sep 2026 23:30:00 -0400"), categories=["cs.LG"])
    assert batch.announced_on == date(2026, 9, 24)
    assert batch.announcements[0].paper.published == datetime(2026, 9, 25, 3, 30, tzinfo=UTC)
    winter = parse_feed(_rss(_item(pub_date="Mon, 07 Dec 2026 00:00:00 -0500")), categories=["cs.LG"])
    assert winter.announced_on == date(2026, 12, 7)


@pytest.mark.parametrize(
    "description",
    [
        "arXiv:2609.00001v2 Announce Type: new \nAbstract: Plain abstract.",  # current: space + newline
        "arXiv:2609.00001v2 Announce Type: new  Abstract: Plain abstract.",  # flattened, two spaces
        "arXiv:2609.00001v2 Announce Type: new Abstract: Plain abstract.",  # Feb 2024, one space
        "Plain abstract.",  # the very first new-format feeds: no prefix
    ],
)
def test_prefix_variants_are_stripped(description: str) -> None:
    batch = parse_feed(_rss(_item(description=description)), categories=["cs.LG"])
    (ann,) = batch.announcements
    assert ann.paper.abstract == "Plain abstract."
    assert ann.paper.version == 2


def test_version_from_description_when_guid_has_none() -> None:
    item = _item(
        guid="oai:arXiv.org:2609.00001", description="arXiv:2609.00001v5 Announce Type: replace \nAbstract: x"
    )
    (ann,) = parse_feed(_rss(item), categories=["cs.LG"]).announcements
    assert ann.paper.version == 5


def test_markdown_and_html_characters_survive() -> None:
    raw = "Pipes | and &lt;tags&gt; &amp; under_scores *stars* [brackets] $x_i^2 &lt; 1$ \\(a|b\\)"
    item = _item(
        title="Why |x| &lt; 1 &amp; *bold*  [ref]\n   wrapped",
        description=f"arXiv:2609.00001v2 Announce Type: new \nAbstract: {raw}",
    )
    (ann,) = parse_feed(_rss(item), categories=["cs.LG"]).announcements
    assert ann.paper.title == "Why |x| < 1 & *bold* [ref] wrapped"
    assert ann.paper.abstract == (
        "Pipes | and <tags> & under_scores *stars* [brackets] $x_i^2 < 1$ \\(a|b\\)"
    )


def test_non_ascii_authors_and_author_splitting() -> None:
    item = _item(creator="Dirk Wübben, Ivana Šipuš and José Núñez")
    (ann,) = parse_feed(_rss(item), categories=["cs.LG"]).announcements
    assert ann.paper.authors == ("Dirk Wübben", "Ivana Šipuš", "José Núñez")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Fabien Polly", ("Fabien Polly",)),
        ("A One, B Two, C Three", ("A One", "B Two", "C Three")),
        ("A One, B Two, and C Three", ("A One", "B Two", "C Three")),
        ("A One and B Two", ("A One", "B Two")),
        ("Martin Luther King, Jr., Jane Doe", ("Martin Luther King, Jr.", "Jane Doe")),
        ("Alexander Anderson, Sandra Band", ("Alexander Anderson", "Sandra Band")),  # "and" inside names
        ("  Spaced   Name ,  ", ("Spaced Name",)),
        ("", ()),
    ],
)
def test_split_authors(text: str, expected: tuple[str, ...]) -> None:
    assert split_authors(text) == expected


def test_normalize_abstract_keeps_paragraphs_drops_hard_wraps() -> None:
    legacy = "  First line of a\nhard-wrapped paragraph.\n  Second paragraph\nalso wrapped.\n"
    assert (
        normalize_abstract(legacy)
        == "First line of a hard-wrapped paragraph.\n\nSecond paragraph also wrapped."
    )
    structured = "Context. One.\n  Objective. Two.\n\nResults. Three."
    assert normalize_abstract(structured) == "Context. One.\n\nObjective. Two.\n\nResults. Three."
    assert normalize_abstract(None) == ""


def test_unknown_type_and_malformed_id_are_skipped_with_warning(caplog: pytest.LogCaptureFixture) -> None:
    good = _item(guid="oai:arXiv.org:2609.00001v1")
    weird = _item(
        guid="oai:arXiv.org:2609.00002v1",
        announce_type="withdrawn",
        description="arXiv:2609.00002v1 Announce Type: withdrawn \nAbstract: x",
    )
    broken = _item(guid="oai:arXiv.org:not-an-id", description="no prefix")
    with caplog.at_level(logging.WARNING, logger="arxiv_digest.papers.rss"):
        batch = parse_feed(_rss(good, weird, broken), categories=["cs.LG"])
    assert [a.paper.arxiv_id for a in batch.announcements] == ["2609.00001"]
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "withdrawn" in messages
    assert "not-an-id" in messages


def test_type_from_description_when_element_missing() -> None:
    item = _item(announce_type=None, description="arXiv:2609.00001v1 Announce Type: cross \nAbstract: x")
    (ann,) = parse_feed(_rss(item), categories=["cs.LG"]).announcements
    assert ann.announce_type is AnnounceType.CROSS


def test_old_style_id_in_feed() -> None:
    item = _item(
        guid="oai:arXiv.org:hep-th/9901001v3",
        announce_type="replace",
        description="arXiv:hep-th/9901001v3 Announce Type: replace \nAbstract: y",
    )
    (ann,) = parse_feed(_rss(item), categories=["hep-th"]).announcements
    assert (ann.paper.arxiv_id, ann.paper.version, ann.announce_type) == (
        "hep-th/9901001",
        3,
        AnnounceType.REPLACE,
    )


@pytest.mark.parametrize(
    "content",
    [
        b"<!DOCTYPE html><html><head><title>503</title></head><body>Service Unavailable</body></html>",
        b"<html><body><h1>Bad Gateway</h1></body></html>",
        b"<?xml version='1.0'?><rss><channel><item><title>cut",
        b"",
        b"Service temporarily unavailable",
        b"<?xml version='1.0'?><something/>",
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><rss><channel/></rss>',
    ],
)
def test_non_feed_content_raises_source_unavailable(content: bytes) -> None:
    with pytest.raises(SourceUnavailable):
        parse_feed(content, categories=["cs.LG"])


def test_items_without_any_date_are_an_error() -> None:
    content = _rss(_item(pub_date="")).replace(b"<pubDate>Thu, 24 Sep 2026 00:00:00 -0400</pubDate>", b"")
    with pytest.raises(SourceUnavailable):
        parse_feed(content, categories=["cs.LG"])


def test_duplicate_items_are_kept_once() -> None:
    one = _item(guid="oai:arXiv.org:2609.00001v1")
    batch = parse_feed(_rss(one, one), categories=["cs.LG"])
    assert [a.paper.arxiv_id for a in batch.announcements] == ["2609.00001"]
