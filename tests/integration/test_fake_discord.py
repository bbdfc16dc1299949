"""The fake Discord (tests/fakes/discord_server.py) driven by the real discord.py client."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import discord
import pytest
import yarl
from discord import app_commands

from tests.fakes.discord_server import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    ApiError,
    Failure,
    FakeDiscord,
    FakeUser,
    Permission,
)

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GfAkEx.fake-discord-bot-token"
APP_ID = 123456789012345678  # the token's first segment is base64("123456789012345678"), as on Discord
GUILD = 700000000000000001
TEXT = 700000000000000011
FORUM = 700000000000000012
ADMIN_ID = 800000000000000001
MEMBER_ID = 800000000000000002
MANAGE_CHANNELS = int(Permission.MANAGE_CHANNELS)
ADMIN_PERMISSIONS = int(Permission.MANAGE_CHANNELS | Permission.VIEW_CHANNEL | Permission.SEND_MESSAGES)


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    with FakeDiscord(token=TOKEN, application_id=APP_ID) as server:
        server.add_guild(GUILD, name="Physics")
        server.add_text_channel(GUILD, TEXT, name="papers")
        server.add_forum_channel(GUILD, FORUM, name="digests")
        server.add_member(GUILD, FakeUser(ADMIN_ID, "ada"), permissions=ADMIN_PERMISSIONS)
        server.add_member(GUILD, FakeUser(MEMBER_ID, "bob"))
        yield server
        assert server.internal_errors == []


@pytest.fixture(autouse=True)
def _point_discord_at(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Route.BASE / DEFAULT_GATEWAY at the fake of the test (restored by monkeypatch afterwards)."""
    if "fake" not in request.fixturenames:
        return
    server: FakeDiscord = request.getfixturevalue("fake")
    monkeypatch.setattr(discord.http.Route, "BASE", server.api_base)
    monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(server.gateway_url))


def test_endpoints_are_restored_after_each_test() -> None:
    assert discord.http.Route.BASE == "https://discord.com/api/v10"
    assert yarl.URL("wss://gateway.discord.gg/") == discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY


def make_client(**options: Any) -> tuple[discord.Client, app_commands.CommandTree[discord.Client]]:
    intents = options.pop("intents", discord.Intents.default())
    # discord.py waits guild_ready_timeout (2 s by default) after the last GUILD_CREATE before on_ready.
    client = discord.Client(intents=intents, guild_ready_timeout=0.05, **options)
    return client, app_commands.CommandTree(client)


@contextlib.asynccontextmanager
async def running(client: discord.Client, token: str = TOKEN) -> AsyncIterator[discord.Client]:
    """Log in, connect in the background and wait for on_ready; close the client afterwards."""
    try:
        await client.login(token)
        task = asyncio.create_task(client.connect())
        ready = asyncio.create_task(client.wait_until_ready())
        done, _ = await asyncio.wait({task, ready}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            ready.cancel()
            task.result()  # raises what connect() raised
            raise AssertionError("connect() returned before READY")
        assert ready in done, "client not ready within 5 s"
        yield client
    finally:
        await client.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 5)


# -- login and gateway --------------------------------------------------------------------------------------


async def test_login_connect_ready_and_guild_create(fake: FakeDiscord) -> None:
    fake.set_bot_permissions(FORUM, int(Permission.VIEW_CHANNEL))
    thread_parent = fake.add_text_channel(GUILD, name="with-thread")
    client, _ = make_client()
    async with running(client):
        assert client.user is not None
        assert client.user.id == APP_ID
        assert client.user.bot
        assert client.application_id == APP_ID
        guild = client.get_guild(GUILD)
        assert guild is not None
        assert guild.name == "Physics"
        text = guild.get_channel(TEXT)
        forum = guild.get_channel(FORUM)
        assert isinstance(text, discord.TextChannel)
        assert isinstance(forum, discord.ForumChannel)
        assert guild.get_channel(thread_parent) is not None
        # discord.py computes the bot's permissions from the roles and overwrites the fake sent.
        assert text.permissions_for(guild.me) >= discord.Permissions(DEFAULT_BOT_PERMISSIONS)
        assert not text.permissions_for(guild.me).manage_channels
        assert forum.permissions_for(guild.me).value == Permission.VIEW_CHANNEL
        assert guild.me.guild_permissions.embed_links
    routes = [r.route for r in fake.recorded()]
    assert routes[:2] == ["GET /users/@me", "GET /oauth2/applications/@me"]
    assert "GET /gateway/bot" not in routes  # a plain Client goes straight to DEFAULT_GATEWAY
    (identify,) = fake.identify_payloads()
    assert identify["token"] == TOKEN
    assert identify["intents"] == discord.Intents.default().value
    assert fake.gateway_connections()[0]["query"] == {
        "v": "10",
        "encoding": "json",
        "compress": "zlib-stream",
    }
    (ready,) = fake.dispatched("READY")
    assert ready["guilds"] == [{"id": str(GUILD), "unavailable": True}]
    assert ready["resume_gateway_url"] == fake.gateway_url
    assert [g["id"] for g in fake.dispatched("GUILD_CREATE")] == [str(GUILD)]


async def test_wrong_token_is_login_failure(fake: FakeDiscord) -> None:
    client, _ = make_client()
    with pytest.raises(discord.LoginFailure):
        await client.login("MTIz.wrong.token")
    await client.close()
    (request,) = fake.recorded("GET /users/@me")
    assert request.status == 401


