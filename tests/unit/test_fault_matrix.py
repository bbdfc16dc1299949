"""docs/FAULTS.md names a test behind every row: each one named must exist, so a renamed or deleted test
cannot leave a row that only looks backed."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MATRIX = ROOT / "docs" / "FAULTS.md"
REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)(?:\[[^\]`]*\])?`")


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
    }


def test_every_test_the_fault_matrix_names_exists() -> None:
    references = REFERENCE.findall(MATRIX.read_text(encoding="utf-8"))
    assert len(references) > 100  # the pattern still matches how the matrix names its tests
    missing = []
    found: dict[str, set[str]] = {}
    for file, name in references:
        path = ROOT / file
        if not path.is_file():
            missing.append(f"{file} (no such file)")
            continue
        if name not in found.setdefault(file, _tests_in(path)):
            missing.append(f"{file}::{name}")
    assert missing == []
