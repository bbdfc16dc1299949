"""Sending to Telegram: HTML messages, replies, forum topics, message links; vendor errors translated.

Policies (each has a test):

- ``Forbidden`` (blocked, kicked) and "chat not found" -> ``ChatGone``: the caller deactivates the chat.
- ``ChatMigrated`` (a group became a supergroup) -> ``ChatMoved`` with the new id: the caller stores it and
  resends.
- ``RetryAfter`` -> ``RateLimited`` (the rate limiter has retried a reply already; a fan-out message comes
  here at once, the delivery waits it out).
- A network error, a timeout, a 5xx answer, a refused token or an answer that is not the Bot API's JSON ->
  ``PlatformUnavailable``: retried later, never held against the chat.
- A message Telegram rejects as unparsable HTML is resent once as plain text, and logged.
- A forum topic that vanished ("message thread not found") -> the message is sent to the main chat.
- One message at a time per chat, so a chat's messages arrive in order; Telegram's flood limits are kept by
  the bot's rate limiter (``limiter.FloodLimiter``).
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import weakref
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from ...formatters import telegram as fmt
from ...papers.models import Digest, DigestEntry
from ..delivery import ChatGone, ChatMoved, Outgoing, PlatformUnavailable, RateLimited, Target

logger = logging.getLogger(__name__)

_TAG = re.compile(r"<[^>]+>")
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)

TopicResolver = Callable[[Bot, Target, str], Awaitable[str | None]]


def plain_text(html_text: str) -> str:
    """What an HTML message says, without markup (for the plain-text fallback)."""
    return html.unescape(_TAG.sub("", html_text))


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _text(exc: Exception) -> str:
    return str(exc).lower()


class TelegramSink:
    """A ``delivery.Sink`` for one ``telegram.Bot``."""

    platform = "telegram"

    def __init__(
        self,
        bot: Bot,
        *,
        topics: TopicResolver | None = None,
    ) -> None:
        self.bot = bot
        self.topics = topics
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    # -- rendering ------------------------------------------------------------------------------------------

    def render_summary(self, digest: Digest) -> list[Outgoing]:
        return [Outgoing("summary", part) for part in fmt.render_summary(digest)]

    def render_footnote(self, entry: DigestEntry, *, language: str, ref: int | None) -> list[Outgoing]:
        return [Outgoing("footnote", part) for part in fmt.render_footnote(entry, language=language, ref=ref)]

    def render_text(self, text: str) -> Outgoing:
        return Outgoing("text", html.escape(text, quote=False))

    def link_refs(self, summary: Outgoing, links: Mapping[int, str]) -> Outgoing | None:
        linked = fmt.link_refs(summary.text, links)
        return None if linked is None else Outgoing(summary.role, linked)

    def splits_by_category(self, target: Target) -> bool:
        """A forum gets one topic per category (when the bot may manage topics there)."""
        return target.kind == "forum" and target.thread_id is None

    async def topic_for(self, target: Target, name: str) -> str | None:
        if self.topics is None:
            return None
        return await self.topics(self.bot, target, name)

    def message_link(self, target: Target, message_id: str) -> str | None:
        """``https://t.me/c/<id>/<message>`` for supergroups, forums and channels (ids ``-100…``); None in
        private chats and basic groups, which have no message links."""
        if target.kind not in ("supergroup", "forum", "channel") or not target.chat_id.startswith("-100"):
            return None
        internal = target.chat_id[4:]
        if target.thread_id:
            return f"https://t.me/c/{internal}/{target.thread_id}/{message_id}"
        return f"https://t.me/c/{internal}/{message_id}"

    # -- sending --------------------------------------------------------------------------------------------

    async def send(
        self,
        target: Target,
        message: Outgoing,
        *,
        reply_to: str | None = None,
        keyboard: InlineKeyboardMarkup | None = None,
    ) -> str:
        """Send ``message`` (HTML), as a reply to ``reply_to``; a summary's later parts simply follow its
        first one in the chat."""
        if message.role == "summary":
            reply_to = None
        async with self._lock(target):
            sent = await self._send_html(target, message.text, reply_to=reply_to, keyboard=keyboard)
        return str(sent.message_id)

    async def edit(
        self,
        target: Target,
        message_id: str,
        message: Outgoing,
        *,
        keyboard: InlineKeyboardMarkup | None = None,
    ) -> None:
        try:
            await self._call(
                self.bot.edit_message_text,
                chat_id=int(target.chat_id),
                message_id=int(message_id),
                text=message.text,
                parse_mode=ParseMode.HTML,
                link_preview_options=NO_PREVIEW,
                reply_markup=keyboard,
            )
        except BadRequest as exc:
            if "not modified" in _text(exc):
                return
            raise

    def _lock(self, target: Target) -> asyncio.Lock:
        lock = self._locks.get(target.chat_id)
        if lock is None:
            lock = self._locks[target.chat_id] = asyncio.Lock()
        return lock

    async def _send_html(
        self, target: Target, text: str, *, reply_to: str | None, keyboard: InlineKeyboardMarkup | None
    ) -> Message:
        kwargs: dict[str, Any] = {
            "chat_id": int(target.chat_id),
            "link_preview_options": NO_PREVIEW,
            "reply_markup": keyboard,
        }
        if target.thread_id:
            kwargs["message_thread_id"] = int(target.thread_id)
        if reply_to is not None:
            kwargs["reply_parameters"] = ReplyParameters(int(reply_to), allow_sending_without_reply=True)
        try:
            sent: Message = await self._call(
                self.bot.send_message, text=text, parse_mode=ParseMode.HTML, **kwargs
            )
            return sent
        except BadRequest as exc:
            detail = _text(exc)
            if "can't parse entities" in detail or "can't find end" in detail:
                logger.warning(
                    "chat %s: Telegram rejected our HTML (%s); resending as plain text", target.chat_id, exc
                )
                plain: Message = await self._call(self.bot.send_message, text=plain_text(text), **kwargs)
                return plain
            if "thread not found" in detail and "message_thread_id" in kwargs:
                logger.warning(
                    "chat %s: topic %s is gone; sending to the chat", target.chat_id, target.thread_id
                )
                kwargs.pop("message_thread_id")
                moved: Message = await self._call(
                    self.bot.send_message, text=text, parse_mode=ParseMode.HTML, **kwargs
                )
                return moved
            raise

    async def _call(self, method: Callable[..., Awaitable[Any]], **kwargs: Any) -> Any:
        """Call a Bot method, translating the errors every caller handles the same way."""
        try:
            return await method(**kwargs)
        except Forbidden as exc:
            raise ChatGone(str(exc)) from exc
        except ChatMigrated as exc:
            raise ChatMoved(str(exc.new_chat_id)) from exc
        except RetryAfter as exc:
            raise RateLimited(_seconds(exc.retry_after)) from exc
        except BadRequest as exc:
            if "chat not found" in _text(exc):
                raise ChatGone(str(exc)) from exc
            raise
        except (NetworkError, InvalidToken) as exc:  # after BadRequest, which is a NetworkError in PTB
            raise PlatformUnavailable(str(exc)) from exc
        except TelegramError as exc:  # anything else from Telegram's side, e.g. an answer that is not JSON
            raise PlatformUnavailable(str(exc)) from exc
