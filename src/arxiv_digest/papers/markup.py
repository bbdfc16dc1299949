"""Markup for DeepL's XML tag handling: protect LaTeX, mark the summary sentence, and undo it all.

The scheme (version 1, see ``SCHEME``):

* ``& < >`` in the text are escaped as ``&amp; &lt; &gt;``, so the text is well-formed XML content.
* Every LaTeX span is wrapped in ``<x>…</x>`` and the request names ``x`` in ``ignore_tags``, so DeepL
  returns it untouched. Recognised spans: ``$$…$$``, ``$…$``, ``\\(…\\)`` and ``\\[…\\]``. A backslash
  escapes the next character (``\\$`` is a literal dollar, never a delimiter); a delimiter without its
  closing partner (an unbalanced ``$``) is left alone as plain text. Note that ``$5 and $10`` is taken
  as maths, like LaTeX itself would.
* The summary sentence, ``text[start:end]``, is wrapped in ``<s>…</s>``. Tags must nest, so when a LaTeX
  span crosses a boundary of the summary the marker is **widened** to take the whole span in (the summary
  then includes the complete formula); ``summary_bounds`` gives the bounds actually marked.

DeepL bills the characters of the text but not the tags, counting an entity as one character, so the
billed length of ``protect(x)`` is ``len(x)`` (``billable_length``). Pure functions only.
"""

from __future__ import annotations

import re

__all__ = [
    "IGNORE_TAG",
    "MARKER_TAG",
    "SCHEME",
    "billable_length",
    "corresponding_sentence",
    "latex_spans",
    "protect",
    "summary_bounds",
    "unprotect",
]

IGNORE_TAG = "x"
MARKER_TAG = "s"
SCHEME = "v1"

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}
_TOKEN = re.compile(r"<(/?)([A-Za-z_][\w.-]*)[^>]*?(/?)>|&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z]+);")


def _escape(text: str) -> str:
    return "".join(_ESCAPES.get(c, c) for c in text)


def _find_closing(text: str, start: int, closing: str) -> int:
    """Index of the first ``closing`` at or after ``start`` that is not backslash-escaped, or -1."""
    i = start
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            if closing[0] == "\\" and text.startswith(closing, i):
                return i
            i += 2  # a backslash escapes the next character
            continue
        if text.startswith(closing, i):
            return i
        i += 1
    return -1


def latex_spans(text: str) -> list[tuple[int, int]]:
    """The ``[start, end)`` ranges of the LaTeX maths in ``text``, delimiters included, in order."""
    spans: list[tuple[int, int]] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            nxt = text[i + 1] if i + 1 < n else ""
            if nxt in ("(", "["):
                closing = "\\)" if nxt == "(" else "\\]"
                j = _find_closing(text, i + 2, closing)
                if j >= 0:
                    spans.append((i, j + 2))
                    i = j + 2
                    continue
            i += 2  # escaped character (``\$``, ``\\``) or an unclosed ``\(``: plain text
            continue
        if c == "$":
            if text.startswith("$$", i):
                j = _find_closing(text, i + 2, "$$")
                if j >= 0:
                    spans.append((i, j + 2))
                    i = j + 2
                else:
                    i += 2  # unbalanced: left alone
                continue
            j = _find_closing(text, i + 1, "$")
            if j >= 0:
                spans.append((i, j + 1))
                i = j + 1
            else:
                i += 1  # unbalanced: left alone
            continue
        i += 1
    return spans


def _widen(span: tuple[int, int], latex: list[tuple[int, int]], length: int) -> tuple[int, int] | None:
    start = max(0, min(span[0], length))
    end = max(0, min(span[1], length))
    if start >= end:
        return None
    for a, b in latex:
        if a < start < b:
            start = a
        if a < end < b:
            end = b
    return start, end


def summary_bounds(text: str, summary_span: tuple[int, int] | None) -> tuple[int, int] | None:
    """The bounds ``protect`` marks for ``summary_span``: clamped to the text, widened over any LaTeX span
    that crosses a boundary; None when there is no span or it is empty."""
    if summary_span is None:
        return None
    return _widen(summary_span, latex_spans(text), len(text))


