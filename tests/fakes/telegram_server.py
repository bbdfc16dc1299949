"""A fake Telegram Bot API on 127.0.0.1, for pointing the real python-telegram-bot at.

Use::

    with FakeTelegram(token="123456:TEST") as fake:
        async with telegram.Bot("123456:TEST", base_url=fake.base_url) as bot:
            await bot.send_message(chat_id=42, text="<b>hi</b>", parse_mode="HTML")
        assert fake.sent(42)[0]["text"] == "hi"

Wire protocol (what PTB 22 sends and expects): ``POST /bot<TOKEN>/<method>`` with form-encoded or multipart
parameters, non-string values JSON-encoded (``reply_markup``, ``reply_parameters``,
``link_preview_options``, ``allowed_updates``, ``commands``, ``scope``); a JSON body and GET query strings are
accepted too. Every answer is ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N,
"description": "...", "parameters": {...}}`` with the same HTTP status. A token other than the configured
one gets 401 "Unauthorized"; an unknown method 404 "Not Found".
Method names are case-insensitive, as on Telegram.

Methods: getMe, getUpdates (long polling: ``offset`` confirms every update below it, ``timeout`` blocks until
an update is queued, capped at ``max_long_poll`` seconds; ``allowed_updates`` is remembered between calls like
Telegram does, and updates of other types are dropped when met), deleteWebhook, getWebhookInfo,
setMyCommands / getMyCommands / deleteMyCommands (stored per ``scope`` and ``language_code``), sendMessage,
editMessageText, editMessageReplyMarkup, answerCallbackQuery, getChat, getChatMember, getChatAdministrators,
createForumTopic.

Messages are stored per chat with message ids increasing per chat (user and bot messages share the
sequence). ``sendMessage`` validates like Telegram: ``parse_mode=HTML`` is parsed with Telegram's tag set
(b strong i em u ins s strike del, span class="tg-spoiler", tg-spoiler, a href, code, pre, blockquote
[expandable], tg-emoji emoji-id) into plain text + entities; unknown, unclosed or mis-nested tags get 400
"Bad Request: can't parse entities: ..." with Telegram's wording. The text is stripped of surrounding
whitespace and must be 1..4096 UTF-16 code units after parsing ("message text is empty" / "message is too
long"). One deliberate strictness: ``&`` not starting ``&lt; &gt; &amp; &quot; &#N; &#xH;`` is rejected
(``strict_entities=True``); Telegram itself documents that it must be escaped but tolerates it. Replies fill
``reply_to_message`` (from ``reply_parameters`` or the legacy ``reply_to_message_id``; a missing target gets
"message to be replied not found" unless ``allow_sending_without_reply``). ``message_thread_id`` is honoured
in forum chats (an unknown topic gets "message thread not found") and ignored elsewhere. ``parse_mode=
MarkdownV2``/``Markdown`` is accepted but not parsed (text stored as given, no entities).

Failures:

* scripted, a FIFO queue: ``inject(ApiError.retry_after(3), chat_id=42)``; a rule matches by ``method`` and/or
  ``chat_id`` and is served once per ``times``. A rule without ``method`` matches every method except
  getUpdates (polling would otherwise steal it at random); name "getUpdates" to script polling failures.
* persistent chat states: ``block_chat(chat_id)`` (403 blocked / kicked), ``migrate_chat(old, new)`` (400
  with ``migrate_to_chat_id``); with ``strict_chats=True`` unknown chats get 400 "chat not found" (by default
  they are created on first use, private for positive ids, group/supergroup for negative ones).
* flood limits (``enforce_rate_limits=True``): about 30 messages/s overall, 1/s per private chat, 20/min per
  group or channel, every limit ``scale`` times faster; a send over a limit gets 429 with
  ``parameters.retry_after`` = seconds until it would pass (an integer as on Telegram when ``scale == 1``,
  else fractional, rounded up to the millisecond); ``rate_limited`` counts these 429s.

Test helpers: ``queue_message``, ``queue_callback_query``, ``set_member``, ``make_forum``, ``add_chat``,
``add_user``, ``sent``, ``messages``, ``calls``, ``answered_callbacks``, ``commands``, ``wait_for``.
State is guarded by one lock; handlers run in the server's threads.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.polling import wait_until

__all__ = [
    "ApiError",
    "FakeChat",
    "FakeTelegram",
    "FakeUser",
    "HtmlParseError",
    "RecordedCall",
    "parse_html",
    "utf16_len",
]

JSON = dict[str, Any]

MAX_TEXT_UTF16 = 4096
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "reply_parameters",
        "link_preview_options",
        "allowed_updates",
        "commands",
        "scope",
        "entities",
    }
)
_INT_PARAMS = frozenset(
    {
        "message_id",
        "offset",
        "limit",
        "reply_to_message_id",
        "message_thread_id",
        "user_id",
        "cache_time",
        "icon_color",
    }
)
_FLOAT_PARAMS = frozenset({"timeout"})
_BOOL_PARAMS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "allow_sending_without_reply",
        "drop_pending_updates",
        "show_alert",
        "disable_web_page_preview",
        "allow_paid_broadcast",
    }
)
_UPDATE_TYPES = ("message", "edited_message", "channel_post", "edited_channel_post", "callback_query")
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of Telegram's limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


# -- errors -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiError:
    """One Bot API error answer. Build them with the class methods."""

    status: int
    description: str
    parameters: JSON | None = None

    def payload(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body

    @classmethod
    def retry_after(cls, seconds: float) -> ApiError:
        shown = int(seconds) if float(seconds).is_integer() else seconds
        return cls(429, f"Too Many Requests: retry after {shown}", {"retry_after": shown})

    @classmethod
    def blocked(cls) -> ApiError:
        return cls(403, "Forbidden: bot was blocked by the user")

    @classmethod
    def kicked(cls) -> ApiError:
        return cls(403, "Forbidden: bot was kicked from the group chat")

    @classmethod
    def migrated(cls, new_chat_id: int) -> ApiError:
        return cls(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            {"migrate_to_chat_id": new_chat_id},
        )

    @classmethod
    def chat_not_found(cls) -> ApiError:
        return cls(400, "Bad Request: chat not found")

    @classmethod
    def bad_request(cls, detail: str) -> ApiError:
        return cls(400, f"Bad Request: {detail}")

    @classmethod
    def server_error(cls, status: int = 502) -> ApiError:
        return cls(status, "Bad Gateway" if status == 502 else "Internal Server Error")


class _Reject(Exception):
    """Raised inside a method implementation to answer with an ApiError."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.description)
        self.error = error


