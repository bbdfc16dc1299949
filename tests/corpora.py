"""Paper texts for tests: the CC0 sample in the repository, and the summary corpus given at run time.

- :func:`cc0_papers`: ``tests/fixtures/papers/abstracts_cc0.jsonl``, 300 arXiv titles and abstracts (arXiv
  metadata, CC0; see ``tests/fixtures/README.md``). Always there.
- :func:`summary_corpus`: the 3,000-paper corpus with reference summaries (``cn_chat_arxiv_3000.jsonl``). Its
  summaries come from a repository without a licence, so it is not in this repository: tests that need it
  read the file named by ``ARXIV_DIGEST_CORPUS`` and skip, saying so, when the variable is not set.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CC0_PAPERS = FIXTURES / "papers" / "abstracts_cc0.jsonl"
CORPUS_ENV = "ARXIV_DIGEST_CORPUS"
CORPUS_SKIP = (
    f"needs the summary corpus: set {CORPUS_ENV} to the path of cn_chat_arxiv_3000.jsonl "
    "(see tests/fixtures/README.md)"
)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def cc0_papers() -> list[dict[str, Any]]:
    """The repository's 300 CC0 papers: ``arxiv_id``, ``title``, ``abstract``, ``link``."""
    return read_jsonl(CC0_PAPERS)


def summary_corpus_path() -> Path:
    """The file named by ``ARXIV_DIGEST_CORPUS``; skips the test when the variable is unset."""
    value = os.environ.get(CORPUS_ENV, "").strip()
    if not value:
        pytest.skip(CORPUS_SKIP)
    path = Path(value)
    if not path.is_file():
        pytest.fail(f"{CORPUS_ENV}={value} is not a file")
    return path


def summary_corpus() -> list[dict[str, Any]]:
    return read_jsonl(summary_corpus_path())
