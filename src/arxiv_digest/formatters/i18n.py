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
    "label_replace": "replacement, v{version}",
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
    "notice_budget_exhausted": "Today's translation budget is used up: showing English",
    # Telegram summary header counts.
    "tg_count_new": "{count} new",
    "tg_count_cross": "{count} cross-listed",
    "tg_count_replace": "{count} replaced",
    # Bot replies (Telegram, Discord).
    "bot_welcome": (
        "Hello! Every arXiv announcement day I send the new papers of the categories you follow, "
        "translated into {language}, at {time} ({timezone})."
    ),
    "bot_start_next": "Subscribe with /subscribe cs.LG, or pick from /categories. /help lists every command.",
    "bot_welcome_back": "Welcome back: deliveries to this chat are on again.",
    "bot_help_title": "Commands:",
    "cmd_start": "start, or resume deliveries",
    "cmd_help": "this list",
    "cmd_subscribe": "follow categories: /subscribe cs.LG stat.ML",
    "cmd_unsubscribe": "stop following: /unsubscribe cs.LG, or all",
    "cmd_list": "the categories this chat follows",
    "cmd_categories": "browse and pick categories",
    "cmd_paper": "one paper: /paper 2403.19243",
    "cmd_lang": "digest language: /lang ZH-HANS",
    "cmd_time": "push time: /time 08:30",
    "cmd_timezone": "time zone: /timezone Asia/Shanghai",
    "cmd_settings": "this chat's settings",
    "cmd_digest": "the latest digest, now",
    "cmd_cross": "cross-lists on or off",
    "cmd_replacements": "replaced papers on or off",
    "cmd_keywords": "only papers mentioning words: /keywords diffusion, graph neural network",
    "cmd_max": "at most N papers per digest: /max 30, or /max off",
    "bot_subscribed": "Subscribed: {categories}.",
    "bot_already_subscribed": "Already subscribed: {categories}.",
    "bot_unsubscribed": "Unsubscribed: {categories}.",
    "bot_not_subscribed": "Not subscribed: {categories}.",
    "bot_unsubscribed_all": "All subscriptions removed ({count}).",
    "bot_unknown_category": "Unknown category: {code}.",
    "bot_did_you_mean": "Did you mean {suggestions}?",
    "bot_usage_subscribe": "Usage: /subscribe cs.LG stat.ML (an archive such as cs works too; see /categories).",
    "bot_usage_unsubscribe": "Usage: /unsubscribe cs.LG, or /unsubscribe all.",
    "bot_list": "This chat follows: {categories}.",
    "bot_list_empty": "This chat follows no category yet: /subscribe cs.LG, or pick from /categories.",
    "bot_pick_archive": "Choose an archive:",
    "bot_pick_category": "{archive}: tap a category to follow or unfollow it.",
    "bot_back": "« Archives",
    "bot_usage_paper": "Usage: /paper 2403.19243 (also 2403.19243v2, arXiv:2403.19243, an arxiv.org link, hep-th/9901001).",
    "bot_bad_paper_id": "Not an arXiv id: {text}. Accepted: 2403.19243, 2403.19243v2, arXiv:2403.19243, arxiv.org/abs/… or /pdf/… links, hep-th/9901001.",
    "bot_paper_not_found": "{arxiv_id} was not found on arXiv.",
    "bot_arxiv_down": "arXiv is not answering right now; please try again later.",
    "bot_lookup_allowance": "This chat has used its {count} paper lookups for today; more tomorrow.",
    "bot_lang_set": "Digest language: {language}.",
    "bot_lang_usage": "Current language: {language}. Change it with /lang CODE, one of: {codes}.",
    "bot_lang_bad": "Unsupported language: {code}. Choose one of: {codes}.",
    "bot_time_set": "Push time: {time} ({timezone}).",
    "bot_time_usage": "Current push time: {time} ({timezone}). Change it with /time HH:MM, e.g. /time 08:30.",
    "bot_time_bad": "Not a time of day: {text}. Use HH:MM (24-hour), e.g. /time 08:30.",
    "bot_timezone_set": "Time zone: {timezone}.",
    "bot_timezone_usage": "Current time zone: {timezone}. Change it with /timezone Area/City, e.g. /timezone Europe/Berlin.",
    "bot_timezone_bad": "Unknown time zone: {text}. Use Area/City, e.g. Asia/Shanghai or America/New_York.",
    "bot_next_push": "Next digest: {when}.",
    "bot_settings": (
        "Settings of this chat\n"
        "Categories: {categories}\n"
        "Language: {language}\n"
        "Push time: {time} ({timezone})\n"
        "Cross-lists: {cross}\n"
        "Replacements: {replacements}\n"
        "Keywords: {keywords}\n"
        "Maximum papers: {max}"
    ),
    "bot_none": "none",
    "bot_on": "on",
    "bot_off": "off",
    "bot_no_limit": "no limit",
    "bot_cross_set": "Cross-lists: {state}.",
    "bot_replacements_set": "Replacements: {state}.",
    "bot_usage_on_off": "Usage: /{command} on, or /{command} off (now {state}).",
    "bot_keywords_set": "Only papers mentioning: {keywords}.",
    "bot_keywords_off": "Keyword filter off: every paper is sent.",
    "bot_keywords_usage": "Usage: /keywords word, another phrase (comma-separated), or /keywords off. Now: {keywords}.",
    "bot_keywords_bad": "Too many or too long keywords: at most {count}, each up to {length} characters.",
    "bot_max_set": "At most {count} papers per digest.",
    "bot_max_off": "No limit on papers per digest.",
    "bot_max_usage": "Usage: /max N (1 to {limit}), or /max off. Now: {state}.",
    "bot_admins_only": "Only the chat's administrators can change its settings.",
    "bot_no_subscriptions": "Subscribe first: /subscribe cs.LG.",
    "bot_no_batch": "No announcement has been fetched yet; the first digest comes after arXiv's next announcement.",
    "bot_nothing_for_you": "No papers for this chat's categories and filters on {date}.",
    "bot_error": "Something went wrong on our side; it has been logged. Please try again later.",
    "bot_unknown_command": "Unknown command. /help lists what I understand.",
}

