"""The extractive one-sentence summary (``papers.summary``) and its benchmark (``papers.summary_bench``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from arxiv_digest.papers.sentences import split_sentences
from arxiv_digest.papers.summary import SummaryChoice, choose_summary, score_sentences
from arxiv_digest.papers.summary_bench import (
    BenchResult,
    format_result,
    lcs_length,
    rouge_l_f1,
    run_bench,
    tokens,
)
from tests.corpora import cc0_papers, summary_corpus, summary_corpus_path

# --- choose_summary -------------------------------------------------------------------------------


def _check_spans(records: list[dict[str, Any]]) -> None:
    for record in records:
        abstract = record["abstract"]
        choice = choose_summary(record["title"], abstract)
        assert choice.text == abstract[choice.start : choice.end], record["arxiv_id"]
        if abstract.strip():
            assert choice.text, record["arxiv_id"]
            assert choice.text == choice.text.strip()
            assert (choice.start, choice.end) in split_sentences(abstract), record["arxiv_id"]


def test_exact_span_on_cc0_papers() -> None:
    records = cc0_papers()
    assert len(records) == 300
    _check_spans(records)


def test_exact_span_on_the_summary_corpus() -> None:
    records = summary_corpus()
    assert len(records) == 3000
    _check_spans(records)


def test_contribution_sentence_wins_over_background() -> None:
    title = "Sparse Routing Transformers for Long Documents"
    abstract = (
        "Transformers have attracted a lot of attention in recent years. "
        "However, existing models suffer from a quadratic cost in the length of the input, "
        "which limits their use on long documents. "
        "In this paper, we propose sparse routing transformers, a model that routes each token "
        "to a small set of relevant tokens for long documents. "
        "Experiments on five benchmarks show gains of 2.1%, 3.4% and 1.7% over the baselines."
    )
    choice = choose_summary(title, abstract)
    assert choice.text.startswith("In this paper, we propose sparse routing transformers")
    assert abstract[choice.start : choice.end] == choice.text
    # The background sentences score lower than the contribution.
    scores = [score for _, _, score in score_sentences(title, abstract)]
    assert scores.index(max(scores)) == 2


def test_we_propose_beats_first_sentence_without_title_overlap() -> None:
    abstract = (
        "Graph data is everywhere and has been widely studied. "
        "We present a simple method that estimates the diameter of a graph in linear time."
    )
    assert choose_summary("Untitled", abstract).text.startswith("We present a simple method")


def test_one_sentence_abstract() -> None:
    abstract = "  We show that every planar graph is four-colourable using a short argument.\n"
    choice = choose_summary("Four colours", abstract)
    assert choice == SummaryChoice(abstract.strip(), 2, 2 + len(abstract.strip()))


def test_unterminated_single_sentence() -> None:
    abstract = "A study of sampling bias in citation networks"
    assert choose_summary("x", abstract) == SummaryChoice(abstract, 0, len(abstract))


@pytest.mark.parametrize("abstract", ["", "   ", "\n\t\n"])
def test_blank_abstract(abstract: str) -> None:
    assert choose_summary("A title", abstract) == SummaryChoice("", 0, 0)
    assert score_sentences("A title", abstract) == []


def test_latex_bearing_abstract() -> None:
    title = "Sharp Bounds for $\\ell_p$ Regression"
    abstract = (
        "Let $A \\in \\mathbb{R}^{n \\times d}$ with $n \\gg d$. "
        "Regression under the $\\ell_p$ norm with $p \\in (1, 2)$ has been studied for decades. "
        "We prove sharp bounds of order $O(d^{p/2}. \\log n)$ for $\\ell_p$ regression and give an algorithm "
        "that attains them. "
        "Our bounds improve on the $\\tilde{O}(d^{2})$ bounds of prior work."
    )
    choice = choose_summary(title, abstract)
    assert choice.text == abstract[choice.start : choice.end]
    assert choice.text.startswith("We prove sharp bounds")
    assert choice.text.endswith("attains them.")  # the dot inside $...$ did not cut the sentence


def test_deterministic_and_pure() -> None:
    record = cc0_papers()[7]
    first = choose_summary(record["title"], record["abstract"])
    assert all(choose_summary(record["title"], record["abstract"]) == first for _ in range(3))


def test_custom_weights_change_the_choice() -> None:
    abstract = "First sentence is here and is long enough to count. We propose a thing that does a job."
    default = choose_summary("t", abstract)
    assert default.text.startswith("We propose")
    scored = score_sentences("t", abstract, weights={"first": 10.0})
    assert scored[0][2] > scored[1][2]


# --- benchmark ------------------------------------------------------------------------------------


def test_tokens_and_lcs() -> None:
    assert tokens("We PROPOSE X-Net, 3.5%!") == ["we", "propose", "x", "net", "3", "5"]
    assert lcs_length(list("abcbdab"), list("bdcaba")) == 4
    assert lcs_length([], ["a"]) == 0
    assert lcs_length(["a", "b", "c"], ["c", "b", "a"]) == 1


def test_rouge_l_f1() -> None:
    assert rouge_l_f1("the cat sat", "the cat sat") == pytest.approx(1.0)
    assert rouge_l_f1("", "the cat") == 0.0
    assert rouge_l_f1("dog", "the cat") == 0.0
    # lcs 2, precision 2/3, recall 2/4 -> F1 = 4/7
    assert rouge_l_f1("the cat ran", "the big cat sat") == pytest.approx(4 / 7)


def _write(path: Path, records: list[dict[str, Any] | str]) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_bench_on_small_file(tmp_path: Path) -> None:
    reference = "We propose a fast sorting method for integers."
    records: list[dict[str, Any] | str] = [
        {"title": "Fast Sorting", "abstract": "Sorting is old. " + reference, "tldr_en": reference},
        {"title": "No reference", "abstract": "One. Two.", "tldr_en": None},
        {"title": "Blank reference", "abstract": "One. Two.", "tldr_en": "   "},
        {"title": "Missing reference", "abstract": "One. Two."},
        "",
        {"title": "Cats", "abstract": "Cats purr loudly at night.", "tldr_en": "Cats purr loudly at night."},
    ]
    result = run_bench(_write(tmp_path / "small.jsonl", records))
    assert result.n == 2  # the records without tldr_en and the blank line are skipped
    assert result.lead1 == pytest.approx((rouge_l_f1("Sorting is old.", reference) + 1.0) / 2)
    assert result.lead1 < 0.75
    assert result.method == pytest.approx(1.0)


def test_bench_empty_file(tmp_path: Path) -> None:
    assert run_bench(_write(tmp_path / "empty.jsonl", [])) == BenchResult(0, 0.0, 0.0)


@pytest.mark.parametrize("bad", ['{"title": "x", "abstract": ', "[1, 2, 3]", "not json at all"])
def test_bench_malformed_line(tmp_path: Path, bad: str) -> None:
    ok = {"title": "t", "abstract": "We propose a thing.", "tldr_en": "a thing"}
    path = _write(tmp_path / "bad.jsonl", [ok, bad])
    with pytest.raises(ValueError, match=r"bad\.jsonl:2"):
        run_bench(path)


def test_format_result() -> None:
    line = format_result(BenchResult(n=12, lead1=0.21234, method=0.3349))
    assert line == "n=12 lead1=0.2123 method=0.3349"
    assert re.fullmatch(r"n=\d+ lead1=\d\.\d{4} method=\d\.\d{4}", line)


def test_corpus_score() -> None:
    result = run_bench(summary_corpus_path())
    assert result.n > 2000
    assert result.method >= 0.33
    assert result.method > result.lead1 + 0.1
