"""Split English scientific prose (arXiv abstracts) into sentences, as character spans.

``split_sentences(text)`` returns ``(start, end)`` spans into the original text, so that
``text[start:end]`` is one sentence without its surrounding whitespace. Every non-blank character of the
text belongs to exactly one span; spans are in order and never overlap.

How a boundary is found:

* A candidate is a run of ``.``, ``?``, ``!`` or ``…`` followed by optional closing quotes/brackets and an
  optional numeric citation (``[12]``), then whitespace or the end of the text. ``3.5%``, ``v2.1``,
  ``arxiv.org/abs/…`` and ``10.1000/x.y`` never qualify: no whitespace follows their inner dots.
* Never inside a protected region: LaTeX maths (``$…$``, ``$$…$$``, ``\\(…\\)``, ``\\[…\\]``, with the same
  rules as ``markup.latex_spans``: a backslash escapes the next character, an unclosed delimiter is plain
  text), balanced brackets ``(…) […] {…}`` up to ``_MAX_BRACKET`` characters, URLs and DOIs.
* A ``.`` ends a sentence only when the next word does not start with a lower-case letter (or ``,;:``),
  the word before it is not a known abbreviation (``e.g.``, ``Fig.``, ``w.r.t.``, ``U.S.`` …; ``et al.``
  and ``etc.`` end a sentence only before a capital letter), not an initial inside a name
  (``Paul J. Mayer``, ``O. M. Smith``) and not a bare list marker (``2.`` in ``… 2. Here, we …``).
* ``?`` and ``!`` end a sentence unless a lower-case word follows; an ellipsis only before a capital.
* A blank line (paragraph) always ends a sentence; so does a line that starts with a list bullet.
* What is left after the last boundary is the final sentence, terminated or not (a fragment).

Pure, standard library only.
"""

from __future__ import annotations

import bisect
import itertools
import re

__all__ = ["sentence_texts", "split_sentences"]

_MAX_BRACKET = 300  # longer "brackets" are more likely unbalanced prose than a parenthetical

# Abbreviations after which a "." never ends a sentence (compared lower-cased, without the final dot).
_NEVER_END = frozenset(
    {
        "e.g", "i.e", "cf", "vs", "v.s", "resp", "w.r.t", "wrt", "approx", "viz", "ca", "incl", "esp",
        "fig", "figs", "eq", "eqs", "eqn", "eqns", "sec", "secs", "sect", "ref", "refs", "tab", "thm",
        "lem", "def", "prop", "cor", "alg", "app", "ch", "chap", "vol", "pp", "no", "nos", "nr",
        "dr", "prof", "mr", "mrs", "ms", "st", "jr", "sr", "u.s", "u.k", "e.u", "ph.d", "a.k.a",
        "et",
    }
)  # fmt: skip
# Abbreviations that often end a sentence: a boundary only before a capital letter.
_MAY_END = frozenset({"etc", "al", "et al", "et. al"})
# Words that usually start a sentence, used to tell "in Task B. Our results" from "Paul J. Mayer".
_STARTERS = frozenset(
    {
        "a", "an", "the", "we", "our", "in", "on", "this", "these", "those", "that", "it", "its", "to",
        "for", "as", "at", "by", "with", "however", "moreover", "furthermore", "finally", "then",
        "here", "there", "using", "based", "experiments", "results", "further", "additionally",
        "thus", "hence", "therefore", "also", "such", "unlike", "while", "although", "when", "if",
        "from", "all", "both", "each", "one", "two", "first", "second", "third", "overall", "since",
    }
)  # fmt: skip

