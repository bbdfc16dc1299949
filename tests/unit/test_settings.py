"""Settings that need more than a type: the owner's address."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from arxiv_digest.bot.settings import Settings, parse_owner


@pytest.mark.parametrize(
    ("text", "owner"),
    [
        ("12345", ("telegram", "12345")),
        ("-1001234567890", ("telegram", "-1001234567890")),
        ("telegram:42", ("telegram", "42")),
        ("discord:123456789012345678", ("discord", "123456789012345678")),
        (" Discord:7 ", ("discord", "7")),
    ],
)
def test_the_owner_is_a_platform_and_an_id(text: str, owner: tuple[str, str]) -> None:
    assert parse_owner(text) == owner
    settings = Settings(_env_file=None, owner_chat_id=text)  # type: ignore[call-arg]
    assert settings.owner_chat_id == ":".join(owner)


@pytest.mark.parametrize("text", ["discord:-5", "slack:1", "@me", "telegram:", "12 34", "discord:abc"])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="telegram:<chat id>"):
        parse_owner(text)
    with pytest.raises(ValidationError):
        Settings(_env_file=None, owner_chat_id=text)  # type: ignore[call-arg]
