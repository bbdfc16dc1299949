"""The fake Telegram Bot API (tests/fakes/telegram_server.py) driven by the real python-telegram-bot."""

from __future__ import annotations

import asyncio
import datetime as dtm
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import telegram
from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    ChatMemberAdministrator,
    ChatMemberLeft,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.fakes.telegram_server import ApiError, FakeTelegram, parse_html, utf16_len

TOKEN = "123456789:TEST-token"
USER = 4242
GROUP = -1001234567890


@pytest.fixture(autouse=True)
def _timedelta_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """PTB 22 returns ``retry_after`` as a timedelta with this set (the future default), without a warning."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(token=TOKEN, max_long_poll=0.2) as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(TOKEN, base_url=fake.base_url) as client:
        yield client


# -- basics -------------------------------------------------------------------------------------------------


async def test_get_me(bot: telegram.Bot, fake: FakeTelegram) -> None:
    me = await bot.get_me()
    assert me.id == 123456789
    assert me.is_bot
    assert me.username == "arxiv_digest_test_bot"
    assert bot.username == "arxiv_digest_test_bot"  # filled by initialize()
    assert fake.recorded("getMe")[0].status == 200


async def test_wrong_token_is_invalid_token(fake: FakeTelegram) -> None:
    wrong = telegram.Bot("123456789:WRONG", base_url=fake.base_url)
    with pytest.raises(InvalidToken):
        await wrong.initialize()
    with pytest.raises(InvalidToken, match=r"(?i)Unauthorized"):
        await wrong.get_me()
    await wrong.shutdown()
    assert fake.calls("getMe") == []  # rejected before dispatch, nothing recorded


async def test_unknown_method_is_not_found(bot: telegram.Bot) -> None:
    with pytest.raises(telegram.error.EndPointNotFound):
        await bot.do_api_request("sendHologram", api_kwargs={"chat_id": USER})


# -- sendMessage --------------------------------------------------------------------------------------------


async def test_send_html_is_stored_as_plain_text_and_entities(bot: telegram.Bot, fake: FakeTelegram) -> None:
    html = (
        '<b>[1]</b> <a href="https://arxiv.org/abs/2403.19243">A title &amp; more</a> — 😀 summary\n'
        "<blockquote expandable>Long abstract</blockquote>\n<blockquote>Short</blockquote>"
    )
    message = await bot.send_message(USER, html, parse_mode="HTML")
    plain = "[1] A title & more — 😀 summary\nLong abstract\nShort"
    assert message.text == plain
    assert message.chat.type == "private"
    by_type = {e.type: e for e in message.entities}
    assert set(by_type) == {
        MessageEntity.BOLD,
        MessageEntity.TEXT_LINK,
        MessageEntity.EXPANDABLE_BLOCKQUOTE,
        MessageEntity.BLOCKQUOTE,
    }
    link = by_type[MessageEntity.TEXT_LINK]
    assert link.url == "https://arxiv.org/abs/2403.19243"
    assert message.parse_entity(link) == "A title & more"
    assert message.parse_entity(by_type[MessageEntity.EXPANDABLE_BLOCKQUOTE]) == "Long abstract"
    assert message.parse_entity(by_type[MessageEntity.BLOCKQUOTE]) == "Short"
    # The offsets after the emoji are in UTF-16 units: PTB's own parse_entity agrees above.
    stored = fake.sent(USER)
    assert len(stored) == 1
    assert stored[0]["text"] == plain
    assert stored[0]["raw_text"] == html
    assert stored[0]["parse_mode"] == "HTML"
    assert {e["type"] for e in stored[0]["entities"]} == set(by_type)


async def test_send_plain_text_with_entities(bot: telegram.Bot, fake: FakeTelegram) -> None:
    entities = [
        MessageEntity(MessageEntity.BOLD, 0, 5),
        MessageEntity(MessageEntity.TEXT_LINK, 6, 4, url="https://x.org"),
    ]
    message = await bot.send_message(USER, "Hello link", entities=entities)
    assert message.text == "Hello link"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [("bold", 0, 5), ("text_link", 6, 4)]
    assert fake.sent(USER)[0]["entities"][1]["url"] == "https://x.org"


@pytest.mark.parametrize(
    ("html", "detail"),
    [
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<div>x</div>", 'Unsupported start tag "div"'),
        ("<b><i>x</b></i>", "Unmatched end tag"),
        ("a & b", 'Unsupported HTML entity "&"'),
    ],
)
async def test_bad_html_is_bad_request(bot: telegram.Bot, fake: FakeTelegram, html: str, detail: str) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities") as info:
        await bot.send_message(USER, html, parse_mode="HTML")
    # PTB drops "Bad Request: " and capitalises the rest (lower-casing it), so compare case-insensitively.
    assert detail.lower() in info.value.message.lower()
    assert fake.sent(USER) == []
    assert fake.recorded("sendMessage")[0].status == 400


async def test_length_limit_counts_utf16(bot: telegram.Bot, fake: FakeTelegram) -> None:
    exact = "😀" * 2048  # 2048 characters, 4096 UTF-16 code units
    assert utf16_len(exact) == 4096
    message = await bot.send_message(USER, exact)
    assert message.text == exact
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(USER, exact + "a")
    # Markup does not count, only the parsed text; surrounding whitespace is trimmed first.
    await bot.send_message(USER, f"  <b>{'x' * 4096}</b>\n", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(USER, "<b> </b>", parse_mode="HTML")
    assert len(fake.sent(USER)) == 2


async def test_reply_parameters_fill_reply_to_message(bot: telegram.Bot, fake: FakeTelegram) -> None:
    summary = await bot.send_message(USER, "summary")
    detail = await bot.send_message(USER, "detail", reply_parameters=ReplyParameters(summary.message_id))
    assert detail.reply_to_message is not None
    assert detail.reply_to_message.message_id == summary.message_id
    assert detail.reply_to_message.text == "summary"
    assert fake.sent(USER)[1]["reply_to_message"]["message_id"] == summary.message_id
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(USER, "x", reply_parameters=ReplyParameters(999))
    lenient = await bot.send_message(
        USER, "y", reply_parameters=ReplyParameters(999, allow_sending_without_reply=True)
    )
    assert lenient.reply_to_message is None


async def test_forum_topic_and_message_thread_id(bot: telegram.Bot, fake: FakeTelegram) -> None:
    fake.make_forum(GROUP)
    topic = await bot.create_forum_topic(GROUP, "arXiv hep-th")
    assert topic.name == "arXiv hep-th"
    message = await bot.send_message(GROUP, "in the topic", message_thread_id=topic.message_thread_id)
    assert message.message_thread_id == topic.message_thread_id
    assert message.is_topic_message
    assert message.chat.is_forum
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await bot.send_message(GROUP, "x", message_thread_id=topic.message_thread_id + 100)
    # A reply inherits the topic of its target.
    reply = await bot.send_message(GROUP, "reply", reply_parameters=ReplyParameters(message.message_id))
    assert reply.message_thread_id == topic.message_thread_id
    # Outside forums the thread id is ignored.
    plain = await bot.send_message(USER, "dm", message_thread_id=5)
    assert plain.message_thread_id is None
    service = fake.messages(GROUP)[0]
    assert service["forum_topic_created"]["name"] == "arXiv hep-th"


async def test_create_forum_topic_needs_rights(bot: telegram.Bot, fake: FakeTelegram) -> None:
    fake.make_forum(GROUP, can_manage_topics=False)
    with pytest.raises(BadRequest, match=r"(?i)not enough rights to create a topic"):
        await bot.create_forum_topic(GROUP, "nope")


async def test_edit_message_text(bot: telegram.Bot, fake: FakeTelegram) -> None:
    sent = await bot.send_message(USER, "<i>draft</i>", parse_mode="HTML")
    edited = await bot.edit_message_text(
        "<b>final</b>", chat_id=USER, message_id=sent.message_id, parse_mode="HTML"
    )
    assert isinstance(edited, telegram.Message)
    assert edited.text == "final"
    assert edited.edit_date is not None
    assert [e.type for e in edited.entities] == [MessageEntity.BOLD]
    assert fake.sent(USER)[0]["text"] == "final"
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "<b>final</b>", chat_id=USER, message_id=sent.message_id, parse_mode="HTML"
        )
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=USER, message_id=999)


async def test_inline_keyboard_is_stored(bot: telegram.Bot, fake: FakeTelegram) -> None:
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("More", callback_data="more:1"),
                InlineKeyboardButton("arXiv", url="https://arxiv.org"),
            ]
        ]
    )
    message = await bot.send_message(USER, "pick", reply_markup=markup)
    assert message.reply_markup == markup
    stored = fake.sent(USER)[0]["reply_markup"]
    assert stored["inline_keyboard"][0][0] == {"text": "More", "callback_data": "more:1"}
    assert stored["inline_keyboard"][0][1]["url"] == "https://arxiv.org"
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(
            USER,
            "x",
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="x" * 65)]]),
        )
    cleared = await bot.edit_message_reply_markup(USER, message.message_id, reply_markup=None)
    assert isinstance(cleared, telegram.Message)
    assert cleared.reply_markup is None
    assert "reply_markup" not in fake.sent(USER)[0]


async def test_link_preview_options_recorded(bot: telegram.Bot, fake: FakeTelegram) -> None:
    message = await bot.send_message(
        USER, "https://arxiv.org/abs/2403.19243", link_preview_options=LinkPreviewOptions(is_disabled=True)
    )
    assert message.link_preview_options is not None
    assert message.link_preview_options.is_disabled
    assert fake.calls("sendMessage")[0]["link_preview_options"] == {"is_disabled": True}
    assert fake.sent(USER)[0]["link_preview_options"] == {"is_disabled": True}


# -- failures -----------------------------------------------------------------------------------------------


async def test_injected_429_is_retry_after(bot: telegram.Bot, fake: FakeTelegram) -> None:
    fake.inject(ApiError.retry_after(3), method="sendMessage", chat_id=USER)
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(USER, "first")
    assert info.value.retry_after == dtm.timedelta(seconds=3)
    assert fake.sent(USER) == []
    assert fake.recorded("sendMessage")[0].status == 429
    await bot.send_message(USER, "second")  # served once only
    assert [m["text"] for m in fake.sent(USER)] == ["second"]


async def test_injected_rule_matches_chat_only(bot: telegram.Bot, fake: FakeTelegram) -> None:
    fake.inject(ApiError.server_error(), chat_id=USER, times=2)
    await bot.send_message(USER + 1, "other chat")
    for _ in range(2):
        with pytest.raises(telegram.error.NetworkError, match=r"(?i)Bad Gateway"):
            await bot.send_message(USER, "x")
    await bot.send_message(USER, "now")
    assert [m["text"] for m in fake.sent(USER)] == ["now"]


async def test_blocked_chat_is_forbidden(bot: telegram.Bot, fake: FakeTelegram) -> None:
    await bot.send_message(USER, "before")
    fake.block_chat(USER)
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await bot.send_message(USER, "after")
    fake.block_chat(-42, kicked=True)
    with pytest.raises(Forbidden, match=r"(?i)kicked"):
        await bot.send_message(-42, "x")
    assert [m["text"] for m in fake.sent(USER)] == ["before"]


async def test_migrated_chat(bot: telegram.Bot, fake: FakeTelegram) -> None:
    fake.add_chat(-42, title="Physics")
    fake.migrate_chat(-42, GROUP)
    with pytest.raises(ChatMigrated) as info:
        await bot.send_message(-42, "x")
    assert info.value.new_chat_id == GROUP
    message = await bot.send_message(info.value.new_chat_id, "moved")
    assert message.chat.type == "supergroup"
    assert message.chat.title == "Physics"


async def test_strict_chats_chat_not_found(fake: FakeTelegram) -> None:
    fake.strict_chats = True
    async with telegram.Bot(TOKEN, base_url=fake.base_url) as bot:
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.send_message(777, "x")
        fake.add_chat(777)
        assert (await bot.send_message(777, "x")).chat.id == 777


async def test_flood_limit_per_private_chat() -> None:
    with FakeTelegram(token=TOKEN, enforce_rate_limits=True, scale=2) as fake:
        async with telegram.Bot(TOKEN, base_url=fake.base_url) as bot:
            await bot.send_message(USER, "one")
            await bot.send_message(USER + 1, "another chat is fine")
            with pytest.raises(RetryAfter) as info:
                await bot.send_message(USER, "two")
            wait = info.value.retry_after
            assert isinstance(wait, dtm.timedelta)
            assert dtm.timedelta(0) < wait <= dtm.timedelta(seconds=1 / 2)
            assert fake.rate_limited == 1
            await asyncio.sleep(wait.total_seconds())
            await bot.send_message(USER, "two")
        assert [m["text"] for m in fake.sent(USER)] == ["one", "two"]


async def test_flood_limit_group_burst() -> None:
    with FakeTelegram(token=TOKEN, enforce_rate_limits=True, scale=10) as fake:
        async with telegram.Bot(TOKEN, base_url=fake.base_url) as bot:
            results = await asyncio.gather(
                *(bot.send_message(GROUP, f"m{i}") for i in range(22)), return_exceptions=True
            )
        refused = [r for r in results if isinstance(r, RetryAfter)]
        assert len(refused) == 2  # 20 per minute per group (here 20 per 6 s)
        assert fake.rate_limited == 2
        assert len(fake.sent(GROUP)) == 20


# -- commands and members -----------------------------------------------------------------------------------


async def test_my_commands_per_language_and_scope(bot: telegram.Bot, fake: FakeTelegram) -> None:
    assert await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("paper", "Show a paper")])
    assert await bot.set_my_commands([BotCommand("start", "Starten")], language_code="de")
    assert await bot.set_my_commands(
        [BotCommand("subscribe", "Subscribe the group")], scope=BotCommandScopeAllGroupChats()
    )
    default = await bot.get_my_commands()
    german = await bot.get_my_commands(language_code="de")
    groups = await bot.get_my_commands(scope=BotCommandScopeAllGroupChats())
    assert [c.command for c in default] == ["start", "paper"]
    assert [(c.command, c.description) for c in german] == [("start", "Starten")]
    assert [c.command for c in groups] == ["subscribe"]
    assert await bot.get_my_commands(language_code="fr") == ()
    assert fake.commands(language_code="de") == [{"command": "start", "description": "Starten"}]
    assert await bot.delete_my_commands(language_code="de")
    assert await bot.get_my_commands(language_code="de") == ()
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Bad-Name", "x")])


async def test_get_chat_member_for_admin_checks(bot: telegram.Bot, fake: FakeTelegram) -> None:
    fake.add_chat(GROUP, title="Physics")
    fake.set_member(GROUP, 1, "creator")
    fake.set_member(GROUP, 2, "administrator")
    fake.set_member(GROUP, bot.id, "administrator", can_manage_topics=True)
    owner = await bot.get_chat_member(GROUP, 1)
    admin = await bot.get_chat_member(GROUP, 2)
    stranger = await bot.get_chat_member(GROUP, 3)
    me = await bot.get_chat_member(GROUP, bot.id)
    assert isinstance(owner, ChatMemberOwner)
    assert isinstance(admin, ChatMemberAdministrator)
    assert isinstance(stranger, ChatMemberLeft)
    assert isinstance(me, ChatMemberAdministrator)
    assert me.can_manage_topics
    admins = await bot.get_chat_administrators(GROUP)
    assert {m.user.id for m in admins} == {1, 2, bot.id}
    chat = await bot.get_chat(GROUP)
    assert chat.title == "Physics"
    assert chat.type == "supergroup"


# -- polling with an Application ----------------------------------------------------------------------------


async def test_application_polling_command_and_callback(fake: FakeTelegram) -> None:
    seen: list[str] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        seen.append(f"start:{update.effective_message.text}")
        await update.effective_message.reply_text(
            "Welcome",
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("Go", callback_data="go:1")]]),
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        seen.append(f"callback:{query.data}")
        await query.answer("Done")

    app = Application.builder().token(TOKEN).base_url(fake.base_url).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    user = fake.add_user(USER, first_name="Ada", language_code="de")
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=1))
    try:
        fake.queue_message(USER, user, "/start")
        await fake.wait_for(lambda: len(fake.sent(USER)) == 1, timeout=5)
        welcome = fake.sent(USER)[0]
        assert welcome["text"] == "Welcome"
        query_id = fake.queue_callback_query(USER, user, welcome["message_id"], "go:1")
        await fake.wait_for(lambda: query_id in fake.answered_callbacks(), timeout=5)
    finally:
        started = time.monotonic()
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        assert time.monotonic() - started < 3
    assert seen == ["start:/start", "callback:go:1"]
    assert fake.answered_callbacks()[query_id]["text"] == "Done"
    assert fake.pending_updates() == 0  # Updater.stop() confirms what it handled with a last getUpdates
    assert len(fake.calls("answerCallbackQuery")) == 1
    assert [m["from"]["id"] for m in fake.messages(USER)] == [USER, fake.bot.id]
    assert fake.calls("deleteWebhook")


async def test_get_updates_offset_and_allowed_updates(bot: telegram.Bot, fake: FakeTelegram) -> None:
    fake.queue_message(USER, USER, "hello")
    fake.queue_callback_query(USER, USER, 1, "x")
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text if u.message else None for u in updates] == ["hello", None]
    assert updates[1].callback_query is not None
    again = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    assert again == ()
    fake.queue_callback_query(USER, USER, 1, "y")
    fake.queue_message(USER, USER, "only messages")
    only = await bot.get_updates(timeout=0, allowed_updates=["message"])
    assert [u.message.text for u in only if u.message] == ["only messages"]
    assert len(only) == 1
    started = time.monotonic()
    assert await bot.get_updates(offset=only[0].update_id + 1, timeout=5) == ()
    assert time.monotonic() - started < 1  # capped by max_long_poll


def test_parse_html_offsets_are_utf16() -> None:
    text, entities = parse_html('😀 <b>x</b> <pre><code class="language-python">print()</code></pre>')
    assert text == "😀 x print()"
    assert entities[0] == {"offset": 3, "length": 1, "type": "bold"}
    assert {"offset": 5, "length": 7, "type": "pre", "language": "python"} in entities

    # Telegram itself tolerates a bare "&"; the fake does so too when asked.
    assert parse_html("a & b", strict_entities=False) == ("a & b", [])
    assert parse_html("&lt;&#x1F600;&#33;&quot;") == ('<😀!"', [])
