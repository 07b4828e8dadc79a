"""Throw-away PostgreSQL databases for the tests: one per test, cloned from a migrated template.

The server is the one `.ci/start-postgres` starts (its URL in
``GATEWAY_TEST_POSTGRES_URL``). Without it the PostgreSQL tests skip with that
reason, except under CI, where a missing server is a failure: CI must never
pass because it silently tested one backend.
"""

from __future__ import annotations

import itertools
import os

import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from gateway.bootstrap import migrate_database

URL_VARIABLE = "GATEWAY_TEST_POSTGRES_URL"


def configured_url() -> str:
    """The server's URL, or skip (fail under CI) when none is configured."""
    url = os.environ.get(URL_VARIABLE, "")
    if not url:
        reason = f"no PostgreSQL server: set {URL_VARIABLE} (.ci/start-postgres prints one)"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, but {reason}", pytrace=False)
        pytest.skip(reason)
    return url


class Databases:
    """Creates databases named after this test process and drops them at the end."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.prefix = f"gwtest_{os.getpid()}"
        self.admin: Engine = create_engine(
            self.url.set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        self.names = itertools.count()
        self.created: list[str] = []
        self.template = f"{self.prefix}_template"
        self._create(self.template, None)
        migrate_database(self.url_of(self.template))  # disposed: a template is cloned idle

    def url_of(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def _create(self, name: str, template: str | None) -> None:
        clause = f" TEMPLATE {template} STRATEGY FILE_COPY" if template else ""
        with self.admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {name}{clause}"))
        self.created.append(name)

    def fresh(self) -> str:
        """The URL of a new, migrated, empty database."""
        name = f"{self.prefix}_{next(self.names)}"
        self._create(name, self.template)
        return self.url_of(name)

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in reversed(self.created):
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        self.admin.dispose()
