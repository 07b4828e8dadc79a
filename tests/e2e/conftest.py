"""Fixtures of the end-to-end tests of the audit log: a log to tamper with, one to share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.auditlogs import Log, start_log


@pytest.fixture
def log(tmp_path: Path) -> Iterator[Log]:
    """A log of its own, for tests that tamper with it."""
    started = start_log(tmp_path)
    started.grow(12, seed=500)
    yield started
    started.server.stop()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Log]:
    """One log for the tests that only read and append."""
    started = start_log(tmp_path_factory.mktemp("shared-log"))
    started.grow(12, seed=400)
    yield started
    started.server.stop()
