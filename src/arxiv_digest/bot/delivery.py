"""Delivery of digests through the ledger, platform-neutral.

A digest for a chat is first *planned*: rendered by the platform's ``Sink`` into the messages to send (the
summary, then each paper's footnote threaded under the first summary message, in a forum topic when the
platform splits a digest by category) and written to the ledger (``storage.LedgerRepository``), each message
with its text and its platform parts (``Outgoing.parts``: Discord's embeds, as JSON), before anything is sent.
Threading is the sink's business: the ledger says which message a message belongs under (``reply_to_seq``:
the summary's first message, for the footnotes and the summary's later parts), and the sink makes that a
reply (Telegram), a thread created from the summary or a forum post (Discord).
Then it is *run*: each unsent message is sent in order and marked sent with the platform's message id right
after the send, so a crash resumes where it stopped (at most the one in-flight message is sent twice) and
replies sent after a restart still thread under the stored summary id. Last, where the platform can link to
messages, the summary is edited so each ``[n]`` links to its footnote.

Vendor exceptions are translated by the sink into:

- ``ChatGone`` (blocked, kicked, deleted): the chat is marked gone, the delivery failed; subscriptions kept.
- ``ChatMoved`` (Telegram group upgraded to a supergroup): the stored chat id is replaced, the message resent.
- ``RateLimited`` (the platform asked us to wait): waited out, up to ``max_waits`` times per message; then
  the delivery stays pending for the next run.
- ``PlatformUnavailable`` (network error, timeout, the platform's own failure): the delivery stays pending
  and the run says so (``Outcome.UNAVAILABLE``); never held against the chat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from ..papers.errors import ArxivDigestError
from ..papers.models import Digest, DigestEntry
from ..storage.db import Database, StorageUnavailable
from ..storage.models import Chat, LedgerMessage, PlannedMessage
from ..storage.repositories import ChatRepository, LedgerRepository
from .lifecycle import ChatLifecycle

logger = logging.getLogger(__name__)


_fan_out: ContextVar[bool] = ContextVar("arxiv_digest_fan_out", default=False)


@contextlib.contextmanager
def fan_out() -> Iterator[None]:
    """Marks the sends made inside (in this task and the tasks it starts) as the scheduled fan-out, which a
    platform's rate limiter may hold back behind interactive replies."""
    token = _fan_out.set(True)
    try:
        yield
    finally:
        _fan_out.reset(token)


def in_fan_out() -> bool:
    return _fan_out.get()


class ChatGone(ArxivDigestError):
    """The chat blocked or removed the bot, or no longer exists.

    ``at_once``: the platform says so for good (a Telegram user blocked the bot): the chat is deactivated at
    once. Otherwise (a Discord channel the bot lost access to, or that cannot be found: a server admin may
    set it right) the delivery stays pending and counts as a failed attempt; repeated ones deactivate the
    chat and tell the owner."""

    def __init__(self, message: str = "", *, at_once: bool = True) -> None:
        super().__init__(message)
        self.at_once = at_once


class ChatMoved(ArxivDigestError):
    def __init__(self, new_chat_id: str) -> None:
        super().__init__(f"chat moved to {new_chat_id}")
        self.new_chat_id = new_chat_id


class PlatformUnavailable(ArxivDigestError):
    """The platform could not be reached or failed on its side (network error, timeout, 5xx): not the chat's
    fault, worth retrying later."""


class PlatformFailed(ArxivDigestError):
    """A platform cannot be started or cannot go on: its token or API URL is malformed or rejected (at
    start, or revoked while running), or its API cannot be reached at start. The process stops with this
    message: one line for the operator, never a secret."""


class RateLimited(ArxivDigestError):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after:.0f} s")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Target:
    """Where to post, an address only the platform's sink interprets: the chat (a Telegram chat id; a
    Discord channel id), a thread or topic inside it, and for Discord the guild (its message links need
    it). ``kind`` is the platform's kind of chat (``private``, ``supergroup``, ``forum``, … on Telegram;
    ``text``, ``forum``, ``dm`` on Discord; ``user``: a person to write to directly, such as the owner)."""

    chat_id: str
    kind: str = "private"
    thread_id: str | None = None
    language: str = "EN-US"
    platform: str = "telegram"
    guild_id: str | None = None


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message as planned and stored in the ledger: ``text`` (Telegram: HTML; Discord: the message
    content) and ``parts``, the platform's other parts as JSON (Discord: ``{"embeds": [...]}``)."""

    role: str  # summary / footnote / text
    text: str
    parts: Mapping[str, Any] | None = None


