"""SQLAlchemy 2 (async) tables, repositories and Alembic migrations. ORM rows never leave this package."""
