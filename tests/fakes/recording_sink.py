"""A ``delivery.Sink`` in memory: what each platform's sink must do, with nothing but a list behind it.

It records every message with what it belongs under (``reply_to``), edits in place, and raises the
delivery's own exceptions when told to (``fail_next``). Messages are plain text; ``render_*`` produce one
message per summary and per footnote. Used by the sink contract test (``tests/integration/
test_sink_contract.py``) beside the real sinks, and by tests that need a platform without a protocol.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from arxiv_digest.bot.delivery import ChatGone, Outgoing, Target
from arxiv_digest.papers.models import Digest, DigestEntry


@dataclass
class Recorded:
    message_id: str
    target: Target
    message: Outgoing
    reply_to: str | None
    edits: list[Outgoing] = field(default_factory=list)


class RecordingSink:
    platform = "memory"

    def __init__(self) -> None:
        self.sent: list[Recorded] = []
        self._ids = itertools.count(1)
        self._failures: deque[Exception] = deque()
        self.gone: set[str] = set()  # chats that blocked the bot

    # -- control ---------------------------------------------------------------------------------------------

    def fail_next(self, error: Exception, times: int = 1) -> None:
        self._failures.extend([error] * times)

    def by_id(self, message_id: str) -> Recorded:
        return next(r for r in self.sent if r.message_id == message_id)

    # -- the Sink protocol ----------------------------------------------------------------------------------

    def render_summary(self, digest: Digest) -> list[Outgoing]:
        rows = [f"[{n}] {e.paper.title}" for n, e in enumerate(digest.entries, 1)]
        return [Outgoing("summary", "\n".join([", ".join(digest.categories), *rows]))]

    def render_footnote(self, entry: DigestEntry, *, language: str, ref: int | None) -> list[Outgoing]:
        head = f"[{ref}] " if ref is not None else ""
        return [Outgoing("footnote", f"{head}{entry.paper.title}\n{entry.paper.abstract}")]

    def render_text(self, text: str) -> Outgoing:
        return Outgoing("text", text)

    def link_refs(self, summary: Outgoing, links: Mapping[int, str]) -> Outgoing | None:
        text = summary.text
        for n, url in links.items():
            text = text.replace(f"[{n}] ", f"[{n}]({url}) ", 1)
        return replace(summary, text=text)

    def splits_by_category(self, target: Target) -> bool:
        return False

    async def topic_for(self, target: Target, name: str) -> str | None:
        return None

    async def send(self, target: Target, message: Outgoing, *, reply_to: str | None = None) -> str:
        self._maybe_fail(target)
        record = Recorded(str(next(self._ids)), target, message, reply_to)
        self.sent.append(record)
        return record.message_id

    async def edit(self, target: Target, message_id: str, message: Outgoing) -> None:
        self._maybe_fail(target)
        self.by_id(message_id).edits.append(message)

    def message_link(self, target: Target, message_id: str) -> str | None:
        return f"memory://{target.chat_id}/{message_id}"

    def _maybe_fail(self, target: Target) -> None:
        if target.chat_id in self.gone:
            raise ChatGone(f"chat {target.chat_id} blocked the bot")
        if self._failures:
            raise self._failures.popleft()
