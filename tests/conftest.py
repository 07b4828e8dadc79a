"""Shared fixtures: real SQLite stores in temporary folders, a real server for e2e."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway import config, demo
from gateway.app import build_services
from gateway.pipeline import Services
from gateway.schemas import Catalog, load_catalog
from gateway.serverproc import ServerProcess
from gateway.synthetic import Newcomer


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


def services_for(instance: Path) -> Services:
    return build_services(config.from_env({"GATEWAY_INSTANCE": str(instance)}))


@pytest.fixture
def services(tmp_path: Path) -> Services:
    return services_for(tmp_path / "instance")


@pytest.fixture
def rng() -> random.Random:
    return random.Random(7)


@pytest.fixture
def newcomer(rng: random.Random) -> Newcomer:
    return Newcomer.make(rng)


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real gateway (gunicorn, 2 workers) on 127.0.0.1 for the e2e tests."""
    instance = tmp_path_factory.mktemp("e2e") / "instance"
    with ServerProcess(instance, workers=2, threads=2) as proc:
        yield proc


@pytest.fixture(scope="session")
def server_services(server: ServerProcess) -> Services:
    """The server's own store, opened in the test process on the same SQLite file."""
    return services_for(server.instance)


@pytest.fixture(scope="session")
def cast(server: ServerProcess, server_services: Services) -> demo.Cast:
    return demo.register_cast(server_services.store, server.url, datetime.now(UTC))
