"""Schema migrations with Alembic, driven from code (no alembic.ini to ship)."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


MIGRATION_LOCK = 7_243_001
"""PostgreSQL advisory lock key held while migrating"""


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest revision (a no-op when it is there).

    One process at a time: Alembic reads the current revision before its first
    transaction, so two processes starting on a fresh database (``gateway
    serve &`` and then ``gateway parties add``, as the walkthrough does) would
    both run the first migration. A file lock beside the SQLite database, an
    advisory lock on PostgreSQL, makes the second wait and then find the
    database already there.
    """
    with _one_at_a_time(engine):
        config = _config()
        with engine.connect().execution_options(gateway_write=True) as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            conn.commit()


@contextmanager
def _one_at_a_time(engine: Engine) -> Iterator[None]:
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        with open(f"{database}.migrate-lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
    elif engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
                conn.commit()
    else:
        yield
