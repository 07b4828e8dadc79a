"""A deployment as docs/deploy.md describes it: N gateway instances on one database.

The instances share the instance secrets through the environment (not a
shared folder), as separate machines would; each has an instance folder of
its own for nothing but its log.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gateway.bootstrap import storage_of
from gateway.devtools import demo
from gateway.devtools.serverproc import ServerProcess
from gateway.domain.wire import jwk
from gateway.instance import new_shared_secrets
from gateway.service.services import Services
from tests.conftest import services_for


@dataclass
class Deployment:
    folder: Path
    env: dict[str, str]
    servers: list[ServerProcess]
    services: Services
    cast: demo.Cast

    def start(self, index: int, port: int | None = None) -> ServerProcess:
        server = ServerProcess(
            self.folder / f"instance-{index}", port=port, workers=2, threads=4, env=self.env
        ).start()
        self.servers.append(server)
        return server

    def verify(self, url: str | None = None) -> subprocess.CompletedProcess[str]:
        """``gateway audit verify`` as the demo auditor, against ``url`` or the last instance."""
        key = self.folder / "auditor.jwk"
        key.write_text(json.dumps(jwk.private_jwk(self.cast.keys[demo.AUDITOR])))
        return subprocess.run(
            [sys.executable, "-m", "gateway", "audit", "verify",
             "--url", url or self.servers[-1].url, "--oin", demo.AUDITOR, "--key", str(key)],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip


@contextmanager
def deployed(
    folder: Path, database_url: str, *, instances: int, ports: list[int] | None = None
) -> Iterator[Deployment]:
    """Start the instances; the demo parties are registered, the cast on the last instance."""
    env = {"GATEWAY_DATABASE_URL": database_url, **new_shared_secrets()}
    services = services_for(folder / "operator", env)
    started = Deployment(folder, env, [], services, demo.Cast(url=""))
    try:
        for index in range(instances):
            started.start(index, ports[index] if ports else None)
        # The last instance is the one a kill test leaves running.
        started.cast = demo.register_cast(services, started.servers[-1].url, datetime.now(UTC))
        yield started
    finally:
        for server in started.servers:
            server.stop()
        storage_of(services).engine.dispose()
