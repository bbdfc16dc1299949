"""A chat's life, whatever its platform: gone (the bot was blocked, kicked or the channel deleted; or its
deliveries kept failing), moved (a Telegram group became a supergroup: a new id), back (the bot was added
again, or ``/start``). One place changes these states, so every platform adapter and the delivery behave
alike:

- gone: ``gone_at`` set; its subscriptions and settings kept; no delivery is attempted while it is gone
  (``Scheduler.run_pending``), its pending ones resume when it is back. The owner is told when a chat is
  deactivated after repeated failures (the bot's own doing), not when a user removed the bot.
- moved: the stored chat takes the new id (merged into the chat already stored under it, if any).
- back: ``gone_at`` cleared and the failure count reset.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from ..storage.db import Database
from ..storage.models import Chat
from ..storage.repositories import ChatRepository

logger = logging.getLogger(__name__)

OwnerNotifier = Callable[[str], Awaitable[None]]


class ChatLifecycle:
    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        notify_owner: OwnerNotifier | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.notify_owner = notify_owner

    async def gone(self, platform: str, chat_key: str, reason: str) -> Chat | None:
        """The bot can no longer post there; None when the chat is not known."""
        async with self.db.session() as session:
            repo = ChatRepository(session)
            chat = await repo.get(platform, chat_key)
            if chat is None:
                return None
            if chat.gone_at is None:
                await repo.mark_gone(chat.id, self.clock())
            await session.commit()
        logger.info("chat %s (%s:%s) is gone (%s): deliveries stopped", chat.id, platform, chat_key, reason)
        return chat

    async def deactivated(self, chat: Chat, failures: int) -> None:
        """Its deliveries failed ``failures`` times in a row: gone, and the owner told."""
        async with self.db.session() as session:
            repo = ChatRepository(session)
            await repo.update(chat.id, failures=failures)
            await repo.mark_gone(chat.id, self.clock())
            await session.commit()
        logger.warning("chat %s deactivated after %d failed deliveries", chat.id, failures)
        if self.notify_owner is None:
            return
        try:
            await self.notify_owner(
                f"arxiv-digest: chat {chat.platform}:{chat.chat_key} ({chat.title or 'untitled'}) was "
                f"deactivated after {failures} failed deliveries."
            )
        except Exception:
            logger.warning("could not notify the owner", exc_info=True)

    async def moved(self, platform: str, old_key: str, new_key: str) -> Chat | None:
        """The chat now has the id ``new_key``; the moved chat, or None when neither id is known."""
        async with self.db.session() as session:
            moved = await ChatRepository(session).migrate(platform, old_key, new_key, now=self.clock())
            await session.commit()
        logger.info("chat %s:%s moved to %s", platform, old_key, new_key)
        return moved

    async def back(self, platform: str, chat_key: str) -> bool:
        """The bot may post there again; whether a gone chat came back."""
        async with self.db.session() as session:
            repo = ChatRepository(session)
            chat = await repo.get(platform, chat_key)
            if chat is None or chat.gone_at is None:
                return False
            await repo.update(chat.id, gone_at=None, failures=0)
            await session.commit()
        logger.info("chat %s (%s:%s) is back: deliveries resumed", chat.id, platform, chat_key)
        return True
