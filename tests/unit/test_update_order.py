"""Updates of different chats run at once; one chat's run in the order they came."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from telegram import Update

from arxiv_digest.bot.telegram.updates import ChatOrderedProcessor


def _update(update_id: int, chat_id: int) -> Update:
    return Update.de_json(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 0,
                "chat": {"id": chat_id, "type": "private"},
                "text": "/help",
            },
        },
        None,
    )


def _handler(release: asyncio.Event, done: list[str]) -> Callable[..., Awaitable[None]]:
    """A handler noting its name when done; a slow one waits for ``release`` first."""

    async def handle(name: str, slow: bool = False) -> None:
        if slow:
            await release.wait()
        done.append(name)

    return handle


async def test_a_slow_update_holds_its_own_chat_only() -> None:
    processor = ChatOrderedProcessor(max_concurrent_updates=8)
    release = asyncio.Event()
    done: list[str] = []
    handle = _handler(release, done)

    tasks = [
        asyncio.create_task(processor.process_update(_update(1, 10), handle("a1", slow=True))),
        asyncio.create_task(processor.process_update(_update(2, 10), handle("a2"))),
        asyncio.create_task(processor.process_update(_update(3, 20), handle("b1"))),
    ]
    await asyncio.sleep(0.05)
    assert done == ["b1"]  # the other chat was answered; a2 waits behind a1
    release.set()
    await asyncio.gather(*tasks)
    assert done == ["b1", "a1", "a2"]


async def test_updates_without_a_chat_are_not_held() -> None:
    processor = ChatOrderedProcessor()
    done: list[str] = []

    async def handle() -> None:
        done.append("x")

    await processor.process_update(object(), handle())
    assert done == ["x"]


async def test_the_two_notices_of_a_migration_are_handled_in_turn() -> None:
    processor = ChatOrderedProcessor()
    release = asyncio.Event()
    done: list[str] = []
    handle = _handler(release, done)

    old, new = -4242, -1009999999999
    to = Update.de_json(
        {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": old, "type": "group"},
                "migrate_to_chat_id": new,
            },
        },
        None,
    )
    from_ = Update.de_json(
        {
            "update_id": 2,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": new, "type": "supergroup"},
                "migrate_from_chat_id": old,
            },
        },
        None,
    )
    first = asyncio.create_task(processor.process_update(to, handle("to", slow=True)))
    second = asyncio.create_task(processor.process_update(from_, handle("from")))
    await asyncio.sleep(0.05)
    assert done == []
    release.set()
    await asyncio.gather(first, second)
    assert done == ["to", "from"]
