"""A fake Discord (REST API v10 + gateway) on 127.0.0.1, for pointing the real discord.py 2.7 at.

Use::

    with FakeDiscord(token=TOKEN, application_id=APP) as fake:
        guild = fake.add_guild(name="Physics")
        channel = fake.add_text_channel(guild, name="papers")
        discord.http.Route.BASE = fake.api_base                      # restore both afterwards
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
        client = discord.Client(intents=discord.Intents.default())
        ...  # client.start(TOKEN) in a task; fake.slash(guild, channel, user, "subscribe", {...})
        assert fake.messages(channel)[0]["content"] == "..."

One port serves HTTP/1.1 REST under ``/api/v10`` and the gateway WebSocket at ``/`` (aiohttp's server in a
background thread with its own event loop, so tests on any loop, sync or async, can use it). State is guarded
by one lock; every test-control method is synchronous and thread-safe.

What a plain ``discord.Client`` does at login/connect (read in discord/client.py, http.py, gateway.py):
``Client.login`` -> ``HTTPClient.static_login`` -> ``GET /users/@me`` (a 401 becomes ``LoginFailure``), then
``Client.application_info`` -> ``GET /oauth2/applications/@me`` (AppInfo reads ``id name description icon
bot_public bot_require_code_grant owner verify_key``). ``Client.connect`` ->
``DiscordWebSocket.from_client`` connects straight to ``DEFAULT_GATEWAY`` with
``?v=10&encoding=json&compress=zlib-stream`` (``zstd-stream`` when ``zstandard`` or ``compression.zstd`` is
importable): a plain Client never asks ``GET /gateway/bot`` (only ``AutoShardedClient`` does, through
``HTTPClient.get_bot_gateway``); both ``/gateway`` and ``/gateway/bot`` are served anyway. discord.py
heartbeats as soon as HELLO arrives, then IDENTIFYs with the bare token, ``intents``, ``properties``,
``compress: true``, ``large_threshold``; READY's ``resume_gateway_url`` is where it RESUMEs.
``CommandTree.sync`` -> ``PUT /applications/{app}/commands`` (or ``.../guilds/{guild}/commands``).
Interaction responses go through discord/webhook/async_.py without an Authorization header:
``POST /interactions/{id}/{token}/callback?with_response=1`` (answered with an InteractionCallbackResponse:
``{"interaction": {...}, "resource": {...}}``), follow-ups ``POST /webhooks/{app}/{token}?wait=1``
(``wait`` is forced for application webhooks), ``GET/PATCH/DELETE
/webhooks/{app}/{token}/messages/@original``.

Facts relied on, and where they come from:

* discord/http.py ``json_or_text`` parses a body only when ``Content-Type`` is exactly ``application/json``;
  every answer here carries exactly that. A 429 without a ``Via`` header (or with a non-JSON body) is treated
  as a Cloudflare ban and raised at once, so every answer carries ``Via: 1.1 google`` as Discord's do;
  otherwise discord.py sleeps the body's ``retry_after`` and retries (up to 5 tries). 500/502/504/524 are
  retried after ``1 + 2 * try`` real seconds; other 5xx raise ``DiscordServerError``. ``Ratelimit.update``
  reads ``X-Ratelimit-Limit/-Remaining/-Reset-After`` (``-Reset`` with ``use_clock``) and keys buckets by
  ``X-Ratelimit-Bucket`` + the route's major parameters (channel, guild, webhook id + token); when
  ``Remaining`` reaches 0 discord.py waits ``Reset-After`` before the next request in that bucket (so with
  these headers a client sending more than 5 messages to one channel within 5 s waits, as in production: use
  ``scale``).
* Rate-limit headers and the 429 body ``{"message": "You are being rate limited.", "retry_after": s,
  "global": false}`` with ``Retry-After`` / ``X-RateLimit-Scope`` (user|global|shared) /
  ``X-RateLimit-Global``: Discord's "Rate Limits" page (docs.discord.com/developers/topics/rate-limits) and
  discord-api-types' ``RESTRateLimit``. The 5-per-5-seconds per-channel bucket for message creation is the
  brief's figure; the other buckets (edits 5/5 s, deletes 5/1 s, interaction webhooks 5/2 s, everything
  else 50/1 s) are invented, and the interaction callback endpoint sends no rate-limit headers.
* Error bodies ``{"code", "message", "errors"}`` with ``errors`` nested by field path ending in
  ``{"_errors": [{"code", "message"}]}`` (discord/errors.py ``_flatten_error_dict`` turns them into
  "In embeds.0.fields: Must be 25 or fewer in length."); codes from Discord's JSON error code table
  (via discord-api-types ``RESTJSONErrorCodes`` / Discord.Net ``DiscordErrorCode``): 10003 Unknown Channel,
  10004 Unknown Guild, 10007 Unknown Member, 10008 Unknown Message, 10013 Unknown User, 10015 Unknown Webhook,
  10062 Unknown interaction, 40058 forum channels take no plain messages, 40060 Interaction has already
  been acknowledged, 50001 Missing Access, 50005 edit of another user's message, 50006 Cannot send an empty
  message, 50007 Cannot send messages to this user, 50024 Cannot execute action on this channel type, 50027
  Invalid Webhook Token, 50033 Invalid Recipient(s), 50035 Invalid Form Body, 50013 Missing Permissions,
  160002 reply without Read Message History, 160004 A thread has already been created for this message.
  Field-error codes (``BASE_TYPE_MAX_LENGTH`` "Must be N or fewer in length.", ``BASE_TYPE_BAD_LENGTH``
  "Must be between 1 and 100 in length.", ``BASE_TYPE_REQUIRED`` "This field is required",
  ``APPLICATION_COMMAND_INVALID_NAME``, ``MAX_EMBED_SIZE_EXCEEDED``) as quoted in public bug reports of real
  Discord answers (search tool, "issues" corpus).
* Limits: content 2000; <= 10 embeds; embed title 256, description 4096, <= 25 fields, field name 256 / value
  1024 (both required), footer text 2048, author name 256, 6000 characters over title + description + field
  names and values + footer text + author name of all embeds of a message; thread names 1-100; command names
  1-32 lowercase ``[-_'\\w]``, descriptions 1-100, <= 25 options / choices (Discord API docs).
* A thread started from a message shares the message's id; a forum post's first message shares the thread's
  id (Discord docs, "Start Thread from Message" / discord.py discussion #9664). Forum posts need Send
  Messages, thread messages need Send Messages in Threads (not Send Messages), a thread from a message or
  without one needs Create Public Threads, embeds need Embed Links (403 50013, discord-api-docs issue #2601),
  replies need Read Message History; no View Channel answers 403 50001 Missing Access.
* Interactions: the initial response must come within 3 s of the interaction, the token then serves follow-ups
  for 15 minutes; a follow-up sent while the deferred (type 5) "thinking" response is still loading edits that
  original response (Discord docs, "Create Followup Message"); discord.py's ``Interaction`` requires ``id type
  token version application_id attachment_size_limit`` and reads ``member.permissions`` / ``app_permissions``
  as permission-integer strings (discord/interactions.py).
* Gateway close codes: 4001 unknown opcode, 4002 decode error, 4003 not authenticated, 4004 authentication
  failed, 4005 already authenticated, 4010 invalid shard, 4012 invalid API version, 4013 invalid intents, 4014
  disallowed (privileged) intents; discord.py does not reconnect after 1000/4004/4010-4014 and turns 4014 into
  ``PrivilegedIntentsRequired`` (discord/gateway.py ``_can_handle_close``, discord/client.py ``connect``).
  ``zlib-stream``: one zlib context per connection, every payload flushed with ``Z_SYNC_FLUSH`` so it ends in
  ``00 00 ff ff`` (discord/utils.py ``_ZlibDecompressionContext``). discord.py waits ``guild_ready_timeout``
  (2 s by default) after the last GUILD_CREATE before ``on_ready``: tests pass a small one.

Implemented: the routes listed in ``_ROUTE_SPECS`` (users, DMs, application info, gateway, global and guild
command bulk overwrite/list, channels, messages create/get/edit/delete/history, threads from a message,
threads without a message and forum posts, typing, guilds, members, interaction callbacks, follow-ups and
``@original``); multipart uploads (``payload_json`` + ``files[n]``, served back from the fake); message
validation (above) including components (<= 5 action rows of <= 5 components, custom ids 1-100 and unique,
labels <= 80, link buttons need a url) and ``allowed_mentions`` (choices, ``parse`` vs explicit lists);
permissions (the bot's guild permissions are the @everyone role's plus its managed role's, a channel override
set with ``set_bot_permissions`` is sent as a member overwrite so discord.py computes the same value; threads
inherit their parent's); ``allowed_mentions`` semantics for ``pings()`` (no ``allowed_mentions`` = everything
parsed and a reply pings its author, as Discord does); scripted failures; optional rate-limit enforcement; the
MESSAGE_CONTENT intent (gateway events per session intents, REST reads per the application's privileged
intents: others' messages lose content/embeds/attachments/components unless they mention the bot or are DMs);
gateway IDENTIFY/RESUME/HEARTBEAT/REQUEST_GUILD_MEMBERS/PRESENCE_UPDATE, sharding, READY, GUILD_CREATE,
CHANNEL_CREATE/UPDATE/DELETE, THREAD_CREATE, MESSAGE_CREATE/UPDATE/DELETE, GUILD_MEMBER_ADD,
INTERACTION_CREATE (slash commands with subcommands and string/integer/number/boolean/user/channel options,
autocomplete, buttons and selects), RECONNECT, INVALID_SESSION, RESUMED with replay of missed events.

Not implemented (deliberately or as known gaps): voice, presences, reactions, pins, roles beyond @everyone and
the bot's own role (role and mentionable command options), webhooks other than interaction ones, modals'
submission, archiving/locking threads, private-thread membership, system messages (thread created, thread
starter), polls and stickers (passed through unvalidated), components v2 (not validated when flag 1 << 15 is
set), the global 50 requests/s limit, Cloudflare bans, ETF encoding, payload compression (the IDENTIFY
``compress`` flag is ignored) and ``zstd-stream`` (answered with uncompressed text frames, which
discord.py also accepts), heartbeat timeouts (a silent client is not disconnected), MENTION_EVERYONE / role
``mentionable`` checks in ``pings()`` (it reports what ``allowed_mentions`` permits: stricter than Discord),
voice-only permission bits (discord.py drops Connect/Speak in text channels; ``app_permissions`` keeps them).

Guesses where Discord's exact answer is unknown to the author: a follow-up or ``@original`` before any
callback answers 404 10015; a callback type invalid for the interaction answers 400 50035 on ``type``; an
unknown interaction token answers 401 50027; a reply without Read Message History answers 400 160002; a wrong
application id in a commands route answers 403 50001; editing a deferred response's loading message counts as
sending it (pings recorded then); interaction responses follow ``allowed_mentions`` like channel messages.

Test helpers: ``add_user``, ``add_guild``, ``add_text_channel``, ``add_forum_channel``, ``add_member``,
``set_bot_permissions``, ``delete_channel``, ``block_dms``, ``dm_channel``, ``inject`` / ``clear_injected``,
``post_message``, ``slash``, ``autocomplete``, ``click``, ``reconnect``, ``invalidate_sessions``,
``close_gateway``, ``connected``; observation: ``messages``, ``threads``, ``channel``, ``callbacks``,
``followups``, ``original``, ``recorded``, ``commands``, ``pings``, ``identify_payloads``,
``resume_payloads``, ``presence_updates``, ``dispatched``, ``gateway_connections``, ``wait_for``.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import enum
import hashlib
import itertools
import json
import math
import re
import secrets
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import WSMsgType, web

from tests.fakes.polling import wait_until

__all__ = [
    "ALL_PERMISSIONS",
    "DEFAULT_BOT_PERMISSIONS",
    "DEFAULT_EVERYONE_PERMISSIONS",
    "ApiError",
    "ChannelType",
    "Failure",
    "FakeDiscord",
    "FakeUser",
    "Intent",
    "Permission",
    "Ping",
    "RecordedRequest",
]

JSON = dict[str, Any]
_T = TypeVar("_T")

DISCORD_EPOCH_MS = 1_420_070_400_000
API_PREFIX = "/api/v10"
MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
INTERACTION_DEADLINE = 3.0
INTERACTION_TOKEN_LIFETIME = 15 * 60.0


class Permission(enum.IntFlag):
    """Discord permission bits (Discord API docs, "Permissions")."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_AUDIT_LOG = 1 << 7
    PRIORITY_SPEAKER = 1 << 8
    STREAM = 1 << 9
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    SEND_TTS_MESSAGES = 1 << 12
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    VIEW_GUILD_INSIGHTS = 1 << 19
    CONNECT = 1 << 20
    SPEAK = 1 << 21
    CHANGE_NICKNAME = 1 << 26
    MANAGE_NICKNAMES = 1 << 27
    MANAGE_ROLES = 1 << 28
    MANAGE_WEBHOOKS = 1 << 29
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    SEND_MESSAGES_IN_THREADS = 1 << 38
    MODERATE_MEMBERS = 1 << 40
    SEND_POLLS = 1 << 49


ALL_PERMISSIONS = (1 << 51) - 1
DEFAULT_EVERYONE_PERMISSIONS = int(
    Permission.CREATE_INSTANT_INVITE
    | Permission.ADD_REACTIONS
    | Permission.VIEW_CHANNEL
    | Permission.SEND_MESSAGES
    | Permission.EMBED_LINKS
    | Permission.ATTACH_FILES
    | Permission.READ_MESSAGE_HISTORY
    | Permission.USE_EXTERNAL_EMOJIS
    | Permission.CONNECT
    | Permission.SPEAK
    | Permission.CHANGE_NICKNAME
    | Permission.USE_APPLICATION_COMMANDS
    | Permission.CREATE_PUBLIC_THREADS
    | Permission.SEND_MESSAGES_IN_THREADS
)
DEFAULT_BOT_PERMISSIONS = int(
    Permission.VIEW_CHANNEL
    | Permission.SEND_MESSAGES
    | Permission.SEND_MESSAGES_IN_THREADS
    | Permission.CREATE_PUBLIC_THREADS
    | Permission.EMBED_LINKS
    | Permission.ATTACH_FILES
    | Permission.READ_MESSAGE_HISTORY
    | Permission.ADD_REACTIONS
    | Permission.USE_EXTERNAL_EMOJIS
)
# What an app may do in its own bot DM (app_permissions of DM interactions).
DM_PERMISSIONS = int(
    Permission.ADD_REACTIONS
    | Permission.VIEW_CHANNEL
    | Permission.SEND_MESSAGES
    | Permission.EMBED_LINKS
    | Permission.ATTACH_FILES
    | Permission.READ_MESSAGE_HISTORY
    | Permission.MENTION_EVERYONE
    | Permission.USE_EXTERNAL_EMOJIS
)


class Intent(enum.IntFlag):
    """Gateway intents used by the fake (Discord API docs, "Gateway Intents")."""

    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_PRESENCES = 1 << 8
    GUILD_MESSAGES = 1 << 9
    DIRECT_MESSAGES = 1 << 12
    MESSAGE_CONTENT = 1 << 15


PRIVILEGED_INTENTS = int(Intent.GUILD_MEMBERS | Intent.GUILD_PRESENCES | Intent.MESSAGE_CONTENT)
_VALID_INTENTS = (1 << 26) - 1
# Application flags "GATEWAY_*_LIMITED": the privileged intents enabled for an unverified app.
_INTENT_APP_FLAGS = {
    int(Intent.GUILD_PRESENCES): 1 << 13,
    int(Intent.GUILD_MEMBERS): 1 << 15,
    int(Intent.MESSAGE_CONTENT): 1 << 19,
}


class ChannelType(enum.IntEnum):
    GUILD_TEXT = 0
    DM = 1
    GUILD_ANNOUNCEMENT = 5
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    GUILD_FORUM = 15


