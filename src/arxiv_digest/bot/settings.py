"""Typed settings, read once in the entry point and passed down. No other module reads the environment."""

from __future__ import annotations

import re
from datetime import time

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ..papers.errors import UnsupportedLanguage
from ..papers.languages import normalize_language
from ..papers.schedule import canonical_timezone

_HHMM = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


_OWNER = re.compile(r"(?:(telegram|discord):)?(-?\d{1,20})")


def parse_owner(text: str) -> tuple[str, str]:
    """``OWNER_CHAT_ID`` as (platform, id): ``telegram:<id>``, ``discord:<id>``, or a bare Telegram id."""
    m = _OWNER.fullmatch(text.strip().lower())
    if m is None or (m.group(1) == "discord" and m.group(2).startswith("-")):
        raise ValueError("use telegram:<chat id>, discord:<user or channel id>, or a Telegram chat id")
    return m.group(1) or "telegram", m.group(2)


def parse_hhmm(text: str) -> time:
    m = _HHMM.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"not a time of day: {text[:20]!r} (use HH:MM, 24-hour)")
    return time(int(m.group(1)), int(m.group(2)))


DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/arxiv-digest.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(default=DEFAULT_DATABASE_URL)
    deepl_auth_key: SecretStr | None = None
    deepl_server_url: str | None = None
    deepl_daily_character_budget: int | None = Field(default=None, ge=0)
    arxiv_api_url: str = "https://export.arxiv.org/api/query"
    arxiv_rss_base_url: str = "https://rss.arxiv.org"
    arxiv_min_interval: float = Field(default=3.0, ge=0.0)
    arxiv_timeout: float = Field(default=30.0, gt=0.0)
    arxiv_retries: int = Field(default=3, ge=0, le=10)
    default_language: str = "ZH-HANS"
    default_timezone: str = "UTC"
    default_push_time: str = "09:00"
    paper_lookups_per_day: int = Field(default=50, ge=0)
    languages_per_chat_per_day: int = Field(default=3, ge=1)
    harvest_interval: float = Field(default=600.0, ge=1.0)
    deliver_interval: float = Field(default=60.0, ge=0.1)
    lock_check_interval: float = Field(default=10.0, ge=0.1)
    delivery_concurrency: int = Field(default=50, ge=1, le=1000)
    owner_chat_id: str | None = None
    telegram_rate_scale: float = Field(default=1.0, gt=0.0, le=1000.0)
    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str | None = None
    discord_bot_token: SecretStr | None = None
    discord_api_base_url: str | None = None
    discord_gateway_url: str | None = None
    discord_dev_guild_id: int | None = Field(default=None, gt=0)
    log_level: str = "INFO"

    @field_validator("database_url", mode="before")
    @classmethod
    def _database_url(cls, value: object) -> object:
        """Empty (``DATABASE_URL=``) means the default; a URL or a plain file path is checked when opened."""
        if isinstance(value, str) and not value.strip():
            return DEFAULT_DATABASE_URL
        return value.strip() if isinstance(value, str) else value

    @field_validator("owner_chat_id")
    @classmethod
    def _owner(cls, value: str | None) -> str | None:
        """``telegram:<chat id>``, ``discord:<user or channel id>``, or a bare Telegram chat id."""
        if value is None:
            return None
        return ":".join(parse_owner(value))

    @field_validator("default_language")
    @classmethod
    def _language(cls, value: str) -> str:
        try:
            return normalize_language(value)
        except UnsupportedLanguage as exc:
            raise ValueError(str(exc)) from None

    @field_validator("default_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        zone = canonical_timezone(value)
        if zone is None:
            raise ValueError(f"unknown IANA time zone {value[:40]!r} (e.g. Europe/Berlin)")
        return zone

    @field_validator("default_push_time")
    @classmethod
    def _push_time(cls, value: str) -> str:
        return parse_hhmm(value).strftime("%H:%M")

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        v = value.upper()
        if v not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR")
        return v

    @field_validator(
        "deepl_server_url",
        "telegram_api_base_url",
        "discord_api_base_url",
        "discord_gateway_url",
        "discord_dev_guild_id",
        "deepl_daily_character_budget",
        "owner_chat_id",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("deepl_auth_key", "telegram_bot_token", "discord_bot_token", mode="before")
    @classmethod
    def _empty_secret_is_none(cls, value: object) -> object:
        return None if value == "" else value
