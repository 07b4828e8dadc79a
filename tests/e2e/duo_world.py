"""A gateway of its own per test, with DUO's mock beside it: what the DUO connector tests
(``duo-send``, ``duo-fetch``) share. Each command runs as Leiden runs it, a subprocess
over HTTP, and every request it made DUO see is asserted valid by DUO's documents."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.bootstrap import storage_of
from gateway.devtools import demo
from gateway.devtools.serverproc import ServerProcess
from tests.conftest import services_for
from tests.duo.prism import DuoMock, Seen
from tests.helpers import connector, write_keys


@dataclass
class World:
    server: ServerProcess
    cast: demo.Cast
    keys: dict[str, Path]
    duo: DuoMock
    folder: Path
    """the test's own folder, for the commands' state files"""

    def leiden(self, *args: str) -> Any:
        return connector(self.server.url, demo.LEIDEN, self.keys[demo.LEIDEN], "municipality",
                         *args)  # fmt: skip

    def run(self, *args: str) -> tuple[Any, list[Seen]]:
        """A municipality command that talks to DUO: the finished command and what DUO saw
        of it, first asserted valid by DUO's documents."""
        mark = self.duo.mark()
        done = self.leiden(*args)
        seen = self.duo.requests(mark)
        invalid = [(s.method, s.uri, s.status, s.violations) for s in seen if not s.valid]
        assert not invalid, f"requests DUO's documents do not allow: {invalid}"
        return done, seen


@pytest.fixture(name="world")
def world_fixture(tmp_path: Path, duo_mock: DuoMock) -> Iterator[World]:
    """Import it as ``world_fixture``; tests ask for ``world``."""
    with ServerProcess(tmp_path / "instance", workers=1, threads=2) as server:
        services = services_for(server.instance)
        cast = demo.register_cast(services, server.url, datetime.now(UTC))
        try:
            yield World(server, cast, write_keys(cast, tmp_path / "keys"), duo_mock, tmp_path)
        finally:
            duo_mock.answer({})
            storage_of(services).engine.dispose()
            server.kill()  # a throw-away instance: no need to wait for a graceful stop