_THREAD_TYPES = frozenset({ChannelType.PUBLIC_THREAD, ChannelType.PRIVATE_THREAD})
_MESSAGE_FLAG_EPHEMERAL = 1 << 6
_MESSAGE_FLAG_LOADING = 1 << 7
_MESSAGE_FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
_MESSAGE_FLAG_COMPONENTS_V2 = 1 << 15
_ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)


# -- errors -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiError:
    """One Discord error answer: HTTP status, JSON error code, message and optional field ``errors``."""

    status: int
    code: int
    message: str
    errors: JSON | None = None

    def payload(self) -> JSON:
        body: JSON = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return body

    @classmethod
    def unauthorized(cls) -> ApiError:
        return cls(401, 0, "401: Unauthorized")

    @classmethod
    def missing_access(cls) -> ApiError:
        return cls(403, 50001, "Missing Access")

    @classmethod
    def missing_permissions(cls) -> ApiError:
        return cls(403, 50013, "Missing Permissions")

    @classmethod
    def unknown_channel(cls) -> ApiError:
        return cls(404, 10003, "Unknown Channel")

    @classmethod
    def unknown_message(cls) -> ApiError:
        return cls(404, 10008, "Unknown Message")

    @classmethod
    def unknown_webhook(cls) -> ApiError:
        return cls(404, 10015, "Unknown Webhook")

    @classmethod
    def unknown_interaction(cls) -> ApiError:
        return cls(404, 10062, "Unknown interaction")

    @classmethod
    def empty_message(cls) -> ApiError:
        return cls(400, 50006, "Cannot send an empty message")

    @classmethod
    def invalid_form(cls, errors: JSON) -> ApiError:
        return cls(400, 50035, "Invalid Form Body", errors)


class _Reject(Exception):
    """Raised by a route implementation to answer with an ApiError."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message)
        self.error = error


class _FormErrors:
    """Collects field errors into Discord's nested ``errors`` object."""

    def __init__(self) -> None:
        self.tree: JSON = {}

    def add(self, path: Iterable[str | int], code: str, message: str) -> None:
        node = self.tree
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def raise_if_any(self) -> None:
        if self.tree:
            raise _Reject(ApiError.invalid_form(self.tree))


@dataclass(frozen=True)
class Failure:
    """A scripted answer for ``FakeDiscord.inject``. Build them with the class methods.

    ``rate_limited`` answers a 429 with Discord's headers for the matched route's bucket; ``dropped`` closes
    the connection without answering.
    """

    status: int = 0
    body: JSON | None = None
    retry_after: float | None = None
    is_global: bool = False
    scope: str = "user"
    drop: bool = False

    @classmethod
    def rate_limited(
        cls, retry_after: float = 0.5, *, is_global: bool = False, scope: str = "user"
    ) -> Failure:
        body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}
        return cls(429, body, retry_after, is_global, "global" if is_global else scope)

    @classmethod
    def error(cls, error: ApiError) -> Failure:
        return cls(error.status, error.payload())

    @classmethod
    def missing_permissions(cls) -> Failure:
        return cls.error(ApiError.missing_permissions())

    @classmethod
    def missing_access(cls) -> Failure:
        return cls.error(ApiError.missing_access())

    @classmethod
    def unknown_channel(cls) -> Failure:
        return cls.error(ApiError.unknown_channel())

    @classmethod
    def unknown_message(cls) -> Failure:
        return cls.error(ApiError.unknown_message())

    @classmethod
    def server_error(cls, status: int = 500) -> Failure:
        names = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
        return cls(status, {"message": f"{status}: {names.get(status, 'Server Error')}", "code": 0})

    @classmethod
    def dropped(cls) -> Failure:
        return cls(drop=True)


# -- model --------------------------------------------------------------------------------------------------


@dataclass
class FakeUser:
    """A Discord user the fake knows (the bot included)."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False

    def to_dict(self) -> JSON:
        data: JSON = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "avatar_decoration_data": None,
            "banner": None,
            "accent_color": None,
            "public_flags": 0,
            "flags": 0,
            "collectibles": None,
            "primary_guild": None,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass(frozen=True)
class RecordedRequest:
    """One REST request the fake answered.

    ``route`` is the route template (``"POST /channels/{channel_id}/messages"``), ``path`` the concrete path
    below ``/api/v10``, ``json`` the decoded JSON body (``payload_json`` for multipart), ``files`` the
    uploaded file names, ``status`` the HTTP status answered (0: the connection was dropped).
    """

    method: str
    path: str
    route: str
    json: Any
    query: Mapping[str, str]
    status: int
    files: tuple[str, ...] = ()
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Ping:
    """A message that would have notified someone, given the ``allowed_mentions`` sent with it."""

    channel_id: int
    message_id: int
    everyone: bool  # @everyone / @here parsed
    users: tuple[int, ...]
    roles: tuple[int, ...]
    replied_user: int | None
    silent: bool  # SUPPRESS_NOTIFICATIONS (@silent): still a mention, no push
    source: str  # "channel", "interaction" or "followup"


@dataclass
class _Member:
    user_id: int
    permissions: int | None  # total guild permissions; None: the @everyone role's
    nick: str | None
    joined_at: str


@dataclass
class _Guild:
    id: int
    name: str
    owner_id: int
    bot_role_id: int
    bot_permissions: int
    everyone_permissions: int
    locale: str
    joined_at: str
    channel_ids: list[int] = field(default_factory=list)
    members: dict[int, _Member] = field(default_factory=dict)


@dataclass
class _Message:
    data: JSON  # the Message object as the API returns it
    author_id: int
    allowed_mentions: JSON | None  # as the request carried it
    ephemeral: bool = False
    interaction_id: int | None = None


@dataclass
class _Channel:
    id: int
    type: int
    guild_id: int | None = None
    name: str | None = None
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    bot_allow: int | None = None  # member overwrite for the bot (set_bot_permissions)
    bot_deny: int | None = None
    recipient_id: int | None = None
    owner_id: int | None = None
    auto_archive_duration: int = 1440
    rate_limit_per_user: int = 0
    created_at: str = ""
    applied_tags: list[str] = field(default_factory=list)
    invitable: bool = True
    archived: bool = False  # threads only (set_thread_state)
    locked: bool = False
    deleted: bool = False
    messages: dict[int, _Message] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)
    total_sent: int = 0
    last_message_id: int | None = None

    @property
    def is_thread(self) -> bool:
        return self.type in _THREAD_TYPES


@dataclass
class _Interaction:
    id: int
    token: str
    type: int
    created: float
    channel_id: int
    guild_id: int | None
    user_id: int
    payload: JSON
    command_name: str | None = None
    component_message_id: int | None = None
    callback: JSON | None = None
    original_message_id: int | None = None
    original_loading: bool = False
    followup_ids: list[int] = field(default_factory=list)


@dataclass
class _File:
    field: str
    filename: str
    data: bytes
    content_type: str


@dataclass
class _Request:
    method: str
    path: str
    route: str
    name: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    files: list[_File]


@dataclass
class _Bucket:
    start: float = 0.0
    count: int = 0


@dataclass(frozen=True)
class _Rule:
    failure: Failure
    route: str | None
    channel_id: int | None


@dataclass
class _CloseFrame:
    code: int
    reason: str


@dataclass
class _Connection:
    ws: web.WebSocketResponse
    queue: asyncio.Queue[str | _CloseFrame]
    query: dict[str, str]
    log: JSON  # this connection's entry in gateway_connections()
    compressor: Any = None  # zlib compress object for zlib-stream
    session: _Session | None = None
    closed_code: int | None = None


@dataclass
class _Session:
    id: str
    intents: int
    shard: tuple[int, int]
    seq: int = 0
    log: list[tuple[int, str]] = field(default_factory=list)
    connection: _Connection | None = None


_ROUTE_SPECS: tuple[tuple[str, str, str, bool], ...] = (
    # method, template (below /api/v10), implementation name, needs "Authorization: Bot <token>"
    ("GET", "/users/@me", "me", True),
    ("POST", "/users/@me/channels", "create_dm", True),
    ("GET", "/users/{user_id}", "get_user", True),
    ("GET", "/oauth2/applications/@me", "application", True),
    ("GET", "/applications/@me", "application", True),
    ("GET", "/gateway", "gateway", False),
    ("GET", "/gateway/bot", "gateway_bot", True),
    ("GET", "/applications/{application_id}/commands", "get_commands", True),
    ("PUT", "/applications/{application_id}/commands", "put_commands", True),
    ("GET", "/applications/{application_id}/guilds/{guild_id}/commands", "get_commands", True),
    ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands", "put_commands", True),
    ("GET", "/channels/{channel_id}", "get_channel", True),
    ("GET", "/channels/{channel_id}/messages", "history", True),
    ("POST", "/channels/{channel_id}/messages", "create_message", True),
    ("GET", "/channels/{channel_id}/messages/{message_id}", "get_message", True),
    ("PATCH", "/channels/{channel_id}/messages/{message_id}", "edit_message", True),
    ("DELETE", "/channels/{channel_id}/messages/{message_id}", "delete_message", True),
    ("POST", "/channels/{channel_id}/messages/{message_id}/threads", "thread_from_message", True),
    ("POST", "/channels/{channel_id}/threads", "create_thread", True),
    ("POST", "/channels/{channel_id}/typing", "typing", True),
    ("GET", "/guilds/{guild_id}", "get_guild", True),
    ("GET", "/guilds/{guild_id}/channels", "guild_channels", True),
    ("GET", "/guilds/{guild_id}/members/{user_id}", "get_member", True),
    ("POST", "/interactions/{interaction_id}/{interaction_token}/callback", "callback", False),
    ("POST", "/webhooks/{application_id}/{interaction_token}", "followup", False),
    (
        "GET",
        "/webhooks/{application_id}/{interaction_token}/messages/{message_id}",
        "get_hook_message",
        False,
    ),
    (
        "PATCH",
        "/webhooks/{application_id}/{interaction_token}/messages/{message_id}",
        "edit_hook_message",
        False,
    ),
    (
        "DELETE",
        "/webhooks/{application_id}/{interaction_token}/messages/{message_id}",
        "delete_hook_message",
        False,
    ),
)


def _compile(template: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return re.compile(pattern + r"/?")


_ROUTES = [
    (method, template, _compile(template), name, auth) for method, template, name, auth in _ROUTE_SPECS
]
ROUTE_TEMPLATES = frozenset(f"{method} {template}" for method, template, _, _ in _ROUTE_SPECS)

# implementation name -> (limit, window seconds); the major parameter comes from the path, as in
# discord.py's Route.major_parameters.
_BUCKET_LIMITS: dict[str, tuple[int, float]] = {
    "create_message": (5, 5.0),
    "edit_message": (5, 5.0),
    "delete_message": (5, 1.0),
    "followup": (5, 2.0),
    "get_hook_message": (5, 2.0),
    "edit_hook_message": (5, 2.0),
    "delete_hook_message": (5, 2.0),
}
_DEFAULT_BUCKET = (50, 1.0)
_NO_BUCKET = frozenset({"callback"})

_NAME_CHARS = re.compile(r"^[-_'\w]{1,32}$")
_USER_MENTION = re.compile(r"<@!?(\d{1,20})>")
_ROLE_MENTION = re.compile(r"<@&(\d{1,20})>")
_EVERYONE = re.compile(r"@(everyone|here)\b")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def _ms(seconds: float) -> str:
    return f"{seconds:.3f}"


def _deep(value: _T) -> _T:
    return copy.deepcopy(value)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _bot_id_from_token(token: str) -> int | None:
    """A real bot token starts with the base64 of the bot's user id."""
    first = token.split(".", 1)[0]
    try:
        decoded = base64.b64decode(first + "=" * (-len(first) % 4), validate=False).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None
    return int(decoded) if decoded.isdigit() else None


# -- the fake -----------------------------------------------------------------------------------------------


HEARTBEAT_ACK_DELAY = 0.05  # seconds: a heartbeat's ACK comes back after about Discord's round trip


