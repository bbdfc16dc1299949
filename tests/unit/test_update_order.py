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


async def test_a_flooding_chat_holds_one_place_at_most() -> None:
    # 100 slow updates of one chat, two places in all: the other chats still get a place at once
    processor = ChatOrderedProcessor(max_concurrent_updates=2, max_queued_per_chat=200)
    release = asyncio.Event()
    done: list[str] = []
    handle = _handler(release, done)
    flood = [
        asyncio.create_task(processor.process_update(_update(i, 10), handle(f"a{i}", slow=True)))
        for i in range(100)
    ]
    await asyncio.sleep(0.05)
    others = [
        asyncio.create_task(processor.process_update(_update(1000 + i, 20 + i), handle(f"b{i}")))
        for i in range(5)
    ]
    await asyncio.wait_for(asyncio.gather(*others), timeout=1)
    assert done == [f"b{i}" for i in range(5)]  # answered while the flood waits
    release.set()
    await asyncio.gather(*flood)
    assert done[5:] == [f"a{i}" for i in range(100)]  # the flooding chat's own order kept


async def test_a_chat_past_its_queue_has_its_next_updates_dropped() -> None:
    processor = ChatOrderedProcessor(max_concurrent_updates=4, max_queued_per_chat=3)
    release = asyncio.Event()
    done: list[str] = []
    handle = _handler(release, done)
    tasks = [
        asyncio.create_task(processor.process_update(_update(i, 10), handle(f"a{i}", slow=True)))
        for i in range(10)
    ]
    await asyncio.sleep(0.05)
    release.set()
    await asyncio.gather(*tasks)
    assert done == ["a0", "a1", "a2"]
    assert processor.dropped == 7
    # once the chat's queue has drained it is served again
    await processor.process_update(_update(99, 10), handle("a99"))
    assert done[-1] == "a99"
