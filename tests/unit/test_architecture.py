"""The layers of docs/ARCHITECTURE.md, enforced by walking every module's imports: ``papers`` <-
``formatters``, ``storage`` <- ``bot``; nothing imports ``bot``; ``papers`` and ``formatters`` import no
SQLAlchemy, telegram or discord; ORM code stays in ``storage``; no module but the settings reads the
environment."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "arxiv_digest"
VENDORS = ("sqlalchemy", "alembic", "telegram", "discord", "apscheduler", "aiosqlite", "asyncpg")


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def _layer(path: Path) -> str:
    rel = path.relative_to(PACKAGE).parts
    return rel[0] if len(rel) > 1 else "root"


def _imports(path: Path) -> set[str]:
    """Absolute names of everything ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ["arxiv_digest", *path.relative_to(PACKAGE).parts[:-1]]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                found.add(".".join([*base, node.module] if node.module else base))
            elif node.module:
                found.add(node.module)
    return found


def _layer_of_import(name: str) -> str | None:
    parts = name.split(".")
    if parts[0] != "arxiv_digest" or len(parts) < 2:
        return None
    return parts[1]


ALLOWED = {
    "papers": {"papers"},
    "formatters": {"papers", "formatters"},
    "storage": {"papers", "storage"},
    "bot": {"papers", "formatters", "storage", "bot"},
    "root": {"root"},
}


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_layers(path: Path) -> None:
    layer = _layer(path)
    imports = _imports(path)
    for name in imports:
        target = _layer_of_import(name)
        if target is not None and target not in ALLOWED[layer] and name != "arxiv_digest":
            raise AssertionError(f"{path.relative_to(PACKAGE)} ({layer}) imports {name}")
    if layer in ("papers", "formatters"):
        vendors = sorted(n for n in imports if n.split(".")[0] in VENDORS)
        assert vendors == [], f"{path.relative_to(PACKAGE)} imports {vendors}"
    if layer != "storage":
        orm = sorted(n for n in imports if n.startswith(("sqlalchemy.orm", "alembic")))
        assert orm == [], f"{path.relative_to(PACKAGE)} uses ORM/migration code outside storage: {orm}"


def test_only_the_settings_read_the_environment() -> None:
    readers = []
    for path in _modules():
        text = path.read_text(encoding="utf-8")
        if "os.environ" in text or "os.getenv" in text:
            readers.append(str(path.relative_to(PACKAGE)))
    # the CLI entry point only *sets* PTB_TIMEDELTA (a library switch) before anything runs
    assert readers == ["bot/cli.py"]
    cli = (PACKAGE / "bot" / "cli.py").read_text(encoding="utf-8")
    assert cli.count("os.environ") == 1
    assert 'os.environ.setdefault("PTB_TIMEDELTA"' in cli
