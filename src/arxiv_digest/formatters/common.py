"""What every chat platform's formatter shows alike: the announce-type label and the authors line. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from ..papers.models import AnnounceType, DigestEntry
from .i18n import t

MAX_AUTHORS = 12  # more are counted: "A, B, … +N"


def type_label(entry: DigestEntry, language: str) -> str:
    """ "cross-list from math.OC", "replacement, v3", …: the label of a cross-list or replacement in the
    chat's language; "" for a new paper."""
    kind = entry.announce_type
    version = entry.paper.version or 1
    if kind is AnnounceType.CROSS:
        primary = entry.paper.primary_category or (
            entry.paper.categories[0] if entry.paper.categories else ""
        )
        return t(language, "label_cross", categories=primary)
    if kind is AnnounceType.REPLACE:
        return t(language, "label_replace", version=version)
    if kind is AnnounceType.REPLACE_CROSS:
        return t(language, "label_replace_cross", version=version)
    return ""


def authors_line(authors: Sequence[str]) -> str:
    """The first ``MAX_AUTHORS`` names, comma-separated, then ``+N`` for the rest (blank names skipped)."""
    names = [name for name in authors if name.strip()]
    if len(names) <= MAX_AUTHORS:
        return ", ".join(names)
    return ", ".join(names[:MAX_AUTHORS]) + f" +{len(names) - MAX_AUTHORS}"
