"""A real gateway with a log to verify or tamper with, for the audit tests."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests

from gateway.devtools import demo
from gateway.devtools.serverproc import ServerProcess
from gateway.domain.wire import jwk
from tests.conftest import services_for
from tests.helpers import profile_token

JOSE = {"Content-Type": "application/jose"}


@dataclass
class Log:
    server: ServerProcess
    cast: demo.Cast
    folder: Path

    @property
    def db(self) -> Path:
        return self.server.instance / "gateway.db"

    def grow(self, count: int, seed: int) -> None:
        coa = self.cast.client(demo.COA)
        for i in range(count):
            token, _ = profile_token(coa, seed + i)
            response = requests.post(
                self.server.url + "/v1/messages", data=token, headers=JOSE, timeout=10
            )
            assert response.status_code == 202

    def auditor_key(self) -> Path:
        path = self.folder / "auditor.jwk"
        if not path.exists():
            path.write_text(json.dumps(jwk.private_jwk(self.cast.keys[demo.AUDITOR])))
        return path

    def verify(self, state: Path | None = None) -> subprocess.CompletedProcess[str]:
        command = [
            sys.executable,
            "-m",
            "gateway",
            "audit",
            "verify",
            "--url",
            self.server.url,
            "--oin",
            demo.AUDITOR,
            "--key",
            str(self.auditor_key()),
        ]
        if state is not None:
            command += ["--state", str(state)]
        return subprocess.run(command, capture_output=True, text=True, timeout=120)


def start_log(folder: Path, **env: str) -> Log:
    server = ServerProcess(folder / "instance", env=env).start()
    cast = demo.register_cast(services_for(server.instance), server.url, datetime.now(UTC))
    return Log(server, cast, folder)


def sql(path: Path, *statements: str) -> None:
    with sqlite3.connect(path) as conn:
        for statement in statements:
            conn.execute(statement)


def truncate(log: Log, size: int, by: int = 5) -> None:
    """Cut the last ``by`` of ``size`` entries with their checkpoints and tree, as a
    careful operator would who wants it to go unnoticed."""
    sql(
        log.db,
        f"DELETE FROM audit_entries WHERE idx >= {size - by}",
        f"DELETE FROM checkpoints WHERE tree_size >= {size - by}",
        "DELETE FROM audit_nodes",
        "UPDATE audit_tree SET size = 0",
        f"UPDATE audit_counter SET next_index = {size - by}",
    )


def keep_copy(log: Log) -> Path:
    """A copy of the database as it is now (the server stopped for it, then started)."""
    copy = log.folder / "backup"
    log.server.stop()
    copy.mkdir()
    for f in log.server.instance.glob("gateway.db*"):
        shutil.copy2(f, copy / f.name)
    log.server.start()
    return copy


def restore_copy(log: Log, copy: Path) -> None:
    """Put the copy back in place of the database: another history may grow from it."""
    log.server.stop()
    for f in log.server.instance.glob("gateway.db*"):
        f.unlink()
    for f in copy.iterdir():
        shutil.copy2(f, log.server.instance / f.name)
    log.server.start()
