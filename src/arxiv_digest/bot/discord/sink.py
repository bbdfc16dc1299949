"""Sending to Discord: summaries as messages, footnotes as embeds, in a thread, a forum post or as replies;
vendor errors translated.

Addresses (``delivery.Target``): ``chat_id`` is the channel (``kind`` ``"text"``, ``"forum"``, ``"thread"``,
``"dm"``; ``"private"``, a direct message as ``commands.PRIVATE_KINDS`` knows it, is ``"dm"``), or for
``"user"`` (the owner's notices) a user id: a DM is opened with them (``POST /users/@me/channels``), and when
that fails (no such user) the id is taken as a channel's. ``guild_id`` is the server (None in DMs); a
``thread_id`` makes the target that thread. Build them from an interaction with ``target_for`` (the kinds:
``kind_of``).

Message ids are composite, ``"<channel or thread id>:<message id>"`` (``MessageAddress``): the ledger keeps
them, so a later ``reply_to``, ``edit`` or ``message_link`` knows the message's channel without any state a
restart would lose.

Policies (each has a test in ``tests/integration/test_discord_sink.py`` or ``test_faults_discord.py``):

- A text channel: the summary's first message goes to the channel and a public thread is started from it at
  once, named ``<categories> · <date>`` (``formatters.discord.thread_name``, carried in the first summary
  message's ``parts["thread_name"]``); the thread's id is the message's. The summary's later parts follow
  in the channel; every footnote goes into the thread. Starting the thread is best effort: whatever fails
  there is logged, never raised, as the summary is sent and must be recorded (raising would send it twice).
- A thread that does not exist when a footnote comes (a crash between the summary and its thread, a failure
  starting it, or deleted: 404 10003) is started then from the summary, named ``arXiv · <the summary's UTC
  date>`` (all that the summary's id tells), and the footnote posted in it.
- An archived thread needs nothing: a message unarchives it (Discord does so unless a moderator locked it).
- Where the bot may not start a thread or post in it (403 50013 / 50001, a thread that cannot be started
  again 160004, a locked one 50083 / 160005, a summary deleted meanwhile 10008), the footnote is
  posted in the channel as a reply to the summary instead: nothing is lost. A reply the bot may
  not make (160002, no Read Message History) goes without the reply.
- A forum channel: the summary's first message opens a forum post (the post's id is its first message's);
  the summary's later parts and every footnote go into that post. A post deleted (or locked) before the
  footnotes are all in is replaced by a new one, ``arXiv · <the post's UTC date>``, holding the rest (this
  process remembers the replacement; after a restart the rest opens another).
- A DM, a thread (threads do not nest), a "private" chat and any other kind: everything in the channel,
  footnotes as replies to the summary (``fail_if_not_exists: false``: a deleted summary does not stop them).
- Every message and every edit carries ``allowed_mentions`` that allow nothing (``{"parse": []}``): no
  ping, whatever the text (the formatter neutralises mentions too). No message is empty: a message with
  neither text nor embeds (never rendered so; a bug) is sent as "…" and logged. ``render_text`` keeps a plain
  text within 2,000 characters (cut with "…").
- One message at a time per chat (a lock per ``chat_id``), so a chat's messages keep their order.
- ``discord.Forbidden`` (50013 Missing Permissions, 50001 Missing Access) and ``discord.NotFound`` 10003
  Unknown Channel -> ``ChatGone(at_once=False)``: a server admin may give the access back, so the delivery
  stays pending and counts a failure; repeated ones deactivate the chat and tell the owner.
- 403 50007 (cannot send messages to this user: the user blocked the bot, left every server shared with it
  or closed their DMs: their own choice, as a Telegram user blocking the bot) -> ``ChatGone(at_once=True)``:
  the chat is gone at once, without an owner notice (``ChatLifecycle``); the app brings it back
  (``ChatLifecycle.back``) when the user uses a command again.
- ``discord.RateLimited`` (discord.py raises it when Discord asks for a wait longer than the client's
  ``max_ratelimit_timeout``) and a 429 discord.py gave up on -> ``RateLimited``. discord.py waits out shorter
  429s and keeps Discord's buckets itself. **Build the client with ``max_ratelimit_timeout``** (30 s, the
  least discord.py accepts): without it discord.py sleeps through any wait, however long, holding the
  delivery and the chat's lock.
- ``discord.DiscordServerError`` and any ``discord.HTTPException`` with status >= 500, a 401 (the token
  revoked), ``aiohttp.ClientError`` (a dropped connection), other ``OSError`` and an operation without an
  answer within ``timeout`` (90 s: discord.py sets none, so a silent Discord would hold each request for
  aiohttp's 5 minutes) -> ``PlatformUnavailable``.
- Any other 4xx (400 50035 Invalid Form Body for our own payload) is a bug and raises as it is: the
  formatter keeps every limit, so nothing is sent that Discord rejects.

Where discord.py's objects need the client's cache (``PartialMessage.create_thread`` wants the guild;
``ForumChannel.create_thread`` a cached forum), the sink calls ``client.http`` instead, so it works on any
logged-in client; messages are sent and edited through ``client.get_partial_messageable``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import weakref
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

import aiohttp
import discord
from discord.http import handle_message_parameters

from ...formatters import discord as fmt
from ...papers.models import Digest, DigestEntry
from ..delivery import ChatGone, Outgoing, PlatformUnavailable, RateLimited, Target

logger = logging.getLogger(__name__)

__all__ = [
    "DiscordSink",
    "MessageAddress",
    "clip",
    "fallback_thread_name",
    "kind_of",
    "target_for",
]

_T = TypeVar("_T")

# Discord's JSON error codes (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
UNKNOWN_CHANNEL: Final = 10003
UNKNOWN_MESSAGE: Final = 10008
UNKNOWN_USER: Final = 10013
MISSING_ACCESS: Final = 50001
CANNOT_MESSAGE_USER: Final = 50007
MISSING_PERMISSIONS: Final = 50013
WRONG_CHANNEL_TYPE: Final = 50024
INVALID_RECIPIENT: Final = 50033
THREAD_ARCHIVED: Final = 50083
REPLY_WITHOUT_HISTORY: Final = 160002
THREAD_ALREADY_CREATED: Final = 160004
THREAD_LOCKED: Final = 160005

NO_MENTIONS: Final = discord.AllowedMentions.none()  # {"parse": []}
THREAD_ARCHIVE_MINUTES: Final = 1440  # Discord's default: yesterday's thread hides as today's starts
EMPTY: Final = "…"
# discord.py sets no timeout of its own: a Discord that takes the connection and never answers would hold a
# request for aiohttp's default 5 minutes. 90 s leaves room for discord.py's waits (a 429 up to 30 s, a 5xx
# tried five times over 25 s) and the two or three requests one footnote may take.
OPERATION_TIMEOUT: Final = 90.0

_ADDRESS: Final = re.compile(r"([0-9]{1,20}):([0-9]{1,20})")


@dataclass(frozen=True, slots=True)
class MessageAddress:
    """A message's id as the sink returns it: ``"<channel or thread id>:<message id>"``."""

    channel_id: int
    message_id: int

    def __str__(self) -> str:
        return f"{self.channel_id}:{self.message_id}"

    @classmethod
    def parse(cls, value: str) -> MessageAddress:
        match = _ADDRESS.fullmatch(value)
        if match is None:
            raise ValueError(f"not a Discord message id (channel:message): {value!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, message: discord.Message | discord.PartialMessage) -> MessageAddress:
        return cls(message.channel.id, message.id)


_KINDS: Final[Mapping[discord.ChannelType, str]] = {
    discord.ChannelType.text: "text",
    discord.ChannelType.news: "text",
    discord.ChannelType.forum: "forum",
    discord.ChannelType.public_thread: "thread",
    discord.ChannelType.private_thread: "thread",
    discord.ChannelType.news_thread: "thread",
    discord.ChannelType.private: "dm",
}


def kind_of(channel_type: discord.ChannelType | None) -> str | None:
    """The chat kind of a Discord channel type: ``"text"`` (text and announcement channels), ``"forum"``,
    ``"thread"``, ``"dm"``; None for a channel the bot does not deliver to (voice, category, group DM)."""
    return None if channel_type is None else _KINDS.get(channel_type)


def target_for(interaction: discord.Interaction[Any], *, language: str = "EN-US") -> Target | None:
    """The ``Target`` of an interaction's channel (the chat row's ``chat_key`` is its ``chat_id``, ``kind``
    and ``guild_key`` its ``kind`` and ``guild_id``); None where the bot does not deliver (``kind_of``)."""
    channel = interaction.channel
    kind = kind_of(channel.type if channel is not None else None)
    if kind is None or interaction.channel_id is None:
        return None
    guild = interaction.guild_id
    return Target(
        str(interaction.channel_id),
        kind,
        language=language,
        platform="discord",
        guild_id=None if guild is None or kind == "dm" else str(guild),
    )


def clip(text: str, limit: int = fmt.MESSAGE_LIMIT) -> str:
    """``text`` (escaped Markdown) within ``limit`` characters, cut with "…" where it is longer; a cut never
    leaves half an escape (a lone backslash)."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    trailing = len(head) - len(head.rstrip("\\"))
    if trailing % 2:
        head = head[:-1]
    return head + "…"


def fallback_thread_name(snowflake: int | None = None) -> str:
    """``arXiv · <UTC date>`` of the message or post ``snowflake`` (all that its id tells), else of today."""
    when = datetime.now(UTC) if snowflake is None else discord.utils.snowflake_time(snowflake)
    return f"arXiv · {when.date().isoformat()}"


@dataclass(frozen=True, slots=True)
class _Body:
    content: str | None
    embeds: list[discord.Embed]


def _body(message: Outgoing) -> _Body:
    parts = message.parts or {}
    embeds = [discord.Embed.from_dict(embed) for embed in parts.get("embeds") or []]
    content = message.text if message.text.strip() else None
    if content is None and not embeds:
        logger.warning("an empty %s message: sent as %r", message.role, EMPTY)
        content = EMPTY
    return _Body(content, embeds)


def _thread_name(message: Outgoing) -> str | None:
    name = (message.parts or {}).get("thread_name")
    if not isinstance(name, str) or not name.strip():
        return None
    return name.strip()[: fmt.THREAD_NAME_LIMIT]


def _refused_in_thread(exc: discord.HTTPException) -> bool:
    """The bot may not post in that thread (but maybe in its channel)."""
    return isinstance(exc, discord.Forbidden) or exc.code in (THREAD_ARCHIVED, THREAD_LOCKED)


def _cannot_start_thread(exc: discord.HTTPException) -> bool:
    """Starting a thread from the summary failed for good; 10003 (the channel is gone) is not one of
    these: it goes up as ``ChatGone``."""
    if isinstance(exc, discord.Forbidden):
        return True
    if isinstance(exc, discord.NotFound):
        return exc.code == UNKNOWN_MESSAGE
    return exc.code in (THREAD_ALREADY_CREATED, WRONG_CHANNEL_TYPE)


def _retry_after(exc: discord.HTTPException) -> float:
    header = exc.response.headers.get("Retry-After") if exc.response is not None else None
    try:
        return float(header) if header is not None else 60.0
    except ValueError:
        return 60.0


class DiscordSink:
    """A ``delivery.Sink`` for one logged-in ``discord.Client`` (built with ``max_ratelimit_timeout``)."""

    platform = "discord"

    def __init__(self, client: discord.Client, *, timeout: float = OPERATION_TIMEOUT) -> None:
        self.client = client
        self.timeout = timeout  # seconds for one send or edit, discord.py's own retries and waits included
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._dms: dict[int, int] = {}  # user id -> DM channel id
        self._replaced_posts: dict[int, int] = {}  # a deleted forum post -> the post that replaced it

    # -- rendering ------------------------------------------------------------------------------------------

    def render_summary(self, digest: Digest) -> list[Outgoing]:
        name = fmt.thread_name(digest)
        return [
            Outgoing("summary", text, None if i else {"thread_name": name})
            for i, text in enumerate(fmt.render_summary(digest))
        ]

    def render_footnote(self, entry: DigestEntry, *, language: str, ref: int | None) -> list[Outgoing]:
        return [
            Outgoing("footnote", "", payload)
            for payload in fmt.render_footnote(entry, language=language, ref=ref)
        ]

    def render_text(self, text: str) -> Outgoing:
        return Outgoing("text", clip(fmt.clean(text)))

    def link_refs(self, summary: Outgoing, links: Mapping[int, str]) -> Outgoing | None:
        linked = fmt.link_refs(summary.text, links)
        return None if linked is None else Outgoing(summary.role, linked, summary.parts)

    def splits_by_category(self, target: Target) -> bool:
        """Never: a forum gets one post per digest, not one per category."""
        return False

    async def topic_for(self, target: Target, name: str) -> str | None:
        return None

    def message_link(self, target: Target, message_id: str) -> str | None:
        """``https://discord.com/channels/<guild>/<channel>/<message>`` (``@me`` for DMs); None where the
        guild is not known or the id is not the sink's."""
        try:
            address = MessageAddress.parse(message_id)
        except ValueError:
            return None
        where: str
        if target.guild_id:
            where = target.guild_id
        elif target.kind in ("dm", "private", "user"):
            where = "@me"
        else:
            return None
        return f"https://discord.com/channels/{where}/{address.channel_id}/{address.message_id}"

    # -- sending --------------------------------------------------------------------------------------------

    async def send(self, target: Target, message: Outgoing, *, reply_to: str | None = None) -> str:
        """Send ``message`` where it belongs (see the module docstring); its composite id."""
        under = None if reply_to is None else MessageAddress.parse(reply_to)
        async with self._lock(target):
            address = await self._call(self._route(target, message, under))
        return str(address)

    async def edit(self, target: Target, message_id: str, message: Outgoing) -> None:
        address = MessageAddress.parse(message_id)
        body = _body(message)
        partial = self._channel(address.channel_id, target).get_partial_message(address.message_id)
        if message.parts is not None and "embeds" in message.parts:
            edit = partial.edit(content=body.content, embeds=body.embeds, allowed_mentions=NO_MENTIONS)
        else:
            edit = partial.edit(content=body.content, allowed_mentions=NO_MENTIONS)
        await self._call(edit)

    def _lock(self, target: Target) -> asyncio.Lock:
        lock = self._locks.get(target.chat_id)
        if lock is None:
            lock = self._locks[target.chat_id] = asyncio.Lock()
        return lock

    async def _route(self, target: Target, message: Outgoing, under: MessageAddress | None) -> MessageAddress:
        body = _body(message)
        if target.thread_id:
            return await self._plain(target, int(target.thread_id), message, under, body)
        if target.kind == "user":
            channel = await self._dm_channel(int(target.chat_id))
            return await self._plain(target, channel, message, under, body)
        if target.kind == "forum":
            if under is None:
                name = _thread_name(message) or fallback_thread_name()
                return await self._new_post(target, int(target.chat_id), name, body)
            return await self._in_post(target, under, body)
        if target.kind == "text":
            if under is None:
                sent = await self._post(target, int(target.chat_id), body)
                thread_name = _thread_name(message)
                if thread_name is not None:
                    await self._start_thread(sent, thread_name)
                return sent
            if message.role == "summary":
                return await self._post(target, int(target.chat_id), body)
            return await self._in_thread(target, under, body)
        return await self._plain(target, int(target.chat_id), message, under, body)

    async def _plain(
        self, target: Target, channel: int, message: Outgoing, under: MessageAddress | None, body: _Body
    ) -> MessageAddress:
        """Everything in ``channel``; what belongs under another message replies to it (not a summary's
        later parts, which simply follow)."""
        if under is None or message.role == "summary":
            return await self._post(target, channel, body)
        return await self._reply(target, channel, under, body)

    async def _in_thread(self, target: Target, under: MessageAddress, body: _Body) -> MessageAddress:
        """Into the thread started from the summary ``under`` (started now if missing), else as a reply to
        the summary in its channel."""
        thread = under.message_id
        try:
            return await self._post(target, thread, body)
        except discord.NotFound as exc:
            if exc.code != UNKNOWN_CHANNEL:
                raise
            logger.info("thread %s is missing: starting it from the summary", thread)
        except discord.HTTPException as exc:
            if not _refused_in_thread(exc):
                raise
            logger.warning("cannot post in thread %s (%s): replying in the channel instead", thread, exc)
            return await self._reply(target, under.channel_id, under, body)
        try:
            await self.client.http.start_thread_with_message(
                under.channel_id,
                under.message_id,
                name=fallback_thread_name(under.message_id),
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
            )
        except discord.HTTPException as exc:
            if not _cannot_start_thread(exc):
                raise
            logger.warning("cannot start thread %s (%s): replying in the channel instead", thread, exc)
            return await self._reply(target, under.channel_id, under, body)
        try:
            return await self._post(target, thread, body)
        except discord.HTTPException as exc:
            if not _refused_in_thread(exc):
                raise
            logger.warning("cannot post in thread %s (%s): replying in the channel instead", thread, exc)
            return await self._reply(target, under.channel_id, under, body)

    async def _in_post(self, target: Target, under: MessageAddress, body: _Body) -> MessageAddress:
        """Into the forum post of the summary ``under``; a post deleted or locked meanwhile is replaced."""
        post = self._replaced_posts.get(under.channel_id, under.channel_id)
        try:
            return await self._post(target, post, body)
        except discord.HTTPException as exc:
            if isinstance(exc, discord.NotFound) and exc.code == UNKNOWN_CHANNEL:
                state = "is gone"
            elif exc.code in (THREAD_ARCHIVED, THREAD_LOCKED):
                state = "is locked"
            else:
                raise
        logger.warning("forum post %s %s: a new post holds the rest", post, state)
        sent = await self._new_post(target, int(target.chat_id), fallback_thread_name(under.channel_id), body)
        self._replaced_posts[under.channel_id] = sent.channel_id
        return sent

    async def _start_thread(self, summary: MessageAddress, name: str) -> None:
        """Start the summary's thread; best effort (the footnotes start it when this fails)."""
        try:
            await self.client.http.start_thread_with_message(
                summary.channel_id,
                summary.message_id,
                name=name,
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
            )
        except (discord.DiscordException, aiohttp.ClientError, OSError) as exc:
            logger.warning("thread of summary %s not started (%s); the footnotes will retry", summary, exc)

    def _channel(self, channel_id: int, target: Target) -> discord.PartialMessageable:
        guild = int(target.guild_id) if target.guild_id else None
        return self.client.get_partial_messageable(channel_id, guild_id=guild)

    async def _post(self, target: Target, channel: int, body: _Body) -> MessageAddress:
        sent = await self._channel(channel, target).send(
            content=body.content, embeds=body.embeds, allowed_mentions=NO_MENTIONS
        )
        return MessageAddress.of(sent)

    async def _reply(
        self, target: Target, channel: int, under: MessageAddress, body: _Body
    ) -> MessageAddress:
        reference = discord.MessageReference(
            message_id=under.message_id,
            channel_id=under.channel_id,
            guild_id=int(target.guild_id) if target.guild_id else None,
            fail_if_not_exists=False,
        )
        try:
            sent = await self._channel(channel, target).send(
                content=body.content,
                embeds=body.embeds,
                allowed_mentions=NO_MENTIONS,
                reference=reference,
                mention_author=False,
            )
        except discord.HTTPException as exc:
            if exc.code != REPLY_WITHOUT_HISTORY:
                raise
            logger.warning("cannot reply in channel %s (%s): posting without the reply", channel, exc)
            return await self._post(target, channel, body)
        return MessageAddress.of(sent)

    async def _new_post(self, target: Target, forum: int, name: str, body: _Body) -> MessageAddress:
        # client.http: ForumChannel.create_thread needs the forum in the client's cache.
        with handle_message_parameters(
            content=body.content,
            embeds=body.embeds,
            allowed_mentions=NO_MENTIONS,
            channel_payload={"name": name[: fmt.THREAD_NAME_LIMIT]},
        ) as params:
            data = await self.client.http.start_thread_in_forum(forum, params=params)
        thread = int(data["id"])
        first = data.get("message")
        return MessageAddress(thread, int(first["id"]) if first else thread)

    async def _dm_channel(self, user_id: int) -> int:
        """The DM channel with ``user_id``; ``user_id`` itself when no such user exists (a channel id)."""
        known = self._dms.get(user_id)
        if known is not None:
            return known
        try:
            channel = await self.client.create_dm(discord.Object(id=user_id))
        except discord.HTTPException as exc:
            if exc.code not in (INVALID_RECIPIENT, UNKNOWN_USER):
                raise
            logger.info("no Discord user %s (%s): taking it as a channel id", user_id, exc)
            return user_id
        self._dms[user_id] = channel.id
        return channel.id

    async def _call(self, operation: Awaitable[_T]) -> _T:
        """Run a Discord operation, translating the errors every caller handles the same way."""
        try:
            async with asyncio.timeout(self.timeout):
                return await operation
        except TimeoutError as exc:
            raise PlatformUnavailable(f"no answer from Discord within {self.timeout:g} s") from exc
        except discord.RateLimited as exc:
            raise RateLimited(exc.retry_after) from exc
        except discord.Forbidden as exc:
            raise ChatGone(str(exc), at_once=exc.code == CANNOT_MESSAGE_USER) from exc
        except discord.NotFound as exc:
            if exc.code == UNKNOWN_CHANNEL:
                raise ChatGone(str(exc), at_once=False) from exc
            raise
        except discord.HTTPException as exc:
            if exc.status >= 500 or exc.status == 401:
                raise PlatformUnavailable(str(exc)) from exc
            if exc.status == 429:  # discord.py gave up (five 429s in a row, or not Discord's own answer)
                raise RateLimited(_retry_after(exc)) from exc
            raise
        except (aiohttp.ClientError, OSError) as exc:  # TimeoutError is an OSError
            raise PlatformUnavailable(f"{type(exc).__name__}: {exc}") from exc
        except (TypeError, ValueError) as exc:  # an answer that is not Discord's JSON (a proxy's page)
            raise PlatformUnavailable(f"unreadable answer: {type(exc).__name__}: {exc}") from exc
