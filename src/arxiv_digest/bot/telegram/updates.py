"""Updates from different chats handled at once, each chat's in the order they came.

python-telegram-bot handles one update at a time unless told otherwise: one user's ``/digest`` (thirty-odd
messages at Telegram's one a second in a private chat) would hold every other chat's commands for half a
minute. ``ChatOrderedProcessor`` lets ``max_concurrent_updates`` updates run together, but never two of one
chat, so ``/subscribe cs.LG`` followed by ``/digest`` still run in that order.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

MAX_CONCURRENT_UPDATES = 64


def _order_key(update: object) -> int | None:
    """The chat an update belongs to; a supergroup's "migrated from" notice belongs to the old group, so the
    two notices of one migration are handled one after the other."""
    if not isinstance(update, Update) or update.effective_chat is None:
        return None
    message = update.effective_message
    if message is not None and message.migrate_from_chat_id is not None:
        return message.migrate_from_chat_id
    return update.effective_chat.id


class ChatOrderedProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, chat_id: int) -> asyncio.Lock:
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = self._locks[chat_id] = asyncio.Lock()
        return lock

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _order_key(update)
        if key is None:  # e.g. an inline query: nothing to keep in order
            await coroutine
            return
        async with self._lock(key):
            await coroutine

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
