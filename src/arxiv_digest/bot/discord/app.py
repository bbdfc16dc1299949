"""The Discord bot: discord.py slash commands, thin over ``bot.commands``.

Each slash command builds a ``Caller``, asks ``Commands`` for a ``Reply`` and renders it as the interaction's
answer: plain text escaped for Discord's Markdown (``formatters.discord.clean``), the category picker's
buttons as select menus, a paper as its footnote embeds, a digest through ``Deliverer.deliver`` into the
channel (``DiscordSink``: the summary there, the footnotes in a thread started from it).

Discord's rules kept here:

- **Three seconds**: an interaction is answered within 3 s or never. ``/paper``, ``/digest``, ``/subscribe``
  and ``/lang`` defer at once (``thinking``) and follow up; any other command that has not finished after
  ``defer_after`` seconds (a slow database) defers then.
- **Permissions**: the settings commands (``commands.ADMIN_ONLY``) are declared with Manage Channels as their
  default member permissions, so Discord shows them to such members only, and are checked again when they
  run (a server may grant a command to others in its Integrations settings): the invoking member's
  permissions in the channel must include Manage Channels (or Administrator). In direct messages every
  command is the user's own.
- **No pings**: every answer allows no mentions (``discord.AllowedMentions.none()``, also the client's
  default), and the text is escaped so that nothing in it resolves as a mention either.
- **Errors** are answered to the one who asked only (ephemeral), in one line in their Discord language, never
  a traceback: the database unreachable ("try again", one log line per outage), a reply Discord asked us to
  hold back (one log line), anything else (logged with its traceback, "something went wrong").

Started and stopped by hand (``start``/``stop``) inside the one asyncio loop the scheduler shares;
``apply_endpoints`` points discord.py at other servers (a local fake) before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import zoneinfo
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import replace
from typing import Any, Final, TypeVar, cast

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.app_commands import Choice, locale_str

from ...formatters.discord import MESSAGE_LIMIT, clean, render_footnote
from ...formatters.i18n import t
from ...papers.errors import UnknownCategory, UnsupportedLanguage
from ...papers.languages import TARGET_LANGUAGES, normalize_language
from ...storage.db import Database, StorageUnavailable
from ...storage.repositories import ChatRepository
from ..commands import (
    ADMIN_ONLY,
    CALLBACK_PREFIX,
    COMMANDS,
    MAX_PAPERS_LIMIT,
    Button,
    Caller,
    Commands,
    Reply,
)
from ..delivery import Deliverer, Outcome, PlatformFailed, RateLimited, RunReport
from ..lifecycle import ChatLifecycle
from .sink import DiscordSink

logger = logging.getLogger(__name__)

__all__ = [
    "MAX_RATELIMIT_TIMEOUT",
    "PLATFORM",
    "SLASH_COMMANDS",
    "DiscordBot",
    "apply_endpoints",
    "check_token",
    "deepl_language",
    "help_text",
]

Interaction = discord.Interaction[discord.Client]
_T = TypeVar("_T")

PLATFORM: Final = "discord"
# A 429 asking for a longer wait raises discord.RateLimited instead of being slept through (30 s is the
# least discord.py accepts); the sink turns it into delivery.RateLimited.
MAX_RATELIMIT_TIMEOUT: Final = 30.0
NO_PINGS: Final = discord.AllowedMentions.none()
# /start does not exist on Discord: the first command creates the chat. /stats is the owner's, apart.
SLASH_COMMANDS: Final = tuple(name for name in COMMANDS if name != "start")
SLOW: Final = frozenset({"paper", "digest", "subscribe", "lang"})  # a fetch, a harvest, a translation
EPHEMERAL: Final = frozenset({"digest", "stats"})  # answered to the one who asked only
DEFER_AFTER: Final = 2.0  # any other command still running after this long defers
MAX_CHOICES: Final = 25  # autocomplete choices, select options
MAX_SELECTS: Final = 5  # action rows of a message
PICKER_ID: Final = "arxiv-digest:picker:"  # custom ids of the category picker's selects
UNKNOWN_INTERACTION: Final = 10062
UNKNOWN_WEBHOOK: Final = 10015
AUTHENTICATION_FAILED: Final = 4004
# Discord's locales with a UI table of their own (formatters.i18n); English is the default.
UI_LOCALES: Final[dict[discord.Locale, str]] = {
    discord.Locale.chinese: "ZH-HANS",
    discord.Locale.taiwan_chinese: "ZH-HANT",
    discord.Locale.japanese: "JA",
    discord.Locale.german: "DE",
}

_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,200}\.[A-Za-z0-9_-]{1,200}\.[A-Za-z0-9_-]{1,200}")
_API_SHAPE = re.compile(r"https?://[^\s/?#]+(?:/[^\s?#]*)?")
_GATEWAY_SHAPE = re.compile(r"wss?://[^\s/?#]+(?:/[^\s?#]*)?")


# -- settings -----------------------------------------------------------------------------------------------


def check_token(token: str) -> None:
    """Refuse, before connecting, a token of the wrong shape (PlatformFailed, one line without the token)."""
    if not _TOKEN_SHAPE.fullmatch(token):
        raise PlatformFailed(
            "DISCORD_BOT_TOKEN does not look like a bot token (three parts separated by dots, as the "
            "Developer Portal's Bot page gives it): check for quotes, spaces, a 'Bot ' prefix or a missing "
            "part."
        )


def apply_endpoints(api_base_url: str | None, gateway_url: str | None) -> None:
    """Point discord.py at another REST API (``discord.http.Route.BASE``: requests and interaction answers)
    and gateway (``DiscordWebSocket.DEFAULT_GATEWAY``: a plain Client connects there without asking
    ``GET /gateway``), e.g. a local fake. None leaves discord.py's own (Discord's). Raises PlatformFailed,
    one line, for a value of the wrong shape. Process-wide: call it once, before ``DiscordBot.start``."""
    base: str | None = None
    if api_base_url is not None:
        base = api_base_url.strip().rstrip("/")
        if not _API_SHAPE.fullmatch(base):
            raise PlatformFailed(
                f"DISCORD_API_BASE_URL {api_base_url[:100]!r} is not an API URL: it must start with http:// "
                "or https:// and hold no query, e.g. https://discord.com/api/v10."
            )
    gateway: yarl.URL | None = None
    if gateway_url is not None:
        shown = gateway_url.strip()
        if not _GATEWAY_SHAPE.fullmatch(shown):
            raise PlatformFailed(
                f"DISCORD_GATEWAY_URL {gateway_url[:100]!r} is not a gateway URL: it must start with ws:// "
                "or wss:// and hold no query, e.g. wss://gateway.discord.gg/."
            )
        gateway = yarl.URL(shown)
    if base is not None:
        discord.http.Route.BASE = base
    if gateway is not None:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway


def deepl_language(locale: str) -> str | None:
    """The DeepL target code for a Discord locale (``zh-CN`` -> ``ZH-HANS``, ``ja`` -> ``JA``, ``es-ES`` ->
    ``ES``, ``en-US`` -> ``EN-US``); None when DeepL has no such language (``hi``)."""
    for code in (locale, locale.split("-", 1)[0]):
        try:
            return normalize_language(code)
        except UnsupportedLanguage:
            continue
    return None


def help_text(language: str) -> str:
    """``/help`` as Discord has it: the slash commands (no ``/start``), each with its description."""
    lines = [t(language, "bot_help_title")]
    lines += [f"/{name} - {t(language, f'cmd_{name}')}" for name in SLASH_COMMANDS]
    return "\n".join(lines)


def reply_markdown(reply: Reply) -> str:
    """A text reply as Discord Markdown: everything escaped, notices in italics."""
    lines = [clean(reply.text)] if reply.text else []
    lines += [f"*{clean(notice)}*" for notice in reply.notices]
    return "\n".join(lines)


def chunks(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """``text`` in messages of at most ``limit`` characters, split between lines (a longer line is cut);
    never a list without a message."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            cut = limit
            while cut > 1 and line[cut - 1] == "\\":  # never leave half an escape
                cut -= 1
            parts.append(line[:cut])
            line = line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            candidate = line
        current = candidate
    if current or not parts:
        parts.append(current or "…")
    return parts


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _described(key: str, **params: object) -> locale_str:
    """A command or option description: English, with the UI key for ``CommandTranslator``."""
    return locale_str(_clip(t("EN-US", key, **params), 100), key=key, params=params)