ZH: Final[dict[str, str]] = {
    "digest_summary": "摘要",
    "digest_details": "详细",
    "table_ref": "Ref",
    "table_title": "Title",
    "table_summary": "Summary",
    "label_cross": "交叉列出，来自 {categories}",
    "label_cross_plain": "交叉列出",
    "label_replace": "修订版 v{version}",
    "label_replace_plain": "修订版",
    "label_replace_cross": "修订版，交叉列出",
    "and_more": "……另有 {count} 篇",
    "no_papers": "没有新论文",
    "notice_translation_off": "翻译已关闭：显示英文原文",
    "notice_quota_exhausted": "DeepL 额度已用尽：显示英文原文",
    "notice_key_rejected": "DeepL 密钥被拒绝：显示英文原文",
    "notice_unavailable": "DeepL 暂不可用：显示英文原文",
    "notice_budget_exhausted": "今日翻译额度已用完：显示英文原文",
    "tg_count_new": "{count} 篇新论文",
    "tg_count_cross": "{count} 篇交叉列出",
    "tg_count_replace": "{count} 篇修订",
    "bot_welcome": "你好！每个 arXiv 发布日，我会在 {time}（{timezone}）把你关注的分类的新论文翻译成{language}发给你。",
    "bot_start_next": "用 /subscribe cs.LG 订阅，或在 /categories 中选择。/help 列出所有命令。",
    "bot_welcome_back": "欢迎回来：已恢复向此聊天推送。",
    "bot_help_title": "命令：",
    "cmd_start": "开始，或恢复推送",
    "cmd_help": "本列表",
    "cmd_subscribe": "订阅分类：/subscribe cs.LG stat.ML",
    "cmd_unsubscribe": "取消订阅：/unsubscribe cs.LG，或 all",
    "cmd_list": "此聊天订阅的分类",
    "cmd_categories": "浏览并选择分类",
    "cmd_paper": "查看一篇论文：/paper 2403.19243",
    "cmd_lang": "摘要语言：/lang ZH-HANS",
    "cmd_time": "推送时间：/time 08:30",
    "cmd_timezone": "时区：/timezone Asia/Shanghai",
    "cmd_settings": "此聊天的设置",
    "cmd_digest": "立即获取最新摘要",
    "cmd_cross": "开启或关闭交叉列出",
    "cmd_replacements": "开启或关闭修订论文",
    "cmd_keywords": "只看包含关键词的论文：/keywords diffusion, graph neural network",
    "cmd_max": "每期最多 N 篇：/max 30，或 /max off",
    "bot_subscribed": "已订阅：{categories}。",
    "bot_already_subscribed": "已经订阅过：{categories}。",
    "bot_unsubscribed": "已取消订阅：{categories}。",
    "bot_not_subscribed": "未订阅：{categories}。",
    "bot_unsubscribed_all": "已取消全部订阅（{count} 个）。",
    "bot_unknown_category": "未知分类：{code}。",
    "bot_did_you_mean": "你是不是想输入 {suggestions}？",
    "bot_usage_subscribe": "用法：/subscribe cs.LG stat.ML（也可以订阅整个大类，如 cs；见 /categories）。",
    "bot_usage_unsubscribe": "用法：/unsubscribe cs.LG，或 /unsubscribe all。",
    "bot_list": "此聊天订阅了：{categories}。",
    "bot_list_empty": "此聊天还没有订阅任何分类：/subscribe cs.LG，或在 /categories 中选择。",
    "bot_pick_archive": "选择一个大类：",
    "bot_pick_category": "{archive}：点击分类即可订阅或取消订阅。",
    "bot_back": "« 大类",
    "bot_usage_paper": "用法：/paper 2403.19243（也可以是 2403.19243v2、arXiv:2403.19243、arxiv.org 链接、hep-th/9901001）。",
    "bot_bad_paper_id": "不是 arXiv 编号：{text}。可用格式：2403.19243、2403.19243v2、arXiv:2403.19243、arxiv.org/abs/… 或 /pdf/… 链接、hep-th/9901001。",
    "bot_paper_not_found": "arXiv 上找不到 {arxiv_id}。",
    "bot_arxiv_down": "arXiv 暂时没有响应，请稍后再试。",
    "bot_lookup_allowance": "此聊天今天的 {count} 次论文查询已用完，明天再来。",
    "bot_lang_set": "摘要语言：{language}。",
    "bot_lang_usage": "当前语言：{language}。用 /lang 代码 更改，可选：{codes}。",
    "bot_lang_bad": "不支持的语言：{code}。可选：{codes}。",
    "bot_time_set": "推送时间：{time}（{timezone}）。",
    "bot_time_usage": "当前推送时间：{time}（{timezone}）。用 /time HH:MM 更改，如 /time 08:30。",
    "bot_time_bad": "不是有效时间：{text}。请用 HH:MM（24 小时制），如 /time 08:30。",
    "bot_timezone_set": "时区：{timezone}。",
    "bot_timezone_usage": "当前时区：{timezone}。用 /timezone 地区/城市 更改，如 /timezone Asia/Shanghai。",
    "bot_timezone_bad": "未知时区：{text}。请用 地区/城市 格式，如 Asia/Shanghai 或 America/New_York。",
    "bot_next_push": "下一期摘要：{when}。",
    "bot_settings": (
        "此聊天的设置\n"
        "分类：{categories}\n"
        "语言：{language}\n"
        "推送时间：{time}（{timezone}）\n"
        "交叉列出：{cross}\n"
        "修订论文：{replacements}\n"
        "关键词：{keywords}\n"
        "每期上限：{max}"
    ),
    "bot_none": "无",
    "bot_on": "开",
    "bot_off": "关",
    "bot_no_limit": "不限",
    "bot_cross_set": "交叉列出：{state}。",
    "bot_replacements_set": "修订论文：{state}。",
    "bot_usage_on_off": "用法：/{command} on 或 /{command} off（当前：{state}）。",
    "bot_keywords_set": "只推送包含这些关键词的论文：{keywords}。",
    "bot_keywords_off": "已关闭关键词过滤：推送全部论文。",
    "bot_keywords_usage": "用法：/keywords 词, 短语（逗号分隔），或 /keywords off。当前：{keywords}。",
    "bot_keywords_bad": "关键词太多或太长：最多 {count} 个，每个不超过 {length} 个字符。",
    "bot_max_set": "每期最多 {count} 篇。",
    "bot_max_off": "每期篇数不限。",
    "bot_max_usage": "用法：/max N（1 到 {limit}），或 /max off。当前：{state}。",
    "bot_admins_only": "只有此聊天的管理员可以更改设置。",
    "bot_no_subscriptions": "请先订阅：/subscribe cs.LG。",
    "bot_no_batch": "还没有获取到任何发布；arXiv 下次发布后会推送第一期摘要。",
    "bot_nothing_for_you": "{date} 没有符合此聊天分类和过滤条件的论文。",
    "bot_error": "我们这边出了点问题，已记录。请稍后再试。",
    "bot_unknown_command": "未知命令。/help 列出所有可用命令。",
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
    "label_replace": "差し替え v{version}",
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
    "label_replace": "Neue Version, v{version}",
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


def t(language: str, key: str, /, **params: object) -> str:
    """The UI string ``key`` in ``language`` (a DeepL code such as ``ZH-HANS``, ``JA``, ``EN-US``).

    ``params`` fill the template's ``{placeholders}``; extra params are ignored, a missing one raises
    KeyError (a programming error, caught by the tests).
    """
    return template(language, key).format_map(params)