async def test_wrong_gateway_token_closes_with_4004(fake: FakeDiscord) -> None:
    client, _ = make_client()
    await client.login(TOKEN)
    client.http.token = "MTIz.wrong.token"  # what DiscordWebSocket.identify sends
    with pytest.raises(discord.ConnectionClosed) as info:
        await asyncio.wait_for(client.connect(reconnect=False), 5)
    await client.close()
    assert info.value.code == 4004
    assert fake.gateway_connections()[0]["closed_code"] == 4004
    assert not fake.connected()


async def test_privileged_intents_need_enabling(fake: FakeDiscord) -> None:
    intents = discord.Intents.default()
    intents.message_content = True
    client, _ = make_client(intents=intents)
    await client.login(TOKEN)
    with pytest.raises(discord.PrivilegedIntentsRequired):
        await asyncio.wait_for(client.connect(), 5)
    await client.close()
    fake.privileged_intents = int(discord.Intents(message_content=True).value)
    client, _ = make_client(intents=intents)
    async with running(client):
        assert fake.identify_payloads()[-1]["intents"] == intents.value


async def test_resume_after_a_dropped_gateway(fake: FakeDiscord) -> None:
    client, tree = make_client()
    seen: list[str] = []

    @tree.command(name="ping", description="Are you there?")
    async def ping(interaction: discord.Interaction) -> None:
        seen.append("ping")
        await interaction.response.send_message("pong")

    async with running(client):
        await tree.sync()
        fake.close_gateway(4000)  # a close code discord.py handles by RESUMEing
        await fake.wait_for(lambda: len(fake.resume_payloads()) == 1 and fake.connected())
        iid = fake.slash(GUILD, TEXT, MEMBER_ID, "ping")
        await fake.wait_for(lambda: bool(fake.callbacks(iid)))
        fake.reconnect()  # op 7: discord.py closes and resumes at resume_gateway_url
        await fake.wait_for(lambda: len(fake.resume_payloads()) == 2 and fake.connected())
    assert len(fake.identify_payloads()) == 1
    assert fake.resume_payloads()[0]["session_id"] == fake.dispatched("READY")[0]["session_id"]
    assert seen == ["ping"]
    assert len(fake.dispatched("RESUMED")) == 2


async def test_raw_gateway_protocol(fake: FakeDiscord) -> None:
    """The wire format without discord.py: zlib-stream frames, HELLO, heartbeat ACK, READY, close codes."""
    streams: dict[int, Any] = {}  # one zlib stream per connection

    async def receive(ws: aiohttp.ClientWebSocketResponse) -> Any:
        message = await ws.receive(timeout=2)
        assert message.type == aiohttp.WSMsgType.BINARY
        assert message.data.endswith(b"\x00\x00\xff\xff")  # every payload flushed with Z_SYNC_FLUSH
        inflate = streams.setdefault(id(ws), zlib.decompressobj())
        return json.loads(inflate.decompress(message.data))

    async with aiohttp.ClientSession() as session:
        url = f"{fake.gateway_url}?v=10&encoding=json&compress=zlib-stream"
        async with session.ws_connect(url) as ws:
            hello = await receive(ws)
            assert hello["op"] == 10
            assert hello["d"]["heartbeat_interval"] == 41250
            await ws.send_json({"op": 1, "d": None})
            assert (await receive(ws))["op"] == 11
            await ws.send_json({"op": 3, "d": {"status": "online"}})  # before IDENTIFY
            assert (await ws.receive(timeout=2)).type == aiohttp.WSMsgType.CLOSE
            assert ws.close_code == 4003
        async with session.ws_connect(url) as ws:
            await receive(ws)
            await ws.send_json({"op": 2, "d": {"token": TOKEN, "intents": 1, "properties": {}}})
            ready = await receive(ws)
            assert (ready["op"], ready["t"], ready["s"]) == (0, "READY", 1)
            guild_create = await receive(ws)
            assert (guild_create["t"], guild_create["s"]) == ("GUILD_CREATE", 2)
            assert {c["type"] for c in guild_create["d"]["channels"]} == {0, 15}
            await ws.send_json({"op": 99, "d": None})
            assert (await ws.receive(timeout=2)).type == aiohttp.WSMsgType.CLOSE
            assert ws.close_code == 4001
        async with session.ws_connect(f"{fake.gateway_url}?v=9&encoding=json") as ws:
            assert (await ws.receive(timeout=2)).type == aiohttp.WSMsgType.CLOSE
            assert ws.close_code == 4012


# -- application commands -----------------------------------------------------------------------------------


