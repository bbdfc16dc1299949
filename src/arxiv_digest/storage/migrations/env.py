"""Alembic environment. Run programmatically by ``Database.upgrade()``, which passes an open connection in
``config.attributes["connection"]``; no alembic.ini is needed."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from arxiv_digest.storage.tables import metadata

config = context.config


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs table copies for most ALTERs
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "arxiv-digest migrations run through Database.upgrade(), which passes a connection; "
        "offline (--sql) mode and alembic.ini are not supported"
    )
run_migrations(connection)
