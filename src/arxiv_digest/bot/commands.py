"""Chat commands, platform-neutral: each command parses its arguments, calls storage or the digest service,
and returns a ``Reply`` that a platform adapter (Telegram, Discord) renders and sends.

Replies carry plain text (adapters escape it for their markup), optional buttons, and, for ``/paper`` and
``/digest``, the entry or digest to render with the platform's formatter. Everything a user typed is
validated here; nothing is saved unless the whole command is valid. Settings commands in groups and channels
are for administrators only (the adapter tells whether the caller is one, lazily, since asking costs an API
call).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ..formatters.i18n import t
from ..papers.digest import MAX_KEYWORD_LENGTH
from ..papers.errors import (
    InvalidArxivId,
    PaperNotFound,
    SourceUnavailable,
    UnknownCategory,
    UnsupportedLanguage,
)
from ..papers.languages import TARGET_LANGUAGES, normalize_language
from ..papers.models import Digest, DigestEntry, DigestOptions
from ..papers.schedule import canonical_timezone, format_local, latest_batch_date, next_push
from ..papers.taxonomy import Taxonomy
from ..storage.db import Database
from ..storage.models import Chat
from ..storage.repositories import ChatRepository, SubscriptionRepository
from .digests import DigestService, HarvestStatus
from .settings import parse_hhmm

logger = logging.getLogger(__name__)

MAX_KEYWORDS = 20
MAX_PAPERS_LIMIT = 200
MAX_CATEGORIES_PER_COMMAND = 30
MAX_ARG_LENGTH = 500  # longer arguments are refused before any parsing
CALLBACK_PREFIX = "cat"
FRESH_FOR = timedelta(minutes=15)  # /digest re-checks the feed at most this often per category set

COMMANDS: tuple[str, ...] = (
    "start",
    "help",
    "subscribe",
    "unsubscribe",
    "list",
    "categories",
    "paper",
    "lang",
    "time",
    "timezone",
    "settings",
    "digest",
    "cross",
    "replacements",
    "keywords",
    "max",
)
ADMIN_ONLY = frozenset(
    {
        "subscribe",
        "unsubscribe",
        "lang",
        "time",
        "timezone",
        "cross",
        "replacements",
        "keywords",
        "max",
        "digest",
    }
)


PRIVATE_KINDS = frozenset({"private", "dm"})  # Telegram's private chats, Discord's direct messages


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking, as the adapter knows it."""

    platform: str  # "telegram" | "discord"
    chat_key: str  # the platform's chat id, as text (Discord: the channel, thread or DM channel)
    # Telegram: "private" | "group" | "supergroup" | "forum" | "channel"; Discord: "dm" | "text" | "forum" |
    # "thread"
    chat_kind: str = "private"
    title: str | None = None
    user_language: str | None = None  # the user's client language (Telegram language_code, Discord locale)
    guild_key: str | None = None  # Discord: the server the channel belongs to

    @property
    def is_private(self) -> bool:
        """A conversation with one person: their settings are theirs to change."""
        return self.chat_kind in PRIVATE_KINDS


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    data: str  # callback data, at most 64 bytes


@dataclass(frozen=True, slots=True)
class Reply:
    """What to answer. ``text`` is plain text: the adapter escapes it."""

    language: str
    text: str = ""
    buttons: tuple[tuple[Button, ...], ...] = ()
    entry: DigestEntry | None = None  # /paper: render as a footnote
    digest: Digest | None = None  # /digest: deliver as a digest
    notices: tuple[str, ...] = field(default=())
    alert: bool = False  # a button tap refused: tell the one who tapped, leave the message as it is


@dataclass(frozen=True, slots=True)
class ChatDefaults:
    language: str = "ZH-HANS"
    timezone: str = "UTC"
    push_time: str = "09:00"


AdminCheck = Callable[[], Awaitable[bool]]


# Characters never taken from what a user typed: C0/C1 controls (NUL included) and the bidirectional
# embeddings, overrides and isolates, which would reorder the text around them where it is echoed or stored.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str) -> str:
    """``text`` without control characters and bidi controls (tabs and line breaks kept, as spaces)."""
    return _UNSAFE.sub("", text.replace("\t", " ").replace("\r", " ").replace("\n", " "))


