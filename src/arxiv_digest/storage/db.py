"""The database handle: URL normalisation, engine, sessions and programmatic Alembic migrations.

SQLite (through aiosqlite) is the embedded default, PostgreSQL (through asyncpg) the larger option::

    db = Database("sqlite:///data/arxiv-digest.db")
    await db.upgrade()
    async with db.session() as session:
        ...
        await session.commit()
    await db.dispose()

Failures to reach the database raise :class:`StorageUnavailable`, whose message never shows a password.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from arxiv_digest.papers.errors import ArxivDigestError

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

_SQLITE_PRAGMAS = ("PRAGMA busy_timeout=5000", "PRAGMA foreign_keys=ON", "PRAGMA synchronous=NORMAL")
_URL_HINT = (
    "Use a file path (./data/arxiv-digest.db), sqlite:///path/to/file.db or "
    "postgresql://user:password@host:5432/dbname."
)
_REACH_HINT = "Check DATABASE_URL and that the database server is running and reachable."
_SQLITE_HINT = "Check DATABASE_URL, the file's permissions and the free disk space."


class StorageUnavailable(ArxivDigestError):
    """The database cannot be used: unsupported or malformed URL, or the server cannot be reached.

    ``message`` is one line and never contains a password; ``hint`` says what to check.
    """

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}".strip()


def normalize_url(url: str | URL) -> URL:
    """Map a user-supplied database URL to the async driver we use, or raise StorageUnavailable.

    A value without a scheme (``./data/other.db``, ``/srv/arxiv/digest.db``) is the path of a SQLite file.
    """
    if isinstance(url, str) and "://" not in url and url.strip():
        return URL.create("sqlite+aiosqlite", database=url.strip())
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise StorageUnavailable("Invalid database URL.", hint=_URL_HINT) from exc
    backend = parsed.get_backend_name()
    driver = parsed.get_driver_name() if "+" in parsed.drivername else ""
    if backend == "sqlite":
        if driver not in ("", "pysqlite", "aiosqlite"):
            raise _unsupported(parsed)
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres"):
        if driver not in ("", "asyncpg"):
            raise _unsupported(parsed)
        query = dict(parsed.query)
        if (
            "sslmode" in query and "ssl" not in query
        ):  # libpq spelling (e.g. hosted DATABASE_URLs) -> asyncpg's
            query["ssl"] = query.pop("sslmode")
        return parsed.set(drivername="postgresql+asyncpg", query=query)
    raise _unsupported(parsed)


def _unsupported(url: URL) -> StorageUnavailable:
    return StorageUnavailable(f"Unsupported database URL scheme {url.drivername!r}.", hint=_URL_HINT)


def _sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL, or None for an in-memory database."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:") or url.query.get("mode") == "memory":
        return None
    return Path(database)


class Database:
    """One engine and its session factory. Create once at start-up, ``await dispose()`` at shutdown."""

    def __init__(self, url: str | URL, *, echo: bool = False, schema: str | None = None) -> None:
        self._url = normalize_url(url)
        self._safe_url = self._url.render_as_string(hide_password=True)
        self._password = self._url.password if isinstance(self._url.password, str) else None
        connect_args: dict[str, Any] = {}
        if schema is not None:
            if self.dialect != "postgresql":
                raise ValueError("schema= is only supported for PostgreSQL")
            connect_args["server_settings"] = {"search_path": schema}
        self._schema = schema
        self._sqlite_file: Path | None = None
        if self.dialect == "sqlite":
            self._sqlite_file = _sqlite_path(self._url)
            if self._sqlite_file is not None:
                try:
                    self._sqlite_file.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StorageUnavailable(
                        f"Cannot create the directory of the SQLite database {self._safe_url}: "
                        f"{exc.strerror or exc}.",
                        hint="Check the path and its permissions.",
                    ) from exc
        self._echo = echo
        self._connect_args = connect_args
        try:
            self._engine: AsyncEngine = create_async_engine(self._url, echo=echo, connect_args=connect_args)
        except ModuleNotFoundError as exc:  # the driver of an optional backend (asyncpg) is not installed
            raise StorageUnavailable(
                f"The database driver {exc.name or 'for this URL'} is not installed.",
                hint="For PostgreSQL install the postgres extra: pip install 'arxiv-digest[postgres]' "
                "(in a checkout: pip install -e '.[postgres]').",
            ) from None
        if self.dialect == "sqlite":
            event.listen(self._engine.sync_engine, "connect", self._on_sqlite_connect)
        self._sessions = async_sessionmaker(self._engine, expire_on_commit=False)

    def _on_sqlite_connect(self, dbapi_connection: Any, connection_record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            if self._sqlite_file is not None:
                cursor.execute("PRAGMA journal_mode=WAL")
            for pragma in _SQLITE_PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @property
    def sqlite_file(self) -> Path | None:
        """The SQLite database file (None for PostgreSQL and in-memory SQLite)."""
        return self._sqlite_file

    @property
    def url(self) -> str:
        """The URL in use, with the password hidden."""
        return self._safe_url

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._url.get_backend_name()

    @property
    def schema(self) -> str | None:
        return self._schema

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session (``expire_on_commit=False``); commit explicitly, anything uncommitted is rolled back."""
        with self._translate_errors():
            async with self._sessions() as session:
                yield session

    async def upgrade(self, revision: str = "head") -> None:
        """Apply the Alembic migrations up to ``revision`` (idempotent), all of them in one transaction: a
        process killed half-way leaves the database as it was, never tables without their revision.

        PostgreSQL's DDL is transactional. Python's sqlite3 driver would commit each DDL statement on its
        own, so on SQLite the upgrade runs on a connection of its own with the driver's transaction handling
        off and an explicit ``BEGIN IMMEDIATE`` (which also takes the write lock for the whole upgrade)."""
        self._refuse_an_empty_file()
        # (an in-memory database dies with the process anyway, and lives on the main engine's connection)
        engine = self._migration_engine() if self._sqlite_file is not None else self._engine
        try:
            with self._translate_errors():
                try:
                    async with engine.begin() as conn:
                        await conn.run_sync(self._run_upgrade, revision)
                except (OperationalError, ProgrammingError) as exc:
                    if "already exists" not in str(exc.orig):
                        raise
                    # tables without the revision that made them: not ours, or left by an older version's
                    # interrupted upgrade (before upgrades were one transaction)
                    raise StorageUnavailable(
                        f"Database {self._safe_url} holds tables but no record of the migrations that made "
                        "them, so it cannot be upgraded.",
                        hint="Restore a backup, or point DATABASE_URL at a new file or database.",
                    ) from exc
        finally:
            if engine is not self._engine:
                await engine.dispose()
        logger.info("database %s at revision %s", self._safe_url, revision)

    def _refuse_an_empty_file(self) -> None:
        """A SQLite file of 0 bytes (and no write-ahead log with content) holds nothing: SQLite would take it
        for a new database, and a truncated or wrongly copied one would start over, every subscription gone,
        without a word. Say so instead; a new database is made where no file is."""
        path = self._sqlite_file
        if path is None or not path.exists() or path.stat().st_size > 0:
            return
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            return
        raise StorageUnavailable(
            f"The SQLite database {self._safe_url} is an empty file (0 bytes): it holds no data.",
            hint="If it was a database, restore it from a backup; to start a new one, delete the file.",
        )

    def _migration_engine(self) -> AsyncEngine:
        engine = create_async_engine(
            self._url, echo=self._echo, connect_args=self._connect_args, poolclass=NullPool
        )

        def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
            dbapi_connection.isolation_level = None  # the driver emits no BEGIN/COMMIT of its own ...
            self._on_sqlite_connect(dbapi_connection, connection_record)

        def on_begin(connection: Connection) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")  # ... we do, around everything, DDL included

        event.listen(engine.sync_engine, "connect", on_connect)
        event.listen(engine.sync_engine, "begin", on_begin)
        return engine

    def _run_upgrade(self, connection: Connection, revision: str) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async def current_revision(self) -> str | None:
        """The Alembic revision the database is at (None before the first upgrade)."""
        with self._translate_errors():
            async with self._engine.connect() as conn:
                return await conn.run_sync(_current_revision)

    async def ping(self) -> None:
        """Open a connection and run a trivial query; raise StorageUnavailable when that fails."""
        with self._translate_errors():
            async with self._engine.connect() as conn:
                await conn.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        await self._engine.dispose()

    @contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except (OSError, OperationalError, InterfaceError) as exc:  # OSError covers TimeoutError
            raise self._unavailable(exc) from exc
        except DBAPIError as exc:
            # No statement: it failed while connecting (auth, unknown database, ...), not while executing.
            if exc.connection_invalidated or exc.statement is None:
                raise self._unavailable(exc) from exc
            raise

    def _unavailable(self, exc: BaseException) -> StorageUnavailable:
        cause: BaseException = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        if self._password:
            reason = reason.replace(self._password, "***")
        if len(reason) > 200:
            reason = reason[:197] + "..."
        logger.warning("database %s unavailable: %s: %s", self._safe_url, type(cause).__name__, reason)
        if not reason.endswith((".", "!", "?")):
            reason += "."
        hint = _SQLITE_HINT if self.dialect == "sqlite" else _REACH_HINT
        return StorageUnavailable(f"Database {self._safe_url} is unavailable: {reason}", hint=hint)


