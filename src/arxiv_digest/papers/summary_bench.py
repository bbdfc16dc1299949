"""Benchmark of the extractive one-sentence summary against reference summaries.

The reference is a language model's English one-sentence summary (``tldr_en`` in the corpus JSON lines).
The score is ROUGE-L F1 (longest common subsequence of lower-cased ``\\w+`` tokens, precision and recall
weighted equally), averaged over the records that have a reference. Two systems are scored:

* ``lead1``: the abstract's first sentence (``split_sentences``), the usual baseline;
* ``method``: ``choose_summary``.

``arxiv-digest bench summary FILE`` prints ``format_result(run_bench(FILE))``.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from .sentences import split_sentences
from .summary import choose_summary

__all__ = ["BenchResult", "format_result", "lcs_length", "rouge_l_f1", "run_bench", "tokens"]

logger = logging.getLogger(__name__)

_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class BenchResult:
    """``n`` records scored; mean ROUGE-L F1 of the first sentence and of ``choose_summary``."""

    n: int
    lead1: float
    method: float


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens: the ``\\w+`` runs of ``text``."""
    return _TOKEN.findall(text.lower())


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence of two token lists.

    Bit-parallel (Hyyrö 2004): bit ``i`` of ``v`` is cleared once ``a[i]`` has been used in a match, so
    the answer is the number of cleared bits after scanning ``b``. Linear in ``len(b)`` big-int steps.
    """
    if not a or not b:
        return 0
    masks: dict[str, int] = {}
    for i, tok in enumerate(a):
        masks[tok] = masks.get(tok, 0) | (1 << i)
    full = (1 << len(a)) - 1
    v = full
    for tok in b:
        u = v & masks.get(tok, 0)
        v = ((v + u) | (v - u)) & full
    return len(a) - v.bit_count()


def rouge_l_f1(candidate: str, reference: str) -> float:
    """ROUGE-L F1 of ``candidate`` against ``reference``; 0.0 when either has no tokens."""
    cand = tokens(candidate)
    ref = tokens(reference)
    lcs = lcs_length(cand, ref)
    if lcs == 0:
        return 0.0
    precision = lcs / len(cand)
    recall = lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


def _first_sentence(abstract: str) -> str:
    spans = split_sentences(abstract)
    if not spans:
        return ""
    start, end = spans[0]
    return abstract[start:end]


def run_bench(path: Path) -> BenchResult:
    """Score lead-1 and ``choose_summary`` on the JSON lines in ``path``.

    Each line is an object with ``title``, ``abstract`` and ``tldr_en``; lines whose ``tldr_en`` is
    missing, null or blank are skipped, as are blank lines. A malformed line raises ``ValueError``
    naming its line number.
    """
    n = 0
    lead_total = 0.0
    method_total = 0.0
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                reference = record.get("tldr_en")
                title = str(record.get("title") or "")
                abstract = str(record.get("abstract") or "")
            except (json.JSONDecodeError, AttributeError) as exc:
                raise ValueError(f"{path}:{lineno}: not a JSON object: {exc}") from exc
            if not isinstance(reference, str) or not reference.strip():
                continue
            n += 1
            lead_total += rouge_l_f1(_first_sentence(abstract), reference)
            method_total += rouge_l_f1(choose_summary(title, abstract).text, reference)
    logger.debug("summary bench: %d records from %s", n, path)
    if n == 0:
        return BenchResult(0, 0.0, 0.0)
    return BenchResult(n, lead_total / n, method_total / n)


def format_result(result: BenchResult) -> str:
    """``n=<records> lead1=<score:.4f> method=<score:.4f>``."""
    return f"n={result.n} lead1={result.lead1:.4f} method={result.method:.4f}"