_CANDIDATE = re.compile(
    r"""(?P<term>\.{3,}|…|[.!?]+)          # terminator
        (?P<close>["'”’»)\]}]*)            # closing quotes / brackets
        (?P<cite>\[\d+(?:\s*[,–-]\s*\d+)*\])?  # a numeric citation right after the period
        (?=\s|$)""",
    re.VERBOSE,
)
_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
_BULLET = re.compile(r"\n[ \t]*(?=(?:[-*•–]|\(?\d{1,2}[.)]|\(?[ivx]{1,4}\))[ \t])")
_URL = re.compile(r"(?:https?://|www\.)\S+|\b10\.\d{4,9}/\S+|\b[\w.-]+@[\w-]+\.[\w.-]+", re.IGNORECASE)
_URL_TRAIL = ".,;:!?)]}\"'”’"
_LATEX_TOKEN = re.compile(r"\\.|\$\$|\$", re.DOTALL)
_BRACKET = re.compile(r"[()\[\]{}]")
_ENUMERATOR = re.compile(r"\(?(?:\d{1,2}|[ivxIVX]{1,4}|[A-Za-z])[.)]")
_INITIAL = re.compile(r"[A-Z]\.")
_INITIALS = re.compile(r"(?:[A-Z]\.-?){0,3}[A-Z]")
_LEADING_OPENERS = "([{\"'“‘«"


def _find_closing(text: str, start: int, closing: str) -> int:
    """Index of the first unescaped ``closing`` at or after ``start``, or -1 (``markup`` semantics)."""
    i = start
    n = len(text)
    while i < n:
        j = text.find(closing, i)
        k = text.find("\\", i)
        if j < 0:
            return -1
        if k < 0 or j <= k:
            return j
        i = k + 2  # a backslash escapes the next character
    return -1


def _latex_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    if "$" not in text and "\\(" not in text and "\\[" not in text:
        return spans
    pos = 0
    while True:
        m = _LATEX_TOKEN.search(text, pos)
        if m is None:
            return spans
        tok = m.group(0)
        i = m.start()
        if tok.startswith("\\"):
            if tok in ("\\(", "\\["):
                j = _find_closing(text, i + 2, "\\)" if tok == "\\(" else "\\]")
                if j >= 0:
                    spans.append((i, j + 2))
                    pos = j + 2
                    continue
            pos = m.end()
            continue
        j = _find_closing(text, m.end(), tok)
        if j >= 0:
            spans.append((i, j + len(tok)))
            pos = j + len(tok)
        else:
            pos = m.end()  # unbalanced: plain text


def _protected(text: str) -> list[tuple[int, int]]:
    """Sorted, merged ``[start, end)`` regions where no sentence may end."""
    regions = _latex_spans(text)
    latex = list(regions)
    latex_starts = [a for a, _ in latex]
    stack: list[int] = []
    for m in _BRACKET.finditer(text):
        i = m.start()
        if latex and _inside_any(latex, latex_starts, i):
            continue
        if text[i] in "([{":
            stack.append(i)
        elif stack:
            j = stack.pop()
            if i - j <= _MAX_BRACKET and _PARAGRAPH.search(text, j, i) is None:
                regions.append((j, i + 1))
    for m in _URL.finditer(text):
        end = m.end()
        while end > m.start() and text[end - 1] in _URL_TRAIL:
            end -= 1
        regions.append((m.start(), end))
    regions.sort()
    merged: list[tuple[int, int]] = []
    for a, b in regions:
        if merged and a < merged[-1][1]:
            if b > merged[-1][1]:
                merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def _inside_any(spans: list[tuple[int, int]], starts: list[int], pos: int) -> bool:
    k = bisect.bisect_right(starts, pos) - 1
    return k >= 0 and spans[k][0] <= pos < spans[k][1]


def _word_before(text: str, pos: int) -> tuple[str, int]:
    """The whitespace-delimited word ending at ``pos`` (exclusive) and its start."""
    start = pos
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    return text[start:pos], start


def _word_after(text: str, pos: int) -> str:
    end = pos
    while end < len(text) and not text[end].isspace():
        end += 1
    return text[pos:end]