def protect(text: str, *, summary_span: tuple[int, int] | None) -> str:
    """Return ``text`` as XML for DeepL: entities escaped, LaTeX in ``<x>``, the summary in ``<s>``."""
    latex = latex_spans(text)
    bounds = None if summary_span is None else _widen(summary_span, latex, len(text))
    # Tag insertions per position: closings before openings, so adjacent elements never overlap.
    opens: dict[int, list[str]] = {}
    closes: dict[int, list[str]] = {}
    if bounds is not None:
        opens.setdefault(bounds[0], []).append(MARKER_TAG)
        closes.setdefault(bounds[1], []).append(MARKER_TAG)
    for a, b in latex:
        # The marker opens before (and closes after) a LaTeX span sharing its boundary.
        opens.setdefault(a, []).append(IGNORE_TAG)
        closes.setdefault(b, []).insert(0, IGNORE_TAG)
    out: list[str] = []
    for i in range(len(text) + 1):
        for tag in closes.get(i, ()):
            out.append(f"</{tag}>")
        for tag in opens.get(i, ()):
            out.append(f"<{tag}>")
        if i < len(text):
            c = text[i]
            out.append(_ESCAPES.get(c, c))
    return "".join(out)


def _unescape_entity(name: str, raw: str) -> str:
    if name.startswith(("#x", "#X")):
        return chr(int(name[2:], 16))
    if name.startswith("#"):
        return chr(int(name[1:]))
    return _ENTITIES.get(name, raw)


def _walk(xml_text: str) -> tuple[list[str], list[tuple[str, bool, int]]]:
    """Split ``xml_text`` into plain pieces and tag events ``(name, is_close, index of the next piece)``."""
    pieces: list[str] = []
    events: list[tuple[str, bool, int]] = []
    pos = 0
    for m in _TOKEN.finditer(xml_text):
        pieces.append(xml_text[pos : m.start()])
        pos = m.end()
        if m.group(4) is not None:
            try:
                pieces.append(_unescape_entity(m.group(4), m.group(0)))
            except (ValueError, OverflowError):
                pieces.append(m.group(0))
            continue
        name = m.group(2)
        if m.group(3):  # self-closing: no content either way
            continue
        events.append((name, bool(m.group(1)), len(pieces)))
    pieces.append(xml_text[pos:])
    return pieces, events


def unprotect(xml_text: str) -> tuple[str, str | None]:
    """From DeepL's tagged output return ``(plain text, text inside the summary marker)``.

    Tags are removed, entities unescaped, ignored (LaTeX) content kept verbatim. The marker text is None
    when the marker did not come back exactly once, opened then closed (DeepL lost or split it).
    """
    pieces, events = _walk(xml_text)
    marks = [(is_close, at) for name, is_close, at in events if name == MARKER_TAG]
    marker: str | None = None
    if len(marks) == 2 and not marks[0][0] and marks[1][0]:
        marker = "".join(pieces[marks[0][1] : marks[1][1]])
    return "".join(pieces), marker


def billable_length(xml_text: str) -> int:
    """Characters DeepL bills for ``xml_text`` with XML tag handling: tags free, an entity counts as one."""
    pieces, _ = _walk(xml_text)
    return sum(len(p) for p in pieces)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？])\s*")


def _sentences(text: str) -> list[tuple[int, int]]:
    """Sentence bounds: a split after ``. ! ?`` and a space, or after ``。！？``; never inside LaTeX."""
    latex = latex_spans(text)
    bounds: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if m.end() >= len(text) or any(a < m.start() < b for a, b in latex):
            continue
        bounds.append((start, m.start()))
        start = m.end()
    if text[start:].strip():
        bounds.append((start, len(text.rstrip())))
    return [(a, b) for a, b in bounds if text[a:b].strip()]


def corresponding_sentence(source: str, summary_span: tuple[int, int] | None, translated: str) -> str:
    """The sentence of ``translated`` that corresponds to ``source[start:end]``, or "".

    Used when DeepL lost the summary marker. Both texts are split into sentences the same way; if they have
    the same number of sentences, the translated sentence at the index of the source sentence holding the
    summary's start is returned. Otherwise (splits disagree, no span) there is no safe answer: "".
    """
    if summary_span is None or not translated.strip():
        return ""
    src = _sentences(source)
    dst = _sentences(translated)
    if not src or len(src) != len(dst):
        return ""
    start = summary_span[0]
    index = next((k for k, (_, end) in enumerate(src) if start < end), len(src) - 1)
    a, b = dst[index]
    return translated[a:b].strip()
