from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arxiv_digest.papers import taxonomy as taxonomy_module
from arxiv_digest.papers.errors import InvalidInput, UnknownCategory
from arxiv_digest.papers.taxonomy import (
    MAX_CODE_LENGTH,
    Archive,
    Category,
    Group,
    Taxonomy,
    load_taxonomy,
)


@pytest.fixture(scope="module")
def tax() -> Taxonomy:
    return load_taxonomy()


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    text = (
        resources.files("arxiv_digest.papers").joinpath("data").joinpath("taxonomy.json").read_text("utf-8")
    )
    data: dict[str, Any] = json.loads(text)
    return data


def suggestions_for(tax: Taxonomy, code: str) -> tuple[str, ...]:
    with pytest.raises(UnknownCategory) as info:
        tax.resolve(code)
    return info.value.suggestions


# -- the packaged data --------------------------------------------------------------------------------------


def test_source_names_the_origin(raw: dict[str, Any], tax: Taxonomy) -> None:
    source = raw["source"]
    assert source["repository"] == "arXiv/arxiv-base"
    assert source["licence"] == "MIT"
    assert len(source["commit"]) == 40
    assert tax.source["commit"] == source["commit"]


def test_every_category_has_an_existing_archive_and_group(raw: dict[str, Any]) -> None:
    archives = {a["id"]: a for a in raw["archives"]}
    groups = {g["id"] for g in raw["groups"]}
    assert len(raw["categories"]) > 150
    for cat in raw["categories"]:
        assert cat["archive"] in archives, cat["id"]
        assert cat["group"] in groups, cat["id"]
        assert archives[cat["archive"]]["group"] == cat["group"], cat["id"]
    for arch in raw["archives"]:
        assert arch["group"] in groups, arch["id"]


def test_no_test_or_dummy_entries_are_packaged(raw: dict[str, Any]) -> None:
    ids = (
        [c["id"] for c in raw["categories"]]
        + [a["id"] for a in raw["archives"]]
        + [g["id"] for g in raw["groups"]]
    )
    assert not [i for i in ids if i.startswith("test") or "bad" in i or i == "grp_test"]


def test_alias_map_is_the_datas_own(raw: dict[str, Any]) -> None:
    assert raw["aliases"] == {
        "math.MP": "math-ph",
        "stat.TH": "math.ST",
        "math.IT": "cs.IT",
        "q-fin.EC": "econ.GN",
        "cs.SY": "eess.SY",
        "cs.NA": "math.NA",
    }
    assert raw["subsumed_archives"]["cmp-lg"] == "cs.CL"
    canon = {c["id"]: c["canonical"] for c in raw["categories"] if c["canonical"]}
    assert canon == {**raw["aliases"], **raw["subsumed_archives"]}


def test_load_is_cached(tax: Taxonomy) -> None:
    assert load_taxonomy() is tax


# -- resolve ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("cs.LG", "cs.LG"),
        ("CS.lg", "cs.LG"),
        ("cs.lg", "cs.LG"),
        ("  stat.ml ", "stat.ML"),
        ("HEP-TH", "hep-th"),
        ("hep-th", "hep-th"),
        ("gr-qc", "gr-qc"),
        ("Quant-Ph", "quant-ph"),
        ("math-ph", "math-ph"),
        ("astro-ph.co", "astro-ph.CO"),
        ("physics.optics", "physics.optics"),
        ("PHYSICS.FLU-DYN", "physics.flu-dyn"),
        ("cond-mat.str-el", "cond-mat.str-el"),
        ("ＣＳ．ＬＧ", "cs.LG"),  # full-width letters and dot (NFKC)
    ],
)
def test_resolve_categories_case_insensitively(tax: Taxonomy, typed: str, canonical: str) -> None:
    assert tax.resolve(typed) == canonical


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("cs.NA", "math.NA"),
        ("cs.SY", "eess.SY"),
        ("math.IT", "cs.IT"),
        ("math.MP", "math-ph"),
        ("q-fin.EC", "econ.GN"),
        ("stat.TH", "math.ST"),
        ("cs.na", "math.NA"),
        ("cmp-lg", "cs.CL"),
        ("chao-dyn", "nlin.CD"),
        ("alg-geom", "math.AG"),
        ("supr-con", "cond-mat.supr-con"),
    ],
)
def test_aliases_resolve_to_their_canonical_category(tax: Taxonomy, alias: str, canonical: str) -> None:
    assert tax.resolve(alias) == canonical
    assert tax.is_category(alias)


