"""The Discord rows of the fault matrix (docs/FAULTS.md) that need the real ``arxiv-digest run`` process: a
start that cannot succeed, and a token rejected while running, end the process with exit 1 and one line on
stderr, without a traceback and never the token. Discord only (no Telegram token), against the fake Discord
of ``tests/fakes/discord_server.py`` (``DISCORD_API_BASE_URL`` / ``DISCORD_GATEWAY_URL``) and the fake arXiv,
on SQLite.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.discord_server import FakeDiscord

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GfAkEx.e2e-faults-discord-secret"
APP_ID = 123456789012345678  # the token's first part is base64 of it
GUILD = 740000000000000001
TEXT = 740000000000000011
SECRETS = (TOKEN, TOKEN.split(".")[-1], "wrong-secret-but-well-formed")


class GatewayRejecting(FakeDiscord):
    """A Discord whose REST API takes the token and whose gateway does not (4004), as when the token is
    reset in the Developer Portal between the two."""

    def _token_ok(self, value: Any) -> bool:
        return False


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture
def arxiv() -> Iterator[FakeArxiv]:
    with FakeArxiv() as fake:
        yield fake


def environment(tmp_path: Path, arxiv: FakeArxiv, fake: FakeDiscord, **settings: str) -> dict[str, str]:
    """The environment of an ``arxiv-digest run`` serving Discord only, against the fakes."""
    prefixes = ("ARXIV_", "DEEPL_", "DATABASE_", "TELEGRAM_", "DISCORD_", "HARVEST_", "DELIVER_", "LOG_")
    env = {k: v for k, v in os.environ.items() if not k.startswith((*prefixes, "OWNER_", "DEFAULT_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}",
        ARXIV_RSS_BASE_URL=arxiv.rss_base_url,
        ARXIV_API_URL=arxiv.api_url,
        ARXIV_MIN_INTERVAL="0",
        DISCORD_BOT_TOKEN=TOKEN,
        DISCORD_API_BASE_URL=fake.api_base,
        DISCORD_GATEWAY_URL=fake.gateway_url,
    )
    env.update(settings)
    return env


def exe() -> str:
    return str(Path(sys.executable).with_name("arxiv-digest"))


def assert_one_line(proc: subprocess.CompletedProcess[str] | Any, out: str, err: str, expected: str) -> None:
    assert proc.returncode == 1, err[-3000:]
    last = err.rstrip("\n").splitlines()[-1]
    assert last.startswith("arxiv-digest: "), err[-3000:]
    assert expected in last, err[-3000:]
    assert "Traceback" not in out + err
    for secret in SECRETS:
        assert secret not in out + err


FAILED_STARTS = [
    (
        "token rejected",
        {"DISCORD_BOT_TOKEN": "MTIz.wrong.wrong-secret-but-well-formed"},
        "Discord rejected DISCORD_BOT_TOKEN: check it in the Developer Portal",
    ),
    ("token malformed", {"DISCORD_BOT_TOKEN": f"Bot {TOKEN}"}, "does not look like a bot token"),
    ("API URL malformed", {"DISCORD_API_BASE_URL": "127.0.0.1/api/v10"}, "is not an API URL"),
    ("gateway URL malformed", {"DISCORD_GATEWAY_URL": "http://127.0.0.1/"}, "is not a gateway URL"),
    ("API unreachable", {"DISCORD_API_BASE_URL": "closed"}, "cannot reach the Discord API"),
    ("gateway unreachable", {"DISCORD_GATEWAY_URL": "closed"}, "cannot reach the Discord gateway"),
    ("gateway rejects the token", {}, "Discord rejected DISCORD_BOT_TOKEN (gateway authentication"),
]


@pytest.mark.parametrize(
    ("case", "settings", "expected"), FAILED_STARTS, ids=[c[0].replace(" ", "-") for c in FAILED_STARTS]
)
def test_a_failed_discord_start_is_one_line_without_the_token(
    tmp_path: Path, arxiv: FakeArxiv, case: str, settings: dict[str, str], expected: str
) -> None:
    kind = GatewayRejecting if case == "gateway rejects the token" else FakeDiscord
    with kind(token=TOKEN, application_id=APP_ID) as fake:
        fake.add_guild(GUILD, name="Physics")
        fake.add_text_channel(GUILD, TEXT, name="papers")
        closed = closed_port()
        values = {
            k: (
                f"http://127.0.0.1:{closed}/api/v10"
                if k.endswith("API_BASE_URL")
                else f"ws://127.0.0.1:{closed}/"
            )
            if v == "closed"
            else v
            for k, v in settings.items()
        }
        env = environment(tmp_path, arxiv, fake, **values)
        proc = subprocess.run(
            [exe(), "run"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
    assert_one_line(proc, proc.stdout, proc.stderr, expected)


def test_a_discord_token_revoked_while_running_stops_the_process_with_one_line(
    tmp_path: Path, arxiv: FakeArxiv
) -> None:
    """The gateway closes the session with 4004 (the token reset in the Developer Portal): discord.py does
    not come back from it; the process must not stay up deaf, where a supervisor cannot see it."""
    log = tmp_path / "stderr.log"
    with FakeDiscord(token=TOKEN, application_id=APP_ID) as fake, log.open("w") as stderr:
        fake.add_guild(GUILD, name="Physics")
        fake.add_text_channel(GUILD, TEXT, name="papers")
        env = environment(tmp_path, arxiv, fake)
        proc = subprocess.Popen(
            [exe(), "run"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True
        )
        try:
            deadline = time.monotonic() + 60
            while "Discord bot" not in log.read_text() and time.monotonic() < deadline:  # "… started"
                assert proc.poll() is None, log.read_text()[-3000:]
                time.sleep(0.05)
            assert fake.connected(), log.read_text()[-3000:]
            fake.close_gateway(4004, "Authentication failed.")
            out, _ = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert_one_line(proc, out, log.read_text(), "Discord rejected DISCORD_BOT_TOKEN while running")