class Sink(Protocol):
    """One platform: renders, sends and threads; ``delivery`` decides the order and keeps the ledger.

    Vendor errors come out as ``ChatGone``, ``ChatMoved``, ``RateLimited`` or ``PlatformUnavailable``."""

    platform: str

    def render_summary(self, digest: Digest) -> list[Outgoing]: ...

    def render_footnote(self, entry: DigestEntry, *, language: str, ref: int | None) -> list[Outgoing]: ...

    def render_text(self, text: str) -> Outgoing:
        """Plain text (a notice, a reply), escaped for the platform."""
        ...

    def link_refs(self, summary: Outgoing, links: Mapping[int, str]) -> Outgoing | None:
        """``summary`` with each ``[n]`` linked to ``links[n]``; None when the platform cannot."""
        ...

    def splits_by_category(self, target: Target) -> bool:
        """Whether a digest to ``target`` goes out as one part per category, each in its own topic."""
        ...

    async def topic_for(self, target: Target, name: str) -> str | None:
        """The topic to post a category's digest into (created once), or None for the main chat."""
        ...

    async def send(self, target: Target, message: Outgoing, *, reply_to: str | None = None) -> str:
        """Send one message under ``reply_to`` (the message it belongs under: a reply, or its thread);
        return its platform message id."""
        ...

    async def edit(self, target: Target, message_id: str, message: Outgoing) -> None: ...

    def message_link(self, target: Target, message_id: str) -> str | None:
        """A URL to the message, where the platform has one for this chat."""
        ...


class Outcome(StrEnum):
    DONE = "done"
    GONE = "gone"  # the chat blocked or removed the bot: delivery failed, chat deactivated
    LATER = "later"  # rate limited for too long: stays pending
    UNAVAILABLE = "unavailable"  # the platform failed or was unreachable: stays pending
    FAILED = "failed"  # could not post there this time (no access): stays pending, a failure counted


@dataclass(frozen=True, slots=True)
class RunReport:
    delivery_id: int
    outcome: Outcome
    sent: int  # messages sent by this run
    edited: int


def split_by_category(digest: Digest) -> list[Digest]:
    """One digest per subscribed category (for forum topics): each paper under its first matched category."""
    parts: list[Digest] = []
    for category in digest.categories:
        entries = tuple(e for e in digest.entries if (e.matched_categories or ("",))[0] == category)
        if entries:
            parts.append(replace(digest, categories=(category,), entries=entries, omitted=0))
    if parts and digest.omitted:
        parts[-1] = replace(parts[-1], omitted=digest.omitted)
    return parts or [digest]


def plan(sink: Sink, parts: Sequence[tuple[Digest, str | None]]) -> list[PlannedMessage]:
    """The messages of a delivery: for each (digest, topic), its summary, then its footnotes, every message
    after the summary's first one belonging under it (``reply_to_seq``), in that topic."""
    messages: list[PlannedMessage] = []
    for digest, thread in parts:
        anchor = len(messages)
        for i, summary in enumerate(sink.render_summary(digest)):
            messages.append(_planned(summary, thread=thread, under=anchor if i else None))
        for ref, entry in enumerate(digest.entries, start=1):
            for part in sink.render_footnote(entry, language=digest.language, ref=ref):
                messages.append(_planned(part, thread=thread, under=anchor, ref=ref))
    return messages


def _planned(
    message: Outgoing, *, thread: str | None, under: int | None, ref: int | None = None
) -> PlannedMessage:
    return PlannedMessage(
        message.role, message.text, ref=ref, thread_id=thread, reply_to_seq=under, payload=message.parts
    )


def outgoing(message: LedgerMessage) -> Outgoing:
    """A ledger message as its sink sends it."""
    return Outgoing(message.role, message.text, message.payload)


