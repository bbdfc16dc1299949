from __future__ import annotations

import string

import pytest

from arxiv_digest.formatters.i18n import CATALOG, EN, FALLBACK, ZH, t, template


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_english_is_the_fallback_and_in_the_catalog() -> None:
    assert CATALOG[FALLBACK] is EN


@pytest.mark.parametrize("language", sorted(CATALOG))
def test_every_key_is_an_english_key(language: str) -> None:
    extra = set(CATALOG[language]) - set(EN)
    assert not extra, f"{language} has keys English lacks: {sorted(extra)}"


def test_chinese_is_complete() -> None:
    assert set(ZH) == set(EN)


@pytest.mark.parametrize("language", sorted(CATALOG))
def test_placeholders_match_english(language: str) -> None:
    for key, text in CATALOG[language].items():
        assert placeholders(text) == placeholders(EN[key]), (language, key)


@pytest.mark.parametrize("language", sorted(CATALOG))
def test_every_template_formats_with_the_english_params(language: str) -> None:
    for key, text in CATALOG[language].items():
        params = dict.fromkeys(placeholders(EN[key]), "X")
        assert "{" not in text.format_map(params), (language, key)


@pytest.mark.parametrize(
    ("language", "summary", "details"),
    [
        ("ZH-HANS", "摘要", "详细"),
        ("ZH", "摘要", "详细"),
        ("ZH-HANT", "摘要", "詳細"),
        ("JA", "要約", "詳細"),
        ("DE", "Zusammenfassung", "Details"),
        ("EN-US", "Summary", "Details"),
        ("EN-GB", "Summary", "Details"),
    ],
)
def test_digest_headers(language: str, summary: str, details: str) -> None:
    assert t(language, "digest_summary") == summary
    assert t(language, "digest_details") == details


def test_table_header_cells_stay_english_for_chinese() -> None:
    # The reference (golden zh digests) writes "| Ref | Title | Summary |".
    assert [t("ZH-HANS", k) for k in ("table_ref", "table_title", "table_summary")] == [
        "Ref",
        "Title",
        "Summary",
    ]


def test_language_codes_are_matched_loosely() -> None:
    assert t("zh-hans", "no_papers") == "没有新论文"
    assert t("zh_CN", "no_papers") == "没有新论文"
    assert t(" ja ", "no_papers") == "新しい論文はありません"


def test_missing_key_falls_back_to_the_base_table_then_english() -> None:
    # zh-hant has no "and_more": the zh table serves it.
    assert t("ZH-HANT", "and_more", count=2) == "……另有 2 篇"
    # ja has no notices: English serves them.
    assert "notice_quota_exhausted" not in CATALOG["ja"]
    assert t("JA", "notice_quota_exhausted") == "DeepL quota exhausted: showing English"


def test_unknown_language_falls_back_to_english() -> None:
    assert t("XX", "and_more", count=3) == "…and 3 more"
    assert t("", "digest_details") == "Details"
    assert t("PT-BR", "no_papers") == "No new papers"


def test_parameters_are_substituted() -> None:
    assert t("EN-US", "label_cross", categories="math.OC") == "cross-list from math.OC"
    assert t("ZH-HANS", "label_replace", version=3) == "修订版 v3"
    assert t("DE", "and_more", count=12) == "…und 12 weitere"


def test_parameters_are_never_templates() -> None:
    # User text passed as a parameter is inserted verbatim, not formatted again.
    assert (
        t("EN-US", "label_cross", categories="{count} {0} {__class__}")
        == "cross-list from {count} {0} {__class__}"
    )


def test_extra_parameters_are_ignored() -> None:
    # The replace-cross label has no placeholder; callers may still pass the version.
    assert t("EN-US", "label_replace_cross", version=4) == "replacement, cross-list"


def test_missing_parameter_raises() -> None:
    with pytest.raises(KeyError):
        t("EN-US", "and_more")


def test_unknown_key_raises() -> None:
    with pytest.raises(KeyError, match="no_such_key"):
        t("ZH-HANS", "no_such_key")
    with pytest.raises(KeyError):
        template("EN-US", "no_such_key")


def test_notices_in_english() -> None:
    assert t("EN-US", "notice_translation_off") == "Translation off: showing English"
    assert t("EN-US", "notice_quota_exhausted") == "DeepL quota exhausted: showing English"
    assert t("EN-US", "notice_key_rejected") == "DeepL key rejected: showing English"
    assert t("EN-US", "notice_unavailable") == "DeepL unavailable: showing English"


def test_labels_in_english() -> None:
    assert t("EN-US", "label_replace", version=2) == "replacement, v2"
    assert t("EN-US", "label_replace_cross") == "replacement, cross-list"
    assert t("EN-US", "label_cross_plain") == "cross-list"
    assert t("EN-US", "label_replace_plain") == "replacement"
