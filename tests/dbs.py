"""Database fixtures, over SQLite (a file in tmp_path) and PostgreSQL (``TEST_DATABASE_URL``).

``database`` yields an upgraded :class:`Database`; ``empty_database`` one that has not been migrated.
Each PostgreSQL test gets a fresh schema (``t_<hex>``), dropped afterwards: tests never see each other's rows.
Load with ``pytest_plugins = ["tests.dbs"]`` (root conftest, or a test module).

PYTEST_DONT_REWRITE: no asserts here; test modules also import helpers from this module directly.
"""

from __future__ import annotations

import functools
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from arxiv_digest.storage.db import Database, normalize_url

POSTGRES_SKIP_REASON = (
    "PostgreSQL tests skipped: TEST_DATABASE_URL is not set and nothing listens on 127.0.0.1:5432"
)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


LOCAL_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


@functools.cache
def _local_postgres_listening() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def postgres_url() -> str:
    """``TEST_DATABASE_URL``; else the local server on 127.0.0.1:5432 (trust auth, database ``test``) when one
    listens there; else skip the test with a message."""
    url = os.environ.get("TEST_DATABASE_URL", "").strip()
    if url:
        return url
    if _local_postgres_listening():
        return LOCAL_POSTGRES
    pytest.skip(POSTGRES_SKIP_REASON)


@asynccontextmanager
async def open_database(backend: str, tmp_path: Path, *, upgrade: bool = True) -> AsyncIterator[Database]:
    """A Database on ``backend`` isolated for one test; upgraded to head unless ``upgrade=False``."""
    if backend == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'db' / 'test.sqlite3'}")
        try:
            if upgrade:
                await db.upgrade()
            yield db
        finally:
            await db.dispose()
        return

    url = postgres_url()
    schema = f"t_{uuid.uuid4().hex}"
    admin = create_async_engine(normalize_url(url), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        db = Database(url, schema=schema)
        try:
            if upgrade:
                await db.upgrade()
            yield db
        finally:
            await db.dispose()
            async with admin.connect() as conn:
                await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await admin.dispose()


@pytest.fixture(params=BACKENDS)
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """An upgraded Database, once per backend."""
    async with open_database(request.param, tmp_path) as db:
        yield db


@pytest.fixture(params=BACKENDS)
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A Database with no tables yet, once per backend."""
    async with open_database(request.param, tmp_path, upgrade=False) as db:
        yield db