def _bad(detail: str) -> _Reject:
    return _Reject(ApiError.bad_request(detail))


# -- HTML parsing (Telegram's rules) ------------------------------------------------------------------------


class HtmlParseError(ValueError):
    """Not valid Telegram HTML; ``str(exc)`` is Telegram's wording after "can't parse entities: "."""


_TAG_NAMES = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)
_SIMPLE_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z]+);")
_SPACES = " \t\n\r\f\v"


def _decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    """The character of the HTML entity at ``text[pos] == "&"`` and the position after it, if known."""
    m = _ENTITY_RE.match(text, pos)
    if m is None:
        return None
    name = m.group(1)
    if name.startswith("#"):
        code = int(name[2:], 16) if name[1:2] in ("x", "X") else int(name[1:])
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        return chr(code), m.end()
    char = _NAMED_ENTITIES.get(name)
    return (char, m.end()) if char is not None else None


@dataclass
class _OpenTag:
    name: str
    offset: int  # UTF-16 offset in the plain text
    attrs: dict[str, str]


def parse_html(html: str, *, strict_entities: bool = True) -> tuple[str, list[JSON]]:
    """Parse Telegram HTML into ``(plain_text, entities)``; offsets in UTF-16 code units.

    Raises HtmlParseError with Telegram's wording (byte offsets are UTF-8 offsets in ``html``).
    """
    out: list[str] = []
    out_len = 0  # UTF-16 length of "".join(out)
    entities: list[JSON] = []
    stack: list[_OpenTag] = []
    n = len(html)
    i = 0

    def byte_offset(pos: int) -> int:
        return len(html[:pos].encode("utf-8"))

    def emit(chunk: str) -> None:
        nonlocal out_len
        out.append(chunk)
        out_len += utf16_len(chunk)

    while i < n:
        c = html[i]
        if c == "&":
            decoded = _decode_entity(html, i)
            if decoded is not None:
                emit(decoded[0])
                i = decoded[1]
                continue
            if strict_entities:
                raise HtmlParseError(f'Unsupported HTML entity "&" at byte offset {byte_offset(i)}')
            emit(c)
            i += 1
            continue
        if c != "<":
            j = i + 1
            while j < n and html[j] not in "<&":
                j += 1
            emit(html[i:j])
            i = j
            continue
        begin = i
        i += 1
        if i < n and html[i] == "/":
            # An end tag: "</name>" or "</>" (closes the innermost tag).
            if not stack:
                raise HtmlParseError(f"Unexpected end tag at byte offset {byte_offset(begin)}")
            i += 1
            j = i
            while j < n and html[j] not in _SPACES and html[j] != ">":
                j += 1
            end_name = html[i:j].lower()
            while j < n and html[j] in _SPACES:
                j += 1
            if j >= n or html[j] != ">":
                raise HtmlParseError(f"Unclosed end tag at byte offset {byte_offset(begin)}")
            i = j + 1
            tag = stack.pop()
            if end_name and end_name != tag.name:
                raise HtmlParseError(
                    f"Unmatched end tag at byte offset {byte_offset(begin)}, "
                    f'expected "</{tag.name}>", found "</{end_name}>"'
                )
            _close(tag, out_len, entities, stack)
            continue
        # A start tag.
        j = i
        while j < n and html[j] not in _SPACES and html[j] != ">":
            j += 1
        if j >= n:
            raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
        name = html[i:j].lower()
        if name not in _TAG_NAMES:
            raise HtmlParseError(f'Unsupported start tag "{name}" at byte offset {byte_offset(begin)}')
        attrs: dict[str, str] = {}
        i = j
        while True:
            while i < n and html[i] in _SPACES:
                i += 1
            if i >= n:
                raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            if html[i] == ">":
                i += 1
                break
            k = i
            while k < n and html[k] not in _SPACES and html[k] not in "=>":
                k += 1
            attr = html[i:k].lower()
            if not attr:
                raise HtmlParseError(
                    f'Empty attribute name in the tag "{name}" at byte offset {byte_offset(begin)}'
                )
            while k < n and html[k] in _SPACES:
                k += 1
            if k >= n or html[k] != "=":
                if name == "blockquote" and attr == "expandable":
                    attrs[attr] = ""
                    i = k
                    continue
                raise HtmlParseError(
                    f'Expected equal sign in declaration of an attribute of the tag "{name}" '
                    f"at byte offset {byte_offset(begin)}"
                )
            k += 1
            while k < n and html[k] in _SPACES:
                k += 1
            if k < n and html[k] in "'\"":
                quote = html[k]
                k += 1
                value: list[str] = []
                while k < n and html[k] != quote:
                    if html[k] == "&" and (decoded := _decode_entity(html, k)) is not None:
                        value.append(decoded[0])
                        k = decoded[1]
                    else:
                        value.append(html[k])
                        k += 1
                if k < n:
                    k += 1
                attrs[attr] = "".join(value)
            else:
                token_start = k
                while k < n and (html[k].isalnum() or html[k] in ".-"):
                    k += 1
                if k < n and html[k] not in _SPACES and html[k] != ">":
                    raise HtmlParseError(
                        f"Unexpected end of name token at byte offset {byte_offset(token_start)}"
                    )
                attrs[attr] = html[token_start:k].lower()
            if k >= n:
                raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            i = k
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}'
            )
        stack.append(_OpenTag(name, out_len, attrs))
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _close(tag: _OpenTag, end: int, entities: list[JSON], stack: list[_OpenTag]) -> None:
    length = end - tag.offset
    if length <= 0:
        return
    entity: JSON = {"offset": tag.offset, "length": length}
    if tag.name == "a":
        url = tag.attrs.get("href", "")
        if not url:
            return
        user = re.fullmatch(r"tg://user\?id=(\d+)", url)
        if user:
            entity.update(
                type="text_mention", user={"id": int(user.group(1)), "is_bot": False, "first_name": ""}
            )
        else:
            entity.update(type="text_link", url=url)
    elif tag.name == "blockquote":
        entity["type"] = "expandable_blockquote" if "expandable" in tag.attrs else "blockquote"
    elif tag.name == "tg-emoji":
        emoji_id = tag.attrs.get("emoji-id", "")
        if not emoji_id:
            return
        entity.update(type="custom_emoji", custom_emoji_id=emoji_id)
    else:
        entity["type"] = _SIMPLE_TYPES[tag.name]
        if tag.name == "code":
            language = tag.attrs.get("class", "")
            if language.startswith("language-") and stack and stack[-1].name == "pre":
                stack[-1].attrs["language"] = language.removeprefix("language-")
        elif tag.name == "pre" and tag.attrs.get("language"):
            entity["language"] = tag.attrs["language"]
    entities.append(entity)