def add_commands(tree: app_commands.CommandTree[discord.Client], calls: list[Any]) -> None:
    categories = [app_commands.Choice(name=n, value=n) for n in ("cs.LG", "hep-th")]

    @tree.command(name="subscribe", description="Subscribe this chat to an arXiv category")
    @app_commands.describe(categories="arXiv categories", hour="Delivery hour (UTC)")
    @app_commands.default_permissions(manage_channels=True)
    async def subscribe(interaction: discord.Interaction, categories: str, hour: int = 6) -> None:
        calls.append(("subscribe", categories, hour, interaction.permissions, interaction.app_permissions))
        await interaction.response.send_message(f"Subscribed to {categories} at {hour}:00", ephemeral=True)

    @subscribe.autocomplete("categories")
    async def complete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [c for c in categories if c.name.startswith(current)]

    @tree.command(name="digest", description="Today's digest")
    async def digest(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        calls.append("deferred")
        await interaction.followup.send(embed=discord.Embed(title="Digest", description="3 new papers"))
        await interaction.followup.send("and one more thing")
        edited = await interaction.edit_original_response(content="Digest for today")
        fetched = await interaction.original_response()
        calls.append((edited.id, fetched.content))

    settings = app_commands.Group(name="settings", description="Chat settings")

    @settings.command(name="language", description="Translation language")
    @app_commands.choices(code=[app_commands.Choice(name="German", value="DE")])
    async def language(interaction: discord.Interaction, code: app_commands.Choice[str]) -> None:
        calls.append(("language", code.value))
        await interaction.response.send_message(f"Language: {code.name}")

    tree.add_command(settings)


async def test_tree_sync_registers_commands(fake: FakeDiscord) -> None:
    client, tree = make_client()
    add_commands(tree, [])
    async with running(client):
        synced = await tree.sync()
        guild_synced = await tree.sync(guild=discord.Object(GUILD))
        fetched = await tree.fetch_commands()
    assert sorted(c.name for c in synced) == ["digest", "settings", "subscribe"]
    assert guild_synced == []
    assert [c.id for c in fetched] == [c.id for c in synced]
    registered = {c["name"]: c for c in fake.commands()}
    subscribe = registered["subscribe"]
    assert subscribe["default_member_permissions"] == str(MANAGE_CHANNELS)
    assert [(o["name"], o["type"], o.get("required", False)) for o in subscribe["options"]] == [
        ("categories", 3, True),
        ("hour", 4, False),
    ]
    assert subscribe["options"][0]["autocomplete"] is True
    assert registered["settings"]["options"][0]["type"] == 1  # a subcommand
    assert fake.commands(GUILD) == []
    put = fake.recorded("PUT /applications/{application_id}/commands")[0]
    assert put.path == f"/applications/{APP_ID}/commands"
    assert put.status == 200


@pytest.mark.parametrize(
    ("command", "where"),
    [
        ({"name": "Subscribe", "description": "x"}, "In 0.name: Command name is invalid"),
        ({"name": "with space", "description": "x"}, "In 0.name: Command name is invalid"),
        ({"name": "x" * 33, "description": "x"}, "In 0.name: Command name is invalid"),
        ({"name": "ok", "description": "d" * 101}, "In 0.description: Must be between 1 and 100 in length."),
        ({"name": "ok"}, "In 0.description: This field is required"),
        (
            {"name": "ok", "description": "x", "options": [{"type": 3, "name": "o", "description": ""}]},
            "In 0.options.0.description: Must be between 1 and 100 in length.",
        ),
        (
            {
                "name": "ok",
                "description": "x",
                "options": [
                    {"type": 3, "name": "a", "description": "a"},
                    {"type": 3, "name": "b", "description": "b", "required": True},
                ],
            },
            "Required options must be placed before non-required options",
        ),
    ],
)
async def test_invalid_commands_are_invalid_form_body(fake: FakeDiscord, command: Any, where: str) -> None:
    client, _ = make_client()
    await client.login(TOKEN)  # discord.py validates names itself, so send the raw payload
    try:
        with pytest.raises(discord.HTTPException) as info:
            await client.http.bulk_upsert_global_commands(APP_ID, payload=[command])
    finally:
        await client.close()
    assert info.value.status == 400
    assert info.value.code == 50035
    assert where in info.value.text
    assert fake.commands() == []


async def test_slash_command_reply_with_permissions(fake: FakeDiscord) -> None:
    calls: list[Any] = []
    client, tree = make_client()
    add_commands(tree, calls)
    async with running(client):
        await tree.sync()
        iid = fake.slash(GUILD, TEXT, ADMIN_ID, "subscribe", {"categories": "cs.LG", "hour": 7})
        await fake.wait_for(lambda: bool(fake.callbacks(iid)))
        iid_default = fake.slash(
            GUILD, TEXT, MEMBER_ID, "subscribe", {"categories": "hep-th"}, permissions=MANAGE_CHANNELS
        )
        await fake.wait_for(lambda: bool(fake.callbacks(iid_default)))
    (callback,) = fake.callbacks(iid)
    assert callback["type"] == 4
    assert callback["data"]["content"] == "Subscribed to cs.LG at 7:00"
    assert callback["data"]["flags"] == 64  # ephemeral
    _, _, hour, permissions, app_permissions = calls[0]
    assert hour == 7
    assert permissions.manage_channels
    assert app_permissions.value == DEFAULT_BOT_PERMISSIONS | DEFAULT_EVERYONE_PERMISSIONS
    assert calls[1][1:3] == ("hep-th", 6)
    original = fake.original(iid)
    assert original is not None
    assert original["flags"] & 64
    assert original["interaction_metadata"]["user"]["id"] == str(ADMIN_ID)
    assert fake.messages(TEXT)[0]["content"] == "Subscribed to cs.LG at 7:00"
    callback_request = fake.recorded("POST /interactions/{interaction_id}/{interaction_token}/callback")[0]
    assert callback_request.query == {"with_response": "1"}
    assert callback_request.status == 200


async def test_guild_commands(fake: FakeDiscord) -> None:
    calls: list[Any] = []
    client, tree = make_client()
    add_commands(tree, calls)
    async with running(client):
        tree.copy_global_to(guild=discord.Object(GUILD))
        synced = await tree.sync(guild=discord.Object(GUILD))
        iid = fake.slash(GUILD, TEXT, MEMBER_ID, "settings language", {"code": "DE"})
        await fake.wait_for(lambda: bool(fake.callbacks(iid)))
        with pytest.raises(ValueError, match="no registered slash command"):
            fake.slash(None, None, MEMBER_ID, "settings language", {"code": "DE"})  # guild commands only
    assert sorted(c["name"] for c in fake.commands(GUILD)) == sorted(c.name for c in synced)
    assert all(c["guild_id"] == str(GUILD) for c in fake.commands(GUILD))
    assert fake.commands() == []
    (interaction,) = fake.dispatched("INTERACTION_CREATE")
    assert interaction["data"]["guild_id"] == str(GUILD)
    assert calls == [("language", "DE")]


async def test_slash_refused_where_discord_would_not_offer_it(fake: FakeDiscord) -> None:
    client, tree = make_client()
    add_commands(tree, [])
    async with running(client):
        await tree.sync()
        with pytest.raises(ValueError, match="default_member_permissions"):
            fake.slash(GUILD, TEXT, MEMBER_ID, "subscribe", {"categories": "cs.LG"})
        with pytest.raises(ValueError, match="no registered slash command"):
            fake.slash(GUILD, TEXT, ADMIN_ID, "unsubscribe")
        with pytest.raises(ValueError, match="required option"):
            fake.slash(GUILD, TEXT, ADMIN_ID, "subscribe", {"hour": 3})
        with pytest.raises(ValueError, match="unknown option"):
            fake.slash(GUILD, TEXT, ADMIN_ID, "subscribe", {"categories": "x", "minute": 3})
        with pytest.raises(ValueError, match="choices"):
            fake.slash(GUILD, TEXT, ADMIN_ID, "settings language", {"code": "FR"})


async def test_subcommand_and_dm_slash(fake: FakeDiscord) -> None:
    calls: list[Any] = []
    client, tree = make_client()
    add_commands(tree, calls)
    async with running(client):
        await tree.sync()
        iid = fake.slash(GUILD, TEXT, MEMBER_ID, "settings language", {"code": "DE"})
        await fake.wait_for(lambda: bool(fake.callbacks(iid)))
        dm_iid = fake.slash(None, None, MEMBER_ID, "settings language", {"code": "DE"})
        await fake.wait_for(lambda: bool(fake.callbacks(dm_iid)))
    assert calls == [("language", "DE"), ("language", "DE")]
    dm = fake.dm_channel(MEMBER_ID)
    assert [m["content"] for m in fake.messages(dm)] == ["Language: German"]
    assert fake.channel(dm)["type"] == 1


async def test_defer_then_followups(fake: FakeDiscord) -> None:
    calls: list[Any] = []
    client, tree = make_client()
    add_commands(tree, calls)
    async with running(client):
        await tree.sync()
        iid = fake.slash(GUILD, TEXT, MEMBER_ID, "digest")
        await fake.wait_for(lambda: len(calls) == 2)
    assert fake.callbacks(iid)[0]["type"] == 5
    first, second = fake.followups(iid)
    original = fake.original(iid)
    assert original is not None
    assert calls[1] == (int(original["id"]), "Digest for today")
    assert original["content"] == "Digest for today"
    assert original["edited_timestamp"] is not None
    # Directly after a deferred response, the first follow-up completes the "thinking" message.
    assert first["id"] == original["id"]
    assert not first["flags"] & 128  # no longer loading
    assert first["embeds"][0]["title"] == "Digest"
    assert second["content"] == "and one more thing"
    assert second["id"] != first["id"]
    assert [
        r.query.get("wait") for r in fake.recorded("POST /webhooks/{application_id}/{interaction_token}")
    ] == [
        "1",
        "1",
    ]


async def test_second_callback_is_already_acknowledged(fake: FakeDiscord) -> None:
    client, tree = make_client()
    errors: list[discord.HTTPException] = []

    @tree.command(name="twice", description="Answers twice")
    async def twice(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("first")
        adapter = discord.webhook.async_.async_context.get()
        params = discord.webhook.async_.interaction_response_params(4, {"content": "second"})
        try:  # discord.py refuses a second response itself; go one level down to reach the server
            await adapter.create_interaction_response(
                interaction.id, interaction.token, session=interaction._session, params=params
            )
        except discord.HTTPException as exc:
            errors.append(exc)

    async with running(client):
        await tree.sync()
        fake.slash(GUILD, TEXT, MEMBER_ID, "twice")
        await fake.wait_for(lambda: bool(errors))
    assert errors[0].status == 400
    assert errors[0].code == 40060
    assert [m["content"] for m in fake.messages(TEXT)] == ["first"]


async def test_late_callback_is_unknown_interaction(fake: FakeDiscord) -> None:
    fake.interaction_deadline = 0.05  # Discord's 3 s, shortened
    client, tree = make_client()
    errors: list[discord.HTTPException] = []

    @tree.command(name="slow", description="Too slow")
    async def slow(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.1)
        try:
            await interaction.response.send_message("late")
        except discord.NotFound as exc:
            errors.append(exc)

    async with running(client):
        await tree.sync()
        iid = fake.slash(GUILD, TEXT, MEMBER_ID, "slow")
        await fake.wait_for(lambda: bool(errors))
    assert errors[0].code == 10062
    assert fake.callbacks(iid) == []
    assert fake.messages(TEXT) == []


async def test_autocomplete_and_button(fake: FakeDiscord) -> None:
    client, tree = make_client()
    add_commands(tree, [])
    pressed: list[str] = []

    class Confirm(discord.ui.View):
        @discord.ui.button(label="Confirm", custom_id="confirm:1")
        async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button[Confirm]) -> None:
            pressed.append(button.custom_id or "")
            await interaction.response.edit_message(content="Confirmed", view=None)

        @discord.ui.button(label="Later", custom_id="later:1")
        async def later(self, interaction: discord.Interaction, button: discord.ui.Button[Confirm]) -> None:
            await interaction.response.defer()  # type 6 for a component: "deferred update"
            pressed.append(button.custom_id or "")
            await interaction.edit_original_response(content="Maybe later")  # @original = the clicked message

    async with running(client):
        await tree.sync()
        iid = fake.autocomplete(
            GUILD, TEXT, ADMIN_ID, "subscribe", {"categories": "cs"}, focused="categories"
        )
        await fake.wait_for(lambda: bool(fake.callbacks(iid)))
        channel = client.get_channel(TEXT)
        assert isinstance(channel, discord.TextChannel)
        message = await channel.send("Subscribe?", view=Confirm(timeout=None))
        later_message = await channel.send("Or?", view=Confirm(timeout=None))
        later = fake.click(TEXT, later_message.id, MEMBER_ID, "later:1")
        await fake.wait_for(lambda: fake.messages(TEXT)[1]["content"] == "Maybe later")
        click = fake.click(TEXT, message.id, MEMBER_ID, "confirm:1")
        await fake.wait_for(lambda: bool(fake.callbacks(click)))
        with pytest.raises(ValueError, match="no component"):
            fake.click(TEXT, message.id, MEMBER_ID, "cancel")
    assert fake.callbacks(iid) == [{"type": 8, "data": {"choices": [{"name": "cs.LG", "value": "cs.LG"}]}}]
    assert pressed == ["later:1", "confirm:1"]
    assert fake.callbacks(later)[0]["type"] == 6
    assert fake.callbacks(click)[0]["type"] == 7
    stored = fake.messages(TEXT)[0]
    assert stored["content"] == "Confirmed"
    assert stored["components"] == []


# -- messages, threads, forum posts, DMs --------------------------------------------------------------------


async def test_embeds_thread_from_message_and_thread_messages(fake: FakeDiscord) -> None:
    client, _ = make_client()
    async with running(client):
        channel = client.get_channel(TEXT)
        assert isinstance(channel, discord.TextChannel)
        embed = discord.Embed(
            title="[1] A paper", description="Abstract", url="https://arxiv.org/abs/2403.19243"
        )
        embed.add_field(name="Authors", value="A. B.")
        message = await channel.send("Today's papers", embed=embed)
        thread = await message.create_thread(name="Discussion of 2403.19243")
        in_thread = await thread.send("Details")
        with pytest.raises(discord.HTTPException) as info:
            await message.create_thread(name="again")
    assert thread.id == message.id  # a thread started from a message shares its id
    assert thread.parent_id == TEXT
    assert info.value.code == 160004
    assert in_thread.channel.id == thread.id
    (stored,) = fake.messages(TEXT)
    assert stored["embeds"][0]["title"] == "[1] A paper"
    assert stored["embeds"][0]["fields"] == [{"name": "Authors", "value": "A. B.", "inline": True}]
    assert [t["name"] for t in fake.threads(TEXT)] == ["Discussion of 2403.19243"]
    assert [m["content"] for m in fake.messages(thread.id)] == ["Details"]
    assert [m["content"] for m in fake.messages(TEXT, include_threads=True)] == ["Today's papers", "Details"]
    assert fake.dispatched("THREAD_CREATE")[0]["id"] == str(thread.id)


async def test_forum_post(fake: FakeDiscord) -> None:
    client, _ = make_client()
    async with running(client):
        forum = client.get_channel(FORUM)
        assert isinstance(forum, discord.ForumChannel)
        post = await forum.create_thread(name="arXiv hep-th 2024-03-28", content="5 new papers")
        await post.thread.send("Paper 1")
        with pytest.raises(discord.HTTPException) as empty:
            await forum.create_thread(name="empty")
        with pytest.raises(discord.HTTPException) as long_name:
            await forum.create_thread(name="x" * 101, content="y")
    assert post.message.id == post.thread.id  # a forum post's first message shares the thread's id
    assert [m["content"] for m in fake.messages(post.thread.id)] == ["5 new papers", "Paper 1"]
    assert fake.threads(FORUM)[0]["name"] == "arXiv hep-th 2024-03-28"
    assert empty.value.code == 50006
    assert long_name.value.code == 50035
    assert "In name: Must be between 1 and 100 in length." in long_name.value.text


async def test_direct_messages(fake: FakeDiscord) -> None:
    client, _ = make_client()
    async with running(client):
        user = await client.fetch_user(MEMBER_ID)
        dm = await user.create_dm()
        sent = await dm.send("Your daily digest")
        with pytest.raises(discord.HTTPException) as no_threads:  # discord.py refuses itself: go raw
            await client.http.start_thread_with_message(
                dm.id, sent.id, name="no threads in DMs", auto_archive_duration=1440, rate_limit_per_user=None
            )
        fake.block_dms(MEMBER_ID)
        with pytest.raises(discord.Forbidden) as closed:
            await dm.send("again")
    assert dm.id == fake.dm_channel(MEMBER_ID)
    assert [m["content"] for m in fake.messages(dm.id)] == ["Your daily digest"]
    assert no_threads.value.code == 50024
    assert closed.value.code == 50007
    assert fake.recorded("POST /users/@me/channels")[0].json == {"recipient_id": MEMBER_ID}


async def test_edit_and_delete_messages(fake: FakeDiscord) -> None:
    client, _ = make_client()
    async with running(client):
        channel = client.get_channel(TEXT)
        assert isinstance(channel, discord.TextChannel)
        message = await channel.send("draft")
        edited = await message.edit(content="final", embed=discord.Embed(title="t"))
        with pytest.raises(discord.HTTPException) as empty:
            await message.edit(content=None, embed=None)
        with pytest.raises(discord.HTTPException) as too_long:
            await message.edit(content="x" * 2001)
        theirs = await channel.fetch_message(fake.post_message(TEXT, MEMBER_ID, "mine"))
        with pytest.raises(discord.Forbidden) as not_ours:
            await theirs.edit(content="hijacked")
        gone = await channel.send("to delete")
        await gone.delete()
    assert edited.content == "final"
    assert edited.edited_at is not None
    assert empty.value.code == 50006
    assert too_long.value.code == 50035
    assert not_ours.value.code == 50005
    stored = fake.messages(TEXT)
    assert [m["content"] for m in stored] == ["final", "mine"]
    assert stored[0]["embeds"][0]["title"] == "t"
    assert fake.dispatched("MESSAGE_DELETE")[0]["id"] == str(gone.id)


async def test_file_upload_and_history(fake: FakeDiscord) -> None:
    client, _ = make_client()
    async with running(client):
        channel = client.get_channel(TEXT)
        assert isinstance(channel, discord.TextChannel)
        first = await channel.send(
            "digest attached", file=discord.File(io.BytesIO(b"# Digest\n"), "digest.md")
        )
        second = await channel.send("second")
        third = await channel.send("third")
        newest_first = [m.id async for m in channel.history(limit=2)]
        after_first = [m.id async for m in channel.history(after=first, oldest_first=True)]
        attachment = first.attachments[0]
        async with aiohttp.ClientSession() as session, session.get(attachment.url) as response:
            content = await response.read()
    assert (attachment.filename, attachment.size, content) == ("digest.md", 9, b"# Digest\n")
    (upload,) = fake.recorded("POST /channels/{channel_id}/messages")[:1]
    assert upload.files == ("digest.md",)
    assert upload.json["content"] == "digest attached"
    assert newest_first == [third.id, second.id]
    assert after_first == [second.id, third.id]


def _fields(count: int) -> discord.Embed:
    embed = discord.Embed(title="t")
    for i in range(count):
        embed.add_field(name=f"f{i}", value="v")
    return embed


@pytest.mark.parametrize(
    ("kwargs", "code", "where"),
    [
        ({"content": "x" * 2001}, 50035, "In content: Must be 2000 or fewer in length."),
        (
            {"embed": discord.Embed(title="t" * 257)},
            50035,
            "In embeds.0.title: Must be 256 or fewer in length.",
        ),
        (
            {"embed": discord.Embed(description="d" * 4097)},
            50035,
            "In embeds.0.description: Must be 4096 or fewer in length.",
        ),
        ({"embed": _fields(26)}, 50035, "In embeds.0.fields: Must be 25 or fewer in length."),
        (
            {"embed": discord.Embed().add_field(name="n", value="v" * 1025)},
            50035,
            "In embeds.0.fields.0.value: Must be 1024 or fewer in length.",
        ),
        (
            {"embed": discord.Embed().add_field(name="n" * 257, value="v")},
            50035,
            "In embeds.0.fields.0.name: Must be 256 or fewer in length.",
        ),
        (
            {"embed": discord.Embed().add_field(name="n", value="")},
            50035,
            "In embeds.0.fields.0.value: This field is required",
        ),
        (
            {"embed": discord.Embed(title="t").set_footer(text="f" * 2049)},
            50035,
            "In embeds.0.footer.text: Must be 2048 or fewer in length.",
        ),
        (
            {"embed": discord.Embed(title="t").set_author(name="a" * 257)},
            50035,
            "In embeds.0.author.name: Must be 256 or fewer in length.",
        ),
        (
            {"embeds": [discord.Embed(description="d" * 3001), discord.Embed(description="d" * 3000)]},
            50035,
            "In embeds: Embed size exceeds maximum size of 6000",
        ),
        ({}, 50006, "Cannot send an empty message"),
        ({"content": "   "}, 50006, "Cannot send an empty message"),
    ],
)
async def test_invalid_messages(fake: FakeDiscord, kwargs: dict[str, Any], code: int, where: str) -> None:
    client, _ = make_client()
    async with running(client):
        channel = client.get_channel(TEXT)
        assert isinstance(channel, discord.TextChannel)
        with pytest.raises(discord.HTTPException) as info:
            await channel.send(**kwargs)
    assert info.value.status == 400
    assert info.value.code == code
    assert where in info.value.text
    assert fake.messages(TEXT) == []


async def test_limits_discord_py_does_not_check_itself(fake: FakeDiscord) -> None:
    client, _ = make_client()
    async with running(client):
        route = discord.http.Route("POST", "/channels/{channel_id}/messages", channel_id=TEXT)
        with pytest.raises(discord.HTTPException) as eleven:
            await client.http.request(route, json={"embeds": [{"title": str(i)} for i in range(11)]})
        exactly = await client.http.request(
            route, json={"content": "x" * 2000, "embeds": [{"title": "t"}] * 10}
        )
        thread_route = discord.http.Route("POST", "/channels/{channel_id}/threads", channel_id=TEXT)
        with pytest.raises(discord.HTTPException) as no_name:
            await client.http.request(thread_route, json={"type": 11})
    assert eleven.value.code == 50035
    assert "In embeds: Must be 10 or fewer in length." in eleven.value.text
    assert len(exactly["embeds"]) == 10
    assert "In name: This field is required" in no_name.value.text


# -- permissions and missing objects ------------------------------------------------------------------------


async def test_missing_permissions(fake: FakeDiscord) -> None:
    fake.scale = 50  # this test sends more than 5 requests per 5 s to one channel: shrink the bucket window
    view = int(Permission.VIEW_CHANNEL)
    send = int(Permission.SEND_MESSAGES)
    client, _ = make_client()
    async with running(client):
        guild = client.get_guild(GUILD)
        channel = client.get_channel(TEXT)
        assert guild is not None
        assert isinstance(channel, discord.TextChannel)
        message = await channel.send("Today's papers")
        thread = await message.create_thread(name="papers")

        fake.set_bot_permissions(TEXT, view)  # can see, cannot send
        await fake.wait_for(lambda: not channel.permissions_for(guild.me).send_messages)  # CHANNEL_UPDATE
        with pytest.raises(discord.Forbidden) as cannot_send:
            await channel.send("x")
        fake.set_bot_permissions(TEXT, view | send)  # no Embed Links, no threads
        with pytest.raises(discord.Forbidden) as no_embeds:
            await channel.send(embed=discord.Embed(title="t"))
        with pytest.raises(discord.Forbidden) as no_thread:
            await (await channel.send("m")).create_thread(name="t")
        with pytest.raises(discord.Forbidden) as not_in_threads:
            await thread.send("needs Send Messages in Threads, not Send Messages")
        with pytest.raises(discord.HTTPException) as no_history_reply:
            await message.reply("replies need Read Message History")
        with pytest.raises(discord.Forbidden) as no_history_fetch:
            await channel.fetch_message(message.id)
        assert [m async for m in channel.history()] == []  # Discord answers an empty history
        fake.set_bot_permissions(TEXT, send)  # no View Channel at all
        with pytest.raises(discord.Forbidden) as no_access:
            await channel.send("x")
        fake.set_bot_permissions(TEXT, None)
        await channel.send("allowed again")
    assert [e.value.code for e in (cannot_send, no_embeds, no_thread, not_in_threads)] == [50013] * 4
    assert no_access.value.code == 50001
    assert no_access.value.text == "Missing Access"
    assert no_history_reply.value.code == 160002
    assert no_history_fetch.value.code == 50001
    assert [m["content"] for m in fake.messages(TEXT)] == ["Today's papers", "m", "allowed again"]


async def test_unknown_channel_and_message(fake: FakeDiscord) -> None:
    client, _ = make_client()
    async with running(client):
        channel = client.get_channel(TEXT)
        assert isinstance(channel, discord.TextChannel)
        with pytest.raises(discord.NotFound) as no_message:
            await channel.fetch_message(1234)
        fake.delete_channel(TEXT)
        with pytest.raises(discord.NotFound) as no_channel:
            await client.get_partial_messageable(TEXT).send("x")
        await fake.wait_for(lambda: client.get_channel(TEXT) is None)  # CHANNEL_DELETE reached the cache
    assert no_message.value.code == 10008
    assert no_channel.value.code == 10003


# -- failures and rate limits -------------------------------------------------------------------------------


async def test_scripted_429_is_waited_out_and_retried(fake: FakeDiscord) -> None:
    client, _ = make_client()
    async with running(client):
        channel = client.get_channel(TEXT)
        assert isinstance(channel, discord.TextChannel)
        fake.inject(Failure.rate_limited(0.2), route="POST /channels/{channel_id}/messages", channel_id=TEXT)
        started = time.monotonic()
        await channel.send("after the wait")
        elapsed = time.monotonic() - started
    statuses = [r.status for r in fake.recorded("POST /channels/{channel_id}/messages")]
    assert statuses == [429, 200]
    assert elapsed >= 0.2
    assert [m["content"] for m in fake.messages(TEXT)] == ["after the wait"]


@pytest.mark.parametrize(
    ("failure", "exception", "code"),
    [
        (Failure.missing_permissions(), discord.Forbidden, 50013),
        (Failure.unknown_channel(), discord.NotFound, 10003),
        (Failure.server_error(503), discord.DiscordServerError, 0),
        (
            Failure.error(ApiError(400, 50035, "Invalid Form Body", {"content": {"_errors": []}})),
            discord.HTTPException,
            50035,
        ),
    ],
)
async def test_scripted_errors(
    fake: FakeDiscord, failure: Failure, exception: type[discord.HTTPException], code: int
) -> None:
    client, _ = make_client()
    async with running(client):
        channel = client.get_channel(TEXT)
        assert isinstance(channel, discord.TextChannel)
        fake.inject(failure, route="POST /channels/{channel_id}/messages")
        with pytest.raises(exception) as info:
            await channel.send("x")
        await channel.send("served once only")
    assert info.value.code == code
    assert [m["content"] for m in fake.messages(TEXT)] == ["served once only"]


async def test_dropped_connection(fake: FakeDiscord) -> None:
    client, _ = make_client()
    async with running(client):
        channel = client.get_channel(TEXT)
        assert isinstance(channel, discord.TextChannel)
        fake.inject(Failure.dropped(), route="/channels/{channel_id}/messages")
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await channel.send("lost")
        await channel.send("next one")
    assert [r.status for r in fake.recorded("POST /channels/{channel_id}/messages")] == [0, 200]


async def test_rate_limit_headers_and_enforced_bucket() -> None:
    with FakeDiscord(token=TOKEN, application_id=APP_ID, enforce_rate_limits=True, scale=10) as fake:
        fake.add_guild(GUILD)
        fake.add_text_channel(GUILD, TEXT)
        url = f"{fake.api_base}/channels/{TEXT}/messages"
        headers = {"Authorization": f"Bot {TOKEN}"}
        async with aiohttp.ClientSession() as session:
            answers = []
            for i in range(6):
                async with session.post(url, json={"content": f"m{i}"}, headers=headers) as response:
                    answers.append((response.status, dict(response.headers), await response.json()))
        status, first, _ = answers[0]
        assert status == 200
        assert first["Content-Type"] == "application/json"
        assert first["Via"] == "1.1 google"
        assert first["X-RateLimit-Limit"] == "5"
        assert first["X-RateLimit-Remaining"] == "4"
        assert 0 < float(first["X-RateLimit-Reset-After"]) <= 0.5  # 5 s / scale
        assert float(first["X-RateLimit-Reset"]) > time.time()
        assert [a[1]["X-RateLimit-Remaining"] for a in answers[:5]] == ["4", "3", "2", "1", "0"]
        status, limited, body = answers[5]
        assert status == 429
        assert body["message"] == "You are being rate limited."
        assert 0 < body["retry_after"] <= 0.5
        assert body["global"] is False
        assert limited["Retry-After"] == "1"
        assert limited["X-RateLimit-Scope"] == "user"
        assert limited["Via"] == "1.1 google"
        assert limited["X-RateLimit-Bucket"] == first["X-RateLimit-Bucket"]
        assert fake.rate_limited == 1
        assert len(fake.messages(TEXT)) == 5


async def test_discord_py_paces_itself_on_the_bucket_headers() -> None:
    with FakeDiscord(token=TOKEN, application_id=APP_ID, enforce_rate_limits=True, scale=20) as fake:
        fake.add_guild(GUILD)
        fake.add_text_channel(GUILD, TEXT)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(discord.http.Route, "BASE", fake.api_base)
            patch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(fake.gateway_url))
            client, _ = make_client()
            async with running(client):
                channel = client.get_channel(TEXT)
                assert isinstance(channel, discord.TextChannel)
                started = time.monotonic()
                await asyncio.gather(*(channel.send(f"m{i}") for i in range(7)))
                elapsed = time.monotonic() - started
        assert fake.rate_limited == 0  # discord.py waited for the bucket to reset instead of hitting 429
        assert elapsed >= 0.2  # 5 per 0.25 s: the 6th waited for the window
        assert sorted(m["content"] for m in fake.messages(TEXT)) == [f"m{i}" for i in range(7)]


