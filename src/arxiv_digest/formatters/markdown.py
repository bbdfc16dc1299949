"""Markdown digest in the reference layout of qhduan/cn-chat-arxiv. Pure: same input, same text.

The layout, byte for byte (zh headers shown; ``·`` marks the four-space indent)::

    # 摘要

    | Ref | Title | Summary |
    | --- | --- | --- |
    | [^1] | [English title](https://arxiv.org/abs/ID) | summary |

    # 详细

    [^1]: translated title

    ····English title

    ····[https://arxiv.org/abs/ID](https://arxiv.org/abs/ID)

    ····summary (target language)

    ····summary (English)

    ····translated abstract

    ····English abstract
    ····

Footnotes follow one another directly (each ends with a four-space line) and the text ends with one
blank line. A digest without entries gives exactly the reference's empty page (for zh).

Differences from the reference, and nothing else:

- table cells: ``|`` -> ``\\|`` and line breaks -> one space; in the title's link text ``[``/``]`` are
  escaped as well. Everything else (LaTeX, ``* _ < > &``) is left as it is.
- the English summary line holds ``entry.summary_en`` (the reference always left it blank); a blank
  ``summary_en`` still gives the reference's four-space line.
- headers in the digest's language (``formatters.i18n``); the table header cells stay English.
- abstracts come whole from the model; links are always ``paper.abs_url``.
- cross-lists and replacements carry a label after the title link in the table and after the link on the
  footnote's link line, e.g. ``(cross-list from math.OC)``; new papers have none (reference bytes).
- ``digest.notices``: one ``> notice`` paragraph each before the summary header; ``digest.omitted``: an
  "…and K more" paragraph after the table.
- without a translation (``entry.translation is None`` or an English target) a footnote holds the English
  title, link, English summary (when there is one) and English abstract, once each. A translation with an
  empty summary shows only the English summary; with an empty title or abstract, only the English one.

Multi-line fields in footnotes keep their line breaks, each line indented, so they stay in the footnote.
"""

from __future__ import annotations

import logging
import re

from ..papers.languages import is_english
from ..papers.models import AnnounceType, Digest, DigestEntry
from .i18n import t

logger = logging.getLogger(__name__)

INDENT = "    "
_LINE_BREAK = re.compile(r"\r\n|[\r\n\u2028\u2029]")


def _one_line(text: str) -> str:
    """Line breaks -> one space each; nothing else changed."""
    return _LINE_BREAK.sub(" ", text)


def escape_cell(text: str) -> str:
    """A table cell: ``|`` -> ``\\|``, line breaks -> space, nothing else changed."""
    return _one_line(text).replace("|", "\\|")


def escape_link_text(text: str) -> str:
    """Link text inside a table cell: as ``escape_cell``, plus ``[``/``]`` escaped so the link holds."""
    return escape_cell(text).replace("[", "\\[").replace("]", "\\]")


def _indent(text: str) -> str:
    """Every line of ``text`` indented by four spaces (an empty text gives one four-space line)."""
    return "\n".join(INDENT + line for line in _LINE_BREAK.split(text))


def announce_label(entry: DigestEntry, *, language: str) -> str:
    """The short label of a cross-list or replacement ("" for a new paper), without parentheses."""
    kind = entry.announce_type
    paper = entry.paper
    if kind is AnnounceType.CROSS:
        primary = paper.primary_category or (paper.categories[0] if paper.categories else "")
        if primary:
            return t(language, "label_cross", categories=primary)
        return t(language, "label_cross_plain")
    if kind is AnnounceType.REPLACE:
        if paper.version:
            return t(language, "label_replace", version=paper.version)
        return t(language, "label_replace_plain")
    if kind is AnnounceType.REPLACE_CROSS:
        return t(language, "label_replace_cross")
    return ""


def _suffix(label: str) -> str:
    return f" ({label})" if label else ""


def _table_row(ref: int, entry: DigestEntry, *, language: str) -> str:
    paper = entry.paper
    translation = None if is_english(language) else entry.translation
    summary = translation.summary if translation is not None and translation.summary else entry.summary_en
    title = f"[{escape_link_text(paper.title)}]({paper.abs_url})"
    label = escape_cell(_suffix(announce_label(entry, language=language)))
    return f"| [^{ref}] | {title}{label} | {escape_cell(summary)} |"


def _footnote_parts(entry: DigestEntry, *, language: str) -> tuple[str, list[str]]:
    """The footnote's head line and its fields, in the reference order."""
    paper = entry.paper
    title = _one_line(paper.title)
    link = f"[{paper.abs_url}]({paper.abs_url}){_suffix(_one_line(announce_label(entry, language=language)))}"
    translation = None if is_english(language) else entry.translation
    if translation is None:
        fields = [link]
        if entry.summary_en:
            fields.append(entry.summary_en)
        if paper.abstract:
            fields.append(paper.abstract)
        return title, fields
    fields = []
    head = _one_line(translation.title)
    if head:
        fields.append(title)
    else:
        head = title
    fields.append(link)
    if translation.summary:
        # A blank English summary still gets its line: the reference's four-space line.
        fields += [translation.summary, entry.summary_en]
    elif entry.summary_en:
        fields.append(entry.summary_en)
    if translation.abstract:
        fields.append(translation.abstract)
    if paper.abstract:
        fields.append(paper.abstract)
    return head, fields


def _footnote_body(entry: DigestEntry, *, language: str, ref: int) -> str:
    """``[^ref]: head``, the indented fields, and a closing four-space line (no final newline)."""
    head, fields = _footnote_parts(entry, language=language)
    return f"[^{ref}]: {head}\n\n" + "\n\n".join(_indent(f) for f in fields) + "\n" + INDENT


def render_footnote(entry: DigestEntry, *, language: str, ref: int | None = None) -> str:
    """One paper's detail.

    With ``ref``: the footnote exactly as ``render_digest`` writes it (ending with its four-space line and a
    newline). Without: a standalone document for one paper (``# head`` then the same fields as paragraphs,
    unindented), since a footnote definition with no reference renders as nothing.
    """
    if ref is not None:
        return _footnote_body(entry, language=language, ref=ref) + "\n"
    head, fields = _footnote_parts(entry, language=language)
    return f"# {head}\n\n" + "\n\n".join(field for field in fields if field) + "\n"


def render_digest(digest: Digest) -> str:
    """The whole digest as Markdown in the reference layout (see the module docstring)."""
    language = digest.language
    parts: list[str] = [f"> {_one_line(notice)}\n\n" for notice in digest.notices]
    parts.append(f"# {t(language, 'digest_summary')}\n\n")
    cells = (t(language, "table_ref"), t(language, "table_title"), t(language, "table_summary"))
    parts.append(f"| {' | '.join(escape_cell(c) for c in cells)} |\n| --- | --- | --- |\n")
    parts.append("\n".join(_table_row(i, e, language=language) for i, e in enumerate(digest.entries, 1)))
    if digest.omitted > 0:
        parts.append("\n\n" + t(language, "and_more", count=digest.omitted))
    parts.append(f"\n\n# {t(language, 'digest_details')}\n\n")
    parts.append(
        "\n".join(_footnote_body(e, language=language, ref=i) for i, e in enumerate(digest.entries, 1))
    )
    parts.append("\n\n")
    return "".join(parts)
