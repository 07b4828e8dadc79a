"""A gateway of a test's own with the four connectors' parties registered, for the
connector tests that run the connectors as subprocesses (``test_connectors`` and
``test_connector_refusals``), so that every count they make is exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.bootstrap import storage_of
from gateway.devtools import demo, samplefiles
from gateway.devtools.serverproc import ServerProcess
from gateway.service.services import Services
from tests.conftest import services_for
from tests.helpers import connector, write_keys

SAMPLES = samplefiles.SAMPLES


@dataclass
class World:
    server: ServerProcess
    services: Services
    cast: demo.Cast
    keys: dict[str, Path]
    tmp: Path

    def run(self, oin: str, *args: str, timeout: float = 120) -> Any:
        """The connector as its party runs it, in a working folder of its own."""
        return connector(self.server.url, oin, self.keys[oin], *args, timeout=timeout, cwd=self.tmp)


@contextmanager
def own_gateway(tmp_path: Path) -> Iterator[World]:
    """A gateway of its own, so that every count below is exact."""
    with ServerProcess(tmp_path / "instance", workers=2, threads=2) as server:
        services = services_for(server.instance)
        cast = demo.register_cast(services, server.url, datetime.now(UTC))
        yield World(server, services, cast, write_keys(cast, tmp_path / "keys"), tmp_path)


def messages_of(services: Services, type_: str) -> int:
    """How many messages of ``type_`` the gateway accepted, by its audit log."""
    return sum(
        1
        for e in storage_of(services).audit.entries()
        if e["entry"]["event"] == "message.accepted" and e["entry"]["type"] == type_
    )
