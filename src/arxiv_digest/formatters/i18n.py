"""UI strings per language. Pure: no I/O, no clock, no environment.

Tables are keyed by base language (``papers.languages.base_language``: ``ZH-HANS`` -> ``zh``), with an
optional full-code table (``zh-hant``) consulted first. A key missing from a language falls back to the
base table, then to English, so a partial table is always safe. English is the reference: it holds every
key, and every other table's keys and ``{placeholders}`` must match it (a test enforces this).

Templates are fixed strings from this module, filled with ``str.format_map``: parameters are substituted,
never interpreted as templates, so user text (a category, a notice) can be passed safely as a parameter.

To add a string: add the key to ``EN``, then to ``ZH`` (which is kept complete); other tables optional.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Final

from ..papers.languages import base_language

logger = logging.getLogger(__name__)

FALLBACK: Final = "en"

EN: Final[dict[str, str]] = {
    # Markdown digest (reference layout).
    "digest_summary": "Summary",
    "digest_details": "Details",
    # Table header cells. The reference (zh) keeps them in English; so does every table here, since the
    # Title column holds the English titles.
    "table_ref": "Ref",
    "table_title": "Title",
    "table_summary": "Summary",
    # Announcement labels.
    "label_cross": "cross-list from {categories}",
    "label_cross_plain": "cross-list",
    "label_replace": "replacement (v{version})",
    "label_replace_plain": "replacement",
    "label_replace_cross": "replacement, cross-list",
    # Digest tail and empty state.
    "and_more": "…and {count} more",
    "no_papers": "No new papers",
    # One-line notices.
    "notice_translation_off": "Translation off: showing English",
    "notice_quota_exhausted": "DeepL quota exhausted: showing English",
    "notice_key_rejected": "DeepL key rejected: showing English",
    "notice_unavailable": "DeepL unavailable: showing English",
    # Telegram summary header counts.
    "tg_count_new": "{count} new",
    "tg_count_cross": "{count} cross-listed",
    "tg_count_replace": "{count} replaced",
}

ZH: Final[dict[str, str]] = {
    "digest_summary": "摘要",
    "digest_details": "详细",
    "table_ref": "Ref",
    "table_title": "Title",
    "table_summary": "Summary",
    "label_cross": "交叉列出，来自 {categories}",
    "label_cross_plain": "交叉列出",
    "label_replace": "修订版 (v{version})",
    "label_replace_plain": "修订版",
    "label_replace_cross": "修订版，交叉列出",
    "and_more": "……另有 {count} 篇",
    "no_papers": "没有新论文",
    "notice_translation_off": "翻译已关闭：显示英文原文",
    "notice_quota_exhausted": "DeepL 额度已用尽：显示英文原文",
    "notice_key_rejected": "DeepL 密钥被拒绝：显示英文原文",
    "notice_unavailable": "DeepL 暂不可用：显示英文原文",
    "tg_count_new": "{count} 篇新论文",
    "tg_count_cross": "{count} 篇交叉列出",
    "tg_count_replace": "{count} 篇修订",
}

# Traditional Chinese: only what differs visibly; the rest falls back to ``zh``, then English.
ZH_HANT: Final[dict[str, str]] = {
    "digest_summary": "摘要",
    "digest_details": "詳細",
    "no_papers": "沒有新論文",
}

JA: Final[dict[str, str]] = {
    "digest_summary": "要約",
    "digest_details": "詳細",
    "label_cross": "{categories} からのクロスリスト",
    "label_cross_plain": "クロスリスト",
    "label_replace": "差し替え (v{version})",
    "label_replace_plain": "差し替え",
    "label_replace_cross": "差し替え、クロスリスト",
    "and_more": "…ほか {count} 件",
    "no_papers": "新しい論文はありません",
}

DE: Final[dict[str, str]] = {
    "digest_summary": "Zusammenfassung",
    "digest_details": "Details",
    "label_cross": "Cross-List aus {categories}",
    "label_cross_plain": "Cross-List",
    "label_replace": "Neue Version (v{version})",
    "label_replace_plain": "Neue Version",
    "label_replace_cross": "Neue Version, Cross-List",
    "and_more": "…und {count} weitere",
    "no_papers": "Keine neuen Artikel",
}

CATALOG: Final[Mapping[str, Mapping[str, str]]] = {
    "en": EN,
    "zh": ZH,
    "zh-hant": ZH_HANT,
    "ja": JA,
    "de": DE,
}


def _chain(language: str) -> list[Mapping[str, str]]:
    """The tables to consult for ``language``, most specific first, English last."""
    code = language.strip().lower().replace("_", "-")
    names: list[str] = []
    for name in (code, base_language(code) if code else FALLBACK, FALLBACK):
        if name not in names and name in CATALOG:
            names.append(name)
    return [CATALOG[name] for name in names]


def template(language: str, key: str) -> str:
    """The raw template for ``key`` in ``language`` (with fallback). Raises KeyError for an unknown key."""
    for table in _chain(language):
        found = table.get(key)
        if found is not None:
            return found
    raise KeyError(f"unknown UI string key: {key!r}")


def t(language: str, key: str, **params: object) -> str:
    """The UI string ``key`` in ``language`` (a DeepL code such as ``ZH-HANS``, ``JA``, ``EN-US``).

    ``params`` fill the template's ``{placeholders}``; extra params are ignored, a missing one raises
    KeyError (a programming error, caught by the tests).
    """
    return template(language, key).format_map(params)
