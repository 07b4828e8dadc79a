"""Shared fixtures: real SQLite and PostgreSQL stores, a real server for e2e.

Tests that take ``services`` or ``server`` run once per backend: on SQLite in
a temporary folder, and on a fresh database of the PostgreSQL server that
``.ci/start-postgres`` starts (see tests/postgres.py). A test that is about one
SQLite property only is marked ``sqlite_only``.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway import config
from gateway.bootstrap import build_services, storage_of
from gateway.devtools import demo
from gateway.devtools.serverproc import ServerProcess, free_port
from gateway.devtools.synthetic import Newcomer
from gateway.domain.schemas import Catalog
from gateway.files.schemas import load_catalog
from gateway.service.services import Services
from tests import postgres
from tests.duo.prism import DuoMock, session_mock

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Drop (as deselected) the PostgreSQL variant of tests about SQLite itself."""
    dropped = []
    for item in list(items):
        params = getattr(item, "callspec", None)
        backend = params.params.get("backend") if params else None
        if backend == "postgres" and item.get_closest_marker("sqlite_only"):
            items.remove(item)
            dropped.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)


WALKTHROUGH = Path(__file__).resolve().parents[1] / "docs" / "walkthrough.sh"
WALKTHROUGH_SHELL = shutil.which("bash") or "/bin/bash"

@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[postgres.Databases]:
    databases = postgres.Databases(postgres.configured_url())
    yield databases
    databases.drop_all()


def database_env(backend: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """The environment that points a gateway at a new, empty database of ``backend``."""
    if backend == "sqlite":
        return {}  # the instance folder's own SQLite file
    databases: postgres.Databases = request.getfixturevalue("pg_databases")
    return {"GATEWAY_DATABASE_URL": databases.fresh()}


def services_for(instance: Path, env: dict[str, str] | None = None) -> Services:
    settings = config.from_env({"GATEWAY_INSTANCE": str(instance), **(env or {})})
    return build_services(settings, upgrade=settings.is_sqlite)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_env(backend: str, request: pytest.FixtureRequest) -> dict[str, str]:
    return database_env(backend, request)


@pytest.fixture
def services(tmp_path: Path, db_env: dict[str, str]) -> Iterator[Services]:
    built = services_for(tmp_path / "instance", db_env)
    yield built
    storage_of(built).engine.dispose()  # close pooled connections before their database is dropped


@pytest.fixture
def rng() -> random.Random:
    return random.Random(7)


@pytest.fixture
def newcomer(rng: random.Random) -> Newcomer:
    return Newcomer.make(rng)


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture(scope="session", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One real gateway (gunicorn, 2 workers) on 127.0.0.1 per backend, for the e2e tests."""
    instance = tmp_path_factory.mktemp(f"e2e-{request.param}") / "instance"
    env = database_env(str(request.param), request)
    with ServerProcess(instance, workers=2, threads=2, env=env) as proc:
        yield proc


def server_env(server: ServerProcess) -> dict[str, str]:
    """The database settings the server runs on, for opening its store in the test."""
    url = server.env.get("GATEWAY_DATABASE_URL")
    return {"GATEWAY_DATABASE_URL": url} if url else {}


@pytest.fixture(scope="session")
def server_services(server: ServerProcess) -> Iterator[Services]:
    """The server's own store, opened in the test process on the same database."""
    built = services_for(server.instance, server_env(server))
    yield built
    storage_of(built).engine.dispose()


@pytest.fixture(scope="session")
def cast(server: ServerProcess, server_services: Services) -> demo.Cast:
    return demo.register_cast(server_services, server.url, datetime.now(UTC))


@dataclass(frozen=True)
class Walked:
    """The operator's walkthrough (docs/walkthrough.sh), run once from nothing."""

    work: Path
    env: dict[str, str]
    out: str


@pytest.fixture(scope="session")
def walked_through(tmp_path_factory: pytest.TempPathFactory) -> Walked:
    """One run of the walkthrough for the tests that start from its end (the walkthrough's
    own test runs it again; the console's opens its instance), about half a minute: both
    in tests/browser/test_walkthrough.py, so that one test worker runs it, once."""
    work = tmp_path_factory.mktemp("walkthrough")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(PORT=str(free_port()), WORK=str(work))
    done = subprocess.run(
        [WALKTHROUGH_SHELL, str(WALKTHROUGH)], env=env, capture_output=True, text=True,
        timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return Walked(work, env, done.stdout)


@pytest.fixture(scope="session")
def duo_mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuoMock]:
    """DUO's APIs under one base URL, Prism serving DUO's own documents (tests/duo/prism.py);
    skips without Prism (fails under CI)."""
    yield from session_mock(tmp_path_factory.mktemp("duo-mock"))


@pytest.fixture(scope="session")
def witnessed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A gateway with two witnesses of its log (``tests/e2e/witness_world.py``), serving for
    the session: for the tests that only read it (the verifier's quorum, the auditor
    console's banner). Tests that restore or fork its database make their own."""
    from tests.e2e.witness_world import deploy

    with deploy(tmp_path_factory.mktemp("witnessed")) as made, made.serve():
        yield made