@pytest.mark.parametrize(
    "archive", ["cs", "math", "econ", "physics", "q-bio", "q-fin", "stat", "eess", "nlin"]
)
def test_whole_archives_are_accepted(tax: Taxonomy, archive: str) -> None:
    assert tax.resolve(archive.upper()) == archive
    assert tax.is_archive(archive)
    assert not tax.is_category(archive)


def test_legacy_bare_archives_resolve_as_archives(tax: Taxonomy) -> None:
    for code in ("astro-ph", "cond-mat"):
        assert tax.resolve(code) == code
        assert tax.is_archive(code)
        assert not tax.is_category(code)  # the bare legacy category is inactive


def test_single_category_archives_are_both(tax: Taxonomy) -> None:
    for code in ("hep-th", "hep-ph", "gr-qc", "quant-ph", "math-ph", "nucl-th"):
        assert tax.is_archive(code)
        assert tax.is_category(code)
        assert [c.id for c in tax.categories_in(code)] == [code]


def test_defunct_archives_are_not_archives(tax: Taxonomy) -> None:
    assert not tax.is_archive("chao-dyn")
    assert tax.is_category("chao-dyn")  # as an alias of nlin.CD


@pytest.mark.parametrize(
    "hidden", ["test", "test.dis-nn", "TEST.soft", "bad-arch.bad-cat", "bad-arch", "grp_test"]
)
def test_test_categories_are_hidden(tax: Taxonomy, hidden: str) -> None:
    assert not tax.is_category(hidden)
    assert not tax.is_archive(hidden)
    with pytest.raises(UnknownCategory):
        tax.resolve(hidden)
    assert all(not s.startswith("test") for s in tax.suggest(hidden))


# -- suggestions --------------------------------------------------------------------------------------------


def test_unknown_category_is_invalid_input_with_a_hint(tax: Taxonomy) -> None:
    with pytest.raises(UnknownCategory) as info:
        tax.resolve("cs.ML")
    err = info.value
    assert isinstance(err, InvalidInput)
    assert err.code == "cs.ML"
    assert "Did you mean cs.LG / stat.ML?" in str(err)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("cs.ML", ("cs.LG", "stat.ML")),
        ("cs.NLP", ("cs.CL",)),
        ("cs.CVPR", ("cs.CV",)),
        ("ml", ("cs.LG", "stat.ML")),
        ("machine learning", ("cs.LG", "stat.ML")),
        ("Machine-Learning", ("cs.LG", "stat.ML")),
        ("machin lerning", ("cs.LG", "stat.ML")),
        ("stat.LG", ("stat.ML", "cs.LG")),
        ("computer vision", ("cs.CV",)),
        ("robotics", ("cs.RO",)),
        ("cs_lg", ("cs.LG",)),
        ("cs LG", ("cs.LG",)),
        ("cslg", ("cs.LG",)),
        ("hep_th", ("hep-th",)),
        ("hepth", ("hep-th",)),
        ("cs.*", ("cs",)),
        ("math.all", ("math",)),
        ("grp_cs", ("cs",)),
    ],
)
def test_suggestions(tax: Taxonomy, typed: str, expected: tuple[str, ...]) -> None:
    assert suggestions_for(tax, typed) == expected


def test_stat_subjects_point_to_the_right_place(tax: Taxonomy) -> None:
    assert suggestions_for(tax, "stat.ST")[0] == "math.ST"
    assert suggestions_for(tax, "stat.CM") == ("stat.CO",)
    assert "stat" in suggestions_for(tax, "statistics")