class CommandTranslator(app_commands.Translator):
    """Command and option descriptions, and choice names, in Discord's locales with a UI table: the
    strings of ``formatters.i18n`` (``locale_str(..., key=..., params=...)``)."""

    async def translate(
        self,
        string: locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        key = string.extras.get("key")
        language = UI_LOCALES.get(locale)
        if not isinstance(key, str) or language is None:
            return None
        params = string.extras.get("params") or {}
        return _clip(t(language, key, **params), 100)


# -- the bot ------------------------------------------------------------------------------------------------


class DiscordBot:
    """The Discord side of ``arxiv-digest run``."""

    def __init__(
        self,
        *,
        token: str,
        commands: Commands,
        db: Database,
        deliverer: Deliverer | None = None,
        lifecycle: ChatLifecycle | None = None,
        dev_guild_id: int | None = None,
        ready_timeout: float = 60.0,
        guild_ready_timeout: float = 2.0,
        defer_after: float = DEFER_AFTER,
    ) -> None:
        self._token = token
        # The bot never joins a voice channel: discord.py's start-up warnings about voice libraries would
        # only make an operator look for a problem that is not there.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        self.client = discord.Client(
            intents=discord.Intents.default(),  # no privileged intent: slash commands need none
            allowed_mentions=NO_PINGS,
            max_ratelimit_timeout=MAX_RATELIMIT_TIMEOUT,
            guild_ready_timeout=guild_ready_timeout,
        )
        self.tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(
            self.client,
            allowed_contexts=app_commands.AppCommandContext(
                guild=True, dm_channel=True, private_channel=False
            ),
            allowed_installs=app_commands.AppInstallationType(guild=True, user=False),
        )
        self.commands = commands
        self.db = db
        self.dev_guild_id = dev_guild_id
        self.ready_timeout = ready_timeout
        self.defer_after = defer_after
        self.sink = DiscordSink(self.client)
        self.lifecycle = lifecycle or ChatLifecycle(db)
        # the runtime's one Deliverer (every platform's sink), or one of its own (tests)
        self.deliverer = deliverer or Deliverer(db, {}, lifecycle=self.lifecycle)
        self.deliverer.register(self.sink)
        # told when the bot cannot go on (the gateway session ended for good); the runtime stops the process
        self.on_failure: Callable[[PlatformFailed], None] | None = None
        self._gateway: asyncio.Task[None] | None = None
        self._stopping = False
        self._storage_was_down = False  # the last command met an unreachable database
        self._categories: list[tuple[str, str]] | None = None  # (code, name) for autocomplete
        self._archives: list[tuple[str, str]] | None = None
        self._zones: list[str] | None = None
        self._install_commands()
        self.tree.error(self.on_tree_error)
        for handler in (
            self.on_interaction,
            self.on_guild_remove,
            self.on_guild_join,
            self.on_guild_channel_delete,
            self.on_raw_thread_delete,
        ):
            self.client.event(handler)

    # -- lifecycle ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Log in, sync the slash commands (to ``dev_guild_id`` when given, else globally), connect the
        gateway and wait until ready. Raises PlatformFailed, one line without the token, when Discord rejects
        the token, cannot be reached or does not get ready within ``ready_timeout`` seconds, refuses the
        commands or the intents."""
        check_token(self._token)
        try:
            await asyncio.wait_for(self._start(), self.ready_timeout)
        except TimeoutError:
            await self._stop_quietly()
            raise PlatformFailed(
                f"Discord did not get ready within {self.ready_timeout:.0f} s: check DISCORD_API_BASE_URL, "
                "DISCORD_GATEWAY_URL and the network."
            ) from None
        except BaseException:
            await self._stop_quietly()
            raise
        assert self._gateway is not None
        self._gateway.add_done_callback(self._gateway_ended)
        user = self.client.user
        logger.info(
            "Discord bot %s started (%d servers; commands synced %s)",
            user.name if user is not None else "?",
            len(self.client.guilds),
            f"to server {self.dev_guild_id}" if self.dev_guild_id else "globally",
        )

    async def _start(self) -> None:
        try:
            await self.client.login(self._token)
        except discord.LoginFailure:
            raise PlatformFailed(
                "Discord rejected DISCORD_BOT_TOKEN: check it in the Developer Portal (Bot, Reset Token)."
            ) from None
        except discord.HTTPException as exc:
            raise PlatformFailed(
                f"Discord refused to log the bot in (HTTP {exc.status}): check DISCORD_API_BASE_URL."
            ) from None
        except (aiohttp.ClientError, OSError) as exc:  # its message may hold the URL, never the token
            raise PlatformFailed(
                f"cannot reach the Discord API ({type(exc).__name__}): check DISCORD_API_BASE_URL and the "
                "network."
            ) from None
        await self._sync()
        self._gateway = asyncio.create_task(self.client.connect(reconnect=True), name="discord gateway")
        ready = asyncio.create_task(self.client.wait_until_ready())
        try:
            await asyncio.wait({self._gateway, ready}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not ready.done():
                ready.cancel()
        if self._gateway.done():
            raise self._gateway_failure(self._gateway, running=False)

    async def _sync(self) -> None:
        """Register the slash commands, once: in the development server when one is set (at once, but not
        in direct messages), else globally."""
        guild = discord.Object(id=self.dev_guild_id) if self.dev_guild_id else None
        await self.tree.set_translator(CommandTranslator())
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        try:
            await self.tree.sync(guild=guild)
        except discord.HTTPException as exc:
            if guild is not None and exc.status in (403, 404):
                raise PlatformFailed(
                    f"Discord refused the slash commands for DISCORD_DEV_GUILD_ID {self.dev_guild_id} "
                    f"(HTTP {exc.status}, code {exc.code}): is the bot in that server, invited with the "
                    "applications.commands scope?"
                ) from None
            raise PlatformFailed(
                f"Discord refused the slash commands (HTTP {exc.status}, code {exc.code}): "
                f"{_clip(' '.join(exc.text.split()), 200)}"
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise PlatformFailed(
                f"cannot reach the Discord API ({type(exc).__name__}): check DISCORD_API_BASE_URL and the "
                "network."
            ) from None

    def _gateway_failure(self, task: asyncio.Task[None], *, running: bool) -> PlatformFailed:
        when = " while running" if running else ""
        error = None if task.cancelled() else task.exception()
        if isinstance(error, discord.PrivilegedIntentsRequired):
            return PlatformFailed(
                f"Discord refused the bot's gateway intents{when} (a privileged intent is not enabled for "
                "the application): the bot asks for none, check DISCORD_GATEWAY_URL."
            )
        if isinstance(error, discord.ConnectionClosed) and error.code == AUTHENTICATION_FAILED:
            return PlatformFailed(
                f"Discord rejected DISCORD_BOT_TOKEN{when} (gateway authentication failed, revoked or "
                "changed?): check it in the Developer Portal (Bot, Reset Token)."
            )
        if isinstance(error, discord.ConnectionClosed):
            return PlatformFailed(
                f"Discord closed the gateway session for good{when} (close code {error.code}): stopping."
            )
        name = type(error).__name__ if error is not None else "closed"
        if not running:  # discord.py gives up when the very first connection fails
            return PlatformFailed(
                f"cannot reach the Discord gateway ({name}): check DISCORD_GATEWAY_URL and the network."
            )
        return PlatformFailed(f"the Discord gateway connection ended while running ({name}): stopping.")

    def _gateway_ended(self, task: asyncio.Task[None]) -> None:
        """Never run deaf: when the gateway session ends on its own (discord.py gives up for good on 4004,
        a token revoked while running, and on the close codes of a bad state), ``on_failure`` is told and
        the process stops with one line."""
        if self._stopping:
            if not task.cancelled():
                task.exception()  # retrieved: it ended because we stopped
            return
        failure = self._gateway_failure(task, running=True)
        logger.error("%s", failure)
        if self.on_failure is not None:
            self.on_failure(failure)

    async def _stop_quietly(self) -> None:
        """Undo a start that failed half-way; a failure here adds nothing to the one being reported."""
        try:
            await self.stop()
        except Exception:
            logger.debug("cleaning up after a failed start failed too", exc_info=True)

    async def stop(self) -> None:
        self._stopping = True
        await self.client.close()
        task = self._gateway
        if task is not None:
            done, _ = await asyncio.wait({task}, timeout=10)
            if not done:
                task.cancel()
            elif not task.cancelled():
                task.exception()

    # -- slash commands -----------------------------------------------------------------------------------

    def _install_commands(self) -> None:
        tree = self.tree
        run = self.run_command
        admin = app_commands.default_permissions(manage_channels=True)
        on_off = [
            Choice(name=locale_str("on", key="bot_on"), value="on"),
            Choice(name=locale_str("off", key="bot_off"), value="off"),
        ]

        def described(name: str) -> locale_str:
            return _described(f"cmd_{name}")

        @tree.command(name="subscribe", description=described("subscribe"))
        @app_commands.describe(categories=_described("dc_opt_categories"))
        @app_commands.autocomplete(categories=self.complete_categories)
        @admin
        async def subscribe(interaction: Interaction, categories: str) -> None:
            await run(interaction, "subscribe", categories)

        @tree.command(name="unsubscribe", description=described("unsubscribe"))
        @app_commands.describe(categories=_described("dc_opt_unsubscribe"))
        @app_commands.autocomplete(categories=self.complete_unsubscribe)
        @admin
        async def unsubscribe(interaction: Interaction, categories: str) -> None:
            await run(interaction, "unsubscribe", categories)

        @tree.command(name="list", description=described("list"))
        async def list_(interaction: Interaction) -> None:
            await run(interaction, "list")

        @tree.command(name="categories", description=described("categories"))
        @app_commands.describe(archive=_described("dc_opt_archive"))
        @app_commands.autocomplete(archive=self.complete_archive)
        async def categories(interaction: Interaction, archive: str | None = None) -> None:
            await run(interaction, "categories", archive or "")

        @tree.command(name="paper", description=described("paper"))
        @app_commands.describe(id=_described("dc_opt_paper"))
        async def paper(interaction: Interaction, id: str) -> None:
            await run(interaction, "paper", id)

        @tree.command(name="lang", description=described("lang"))
        @app_commands.describe(code=_described("dc_opt_lang"))
        @app_commands.autocomplete(code=self.complete_language)
        @admin
        async def lang(interaction: Interaction, code: str | None = None) -> None:
            await run(interaction, "lang", code or "")

        @tree.command(name="time", description=described("time"))
        @app_commands.describe(at=_described("dc_opt_time"))
        @admin
        async def time_(interaction: Interaction, at: str | None = None) -> None:
            await run(interaction, "time", at or "")

        @tree.command(name="timezone", description=described("timezone"))
        @app_commands.describe(zone=_described("dc_opt_timezone"))
        @app_commands.autocomplete(zone=self.complete_timezone)
        @admin
        async def timezone(interaction: Interaction, zone: str | None = None) -> None:
            await run(interaction, "timezone", zone or "")

        @tree.command(name="settings", description=described("settings"))
        async def settings(interaction: Interaction) -> None:
            await run(interaction, "settings")

        @tree.command(name="digest", description=described("digest"))
        @admin
        async def digest(interaction: Interaction) -> None:
            await run(interaction, "digest")

        @tree.command(name="cross", description=described("cross"))
        @app_commands.describe(state=_described("dc_opt_state"))
        @app_commands.choices(state=on_off)
        @admin
        async def cross(interaction: Interaction, state: str | None = None) -> None:
            await run(interaction, "cross", state or "")

        @tree.command(name="replacements", description=described("replacements"))
        @app_commands.describe(state=_described("dc_opt_state"))
        @app_commands.choices(state=on_off)
        @admin
        async def replacements(interaction: Interaction, state: str | None = None) -> None:
            await run(interaction, "replacements", state or "")

        @tree.command(name="keywords", description=described("keywords"))
        @app_commands.describe(words=_described("dc_opt_keywords"))
        @admin
        async def keywords(interaction: Interaction, words: str | None = None) -> None:
            await run(interaction, "keywords", words or "")

        @tree.command(name="max", description=described("max"))
        @app_commands.describe(limit=_described("dc_opt_max", limit=MAX_PAPERS_LIMIT))
        @admin
        async def max_(interaction: Interaction, limit: str | None = None) -> None:
            await run(interaction, "max", limit or "")

        @tree.command(name="help", description=described("help"))
        async def help_(interaction: Interaction) -> None:
            await run(interaction, "help")

        # the owner's (Commands.owner); hidden from server members without Administrator
        @tree.command(name="stats", description="the bot's statistics (its owner only)")
        @app_commands.default_permissions(administrator=True)
        async def stats(interaction: Interaction) -> None:
            await run(interaction, "stats")

    async def run_command(self, interaction: Interaction, name: str, args: str = "") -> None:
        """One slash command: ``Commands.handle``, then its reply rendered as the interaction's answer."""
        caller: Caller | None = None
        try:
            caller = self.caller(interaction)
            if name == "stats":
                await self._stats(interaction, caller)
                return
            admin = self.has_manage_channels(interaction)
            refused = name in ADMIN_ONLY and not caller.is_private and not admin
            ephemeral = refused or name in EPHEMERAL
            if name in SLOW and not refused:
                await self._defer(interaction, ephemeral=ephemeral)
            reply = await self._in_time(
                interaction,
                self.commands.handle(caller, name, args, is_admin=_answer(admin)),
                ephemeral=ephemeral,
            )
            self._storage_back()
            if caller.is_private or (name in ADMIN_ONLY and not refused):
                # the user of a DM, or an administrator, is using the bot here: a chat deactivated earlier
                # (DMs closed, repeated failed deliveries, the bot removed) is delivered to again, as
                # /start does on Telegram
                await self.lifecycle.back(PLATFORM, caller.chat_key)
            if name == "help":
                reply = replace(reply, text=help_text(reply.language))
            await self.send_reply(interaction, caller, reply, ephemeral=ephemeral)
        except Exception as exc:
            await self._failed(interaction, caller, exc)

    async def _stats(self, interaction: Interaction, caller: Caller) -> None:
        """The owner's /stats (``OWNER_CHAT_ID=discord:<user or channel id>``); anyone else gets "unknown
        command", as on Telegram."""
        owner = self.commands.owner
        keys = {caller.chat_key, str(interaction.user.id)}
        if self.commands.stats is None or owner is None or owner[0] != PLATFORM or owner[1] not in keys:
            reply = await self.commands.handle(caller, "stats", "", is_admin=_answer(False))
            self._storage_back()
            await self._send(interaction, content=reply_markdown(reply), ephemeral=True)
            return
        await self._defer(interaction, ephemeral=True)  # DeepL's usage is asked: may take a while
        text = await self.commands.stats()
        self._storage_back()
        for part in chunks(clean(text)):
            await self._send(interaction, content=part, ephemeral=True)

    async def _defer(self, interaction: Interaction, *, ephemeral: bool) -> None:
        """Acknowledge now, answer later: "thinking…" for a command, a silent deferred update for a pick."""
        if interaction.response.is_done():
            return
        if interaction.type is discord.InteractionType.component:
            await interaction.response.defer()
        else:
            await interaction.response.defer(thinking=True, ephemeral=ephemeral)

    async def _in_time(self, interaction: Interaction, work: Awaitable[_T], *, ephemeral: bool) -> _T:
        """Await ``work``; when it takes longer than ``defer_after`` seconds and the interaction is not
        acknowledged yet, defer it meanwhile (the three-second rule)."""
        task = asyncio.ensure_future(work)
        if interaction.response.is_done():
            return await task
        done, _ = await asyncio.wait({task}, timeout=self.defer_after)
        if not done:
            try:
                await self._defer(interaction, ephemeral=ephemeral)
            except Exception:
                with contextlib.suppress(Exception):  # the work finishes; its answer cannot be given
                    await task
                raise
        return await task

    # -- who is asking ------------------------------------------------------------------------------------

    def caller(self, interaction: Interaction) -> Caller:
        """The chat of an interaction: its channel (``chat_key``), or for a post in a forum the forum (a
        digest there opens a new post); a direct message is the user's own (kind ``"dm"``, titled with
        their name). The user's Discord language, mapped to DeepL's, is the language a new DM starts in."""
        language = deepl_language(str(interaction.locale))
        channel = interaction.channel
        key = str(interaction.channel_id or (channel.id if channel is not None else 0))
        if interaction.guild_id is None:
            return Caller(PLATFORM, key, "dm", interaction.user.display_name, language, None)
        kind = "text"
        title = getattr(channel, "name", None)
        if isinstance(channel, discord.Thread):
            parent = channel.parent
            if isinstance(parent, discord.ForumChannel):
                kind, key, title = "forum", str(parent.id), parent.name
            else:
                kind = "thread"
        elif isinstance(channel, discord.ForumChannel):
            kind = "forum"
        return Caller(
            PLATFORM,
            key,
            kind,
            title if isinstance(title, str) else None,
            language,
            str(interaction.guild_id),
        )

    @staticmethod
    def has_manage_channels(interaction: Interaction) -> bool:
        """Whether the invoking member may change this chat's settings: Manage Channels (or Administrator)
        among their permissions in the channel, as Discord resolved them; always in a DM."""
        if interaction.guild_id is None:
            return True
        permissions = interaction.permissions
        return permissions.administrator or permissions.manage_channels

    def _user_language(self, interaction: Interaction) -> str:
        return deepl_language(str(interaction.locale)) or self.commands.defaults.language

    # -- replies ------------------------------------------------------------------------------------------

    async def send_reply(
        self, interaction: Interaction, caller: Caller, reply: Reply, *, ephemeral: bool = False
    ) -> None:
        """Render ``reply`` as the interaction's answer: a digest is delivered to the chat and the answer
        says so; a paper is its footnote's embeds (one follow-up per message payload); text is escaped, the
        picker's buttons become select menus."""
        if reply.digest is not None:
            chat = await self.commands.chat_for(caller)
            report = await self.deliverer.deliver(chat, reply.digest, scheduled=False)
            await self._send(
                interaction, content=clean(t(reply.language, _digest_key(report))), ephemeral=True
            )
            return
        if reply.entry is not None:
            payloads = render_footnote(reply.entry, language=reply.language, ref=None)
            notices = "\n".join(f"*{clean(notice)}*" for notice in reply.notices)
            for i, payload in enumerate(payloads):
                embeds = [discord.Embed.from_dict(embed) for embed in payload["embeds"]]
                last = i == len(payloads) - 1
                await self._send(
                    interaction,
                    content=notices if last and notices else None,
                    embeds=embeds,
                    ephemeral=ephemeral,
                )
            return
        view = self.picker(reply) if reply.buttons else None
        parts = chunks(reply_markdown(reply))
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            await self._send(interaction, content=part, view=view if last else None, ephemeral=ephemeral)

    async def _send(
        self,
        interaction: Interaction,
        *,
        content: str | None = None,
        embeds: Sequence[discord.Embed] = (),
        view: discord.ui.View | None = None,
        ephemeral: bool = False,
    ) -> None:
        """The interaction's answer if none was given yet (or its deferred "thinking" one), else a
        follow-up; never a ping."""
        options: dict[str, Any] = {"allowed_mentions": NO_PINGS, "ephemeral": ephemeral}
        if content is not None:
            options["content"] = content
        if embeds:
            options["embeds"] = list(embeds)
        if view is not None:
            options["view"] = view
        if interaction.response.is_done():
            await interaction.followup.send(**options)
        else:
            await interaction.response.send_message(**options)

    def picker(self, reply: Reply) -> discord.ui.View:
        """The category picker's buttons as select menus: up to 25 options each, at most five (the rows of a
        message); each option's value is the button's callback data. A choice comes back to
        ``on_interaction`` (the view is never stored: it is only the components' shape, so a picker keeps
        working across restarts)."""
        buttons = [button for row in reply.buttons for button in row]
        groups = [buttons[i : i + MAX_CHOICES] for i in range(0, len(buttons), MAX_CHOICES)]
        if len(groups) > MAX_SELECTS:
            logger.warning("a picker of %d choices: only the first %d shown", len(buttons), 125)
            groups = groups[:MAX_SELECTS]
        view = discord.ui.View(timeout=None)
        for n, group in enumerate(groups):
            select: discord.ui.Select[discord.ui.View] = discord.ui.Select(
                custom_id=f"{PICKER_ID}{n}",
                placeholder=_clip(f"{group[0].label} … {group[-1].label}", 150),
                min_values=1,
                max_values=1,
                options=[
                    discord.SelectOption(
                        label=_clip(button.label, 100),
                        value=button.data[:100],
                        description=self._describe_choice(button),
                    )
                    for button in group
                ],
            )
            view.add_item(select)
        view.stop()
        return view

    def _describe_choice(self, button: Button) -> str | None:
        """A picker option's description: the English name of its archive or category."""
        kind, _, rest = button.data.partition(":")
        action, _, code = rest.partition(":")
        if kind != CALLBACK_PREFIX or action not in ("a", "t") or not code:
            return None
        try:
            return _clip(self.commands.taxonomy.name(code), 100)
        except UnknownCategory:
            return None

    # -- the category picker --------------------------------------------------------------------------------

    async def on_interaction(self, interaction: Interaction) -> None:
        """Component interactions with our custom ids (a pick in the category picker); the slash commands
        go through the command tree."""
        if interaction.type is not discord.InteractionType.component:
            return
        data = cast(dict[str, Any], interaction.data or {})
        custom_id = str(data.get("custom_id", ""))
        if not custom_id.startswith(PICKER_ID):
            return
        values = data.get("values") or [""]
        await self.on_pick(interaction, str(values[0]))

    async def on_pick(self, interaction: Interaction, value: str) -> None:
        """``Commands.callback`` with the picked option's data; the picker is edited in place with the new
        reply, or, when it was refused (a member without Manage Channels toggling a subscription), the one
        who picked is told and the picker left as it is."""
        caller: Caller | None = None
        try:
            caller = self.caller(interaction)
            await self._defer(interaction, ephemeral=False)
            admin = self.has_manage_channels(interaction)
            reply = await self.commands.callback(caller, value, is_admin=_answer(admin))
            self._storage_back()
            if reply.alert:
                await self._send(interaction, content=reply_markdown(reply), ephemeral=True)
                return
            await interaction.edit_original_response(
                content=chunks(reply_markdown(reply))[0],
                view=self.picker(reply) if reply.buttons else None,
                allowed_mentions=NO_PINGS,
            )
        except Exception as exc:
            await self._failed(interaction, caller, exc)

    # -- autocomplete ---------------------------------------------------------------------------------------

    async def complete_categories(self, interaction: Interaction, current: str) -> list[Choice[str]]:
        """Categories and archives for the last code being typed (``cs.LG st`` -> ``cs.LG stat.ML`` …):
        codes starting with it, then names holding it; at most 25."""
        return self._category_choices(current, self._category_list())

    async def complete_unsubscribe(self, interaction: Interaction, current: str) -> list[Choice[str]]:
        choices = self._category_choices(current, self._category_list())
        if "all".startswith(current.strip().lower()) and len(choices) < MAX_CHOICES:
            choices.insert(0, Choice(name="all", value="all"))
        return choices[:MAX_CHOICES]

    async def complete_archive(self, interaction: Interaction, current: str) -> list[Choice[str]]:
        if self._archives is None:
            self._archives = [(a.id, a.name) for a in self.commands.taxonomy.archives()]
        return [
            Choice(name=_clip(f"{code} — {name}", 100), value=code)
            for code, name in _matching(self._archives, current.strip())
        ][:MAX_CHOICES]

    async def complete_language(self, interaction: Interaction, current: str) -> list[Choice[str]]:
        """DeepL's target languages whose code starts with, or name holds, what is typed."""
        languages = sorted(TARGET_LANGUAGES.items())
        return [
            Choice(name=_clip(f"{code} — {name}", 100), value=code)
            for code, name in _matching(languages, current.strip())
        ][:MAX_CHOICES]

    async def complete_timezone(self, interaction: Interaction, current: str) -> list[Choice[str]]:
        """IANA zones starting with what is typed (case and blanks aside: ``new york`` finds
        ``America/New_York``), then zones a part of whose name starts with it (``Berlin``); at most 25."""
        if self._zones is None:
            self._zones = sorted(zoneinfo.available_timezones())
        typed = "_".join(current.strip().lower().split())
        found = [z for z in self._zones if z.lower().startswith(typed)]
        if typed and len(found) < MAX_CHOICES:
            found += [
                z
                for z in self._zones
                if not z.lower().startswith(typed)
                and any(p.lower().startswith(typed) for p in z.split("/")[1:])
            ]
        return [Choice(name=zone, value=zone) for zone in found[:MAX_CHOICES]]

    def _category_list(self) -> list[tuple[str, str]]:
        if self._categories is None:
            taxonomy = self.commands.taxonomy
            archives = taxonomy.archives()
            found = [(a.id, a.name) for a in archives]
            seen = {a.id for a in archives}
            for archive in archives:
                for category in taxonomy.categories_in(archive.id):
                    if not category.is_alias and category.id not in seen:
                        seen.add(category.id)
                        found.append((category.id, category.name))
            self._categories = found
        return self._categories

    @staticmethod
    def _category_choices(current: str, known: list[tuple[str, str]]) -> list[Choice[str]]:
        tokens = current.replace(",", " ").split()
        typed = "" if not tokens or current[-1:] in (" ", ",") else tokens[-1]
        head = current[: len(current) - len(typed)] if typed else current
        if head and not head.endswith((" ", ",")):
            head += " "
        taken = {token.lower() for token in tokens[: len(tokens) - (1 if typed else 0)]}
        choices: list[Choice[str]] = []
        for code, name in _matching(known, typed):
            if code.lower() in taken:
                continue
            value = head + code
            if len(value) > 100:
                continue
            choices.append(Choice(name=_clip(f"{value} — {name}", 100), value=value))
            if len(choices) == MAX_CHOICES:
                break
        return choices

    # -- membership -----------------------------------------------------------------------------------------

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """The bot was removed from a server (kicked, banned, the server deleted): every chat there is gone
        (subscriptions kept, deliveries stopped)."""
        keys = {str(c.id) for c in (*guild.channels, *guild.threads)}
        try:
            async with self.db.session() as session:
                active = await ChatRepository(session).active()
            keys |= {c.chat_key for c in active if c.platform == PLATFORM and c.guild_key == str(guild.id)}
            for key in sorted(keys):
                await self.lifecycle.gone(PLATFORM, key, "the bot was removed from the server")
        except Exception as exc:
            self._event_failed("removal from a server", exc)

    async def on_guild_join(self, guild: discord.Guild) -> None:
        """The bot was added (back) to a server: its chats there are delivered to again."""
        try:
            for channel in (*guild.channels, *guild.threads):
                await self.lifecycle.back(PLATFORM, str(channel.id))
        except Exception as exc:
            self._event_failed("joining a server", exc)

    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        try:
            await self.lifecycle.gone(PLATFORM, str(channel.id), "the channel was deleted")
        except Exception as exc:
            self._event_failed("a deleted channel", exc)

    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        try:
            await self.lifecycle.gone(PLATFORM, str(payload.thread_id), "the thread was deleted")
        except Exception as exc:
            self._event_failed("a deleted thread", exc)

    def _event_failed(self, what: str, error: Exception) -> None:
        if isinstance(error, StorageUnavailable):
            logger.warning("%s not recorded: database unavailable (%s)", what, error)
        else:
            logger.error("%s not recorded", what, exc_info=error)

    # -- errors ---------------------------------------------------------------------------------------------

    async def on_tree_error(self, interaction: Interaction, error: app_commands.AppCommandError) -> None:
        """What the command tree raises itself (a command Discord knows and we do not, options that no longer
        match) or what a command let through."""
        if isinstance(error, app_commands.CommandInvokeError):
            await self._failed(interaction, None, error.original)
            return
        if isinstance(error, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch):
            logger.warning("channel %s: %s", interaction.channel_id, error)
            await self._tell(interaction, "bot_unknown_command")
            return
        await self._failed(interaction, None, error)

    async def _failed(self, interaction: Interaction, caller: Caller | None, error: Exception) -> None:
        """An interaction that failed: the one who asked is told in one line (ephemeral), the log gets one
        line for what is expected, a traceback for a bug."""
        where = caller.chat_key if caller is not None else interaction.channel_id
        if isinstance(error, StorageUnavailable):
            if not self._storage_was_down:
                self._storage_was_down = True
                logger.warning(
                    "database unavailable, commands are answered 'try again' until it is back: %s", error
                )
            await self._tell(interaction, "bot_storage_down")
            return
        if isinstance(error, RateLimited | discord.RateLimited) or (
            isinstance(error, discord.HTTPException) and error.status == 429
        ):
            logger.warning("channel %s: reply dropped, Discord asked to wait (%s)", where, error)
            return
        if isinstance(error, discord.NotFound) and error.code in (UNKNOWN_INTERACTION, UNKNOWN_WEBHOOK):
            logger.warning("channel %s: the interaction expired before its answer (%s)", where, error)
            return
        if isinstance(error, aiohttp.ClientError | OSError) or (
            isinstance(error, discord.HTTPException) and error.status >= 500
        ):
            logger.warning("channel %s: answer not sent (%s: %s)", where, type(error).__name__, error)
            return
        logger.error("interaction in channel %s failed", where, exc_info=error)
        if not isinstance(error, discord.DiscordException):  # Discord's own failure: no point answering
            await self._tell(interaction, "bot_error")

    async def _tell(self, interaction: Interaction, key: str) -> None:
        """One line to the one who asked, in their Discord language; best effort."""
        try:
            await self._send(
                interaction, content=clean(t(self._user_language(interaction), key)), ephemeral=True
            )
        except Exception:
            logger.debug("could not tell channel %s about a failure", interaction.channel_id, exc_info=True)

    def _storage_back(self) -> None:
        if self._storage_was_down:
            self._storage_was_down = False
            logger.warning("database reachable again")


def _answer(value: bool) -> Callable[[], Coroutine[Any, Any, bool]]:
    """An ``is_admin`` callback for ``Commands``: Discord resolved the member's permissions already."""

    async def is_admin() -> bool:
        return value

    return is_admin


def _digest_key(report: RunReport | None) -> str:
    if report is None or report.outcome is Outcome.DONE:
        return "bot_digest_posted"
    if report.outcome in (Outcome.GONE, Outcome.FAILED):
        return "bot_digest_no_access"
    return "bot_digest_later"


def _matching(known: Sequence[tuple[str, str]], typed: str) -> list[tuple[str, str]]:
    """``(code, name)`` pairs whose code starts with ``typed`` (any case), then those whose name holds it."""
    text = typed.lower()
    starts = [pair for pair in known if pair[0].lower().startswith(text)]
    if len(text) < 2:
        return starts
    named = [pair for pair in known if not pair[0].lower().startswith(text) and text in pair[1].lower()]
    return starts + named