# -- mentions -----------------------------------------------------------------------------------------------


async def test_allowed_mentions_decide_pings(fake: FakeDiscord) -> None:
    text = f"@everyone <@{MEMBER_ID}> new papers"
    client, _ = make_client(allowed_mentions=discord.AllowedMentions.none())
    async with running(client):
        channel = client.get_channel(TEXT)
        assert isinstance(channel, discord.TextChannel)
        await channel.send(text)
        assert fake.pings() == []
        await channel.send(text, allowed_mentions=discord.AllowedMentions(everyone=True, users=False))
    (ping,) = fake.pings()
    assert ping.everyone
    assert ping.users == ()
    stored = fake.messages(TEXT)
    assert stored[0]["allowed_mentions"] == {"parse": []}  # what AllowedMentions.none() sends
    assert stored[0]["mention_everyone"] is False
    assert stored[1]["mention_everyone"] is True


async def test_no_allowed_mentions_pings_everything(fake: FakeDiscord) -> None:
    user_message = fake.add_user(MEMBER_ID)
    client, _ = make_client()
    async with running(client):
        channel = client.get_channel(TEXT)
        assert isinstance(channel, discord.TextChannel)
        question = fake.post_message(TEXT, user_message, "any new hep-th papers?")
        await channel.send(f"<@{MEMBER_ID}> yes")
        target = await channel.fetch_message(question)
        await target.reply("here they are")
        await target.reply("quietly", mention_author=False)
    assert [(p.users, p.replied_user) for p in fake.pings()] == [((MEMBER_ID,), None), ((), MEMBER_ID)]


async def test_message_content_needs_the_intent(fake: FakeDiscord) -> None:
    client, _ = make_client()
    received: list[str] = []

    @client.event
    async def on_message(message: discord.Message) -> None:
        if message.author.id != APP_ID:
            received.append(message.content)

    async with running(client):
        fake.post_message(TEXT, MEMBER_ID, "hello")
        fake.post_message(TEXT, MEMBER_ID, f"<@{APP_ID}> hello bot")
        await fake.wait_for(lambda: len(received) == 2)
    assert received == ["", f"<@{APP_ID}> hello bot"]


def test_fake_is_usable_without_a_loop() -> None:
    with FakeDiscord(token=TOKEN, application_id=APP_ID) as fake:
        guild = fake.add_guild(name="Sync")
        channel = fake.add_text_channel(guild)
        with pytest.raises(RuntimeError, match="no gateway session"):
            fake.slash(guild, channel, 1, "anything")
        assert fake.messages(channel) == []
        assert json.loads(json.dumps(fake.channel(channel)))["name"] == "general"