def _strip(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Telegram trims surrounding whitespace from message text; entity offsets follow."""
    lead = len(text) - len(text.lstrip())
    stripped = text.strip()
    shift = utf16_len(text[:lead])
    total = utf16_len(stripped)
    kept: list[JSON] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


_COMMAND_RE = re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")


def _command_entities(text: str) -> list[JSON]:
    return [
        {"type": "bot_command", "offset": utf16_len(text[: m.start()]), "length": utf16_len(m.group(0))}
        for m in _COMMAND_RE.finditer(text)
    ]


# -- model --------------------------------------------------------------------------------------------------


@dataclass
class FakeUser:
    """A Telegram user the fake knows."""

    id: int
    first_name: str = ""
    username: str | None = None
    language_code: str | None = None
    is_bot: bool = False

    def to_dict(self) -> JSON:
        data: JSON = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name or f"User{self.id}"}
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass
class FakeChat:
    """A chat the fake knows: ``type`` is private, group, supergroup or channel."""

    id: int
    type: str = "private"
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    is_forum: bool = False

    def to_dict(self) -> JSON:
        data: JSON = {"id": self.id, "type": self.type}
        if self.type == "private":
            data["first_name"] = self.first_name or f"User{self.id}"
        else:
            data["title"] = self.title or f"Chat {self.id}"
        if self.username:
            data["username"] = self.username
        if self.is_forum:
            data["is_forum"] = True
        return data


@dataclass(frozen=True)
class RecordedCall:
    """One request the fake answered: the method as Telegram spells it, decoded params, HTTP status."""

    method: str
    params: JSON
    status: int


@dataclass
class _Rule:
    error: ApiError
    method: str | None
    chat_id: int | str | None
    times: int


@dataclass
class _ChatState:
    chat: FakeChat
    next_message_id: int = 1
    messages: dict[int, JSON] = field(default_factory=dict)  # message_id -> stored message
    order: list[int] = field(default_factory=list)
    bot_sent: list[int] = field(default_factory=list)
    topics: dict[int, JSON] = field(default_factory=dict)
    members: dict[int, JSON] = field(default_factory=dict)  # user_id -> ChatMember JSON
    gone: ApiError | None = None  # persistent block / kick / migration


_METHODS = (
    "getMe",
    "getUpdates",
    "deleteWebhook",
    "getWebhookInfo",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "answerCallbackQuery",
    "getChat",
    "getChatMember",
    "getChatAdministrators",
    "createForumTopic",
)
_METHOD_BY_LOWER = {m.lower(): m for m in _METHODS}


class FakeTelegram:
    """A fake Bot API server in a background thread on 127.0.0.1 (port 0). See the module docstring.

    ``base_url`` is what to pass to ``telegram.Bot(base_url=...)`` / ``ApplicationBuilder().base_url(...)``.
    """

    def __init__(
        self,
        *,
        token: str = "123456789:TEST-token",
        bot_username: str = "arxiv_digest_test_bot",
        bot_first_name: str = "arXiv Digest",
        max_long_poll: float = 1.0,
        strict_chats: bool = False,
        strict_entities: bool = True,
        enforce_rate_limits: bool = False,
        scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if ":" not in token or not token.split(":", 1)[0].isdigit():
            raise ValueError("a Bot API token looks like '<bot id>:<secret>'")
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.token = token
        self.bot = FakeUser(int(token.split(":", 1)[0]), bot_first_name, bot_username, is_bot=True)
        self.max_long_poll = max_long_poll
        self.strict_chats = strict_chats
        self.strict_entities = strict_entities
        self.enforce_rate_limits = enforce_rate_limits
        self.scale = scale
        self.rate_limited = 0
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._stopping = False
        self._chats: dict[int, _ChatState] = {}
        self._users: dict[int, FakeUser] = {}
        self._updates: deque[JSON] = deque()
        self._next_update_id = 100_000_001
        self._allowed_updates: list[str] | None = None
        self._rules: list[_Rule] = []
        self._calls: list[RecordedCall] = []
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._callbacks: dict[str, JSON] = {}  # query id -> answer (empty until answered)
        self._answered: dict[str, JSON] = {}
        self._query_ids = itertools.count(4_000_000_000_000_000_001)
        self._sends: dict[object, deque[float]] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> FakeTelegram:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._stopping = False
        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-telegram",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()  # release long polls
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeTelegram is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def base_url(self) -> str:
        """PTB's ``base_url``: it appends the token, then ``/method``."""
        return f"{self.url}/bot"

    # -- configuration and scripting -------------------------------------------------------------------
    def add_user(
        self,
        user_id: int,
        *,
        first_name: str = "",
        username: str | None = None,
        language_code: str | None = None,
    ) -> FakeUser:
        with self._lock:
            user = FakeUser(user_id, first_name or f"User{user_id}", username, language_code)
            self._users[user_id] = user
            return user

    def add_chat(
        self,
        chat_id: int,
        *,
        type: str | None = None,
        title: str | None = None,
        username: str | None = None,
        is_forum: bool = False,
    ) -> FakeChat:
        """Register a chat (type from the id when omitted: >0 private, -100… supergroup, <0 group)."""
        with self._lock:
            state = self._chat_state(chat_id, create=True, type=type)
            chat = state.chat
            if title is not None:
                chat.title = title
            if username is not None:
                chat.username = username
            if is_forum:
                chat.is_forum = True
                chat.type = "supergroup"
            return chat

    def make_forum(self, chat_id: int, *, can_manage_topics: bool = True) -> FakeChat:
        """Make ``chat_id`` a forum supergroup with the bot as admin (with or without topic rights)."""
        with self._lock:
            chat = self.add_chat(chat_id, type="supergroup", is_forum=True)
            self.set_member(chat_id, self.bot.id, "administrator", can_manage_topics=can_manage_topics)
            return chat

    def set_member(self, chat_id: int, user_id: int, status: str, *, can_manage_topics: bool = False) -> None:
        """Set a member's status: creator, administrator, member, restricted, left or kicked."""
        with self._lock:
            state = self._chat_state(chat_id, create=True)
            user = self.bot if user_id == self.bot.id else self._user(user_id)
            member: JSON = {"status": status, "user": user.to_dict()}
            if status == "creator":
                member["is_anonymous"] = False
            elif status == "administrator":
                member.update(
                    can_be_edited=False,
                    is_anonymous=False,
                    can_manage_chat=True,
                    can_delete_messages=True,
                    can_manage_video_chats=True,
                    can_restrict_members=True,
                    can_promote_members=False,
                    can_change_info=True,
                    can_invite_users=True,
                    can_post_stories=False,
                    can_edit_stories=False,
                    can_delete_stories=False,
                    can_pin_messages=True,
                )
                if state.chat.type == "channel":
                    member.update(can_post_messages=True, can_edit_messages=True)
                if state.chat.type == "supergroup":
                    member["can_manage_topics"] = can_manage_topics
            elif status == "kicked":
                member["until_date"] = 0
            elif status == "restricted":
                member.update(
                    is_member=True,
                    can_send_messages=False,
                    can_send_audios=False,
                    can_send_documents=False,
                    can_send_photos=False,
                    can_send_videos=False,
                    can_send_video_notes=False,
                    can_send_voice_notes=False,
                    can_send_polls=False,
                    can_send_other_messages=False,
                    can_add_web_page_previews=False,
                    can_change_info=False,
                    can_invite_users=False,
                    can_pin_messages=False,
                    can_manage_topics=False,
                    until_date=0,
                )
            elif status not in ("member", "left"):
                raise ValueError(f"unknown chat member status {status!r}")
            state.members[user_id] = member

    def block_chat(self, chat_id: int, *, kicked: bool = False) -> None:
        """From now on every request for ``chat_id`` gets 403 (blocked by the user / kicked from a group)."""
        with self._lock:
            self._chat_state(chat_id, create=True).gone = ApiError.kicked() if kicked else ApiError.blocked()

    def unblock_chat(self, chat_id: int) -> None:
        """The user unblocked the bot (or it was added back): requests for ``chat_id`` work again."""
        with self._lock:
            self._chat_state(chat_id, create=True).gone = None

    def migrate_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """Upgrade group ``old_chat_id`` to supergroup ``new_chat_id``: the old id gets 400 + migration."""
        with self._lock:
            old = self._chat_state(old_chat_id, create=True, type="group")
            old.gone = ApiError.migrated(new_chat_id)
            new = self._chat_state(new_chat_id, create=True, type="supergroup")
            new.chat.title = old.chat.title
            new.members.update(old.members)

    def inject(
        self,
        error: ApiError,
        *,
        method: str | None = None,
        chat_id: int | str | None = None,
        times: int = 1,
    ) -> None:
        """Queue ``error`` as the answer to the next ``times`` matching requests (FIFO among rules)."""
        if method is not None:
            method = _METHOD_BY_LOWER.get(method.lower(), method)
        with self._lock:
            self._rules.append(_Rule(error, method, chat_id, times))

    def clear_injected(self) -> int:
        """Drop every queued ``inject`` rule (an outage ends); returns how many answers were left."""
        with self._lock:
            left = sum(rule.times for rule in self._rules)
            self._rules.clear()
            return left

    def queue_message(
        self,
        chat: int | FakeChat,
        user: int | FakeUser | None,
        text: str,
        *,
        message_thread_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> JSON:
        """Queue an update for a message a user (or, in a channel, the channel) sent; returns the message.

        ``/commands`` in the text get ``bot_command`` entities as Telegram adds them.
        """
        with self._cond:
            chat_id = chat.id if isinstance(chat, FakeChat) else chat
            if isinstance(user, FakeUser):
                self._users.setdefault(user.id, user)
            state = self._chat_state(chat_id, create=True)
            message: JSON = {
                "message_id": self._new_message_id(state),
                "date": int(self._wall_clock()),
                "chat": state.chat.to_dict(),
                "text": text,
            }
            if state.chat.type == "channel":
                message["sender_chat"] = state.chat.to_dict()
            else:
                sender = (
                    user if isinstance(user, FakeUser) else self._user(user if user is not None else chat_id)
                )
                message["from"] = sender.to_dict()
            entities = _command_entities(text)
            if entities:
                message["entities"] = entities
            if message_thread_id is not None and state.chat.is_forum:
                message.update(message_thread_id=message_thread_id, is_topic_message=True)
            if reply_to_message_id is not None and reply_to_message_id in state.messages:
                message["reply_to_message"] = _shallow(state.messages[reply_to_message_id])
            self._store(state, message, by_bot=False)
            kind = "channel_post" if state.chat.type == "channel" else "message"
            self._push_update({kind: message})
            return message

    def queue_migration(self, old_chat_id: int, new_chat_id: int, user: int) -> None:
        """Upgrade group ``old_chat_id`` to supergroup ``new_chat_id`` (as ``migrate_chat``) and queue the two
        service messages Telegram sends then: ``migrate_to_chat_id`` in the old chat, ``migrate_from_chat_id``
        in the new one."""
        self.migrate_chat(old_chat_id, new_chat_id)
        with self._cond:
            sender = self._user(user).to_dict()
            for chat_id, field, value in (
                (old_chat_id, "migrate_to_chat_id", new_chat_id),
                (new_chat_id, "migrate_from_chat_id", old_chat_id),
            ):
                state = self._chat_state(chat_id, create=True)
                message: JSON = {
                    "message_id": self._new_message_id(state),
                    "date": int(self._wall_clock()),
                    "chat": state.chat.to_dict(),
                    "from": sender,
                    field: value,
                }
                self._store(state, message, by_bot=False)
                self._push_update({"message": message})

    def queue_callback_query(
        self, chat: int | FakeChat, user: int | FakeUser, message_id: int, data: str
    ) -> str:
        """Queue a callback query (a button press on ``message_id`` in ``chat``); returns the query id."""
        with self._cond:
            chat_id = chat.id if isinstance(chat, FakeChat) else chat
            state = self._chat_state(chat_id, create=True)
            sender = user if isinstance(user, FakeUser) else self._user(user)
            query_id = str(next(self._query_ids))
            stored = state.messages.get(message_id)
            message = (
                json.loads(json.dumps(stored))
                if stored is not None
                else {"chat": state.chat.to_dict(), "message_id": message_id, "date": 0}
            )
            query: JSON = {
                "id": query_id,
                "from": sender.to_dict(),
                "message": message,
                "chat_instance": str(abs(chat_id) * 7919 % 10**12),
                "data": data,
            }
            self._callbacks[query_id] = query
            self._push_update({"callback_query": query})
            return query_id

    # -- inspection ------------------------------------------------------------------------------------
    def sent(self, chat_id: int) -> list[JSON]:
        """Messages the bot sent to ``chat_id`` (current content, edits applied), in order."""
        with self._lock:
            state = self._chats.get(chat_id)
            if state is None:
                return []
            return [json.loads(json.dumps(state.messages[i])) for i in state.bot_sent]

    def messages(self, chat_id: int) -> list[JSON]:
        """Every stored message of ``chat_id`` (users', bot's and service messages), in order."""
        with self._lock:
            state = self._chats.get(chat_id)
            return [] if state is None else [json.loads(json.dumps(state.messages[i])) for i in state.order]

    def calls(self, method: str | None = None) -> list[JSON]:
        """Decoded params of every request to ``method`` (all methods when None), failed ones included."""
        return [c.params for c in self.recorded(method)]

    def recorded(self, method: str | None = None) -> list[RecordedCall]:
        wanted = None if method is None else _METHOD_BY_LOWER.get(method.lower(), method)
        with self._lock:
            return [c for c in self._calls if wanted is None or c.method == wanted]

    def answered_callbacks(self) -> dict[str, JSON]:
        """Answered callback queries: query id -> the answer's params."""
        with self._lock:
            return dict(self._answered)

    def commands(self, *, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        with self._lock:
            return list(self._commands.get((_scope_key(scope), language_code), []))

    def pending_updates(self) -> int:
        with self._lock:
            return len(self._updates)

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 2.0,  # noqa: ASYNC109 - a polling deadline for tests, as the brief names it
        *,
        interval: float = 0.01,
    ) -> None:
        """Poll ``predicate`` without blocking the event loop; TimeoutError after ``timeout`` seconds."""
        await wait_until(predicate, timeout, interval)

    # -- internals (callers hold the lock) -------------------------------------------------------------
    def _user(self, user_id: int) -> FakeUser:
        user = self._users.get(user_id)
        if user is None:
            user = self._users[user_id] = FakeUser(user_id, f"User{user_id}")
        return user

    def _chat_state(self, chat_id: int, *, create: bool, type: str | None = None) -> _ChatState:
        state = self._chats.get(chat_id)
        if state is None:
            if not create:
                raise _Reject(ApiError.chat_not_found())
            inferred = type or (
                "private" if chat_id > 0 else "supergroup" if chat_id <= -1_000_000_000_000 else "group"
            )
            chat = FakeChat(chat_id, inferred)
            if inferred == "private":
                user = self._user(chat_id)
                chat.first_name, chat.username = user.first_name, user.username
            state = self._chats[chat_id] = _ChatState(chat)
        elif type is not None:
            state.chat.type = type
        return state

    def _new_message_id(self, state: _ChatState) -> int:
        message_id = state.next_message_id
        state.next_message_id += 1
        return message_id

    def _store(self, state: _ChatState, message: JSON, *, by_bot: bool) -> None:
        state.messages[message["message_id"]] = message
        state.order.append(message["message_id"])
        if by_bot:
            state.bot_sent.append(message["message_id"])

    def _push_update(self, body: JSON) -> None:
        self._updates.append({"update_id": self._next_update_id, **body})
        self._next_update_id += 1
        self._cond.notify_all()

    def _take_rule(self, method: str, chat_id: int | str | None) -> ApiError | None:
        for rule in self._rules:
            if rule.method is None and method == "getUpdates":
                continue
            if rule.method is not None and rule.method != method:
                continue
            if rule.chat_id is not None and rule.chat_id != chat_id:
                continue
            rule.times -= 1
            if rule.times <= 0:
                self._rules.remove(rule)
            return rule.error
        return None

    def _resolve_chat(self, chat_id: Any) -> _ChatState:
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            for state in self._chats.values():
                if state.chat.username and state.chat.username.lower() == chat_id[1:].lower():
                    return state
            raise _Reject(ApiError.chat_not_found())
        try:
            numeric = int(chat_id)
        except (TypeError, ValueError):
            raise _Reject(ApiError.chat_not_found()) from None
        state = self._chat_state(numeric, create=not self.strict_chats)
        if state.gone is not None:
            raise _Reject(state.gone)
        return state

    def _check_flood(self, state: _ChatState) -> None:
        if not self.enforce_rate_limits:
            return
        now = self._clock()
        per_chat = (1, 1.0) if state.chat.type == "private" else (20, 60.0)
        limits = [("global", 30, 1.0 / self.scale), (state.chat.id, per_chat[0], per_chat[1] / self.scale)]
        wait = 0.0
        for key, count, window in limits:
            sends = self._sends.setdefault(key, deque())
            while sends and sends[0] <= now - window:
                sends.popleft()
            if len(sends) >= count:
                wait = max(wait, sends[0] + window - now)
        if wait > 0:
            self.rate_limited += 1
            shown: float = max(1, math.ceil(wait)) if self.scale == 1 else math.ceil(wait * 1000) / 1000
            raise _Reject(ApiError.retry_after(shown))
        for key, _, _ in limits:
            self._sends[key].append(now)

    # -- request entry point (server threads) ----------------------------------------------------------
    def _dispatch(self, token: str, method_name: str, params: JSON) -> tuple[int, JSON]:
        if token != self.token:
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        method = _METHOD_BY_LOWER.get(method_name.lower())
        if method is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        if method == "getUpdates":
            status, body = self._get_updates(params)
        else:
            with self._lock:
                status, body = self._call_locked(method, params)
        with self._lock:
            self._calls.append(RecordedCall(method, params, status))
        return status, body

    def _call_locked(self, method: str, params: JSON) -> tuple[int, JSON]:
        error = self._take_rule(method, params.get("chat_id"))
        if error is not None:
            return error.status, error.payload()
        handler: Callable[[JSON], Any] = getattr(self, "_m_" + method)
        try:
            result = handler(params)
        except _Reject as exc:
            return exc.error.status, exc.error.payload()
        return 200, {"ok": True, "result": result}

    def _get_updates(self, params: JSON) -> tuple[int, JSON]:
        with self._cond:
            error = self._take_rule("getUpdates", None)
            if error is not None:
                return error.status, error.payload()
            offset = params.get("offset")
            limit = max(1, min(int(params.get("limit") or 100), 100))
            timeout = max(0.0, min(float(params.get("timeout") or 0), self.max_long_poll))
            allowed = params.get("allowed_updates")
            if allowed is not None:
                self._allowed_updates = list(allowed) or None
            if isinstance(offset, int) and offset != 0:
                if offset < 0:
                    while len(self._updates) > -offset:
                        self._updates.popleft()
                else:
                    while self._updates and self._updates[0]["update_id"] < offset:
                        self._updates.popleft()
            deadline = time.monotonic() + timeout
            while True:
                self._drop_unwanted()
                if self._updates or self._stopping:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            result = [json.loads(json.dumps(u)) for u in itertools.islice(self._updates, limit)]
            return 200, {"ok": True, "result": result}

    def _drop_unwanted(self) -> None:
        if self._allowed_updates is None:
            return
        allowed = set(self._allowed_updates)
        kept = [u for u in self._updates if any(k in allowed for k in u if k != "update_id")]
        if len(kept) != len(self._updates):
            self._updates = deque(kept)

    # -- methods (called with the lock held) -----------------------------------------------------------
    def _me(self) -> JSON:
        return {
            **self.bot.to_dict(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_getMe(self, params: JSON) -> JSON:
        return self._me()

    def _m_deleteWebhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _m_getWebhookInfo(self, params: JSON) -> JSON:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": len(self._updates)}

    def _command_key(self, params: JSON) -> tuple[str, str]:
        scope = params.get("scope")
        if scope is not None and not isinstance(scope, dict):
            raise _bad("can't parse BotCommandScope JSON object")
        language = params.get("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise _bad("invalid language code specified")
        return _scope_key(scope), language

    def _m_setMyCommands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("too many commands specified")
        for command in commands:
            name = command.get("command", "") if isinstance(command, dict) else ""
            description = command.get("description", "") if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(name).removeprefix("/")):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(description)) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        self._commands[self._command_key(params)] = [
            {"command": str(c["command"]).removeprefix("/"), "description": str(c["description"])}
            for c in commands
        ]
        return True

    def _m_getMyCommands(self, params: JSON) -> list[JSON]:
        return list(self._commands.get(self._command_key(params), []))

    def _m_deleteMyCommands(self, params: JSON) -> bool:
        self._commands.pop(self._command_key(params), None)
        return True

    def _render_text(self, params: JSON) -> tuple[str, list[JSON]]:
        """Validate ``text``/``parse_mode``/``entities`` like Telegram; the stored plain text and entities."""
        raw = params.get("text")
        if not isinstance(raw, str) or not raw.strip():
            raise _bad("message text is empty")
        parse_mode = params.get("parse_mode") or ""
        if parse_mode and parse_mode.lower() not in ("html", "markdown", "markdownv2"):
            raise _bad(f"unsupported parse_mode {parse_mode!r}")
        if parse_mode.lower() == "html":
            try:
                text, entities = parse_html(raw, strict_entities=self.strict_entities)
            except HtmlParseError as exc:
                raise _bad(f"can't parse entities: {exc}") from None
        else:
            text = raw
            given = params.get("entities")
            entities = [dict(e) for e in given] if isinstance(given, list) else []
        text, entities = _strip(text, entities)
        if not text:
            raise _bad("message text is empty")
        if utf16_len(text) > MAX_TEXT_UTF16:
            raise _bad("message is too long")
        return text, entities

    def _reply_markup(self, params: JSON) -> JSON | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        keyboard = markup.get("inline_keyboard")
        if keyboard is None:
            return None  # reply keyboards are not echoed in Message.reply_markup
        if not isinstance(keyboard, list) or not all(isinstance(row, list) for row in keyboard):
            raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
        for row in keyboard:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise _bad(
                        "can't parse inline keyboard button: "
                        "Text buttons are unallowed in the inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    raise _bad("BUTTON_DATA_INVALID")
        return {"inline_keyboard": keyboard}

    def _m_sendMessage(self, params: JSON) -> JSON:
        state = self._resolve_chat(params.get("chat_id"))
        text, entities = self._render_text(params)
        markup = self._reply_markup(params)
        message: JSON = {
            "message_id": 0,
            "from": self.bot.to_dict(),
            "date": int(self._wall_clock()),
            "chat": state.chat.to_dict(),
            "text": text,
        }
        if state.chat.type == "channel":
            del message["from"]
            message["sender_chat"] = state.chat.to_dict()
        if entities:
            message["entities"] = entities
        thread_id = params.get("message_thread_id")
        if thread_id and state.chat.is_forum:
            if thread_id not in state.topics:
                raise _bad("message thread not found")
            message.update(message_thread_id=thread_id, is_topic_message=True)
        self._attach_reply(state, params, message)
        preview = params.get("link_preview_options")
        if isinstance(preview, dict):
            message["link_preview_options"] = preview
        elif params.get("disable_web_page_preview"):
            message["link_preview_options"] = {"is_disabled": True}
        if markup is not None:
            message["reply_markup"] = markup
        self._check_flood(state)
        message["message_id"] = self._new_message_id(state)
        # What the fake keeps besides the Message object: the raw text and parse mode as sent.
        stored = {**message, "raw_text": params.get("text"), "parse_mode": params.get("parse_mode")}
        self._store(state, stored, by_bot=True)
        return message

    def _attach_reply(self, state: _ChatState, params: JSON, message: JSON) -> None:
        reply = params.get("reply_parameters")
        if reply is not None and not isinstance(reply, dict):
            raise _bad("can't parse reply parameters JSON object")
        if isinstance(reply, dict):
            target_id = reply.get("message_id")
            allow = bool(reply.get("allow_sending_without_reply"))
            target_chat = state
            if reply.get("chat_id") not in (None, state.chat.id):
                target_chat = self._resolve_chat(reply.get("chat_id"))
        else:
            target_id = params.get("reply_to_message_id")
            allow = bool(params.get("allow_sending_without_reply"))
            target_chat = state
        if target_id is None:
            return
        target = target_chat.messages.get(int(target_id))
        if target is None:
            if allow:
                return
            raise _bad("message to be replied not found")
        message["reply_to_message"] = _shallow(target)
        if state.chat.is_forum and "message_thread_id" in target and "message_thread_id" not in message:
            message.update(message_thread_id=target["message_thread_id"], is_topic_message=True)

    def _own_message(self, params: JSON, missing: str) -> tuple[_ChatState, JSON]:
        if params.get("inline_message_id"):
            raise _bad("inline messages are not supported by the fake")
        state = self._resolve_chat(params.get("chat_id"))
        message_id = params.get("message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        message = state.messages.get(int(message_id))
        if message is None:
            raise _bad(missing)
        if message["message_id"] not in state.bot_sent:
            raise _bad("message can't be edited")
        return state, message

    def _m_editMessageText(self, params: JSON) -> JSON:
        _, message = self._own_message(params, "message to edit not found")
        text, entities = self._render_text(params)
        markup = self._reply_markup(params)
        if (
            text == message["text"]
            and entities == message.get("entities", [])
            and markup == message.get("reply_markup")
        ):
            raise _Reject(ApiError(400, _NOT_MODIFIED))
        message.update(text=text, raw_text=params.get("text"), parse_mode=params.get("parse_mode"))
        message["edit_date"] = int(self._wall_clock())
        for key, value in (("entities", entities or None), ("reply_markup", markup)):
            if value is None:
                message.pop(key, None)
            else:
                message[key] = value
        preview = params.get("link_preview_options")
        if isinstance(preview, dict):
            message["link_preview_options"] = preview
        return _public(message)

    def _m_editMessageReplyMarkup(self, params: JSON) -> JSON:
        _, message = self._own_message(params, "message to edit not found")
        markup = self._reply_markup(params)
        if markup == message.get("reply_markup"):
            raise _Reject(ApiError(400, _NOT_MODIFIED))
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        message["edit_date"] = int(self._wall_clock())
        return _public(message)

    def _m_answerCallbackQuery(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._callbacks or query_id in self._answered:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        self._answered[query_id] = dict(params)
        return True

    def _m_getChat(self, params: JSON) -> JSON:
        state = self._resolve_chat(params.get("chat_id"))
        info = {
            **state.chat.to_dict(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }
        return info

    def _member(self, state: _ChatState, user_id: int) -> JSON:
        member = state.members.get(user_id)
        if member is not None:
            return member
        user = self.bot if user_id == self.bot.id else self._user(user_id)
        if state.chat.type == "private":
            status = "member" if user_id in (state.chat.id, self.bot.id) else "left"
        else:
            status = "member" if user_id == self.bot.id else "left"
        return {"status": status, "user": user.to_dict()}

    def _m_getChatMember(self, params: JSON) -> JSON:
        state = self._resolve_chat(params.get("chat_id"))
        user_id = params.get("user_id")
        if not isinstance(user_id, int):
            raise _bad("invalid user_id specified")
        return self._member(state, user_id)

    def _m_getChatAdministrators(self, params: JSON) -> list[JSON]:
        state = self._resolve_chat(params.get("chat_id"))
        if state.chat.type == "private":
            raise _bad("there are no administrators in the private chat")
        return [m for m in state.members.values() if m["status"] in ("creator", "administrator")]

    def _m_createForumTopic(self, params: JSON) -> JSON:
        state = self._resolve_chat(params.get("chat_id"))
        name = params.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 128:
            raise _bad("TOPIC_NAME_INVALID" if name else "topic name is empty")
        rights = state.members.get(self.bot.id, {})
        allowed = rights.get("status") == "creator" or (
            rights.get("status") == "administrator" and rights.get("can_manage_topics")
        )
        if not state.chat.is_forum or not allowed:
            raise _bad("not enough rights to create a topic")
        icon_color = params.get("icon_color") or 7322096
        topic: JSON = {"name": name, "icon_color": icon_color}
        if params.get("icon_custom_emoji_id"):
            topic["icon_custom_emoji_id"] = params["icon_custom_emoji_id"]
        # The topic's id is the id of its "forum_topic_created" service message.
        thread_id = self._new_message_id(state)
        topic["message_thread_id"] = thread_id
        service: JSON = {
            "message_id": thread_id,
            "from": self.bot.to_dict(),
            "date": int(self._wall_clock()),
            "chat": state.chat.to_dict(),
            "message_thread_id": thread_id,
            "is_topic_message": True,
            "forum_topic_created": {k: v for k, v in topic.items() if k != "message_thread_id"},
        }
        self._store(state, service, by_bot=False)
        state.topics[thread_id] = topic
        return dict(topic)


def _scope_key(scope: JSON | None) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


def _public(message: JSON) -> JSON:
    """The Message object as the API returns it (without the fake's bookkeeping keys)."""
    return {k: v for k, v in message.items() if k not in ("raw_text", "parse_mode")}


def _shallow(message: JSON) -> JSON:
    """A message as it appears in ``reply_to_message``: one level, no nested reply."""
    return {k: v for k, v in _public(message).items() if k != "reply_to_message"}


def _decode(name: str, value: str) -> Any:
    try:
        if name in _JSON_PARAMS:
            return json.loads(value)
        if name in _INT_PARAMS or (name == "chat_id" and re.fullmatch(r"-?\d+", value)):
            return int(value)
        if name in _FLOAT_PARAMS:
            return float(value)
    except ValueError:
        return value
    if name in _BOOL_PARAMS:
        return value.lower() in ("true", "1")
    return value


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops connections of a burst (asyncio.gather of sends), which the client
    # retries only after a 1 s SYN timeout.
    request_queue_size = 128


class _Handler(BaseHTTPRequestHandler):
    owner: FakeTelegram
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle + delayed ACK add 40 ms per request.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _send(self, status: int, payload: JSON) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client is gone (a killed bot): as Telegram
            self.close_connection = True

    def _params(self, body: bytes) -> JSON:
        raw: dict[str, str] = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("application/json") and body:
            loaded = json.loads(body)
            if isinstance(loaded, dict):
                return loaded  # already typed
        elif content_type.startswith("multipart/form-data"):
            message = BytesParser(policy=HTTP).parsebytes(
                b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
            )
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                if isinstance(name, str) and part.get_filename() is None:
                    payload = part.get_payload(decode=True)
                    if isinstance(payload, bytes):
                        raw[name] = payload.decode("utf-8")
        elif body:
            raw.update({k: v[-1] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()})
        return {k: _decode(k, v) for k, v in raw.items()}

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        m = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", urlsplit(self.path).path)
        if m is None:
            self._send(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        try:
            params = self._params(body)
        except (ValueError, UnicodeDecodeError):
            self._send(400, {"ok": False, "error_code": 400, "description": "Bad Request: invalid request"})
            return
        status, payload = self.owner._dispatch(m.group(1), m.group(2), params)
        self._send(status, payload)
