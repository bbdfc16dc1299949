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
  escaped as well.
- in every text (cells and footnotes), what GitHub's Markdown (cmark-gfm) would otherwise eat is escaped
  with a backslash, so the text shows as written: a backslash before ASCII punctuation or at a line's end
  (``\\|``, ``\\&``, ``\\(``, ``Schr\\"odinger``, a title ending in ``\\``) is doubled; ``<`` before a
  letter, ``/``, ``!`` or ``?`` (raw HTML such as ``<think>`` or ``<a href="javascript:…">``, which GitHub
  drops or keeps live) becomes ``\\<``; ``&`` starting an entity (``&lt;``) becomes ``\\&``; ``[^`` (a
  footnote reference to another paper) becomes ``\\[^``; ``](`` and ``][`` (a link) become ``\\](`` and
  ``\\][``; a line starting like a block (``#``, ``>``, ``-``, ``+``, ``*``, ``=``, ``1.``, ``1)``: a
  heading, quote, list or rule that would swallow its marker) gets a backslash before its marker. Text
  without these sequences keeps its bytes; emphasis and code spans (``* _ `` ` ``) inside a line are left to
  GitHub, as the reference does, so LaTeX such as ``$x_i^*$`` stays as written.
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


_BACKSLASH = re.compile(r"\\(?=[!-/:-@\[-`{-~]|$)", re.MULTILINE)  # before ASCII punctuation, or at an end
_HTML_START = re.compile(r"<(?=[A-Za-z/!?])")
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_FOOTNOTE_REF = re.compile(r"\[(?=\^)")
_LINK_CLOSE = re.compile(r"\](?=[(\[])")
# A line that would start a block (heading, quote, list, thematic break, setext underline): its marker.
_BLOCK_START = re.compile(r"^([ \t]*)(?:([#>+=*-])|(\d{1,9})([.)]))", re.MULTILINE)


def escape_text(text: str, *, brackets: bool = False) -> str:
    """``text`` with what cmark-gfm would interpret escaped (see the module docstring); text without a
    backslash, ``<``+letter, an entity, ``[^``, ``](`` or ``][`` is returned unchanged. ``brackets``: every
    ``[`` and ``]`` escaped (a link's text)."""
    text = _BACKSLASH.sub(r"\\\\", text)
    text = _HTML_START.sub(r"\\<", text)
    text = _ENTITY.sub(r"\\&", text)
    text = _BLOCK_START.sub(_escape_block_start, text)
    if brackets:
        return text.replace("[", "\\[").replace("]", "\\]")
    text = _FOOTNOTE_REF.sub(r"\\[", text)
    return _LINK_CLOSE.sub(r"\\]", text)


def _escape_block_start(match: re.Match[str]) -> str:
    indent, marker, number, delimiter = match.groups()
    if marker is not None:
        return f"{indent}\\{marker}"
    return f"{indent}{number}\\{delimiter}"


def escape_cell(text: str) -> str:
    """A table cell: ``escape_text``, ``|`` -> ``\\|``, line breaks -> space."""
    return escape_text(_one_line(text)).replace("|", "\\|")


def escape_link_text(text: str) -> str:
    """Link text inside a table cell: as ``escape_cell``, plus ``[``/``]`` escaped so the link holds."""
    return escape_text(_one_line(text), brackets=True).replace("|", "\\|")


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
    """The footnote's head line and its fields, in the reference order, escaped (``escape_text``)."""
    paper = entry.paper
    title = escape_text(_one_line(paper.title))
    link = f"[{paper.abs_url}]({paper.abs_url}){_suffix(_one_line(announce_label(entry, language=language)))}"
    summary_en = escape_text(entry.summary_en)
    abstract = escape_text(paper.abstract)
    translation = None if is_english(language) else entry.translation
    if translation is None:
        fields = [link]
        if summary_en:
            fields.append(summary_en)
        if abstract:
            fields.append(abstract)
        return title, fields
    fields = []
    head = escape_text(_one_line(translation.title))
    if head:
        fields.append(title)
    else:
        head = title
    fields.append(link)
    if translation.summary:
        # A blank English summary still gets its line: the reference's four-space line.
        fields += [escape_text(translation.summary), summary_en]
    elif summary_en:
        fields.append(summary_en)
    if translation.abstract:
        fields.append(escape_text(translation.abstract))
    if abstract:
        fields.append(abstract)
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
