"""UI strings per language. Pure: no I/O, no clock, no environment.

The UI languages are the keys of ``CATALOG`` (``UI_LANGUAGES``): English, Simplified Chinese, Traditional
Chinese, Japanese and German. Tables are keyed by base language (``papers.languages.base_language``:
``ZH-HANS`` -> ``zh``), with a full-code table (``zh-hant``) consulted first. Every table in ``CATALOG`` is
complete: it holds every key of ``EN`` with exactly the same ``{placeholders}`` (the tests enforce this), so
a chat in a UI language never sees a string of another language. A DeepL language with no table (``FR``,
``KO``, ``PT-BR``…) gets the English UI strings; the digest itself is still translated.

Templates are fixed strings from this module, written and reviewed by hand (never machine-translated at run
time), filled with ``str.format_map``: parameters are substituted, never interpreted as templates, so user
text (a category, a notice) can be passed safely as a parameter.

To add a string: add the key to ``EN`` and to every other table in ``CATALOG``. To add a UI language: add a
complete table to ``CATALOG`` and its key to ``UI_LANGUAGES`` (a test checks the two agree).
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
    "bot_lang_limit": (
        "This chat has already used {count} languages today, and each new one costs a translation of the "
        "whole digest. Today you can switch back to: {languages}. Other languages: tomorrow (UTC)."
    ),
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
    "bot_storage_down": "The bot cannot reach its database right now, so nothing was changed. Please try again in a few minutes.",
    "bot_unknown_command": "Unknown command. /help lists what I understand.",
    # Discord: /digest's answer to the one who asked (the digest itself goes to the channel).
    "bot_digest_posted": "The digest is posted in this channel.",
    "bot_digest_no_access": "The digest could not be posted here: I need to see this channel, send messages, embed links, create threads and send messages in threads. It stays queued and is tried again later.",
    "bot_digest_later": "Discord is not accepting messages right now; the rest of the digest follows automatically.",
    # Discord: descriptions of the slash commands' options (at most 100 characters).
    "dc_opt_categories": "category codes separated by spaces, e.g. cs.LG stat.ML (an archive such as cs works too)",
    "dc_opt_unsubscribe": "category codes separated by spaces, or all",
    "dc_opt_archive": "an archive to open, e.g. cs or math",
    "dc_opt_paper": "an arXiv id or link, e.g. 2403.19243, arXiv:2403.19243v2 or an arxiv.org/abs/… link",
    "dc_opt_lang": "a language code, e.g. ZH-HANS, JA, DE or EN-US",
    "dc_opt_time": "the push time, HH:MM (24-hour), e.g. 08:30",
    "dc_opt_timezone": "an IANA time zone, e.g. Asia/Shanghai or Europe/Berlin",
    "dc_opt_state": "on or off",
    "dc_opt_keywords": "words or phrases separated by commas, or off",
    "dc_opt_max": "a number from 1 to {limit}, or off",
    # Category picker: the button that follows a whole archive.
    "bot_archive_all": "{archive} (all)",
    # Short weekday names (Monday = 0, as ``date.weekday()``), for dates shown in replies.
    "weekday_0": "Mon",
    "weekday_1": "Tue",
    "weekday_2": "Wed",
    "weekday_3": "Thu",
    "weekday_4": "Fri",
    "weekday_5": "Sat",
    "weekday_6": "Sun",
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
    "bot_lang_limit": (
        "此聊天今天已经用过 {count} 种语言，每换一种新语言都要把整期摘要重新翻译一遍。"
        "今天还可以切换回：{languages}。其他语言请明天（UTC）再试。"
    ),
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
    "bot_storage_down": "机器人暂时连不上数据库，什么都没有改动。请过几分钟再试。",
    "bot_unknown_command": "未知命令。/help 列出所有可用命令。",
    "bot_digest_posted": "摘要已发到此频道。",
    "bot_digest_no_access": "摘要无法发到这里：我需要查看此频道、发送消息、嵌入链接、创建子区并在子区中发送消息的权限。摘要会保留，稍后自动重试。",
    "bot_digest_later": "Discord 暂时不接收消息；摘要的其余部分稍后会自动发出。",
    "dc_opt_categories": "分类代码，用空格分隔，如 cs.LG stat.ML（也可以是整个大类，如 cs）",
    "dc_opt_unsubscribe": "分类代码，用空格分隔，或 all",
    "dc_opt_archive": "要打开的大类，如 cs 或 math",
    "dc_opt_paper": "arXiv 编号或链接，如 2403.19243、arXiv:2403.19243v2 或 arxiv.org/abs/… 链接",
    "dc_opt_lang": "语言代码，如 ZH-HANS、JA、DE 或 EN-US",
    "dc_opt_time": "推送时间，HH:MM（24 小时制），如 08:30",
    "dc_opt_timezone": "IANA 时区，如 Asia/Shanghai 或 Europe/Berlin",
    "dc_opt_state": "开或关",
    "dc_opt_keywords": "关键词或短语，用逗号分隔，或 off",
    "dc_opt_max": "1 到 {limit} 之间的数字，或 off",
    "bot_archive_all": "{archive}（全部）",
    "weekday_0": "周一",
    "weekday_1": "周二",
    "weekday_2": "周三",
    "weekday_3": "周四",
    "weekday_4": "周五",
    "weekday_5": "周六",
    "weekday_6": "周日",
}

# Traditional Chinese, Taiwan usage (訂閱, 設定, 推播, 聊天室, 指令, 關鍵字, 連結, 字元, 金鑰, 支援). Complete: no key may
# fall back to the Simplified ``zh`` table.
ZH_HANT: Final[dict[str, str]] = {
    "digest_summary": "摘要",
    "digest_details": "詳細",
    "table_ref": "Ref",
    "table_title": "Title",
    "table_summary": "Summary",
    "label_cross": "交叉列出，來自 {categories}",
    "label_cross_plain": "交叉列出",
    "label_replace": "修訂版 v{version}",
    "label_replace_plain": "修訂版",
    "label_replace_cross": "修訂版，交叉列出",
    "and_more": "……另有 {count} 篇",
    "no_papers": "沒有新論文",
    "notice_translation_off": "翻譯已關閉：顯示英文原文",
    "notice_quota_exhausted": "DeepL 額度已用盡：顯示英文原文",
    "notice_key_rejected": "DeepL 金鑰遭拒：顯示英文原文",
    "notice_unavailable": "DeepL 暫時無法使用：顯示英文原文",
    "notice_budget_exhausted": "今日翻譯額度已用完：顯示英文原文",
    "tg_count_new": "{count} 篇新論文",
    "tg_count_cross": "{count} 篇交叉列出",
    "tg_count_replace": "{count} 篇修訂",
    "bot_welcome": "你好！每個 arXiv 發布日，我會在 {time}（{timezone}）把你訂閱分類中的新論文翻譯成{language}傳給你。",
    "bot_start_next": "用 /subscribe cs.LG 訂閱，或在 /categories 中選擇。/help 會列出所有指令。",
    "bot_welcome_back": "歡迎回來：已恢復對此聊天室的推播。",
    "bot_help_title": "指令：",
    "cmd_start": "開始，或恢復推播",
    "cmd_help": "本清單",
    "cmd_subscribe": "訂閱分類：/subscribe cs.LG stat.ML",
    "cmd_unsubscribe": "取消訂閱：/unsubscribe cs.LG，或 all",
    "cmd_list": "此聊天室訂閱的分類",
    "cmd_categories": "瀏覽並選擇分類",
    "cmd_paper": "查看單篇論文：/paper 2403.19243",
    "cmd_lang": "摘要語言：/lang ZH-HANS",
    "cmd_time": "推播時間：/time 08:30",
    "cmd_timezone": "時區：/timezone Asia/Taipei",
    "cmd_settings": "此聊天室的設定",
    "cmd_digest": "立即取得最新一期摘要",
    "cmd_cross": "開啟或關閉交叉列出",
    "cmd_replacements": "開啟或關閉修訂論文",
    "cmd_keywords": "只看包含關鍵字的論文：/keywords diffusion, graph neural network",
    "cmd_max": "每期最多 N 篇：/max 30，或 /max off",
    "bot_subscribed": "已訂閱：{categories}。",
    "bot_already_subscribed": "已經訂閱過：{categories}。",
    "bot_unsubscribed": "已取消訂閱：{categories}。",
    "bot_not_subscribed": "未訂閱：{categories}。",
    "bot_unsubscribed_all": "已取消全部訂閱（{count} 個）。",
    "bot_unknown_category": "未知的分類：{code}。",
    "bot_did_you_mean": "你是不是要輸入 {suggestions}？",
    "bot_usage_subscribe": "用法：/subscribe cs.LG stat.ML（也可以訂閱整個大類，如 cs；請見 /categories）。",
    "bot_usage_unsubscribe": "用法：/unsubscribe cs.LG，或 /unsubscribe all。",
    "bot_list": "此聊天室訂閱了：{categories}。",
    "bot_list_empty": "此聊天室尚未訂閱任何分類：/subscribe cs.LG，或在 /categories 中選擇。",
    "bot_pick_archive": "選擇一個大類：",
    "bot_pick_category": "{archive}：點選分類即可訂閱或取消訂閱。",
    "bot_back": "« 大類",
    "bot_usage_paper": "用法：/paper 2403.19243（也可以是 2403.19243v2、arXiv:2403.19243、arxiv.org 連結、hep-th/9901001）。",
    "bot_bad_paper_id": "不是 arXiv 編號：{text}。可用格式：2403.19243、2403.19243v2、arXiv:2403.19243、arxiv.org/abs/… 或 /pdf/… 連結、hep-th/9901001。",
    "bot_paper_not_found": "在 arXiv 上找不到 {arxiv_id}。",
    "bot_arxiv_down": "arXiv 目前沒有回應，請稍後再試。",
    "bot_lookup_allowance": "此聊天室今天的 {count} 次論文查詢已用完，請明天再試。",
    "bot_lang_set": "摘要語言：{language}。",
    "bot_lang_usage": "目前語言：{language}。用 /lang 代碼 更改，可選：{codes}。",
    "bot_lang_bad": "不支援的語言：{code}。可選：{codes}。",
    "bot_lang_limit": (
        "此聊天室今天已經用過 {count} 種語言，每換一種新語言都要把整期摘要重新翻譯一遍。"
        "今天還可以切換回：{languages}。其他語言請明天（UTC）再試。"
    ),
    "bot_time_set": "推播時間：{time}（{timezone}）。",
    "bot_time_usage": "目前推播時間：{time}（{timezone}）。用 /time HH:MM 更改，如 /time 08:30。",
    "bot_time_bad": "不是有效的時間：{text}。請用 HH:MM（24 小時制），如 /time 08:30。",
    "bot_timezone_set": "時區：{timezone}。",
    "bot_timezone_usage": "目前時區：{timezone}。用 /timezone 地區/城市 更改，如 /timezone Asia/Taipei。",
    "bot_timezone_bad": "未知的時區：{text}。請用 地區/城市 格式，如 Asia/Taipei 或 America/New_York。",
    "bot_next_push": "下一期摘要：{when}。",
    "bot_settings": (
        "此聊天室的設定\n"
        "分類：{categories}\n"
        "語言：{language}\n"
        "推播時間：{time}（{timezone}）\n"
        "交叉列出：{cross}\n"
        "修訂論文：{replacements}\n"
        "關鍵字：{keywords}\n"
        "每期上限：{max}"
    ),
    "bot_none": "無",
    "bot_on": "開",
    "bot_off": "關",
    "bot_no_limit": "不限",
    "bot_cross_set": "交叉列出：{state}。",
    "bot_replacements_set": "修訂論文：{state}。",
    "bot_usage_on_off": "用法：/{command} on 或 /{command} off（目前：{state}）。",
    "bot_keywords_set": "只推播包含這些關鍵字的論文：{keywords}。",
    "bot_keywords_off": "已關閉關鍵字篩選：推播全部論文。",
    "bot_keywords_usage": "用法：/keywords 詞, 片語（以逗號分隔），或 /keywords off。目前：{keywords}。",
    "bot_keywords_bad": "關鍵字太多或太長：最多 {count} 個，每個不超過 {length} 個字元。",
    "bot_max_set": "每期最多 {count} 篇。",
    "bot_max_off": "每期篇數不限。",
    "bot_max_usage": "用法：/max N（1 到 {limit}），或 /max off。目前：{state}。",
    "bot_admins_only": "只有此聊天室的管理員可以更改設定。",
    "bot_no_subscriptions": "請先訂閱：/subscribe cs.LG。",
    "bot_no_batch": "尚未取得任何發布；arXiv 下次發布後會推播第一期摘要。",
    "bot_nothing_for_you": "{date} 沒有符合此聊天室分類與篩選條件的論文。",
    "bot_error": "我們這邊出了點問題，已記錄下來。請稍後再試。",
    "bot_storage_down": "機器人暫時連不上資料庫，什麼都沒有變更。請過幾分鐘再試。",
    "bot_unknown_command": "未知的指令。/help 會列出所有可用指令。",
    "bot_digest_posted": "摘要已發佈到此頻道。",
    "bot_digest_no_access": "摘要無法發佈到這裡：我需要檢視此頻道、傳送訊息、嵌入連結、建立討論串並在討論串中傳送訊息的權限。摘要會保留，稍後自動重試。",
    "bot_digest_later": "Discord 暫時不接收訊息；摘要的其餘部分稍後會自動發出。",
    "dc_opt_categories": "分類代碼，以空格分隔，如 cs.LG stat.ML（也可以是整個大類，如 cs）",
    "dc_opt_unsubscribe": "分類代碼，以空格分隔，或 all",
    "dc_opt_archive": "要開啟的大類，如 cs 或 math",
    "dc_opt_paper": "arXiv 編號或連結，如 2403.19243、arXiv:2403.19243v2 或 arxiv.org/abs/… 連結",
    "dc_opt_lang": "語言代碼，如 ZH-HANS、JA、DE 或 EN-US",
    "dc_opt_time": "推播時間，HH:MM（24 小時制），如 08:30",
    "dc_opt_timezone": "IANA 時區，如 Asia/Taipei 或 Europe/Berlin",
    "dc_opt_state": "開或關",
    "dc_opt_keywords": "關鍵字或片語，以逗號分隔，或 off",
    "dc_opt_max": "1 到 {limit} 之間的數字，或 off",
    "bot_archive_all": "{archive}（全部）",
    "weekday_0": "週一",
    "weekday_1": "週二",
    "weekday_2": "週三",
    "weekday_3": "週四",
    "weekday_4": "週五",
    "weekday_5": "週六",
    "weekday_6": "週日",
}

# Japanese, polite です/ます style; arXiv terms as Japanese researchers use them (クロスリスト, 差し替え, 購読).
JA: Final[dict[str, str]] = {
    "digest_summary": "要約",
    "digest_details": "詳細",
    "table_ref": "Ref",
    "table_title": "Title",
    "table_summary": "Summary",
    "label_cross": "{categories} からのクロスリスト",
    "label_cross_plain": "クロスリスト",
    "label_replace": "差し替え v{version}",
    "label_replace_plain": "差し替え",
    "label_replace_cross": "差し替え、クロスリスト",
    "and_more": "…ほか {count} 件",
    "no_papers": "新しい論文はありません",
    "notice_translation_off": "翻訳はオフです：英語で表示しています",
    "notice_quota_exhausted": "DeepL の利用上限に達しました：英語で表示しています",
    "notice_key_rejected": "DeepL の API キーが拒否されました：英語で表示しています",
    "notice_unavailable": "DeepL を利用できません：英語で表示しています",
    "notice_budget_exhausted": "本日の翻訳枠を使い切りました：英語で表示しています",
    "tg_count_new": "新着 {count} 件",
    "tg_count_cross": "クロスリスト {count} 件",
    "tg_count_replace": "差し替え {count} 件",
    "bot_welcome": (
        "こんにちは！arXiv で新着が公開される日ごとに、購読中のカテゴリの新しい論文を{language}に翻訳して、"
        "{time}（{timezone}）にお届けします。"
    ),
    "bot_start_next": "/subscribe cs.LG で購読するか、/categories から選んでください。/help でコマンド一覧を表示します。",
    "bot_welcome_back": "おかえりなさい。このチャットへの配信を再開しました。",
    "bot_help_title": "コマンド一覧：",
    "cmd_start": "開始、または配信を再開",
    "cmd_help": "このコマンド一覧",
    "cmd_subscribe": "カテゴリを購読：/subscribe cs.LG stat.ML",
    "cmd_unsubscribe": "購読を解除：/unsubscribe cs.LG、または all",
    "cmd_list": "このチャットで購読中のカテゴリ",
    "cmd_categories": "カテゴリを一覧から選ぶ",
    "cmd_paper": "論文を 1 本表示：/paper 2403.19243",
    "cmd_lang": "ダイジェストの言語：/lang ZH-HANS",
    "cmd_time": "配信時刻：/time 08:30",
    "cmd_timezone": "タイムゾーン：/timezone Asia/Tokyo",
    "cmd_settings": "このチャットの設定",
    "cmd_digest": "最新のダイジェストを今すぐ表示",
    "cmd_cross": "クロスリストのオン／オフ",
    "cmd_replacements": "差し替え論文のオン／オフ",
    "cmd_keywords": "キーワードを含む論文だけを配信：/keywords diffusion, graph neural network",
    "cmd_max": "1 回の配信の上限件数：/max 30、または /max off",
    "bot_subscribed": "購読しました：{categories}。",
    "bot_already_subscribed": "すでに購読しています：{categories}。",
    "bot_unsubscribed": "購読を解除しました：{categories}。",
    "bot_not_subscribed": "購読していません：{categories}。",
    "bot_unsubscribed_all": "すべての購読を解除しました（{count} 件）。",
    "bot_unknown_category": "不明なカテゴリです：{code}。",
    "bot_did_you_mean": "{suggestions} のことですか？",
    "bot_usage_subscribe": "使い方：/subscribe cs.LG stat.ML（cs のようにアーカイブ全体も指定できます。/categories を参照してください）。",
    "bot_usage_unsubscribe": "使い方：/unsubscribe cs.LG、または /unsubscribe all。",
    "bot_list": "このチャットの購読カテゴリ：{categories}。",
    "bot_list_empty": "このチャットはまだカテゴリを購読していません。/subscribe cs.LG で購読するか、/categories から選んでください。",
    "bot_pick_archive": "アーカイブを選んでください：",
    "bot_pick_category": "{archive}：カテゴリをタップすると、購読と解除が切り替わります。",
    "bot_back": "« アーカイブ一覧",
    "bot_usage_paper": "使い方：/paper 2403.19243（2403.19243v2、arXiv:2403.19243、arxiv.org のリンク、hep-th/9901001 も使えます）。",
    "bot_bad_paper_id": "arXiv ID ではありません：{text}。使える形式：2403.19243、2403.19243v2、arXiv:2403.19243、arxiv.org/abs/… または /pdf/… のリンク、hep-th/9901001。",
    "bot_paper_not_found": "{arxiv_id} は arXiv に見つかりませんでした。",
    "bot_arxiv_down": "arXiv が現在応答していません。しばらくしてからもう一度お試しください。",
    "bot_lookup_allowance": "このチャットは本日の論文検索の上限（{count} 回）に達しました。また明日ご利用ください。",
    "bot_lang_set": "ダイジェストの言語：{language}。",
    "bot_lang_usage": "現在の言語：{language}。/lang コード で変更できます。選べる言語：{codes}。",
    "bot_lang_bad": "対応していない言語です：{code}。次から選んでください：{codes}。",
    "bot_lang_limit": (
        "このチャットでは本日すでに {count} 言語を使用しています。新しい言語に切り替えるたびに、"
        "ダイジェスト全体の翻訳が必要になります。本日切り替えられるのは次の言語だけです：{languages}。"
        "その他の言語は明日（UTC）以降に選べます。"
    ),
    "bot_time_set": "配信時刻：{time}（{timezone}）。",
    "bot_time_usage": "現在の配信時刻：{time}（{timezone}）。/time HH:MM で変更できます（例：/time 08:30）。",
    "bot_time_bad": "時刻として認識できません：{text}。HH:MM（24 時間表記）で指定してください（例：/time 08:30）。",
    "bot_timezone_set": "タイムゾーン：{timezone}。",
    "bot_timezone_usage": "現在のタイムゾーン：{timezone}。/timezone 地域/都市 で変更できます（例：/timezone Asia/Tokyo）。",
    "bot_timezone_bad": "不明なタイムゾーンです：{text}。地域/都市 の形式で指定してください（例：Asia/Tokyo、America/New_York）。",
    "bot_next_push": "次回の配信：{when}。",
    "bot_settings": (
        "このチャットの設定\n"
        "カテゴリ：{categories}\n"
        "言語：{language}\n"
        "配信時刻：{time}（{timezone}）\n"
        "クロスリスト：{cross}\n"
        "差し替え：{replacements}\n"
        "キーワード：{keywords}\n"
        "最大件数：{max}"
    ),
    "bot_none": "なし",
    "bot_on": "オン",
    "bot_off": "オフ",
    "bot_no_limit": "上限なし",
    "bot_cross_set": "クロスリスト：{state}。",
    "bot_replacements_set": "差し替え：{state}。",
    "bot_usage_on_off": "使い方：/{command} on または /{command} off（現在：{state}）。",
    "bot_keywords_set": "次の語を含む論文だけを配信します：{keywords}。",
    "bot_keywords_off": "キーワードによる絞り込みをオフにしました。すべての論文を配信します。",
    "bot_keywords_usage": "使い方：/keywords 単語, フレーズ（カンマ区切り）、または /keywords off。現在：{keywords}。",
    "bot_keywords_bad": "キーワードが多すぎるか長すぎます。最大 {count} 個、それぞれ {length} 文字までです。",
    "bot_max_set": "1 回の配信は最大 {count} 件です。",
    "bot_max_off": "1 回の配信の件数に上限はありません。",
    "bot_max_usage": "使い方：/max N（1〜{limit}）、または /max off。現在：{state}。",
    "bot_admins_only": "このチャットの設定を変更できるのは管理者だけです。",
    "bot_no_subscriptions": "先にカテゴリを購読してください：/subscribe cs.LG。",
    "bot_no_batch": "まだ新着情報を取得していません。最初のダイジェストは、arXiv の次回の公開後にお届けします。",
    "bot_nothing_for_you": "{date} は、このチャットのカテゴリと絞り込み条件に合う論文がありません。",
    "bot_error": "こちら側で問題が発生しました（記録済みです）。しばらくしてからもう一度お試しください。",
    "bot_storage_down": "現在ボットがデータベースに接続できないため、何も変更していません。数分後にもう一度お試しください。",
    "bot_unknown_command": "不明なコマンドです。/help で使えるコマンドを確認できます。",
    "bot_digest_posted": "ダイジェストをこのチャンネルに投稿しました。",
    "bot_digest_no_access": "ここにダイジェストを投稿できませんでした。このチャンネルの閲覧、メッセージの送信、埋め込みリンク、スレッドの作成、スレッドでのメッセージ送信の権限が必要です。ダイジェストは保留され、後で自動的に再試行します。",
    "bot_digest_later": "Discord が現在メッセージを受け付けていません。ダイジェストの残りは後で自動的に投稿されます。",
    "dc_opt_categories": "スペース区切りのカテゴリコード（例：cs.LG stat.ML。cs のようなアーカイブ全体も可）",
    "dc_opt_unsubscribe": "スペース区切りのカテゴリコード、または all",
    "dc_opt_archive": "開くアーカイブ（例：cs、math）",
    "dc_opt_paper": "arXiv ID またはリンク（例：2403.19243、arXiv:2403.19243v2、arxiv.org/abs/… のリンク）",
    "dc_opt_lang": "言語コード（例：ZH-HANS、JA、DE、EN-US）",
    "dc_opt_time": "配信時刻、HH:MM（24 時間表記、例：08:30）",
    "dc_opt_timezone": "IANA タイムゾーン（例：Asia/Tokyo、Europe/Berlin）",
    "dc_opt_state": "オンまたはオフ",
    "dc_opt_keywords": "カンマ区切りの単語やフレーズ、または off",
    "dc_opt_max": "1〜{limit} の数、または off",
    "bot_archive_all": "{archive}（すべて）",
    "weekday_0": "(月)",
    "weekday_1": "(火)",
    "weekday_2": "(水)",
    "weekday_3": "(木)",
    "weekday_4": "(金)",
    "weekday_5": "(土)",
    "weekday_6": "(日)",
}

# German, neutral style throughout: no "du", no "Sie" (instructions as "Ändern mit …", "bitte … versuchen").
# Terms: Artikel, abonnieren/Abo, Cross-List, neue Version (arXiv replacement), Digest, Versandzeit, Zeitzone.
DE: Final[dict[str, str]] = {
    "digest_summary": "Zusammenfassung",
    "digest_details": "Details",
    "table_ref": "Ref",
    "table_title": "Title",
    "table_summary": "Summary",
    "label_cross": "Cross-List aus {categories}",
    "label_cross_plain": "Cross-List",
    "label_replace": "Neue Version, v{version}",
    "label_replace_plain": "Neue Version",
    "label_replace_cross": "Neue Version, Cross-List",
    "and_more": "…und {count} weitere",
    "no_papers": "Keine neuen Artikel",
    "notice_translation_off": "Übersetzung aus: Anzeige auf Englisch",
    "notice_quota_exhausted": "DeepL-Kontingent erschöpft: Anzeige auf Englisch",
    "notice_key_rejected": "DeepL-Schlüssel abgelehnt: Anzeige auf Englisch",
    "notice_unavailable": "DeepL nicht erreichbar: Anzeige auf Englisch",
    "notice_budget_exhausted": "Das Übersetzungsbudget für heute ist aufgebraucht: Anzeige auf Englisch",
    "tg_count_new": "{count} neu",
    "tg_count_cross": "{count} als Cross-List",
    "tg_count_replace": "{count} in neuer Version",
    "bot_welcome": (
        "Hallo! An jedem arXiv-Veröffentlichungstag kommen hier um {time} ({timezone}) die neuen Artikel "
        "der abonnierten Kategorien an – auf {language} übersetzt."
    ),
    "bot_start_next": "Abonnieren mit /subscribe cs.LG oder Auswahl über /categories. /help zeigt alle Befehle.",
    "bot_welcome_back": "Willkommen zurück: Die Zustellung in diesen Chat ist wieder aktiv.",
    "bot_help_title": "Befehle:",
    "cmd_start": "starten oder Zustellung fortsetzen",
    "cmd_help": "diese Liste",
    "cmd_subscribe": "Kategorien abonnieren: /subscribe cs.LG stat.ML",
    "cmd_unsubscribe": "Abo beenden: /unsubscribe cs.LG, oder all",
    "cmd_list": "die abonnierten Kategorien dieses Chats",
    "cmd_categories": "Kategorien ansehen und auswählen",
    "cmd_paper": "einzelner Artikel: /paper 2403.19243",
    "cmd_lang": "Sprache des Digests: /lang ZH-HANS",
    "cmd_time": "Versandzeit: /time 08:30",
    "cmd_timezone": "Zeitzone: /timezone Europe/Berlin",
    "cmd_settings": "Einstellungen dieses Chats",
    "cmd_digest": "der neueste Digest, sofort",
    "cmd_cross": "Cross-Lists an oder aus",
    "cmd_replacements": "neue Versionen an oder aus",
    "cmd_keywords": "nur Artikel mit bestimmten Stichwörtern: /keywords diffusion, graph neural network",
    "cmd_max": "höchstens N Artikel pro Digest: /max 30, oder /max off",
    "bot_subscribed": "Abonniert: {categories}.",
    "bot_already_subscribed": "Bereits abonniert: {categories}.",
    "bot_unsubscribed": "Abo beendet: {categories}.",
    "bot_not_subscribed": "Nicht abonniert: {categories}.",
    "bot_unsubscribed_all": "Alle Abos beendet ({count}).",
    "bot_unknown_category": "Unbekannte Kategorie: {code}.",
    "bot_did_you_mean": "Vielleicht {suggestions}?",
    "bot_usage_subscribe": "Verwendung: /subscribe cs.LG stat.ML (auch ein ganzes Archiv wie cs ist möglich; siehe /categories).",
    "bot_usage_unsubscribe": "Verwendung: /unsubscribe cs.LG oder /unsubscribe all.",
    "bot_list": "Abonniert in diesem Chat: {categories}.",
    "bot_list_empty": "Dieser Chat hat noch keine Kategorie abonniert: /subscribe cs.LG oder Auswahl über /categories.",
    "bot_pick_archive": "Archiv auswählen:",
    "bot_pick_category": "{archive}: Antippen einer Kategorie abonniert sie oder beendet ihr Abo.",
    "bot_back": "« Archive",
    "bot_usage_paper": "Verwendung: /paper 2403.19243 (auch 2403.19243v2, arXiv:2403.19243, ein arxiv.org-Link, hep-th/9901001).",
    "bot_bad_paper_id": "Keine arXiv-ID: {text}. Möglich sind: 2403.19243, 2403.19243v2, arXiv:2403.19243, Links auf arxiv.org/abs/… oder /pdf/…, hep-th/9901001.",
    "bot_paper_not_found": "{arxiv_id} wurde auf arXiv nicht gefunden.",
    "bot_arxiv_down": "arXiv antwortet gerade nicht; bitte später noch einmal versuchen.",
    "bot_lookup_allowance": "Dieser Chat hat seine {count} Artikelabfragen für heute aufgebraucht; morgen geht es weiter.",
    "bot_lang_set": "Sprache des Digests: {language}.",
    "bot_lang_usage": "Aktuelle Sprache: {language}. Ändern mit /lang CODE, möglich sind: {codes}.",
    "bot_lang_bad": "Nicht unterstützte Sprache: {code}. Möglich sind: {codes}.",
    "bot_lang_limit": (
        "Dieser Chat hat heute schon {count} Sprachen verwendet, und jede neue kostet eine Übersetzung des "
        "gesamten Digests. Heute ist nur noch ein Wechsel zurück zu einer dieser Sprachen möglich: {languages}. "
        "Andere Sprachen: ab morgen (UTC)."
    ),
    "bot_time_set": "Versandzeit: {time} ({timezone}).",
    "bot_time_usage": "Aktuelle Versandzeit: {time} ({timezone}). Ändern mit /time HH:MM, z. B. /time 08:30.",
    "bot_time_bad": "Keine gültige Uhrzeit: {text}. Format HH:MM (24 Stunden), z. B. /time 08:30.",
    "bot_timezone_set": "Zeitzone: {timezone}.",
    "bot_timezone_usage": "Aktuelle Zeitzone: {timezone}. Ändern mit /timezone Region/Stadt, z. B. /timezone Europe/Berlin.",
    "bot_timezone_bad": "Unbekannte Zeitzone: {text}. Format Region/Stadt, z. B. Europe/Berlin oder America/New_York.",
    "bot_next_push": "Nächster Digest: {when}.",
    "bot_settings": (
        "Einstellungen dieses Chats\n"
        "Kategorien: {categories}\n"
        "Sprache: {language}\n"
        "Versandzeit: {time} ({timezone})\n"
        "Cross-Lists: {cross}\n"
        "Neue Versionen: {replacements}\n"
        "Stichwörter: {keywords}\n"
        "Höchstzahl Artikel: {max}"
    ),
    "bot_none": "keine",
    "bot_on": "an",
    "bot_off": "aus",
    "bot_no_limit": "unbegrenzt",
    "bot_cross_set": "Cross-Lists: {state}.",
    "bot_replacements_set": "Neue Versionen: {state}.",
    "bot_usage_on_off": "Verwendung: /{command} on oder /{command} off (derzeit {state}).",
    "bot_keywords_set": "Nur Artikel mit diesen Stichwörtern: {keywords}.",
    "bot_keywords_off": "Stichwortfilter aus: Alle Artikel werden gesendet.",
    "bot_keywords_usage": "Verwendung: /keywords Wort, weitere Wortgruppe (durch Kommas getrennt) oder /keywords off. Derzeit: {keywords}.",
    "bot_keywords_bad": "Zu viele oder zu lange Stichwörter: höchstens {count}, je bis zu {length} Zeichen.",
    "bot_max_set": "Höchstens {count} Artikel pro Digest.",
    "bot_max_off": "Keine Begrenzung der Artikel pro Digest.",
    "bot_max_usage": "Verwendung: /max N (1 bis {limit}) oder /max off. Derzeit: {state}.",
    "bot_admins_only": "Nur die Administratoren des Chats können die Einstellungen ändern.",
    "bot_no_subscriptions": "Zuerst eine Kategorie abonnieren: /subscribe cs.LG.",
    "bot_no_batch": "Noch keine Ankündigung abgerufen; der erste Digest folgt nach der nächsten arXiv-Ankündigung.",
    "bot_nothing_for_you": "Keine Artikel für die Kategorien und Filter dieses Chats am {date}.",
    "bot_error": "Bei uns ist etwas schiefgelaufen; der Fehler wurde protokolliert. Bitte später noch einmal versuchen.",
    "bot_storage_down": "Der Bot erreicht seine Datenbank gerade nicht, daher wurde nichts geändert. Bitte in ein paar Minuten noch einmal versuchen.",
    "bot_unknown_command": "Unbekannter Befehl. /help zeigt alle verfügbaren Befehle.",
    "bot_digest_posted": "Der Digest ist in diesem Kanal veröffentlicht.",
    "bot_digest_no_access": "Der Digest konnte hier nicht veröffentlicht werden: Ich brauche die Rechte, diesen Kanal zu sehen, Nachrichten zu senden, Links einzubetten, Threads zu erstellen und in Threads zu schreiben. Er bleibt vorgemerkt und wird später erneut versucht.",
    "bot_digest_later": "Discord nimmt gerade keine Nachrichten an; der Rest des Digests folgt automatisch.",
    "dc_opt_categories": "Kategoriecodes, durch Leerzeichen getrennt, z. B. cs.LG stat.ML (auch ein Archiv wie cs)",
    "dc_opt_unsubscribe": "Kategoriecodes, durch Leerzeichen getrennt, oder all",
    "dc_opt_archive": "ein Archiv zum Öffnen, z. B. cs oder math",
    "dc_opt_paper": "eine arXiv-ID oder ein Link, z. B. 2403.19243, arXiv:2403.19243v2 oder arxiv.org/abs/…",
    "dc_opt_lang": "ein Sprachcode, z. B. ZH-HANS, JA, DE oder EN-US",
    "dc_opt_time": "die Versandzeit, HH:MM (24 Stunden), z. B. 08:30",
    "dc_opt_timezone": "eine IANA-Zeitzone, z. B. Europe/Berlin oder Asia/Shanghai",
    "dc_opt_state": "an oder aus",
    "dc_opt_keywords": "Wörter oder Wortgruppen, durch Kommas getrennt, oder off",
    "dc_opt_max": "eine Zahl von 1 bis {limit} oder off",
    "bot_archive_all": "{archive} (alle)",
    "weekday_0": "Mo",
    "weekday_1": "Di",
    "weekday_2": "Mi",
    "weekday_3": "Do",
    "weekday_4": "Fr",
    "weekday_5": "Sa",
    "weekday_6": "So",
}

CATALOG: Final[Mapping[str, Mapping[str, str]]] = {
    "en": EN,
    "zh": ZH,
    "zh-hant": ZH_HANT,
    "ja": JA,
    "de": DE,
}

# The complete UI languages, as ``CATALOG`` keys (lower-case base language, or full code for ``zh-hant``).
UI_LANGUAGES: Final[tuple[str, ...]] = ("en", "zh", "zh-hant", "ja", "de")


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
