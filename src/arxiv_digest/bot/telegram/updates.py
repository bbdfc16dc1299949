"""Updates from different chats handled at once, each chat's in the order they came.

python-telegram-bot handles one update at a time unless told otherwise: one user's ``/digest`` (thirty-odd
messages at Telegram's one a second in a private chat) would hold every other chat's commands for half a
minute. ``ChatOrderedProcessor`` lets ``max_concurrent_updates`` updates run together, but never two of one
chat, so ``/subscribe cs.LG`` followed by ``/digest`` still run in that order.

Fairness: an update first waits for its chat's turn, and only then for one of the ``max_concurrent_updates``
places, so a chat sending a hundred commands queues behind itself and holds one place at most; every other
chat is answered as if it were alone. (PTB's own semaphore, taken before ``do_process_update``, is sized to
count queued updates only.) A chat with more than ``max_queued_per_chat`` updates waiting has the next ones
dropped, with one log line per burst: a flood costs memory and no other chat's time.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import Counter
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

logger = logging.getLogger(__name__)

MAX_CONCURRENT_UPDATES = 64
MAX_QUEUED_PER_CHAT = 20  # a person never has this many commands waiting; a script flooding does
_PTB_BOUND = 100_000  # PTB's semaphore: a bound on updates in memory, not on those running


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
    def __init__(
        self,
        max_concurrent_updates: int = MAX_CONCURRENT_UPDATES,
        *,
        max_queued_per_chat: int = MAX_QUEUED_PER_CHAT,
    ) -> None:
        if max_concurrent_updates < 1 or max_queued_per_chat < 1:
            raise ValueError("max_concurrent_updates and max_queued_per_chat must be at least 1")
        super().__init__(_PTB_BOUND)
        self.running_limit = max_concurrent_updates
        self.max_queued_per_chat = max_queued_per_chat
        self._running = asyncio.BoundedSemaphore(max_concurrent_updates)
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self._queued: Counter[int] = Counter()  # updates of a chat waiting or running
        self._flooding: set[int] = set()  # chats told about once in their current burst
        self.dropped = 0

    def _lock(self, chat_id: int) -> asyncio.Lock:
        lock = self._locks.get(chat_id)
        if lock is None:
            lock = self._locks[chat_id] = asyncio.Lock()
        return lock

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _order_key(update)
        if key is None:  # e.g. an inline query: nothing to keep in order
            async with self._running:
                await coroutine
            return
        if self._queued[key] >= self.max_queued_per_chat:
            self.dropped += 1
            if key not in self._flooding:
                self._flooding.add(key)
                logger.warning(
                    "chat %s: more than %d updates waiting; dropping", key, self.max_queued_per_chat
                )
            _close(coroutine)
            return
        self._queued[key] += 1
        try:
            # the chat's turn first, then a place among the chats being answered
            async with self._lock(key), self._running:
                await coroutine
        finally:
            self._queued[key] -= 1
            if not self._queued[key]:
                del self._queued[key]
                self._flooding.discard(key)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


def _close(coroutine: Awaitable[Any]) -> None:
    """Discard an update's handler without running it (and without a "never awaited" warning)."""
    close = getattr(coroutine, "close", None)
    if close is not None:
        close()
