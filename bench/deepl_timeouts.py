"""What a lost DeepL answer costs: characters billed by the server vs characters counted against the budget.

Scripted scenario, against the fake DeepL on 127.0.0.1 (``tests.fakes.deepl_server``) with the real
``deepl`` client: 30 papers are translated into German, in requests of the translator's default size; the
server handles and bills the first request, then never answers it (the client times out after about 0.5 s).
Twice:

* no budget: what the server billed, and what the call counts against ``DEEPL_DAILY_CHARACTER_BUDGET``
  (what ``DigestService`` adds to the daily count: ``billed_characters``, plus ``uncertain_characters`` where
  the translator reports them);
* a budget of exactly one translation of every paper: what the server billed against it.

Run from the repository root::

    .venv/bin/python -m bench.deepl_timeouts                       # the code in this tree
    .venv/bin/python -m bench.deepl_timeouts --translate OLD.py    # another translate.py (e.g. an old copy)

and it prints one line of figures.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import inspect
import logging
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import deepl.http_client
from tests.fakes.deepl_server import FakeDeepL

import arxiv_digest.papers
from arxiv_digest.papers.ports import InMemoryTranslationCache

KEY = "bench-key:fx"
TIMEOUT = 0.5


def load_translate(path: str | None) -> ModuleType:
    if path is None:
        import arxiv_digest.papers.translate as current

        return current
    name = f"{arxiv_digest.papers.__name__}._translate_under_test"
    spec = importlib.util.spec_from_file_location(name, Path(path))
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def papers(module: ModuleType, count: int) -> list[Any]:
    sentence = "We study the behaviour of sparse random graphs under local perturbations of degree {n}. "
    out = []
    for n in range(count):
        abstract = sentence.format(n=n) * 8 + f"The bound $O(n \\log n)$ is tight for case {n}."
        start = len(sentence.format(n=n))
        out.append(
            module.TranslationRequest(
                f"2609.{n:05d}", f"Local perturbations of graphs, part {n}", abstract, (start, 2 * start)
            )
        )
    return out


def translator(module: ModuleType, fake: FakeDeepL) -> Any:
    async def no_sleep(_: float) -> None:
        return None

    options: dict[str, Any] = {}
    if "read_timeout" in inspect.signature(module.PaperTranslator).parameters:
        options = {"read_timeout": TIMEOUT, "read_timeout_per_kib": 0.0, "max_read_timeout": TIMEOUT}
    else:  # a translator without its own timeout: the library's (at least min_connection_timeout)
        deepl.http_client.min_connection_timeout = TIMEOUT
    return module.PaperTranslator(
        auth_key=KEY, cache=InMemoryTranslationCache(), server_url=fake.url, sleep=no_sleep, **options
    )


Figures = tuple[int, int, int, int, int, list[int]]


async def run(module: ModuleType, count: int, budget: int | None) -> Figures:
    """(server billed, counted, confirmed, uncertain, papers translated, texts per request)."""
    requests = papers(module, count)
    with FakeDeepL(auth_key=KEY) as fake:
        fake.withhold(1, billed=True, hold=30.0)
        t = translator(module, fake)
        outcome = await t.translate(requests, "DE", budget=budget)
        t.close()
        sizes = [len(r.texts) for r in fake.translate_requests]
        server = fake.billed_characters
    uncertain = int(getattr(outcome, "uncertain_characters", 0))
    confirmed = int(outcome.billed_characters)
    return server, confirmed + uncertain, confirmed, uncertain, len(outcome.translations), sizes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--translate", help="path of a translate.py to measure instead of this tree's")
    parser.add_argument("--papers", type=int, default=30)
    args = parser.parse_args(argv)
    logging.disable(logging.CRITICAL)
    module = load_translate(args.translate)
    label = args.translate or "this tree"

    server, counted, confirmed, uncertain, done, sizes = asyncio.run(run(module, args.papers, None))
    once = sum(len(p.title) + len(p.abstract) for p in papers(module, args.papers))
    b_server, b_counted, _, _, b_done, b_sizes = asyncio.run(run(module, args.papers, once))
    print(
        f"{label}: {args.papers} papers ({once} characters), first request billed and its answer lost: "
        f"server billed {server}, counted against the budget {counted} "
        f"(confirmed {confirmed} + uncertain {uncertain}), {done} translated, texts per request {sizes} | "
        f"budget {once}: server billed {b_server} ({b_server - once:+d} vs budget), counted {b_counted}, "
        f"{b_done} translated, texts per request {b_sizes}"
    )


if __name__ == "__main__":
    main()