def target_of(chat: Chat, language: str, thread_id: str | None = None) -> Target:
    return Target(
        chat.chat_key,
        chat.kind,
        thread_id or chat.thread_id,
        language,
        platform=chat.platform,
        guild_id=chat.guild_key,
    )


class Deliverer:
    """Plans digests into the ledger and runs ledger deliveries through the platform sinks."""

    def __init__(
        self,
        db: Database,
        sinks: Mapping[str, Sink],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_waits: int = 3,
        max_wait: float = 120.0,
        lifecycle: ChatLifecycle | None = None,
    ) -> None:
        self.db = db
        self.lifecycle = lifecycle or ChatLifecycle(db, clock=clock)
        self.sinks: dict[str, Sink] = dict(sinks)
        self.clock = clock
        self.sleep = sleep
        self.max_waits = max_waits
        self.max_wait = max_wait
        self.stopping = False  # set on shutdown: runs stop between messages, the rest stays pending
        self._write_lock: asyncio.Lock | contextlib.nullcontext[None] = (
            asyncio.Lock() if db.dialect == "sqlite" else contextlib.nullcontext()
        )

    def register(self, sink: Sink) -> None:
        """Deliver to the chats of ``sink.platform`` through ``sink``."""
        self.sinks[sink.platform] = sink

    async def enqueue(self, chat: Chat, digest: Digest, *, scheduled: bool) -> int | None:
        """Write ``digest`` for ``chat`` into the ledger; None when a scheduled one for that day exists.

        Where the sink splits digests by category (a Telegram forum), each category gets its own topic when
        the bot may create it.
        """
        sink = self.sinks[chat.platform]
        parts: list[tuple[Digest, str | None]] = [(digest, None)]
        if sink.splits_by_category(target_of(chat, digest.language)):
            split = split_by_category(digest)
            topics = [await sink.topic_for(target_of(chat, digest.language), d.categories[0]) for d in split]
            if all(topic is not None for topic in topics):
                parts = list(zip(split, topics, strict=True))
        messages = plan(sink, parts)
        assert digest.announced_on is not None
        async with self.db.session() as session:
            delivery_id = await LedgerRepository(session).create(
                chat.id,
                digest.announced_on,
                scheduled=scheduled,
                language=digest.language,
                papers=len(digest.entries),
                messages=messages,
                now=self.clock(),
            )
            await session.commit()
        return delivery_id

    async def deliver(self, chat: Chat, digest: Digest, *, scheduled: bool) -> RunReport | None:
        """Enqueue and run at once (``/digest``); None when a scheduled delivery of that day exists."""
        delivery_id = await self.enqueue(chat, digest, scheduled=scheduled)
        if delivery_id is None:
            return None
        return await self.run(delivery_id)

    async def run(self, delivery_id: int) -> RunReport:
        """Send what is not sent yet, in order; then link the summary to the footnotes."""
        async with self.db.session() as session:
            ledger = LedgerRepository(session)
            delivery = await ledger.get(delivery_id)
            messages = await ledger.messages(delivery_id)
            chat = await ChatRepository(session).get_by_id(delivery.chat_id) if delivery else None
        if delivery is None or chat is None:
            raise LookupError(f"no delivery {delivery_id}")
        if delivery.status != "pending":
            return RunReport(delivery_id, Outcome.DONE, 0, 0)
        sink = self.sinks[chat.platform]
        sent_ids = {m.seq: m.message_id for m in messages if m.message_id is not None}
        sent = 0
        for message in messages:
            if message.message_id is not None:
                continue
            if self.stopping:
                return RunReport(delivery_id, Outcome.LATER, sent, 0)
            reply_to = sent_ids.get(message.reply_to_seq) if message.reply_to_seq is not None else None
            try:
                message_id, chat = await self._send(sink, chat, delivery.language, message, reply_to)
            except ChatGone as exc:
                if not exc.at_once:
                    logger.warning(
                        "chat %s: cannot post there (%s); delivery %d left pending", chat.id, exc, delivery_id
                    )
                    return RunReport(delivery_id, Outcome.FAILED, sent, 0)
                await self._gone(chat, delivery_id, exc)
                return RunReport(delivery_id, Outcome.GONE, sent, 0)
            except RateLimited as exc:
                logger.warning(
                    "chat %s: still rate limited (%s); delivery %d left pending", chat.id, exc, delivery_id
                )
                return RunReport(delivery_id, Outcome.LATER, sent, 0)
            except PlatformUnavailable as exc:
                logger.warning(
                    "chat %s: %s unavailable (%s); delivery %d left pending",
                    chat.id,
                    chat.platform,
                    exc,
                    delivery_id,
                )
                return RunReport(delivery_id, Outcome.UNAVAILABLE, sent, 0)
            await self._mark_sent(message.id, message_id)
            sent_ids[message.seq] = message_id
            sent += 1
        edited = await self._link(sink, chat, delivery.language, messages, sent_ids)
        async with self.db.session() as session:
            await LedgerRepository(session).finish(delivery_id, "done", now=self.clock())
            if chat.failures:
                await ChatRepository(session).update(chat.id, failures=0)
            await session.commit()
        return RunReport(delivery_id, Outcome.DONE, sent, edited)

    async def _mark_sent(self, row_id: int, message_id: str) -> None:
        """Record a sent message at once: the one write between a send and the next. SQLite has one writer,
        so these are serialised in-process (no busy waits under a wide fan-out) and retried if the database
        is briefly locked by another connection; a message recorded late is better than one sent twice."""
        for attempt in range(5):
            try:
                async with self._write_lock, self.db.session() as session:
                    await LedgerRepository(session).mark_sent(row_id, message_id, now=self.clock())
                    await session.commit()
                return
            except StorageUnavailable:
                if attempt == 4:
                    raise
                logger.warning("recording sent message %s failed; retrying", message_id)
                await asyncio.sleep(0.2 * 2**attempt)

    async def _send(
        self, sink: Sink, chat: Chat, language: str, message: LedgerMessage, reply_to: str | None
    ) -> tuple[str, Chat]:
        waits = 0
        while True:
            target = target_of(chat, language, message.thread_id)
            try:
                return await sink.send(target, outgoing(message), reply_to=reply_to), chat
            except ChatMoved as exc:
                chat = await self._moved(chat, exc.new_chat_id)
            except RateLimited as exc:
                waits += 1
                if waits > self.max_waits or exc.retry_after > self.max_wait:
                    raise
                logger.info("chat %s: rate limited, waiting %.1f s", chat.id, exc.retry_after)
                await self.sleep(exc.retry_after)

    async def _moved(self, chat: Chat, new_key: str) -> Chat:
        moved = await self.lifecycle.moved(chat.platform, chat.chat_key, new_key)
        if moved is None:  # pragma: no cover - the chat row exists while we deliver to it
            raise ChatGone(f"chat {chat.id} vanished during migration")
        return moved

    async def _gone(self, chat: Chat, delivery_id: int, exc: Exception) -> None:
        await self.lifecycle.gone(chat.platform, chat.chat_key, str(exc))
        async with self.db.session() as session:
            await LedgerRepository(session).finish(delivery_id, "failed", now=self.clock())
            await session.commit()

    async def _link(
        self,
        sink: Sink,
        chat: Chat,
        language: str,
        messages: Sequence[LedgerMessage],
        sent_ids: Mapping[int, str],
    ) -> int:
        """Edit each summary message so ``[n]`` links to footnote n of its thread; best effort."""
        links: dict[str | None, dict[int, str]] = {}
        for m in messages:
            if m.role != "footnote" or m.ref is None:
                continue
            group = links.setdefault(m.thread_id, {})
            if m.ref in group:
                continue  # link to a footnote's first part
            url = sink.message_link(target_of(chat, language, m.thread_id), sent_ids[m.seq])
            if url is not None:
                group[m.ref] = url
        edited = 0
        for m in messages:
            if m.role != "summary" or not links.get(m.thread_id):
                continue
            linked = sink.link_refs(outgoing(m), links[m.thread_id])
            if linked is None or linked == outgoing(m):
                continue
            try:
                await sink.edit(target_of(chat, language, m.thread_id), sent_ids[m.seq], linked)
                edited += 1
            except Exception as exc:  # links are a nicety: never fail a delivery over them
                logger.warning("chat %s: summary links not edited (%s)", chat.id, exc)
                break
        return edited