class AlreadyRunning(StorageUnavailable):
    """Another process holds this database's single-instance lock."""


_ADVISORY_KEY = 0x61727876  # "arxv": the PostgreSQL advisory lock of one deployment (per database)


class InstanceLock:
    """One running bot per database: ``flock`` on the SQLite database file (so any name of the file, a
    symlink or a hard link, is the same lock), a session-level advisory lock on PostgreSQL. Released on
    ``release()`` (after the database's engine is disposed) or when the process dies.

    A PostgreSQL session lock dies with its connection (a restarted server, a dropped network, an idle
    timeout), silently. ``check()`` asks the connection: when it is gone the lock is taken again on a new one;
    if another process took it meanwhile, ``AlreadyRunning`` is raised and the caller must stop sending.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._fd: int | None = None
        self._conn: Any = None
        self.held = False

    async def acquire(self) -> None:
        """Raises AlreadyRunning when another process holds it."""
        if self._db.dialect == "sqlite":
            path = self._db.sqlite_file
            if path is None:
                return  # an in-memory database is private to this process
            # The database file itself (its inode): a symlink or a hard link to it is the same lock. It must
            # exist (the runtime upgrades it first). SQLite's own locks are fcntl locks, which flock does
            # not touch; this descriptor is closed only after the engine's (release() after dispose()).
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError as exc:
                raise StorageUnavailable(
                    f"Cannot open the SQLite database {self._db.url} to lock it: {exc.strerror or exc}.",
                    hint="Check DATABASE_URL and the file's permissions.",
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise AlreadyRunning(
                    f"Another arxiv-digest process is running on {self._db.url} "
                    f"(or on another name of the same file).",
                    hint="Stop it first.",
                ) from None
            self._fd = fd
            self.held = True
            return
        await self._take_advisory_lock()

    async def _take_advisory_lock(self) -> None:
        conn = await self._db.engine.connect()
        try:
            got = (await conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({_ADVISORY_KEY})")).scalar_one()
        except BaseException:
            await conn.close()
            raise
        if not got:
            await conn.close()
            raise AlreadyRunning(
                f"Another arxiv-digest process is running on {self._db.url}.",
                hint="Stop it first (it holds the database's advisory lock).",
            )
        self._conn = conn
        self.held = True

    async def check(self) -> bool:
        """Whether the lock is held now; a lost PostgreSQL lock is taken again when it can be. Raises
        AlreadyRunning when another process took it meanwhile; returns False while the database cannot be
        reached (nothing can be delivered then anyway)."""
        if self._conn is None:
            return self.held  # SQLite's flock lives as long as the process (or nothing was acquired)
        try:
            await self._conn.exec_driver_sql("SELECT 1")
            return True
        except (OSError, DBAPIError, InterfaceError) as exc:
            logger.warning("the database lock's connection was lost (%s); taking the lock again", exc)
        self.held = False
        conn, self._conn = self._conn, None
        with contextlib.suppress(Exception):
            await conn.invalidate()
        try:
            with self._db._translate_errors():
                await self._take_advisory_lock()
        except AlreadyRunning:
            raise
        except StorageUnavailable as exc:
            logger.warning("the database lock could not be taken again yet: %s", exc)
            return False
        logger.warning("the database lock was taken again")
        return True

    async def release(self) -> None:
        self.held = False
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        if self._conn is not None:
            try:
                await self._conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_ADVISORY_KEY})")
            except (OSError, DBAPIError, InterfaceError):
                logger.info("the database lock's connection was already gone")
            finally:
                with contextlib.suppress(Exception):
                    await self._conn.close()
                self._conn = None


def alembic_config() -> Config:
    """An Alembic Config for the packaged migrations; no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    return config


def head_revision() -> str:
    """The newest revision shipped with this package."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships a revision
        raise RuntimeError("no Alembic revision found in " + str(MIGRATIONS_DIR))
    return head


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()
