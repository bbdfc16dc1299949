"""The Telegram bot: python-telegram-bot handlers, thin over ``bot.commands``.

Each handler builds a ``Caller``, asks ``Commands`` for a ``Reply`` and renders it: plain text escaped into
HTML, buttons as an inline keyboard, a paper as its footnote, a digest through ``Deliverer.deliver``
(``bot/delivery.py``).
Started and stopped by hand (``start``/``stop``) inside the one asyncio loop the scheduler shares.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeDefault,
    ChatMember,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from ...formatters.i18n import t
from ...storage.db import Database, StorageUnavailable
from ...storage.repositories import ChatRepository, TopicRepository
from ..commands import CALLBACK_PREFIX, COMMANDS, Caller, Commands, Reply
from ..delivery import ChatGone, ChatMoved, Deliverer, Outgoing, PlatformFailed, RateLimited, Target
from ..lifecycle import ChatLifecycle
from .limiter import FloodLimiter
from .sink import TelegramSink
from .updates import ChatOrderedProcessor

logger = logging.getLogger(__name__)

PLATFORM = "telegram"
# The command menu's descriptions: default (English), then each UI language Telegram can tell apart (it passes
# two-letter codes only, so Traditional Chinese users see the Simplified menu).
COMMAND_LANGUAGES = ("", "zh", "ja", "de")
ALLOWED_UPDATES = ["message", "channel_post", "callback_query", "my_chat_member"]
_TOKEN_SHAPE = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{1,200}")
_BASE_URL_SHAPE = re.compile(r"https?://[^\s/?#]+(?:/[^\s?#]*)?/bot")


def check_settings(token: str, base_url: str | None) -> None:
    """Refuse, before connecting, a token or Bot API URL of the wrong shape (PlatformFailed, one line
    that never shows the token)."""
    if not _TOKEN_SHAPE.fullmatch(token):
        raise PlatformFailed(
            "TELEGRAM_BOT_TOKEN does not look like a bot token (<digits>:<letters, digits, - or _>, as "
            "@BotFather gives it): check for quotes, spaces or a missing part."
        )
    if base_url is not None and not _BASE_URL_SHAPE.fullmatch(base_url):
        shown = base_url.replace(token, "[redacted]")[:100]
        raise PlatformFailed(
            f"TELEGRAM_API_BASE_URL {shown!r} is not a Bot API URL: it must start with http:// or https:// "
            "and end with /bot (the token is appended), e.g. http://127.0.0.1:8081/bot."
        )


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in reply.buttons]
    )


def reply_html(reply: Reply) -> str:
    """A text reply as HTML: everything escaped, notices in italics."""
    lines = [html.escape(reply.text, quote=False)] if reply.text else []
    lines += [f"<i>{html.escape(n, quote=False)}</i>" for n in reply.notices]
    return "\n".join(lines)


def target_of(update: Update) -> Target:
    chat = update.effective_chat
    message = update.effective_message
    assert chat is not None
    thread = None
    if message is not None and message.is_topic_message and message.message_thread_id:
        thread = str(message.message_thread_id)
    return Target(chat_id=str(chat.id), kind=chat.type, thread_id=thread)


class TelegramBot:
    """The Telegram side of ``arxiv-digest run``."""

    def __init__(
        self,
        *,
        token: str,
        commands: Commands,
        db: Database,
        base_url: str | None = None,
        rate_limiter: BaseRateLimiter[Any] | None = None,
        deliverer: Deliverer | None = None,
        lifecycle: ChatLifecycle | None = None,
    ) -> None:
        limiter = rate_limiter or FloodLimiter()  # Telegram's limits, kept before a 429
        builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder()
            .token(token)
            .rate_limiter(limiter)
            .concurrent_updates(ChatOrderedProcessor())
            # a second connection and patience for the getUpdates PTB makes while stopping (marking what
            # was fetched as read): with one, it can time out behind the long poll being torn down
            .get_updates_connection_pool_size(2)
            .get_updates_pool_timeout(10)
        )
        if base_url:
            builder = builder.base_url(base_url).base_file_url(base_url.replace("/bot", "/file/bot", 1))
        self.application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self.commands = commands
        self.db = db
        self.sink = TelegramSink(self.application.bot, topics=self.forum_topic)
        self.lifecycle = lifecycle or ChatLifecycle(db)
        # the runtime's one Deliverer (every platform's sink), or one of its own (tests, the benchmark)
        self.deliverer = deliverer or Deliverer(db, {}, lifecycle=self.lifecycle)
        self.deliverer.register(self.sink)
        # told when the bot cannot go on (polling ended on its own); the runtime stops the process
        self.on_failure: Callable[[PlatformFailed], None] | None = None
        self._stopping = False
        self._storage_was_down = False  # the last command met an unreachable database
        self._polling_error: tuple[str, float] = ("", float("-inf"))  # the last one logged, and when
        self._install_handlers()

    # -- lifecycle ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect (``getMe``), register the command menu and start polling. Raises PlatformFailed, one
        line without the token, when Telegram rejects the token or cannot be reached."""
        app = self.application
        try:
            await app.initialize()
            await self.register_commands()
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False,
                error_callback=self._polling_failed,
            )
            self._watch_polling()
        except TelegramError as exc:
            await self._stop_quietly()
            if isinstance(exc, InvalidToken):  # its message quotes the token
                raise PlatformFailed(
                    "Telegram rejected TELEGRAM_BOT_TOKEN: check it with @BotFather (/mybots, API Token)."
                ) from None
            if isinstance(exc, NetworkError):  # TimedOut included; its message may hold the URL and token
                raise PlatformFailed(
                    f"cannot reach the Telegram Bot API ({type(exc).__name__}): check "
                    "TELEGRAM_API_BASE_URL and the network."
                ) from None
            raise PlatformFailed(f"Telegram refused to start the bot ({type(exc).__name__}).") from None
        me = app.bot.username
        logger.info("Telegram bot @%s started", me)

    def _polling_failed(self, error: TelegramError) -> None:
        """A failed getUpdates (python-telegram-bot retries it, backing off up to 30 s): one line a minute at
        most, not a traceback a poll."""
        now = time.monotonic()
        kind = type(error).__name__
        if kind != self._polling_error[0] or now - self._polling_error[1] >= 60:
            self._polling_error = (kind, now)
            logger.warning("Telegram polling failed (%s: %s); retrying", kind, str(error)[:200])
        else:
            logger.debug("Telegram polling failed again (%s)", kind)

    def _watch_polling(self) -> None:
        """Never run deaf: when polling ends on its own (python-telegram-bot gives up for good on a 401, a
        token revoked while running), ``on_failure`` is told, and the process stops with one line.

        PTB offers no public handle on its polling task: the attribute is looked up by its private name,
        and ``tests/e2e/test_telegram.py`` fails loudly if a PTB upgrade renames it."""
        updater = self.application.updater
        task = getattr(updater, "_Updater__polling_task", None)
        if not isinstance(task, asyncio.Task):
            raise RuntimeError("python-telegram-bot's polling task was not found: cannot watch it")
        task.add_done_callback(self._polling_ended)

    def _polling_ended(self, task: asyncio.Task[Any]) -> None:
        if self._stopping or task.cancelled():
            return
        error = task.exception()
        if isinstance(error, InvalidToken):
            failure = PlatformFailed(
                "Telegram rejected TELEGRAM_BOT_TOKEN while running (revoked or changed?): stopping; "
                "check it with @BotFather."
            )
        else:
            name = type(error).__name__ if error is not None else "no error"
            failure = PlatformFailed(f"Telegram polling stopped on its own ({name}): stopping.")
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
        app = self.application
        if app.updater is not None and app.updater.running:
            try:
                await app.updater.stop()
            except TelegramError:  # polling had already ended with this error, reported by _polling_ended
                logger.debug("polling had ended with an error", exc_info=True)
        if app.running:
            await app.stop()
        await app.shutdown()

    async def register_commands(self) -> None:
        for language in COMMAND_LANGUAGES:
            ui = language or "en"
            listing = [BotCommand(name, t(ui, f"cmd_{name}")[:256]) for name in COMMANDS]
            await self.application.bot.set_my_commands(
                listing, scope=BotCommandScopeDefault(), language_code=language or None
            )

    # -- handlers ------------------------------------------------------------------------------------------

    def _install_handlers(self) -> None:
        app = self.application
        messages = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST
        app.add_handler(CommandHandler([*COMMANDS, "stats"], self.on_command, filters=messages))
        app.add_handler(CallbackQueryHandler(self.on_callback, pattern=f"^{CALLBACK_PREFIX}:"))
        app.add_handler(ChatMemberHandler(self.on_membership, ChatMemberHandler.MY_CHAT_MEMBER))
        app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, self.on_migrate))
        app.add_handler(
            MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE & messages, self.on_unknown_command)
        )
        app.add_error_handler(self.on_error)

    def caller(self, update: Update) -> Caller:
        chat = update.effective_chat
        user = update.effective_user
        assert chat is not None
        return Caller(
            platform=PLATFORM,
            chat_key=str(chat.id),
            chat_kind="forum" if chat.is_forum else chat.type,
            title=chat.title or chat.username,
            user_language=user.language_code if user is not None else None,
        )

    def admin_check(self, update: Update) -> Callable[[], Awaitable[bool]]:
        async def is_admin() -> bool:
            chat = update.effective_chat
            message = update.effective_message
            assert chat is not None
            if chat.type == ChatType.CHANNEL:
                return True  # only administrators can post in a channel
            if message is not None and message.sender_chat is not None and message.sender_chat.id == chat.id:
                return True  # an anonymous group administrator
            user = update.effective_user
            if user is None:
                return False
            member = await self.application.bot.get_chat_member(chat.id, user.id)
            return member.status in (ChatMember.ADMINISTRATOR, ChatMember.OWNER)

        return is_admin

    async def on_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not message.text:
            return
        command = message.text.split(maxsplit=1)[0][1:].split("@", 1)[0]
        args = " ".join(context.args or [])
        reply = await self.commands.handle(
            self.caller(update), command, args, is_admin=self.admin_check(update)
        )
        if self._storage_was_down:
            self._storage_was_down = False
            logger.warning("database reachable again")
        await self.send_reply(update, reply, reply_to=str(message.message_id))

    async def on_unknown_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is None or not message.text:
            return
        command = message.text.split(maxsplit=1)[0][1:].split("@", 1)[0].lower()
        if command in COMMANDS:
            return
        reply = await self.commands.handle(
            self.caller(update), command, "", is_admin=self.admin_check(update)
        )
        await self.send_reply(update, reply)

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None or query.data is None or query.message is None:
            return
        reply = await self.commands.callback(
            self.caller(update), query.data, is_admin=self.admin_check(update)
        )
        if reply.alert:  # refused: only the one who tapped is told; the picker stays as it was
            await query.answer(reply.text[:200], show_alert=True)
            return
        await query.answer()
        target = target_of(update)
        try:
            await self.sink.edit(
                target,
                str(query.message.message_id),
                Outgoing("text", reply_html(reply)),
                keyboard=keyboard(reply),
            )
        except BadRequest as exc:
            logger.info("chat %s: picker not updated (%s)", target.chat_id, exc)

    async def on_membership(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        change: ChatMemberUpdated | None = update.my_chat_member
        if change is None:
            return
        status = change.new_chat_member.status
        chat_key = str(change.chat.id)
        if status in (ChatMember.BANNED, ChatMember.LEFT):
            await self.lifecycle.gone(PLATFORM, chat_key, "the bot was removed")
        elif status in (ChatMember.MEMBER, ChatMember.ADMINISTRATOR):
            await self.lifecycle.back(PLATFORM, chat_key)

    async def on_migrate(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A group became a supergroup: Telegram tells both chats; either message moves the stored chat."""
        message = update.effective_message
        if message is None:
            return
        if message.migrate_to_chat_id is not None:
            await self.migrate(str(message.chat.id), str(message.migrate_to_chat_id))
        elif message.migrate_from_chat_id is not None:
            await self.migrate(str(message.migrate_from_chat_id), str(message.chat.id))

    async def migrate(self, old: str, new: str) -> None:
        await self.lifecycle.moved(PLATFORM, old, new)

    async def mark_gone(self, chat_key: str) -> None:
        await self.lifecycle.gone(PLATFORM, chat_key, "blocked or removed the bot")

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        chat_key = None
        if isinstance(update, Update) and update.effective_chat is not None:
            chat_key = str(update.effective_chat.id)
        if isinstance(error, ChatGone | Forbidden) and chat_key is not None:
            await self.mark_gone(chat_key)
            return
        if isinstance(error, ChatMoved) and chat_key is not None:
            await self.migrate(chat_key, error.new_chat_id)
            return
        if isinstance(error, StorageUnavailable):
            await self._storage_down(update, error)
            return
        if isinstance(error, RateLimited | RetryAfter):  # Telegram asked for a longer wait than a reply gets
            logger.warning("chat %s: reply dropped, Telegram asked to wait (%s)", chat_key, error)
            return
        logger.error("update in chat %s failed", chat_key, exc_info=error)
        if isinstance(update, Update) and chat_key is not None and not isinstance(error, TelegramError):
            try:
                chat = await self.commands.chat_for(self.caller(update))
                await self.sink.send(target_of(update), self.sink.render_text(t(chat.language, "bot_error")))
            except Exception:  # the error reply is best effort
                logger.warning("could not tell chat %s about the error", chat_key, exc_info=True)

    async def _storage_down(self, update: object, error: StorageUnavailable) -> None:
        """The database cannot be reached: one log line per outage, and the chat is told to try again (in
        its user's language: the chat's own is in the database)."""
        if not self._storage_was_down:
            self._storage_was_down = True
            logger.warning(
                "database unavailable, commands are answered 'try again' until it is back: %s", error
            )
        if not isinstance(update, Update) or update.effective_chat is None:
            return
        language = self.commands.initial_language(self.caller(update))
        try:
            await self.sink.send(target_of(update), self.sink.render_text(t(language, "bot_storage_down")))
        except Exception:
            logger.debug("could not tell the chat the database is down", exc_info=True)

    # -- replies --------------------------------------------------------------------------------------------

    async def send_reply(self, update: Update, reply: Reply, *, reply_to: str | None = None) -> None:
        base = target_of(update)
        target = Target(base.chat_id, base.kind, base.thread_id, reply.language)
        if reply.digest is not None:
            chat = await self.commands.chat_for(self.caller(update))
            await self.deliverer.deliver(chat, reply.digest, scheduled=False)
            return
        if reply.entry is not None:
            parts = self.sink.render_footnote(reply.entry, language=reply.language, ref=None)
            if reply.notices:
                notices = "\n".join(f"<i>{html.escape(n, quote=False)}</i>" for n in reply.notices)
                parts[-1] = Outgoing(parts[-1].role, parts[-1].text + "\n" + notices)
            for part in parts:
                await self.sink.send(target, part, reply_to=reply_to)
            return
        message = Outgoing("text", reply_html(reply))
        await self.sink.send(target, message, reply_to=reply_to, keyboard=keyboard(reply))

    async def forum_topic(self, bot: Bot, target: Target, name: str) -> str | None:
        """The forum topic for ``name`` (a category) in a forum chat: created once, its id stored. None when
        the bot may not manage topics there."""
        async with self.db.session() as session:
            chat = await ChatRepository(session).get(PLATFORM, target.chat_id)
            if chat is None:
                return None
            stored = await TopicRepository(session).get(chat.id, name)
        if stored is not None:
            return stored
        try:
            topic = await bot.create_forum_topic(int(target.chat_id), name[:128])
        except (BadRequest, Forbidden) as exc:
            logger.info("chat %s: no forum topic for %s (%s); posting in General", target.chat_id, name, exc)
            return None
        thread = str(topic.message_thread_id)
        async with self.db.session() as session:
            await TopicRepository(session).put(chat.id, name, thread)
            await session.commit()
        return thread