def split_args(text: str) -> list[str]:
    """Arguments separated by spaces or commas."""
    return [a for a in text.replace(",", " ").split() if a]


# The words for on and off in every UI language (the bot shows "an"/"aus", "オン"/"オフ", "开"/"关", …).
_ON = frozenset({"on", "yes", "true", "1", "开", "開", "an", "ein", "ja", "オン", "はい"})
_OFF = frozenset({"off", "no", "false", "0", "关", "關", "aus", "nein", "オフ", "いいえ"})
_CLEAR = _OFF | {"none", "clear"}  # "/keywords off", "/max off" and their translations


def _on_off(text: str) -> bool | None:
    value = text.strip().lower()
    if value in _ON:
        return True
    if value in _OFF:
        return False
    return None


class Commands:
    """The command logic shared by every platform."""

    def __init__(
        self,
        *,
        db: Database,
        digests: DigestService,
        taxonomy: Taxonomy,
        defaults: ChatDefaults,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        lookups_per_day: int = 50,
        languages_per_day: int = 3,
    ) -> None:
        self.db = db
        self.digests = digests
        self.taxonomy = taxonomy
        self.defaults = defaults
        self.clock = clock
        self.lookups_per_day = lookups_per_day
        self.languages_per_day = max(1, languages_per_day)
        self.owner: tuple[str, str] | None = None  # (platform, chat key) allowed /stats
        self.stats: Callable[[], Awaitable[str]] | None = None
        # told the categories a chat has just subscribed to (the scheduler harvests them at once when their
        # current batch is not stored yet); its failures are logged, never the command's
        self.on_subscribed: Callable[[Sequence[str]], Awaitable[None]] | None = None

    # -- entry points ----------------------------------------------------------------------------------------

    async def handle(self, caller: Caller, command: str, args: str, *, is_admin: AdminCheck) -> Reply:
        """Run ``/command args`` for ``caller``."""
        chat = await self._chat(caller)
        lang = chat.language
        name = command.lower()
        if name == "stats" and self.stats is not None and self.owner == (caller.platform, caller.chat_key):
            return Reply(lang, await self.stats())
        if name not in COMMANDS:
            return Reply(lang, t(lang, "bot_unknown_command"))
        args = clean_text(args[:MAX_ARG_LENGTH])
        if name in ADMIN_ONLY and not caller.is_private and not await is_admin():
            return Reply(lang, t(lang, "bot_admins_only"))
        inactive = chat.gone_at is not None or chat.paused
        if name == "start" and inactive and not caller.is_private and not await is_admin():
            return Reply(lang, t(lang, "bot_admins_only"))  # deliveries to a group resume by an admin only
        handler: Callable[[Chat, str], Awaitable[Reply]] = getattr(self, f"_cmd_{name}")
        return await handler(chat, args)

    async def callback(self, caller: Caller, data: str, *, is_admin: AdminCheck) -> Reply:
        """A tap on one of our buttons (the category picker); unknown data gets the archive list."""
        chat = await self._chat(caller)
        lang = chat.language
        kind, _, value = data.partition(":")
        if kind != CALLBACK_PREFIX:
            return self._archive_menu(chat)
        action, _, code = value.partition(":")
        if action == "a":
            return await self._category_menu(chat, code)
        if action == "t":
            if not caller.is_private and not await is_admin():
                return Reply(lang, t(lang, "bot_admins_only"), alert=True)
            try:
                category = self.taxonomy.resolve(code)
            except UnknownCategory:
                return self._archive_menu(chat)
            async with self.db.session() as session:
                subs = SubscriptionRepository(session)
                added: list[str] = []
                if category in await subs.list(chat.id):
                    await subs.remove(chat.id, [category])
                else:
                    added = await subs.add(chat.id, [category], now=self.clock())
                await self._track_start(session, chat)
                await session.commit()
            await self._subscribed(added)
            archive = self.taxonomy.archive_of(category)
            return await self._category_menu(chat, archive)
        return self._archive_menu(chat)

    # -- chats -----------------------------------------------------------------------------------------------

    def initial_language(self, caller: Caller) -> str:
        if caller.user_language and caller.is_private:
            try:
                return normalize_language(caller.user_language)
            except UnsupportedLanguage:
                pass
        return self.defaults.language

    async def chat_for(self, caller: Caller) -> Chat:
        """The stored chat of ``caller``, created with the defaults on first contact."""
        return await self._chat(caller)

    async def _chat(self, caller: Caller) -> Chat:
        async with self.db.session() as session:
            chat = await ChatRepository(session).ensure(
                caller.platform,
                caller.chat_key,
                language=self.initial_language(caller),
                timezone=self.defaults.timezone,
                push_time=self.defaults.push_time,
                title=caller.title,
                kind=caller.chat_kind,
                guild_key=caller.guild_key,
            )
            await session.commit()
        return chat

    async def _update(self, chat: Chat, **fields: object) -> Chat:
        async with self.db.session() as session:
            updated = await ChatRepository(session).update(chat.id, **fields)
            await session.commit()
        return updated

    async def _track_start(self, session: AsyncSession, chat: Chat) -> None:
        """Scheduled deliveries start with the batch current when a chat first subscribes (delivered at its
        next push time), never older ones; a chat left with no subscription starts afresh next time."""
        subscribed = await SubscriptionRepository(session).list(chat.id)
        current = await ChatRepository(session).get_by_id(chat.id)
        if current is None:
            return
        if subscribed and current.start_day is None:
            await ChatRepository(session).update(chat.id, start_day=latest_batch_date(self.clock()))
        elif not subscribed and current.start_day is not None:
            await ChatRepository(session).update(chat.id, start_day=None)

    async def _subscribed(self, added: Sequence[str]) -> None:
        """Tell ``on_subscribed`` about new subscriptions (committed); a failure there is only logged."""
        if not added or self.on_subscribed is None:
            return
        try:
            await self.on_subscribed(added)
        except Exception:
            logger.exception("on_subscribed(%s) failed", ", ".join(added))

    async def _categories(self, chat: Chat) -> list[str]:
        async with self.db.session() as session:
            return await SubscriptionRepository(session).list(chat.id)

    def _utc_day(self) -> date:
        return self.clock().astimezone(UTC).date()

    def _next_push_line(self, chat: Chat) -> str:
        when = next_push(self.clock(), parse_hhmm(chat.push_time), chat.timezone)
        lang = chat.language
        weekdays = [t(lang, f"weekday_{day}") for day in range(7)]
        return t(lang, "bot_next_push", when=format_local(when, chat.timezone, weekdays))

    # -- commands ------------------------------------------------------------------------------------------

    async def _cmd_start(self, chat: Chat, args: str) -> Reply:
        lang = chat.language
        lines = []
        if chat.gone_at is not None or chat.paused:
            chat = await self._update(chat, gone_at=None, paused=False)
            lines.append(t(lang, "bot_welcome_back"))
        lines.append(
            t(lang, "bot_welcome", language=language_name(lang), time=chat.push_time, timezone=chat.timezone)
        )
        subscribed = await self._categories(chat)
        if subscribed:
            lines.append(t(lang, "bot_list", categories=", ".join(subscribed)))
            lines.append(self._next_push_line(chat))
        else:
            lines.append(t(lang, "bot_start_next"))
        return Reply(lang, "\n".join(lines))

    async def _cmd_help(self, chat: Chat, args: str) -> Reply:
        lang = chat.language
        lines = [t(lang, "bot_help_title")]
        lines += [f"/{name} - {t(lang, f'cmd_{name}')}" for name in COMMANDS]
        return Reply(lang, "\n".join(lines))

    async def _cmd_subscribe(self, chat: Chat, args: str) -> Reply:
        lang = chat.language
        codes = split_args(args)
        if not codes or len(codes) > MAX_CATEGORIES_PER_COMMAND:
            return Reply(lang, t(lang, "bot_usage_subscribe"))
        resolved = self._resolve(lang, codes)
        if isinstance(resolved, Reply):
            return resolved
        async with self.db.session() as session:
            added = await SubscriptionRepository(session).add(chat.id, resolved, now=self.clock())
            await self._track_start(session, chat)
            await session.commit()
        await self._subscribed(added)
        lines = []
        if added:
            lines.append(t(lang, "bot_subscribed", categories=", ".join(added)))
        already = [c for c in resolved if c not in added]
        if already:
            lines.append(t(lang, "bot_already_subscribed", categories=", ".join(already)))
        lines.append(self._next_push_line(chat))
        return Reply(lang, "\n".join(lines))

    async def _cmd_unsubscribe(self, chat: Chat, args: str) -> Reply:
        lang = chat.language
        codes = split_args(args)
        if not codes or len(codes) > MAX_CATEGORIES_PER_COMMAND:
            return Reply(lang, t(lang, "bot_usage_unsubscribe"))
        if [c.lower() for c in codes] == ["all"]:
            async with self.db.session() as session:
                count = await SubscriptionRepository(session).clear(chat.id)
                await self._track_start(session, chat)
                await session.commit()
            return Reply(lang, t(lang, "bot_unsubscribed_all", count=count))
        resolved = self._resolve(lang, codes)
        if isinstance(resolved, Reply):
            return resolved
        async with self.db.session() as session:
            removed = await SubscriptionRepository(session).remove(chat.id, resolved)
            await self._track_start(session, chat)
            await session.commit()
        lines = []
        if removed:
            lines.append(t(lang, "bot_unsubscribed", categories=", ".join(removed)))
        missing = [c for c in resolved if c not in removed]
        if missing:
            lines.append(t(lang, "bot_not_subscribed", categories=", ".join(missing)))
        return Reply(lang, "\n".join(lines))

    def _resolve(self, lang: str, codes: Sequence[str]) -> list[str] | Reply:
        """Canonical codes, or a reply naming the first unknown one (nothing is saved then)."""
        resolved: list[str] = []
        for code in codes:
            try:
                canonical = self.taxonomy.resolve(code)
            except UnknownCategory as exc:
                text = t(lang, "bot_unknown_category", code=exc.code[:40])
                if exc.suggestions:
                    text += " " + t(lang, "bot_did_you_mean", suggestions=" / ".join(exc.suggestions))
                else:
                    text += " " + t(lang, "bot_usage_subscribe")
                return Reply(lang, text)
            if canonical not in resolved:
                resolved.append(canonical)
        return resolved

    async def _cmd_list(self, chat: Chat, args: str) -> Reply:
        lang = chat.language
        subscribed = await self._categories(chat)
        if not subscribed:
            return Reply(lang, t(lang, "bot_list_empty"))
        named = [f"{c} ({self.taxonomy.name(c)})" for c in subscribed]
        return Reply(lang, t(lang, "bot_list", categories=", ".join(named)))

    async def _cmd_categories(self, chat: Chat, args: str) -> Reply:
        code = args.strip()
        if code:
            return await self._category_menu(chat, code)
        return self._archive_menu(chat)

    def _archive_menu(self, chat: Chat) -> Reply:
        lang = chat.language
        buttons = [Button(a.id, f"{CALLBACK_PREFIX}:a:{a.id}") for a in self.taxonomy.archives()]
        rows = tuple(tuple(buttons[i : i + 4]) for i in range(0, len(buttons), 4))
        return Reply(lang, t(lang, "bot_pick_archive"), buttons=rows)

    async def _category_menu(self, chat: Chat, archive: str) -> Reply:
        lang = chat.language
        try:
            categories = [c for c in self.taxonomy.categories_in(archive) if not c.is_alias]
        except UnknownCategory:
            return self._archive_menu(chat)
        subscribed = set(await self._categories(chat))
        archive_id = categories[0].archive if categories else archive
        buttons = [
            Button(("✓ " if c.id in subscribed else "") + c.id, f"{CALLBACK_PREFIX}:t:{c.id}")
            for c in categories
        ]
        if archive_id not in {c.id for c in categories}:
            # single-category archives (hep-th) are their own category; bigger ones can be followed whole
            whole = ("✓ " if archive_id in subscribed else "") + t(
                lang, "bot_archive_all", archive=archive_id
            )
            buttons.insert(0, Button(whole, f"{CALLBACK_PREFIX}:t:{archive_id}"))
        rows = [tuple(buttons[i : i + 3]) for i in range(0, len(buttons), 3)]
        rows.append((Button(t(lang, "bot_back"), f"{CALLBACK_PREFIX}:g"),))
        title = f"{archive_id} - {self.taxonomy.name(archive_id)}"
        return Reply(lang, t(lang, "bot_pick_category", archive=title), buttons=tuple(rows))

    async def _cmd_paper(self, chat: Chat, args: str) -> Reply:
        lang = chat.language
        text = args.strip()
        if not text:
            return Reply(lang, t(lang, "bot_usage_paper"))
        shown = text if len(text) <= 60 else text[:57] + "..."
        try:
            from ..papers.ids import parse_arxiv_id

            parsed = parse_arxiv_id(text)
        except InvalidArxivId:
            return Reply(lang, t(lang, "bot_bad_paper_id", text=shown))
        if not await self._take_lookup(chat):
            return Reply(lang, t(lang, "bot_lookup_allowance", count=self.lookups_per_day))
        try:
            entry, notices = await self.digests.paper(parsed.versioned, language=lang)
        except PaperNotFound:
            return Reply(lang, t(lang, "bot_paper_not_found", arxiv_id=parsed.versioned))
        except SourceUnavailable:
            return Reply(lang, t(lang, "bot_arxiv_down"))
        return Reply(self.digests.effective_language(lang), entry=entry, notices=notices)

    async def _take_lookup(self, chat: Chat) -> bool:
        """Count a /paper lookup against the chat's daily allowance (UTC days, stored)."""
        async with self.db.session() as session:
            allowed = await ChatRepository(session).take_lookup(
                chat.id, self._utc_day(), self.lookups_per_day
            )
            await session.commit()
        return allowed

    async def _cmd_lang(self, chat: Chat, args: str) -> Reply:
        lang = chat.language
        codes = ", ".join(sorted(TARGET_LANGUAGES))
        text = args.strip()
        if not text:
            return Reply(lang, t(lang, "bot_lang_usage", language=chat.language, codes=codes))
        try:
            new = normalize_language(text)
        except UnsupportedLanguage:
            return Reply(lang, t(lang, "bot_lang_bad", code=text[:20], codes=codes))
        async with self.db.session() as session:
            allowed, used = await ChatRepository(session).switch_language(
                chat.id, new, day=self._utc_day(), limit=self.languages_per_day, now=self.clock()
            )
            if not allowed:  # nothing saved
                return Reply(
                    lang, t(lang, "bot_lang_limit", count=self.languages_per_day, languages=", ".join(used))
                )
            await session.commit()
        chat = replace(chat, language=new)
        return Reply(new, "\n".join([t(new, "bot_lang_set", language=new), self._next_push_line(chat)]))

    async def _cmd_time(self, chat: Chat, args: str) -> Reply:
        lang = chat.language
        text = args.strip()
        if not text:
            return Reply(lang, t(lang, "bot_time_usage", time=chat.push_time, timezone=chat.timezone))
        try:
            value = parse_hhmm(text).strftime("%H:%M")
        except ValueError:
            return Reply(lang, t(lang, "bot_time_bad", text=text[:20]))
        chat = await self._update(chat, push_time=value)
        lines = [t(lang, "bot_time_set", time=value, timezone=chat.timezone), self._next_push_line(chat)]
        return Reply(lang, "\n".join(lines))

    async def _cmd_timezone(self, chat: Chat, args: str) -> Reply:
        lang = chat.language
        text = args.strip()
        if not text:
            return Reply(lang, t(lang, "bot_timezone_usage", timezone=chat.timezone))
        zone = valid_timezone(text)
        if zone is None:
            return Reply(lang, t(lang, "bot_timezone_bad", text=text[:40]))
        chat = await self._update(chat, timezone=zone)
        return Reply(
            lang, "\n".join([t(lang, "bot_timezone_set", timezone=zone), self._next_push_line(chat)])
        )

    async def _cmd_settings(self, chat: Chat, args: str) -> Reply:
        lang = chat.language
        subscribed = await self._categories(chat)
        text = t(
            lang,
            "bot_settings",
            categories=", ".join(subscribed) or t(lang, "bot_none"),
            language=chat.language,
            time=chat.push_time,
            timezone=chat.timezone,
            cross=self._state(lang, chat.include_cross),
            replacements=self._state(lang, chat.include_replacements),
            keywords=", ".join(chat.keywords) or t(lang, "bot_none"),
            max=chat.max_papers if chat.max_papers is not None else t(lang, "bot_no_limit"),
        )
        if subscribed:
            text += "\n" + self._next_push_line(chat)
        return Reply(lang, text)

    @staticmethod
    def _state(lang: str, value: bool) -> str:
        return t(lang, "bot_on" if value else "bot_off")

    async def _cmd_cross(self, chat: Chat, args: str) -> Reply:
        return await self._toggle(chat, args, "cross", "include_cross", "bot_cross_set")

    async def _cmd_replacements(self, chat: Chat, args: str) -> Reply:
        return await self._toggle(chat, args, "replacements", "include_replacements", "bot_replacements_set")

    async def _toggle(self, chat: Chat, args: str, command: str, attribute: str, key: str) -> Reply:
        lang = chat.language
        value = _on_off(args)
        if value is None:
            current = bool(getattr(chat, attribute))
            return Reply(lang, t(lang, "bot_usage_on_off", command=command, state=self._state(lang, current)))
        chat = await self._update(chat, **{attribute: value})
        return Reply(lang, t(lang, key, state=self._state(lang, value)))

    async def _cmd_keywords(self, chat: Chat, args: str) -> Reply:
        lang = chat.language
        text = args.strip()
        if not text:
            current = ", ".join(chat.keywords) or t(lang, "bot_none")
            return Reply(lang, t(lang, "bot_keywords_usage", keywords=current))
        if text.lower() in _CLEAR:
            await self._update(chat, keywords=())
            return Reply(lang, t(lang, "bot_keywords_off"))
        keywords = tuple(dict.fromkeys(" ".join(k.split()) for k in text.split(",") if k.strip()))
        if len(keywords) > MAX_KEYWORDS or any(len(k) > MAX_KEYWORD_LENGTH for k in keywords):
            return Reply(lang, t(lang, "bot_keywords_bad", count=MAX_KEYWORDS, length=MAX_KEYWORD_LENGTH))
        await self._update(chat, keywords=keywords)
        return Reply(lang, t(lang, "bot_keywords_set", keywords=", ".join(keywords)))

    async def _cmd_max(self, chat: Chat, args: str) -> Reply:
        lang = chat.language
        text = args.strip().lower()
        if text in _CLEAR:
            await self._update(chat, max_papers=None)
            return Reply(lang, t(lang, "bot_max_off"))
        if text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_PAPERS_LIMIT:  # not "²", "①"
            await self._update(chat, max_papers=int(text))
            return Reply(lang, t(lang, "bot_max_set", count=int(text)))
        state = str(chat.max_papers) if chat.max_papers is not None else t(lang, "bot_no_limit")
        return Reply(lang, t(lang, "bot_max_usage", limit=MAX_PAPERS_LIMIT, state=state))

    async def _cmd_digest(self, chat: Chat, args: str) -> Reply:
        lang = chat.language
        subscribed = await self._categories(chat)
        if not subscribed:
            return Reply(lang, t(lang, "bot_no_subscriptions"))
        try:
            day = await self.digests.fresh_day(subscribed, max_age=FRESH_FOR)
        except SourceUnavailable:
            day = None
            stored = await self.digests.stored_dates()
            if not stored:
                return Reply(lang, t(lang, "bot_arxiv_down"))
            day = stored[-1]
        if day is None:
            return Reply(lang, t(lang, "bot_no_batch"))
        digest = await self.digests.digest(chat_options(chat, subscribed), language=lang, announced_on=day)
        if not digest.entries:
            return Reply(lang, t(lang, "bot_nothing_for_you", date=day.isoformat()))
        return Reply(digest.language, digest=digest)


def chat_options(chat: Chat, categories: Sequence[str]) -> DigestOptions:
    return DigestOptions(
        categories=tuple(categories),
        include_cross=chat.include_cross,
        include_replacements=chat.include_replacements,
        keywords=tuple(chat.keywords),
        max_papers=chat.max_papers,
    )


def valid_timezone(text: str) -> str | None:
    """The IANA zone name ``text`` stands for, or None (``papers.schedule.canonical_timezone``)."""
    return canonical_timezone(text) if len(text) <= 64 else None


def language_name(code: str) -> str:
    return TARGET_LANGUAGES.get(code, code)


__all__ = [
    "COMMANDS",
    "Button",
    "Caller",
    "ChatDefaults",
    "Commands",
    "HarvestStatus",
    "Reply",
    "chat_options",
    "split_args",
    "valid_timezone",
]