class FakeDiscord:
    """A fake Discord REST API + gateway in a background thread on 127.0.0.1 (port 0); see the module doc.

    ``api_base`` is what to put in ``discord.http.Route.BASE``; ``gateway_url`` (as a ``yarl.URL``) in
    ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``.

    ``scale`` shrinks every rate-limit window (and so the waits discord.py derives from the headers) by that
    factor; ``enforce_rate_limits`` answers 429 to a request over its bucket (``rate_limited`` counts them).
    ``privileged_intents`` are the privileged intents enabled for the application (IDENTIFY with others closes
    with 4014). ``interaction_deadline`` / ``token_lifetime`` are the 3 s / 15 min interaction windows,
    measured on ``clock``; snowflakes and timestamps use ``wall_clock``.
    """

    def __init__(
        self,
        *,
        token: str = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GfAkEx.fake-discord-bot-token",
        application_id: int = 123456789012345678,
        bot_id: int | None = None,
        bot_name: str = "arXiv Digest",
        owner_id: int = 900000000000000001,
        privileged_intents: int = 0,
        enforce_rate_limits: bool = False,
        scale: float = 1.0,
        heartbeat_interval: float = 41.25,
        interaction_deadline: float = INTERACTION_DEADLINE,
        token_lifetime: float = INTERACTION_TOKEN_LIFETIME,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.token = token
        self.application_id = application_id
        resolved_bot_id = bot_id or _bot_id_from_token(token) or application_id
        self.bot = FakeUser(resolved_bot_id, bot_name.lower().replace(" ", "-"), bot_name, bot=True)
        self.owner = FakeUser(owner_id, "app-owner", "App Owner")
        self.privileged_intents = privileged_intents
        self.enforce_rate_limits = enforce_rate_limits
        self.scale = scale
        self.heartbeat_interval = heartbeat_interval
        self.interaction_deadline = interaction_deadline
        self.token_lifetime = token_lifetime
        self.rate_limited = 0
        self.internal_errors: list[BaseException] = []  # exceptions inside the fake (answered 503 / 4000)
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = threading.RLock()
        self._users: dict[int, FakeUser] = {self.bot.id: self.bot, self.owner.id: self.owner}
        self._guilds: dict[int, _Guild] = {}
        self._channels: dict[int, _Channel] = {}
        self._dm_by_user: dict[int, int] = {}
        self._dm_blocked: set[int] = set()
        self._commands: dict[int | None, list[JSON]] = {}
        self._command_ids: dict[tuple[int | None, int, str], int] = {}
        self._interactions: dict[int, _Interaction] = {}
        self._by_token: dict[str, _Interaction] = {}
        self._rules: list[_Rule] = []
        self._requests: list[RecordedRequest] = []
        self._pings: list[Ping] = []
        self._identifies: list[JSON] = []
        self._resumes: list[JSON] = []
        self._presences: list[JSON] = []
        self._dispatched: list[tuple[str, JSON]] = []
        self._sessions: dict[str, _Session] = {}
        self._connections: list[_Connection] = []
        self._connection_log: list[JSON] = []
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._files: dict[str, tuple[bytes, str]] = {}
        self._snowflake_seq = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._port = 0

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> FakeDiscord:
        if self._thread is not None:
            raise RuntimeError("FakeDiscord is already started")
        loop = asyncio.new_event_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        started = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._serve(sock))
            except BaseException as exc:  # pragma: no cover - reported to start()
                errors.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="fake-discord", daemon=True)
        self._thread.start()
        started.wait(10)
        if errors:
            raise RuntimeError("FakeDiscord failed to start") from errors[0]
        return self

    async def _serve(self, sock: socket.socket) -> None:
        app = web.Application(client_max_size=4 * ATTACHMENT_SIZE_LIMIT)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        self._runner = runner

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
            try:
                future.result(10)
            finally:
                loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._loop = None
        self._thread = None

    async def _shutdown(self) -> None:
        for connection in list(self._connections):
            if not connection.ws.closed:
                await connection.ws.close(code=1001, message=b"Going away")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def __enter__(self) -> FakeDiscord:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._thread is None:
            raise RuntimeError("FakeDiscord is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_base(self) -> str:
        """For ``discord.http.Route.BASE``."""
        return self.url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """For ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` (wrap it in ``yarl.URL``)."""
        return f"ws://127.0.0.1:{self._port}/"

    # -- configuration ---------------------------------------------------------------------------------
    def add_user(
        self, user_id: int | None = None, *, username: str | None = None, global_name: str | None = None
    ) -> FakeUser:
        with self._lock:
            uid = user_id if user_id is not None else self._snowflake()
            user = FakeUser(uid, username or f"user{uid % 100000}", global_name)
            self._users[uid] = user
            return user

    def add_guild(
        self,
        guild_id: int | None = None,
        *,
        name: str = "Test Guild",
        owner_id: int | None = None,
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
        locale: str = "en-US",
    ) -> int:
        """Add a guild the bot is in (its managed role has ``bot_permissions``); returns its id.

        Dispatched as GUILD_CREATE (a guild join) to connected sessions.
        """
        with self._lock:
            gid = guild_id if guild_id is not None else self._snowflake()
            owner = owner_id if owner_id is not None else self.owner.id
            if owner not in self._users:
                self.add_user(owner)
            guild = _Guild(
                gid,
                name,
                owner,
                self._snowflake(),
                int(bot_permissions),
                int(everyone_permissions),
                locale,
                _iso(self._wall_clock()),
            )
            guild.members[owner] = _Member(owner, None, None, guild.joined_at)
            guild.members[self.bot.id] = _Member(self.bot.id, None, None, guild.joined_at)
            self._guilds[gid] = guild
            for session in list(self._sessions.values()):
                if session.intents & Intent.GUILDS and self._in_shard(session, gid):
                    self._dispatch_to(session, "GUILD_CREATE", self._guild_create(guild, session.intents))
            return gid

    def add_text_channel(
        self,
        guild_id: int,
        channel_id: int | None = None,
        *,
        name: str = "general",
        topic: str | None = None,
        bot_permissions: int | None = None,
    ) -> int:
        return self._add_channel(guild_id, channel_id, ChannelType.GUILD_TEXT, name, topic, bot_permissions)

    def add_forum_channel(
        self,
        guild_id: int,
        channel_id: int | None = None,
        *,
        name: str = "papers",
        topic: str | None = None,
        bot_permissions: int | None = None,
    ) -> int:
        return self._add_channel(guild_id, channel_id, ChannelType.GUILD_FORUM, name, topic, bot_permissions)

    def _add_channel(
        self,
        guild_id: int,
        channel_id: int | None,
        type_: int,
        name: str,
        topic: str | None,
        bot_permissions: int | None,
    ) -> int:
        with self._lock:
            guild = self._guild(guild_id)
            cid = channel_id if channel_id is not None else self._snowflake()
            channel = _Channel(
                cid,
                int(type_),
                guild.id,
                name,
                position=len(guild.channel_ids),
                topic=topic,
                created_at=_iso(self._wall_clock()),
            )
            if bot_permissions is not None:
                channel.bot_allow = int(bot_permissions)
                channel.bot_deny = ALL_PERMISSIONS & ~int(bot_permissions)
            self._channels[cid] = channel
            guild.channel_ids.append(cid)
            self._dispatch_guild_event(
                guild.id, "CHANNEL_CREATE", self._channel_payload(channel), Intent.GUILDS
            )
            return cid

    def add_member(
        self,
        guild_id: int,
        user: int | FakeUser,
        *,
        permissions: int | None = None,
        nick: str | None = None,
    ) -> FakeUser:
        """Make ``user`` a member of ``guild_id`` with these total guild permissions (None: @everyone's)."""
        with self._lock:
            guild = self._guild(guild_id)
            member_user = self._user(user)
            member = _Member(member_user.id, permissions, nick, _iso(self._wall_clock()))
            guild.members[member_user.id] = member
            payload = {**self._member_payload(guild, member), "guild_id": str(guild.id)}
            self._dispatch_guild_event(guild.id, "GUILD_MEMBER_ADD", payload, Intent.GUILD_MEMBERS)
            return member_user

    def set_bot_permissions(self, channel_id: int, permissions: int | None) -> None:
        """The bot's exact permissions in ``channel_id`` (a member overwrite); None removes the overwrite."""
        with self._lock:
            channel = self._channel(channel_id)
            if channel.guild_id is None or channel.is_thread:
                raise ValueError("permissions are set on guild channels (threads inherit their parent's)")
            if permissions is None:
                channel.bot_allow = channel.bot_deny = None
            else:
                channel.bot_allow = int(permissions)
                channel.bot_deny = ALL_PERMISSIONS & ~int(permissions)
            self._dispatch_guild_event(
                channel.guild_id, "CHANNEL_UPDATE", self._channel_payload(channel), Intent.GUILDS
            )

    def delete_channel(self, channel_id: int) -> None:
        """Delete a channel (and its threads): requests for it answer 404 10003 from now on."""
        with self._lock:
            channel = self._channel(channel_id)
            doomed = [channel, *(c for c in self._channels.values() if c.parent_id == channel.id)]
            for victim in doomed:
                victim.deleted = True
                if victim.guild_id is not None:
                    event = "THREAD_DELETE" if victim.is_thread else "CHANNEL_DELETE"
                    payload = self._channel_payload(victim)
                    self._dispatch_guild_event(victim.guild_id, event, payload, Intent.GUILDS)
            if channel.guild_id is not None:
                guild = self._guilds[channel.guild_id]
                guild.channel_ids = [c for c in guild.channel_ids if c != channel.id]

    def set_thread_state(self, thread_id: int, *, archived: bool, locked: bool = False) -> None:
        """A moderator archives (or Discord auto-archives) and maybe locks a thread (THREAD_UPDATE).

        As on Discord: a message sent to an archived thread that is not locked unarchives it; one that is
        locked takes no message from a member without Manage Threads: 400 50083 when it is archived too,
        else 400 160005 (Thread is locked)."""
        with self._lock:
            thread = self._channel(thread_id)
            if not thread.is_thread:
                raise ValueError(f"{thread_id} is not a thread")
            thread.archived, thread.locked = archived, locked
            if thread.guild_id is not None:
                payload = self._channel_payload(thread)
                self._dispatch_guild_event(thread.guild_id, "THREAD_UPDATE", payload, Intent.GUILDS)

    def block_dms(self, user: int | FakeUser, blocked: bool = True) -> None:
        """The user closed their DMs to the bot: sending to their DM channel answers 403 50007."""
        with self._lock:
            uid = self._user(user).id
            if blocked:
                self._dm_blocked.add(uid)
            else:
                self._dm_blocked.discard(uid)

    def dm_channel(self, user: int | FakeUser) -> int:
        """The id of the DM channel between the bot and ``user`` (created if needed)."""
        with self._lock:
            return self._dm_for(self._user(user)).id

    def inject(
        self,
        failure: Failure,
        *,
        route: str | None = None,
        channel_id: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` matching requests with ``failure`` (FIFO among rules).

        ``route`` is a template as in ``ROUTE_TEMPLATES`` (``"POST /channels/{channel_id}/messages"``), or the
        template without its method to match every method; ``channel_id`` matches the path's channel.
        """
        if route is not None:
            known = ROUTE_TEMPLATES | {t.split(" ", 1)[1] for t in ROUTE_TEMPLATES}
            if route not in known:
                raise ValueError(f"unknown route {route!r}; one of {sorted(ROUTE_TEMPLATES)}")
        with self._lock:
            self._rules.extend(_Rule(failure, route, channel_id) for _ in range(times))

    def clear_injected(self) -> int:
        with self._lock:
            left = len(self._rules)
            self._rules.clear()
            return left

    # -- users' actions pushed over the gateway -------------------------------------------------------
    def post_message(
        self,
        channel_id: int,
        user: int | FakeUser,
        content: str,
        *,
        embeds: list[JSON] | None = None,
    ) -> int:
        """A user posts ``content`` in ``channel_id`` (MESSAGE_CREATE); returns the message id."""
        with self._lock:
            channel = self._channel(channel_id)
            author = self._user(user)
            body: JSON = {"content": content, "embeds": embeds or []}
            message = self._store_message(channel, author, body, allowed_mentions=None, source="user")
            return int(message.data["id"])

    def slash(
        self,
        guild_id: int | None,
        channel_id: int | None,
        user: int | FakeUser,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        permissions: int | None = None,
        locale: str = "en-US",
    ) -> int:
        """A user runs the registered slash command ``name`` ("group sub" for subcommands); returns the
        interaction id. ``guild_id=None`` runs it in the user's DM with the bot (``channel_id``: None or the
        DM's id).
        ``permissions`` overrides the member's permissions sent in ``member.permissions``.

        Raises ValueError when Discord would not let the user send it: unknown command or option, a guild-only
        command in a DM, missing ``default_member_permissions``, a value outside the option's choices/bounds,
        a missing required option.
        """
        with self._lock:
            return self._command_interaction(
                2, guild_id, channel_id, user, name, dict(options or {}), permissions, locale, None
            )

    def autocomplete(
        self,
        guild_id: int | None,
        channel_id: int | None,
        user: int | FakeUser,
        name: str,
        options: Mapping[str, Any],
        *,
        focused: str,
        permissions: int | None = None,
        locale: str = "en-US",
    ) -> int:
        """The user is typing option ``focused`` of command ``name`` (an autocomplete interaction)."""
        with self._lock:
            return self._command_interaction(
                4, guild_id, channel_id, user, name, dict(options), permissions, locale, focused
            )

    def click(
        self,
        channel_id: int,
        message_id: int,
        user: int | FakeUser,
        custom_id: str,
        *,
        values: list[str] | None = None,
        permissions: int | None = None,
        locale: str = "en-US",
    ) -> int:
        """The user presses the button (or picks ``values`` in the select) ``custom_id`` of a bot message."""
        with self._lock:
            self._require_session()
            channel = self._channel(channel_id)
            message = channel.messages.get(message_id)
            if message is None or message.author_id != self.bot.id:
                raise ValueError(f"no bot message {message_id} in channel {channel_id}")
            component = _find_component(message.data.get("components") or [], custom_id)
            if component is None:
                raise ValueError(f"message {message_id} has no component {custom_id!r}")
            if component.get("disabled"):
                raise ValueError(f"component {custom_id!r} is disabled")
            data: JSON = {"custom_id": custom_id, "component_type": component.get("type", 2)}
            if component.get("type", 2) != 2:
                data["values"] = list(values or [])
            interaction = self._new_interaction(
                3, channel, self._user(user), data, permissions, locale, message=message
            )
            return interaction.id

    # -- gateway control -------------------------------------------------------------------------------
    def reconnect(self) -> None:
        """Send op 7 RECONNECT on every connection: discord.py closes and RESUMEs at resume_gateway_url."""
        with self._lock:
            for connection in self._live_connections():
                self._enqueue(connection, json.dumps({"op": 7, "d": None, "s": None, "t": None}))

    def invalidate_sessions(self, *, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION; unless ``resumable`` the sessions are forgotten (clients identify)."""
        with self._lock:
            for connection in self._live_connections():
                self._enqueue(connection, json.dumps({"op": 9, "d": resumable, "s": None, "t": None}))
            if not resumable:
                self._sessions.clear()

    def close_gateway(self, code: int = 4000, reason: str = "") -> None:
        """Close every gateway connection with ``code`` (sessions stay resumable)."""
        with self._lock:
            for connection in self._live_connections():
                self._enqueue(connection, _CloseFrame(code, reason))

    def connected(self) -> bool:
        """Whether a client has identified (or resumed) on a still open connection."""
        with self._lock:
            return any(c.session is not None and not c.ws.closed for c in self._connections)

    # -- inspection ------------------------------------------------------------------------------------
    def messages(self, channel_id: int, *, include_threads: bool = False) -> list[JSON]:
        """Messages of ``channel_id`` (a thread id works too), oldest first, edits applied, deleted ones
        dropped; ephemeral interaction responses included (flags & 64). Besides the Message object each entry
        has ``allowed_mentions``: what the creating request carried (None when it sent none)."""
        with self._lock:
            channels = [self._channels[channel_id]] if channel_id in self._channels else []
            if include_threads:
                channels += [c for c in self._channels.values() if c.parent_id == channel_id]
            found = [m for c in channels for m in (c.messages[i] for i in c.order)]
            found.sort(key=lambda m: int(m.data["id"]))
            return [{**_deep(m.data), "allowed_mentions": _deep(m.allowed_mentions)} for m in found]

    def threads(self, channel_id: int) -> list[JSON]:
        """Threads (channel objects) whose parent is ``channel_id``, oldest first."""
        with self._lock:
            return [
                self._channel_payload(c)
                for c in sorted(self._channels.values(), key=lambda c: c.id)
                if c.parent_id == channel_id and c.is_thread and not c.deleted
            ]

    def channel(self, channel_id: int) -> JSON:
        with self._lock:
            return self._channel_payload(self._channel(channel_id))

    def callbacks(self, interaction_id: int) -> list[JSON]:
        """Accepted interaction responses (``{"type", "data"}``); at most one, as on Discord."""
        with self._lock:
            interaction = self._interactions.get(interaction_id)
            return (
                [] if interaction is None or interaction.callback is None else [_deep(interaction.callback)]
            )

    def followups(self, interaction_id: int) -> list[JSON]:
        """Messages sent as follow-ups (current content). A follow-up that completed a deferred response is
        the original message itself (same id)."""
        with self._lock:
            interaction = self._interactions.get(interaction_id)
            if interaction is None:
                return []
            channel = self._channels[interaction.channel_id]
            return [
                _deep(channel.messages[i].data) for i in interaction.followup_ids if i in channel.messages
            ]

    def original(self, interaction_id: int) -> JSON | None:
        """The interaction's original response message (None before a type 4/5 callback)."""
        with self._lock:
            interaction = self._interactions.get(interaction_id)
            if interaction is None or interaction.original_message_id is None:
                return None
            message = self._channels[interaction.channel_id].messages.get(interaction.original_message_id)
            return None if message is None else _deep(message.data)

    def recorded(self, route: str | None = None) -> list[RecordedRequest]:
        """Every REST request answered (failed ones included), oldest first; ``route`` filters by template
        (with or without the method) or by concrete ``"METHOD /path"``."""
        with self._lock:
            if route is None:
                return list(self._requests)
            return [
                r
                for r in self._requests
                if route in (r.route, r.route.split(" ", 1)[1], f"{r.method} {r.path}", r.path)
            ]

    def commands(self, guild_id: int | None = None) -> list[JSON]:
        """Registered application commands: global ones, or ``guild_id``'s."""
        with self._lock:
            return _deep(self._commands.get(guild_id, []))

    def pings(self) -> list[Ping]:
        with self._lock:
            return list(self._pings)

    def identify_payloads(self) -> list[JSON]:
        with self._lock:
            return _deep(self._identifies)

    def resume_payloads(self) -> list[JSON]:
        with self._lock:
            return _deep(self._resumes)

    def presence_updates(self) -> list[JSON]:
        with self._lock:
            return _deep(self._presences)

    def dispatched(self, event: str | None = None) -> list[JSON]:
        """Payloads (``d``) of gateway dispatches sent (or kept for a disconnected session), oldest first."""
        with self._lock:
            return [_deep(d) for t, d in self._dispatched if event is None or t == event]

    def gateway_connections(self) -> list[JSON]:
        """One entry per WebSocket connection: its ``query`` (v, encoding, compress) and close code."""
        with self._lock:
            return _deep(self._connection_log)

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 2.0,  # noqa: ASYNC109 - a polling deadline for tests, as the brief names it
        *,
        interval: float = 0.01,
    ) -> None:
        """Poll ``predicate`` without blocking the event loop; TimeoutError after ``timeout`` seconds."""
        await wait_until(predicate, timeout, interval)

    # -- internals: model (callers hold the lock) ------------------------------------------------------
    def _snowflake(self) -> int:
        ms = int(self._wall_clock() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (1 << 17) | (next(self._snowflake_seq) & 0x1FFFF)

    def _user(self, user: int | FakeUser) -> FakeUser:
        if isinstance(user, FakeUser):
            self._users.setdefault(user.id, user)
            return self._users[user.id]
        found = self._users.get(user)
        return found if found is not None else self.add_user(user)

    def _guild(self, guild_id: int) -> _Guild:
        guild = self._guilds.get(guild_id)
        if guild is None:
            raise ValueError(f"unknown guild {guild_id}; add_guild() first")
        return guild

    def _channel(self, channel_id: int) -> _Channel:
        channel = self._channels.get(channel_id)
        if channel is None:
            raise ValueError(f"unknown channel {channel_id}")
        return channel

    def _dm_for(self, user: FakeUser) -> _Channel:
        cid = self._dm_by_user.get(user.id)
        if cid is None:
            cid = self._snowflake()
            self._channels[cid] = _Channel(cid, ChannelType.DM, recipient_id=user.id)
            self._dm_by_user[user.id] = cid
        return self._channels[cid]

    def _base_permissions(self, guild: _Guild, user_id: int) -> int:
        if user_id == guild.owner_id:
            return ALL_PERMISSIONS
        if user_id == self.bot.id:
            base = guild.everyone_permissions | guild.bot_permissions
        else:
            member = guild.members.get(user_id)
            known = member.permissions if member is not None else None
            base = known if known is not None else guild.everyone_permissions
        return ALL_PERMISSIONS if base & Permission.ADMINISTRATOR else base

    def _bot_permissions(self, channel: _Channel) -> int:
        """The bot's permissions in ``channel`` as Discord computes them (threads: the parent's)."""
        if channel.guild_id is None:
            return DM_PERMISSIONS
        target = self._channels.get(channel.parent_id) if channel.is_thread and channel.parent_id else channel
        if target is None:
            return 0
        guild = self._guilds[channel.guild_id]
        perms = self._base_permissions(guild, self.bot.id)
        if perms == ALL_PERMISSIONS:
            return perms
        if target.bot_allow is not None and target.bot_deny is not None:
            perms = (perms & ~target.bot_deny) | target.bot_allow
        if not perms & Permission.VIEW_CHANNEL:
            return 0
        return perms

    def _require(self, channel: _Channel, needed: int) -> None:
        perms = self._bot_permissions(channel)
        if not perms & Permission.VIEW_CHANNEL:
            raise _Reject(ApiError.missing_access())
        if perms & needed != needed:
            raise _Reject(ApiError.missing_permissions())

    # -- payloads --------------------------------------------------------------------------------------
    def _channel_payload(self, channel: _Channel, *, in_guild_create: bool = False) -> JSON:
        data: JSON = {"id": str(channel.id), "type": channel.type, "flags": 0}
        if channel.type == ChannelType.DM:
            recipient = self._users[channel.recipient_id or 0]
            data.update(
                last_message_id=_str_or_none(channel.last_message_id), recipients=[recipient.to_dict()]
            )
            return data
        if not in_guild_create:
            data["guild_id"] = str(channel.guild_id)
        data.update(
            name=channel.name,
            parent_id=_str_or_none(channel.parent_id),
            last_message_id=_str_or_none(channel.last_message_id),
            rate_limit_per_user=channel.rate_limit_per_user,
        )
        if channel.is_thread:
            data.update(
                owner_id=str(channel.owner_id),
                message_count=len(channel.order),
                member_count=1,
                total_message_sent=channel.total_sent,
                applied_tags=list(channel.applied_tags),
                thread_metadata={
                    "archived": channel.archived,
                    "auto_archive_duration": channel.auto_archive_duration,
                    "archive_timestamp": channel.created_at,
                    "locked": channel.locked,
                    "create_timestamp": channel.created_at,
                    **(
                        {"invitable": channel.invitable} if channel.type == ChannelType.PRIVATE_THREAD else {}
                    ),
                },
                member={
                    "id": str(channel.id),
                    "user_id": str(self.bot.id),
                    "join_timestamp": channel.created_at,
                    "flags": 1,
                    "muted": False,
                    "mute_config": None,
                },
            )
            return data
        overwrites: list[JSON] = []
        if channel.bot_allow is not None and channel.bot_deny is not None:
            overwrites.append(
                {
                    "id": str(self.bot.id),
                    "type": 1,
                    "allow": str(channel.bot_allow),
                    "deny": str(channel.bot_deny),
                }
            )
        data.update(
            position=channel.position,
            topic=channel.topic,
            nsfw=False,
            permission_overwrites=overwrites,
            default_auto_archive_duration=1440,
            default_thread_rate_limit_per_user=0,
        )
        if channel.type == ChannelType.GUILD_FORUM:
            data.update(
                available_tags=[],
                default_reaction_emoji=None,
                default_sort_order=None,
                default_forum_layout=0,
                template="",
            )
        return data

    def _member_payload(self, guild: _Guild, member: _Member, *, with_permissions: int | None = None) -> JSON:
        data: JSON = {
            "user": self._users[member.user_id].to_dict(),
            "roles": [str(guild.bot_role_id)] if member.user_id == self.bot.id else [],
            "nick": member.nick,
            "avatar": None,
            "banner": None,
            "joined_at": member.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_permissions is not None:
            data["permissions"] = str(with_permissions)
        return data

    def _role_payloads(self, guild: _Guild) -> list[JSON]:
        def role(role_id: int, name: str, permissions: int, position: int, managed: bool) -> JSON:
            data: JSON = {
                "id": str(role_id),
                "name": name,
                "permissions": str(permissions),
                "position": position,
                "color": 0,
                "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
                "hoist": False,
                "managed": managed,
                "mentionable": False,
                "icon": None,
                "unicode_emoji": None,
                "flags": 0,
            }
            if managed:
                data["tags"] = {"bot_id": str(self.bot.id)}
            return data

        return [
            role(guild.id, "@everyone", guild.everyone_permissions, 0, False),
            role(
                guild.bot_role_id, self.bot.global_name or self.bot.username, guild.bot_permissions, 1, True
            ),
        ]

    def _guild_payload(self, guild: _Guild) -> JSON:
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "roles": self._role_payloads(guild),
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": guild.locale,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "max_members": 500000,
            "max_video_channel_users": 25,
        }

    def _guild_create(self, guild: _Guild, intents: int) -> JSON:
        channels = [self._channels[c] for c in guild.channel_ids if not self._channels[c].deleted]
        threads = [
            c for c in self._channels.values() if c.guild_id == guild.id and c.is_thread and not c.deleted
        ]
        members = [
            m for m in guild.members.values() if m.user_id == self.bot.id or intents & Intent.GUILD_MEMBERS
        ]
        return {
            **self._guild_payload(guild),
            "joined_at": guild.joined_at,
            "large": False,
            "unavailable": False,
            "member_count": len(guild.members),
            "voice_states": [],
            "members": [self._member_payload(guild, m) for m in members],
            "channels": [self._channel_payload(c, in_guild_create=True) for c in channels],
            "threads": [self._channel_payload(c) for c in threads],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def _me(self) -> JSON:
        return {
            **self.bot.to_dict(),
            "verified": True,
            "mfa_enabled": False,
            "locale": "en-US",
            "email": None,
            "bio": "",
        }

    def _application_flags(self) -> int:
        return sum(flag for intent, flag in _INTENT_APP_FLAGS.items() if self.privileged_intents & intent)

    # -- messages --------------------------------------------------------------------------------------
    def _check_message(
        self, body: JSON, *, files: int, create: bool, path: tuple[str, ...] = (), interaction: bool = False
    ) -> None:
        """Validate a message payload as Discord does (400 50035 naming the fields)."""
        errors = _FormErrors()
        content = body.get("content")
        if content is not None:
            if not isinstance(content, str):
                errors.add((*path, "content"), "BASE_TYPE_STRING", "Must be a string.")
            elif len(content) > MAX_CONTENT:
                errors.add(
                    (*path, "content"), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length."
                )
        embeds = body.get("embeds")
        if embeds is not None:
            if not isinstance(embeds, list):
                errors.add((*path, "embeds"), "BASE_TYPE_ARRAY", "Must be an array.")
            elif len(embeds) > MAX_EMBEDS:
                errors.add(
                    (*path, "embeds"), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_EMBEDS} or fewer in length."
                )
            else:
                total = sum(_check_embed(e, errors, (*path, "embeds", i)) for i, e in enumerate(embeds))
                if total > MAX_EMBED_TOTAL:
                    errors.add(
                        (*path, "embeds"),
                        "MAX_EMBED_SIZE_EXCEEDED",
                        f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}",
                    )
        flags = body.get("flags") or 0
        if not isinstance(flags, int):
            errors.add((*path, "flags"), "NUMBER_TYPE_COERCE", f'Value "{flags}" is not int.')
            flags = 0
        elif create and flags & _MESSAGE_FLAG_EPHEMERAL and not interaction:
            errors.add(
                (*path, "flags"), "MESSAGE_FLAGS_INVALID", "Invalid flags."
            )  # ephemeral: interactions only
        components = body.get("components")
        if components is not None and not flags & _MESSAGE_FLAG_COMPONENTS_V2:
            _check_components(components, errors, (*path, "components"))
        _check_allowed_mentions(body.get("allowed_mentions"), errors, (*path, "allowed_mentions"))
        errors.raise_if_any()
        if create and _is_empty(body, files):
            raise _Reject(ApiError.empty_message())

    def _public_for(self, message: _Message, channel: _Channel, *, intents: int | None) -> JSON:
        """The message as the bot may read it: without MESSAGE_CONTENT, others' guild messages lose their
        content unless they mention the bot."""
        data = _deep(message.data)
        content_allowed = (
            intents if intents is not None else self.privileged_intents
        ) & Intent.MESSAGE_CONTENT
        mentioned = any(u.get("id") == str(self.bot.id) for u in data.get("mentions", []))
        if (
            channel.guild_id is not None
            and message.author_id != self.bot.id
            and not (content_allowed or mentioned)
        ):
            data.update(content="", embeds=[], attachments=[], components=[])
        return data

    def _store_message(
        self,
        channel: _Channel,
        author: FakeUser,
        body: JSON,
        *,
        allowed_mentions: JSON | None,
        source: str,
        files: list[_File] | None = None,
        message_id: int | None = None,
        message_type: int = 0,
        interaction: _Interaction | None = None,
        ephemeral: bool = False,
        loading: bool = False,
    ) -> _Message:
        now = self._wall_clock()
        mid = message_id if message_id is not None else self._snowflake()
        flags = int(body.get("flags") or 0) & ~_MESSAGE_FLAG_EPHEMERAL
        if ephemeral:
            flags |= _MESSAGE_FLAG_EPHEMERAL
        if loading:
            flags |= _MESSAGE_FLAG_LOADING
        data: JSON = {
            "id": str(mid),
            "channel_id": str(channel.id),
            "author": author.to_dict(),
            "content": body.get("content") or "",
            "timestamp": _iso(now),
            "edited_timestamp": None,
            "tts": bool(body.get("tts")),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": self._attachments(channel, files or []),
            "embeds": [_normalize_embed(e) for e in body.get("embeds") or []],
            "pinned": False,
            "type": message_type,
            "flags": flags,
            "components": _deep(body.get("components") or []),
        }
        if body.get("nonce") is not None:
            data["nonce"] = body["nonce"]
        if channel.is_thread:
            data["position"] = channel.total_sent
        reference = body.get("message_reference")
        referenced: _Message | None = None
        if isinstance(reference, dict) and reference.get("message_id") is not None:
            ref_channel = self._channels.get(_int_or_none(reference.get("channel_id")) or channel.id)
            referenced = (
                None if ref_channel is None else ref_channel.messages.get(int(reference["message_id"]))
            )
            if referenced is not None and ref_channel is not None:
                data["type"] = 19 if message_type == 0 else message_type
                data["message_reference"] = {
                    "type": 0,
                    "message_id": referenced.data["id"],
                    "channel_id": str(ref_channel.id),
                    **({"guild_id": str(ref_channel.guild_id)} if ref_channel.guild_id else {}),
                }
                data["referenced_message"] = {
                    k: v for k, v in _deep(referenced.data).items() if k != "referenced_message"
                }
        if interaction is not None:
            app = str(self.application_id)
            data.update(webhook_id=app, application_id=app)
            user = self._users[interaction.user_id].to_dict()
            metadata: JSON = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": user,
                "authorizing_integration_owners": interaction.payload["authorizing_integration_owners"],
            }
            if interaction.command_name is not None:
                metadata.update(name=interaction.command_name, command_type=1)
            data["interaction_metadata"] = metadata
            data["interaction"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "name": interaction.command_name or "",
                "user": user,
            }
        message = _Message(
            data,
            author.id,
            _deep(allowed_mentions),
            ephemeral,
            None if interaction is None else interaction.id,
        )
        if not loading:
            self._mentions(channel, message, body, referenced, source)
        channel.messages[mid] = message
        channel.order.append(mid)
        channel.total_sent += 1
        channel.last_message_id = mid
        if not ephemeral:
            self._dispatch_message("MESSAGE_CREATE", channel, message)
        return message

    def _attachments(self, channel: _Channel, files: list[_File]) -> list[JSON]:
        attachments: list[JSON] = []
        for upload in files:
            aid = self._snowflake()
            path = f"/attachments/{channel.id}/{aid}/{upload.filename}"
            self._files[path] = (upload.data, upload.content_type)
            attachments.append(
                {
                    "id": str(aid),
                    "filename": upload.filename,
                    "size": len(upload.data),
                    "url": self.url + path,
                    "proxy_url": self.url + path,
                    "content_type": upload.content_type,
                }
            )
        return attachments

    def _mentions(
        self, channel: _Channel, message: _Message, body: JSON, referenced: _Message | None, source: str
    ) -> None:
        """Fill mention fields and record a Ping when the message would notify someone."""
        content = message.data["content"]
        allowed = message.allowed_mentions
        if allowed is None:
            parse = {"users", "roles", "everyone"}
            users_ok: set[str] = set()
            roles_ok: set[str] = set()
            replied_ok = True
        else:
            parse = set(allowed.get("parse") or [])
            users_ok = {str(u) for u in allowed.get("users") or []}
            roles_ok = {str(r) for r in allowed.get("roles") or []}
            replied_ok = bool(allowed.get("replied_user", False))
        everyone = bool(_EVERYONE.search(content)) and "everyone" in parse
        users = [
            int(u) for u in dict.fromkeys(_USER_MENTION.findall(content)) if "users" in parse or u in users_ok
        ]
        roles = [
            int(r) for r in dict.fromkeys(_ROLE_MENTION.findall(content)) if "roles" in parse or r in roles_ok
        ]
        replied = None
        if referenced is not None and replied_ok and referenced.author_id != message.author_id:
            replied = referenced.author_id
        mentioned_users = [self._users[u].to_dict() for u in users if u in self._users]
        if replied is not None and replied not in users:
            mentioned_users.append(self._users[replied].to_dict())
        message.data.update(
            mention_everyone=everyone, mentions=mentioned_users, mention_roles=[str(r) for r in roles]
        )
        if (
            message.author_id == self.bot.id
            and not message.ephemeral
            and (everyone or users or roles or replied)
        ):
            flags = int(message.data.get("flags") or 0)
            self._pings.append(
                Ping(
                    channel.id,
                    int(message.data["id"]),
                    everyone,
                    tuple(users),
                    tuple(roles),
                    replied,
                    bool(flags & _MESSAGE_FLAG_SUPPRESS_NOTIFICATIONS),
                    source,
                )
            )

    def _apply_edit(
        self, channel: _Channel, message: _Message, body: JSON, *, files: int, path: tuple[str, ...]
    ) -> None:
        self._check_message(body, files=files, create=False, path=path)
        updated = _deep(message.data)
        for key in ("content", "embeds", "components", "flags"):
            if key in body:
                value = body[key]
                if key == "content":
                    updated[key] = value or ""
                elif key == "embeds":
                    updated[key] = [_normalize_embed(e) for e in value or []]
                elif key == "flags":
                    keep = int(updated.get("flags") or 0) & (_MESSAGE_FLAG_EPHEMERAL | _MESSAGE_FLAG_LOADING)
                    updated[key] = keep | (
                        int(value or 0) & ~(_MESSAGE_FLAG_EPHEMERAL | _MESSAGE_FLAG_LOADING)
                    )
                else:
                    updated[key] = _deep(value or [])
        if "attachments" in body and body["attachments"] is not None:
            keep_ids = {str(a.get("id")) for a in body["attachments"] if isinstance(a, dict)}
            updated["attachments"] = [a for a in updated["attachments"] if a["id"] in keep_ids]
        if _is_empty(updated, len(updated["attachments"]) + files):
            raise _Reject(ApiError.empty_message())
        if "allowed_mentions" in body:
            message.allowed_mentions = _deep(body["allowed_mentions"])
        updated["edited_timestamp"] = _iso(self._wall_clock())
        message.data = updated

    def _dispatch_message(self, event: str, channel: _Channel, message: _Message) -> None:
        intent = Intent.GUILD_MESSAGES if channel.guild_id is not None else Intent.DIRECT_MESSAGES
        for session in list(self._sessions.values()):
            if not session.intents & intent:
                continue
            if channel.guild_id is not None and not self._in_shard(session, channel.guild_id):
                continue
            data = self._public_for(message, channel, intents=session.intents)
            if channel.guild_id is not None:
                data["guild_id"] = str(channel.guild_id)
                guild = self._guilds[channel.guild_id]
                member = guild.members.get(message.author_id)
                if member is not None and message.interaction_id is None:
                    data["member"] = {
                        k: v for k, v in self._member_payload(guild, member).items() if k != "user"
                    }
            self._dispatch_to(session, event, data)

    # -- gateway internals -----------------------------------------------------------------------------
    def _in_shard(self, session: _Session, guild_id: int) -> bool:
        shard_id, count = session.shard
        return (guild_id >> 22) % count == shard_id

    def _live_connections(self) -> list[_Connection]:
        return [c for c in self._connections if not c.ws.closed]

    def _enqueue(self, connection: _Connection, item: str | _CloseFrame) -> None:
        loop = self._loop
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(connection.queue.put_nowait, item)

    def _dispatch_to(self, session: _Session, event: str, data: JSON) -> None:
        session.seq += 1
        text = json.dumps({"op": 0, "t": event, "s": session.seq, "d": data}, ensure_ascii=False)
        session.log.append((session.seq, text))
        del session.log[:-1000]
        self._dispatched.append((event, _deep(data)))
        if session.connection is not None:
            self._enqueue(session.connection, text)

    def _dispatch_guild_event(self, guild_id: int | None, event: str, data: JSON, intent: int) -> None:
        if guild_id is None:
            return
        for session in list(self._sessions.values()):
            if session.intents & intent and self._in_shard(session, guild_id):
                self._dispatch_to(session, event, data)

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=0, autoping=True)
        await ws.prepare(request)
        query = dict(request.query)
        entry: JSON = {"query": dict(query), "closed_code": None, "identified": False, "resumed": False}
        connection = _Connection(ws, asyncio.Queue(), query, entry)
        if query.get("compress") == "zlib-stream":
            connection.compressor = zlib.compressobj()
        with self._lock:
            self._connections.append(connection)
            self._connection_log.append(entry)
        writer = asyncio.get_running_loop().create_task(self._writer(connection))
        try:
            if query.get("v") != "10":
                self._enqueue_now(connection, _CloseFrame(4012, "Invalid API version"))
            elif query.get("encoding", "json") != "json":
                self._enqueue_now(connection, _CloseFrame(4002, "Error while decoding payload."))
            else:
                hello = {
                    "heartbeat_interval": int(self.heartbeat_interval * 1000),
                    "_trace": ['["fake-discord"]'],
                }
                self._enqueue_now(connection, json.dumps({"op": 10, "d": hello, "s": None, "t": None}))
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    with self._lock:
                        try:
                            self._gateway_message(connection, entry, str(msg.data))
                        except Exception as exc:  # a bug in the fake: keep it, close as Discord would (4000)
                            self.internal_errors.append(exc)
                            self._enqueue_now(connection, _CloseFrame(4000, "Unknown error."))
                elif msg.type == WSMsgType.BINARY:
                    self._enqueue_now(connection, _CloseFrame(4002, "Error while decoding payload."))
                else:
                    break
        finally:
            if connection.closed_code is not None:  # our close handshake is in progress in the writer
                await asyncio.wait([writer], timeout=1.0)
            writer.cancel()
            with self._lock:
                entry["closed_code"] = connection.closed_code or ws.close_code
                session = connection.session
                if session is not None and session.connection is connection:
                    session.connection = None
        return ws

    def _enqueue_now(self, connection: _Connection, item: str | _CloseFrame) -> None:
        connection.queue.put_nowait(item)

    async def _writer(self, connection: _Connection) -> None:
        ws = connection.ws
        try:
            while True:
                item = await connection.queue.get()
                if isinstance(item, _CloseFrame):
                    with self._lock:
                        connection.closed_code = item.code
                        connection.log["closed_code"] = item.code
                    await ws.close(code=item.code, message=item.reason.encode())
                    return
                if ws.closed:
                    return
                if connection.compressor is not None:
                    data = connection.compressor.compress(item.encode()) + connection.compressor.flush(
                        zlib.Z_SYNC_FLUSH
                    )
                    await ws.send_bytes(data)
                else:
                    await ws.send_str(item)
        except (ConnectionError, RuntimeError):  # the client went away
            return

    def _gateway_message(self, connection: _Connection, entry: JSON, text: str) -> None:
        try:
            payload = json.loads(text)
            op = payload["op"]
        except (ValueError, KeyError, TypeError):
            self._enqueue(connection, _CloseFrame(4002, "Error while decoding payload."))
            return
        data = payload.get("d")
        if op == 1:
            # Discord's round trip, not loopback's: an ACK that beats discord.py's keep-alive thread to
            # recording the heartbeat as sent reads as a whole interval of latency ("Can't keep up").
            asyncio.get_running_loop().call_later(
                HEARTBEAT_ACK_DELAY,
                self._enqueue,
                connection,
                json.dumps({"op": 11, "d": None, "s": None, "t": None}),
            )
        elif op == 2:
            self._identify(connection, entry, data)
        elif op == 6:
            self._resume(connection, entry, data)
        elif connection.session is None:
            self._enqueue(connection, _CloseFrame(4003, "Not authenticated."))
        elif op == 3:
            self._presences.append(_deep(data))
        elif op == 4:
            pass  # voice state updates: no voice here
        elif op == 8:
            self._request_members(connection, data)
        else:
            self._enqueue(connection, _CloseFrame(4001, "Unknown opcode."))

    def _token_ok(self, value: Any) -> bool:
        return isinstance(value, str) and value.removeprefix("Bot ") == self.token

    def _identify(self, connection: _Connection, entry: JSON, data: Any) -> None:
        if not isinstance(data, dict):
            self._enqueue(connection, _CloseFrame(4002, "Error while decoding payload."))
            return
        self._identifies.append(_deep(data))
        if connection.session is not None:
            self._enqueue(connection, _CloseFrame(4005, "Already authenticated."))
            return
        if not self._token_ok(data.get("token")):
            self._enqueue(connection, _CloseFrame(4004, "Authentication failed."))
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0 or intents & ~_VALID_INTENTS:
            self._enqueue(connection, _CloseFrame(4013, "Invalid intent(s)."))
            return
        if intents & PRIVILEGED_INTENTS & ~self.privileged_intents:
            self._enqueue(connection, _CloseFrame(4014, "Disallowed intent(s)."))
            return
        shard = data.get("shard") or [0, 1]
        if (
            not isinstance(shard, list)
            or len(shard) != 2
            or not all(isinstance(x, int) for x in shard)
            or not 0 <= shard[0] < shard[1]
        ):
            self._enqueue(connection, _CloseFrame(4010, "Invalid shard."))
            return
        session = _Session(secrets.token_hex(16), intents, (shard[0], shard[1]), connection=connection)
        self._sessions[session.id] = session
        connection.session = session
        entry["identified"] = True
        guilds = [g for g in self._guilds.values() if self._in_shard(session, g.id)]
        ready: JSON = {
            "v": 10,
            "user": self._me(),
            "user_settings": {},
            "session_type": "normal",
            "session_id": session.id,
            "resume_gateway_url": self.gateway_url,
            "relationships": [],
            "private_channels": [],
            "presences": [],
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["fake"],
            "application": {"id": str(self.application_id), "flags": self._application_flags()},
            "auth": {},
            "_trace": ['["fake-discord"]'],
        }
        if data.get("shard"):
            ready["shard"] = list(shard)
        self._dispatch_to(session, "READY", ready)
        if intents & Intent.GUILDS:
            for guild in guilds:
                self._dispatch_to(session, "GUILD_CREATE", self._guild_create(guild, intents))

    def _resume(self, connection: _Connection, entry: JSON, data: Any) -> None:
        if not isinstance(data, dict):
            self._enqueue(connection, _CloseFrame(4002, "Error while decoding payload."))
            return
        self._resumes.append(_deep(data))
        if not self._token_ok(data.get("token")):
            self._enqueue(connection, _CloseFrame(4004, "Authentication failed."))
            return
        session = self._sessions.get(str(data.get("session_id")))
        seq = data.get("seq")
        if session is None or not isinstance(seq, int) or seq > session.seq:
            self._enqueue(connection, json.dumps({"op": 9, "d": False, "s": None, "t": None}))
            return
        if session.connection is not None and session.connection is not connection:
            self._enqueue(session.connection, _CloseFrame(4000, "Session resumed elsewhere."))
        session.connection = connection
        connection.session = session
        entry["resumed"] = True
        for event_seq, text in session.log:
            if event_seq > seq:
                self._enqueue(connection, text)
        self._dispatch_to(session, "RESUMED", {"_trace": ['["fake-discord"]']})

    def _request_members(self, connection: _Connection, data: Any) -> None:
        session = connection.session
        if session is None or not isinstance(data, dict):
            return
        guild = self._guilds.get(_int_or_none(data.get("guild_id")) or 0)
        if guild is None:
            return
        wanted = {str(u) for u in data.get("user_ids") or []}
        query = str(data.get("query") or "").lower()
        if not wanted and not session.intents & Intent.GUILD_MEMBERS:
            self._enqueue(connection, _CloseFrame(4013, "Invalid intent(s)."))
            return
        members = [
            m
            for m in guild.members.values()
            if (not wanted or str(m.user_id) in wanted)
            and self._users[m.user_id].username.lower().startswith(query)
        ]
        limit = int(data.get("limit") or 0)
        if limit:
            members = members[:limit]
        chunk: JSON = {
            "guild_id": str(guild.id),
            "members": [self._member_payload(guild, m) for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": sorted(wanted - {str(m.user_id) for m in members}),
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        self._dispatch_to(session, "GUILD_MEMBERS_CHUNK", chunk)

    # -- interactions (callers hold the lock) ----------------------------------------------------------
    def _interaction_context(
        self, guild_id: int | None, channel_id: int | None, user: FakeUser
    ) -> tuple[_Guild | None, _Channel]:
        if guild_id is None:
            dm = self._dm_for(user)
            if channel_id is not None and channel_id != dm.id:
                raise ValueError(f"channel {channel_id} is not the DM channel of user {user.id}")
            return None, dm
        guild = self._guild(guild_id)
        if channel_id is None:
            raise ValueError("a guild interaction needs a channel_id")
        channel = self._channel(channel_id)
        if channel.guild_id != guild.id or channel.deleted:
            raise ValueError(f"channel {channel_id} is not a channel of guild {guild_id}")
        if user.id not in guild.members:
            guild.members[user.id] = _Member(user.id, None, None, _iso(self._wall_clock()))
        return guild, channel

    def _require_session(self) -> None:
        if not self._sessions:
            raise RuntimeError("no gateway session: connect a client before pushing interactions")

    def _find_command(self, guild: _Guild | None, root: str) -> tuple[JSON, int | None]:
        scopes: list[int | None] = [guild.id, None] if guild is not None else [None]
        for scope in scopes:
            for command in self._commands.get(scope, []):
                if command["name"] == root and command.get("type", 1) == 1:
                    return command, scope
        raise ValueError(f"no registered slash command {root!r} here (tree.sync() first?)")

    def _command_interaction(
        self,
        kind: int,
        guild_id: int | None,
        channel_id: int | None,
        user_ref: int | FakeUser,
        name: str,
        options: dict[str, Any],
        permissions: int | None,
        locale: str,
        focused: str | None,
    ) -> int:
        self._require_session()
        user = self._user(user_ref)
        guild, channel = self._interaction_context(guild_id, channel_id, user)
        parts = name.split()
        command, scope = self._find_command(guild, parts[0])
        if guild is None:
            contexts = command.get("contexts")
            if (contexts is not None and 1 not in contexts) or (
                contexts is None and command.get("dm_permission") is False
            ):
                raise ValueError(f"command {parts[0]!r} is not available in DMs")
        else:
            contexts = command.get("contexts")
            if contexts is not None and 0 not in contexts:
                raise ValueError(f"command {parts[0]!r} is not available in guilds")
            required = command.get("default_member_permissions")
            member_perms = permissions if permissions is not None else self._base_permissions(guild, user.id)
            if (
                required is not None
                and not member_perms & Permission.ADMINISTRATOR
                and int(required) & member_perms != int(required)
            ):
                raise ValueError(
                    f"user {user.id} lacks default_member_permissions {required} of {parts[0]!r}"
                )
        definitions: list[JSON] = command.get("options") or []
        nested_path: list[JSON] = []
        for part in parts[1:]:
            sub = next((o for o in definitions if o["name"] == part and o.get("type") in (1, 2)), None)
            if sub is None:
                raise ValueError(f"command {parts[0]!r} has no subcommand {part!r}")
            nested_path.append(sub)
            definitions = sub.get("options") or []
        if any(o.get("type") in (1, 2) for o in definitions):
            raise ValueError(f"{name!r} needs a subcommand")
        resolved: JSON = {}
        leaf = self._option_values(definitions, options, guild, focused, resolved, kind)
        for sub in reversed(nested_path):
            leaf = [{"name": sub["name"], "type": sub["type"], "options": leaf}]
        data: JSON = {"id": command["id"], "name": parts[0], "type": 1, "options": leaf}
        if scope is not None:
            data["guild_id"] = str(scope)
        if resolved:
            data["resolved"] = resolved
        interaction = self._new_interaction(kind, channel, user, data, permissions, locale, command_name=name)
        return interaction.id

    def _option_values(
        self,
        definitions: list[JSON],
        given: dict[str, Any],
        guild: _Guild | None,
        focused: str | None,
        resolved: JSON,
        kind: int,
    ) -> list[JSON]:
        by_name = {o["name"]: o for o in definitions}
        for key in given:
            if key not in by_name:
                raise ValueError(f"unknown option {key!r}; options: {sorted(by_name)}")
        if focused is not None and focused not in given:
            raise ValueError(f"the focused option {focused!r} needs a (partial) value")
        out: list[JSON] = []
        for definition in definitions:
            key = definition["name"]
            if key not in given:
                if definition.get("required") and kind == 2:
                    raise ValueError(f"required option {key!r} missing")
                continue
            value = given[key]
            option_type = int(definition.get("type", 3))
            entry: JSON = {"name": key, "type": option_type}
            if kind == 4:
                entry["value"] = (
                    str(value) if key == focused else self._coerce(definition, value, guild, resolved)
                )
                if key == focused:
                    entry["focused"] = True
            else:
                entry["value"] = self._coerce(definition, value, guild, resolved)
                _check_option_value(definition, entry["value"])
            out.append(entry)
        return out

    def _coerce(self, definition: JSON, value: Any, guild: _Guild | None, resolved: JSON) -> Any:
        option_type = int(definition.get("type", 3))
        if option_type == 3:
            return str(value)
        if option_type == 4:
            return int(value)
        if option_type == 10:
            return float(value)
        if option_type == 5:
            return bool(value)
        if option_type == 6:
            target = self._user(value)
            resolved.setdefault("users", {})[str(target.id)] = target.to_dict()
            if guild is not None and target.id in guild.members:
                member = self._member_payload(
                    guild, guild.members[target.id], with_permissions=self._base_permissions(guild, target.id)
                )
                del member["user"]
                resolved.setdefault("members", {})[str(target.id)] = member
            return str(target.id)
        if option_type == 7:
            target_channel = self._channel(int(value))
            payload = self._channel_payload(target_channel)
            payload["permissions"] = str(self._bot_permissions(target_channel))
            resolved.setdefault("channels", {})[str(target_channel.id)] = payload
            return str(target_channel.id)
        raise ValueError(f"option type {option_type} is not supported by the fake")

    def _new_interaction(
        self,
        kind: int,
        channel: _Channel,
        user: FakeUser,
        data: JSON,
        permissions: int | None,
        locale: str,
        *,
        message: _Message | None = None,
        command_name: str | None = None,
    ) -> _Interaction:
        self._require_session()
        iid = self._snowflake()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
        guild = self._guilds.get(channel.guild_id) if channel.guild_id is not None else None
        payload: JSON = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": kind,
            "data": data,
            "channel_id": str(channel.id),
            "channel": self._channel_payload(channel),
            "token": token,
            "version": 1,
            "locale": locale,
            "app_permissions": str(self._bot_permissions(channel)),
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if guild is not None:
            member_perms = permissions if permissions is not None else self._base_permissions(guild, user.id)
            payload.update(
                guild_id=str(guild.id),
                guild={"id": str(guild.id), "locale": guild.locale, "features": []},
                guild_locale=guild.locale,
                member=self._member_payload(guild, guild.members[user.id], with_permissions=member_perms),
                context=0,
                authorizing_integration_owners={"0": str(guild.id)},
            )
        else:
            payload.update(user=user.to_dict(), context=1, authorizing_integration_owners={"0": "0"})
        if message is not None:
            payload["message"] = _deep(message.data)
        interaction = _Interaction(
            iid,
            token,
            kind,
            self._clock(),
            channel.id,
            channel.guild_id,
            user.id,
            payload,
            command_name=command_name,
            component_message_id=None if message is None else int(message.data["id"]),
        )
        self._interactions[iid] = interaction
        self._by_token[token] = interaction
        for session in list(self._sessions.values()):
            if guild is None or self._in_shard(session, guild.id):
                self._dispatch_to(session, "INTERACTION_CREATE", payload)
        return interaction

    # -- HTTP entry point (server loop thread) ---------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._gateway(request)
        path = request.path
        with self._lock:
            upload = self._files.get(path) if request.method == "GET" else None
        if upload is not None:
            return web.Response(body=upload[0], headers={"Content-Type": upload[1]})
        if not path.startswith(API_PREFIX + "/"):
            return _response(404, {"message": "404: Not Found", "code": 0}, {})
        sub = path[len(API_PREFIX) :]
        matched = None
        path_matched = False
        for method, template, pattern, name, auth in _ROUTES:
            m = pattern.fullmatch(sub)
            if m is None:
                continue
            path_matched = True
            if method == request.method:
                matched = (method, template, name, auth, m.groupdict())
                break
        if matched is None:
            if path_matched:
                return _response(405, {"message": "405: Method Not Allowed", "code": 0}, {})
            return _response(404, {"message": "404: Not Found", "code": 0}, {})
        method, template, name, auth, params = matched
        route = f"{method} {template}"
        try:
            body, files = await _read_body(request)
        except ValueError:
            error = ApiError(400, 50109, "The request body contains invalid JSON.")
            return self._finish(request, route, sub, None, [], params, error.status, error.payload(), {})
        if auth and request.headers.get("Authorization") != f"Bot {self.token}":
            error = ApiError.unauthorized()
            return self._finish(request, route, sub, body, files, params, error.status, error.payload(), {})
        rq = _Request(method, sub, route, name, params, dict(request.query), body, files)
        with self._lock:
            failure = self._take_rule(rq)
            headers: dict[str, str] = {}
            if failure is not None:
                if failure.drop:
                    self._record(rq, 0)
                    if request.transport is not None:
                        request.transport.abort()
                    return web.Response(status=500)
                headers = self._failure_headers(rq, failure)
                return self._finish(
                    request, route, sub, body, files, params, failure.status, failure.body, headers
                )
            if name not in _NO_BUCKET:
                headers = self._count(rq, refuse=self.enforce_rate_limits, peek=False)
                if "Retry-After" in headers:
                    self.rate_limited += 1
                    retry = float(headers["X-RateLimit-Reset-After"])
                    body429 = {
                        "message": "You are being rate limited.",
                        "retry_after": retry,
                        "global": False,
                    }
                    return self._finish(request, route, sub, body, files, params, 429, body429, headers)
            implementation: Callable[[_Request], tuple[int, Any]] = getattr(self, "_r_" + name)
            try:
                status, payload = implementation(rq)
            except _Reject as exc:
                status, payload = exc.error.status, exc.error.payload()
            except Exception as exc:  # a bug in the fake: answer 503 (discord.py does not retry it), keep it
                self.internal_errors.append(exc)
                status, payload = 503, {"message": f"fake-discord internal error: {exc!r}", "code": 0}
            return self._finish(request, route, sub, body, files, params, status, payload, headers)

    def _finish(
        self,
        request: web.Request,
        route: str,
        sub: str,
        body: Any,
        files: list[_File],
        params: dict[str, str],
        status: int,
        payload: Any,
        headers: dict[str, str],
    ) -> web.Response:
        with self._lock:
            self._requests.append(
                RecordedRequest(
                    request.method,
                    sub,
                    route,
                    _deep(body),
                    dict(request.query),
                    status,
                    tuple(f.filename for f in files),
                    dict(params),
                )
            )
        return _response(status, payload, headers)

    def _record(self, rq: _Request, status: int) -> None:
        self._requests.append(
            RecordedRequest(
                rq.method,
                rq.path,
                rq.route,
                _deep(rq.body),
                dict(rq.query),
                status,
                tuple(f.filename for f in rq.files),
                dict(rq.params),
            )
        )

    def _take_rule(self, rq: _Request) -> Failure | None:
        template = rq.route.split(" ", 1)[1]
        for rule in self._rules:
            if rule.route is not None and rule.route not in (rq.route, template):
                continue
            if rule.channel_id is not None and rq.params.get("channel_id") != str(rule.channel_id):
                continue
            self._rules.remove(rule)
            return rule.failure
        return None

    def _bucket_key(self, rq: _Request) -> tuple[str, str, int, float]:
        limit, window = _BUCKET_LIMITS.get(rq.name, _DEFAULT_BUCKET)
        bucket_hash = hashlib.md5(rq.route.encode(), usedforsecurity=False).hexdigest()
        major = "+".join(
            rq.params[k]
            for k in ("channel_id", "guild_id", "application_id", "interaction_token")
            if k in rq.params and not (k == "application_id" and "interaction_token" not in rq.params)
        )
        return bucket_hash, major, limit, window / self.scale

    def _count(self, rq: _Request, *, refuse: bool, peek: bool) -> dict[str, str]:
        """Count ``rq`` in its bucket (unless ``peek``) and return the rate-limit headers; with ``refuse`` a
        request over the limit is not counted and gets 429 headers (``Retry-After`` set)."""
        bucket_hash, major, limit, window = self._bucket_key(rq)
        now = self._clock()
        bucket = self._buckets.setdefault((bucket_hash, major), _Bucket(now, 0))
        if now >= bucket.start + window:
            bucket.start, bucket.count = now, 0
        reset_after = max(bucket.start + window - now, 0.0)
        headers = {
            "X-RateLimit-Bucket": bucket_hash,
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Reset": _ms(self._wall_clock() + reset_after),
            "X-RateLimit-Reset-After": _ms(reset_after),
        }
        if peek:
            headers["X-RateLimit-Remaining"] = str(max(limit - bucket.count, 0))
            return headers
        if refuse and bucket.count >= limit:
            headers.update(
                {
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Scope": "user",
                    "Retry-After": str(max(1, math.ceil(reset_after))),
                }
            )
            return headers
        bucket.count += 1
        headers["X-RateLimit-Remaining"] = str(max(limit - bucket.count, 0))
        return headers

    def _failure_headers(self, rq: _Request, failure: Failure) -> dict[str, str]:
        if failure.status != 429 or failure.retry_after is None:
            return {} if rq.name in _NO_BUCKET else self._count(rq, refuse=False, peek=True)
        retry = failure.retry_after
        headers = {
            "Retry-After": str(max(1, math.ceil(retry))),
            "X-RateLimit-Scope": failure.scope,
        }
        if failure.is_global:
            headers["X-RateLimit-Global"] = "true"
        elif rq.name not in _NO_BUCKET:
            bucket_hash, _, limit, _ = self._bucket_key(rq)
            headers.update(
                {
                    "X-RateLimit-Bucket": bucket_hash,
                    "X-RateLimit-Limit": str(limit),
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": _ms(self._wall_clock() + retry),
                    "X-RateLimit-Reset-After": _ms(retry),
                }
            )
        return headers

    # -- REST routes (lock held) -----------------------------------------------------------------------
    def _snowflake_param(self, rq: _Request, key: str) -> int:
        raw = rq.params[key]
        if not raw.isdigit():
            errors = _FormErrors()
            errors.add((key,), "NUMBER_TYPE_COERCE", f'Value "{raw}" is not snowflake.')
            errors.raise_if_any()
        return int(raw)

    def _route_channel(self, rq: _Request) -> _Channel:
        channel = self._channels.get(self._snowflake_param(rq, "channel_id"))
        if channel is None or channel.deleted:
            raise _Reject(ApiError.unknown_channel())
        if channel.guild_id is not None and not self._bot_permissions(channel) & Permission.VIEW_CHANNEL:
            raise _Reject(ApiError.missing_access())
        return channel

    def _json_object(self, rq: _Request) -> JSON:
        if not isinstance(rq.body, dict):
            errors = _FormErrors()
            errors.add((), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            errors.raise_if_any()
        body: JSON = rq.body
        return body

    def _r_me(self, rq: _Request) -> tuple[int, Any]:
        return 200, self._me()

    def _r_get_user(self, rq: _Request) -> tuple[int, Any]:
        user = self._users.get(self._snowflake_param(rq, "user_id"))
        if user is None:
            raise _Reject(ApiError(404, 10013, "Unknown User"))
        return 200, user.to_dict()

    def _r_application(self, rq: _Request) -> tuple[int, Any]:
        return 200, {
            "id": str(self.application_id),
            "name": self.bot.global_name or self.bot.username,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "hook": True,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": hashlib.sha256(str(self.application_id).encode()).hexdigest(),
            "flags": self._application_flags(),
            "owner": self.owner.to_dict(),
            "team": None,
            "bot": self.bot.to_dict(),
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "tags": [],
            "approximate_guild_count": len(self._guilds),
            "integration_types_config": {"0": {}},
        }

    def _r_gateway(self, rq: _Request) -> tuple[int, Any]:
        return 200, {"url": self.gateway_url.rstrip("/")}

    def _r_gateway_bot(self, rq: _Request) -> tuple[int, Any]:
        return 200, {
            "url": self.gateway_url.rstrip("/"),
            "shards": 1,
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 14_400_000,
                "max_concurrency": 1,
            },
        }

    def _r_create_dm(self, rq: _Request) -> tuple[int, Any]:
        body = self._json_object(rq)
        recipient = _int_or_none(body.get("recipient_id"))
        if recipient is None or recipient not in self._users or recipient == self.bot.id:
            raise _Reject(ApiError(400, 50033, "Invalid Recipient(s)"))
        return 200, self._channel_payload(self._dm_for(self._users[recipient]))

    def _commands_scope(self, rq: _Request) -> int | None:
        if self._snowflake_param(rq, "application_id") != self.application_id:
            raise _Reject(ApiError.missing_access())
        if "guild_id" not in rq.params:
            return None
        guild_id = self._snowflake_param(rq, "guild_id")
        if guild_id not in self._guilds:
            raise _Reject(ApiError.missing_access())
        return guild_id

    def _r_get_commands(self, rq: _Request) -> tuple[int, Any]:
        return 200, _deep(self._commands.get(self._commands_scope(rq), []))

    def _r_put_commands(self, rq: _Request) -> tuple[int, Any]:
        scope = self._commands_scope(rq)
        if not isinstance(rq.body, list):
            errors = _FormErrors()
            errors.add((), "BASE_TYPE_ARRAY", "Must be an array.")
            errors.raise_if_any()
        commands: list[Any] = rq.body
        _check_commands(commands)
        stored: list[JSON] = []
        version = str(self._snowflake())
        for command in commands:
            kind = int(command.get("type", 1))
            key = (scope, kind, command["name"])
            cid = self._command_ids.setdefault(key, self._snowflake())
            entry: JSON = {
                "id": str(cid),
                "application_id": str(self.application_id),
                "version": version,
                "type": kind,
                "name": command["name"],
                "name_localizations": command.get("name_localizations"),
                "description": command.get("description", ""),
                "description_localizations": command.get("description_localizations"),
                "default_member_permissions": _str_or_none(command.get("default_member_permissions")),
                "nsfw": bool(command.get("nsfw", False)),
                "contexts": command.get("contexts"),
                "integration_types": command.get("integration_types") or [0],
            }
            if scope is not None:
                entry["guild_id"] = str(scope)
            else:
                entry["dm_permission"] = command.get("dm_permission", True)
            if command.get("options"):
                entry["options"] = _deep(command["options"])
            stored.append(entry)
        self._commands[scope] = stored
        return 200, _deep(stored)

    def _r_get_channel(self, rq: _Request) -> tuple[int, Any]:
        return 200, self._channel_payload(self._route_channel(rq))

    def _route_guild(self, rq: _Request) -> _Guild:
        guild = self._guilds.get(self._snowflake_param(rq, "guild_id"))
        if guild is None:
            raise _Reject(ApiError(404, 10004, "Unknown Guild"))
        return guild

    def _r_get_guild(self, rq: _Request) -> tuple[int, Any]:
        return 200, self._guild_payload(self._route_guild(rq))

    def _r_guild_channels(self, rq: _Request) -> tuple[int, Any]:
        guild = self._route_guild(rq)
        return 200, [self._channel_payload(self._channels[c]) for c in guild.channel_ids]

    def _r_get_member(self, rq: _Request) -> tuple[int, Any]:
        guild = self._route_guild(rq)
        member = guild.members.get(self._snowflake_param(rq, "user_id"))
        if member is None:
            raise _Reject(ApiError(404, 10007, "Unknown Member"))
        return 200, self._member_payload(guild, member)

    def _send_permissions(self, channel: _Channel) -> None:
        if channel.type == ChannelType.DM:
            if channel.recipient_id in self._dm_blocked:
                raise _Reject(ApiError(403, 50007, "Cannot send messages to this user"))
            return
        needed = Permission.SEND_MESSAGES_IN_THREADS if channel.is_thread else Permission.SEND_MESSAGES
        self._require(channel, int(needed))
        if (
            channel.is_thread
            and channel.locked
            and not self._bot_permissions(channel) & Permission.MANAGE_THREADS
        ):
            if channel.archived:
                raise _Reject(ApiError(400, 50083, "Thread is archived"))
            raise _Reject(ApiError(400, 160005, "Thread is locked"))

    def _r_typing(self, rq: _Request) -> tuple[int, Any]:
        self._send_permissions(self._route_channel(rq))
        return 204, None

    def _r_create_message(self, rq: _Request) -> tuple[int, Any]:
        channel = self._route_channel(rq)
        if channel.type == ChannelType.GUILD_FORUM:
            raise _Reject(ApiError(400, 40058, "Cannot send messages in a forum channel"))
        self._send_permissions(channel)
        body = self._json_object(rq)
        self._check_message(body, files=len(rq.files), create=True)
        self._check_send_extras(channel, body, rq.files)
        message = self._store_message(
            channel,
            self.bot,
            body,
            allowed_mentions=body.get("allowed_mentions"),
            source="channel",
            files=rq.files,
        )
        if channel.archived:  # a message unarchives the thread (a locked one was refused above)
            channel.archived = False
            if channel.guild_id is not None:
                payload = self._channel_payload(channel)
                self._dispatch_guild_event(channel.guild_id, "THREAD_UPDATE", payload, Intent.GUILDS)
        return 200, _deep(message.data)

    def _check_send_extras(self, channel: _Channel, body: JSON, files: list[_File]) -> None:
        """Permissions that depend on the payload, and the reply target."""
        if channel.guild_id is not None:
            if body.get("embeds") and not self._bot_permissions(channel) & Permission.EMBED_LINKS:
                raise _Reject(ApiError.missing_permissions())
            if files and not self._bot_permissions(channel) & Permission.ATTACH_FILES:
                raise _Reject(ApiError.missing_permissions())
        if any(len(f.data) > ATTACHMENT_SIZE_LIMIT for f in files):
            raise _Reject(ApiError(413, 40005, "Request entity too large"))
        reference = body.get("message_reference")
        if isinstance(reference, dict) and reference.get("message_id") is not None:
            if (
                channel.guild_id is not None
                and not self._bot_permissions(channel) & Permission.READ_MESSAGE_HISTORY
            ):
                raise _Reject(
                    ApiError(400, 160002, "Cannot reply without permission to read message history")
                )
            target_channel = self._channels.get(_int_or_none(reference.get("channel_id")) or channel.id)
            exists = (
                target_channel is not None
                and (_int_or_none(reference.get("message_id")) or 0) in target_channel.messages
            )
            if not exists and reference.get("fail_if_not_exists", True):
                errors = _FormErrors()
                errors.add(("message_reference",), "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")
                errors.raise_if_any()

    def _route_message(self, rq: _Request, channel: _Channel) -> _Message:
        message = channel.messages.get(self._snowflake_param(rq, "message_id"))
        if message is None or message.ephemeral:
            raise _Reject(ApiError.unknown_message())
        return message

    def _r_get_message(self, rq: _Request) -> tuple[int, Any]:
        channel = self._route_channel(rq)
        if (
            channel.guild_id is not None
            and not self._bot_permissions(channel) & Permission.READ_MESSAGE_HISTORY
        ):
            raise _Reject(ApiError.missing_access())
        message = self._route_message(rq, channel)
        return 200, self._public_for(message, channel, intents=None)

    def _r_history(self, rq: _Request) -> tuple[int, Any]:
        channel = self._route_channel(rq)
        if (
            channel.guild_id is not None
            and not self._bot_permissions(channel) & Permission.READ_MESSAGE_HISTORY
        ):
            return 200, []
        try:
            limit = int(rq.query.get("limit", "50"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= 100:
            errors = _FormErrors()
            errors.add(("limit",), "NUMBER_TYPE_MAX", "int value should be less than or equal to 100.")
            errors.raise_if_any()
        ids = sorted(i for i, m in channel.messages.items() if not m.ephemeral)
        before, after = _int_or_none(rq.query.get("before")), _int_or_none(rq.query.get("after"))
        if before is not None:
            ids = [i for i in ids if i < before]
        if after is not None:
            ids = [i for i in ids if i > after][:limit]
        selected = list(reversed(ids))[:limit]
        return 200, [self._public_for(channel.messages[i], channel, intents=None) for i in selected]

    def _r_edit_message(self, rq: _Request) -> tuple[int, Any]:
        channel = self._route_channel(rq)
        message = self._route_message(rq, channel)
        if message.author_id != self.bot.id:
            raise _Reject(ApiError(403, 50005, "Cannot edit a message authored by another user"))
        body = self._json_object(rq)
        embeds_denied = not self._bot_permissions(channel) & Permission.EMBED_LINKS
        if channel.guild_id is not None and body.get("embeds") and embeds_denied:
            raise _Reject(ApiError.missing_permissions())
        self._apply_edit(channel, message, body, files=len(rq.files), path=())
        if rq.files:
            message.data["attachments"] += self._attachments(channel, rq.files)
        self._dispatch_message("MESSAGE_UPDATE", channel, message)
        return 200, _deep(message.data)

    def _r_delete_message(self, rq: _Request) -> tuple[int, Any]:
        channel = self._route_channel(rq)
        message = self._route_message(rq, channel)
        if (
            message.author_id != self.bot.id
            and not self._bot_permissions(channel) & Permission.MANAGE_MESSAGES
        ):
            raise _Reject(ApiError.missing_permissions())
        self._delete(channel, message)
        return 204, None

    def _delete(self, channel: _Channel, message: _Message) -> None:
        mid = int(message.data["id"])
        del channel.messages[mid]
        channel.order.remove(mid)
        payload: JSON = {"id": str(mid), "channel_id": str(channel.id)}
        if channel.guild_id is not None:
            payload["guild_id"] = str(channel.guild_id)
            self._dispatch_guild_event(channel.guild_id, "MESSAGE_DELETE", payload, Intent.GUILD_MESSAGES)

    def _thread_name(self, body: JSON) -> str:
        name = body.get("name")
        errors = _FormErrors()
        if name is None:
            errors.add(("name",), "BASE_TYPE_REQUIRED", "This field is required")
        elif not isinstance(name, str) or not 1 <= len(name) <= 100:
            errors.add(("name",), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        duration = body.get("auto_archive_duration")
        if duration is not None and duration not in _ARCHIVE_DURATIONS:
            errors.add(
                ("auto_archive_duration",),
                "BASE_TYPE_CHOICES",
                f"Value must be one of {set(_ARCHIVE_DURATIONS)}.",
            )
        errors.raise_if_any()
        return str(name)

    def _new_thread(self, parent: _Channel, body: JSON, thread_id: int, kind: int) -> _Channel:
        thread = _Channel(
            thread_id,
            kind,
            parent.guild_id,
            self._thread_name(body),
            parent_id=parent.id,
            owner_id=self.bot.id,
            auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
            rate_limit_per_user=int(body.get("rate_limit_per_user") or 0),
            created_at=_iso(self._wall_clock()),
            applied_tags=[str(t) for t in body.get("applied_tags") or []],
            invitable=bool(body.get("invitable", True)),
        )
        self._channels[thread_id] = thread
        return thread

    def _announce_thread(self, thread: _Channel) -> None:
        payload = {**self._channel_payload(thread), "newly_created": True}
        self._dispatch_guild_event(thread.guild_id, "THREAD_CREATE", payload, Intent.GUILDS)

    def _r_thread_from_message(self, rq: _Request) -> tuple[int, Any]:
        channel = self._route_channel(rq)
        if channel.type not in (ChannelType.GUILD_TEXT, ChannelType.GUILD_ANNOUNCEMENT):
            raise _Reject(ApiError(400, 50024, "Cannot execute action on this channel type"))
        message = self._route_message(rq, channel)
        self._require(channel, int(Permission.CREATE_PUBLIC_THREADS))
        if message.data.get("thread") is not None or int(message.data["id"]) in self._channels:
            raise _Reject(ApiError(400, 160004, "A thread has already been created for this message"))
        body = self._json_object(rq)
        thread = self._new_thread(channel, body, int(message.data["id"]), ChannelType.PUBLIC_THREAD)
        message.data["thread"] = self._channel_payload(thread)
        self._announce_thread(thread)
        return 201, self._channel_payload(thread)

    def _r_create_thread(self, rq: _Request) -> tuple[int, Any]:
        channel = self._route_channel(rq)
        body = self._json_object(rq)
        if channel.type == ChannelType.GUILD_FORUM:
            return self._forum_post(channel, body, rq.files)
        if channel.type not in (ChannelType.GUILD_TEXT, ChannelType.GUILD_ANNOUNCEMENT):
            raise _Reject(ApiError(400, 50024, "Cannot execute action on this channel type"))
        kind = int(body.get("type") or ChannelType.PRIVATE_THREAD)
        if kind not in _THREAD_TYPES:
            errors = _FormErrors()
            errors.add(("type",), "BASE_TYPE_CHOICES", "Value must be one of {11, 12}.")
            errors.raise_if_any()
        needed = (
            Permission.CREATE_PUBLIC_THREADS
            if kind == ChannelType.PUBLIC_THREAD
            else Permission.CREATE_PRIVATE_THREADS
        )
        self._require(channel, int(needed))
        thread = self._new_thread(channel, body, self._snowflake(), kind)
        self._announce_thread(thread)
        return 201, self._channel_payload(thread)

    def _forum_post(self, forum: _Channel, body: JSON, files: list[_File]) -> tuple[int, Any]:
        self._require(forum, int(Permission.SEND_MESSAGES))
        self._thread_name(body)
        message_body = body.get("message")
        if not isinstance(message_body, dict):
            errors = _FormErrors()
            errors.add(("message",), "BASE_TYPE_REQUIRED", "This field is required")
            errors.raise_if_any()
        assert isinstance(message_body, dict)
        self._check_message(message_body, files=len(files), create=True, path=("message",))
        if message_body.get("embeds") and not self._bot_permissions(forum) & Permission.EMBED_LINKS:
            raise _Reject(ApiError.missing_permissions())
        thread = self._new_thread(forum, body, self._snowflake(), ChannelType.PUBLIC_THREAD)
        self._announce_thread(thread)
        message = self._store_message(
            thread,
            self.bot,
            message_body,
            allowed_mentions=message_body.get("allowed_mentions"),
            source="channel",
            files=files,
            message_id=thread.id,
        )
        return 201, {**self._channel_payload(thread), "message": _deep(message.data)}

    # -- interaction routes ----------------------------------------------------------------------------
    def _r_callback(self, rq: _Request) -> tuple[int, Any]:
        interaction = self._interactions.get(_int_or_none(rq.params["interaction_id"]) or 0)
        if interaction is None or interaction.token != rq.params["interaction_token"]:
            raise _Reject(ApiError.unknown_interaction())
        if interaction.callback is not None:
            raise _Reject(ApiError(400, 40060, "Interaction has already been acknowledged."))
        if self._clock() - interaction.created > self.interaction_deadline:
            raise _Reject(ApiError.unknown_interaction())
        body = self._json_object(rq)
        kind = body.get("type")
        allowed = {2: (4, 5, 9), 3: (4, 5, 6, 7, 9), 4: (8,), 5: (4, 5, 6, 7)}[interaction.type]
        if kind not in allowed:
            errors = _FormErrors()
            errors.add(("type",), "BASE_TYPE_CHOICES", f"Value must be one of {set(allowed)}.")
            errors.raise_if_any()
        data = body.get("data") or {}
        if not isinstance(data, dict):
            errors = _FormErrors()
            errors.add(("data",), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            errors.raise_if_any()
        channel = self._channels[interaction.channel_id]
        resource: JSON = {"type": kind}
        response: JSON = {"id": str(interaction.id), "type": interaction.type}
        if kind == 4:
            self._check_message(data, files=len(rq.files), create=True, path=("data",), interaction=True)
            ephemeral = bool(int(data.get("flags") or 0) & _MESSAGE_FLAG_EPHEMERAL)
            message = self._store_message(
                channel,
                self.bot,
                data,
                allowed_mentions=data.get("allowed_mentions"),
                source="interaction",
                files=rq.files,
                message_type=20 if interaction.type == 2 else 0,
                interaction=interaction,
                ephemeral=ephemeral,
            )
            interaction.original_message_id = int(message.data["id"])
            resource["message"] = _deep(message.data)
            response.update(
                response_message_id=message.data["id"],
                response_message_loading=False,
                response_message_ephemeral=ephemeral,
            )
        elif kind == 5:
            ephemeral = bool(int(data.get("flags") or 0) & _MESSAGE_FLAG_EPHEMERAL)
            message = self._store_message(
                channel,
                self.bot,
                {},
                allowed_mentions=None,
                source="interaction",
                message_type=20 if interaction.type == 2 else 0,
                interaction=interaction,
                ephemeral=ephemeral,
                loading=True,
            )
            interaction.original_message_id = int(message.data["id"])
            interaction.original_loading = True
            response.update(
                response_message_id=message.data["id"],
                response_message_loading=True,
                response_message_ephemeral=ephemeral,
            )
        elif kind in (6, 7):
            target = self._component_message(interaction)
            if kind == 7 and target is not None:
                self._apply_edit(channel, target, data, files=len(rq.files), path=("data",))
                resource["message"] = _deep(target.data)
                self._dispatch_message("MESSAGE_UPDATE", channel, target)
            if target is not None:
                response["response_message_id"] = target.data["id"]
        elif kind == 8:
            _check_choices(data)
        interaction.callback = {"type": kind, "data": _deep(data)}
        if rq.query.get("with_response") in ("1", "true", "True"):
            return 200, {"interaction": response, "resource": resource}
        return 204, None

    def _component_message(self, interaction: _Interaction) -> _Message | None:
        if interaction.component_message_id is None:
            return None
        return self._channels[interaction.channel_id].messages.get(interaction.component_message_id)

    def _hook_interaction(self, rq: _Request) -> _Interaction:
        if self._snowflake_param(rq, "application_id") != self.application_id:
            raise _Reject(ApiError.unknown_webhook())
        interaction = self._by_token.get(rq.params["interaction_token"])
        if interaction is None or self._clock() - interaction.created > self.token_lifetime:
            raise _Reject(ApiError(401, 50027, "Invalid Webhook Token"))
        if interaction.callback is None:
            raise _Reject(ApiError.unknown_webhook())
        return interaction

    def _hook_message(self, rq: _Request, interaction: _Interaction) -> tuple[_Channel, _Message]:
        channel = self._channels[interaction.channel_id]
        key = rq.params["message_id"]
        if key == "@original":
            mid = interaction.original_message_id or interaction.component_message_id
        else:
            mid = _int_or_none(key)
            if (
                mid is not None
                and mid not in interaction.followup_ids
                and mid != interaction.original_message_id
            ):
                mid = None
        message = None if mid is None else channel.messages.get(mid)
        if message is None:
            raise _Reject(ApiError.unknown_message())
        return channel, message

    def _r_followup(self, rq: _Request) -> tuple[int, Any]:
        interaction = self._hook_interaction(rq)
        channel = self._channels[interaction.channel_id]
        body = self._json_object(rq)
        if interaction.original_loading and interaction.original_message_id is not None:
            # Directly after a deferred response, a follow-up edits the "thinking" message.
            original = channel.messages[interaction.original_message_id]
            self._fill_deferred(interaction, channel, original, body, rq.files)
            interaction.followup_ids.append(interaction.original_message_id)
            message = original
        else:
            self._check_message(body, files=len(rq.files), create=True, interaction=True)
            ephemeral = bool(int(body.get("flags") or 0) & _MESSAGE_FLAG_EPHEMERAL)
            message = self._store_message(
                channel,
                self.bot,
                body,
                allowed_mentions=body.get("allowed_mentions"),
                source="followup",
                files=rq.files,
                interaction=interaction,
                ephemeral=ephemeral,
            )
            interaction.followup_ids.append(int(message.data["id"]))
        if rq.query.get("wait") in ("1", "true", "True"):
            return 200, _deep(message.data)
        return 204, None

    def _fill_deferred(
        self, interaction: _Interaction, channel: _Channel, message: _Message, body: JSON, files: list[_File]
    ) -> None:
        self._check_message(body, files=len(files), create=True, interaction=True)
        message.data["content"] = body.get("content") or ""
        message.data["embeds"] = [_normalize_embed(e) for e in body.get("embeds") or []]
        message.data["components"] = _deep(body.get("components") or [])
        message.data["attachments"] = self._attachments(channel, files)
        message.data["flags"] = int(message.data["flags"]) & ~_MESSAGE_FLAG_LOADING
        message.allowed_mentions = _deep(body.get("allowed_mentions"))
        interaction.original_loading = False
        self._mentions(channel, message, body, None, "interaction")
        if not message.ephemeral:
            self._dispatch_message("MESSAGE_UPDATE", channel, message)

    def _r_get_hook_message(self, rq: _Request) -> tuple[int, Any]:
        _, message = self._hook_message(rq, self._hook_interaction(rq))
        return 200, _deep(message.data)

    def _r_edit_hook_message(self, rq: _Request) -> tuple[int, Any]:
        interaction = self._hook_interaction(rq)
        channel, message = self._hook_message(rq, interaction)
        body = self._json_object(rq)
        is_original = int(message.data["id"]) == interaction.original_message_id
        if is_original and interaction.original_loading:
            merged = {k: message.data.get(k) for k in ("content", "embeds", "components")}
            merged.update({k: v for k, v in body.items() if v is not None})
            self._fill_deferred(interaction, channel, message, merged, rq.files)
        else:
            self._apply_edit(channel, message, body, files=len(rq.files), path=())
            if rq.files:
                message.data["attachments"] += self._attachments(channel, rq.files)
            if not message.ephemeral:
                self._dispatch_message("MESSAGE_UPDATE", channel, message)
        return 200, _deep(message.data)

    def _r_delete_hook_message(self, rq: _Request) -> tuple[int, Any]:
        interaction = self._hook_interaction(rq)
        channel, message = self._hook_message(rq, interaction)
        self._delete(channel, message)
        return 204, None


# -- validation helpers -------------------------------------------------------------------------------------


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _is_empty(body: JSON, files: int) -> bool:
    content = body.get("content")
    has_content = isinstance(content, str) and content.strip() != ""
    return not (
        has_content
        or body.get("embeds")
        or body.get("components")
        or files
        or body.get("sticker_ids")
        or body.get("poll")
        or body.get("attachments")
    )


def _check_url(value: Any, errors: _FormErrors, path: tuple[str | int, ...], *, images: bool = False) -> None:
    if value is None:
        return
    text = str(value)
    schemes = ("http://", "https://", "attachment://") if images else ("http://", "https://")
    if not text.startswith(schemes) or len(text) > 2048:
        errors.add(path, "URL_TYPE_INVALID_URL", "Not a well formed URL.")


def _check_embed(embed: Any, errors: _FormErrors, path: tuple[str | int, ...]) -> int:
    """Validate one embed; returns its size in the 6000-character total."""
    if not isinstance(embed, dict):
        errors.add(path, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
        return 0
    size = 0

    def text(value: Any, limit: int, where: tuple[str | int, ...]) -> int:
        if value is None:
            return 0
        string = str(value)
        if len(string) > limit:
            errors.add(where, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")
        return len(string)

    size += text(embed.get("title"), 256, (*path, "title"))
    size += text(embed.get("description"), 4096, (*path, "description"))
    fields = embed.get("fields") or []
    if len(fields) > 25:
        errors.add((*path, "fields"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    for index, item in enumerate(fields):
        where = (*path, "fields", index)
        if not isinstance(item, dict):
            errors.add(where, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
            continue
        for key, limit in (("name", 256), ("value", 1024)):
            value = item.get(key)
            if value is None or str(value) == "":
                errors.add((*where, key), "BASE_TYPE_REQUIRED", "This field is required")
            else:
                size += text(value, limit, (*where, key))
    footer = embed.get("footer")
    if isinstance(footer, dict):
        size += text(footer.get("text"), 2048, (*path, "footer", "text"))
        _check_url(footer.get("icon_url"), errors, (*path, "footer", "icon_url"), images=True)
    author = embed.get("author")
    if isinstance(author, dict):
        size += text(author.get("name"), 256, (*path, "author", "name"))
        _check_url(author.get("url"), errors, (*path, "author", "url"))
        _check_url(author.get("icon_url"), errors, (*path, "author", "icon_url"), images=True)
    _check_url(embed.get("url"), errors, (*path, "url"))
    for key in ("image", "thumbnail"):
        media = embed.get(key)
        if isinstance(media, dict):
            _check_url(media.get("url"), errors, (*path, key, "url"), images=True)
    color = embed.get("color")
    if color is not None and (not isinstance(color, int) or not 0 <= color <= 0xFFFFFF):
        errors.add((*path, "color"), "NUMBER_TYPE_MAX", "int value should be less than or equal to 16777215.")
    return size


def _normalize_embed(embed: Any) -> JSON:
    data: JSON = _deep(embed) if isinstance(embed, dict) else {}
    data.setdefault("type", "rich")
    if "fields" in data:
        data["fields"] = [{"inline": False, **f} for f in data["fields"]]
    return data


def _check_components(components: Any, errors: _FormErrors, path: tuple[str | int, ...]) -> None:
    if not isinstance(components, list):
        errors.add(path, "BASE_TYPE_ARRAY", "Must be an array.")
        return
    if len(components) > 5:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
    seen: set[str] = set()
    for row_index, row in enumerate(components):
        row_path = (*path, row_index)
        if not isinstance(row, dict) or row.get("type") != 1:
            errors.add((*row_path, "type"), "BASE_TYPE_CHOICES", "Value must be one of {1}.")
            continue
        children = row.get("components") or []
        if not 1 <= len(children) <= 5:
            errors.add(
                (*row_path, "components"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length."
            )
        for index, child in enumerate(children):
            child_path = (*row_path, "components", index)
            if not isinstance(child, dict):
                errors.add(child_path, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
                continue
            kind = child.get("type")
            custom_id = child.get("custom_id")
            if kind == 2 and child.get("style") == 5:
                if not child.get("url"):
                    errors.add((*child_path, "url"), "BASE_TYPE_REQUIRED", "This field is required")
            elif kind == 2 and child.get("style") == 6:
                pass  # premium button: sku_id
            elif custom_id is None:
                errors.add((*child_path, "custom_id"), "BASE_TYPE_REQUIRED", "This field is required")
            if custom_id is not None:
                if not 1 <= len(str(custom_id)) <= 100:
                    errors.add(
                        (*child_path, "custom_id"),
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 100 in length.",
                    )
                elif str(custom_id) in seen:
                    errors.add(
                        (*child_path, "custom_id"),
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        "Component custom id cannot be duplicated",
                    )
                seen.add(str(custom_id))
            label = child.get("label")
            if label is not None and len(str(label)) > 80:
                errors.add((*child_path, "label"), "BASE_TYPE_MAX_LENGTH", "Must be 80 or fewer in length.")
            if kind == 3:
                options = child.get("options") or []
                if not 1 <= len(options) <= 25:
                    errors.add(
                        (*child_path, "options"),
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 25 in length.",
                    )


def _find_component(components: list[Any], custom_id: str) -> JSON | None:
    for component in components:
        if not isinstance(component, dict):
            continue
        if component.get("custom_id") == custom_id:
            return component
        found = _find_component(component.get("components") or [], custom_id)
        if found is None and isinstance(component.get("accessory"), dict):
            found = _find_component([component["accessory"]], custom_id)
        if found is not None:
            return found
    return None


def _check_allowed_mentions(allowed: Any, errors: _FormErrors, path: tuple[str | int, ...]) -> None:
    if allowed is None:
        return
    if not isinstance(allowed, dict):
        errors.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
        return
    parse = allowed.get("parse") or []
    for index, value in enumerate(parse):
        if value not in ("roles", "users", "everyone"):
            errors.add(
                (*path, "parse", index),
                "BASE_TYPE_CHOICES",
                "Value must be one of ('roles', 'users', 'everyone').",
            )
    for kind in ("users", "roles"):
        listed = allowed.get(kind) or []
        if kind in parse and listed:
            ids = ", ".join(str(x) for x in listed)
            errors.add(
                path,
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{kind}"] and {kind}: [{ids}] are mutually exclusive.',
            )
        if len(listed) > 100:
            errors.add((*path, kind), "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")


def _check_choices(data: JSON) -> None:
    errors = _FormErrors()
    choices = data.get("choices")
    if not isinstance(choices, list):
        errors.add(("data", "choices"), "BASE_TYPE_REQUIRED", "This field is required")
        errors.raise_if_any()
        return
    if len(choices) > 25:
        errors.add(("data", "choices"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    for index, choice in enumerate(choices):
        name = choice.get("name") if isinstance(choice, dict) else None
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            errors.add(
                ("data", "choices", index, "name"),
                "BASE_TYPE_BAD_LENGTH",
                "Must be between 1 and 100 in length.",
            )
        value = choice.get("value") if isinstance(choice, dict) else None
        if isinstance(value, str) and len(value) > 100:
            errors.add(
                ("data", "choices", index, "value"), "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length."
            )
    errors.raise_if_any()


def _check_name(name: Any, errors: _FormErrors, path: tuple[str | int, ...], *, chat_input: bool) -> None:
    if not isinstance(name, str) or not name:
        errors.add(path, "BASE_TYPE_REQUIRED", "This field is required")
        return
    valid = bool(_NAME_CHARS.match(name)) and name == name.lower() if chat_input else 1 <= len(name) <= 32
    if not valid:
        errors.add(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")


def _check_description(value: Any, errors: _FormErrors, path: tuple[str | int, ...]) -> None:
    if value is None:
        errors.add(path, "BASE_TYPE_REQUIRED", "This field is required")
    elif not isinstance(value, str) or not 1 <= len(value) <= 100:
        errors.add(path, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")


def _check_localizations(value: Any, errors: _FormErrors, path: tuple[str | int, ...], limit: int) -> None:
    if not isinstance(value, dict):
        return
    for locale, text in value.items():
        if not isinstance(text, str) or not 1 <= len(text) <= limit:
            errors.add((*path, locale), "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {limit} in length.")


def _option_size(option: JSON) -> int:
    size = len(str(option.get("name", ""))) + len(str(option.get("description", "")))
    for choice in option.get("choices") or []:
        size += len(str(choice.get("name", ""))) + len(str(choice.get("value", "")))
    return size + sum(_option_size(o) for o in option.get("options") or [])


def _check_options(options: Any, errors: _FormErrors, path: tuple[str | int, ...], depth: int) -> None:
    if options is None:
        return
    if not isinstance(options, list):
        errors.add(path, "BASE_TYPE_ARRAY", "Must be an array.")
        return
    if len(options) > 25:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    names: set[str] = set()
    optional_seen = False
    for index, option in enumerate(options):
        where = (*path, index)
        if not isinstance(option, dict):
            errors.add(where, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
            continue
        kind = option.get("type")
        if not isinstance(kind, int) or not 1 <= kind <= 11:
            errors.add((*where, "type"), "BASE_TYPE_CHOICES", "Value must be one of {1, ..., 11}.")
            continue
        _check_name(option.get("name"), errors, (*where, "name"), chat_input=True)
        _check_description(option.get("description"), errors, (*where, "description"))
        _check_localizations(option.get("name_localizations"), errors, (*where, "name_localizations"), 32)
        _check_localizations(
            option.get("description_localizations"), errors, (*where, "description_localizations"), 100
        )
        name = str(option.get("name"))
        if name in names:
            errors.add(
                (*where, "name"),
                "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                "Option names must be unique",
            )
        names.add(name)
        if kind in (1, 2):
            if depth >= 2 or (kind == 2 and depth >= 1):
                errors.add(
                    (*where, "type"), "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", "Invalid option type"
                )
            _check_options(option.get("options"), errors, (*where, "options"), depth + 1)
            continue
        if option.get("required"):
            if optional_seen:
                errors.add(
                    (*where, "required"),
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            optional_seen = True
        choices = option.get("choices")
        if choices:
            if option.get("autocomplete"):
                errors.add(
                    (*where, "autocomplete"),
                    "APPLICATION_COMMAND_OPTIONS_AUTOCOMPLETE_INVALID",
                    "Autocomplete cannot be set with choices",
                )
            if len(choices) > 25:
                errors.add((*where, "choices"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
            for choice_index, choice in enumerate(choices):
                choice_name = choice.get("name") if isinstance(choice, dict) else None
                if not isinstance(choice_name, str) or not 1 <= len(choice_name) <= 100:
                    errors.add(
                        (*where, "choices", choice_index, "name"),
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 100 in length.",
                    )
                value = choice.get("value") if isinstance(choice, dict) else None
                if kind == 3 and (not isinstance(value, str) or len(value) > 100):
                    errors.add(
                        (*where, "choices", choice_index, "value"),
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 100 in length.",
                    )


def _check_commands(commands: list[Any]) -> None:
    """Validate a bulk overwrite as Discord does (400 50035 / 30032)."""
    errors = _FormErrors()
    seen: set[tuple[int, str]] = set()
    counts: dict[int, int] = {}
    for index, command in enumerate(commands):
        if not isinstance(command, dict):
            errors.add((index,), "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
            continue
        kind = command.get("type", 1)
        if kind not in (1, 2, 3, 4):
            errors.add((index, "type"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4}.")
            continue
        counts[kind] = counts.get(kind, 0) + 1
        _check_name(command.get("name"), errors, (index, "name"), chat_input=kind == 1)
        _check_localizations(command.get("name_localizations"), errors, (index, "name_localizations"), 32)
        if kind == 1:
            _check_description(command.get("description"), errors, (index, "description"))
            _check_localizations(
                command.get("description_localizations"), errors, (index, "description_localizations"), 100
            )
            _check_options(command.get("options"), errors, (index, "options"), 0)
            if _option_size(command) > 4000:
                errors.add((index,), "APPLICATION_COMMAND_TOO_LARGE", "Command exceeds maximum size (4000)")
        elif command.get("description"):
            errors.add(
                (index, "description"), "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION", "Must be empty."
            )
        key = (kind, str(command.get("name")))
        if key in seen:
            errors.add(
                (index, "name"),
                "APPLICATION_COMMANDS_DUPLICATE_NAME",
                "Application command names must be unique",
            )
        seen.add(key)
        contexts = command.get("contexts")
        if contexts is not None and (
            not isinstance(contexts, list) or any(c not in (0, 1, 2) for c in contexts)
        ):
            errors.add((index, "contexts"), "BASE_TYPE_CHOICES", "Value must be one of {0, 1, 2}.")
    errors.raise_if_any()
    if counts.get(1, 0) > 100 or counts.get(2, 0) > 15 or counts.get(3, 0) > 15:
        raise _Reject(ApiError(400, 30032, "Maximum number of application commands reached (100)"))


def _check_option_value(definition: JSON, value: Any) -> None:
    """What the Discord client enforces before sending a command (choices, bounds, lengths)."""
    name = definition["name"]
    choices = definition.get("choices")
    if choices and value not in [c.get("value") for c in choices]:
        raise ValueError(f"option {name!r}: {value!r} is not one of its choices")
    if isinstance(value, int | float) and not isinstance(value, bool):
        low, high = definition.get("min_value"), definition.get("max_value")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"option {name!r}: {value!r} outside [{low}, {high}]")
    if isinstance(value, str) and definition.get("type", 3) == 3:
        low_len, high_len = definition.get("min_length"), definition.get("max_length")
        if (low_len is not None and len(value) < low_len) or (high_len is not None and len(value) > high_len):
            raise ValueError(f"option {name!r}: length of {value!r} outside [{low_len}, {high_len}]")


# -- HTTP helpers -------------------------------------------------------------------------------------------


async def _read_body(request: web.Request) -> tuple[Any, list[_File]]:
    """The JSON body (``payload_json`` of a multipart body) and uploaded files; ValueError on bad JSON."""
    if request.content_type.startswith("multipart/"):
        form = await request.post()
        payload: Any = None
        files: list[_File] = []
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files.append(_File(key, value.filename, value.file.read(), value.content_type))
            elif key == "payload_json":
                payload = json.loads(value if isinstance(value, str) else bytes(value).decode())
        return payload, files
    raw = await request.read()
    if not raw:
        return None, []
    return json.loads(raw), []


def _response(status: int, payload: Any, headers: Mapping[str, str]) -> web.Response:
    base = {"Via": "1.1 google", **headers}
    if payload is None:
        return web.Response(status=status, headers=base)
    body = json.dumps(payload, ensure_ascii=False).encode()
    # Exactly "application/json": discord.py's json_or_text compares the header verbatim.
    return web.Response(status=status, body=body, headers={**base, "Content-Type": "application/json"})