def test_unknown_subject_in_a_known_archive_suggests_that_archive(tax: Taxonomy) -> None:
    found = suggestions_for(tax, "cs.FOO")
    assert 1 <= len(found) <= 3
    assert all(s.startswith("cs.") for s in found)
    assert suggestions_for(tax, "cs.AII")[0] == "cs.AI"
    assert suggestions_for(tax, "cs.ROBOTICS")[0] == "cs.RO"


def test_nonsense_gets_no_suggestions(tax: Taxonomy) -> None:
    assert suggestions_for(tax, "xyzzy") == ()
    assert suggestions_for(tax, "") == ()
    assert suggestions_for(tax, "!!!") == ()


def test_overlong_input_is_refused_before_any_work(tax: Taxonomy, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> list[str]:
        raise AssertionError("fuzzy matching ran on an over-long input")

    monkeypatch.setattr("difflib.get_close_matches", boom)
    long_code = "cs.LG" + "x" * 100
    with pytest.raises(UnknownCategory) as info:
        tax.resolve(long_code)
    assert info.value.suggestions == ()
    assert len(info.value.code) == MAX_CODE_LENGTH
    assert tax.suggest(long_code) == ()
    assert not tax.is_category("cs.LG" + " " * 100)


def test_regex_metacharacters_are_plain_text(tax: Taxonomy) -> None:
    for typed in ("cs.(LG|CL)", "cs.[A-Z]+", ".*", "(a+)+$", "\\d"):
        for s in suggestions_for(tax, typed):
            assert tax.resolve(s)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_resolve_raises_only_unknown_category_and_suggestions_resolve(text: str) -> None:
    tax = load_taxonomy()
    suggestions: tuple[str, ...] = ()
    try:
        result = tax.resolve(text)
    except UnknownCategory as err:
        suggestions = err.suggestions
    else:
        assert tax.is_category(result) or tax.is_archive(result)
        assert tax.resolve(result) == result
    assert len(suggestions) <= 3
    for s in suggestions:
        assert tax.resolve(s)


def test_confusion_table_entries_all_resolve(tax: Taxonomy) -> None:
    for key, targets in taxonomy_module._CONFUSIONS.items():
        assert not tax.is_category(key), key
        assert not tax.is_archive(key), key
        for target in targets:
            assert tax.resolve(target) == target or tax.is_category(target), (key, target)


# -- resolve_many -------------------------------------------------------------------------------------------


def test_resolve_many_splits_commas_and_whitespace_and_dedupes(tax: Taxonomy) -> None:
    assert tax.resolve_many(["cs.LG, stat.ML cs.CL"]) == ("cs.LG", "stat.ML", "cs.CL")
    assert tax.resolve_many(["cs.lg,cs.LG", "CS.LG", "cs.NA", "math.NA", "hep-th;gr-qc"]) == (
        "cs.LG",
        "math.NA",
        "hep-th",
        "gr-qc",
    )
    assert tax.resolve_many(["", " , "]) == ()


def test_resolve_many_raises_for_the_first_unknown(tax: Taxonomy) -> None:
    with pytest.raises(UnknownCategory) as info:
        tax.resolve_many(["cs.LG cs.ML, cs.NLP"])
    assert info.value.code == "cs.ML"
    assert info.value.suggestions == ("cs.LG", "stat.ML")


# -- matches ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subscribed", "paper", "expected"),
    [
        ("cs.LG", ["cs.LG"], True),
        ("cs.LG", ["stat.ML", "cs.AI"], False),
        ("cs.LG", ["cs.AI", "cs.LG"], True),
        ("cs", ["cs.LG"], True),
        ("cs", ["stat.ML"], False),
        ("math", ["math.NA"], True),
        ("math", ["cs.NA"], True),  # cs.NA is math.NA
        ("cs", ["math.NA"], True),  # ... and math.NA is cs.NA
        ("math.NA", ["cs.NA"], True),
        ("math.NA", ["math.NA"], True),
        ("cs.NA", ["math.NA"], True),
        ("eess.SY", ["cs.SY"], True),
        ("math-ph", ["math.MP"], True),
        ("math", ["math-ph"], True),
        ("stat", ["math.ST"], True),
        ("hep-th", ["hep-th"], True),
        ("hep-th", ["hep-ph"], False),
        ("astro-ph", ["astro-ph.CO"], True),
        ("astro-ph", ["astro-ph"], True),  # legacy bare primary category in old API records
        ("astro-ph.CO", ["astro-ph"], False),
        ("physics", ["physics.optics"], True),
        ("physics", ["quant-ph"], False),  # an archive is not its group
        ("cs.CL", ["cmp-lg"], True),
        ("nlin", ["chao-dyn"], True),
        ("cs", ["cs.ZZ"], True),  # a category newer than our data
        ("cs.ZZ", ["cs.ZZ"], True),
        ("CS.lg", ["cs.LG"], True),
        ("cs", [], False),
    ],
)
def test_matches(tax: Taxonomy, subscribed: str, paper: list[str], expected: bool) -> None:
    assert tax.matches(subscribed, paper) is expected


