"""``db upgrade`` killed (SIGKILL) at every SQL statement, from every revision, then run again: the database
always reaches the head revision with exactly the tables of ``storage/tables.py``.

Python's sqlite3 driver commits each DDL statement on its own unless told otherwise, so without a real
transaction around the migrations a kill between two statements left tables without their
``alembic_version`` row, and the next start failed for good ("table papers already exists").

Each kill runs in a forked child (the parent stays free of any event loop, so the child can run its own).
The child counts the statements every engine executes and kills itself before the n-th; n runs over every
statement of the upgrade. On PostgreSQL DDL is transactional already: a sample of kill points is checked.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import shutil
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import event, inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import create_async_engine

from arxiv_digest.storage.db import (
    Database,
    StorageUnavailable,
    alembic_config,
    head_revision,
    normalize_url,
)
from arxiv_digest.storage.tables import metadata
from tests.dbs import postgres_url

# every revision but the head: the starting points besides an empty database
REVISIONS = [
    script.revision
    for script in reversed(list(ScriptDirectory.from_config(alembic_config()).walk_revisions()))
    if script.revision != head_revision()
]


def _upgrade_in_child(url: str, schema: str | None, kill_at: int, counter: Any) -> None:
    """Child process: upgrade ``url`` to head, SIGKILL itself before statement ``kill_at`` (0: never)."""
    count = 0

    def before(*_: Any) -> None:
        nonlocal count
        count += 1
        counter.value = count
        if count == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    event.listen(Engine, "before_cursor_execute", before)

    async def main() -> None:
        db = Database(url, schema=schema)
        try:
            await db.upgrade()
        finally:
            await db.dispose()

    asyncio.run(main())


def _run_child(url: str, schema: str | None, kill_at: int) -> tuple[int | None, int]:
    """(exit code, statements seen) of an upgrade killed before statement ``kill_at``."""
    context = multiprocessing.get_context("fork")
    counter = context.Value("i", 0)
    process = context.Process(target=_upgrade_in_child, args=(url, schema, kill_at, counter))
    process.start()
    process.join(120)
    if process.is_alive():  # pragma: no cover - a hang is a failure
        process.kill()
        pytest.fail(f"upgrade killed at statement {kill_at} did not end")
    return process.exitcode, int(counter.value)


def _tables(connection: Connection) -> dict[str, set[str]]:
    found = inspect(connection)
    return {name: {c["name"] for c in found.get_columns(name)} for name in found.get_table_names()}


async def _check_at_head(db: Database) -> None:
    assert await db.current_revision() == head_revision()
    async with db.engine.connect() as conn:
        tables = await conn.run_sync(_tables)
    expected = {t.name: {c.name for c in t.columns} for t in metadata.sorted_tables}
    assert {k: v for k, v in tables.items() if k != "alembic_version"} == expected


async def _database_at(url: str, revision: str | None) -> None:
    if revision is None:
        return
    db = Database(url)
    try:
        await db.upgrade(revision)
    finally:
        await db.dispose()


@pytest.mark.parametrize("start", [None, *REVISIONS], ids=["empty", *REVISIONS])
def test_sqlite_upgrade_killed_at_every_statement_reaches_head_when_run_again(
    tmp_path: Path, start: str | None
) -> None:
    template = tmp_path / "template.db"
    asyncio.run(_database_at(f"sqlite:///{template}", start))
    work = tmp_path / "work.db"

    def fresh() -> str:
        for suffix in ("", "-wal", "-shm", "-journal"):
            (tmp_path / f"work.db{suffix}").unlink(missing_ok=True)
        if template.exists():
            shutil.copy(template, work)
        return f"sqlite:///{work}"

    code, total = _run_child(fresh(), None, 0)
    assert code == 0
    assert total > 3
    for kill_at in range(1, total + 1):
        url = fresh()
        code, _ = _run_child(url, None, kill_at)
        assert code == -signal.SIGKILL, kill_at

        async def again(url: str = url, kill_at: int = kill_at) -> None:
            db = Database(url)
            try:
                await db.upgrade()  # must not fail ("table ... already exists")
                await _check_at_head(db)
            except BaseException as exc:
                raise AssertionError(f"after a kill at statement {kill_at} of {total}: {exc}") from exc
            finally:
                await db.dispose()

        asyncio.run(again())


@pytest.mark.postgres
def test_postgresql_upgrade_killed_mid_way_reaches_head_when_run_again() -> None:
    url = postgres_url()

    async def admin(sql: str) -> None:
        engine = create_async_engine(normalize_url(url), isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.exec_driver_sql(sql)
        finally:
            await engine.dispose()

    async def again(schema: str) -> None:
        db = Database(url, schema=schema)
        try:
            await db.upgrade()
            await _check_at_head(db)
        finally:
            await db.dispose()

    def killed_at(kill_at: int) -> tuple[int | None, int]:
        schema = f"t_{uuid.uuid4().hex}"
        asyncio.run(admin(f'CREATE SCHEMA "{schema}"'))
        try:
            code, seen = _run_child(url, schema, kill_at)  # forked with no event loop running here
            asyncio.run(again(schema))
        finally:
            asyncio.run(admin(f'DROP SCHEMA "{schema}" CASCADE'))
        return code, seen

    code, total = killed_at(0)
    assert code == 0
    for kill_at in sorted({1, total // 4, total // 2, 3 * total // 4, total}):
        assert killed_at(kill_at)[0] == -signal.SIGKILL


async def test_tables_without_their_revision_are_refused_in_one_line(empty_database: Database) -> None:
    # what an older version's upgrade killed half-way left behind (or another program's tables)
    async with empty_database.engine.begin() as conn:
        await conn.exec_driver_sql("CREATE TABLE papers (arxiv_id VARCHAR(64) PRIMARY KEY)")
    with pytest.raises(StorageUnavailable) as info:
        await empty_database.upgrade()
    message = str(info.value)
    assert "no record of the migrations" in message
    assert "server is running" not in message
    assert "\n" not in message
