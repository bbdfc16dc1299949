"""Ports: what the domain needs from the outside, implemented in storage/ (and in memory for tests)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class CacheKey:
    """A translation cache key: sha256 of the exact source text sent, target language, and an options tag
    (tag handling, formality, marker scheme version) so a change of options never serves a stale result."""

    text_hash: str
    language: str
    options: str


class TranslationCache(Protocol):
    async def get_many(self, keys: Sequence[CacheKey]) -> dict[CacheKey, str]:
        """Return the cached translations among ``keys`` (missing keys are absent)."""
        ...

    async def put_many(self, items: Mapping[CacheKey, str]) -> None:
        """Store translations; storing an existing key again is harmless."""
        ...


class InMemoryTranslationCache:
    """A TranslationCache in a dict: for tests and one-off runs."""

    def __init__(self) -> None:
        self.data: dict[CacheKey, str] = {}

    async def get_many(self, keys: Sequence[CacheKey]) -> dict[CacheKey, str]:
        return {k: self.data[k] for k in keys if k in self.data}

    async def put_many(self, items: Mapping[CacheKey, str]) -> None:
        self.data.update(items)