# -- listings and names -------------------------------------------------------------------------------------


def test_names(tax: Taxonomy) -> None:
    assert tax.name("cs.LG") == "Machine Learning"
    assert tax.name("cs") == "Computer Science"
    assert tax.name("hep-th") == "High Energy Physics - Theory"
    assert tax.name("cs.na") == "Numerical Analysis"
    with pytest.raises(UnknownCategory):
        tax.name("cs.FOO")


def test_groups_and_archives_in_group_order(tax: Taxonomy) -> None:
    groups = [g.id for g in tax.groups()]
    assert groups[0] == "grp_physics"
    assert "grp_test" not in groups
    archives = tax.archives()
    ids = [a.id for a in archives]
    assert {"cs", "math", "physics", "hep-th", "econ", "stat", "eess", "q-bio", "q-fin"} <= set(ids)
    assert "chao-dyn" not in ids
    assert "test" not in ids
    assert all(a.active for a in archives)
    positions = [groups.index(a.group) for a in archives]
    assert positions == sorted(positions)
    assert ids.index("hep-th") < ids.index("math") < ids.index("cs") < ids.index("econ")


def test_categories_in(tax: Taxonomy) -> None:
    cs = tax.categories_in("CS")
    ids = [c.id for c in cs]
    assert ids == sorted(ids)
    assert "cs.LG" in ids
    assert "stat.ML" not in ids
    assert all(c.active and c.archive == "cs" for c in cs)
    na = next(c for c in cs if c.id == "cs.NA")
    assert na.is_alias
    assert na.canonical == "math.NA"
    astro = [c.id for c in tax.categories_in("astro-ph")]
    assert astro[:2] == ["astro-ph.CO", "astro-ph.EP"]
    assert "astro-ph" not in astro
    with pytest.raises(UnknownCategory) as info:
        tax.categories_in("cs.LG")
    assert info.value.suggestions == ("cs",)
    with pytest.raises(UnknownCategory):
        tax.categories_in("test")


# -- a hand-built taxonomy ----------------------------------------------------------------------------------


def test_constructor_rejects_inconsistent_data() -> None:
    groups = [Group("grp_x", "X")]
    archives = [Archive("x", "X", "grp_x")]
    with pytest.raises(ValueError, match="unknown archive"):
        Taxonomy(groups=groups, archives=archives, categories=[Category("y.A", "A", "y", "grp_x")])
    with pytest.raises(ValueError, match="canonical"):
        Taxonomy(
            groups=groups,
            archives=archives,
            categories=[Category("x.A", "A", "x", "grp_x", canonical="x.B")],
        )
    with pytest.raises(ValueError, match="unknown group"):
        Taxonomy(groups=groups, archives=[Archive("z", "Z", "grp_z")], categories=[])


def test_from_json_data_checks_alias_maps(raw: dict[str, Any]) -> None:
    broken = dict(raw, aliases={**raw["aliases"], "cs.XX": "cs.LG"})
    with pytest.raises(ValueError, match="alias maps"):
        Taxonomy.from_json_data(broken)