def _period_ends_sentence(text: str, term_start: int, nxt: int, sentence_start: int) -> bool:
    """Decide a single ``.`` at ``term_start`` followed (after whitespace) by ``text[nxt]``."""
    c = text[nxt]
    word, word_start = _word_before(text, term_start)
    bare = word.lstrip(_LEADING_OPENERS)
    low = bare.lower()
    if low in _NEVER_END:
        return False
    prev_word, _ = _word_before(text, word_start - 1) if word_start > 0 else ("", 0)
    if low in _MAY_END or (low == "al" and prev_word.lower() in ("et", "et.")):
        return c.isupper()
    if re.fullmatch(r"(?:[a-z]{1,2}\.)+[a-z]{1,2}", low):
        return False  # i.i.d., Ph.D, a.k.a: a dotted abbreviation
    if text[sentence_start : term_start + 1].strip() and _ENUMERATOR.fullmatch(
        text[sentence_start : term_start + 1].strip()
    ):
        return False  # "2. Here, we …": a list marker, not a sentence
    if _INITIALS.fullmatch(bare):
        following = _word_after(text, nxt)
        if len(bare) > 1:  # "Y.-H. He", "J.K. Rowling"
            return following.rstrip(".,;:'’s").lower() in _STARTERS
        if _INITIAL.match(following) and (len(following) == 2 or following[2:3] in (".", "-")):
            return False  # "O. M. Smith"
        if _INITIAL.fullmatch(prev_word) or prev_word.endswith(".-"):
            return False  # "J. K. Rowling", "Y.-H. He"
        prev_bare = prev_word.strip(_LEADING_OPENERS)
        if (
            prev_bare[:1].isupper()
            and prev_bare[1:].islower()
            and following[:1].isupper()
            and following.rstrip(".,;:'’s").lower() not in _STARTERS
        ):
            return False  # "Paul J. Mayer"
    return True


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` into ``text``; ``text[start:end]`` is stripped of whitespace."""
    if not text or text.isspace():
        return []
    protected = _protected(text)
    starts = [a for a, _ in protected]
    n = len(text)
    cuts: list[int] = []  # positions where a new sentence may begin (after whitespace)
    hard: list[int] = []
    for m in _PARAGRAPH.finditer(text):
        if not _inside_any(protected, starts, m.start()):
            hard.append(m.start())
    for m in _BULLET.finditer(text):
        if not _inside_any(protected, starts, m.start()):
            hard.append(m.start())
    hard.sort()
    hard_i = 0
    sentence_start = 0
    for m in _CANDIDATE.finditer(text):
        term = m.group("term")
        t0 = m.start()
        # Any hard break before this candidate starts a new sentence.
        while hard_i < len(hard) and hard[hard_i] < t0:
            cuts.append(hard[hard_i])
            sentence_start = hard[hard_i]
            hard_i += 1
        if _inside_any(protected, starts, t0):
            continue
        end = m.end()
        nxt = end
        while nxt < n and text[nxt].isspace():
            nxt += 1
        if nxt >= n:
            break  # the end of the text ends the sentence anyway
        c = text[nxt]
        if c.islower() or c in ",;:%)]}":
            continue
        if term in ("...", "…") or term.startswith(".."):
            ok = c.isupper()
        elif "?" in term or "!" in term:
            ok = True
        elif term == ".":
            ok = _period_ends_sentence(text, t0, nxt, sentence_start)
        else:
            ok = True
        if ok:
            cuts.append(end)
            sentence_start = end
    cuts.extend(hard[hard_i:])
    spans: list[tuple[int, int]] = []
    bounds = [0, *sorted(set(cuts)), n]
    for a, b in itertools.pairwise(bounds):
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            spans.append((a, b))
    return spans


def sentence_texts(text: str) -> list[str]:
    """The sentences of ``text`` as strings (convenience over ``split_sentences``)."""
    return [text[a:b] for a, b in split_sentences(text)]
