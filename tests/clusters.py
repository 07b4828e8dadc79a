"""Throw-away PostgreSQL clusters of Debian's server binaries, on 127.0.0.1, for the
tests that need a server of their own: a standby (``tests/standby.py``), a cluster backed
up by pgBackRest (``tests/pgbackrest.py``).

initdb refuses root, so when the tests run as root a cluster belongs to the postgres user
(``runuser``), under a folder of its own (``folder``: pytest's tmp folders are 0700).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest


def server_binaries() -> Path:
    """Debian's newest PostgreSQL server binaries; skip (fail under CI) without them."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parts)
    if not found:
        reason = "no PostgreSQL server binaries (apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, but {reason}", pytrace=False)
        pytest.skip(reason)
    return found[-1].parent


def as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def run(args: list[str], timeout: float = 120) -> str:
    """A tool as the clusters' owner; its output, or the test fails with its last words."""
    done = subprocess.run(as_postgres(args), capture_output=True, text=True, timeout=timeout,
                          check=False)  # fmt: skip
    assert done.returncode == 0, f"{args[0]} {args[1:3]}: {(done.stdout + done.stderr)[-2000:]}"
    return done.stdout


def folder(prefix: str, parent: str | None = None) -> Path:
    """A new folder the clusters' owner may use."""
    made = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    made.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(made, "postgres", "postgres")
    return made


@dataclass
class Cluster:
    bin: Path
    data: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/gateway"

    def tool(self, name: str, *args: str, timeout: float = 120) -> str:
        return run([str(self.bin / name), *args], timeout)

    def start(self, *settings: str) -> None:
        options = [f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.data.parent}",
                   "-c max_connections=200", *(f"-c {s}" for s in settings)]  # fmt: skip
        self.tool("pg_ctl", "-s", "-D", str(self.data), "-l", f"{self.data}.log", "-w",
                  "-t", "60", "start", "-o", " ".join(options))  # fmt: skip

    def sql(self, query: str, database: str = "postgres") -> str:
        return self.tool("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                         "-d", database, "-tAc", query).strip()  # fmt: skip

    def pids(self) -> list[int]:
        """The postmaster and every process it started (backends, walsender, checkpointer)."""
        postmaster = int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        children = [
            int(entry.name)
            for entry in Path("/proc").iterdir()
            if entry.name.isdigit() and _parent(entry) == postmaster
        ]
        return [postmaster, *children]

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(as_postgres([str(self.bin / "pg_ctl"), "-s", "-D", str(self.data),
                                        "-m", mode, "-w", "stop"]),
                           capture_output=True, timeout=60, check=False)  # fmt: skip


def _parent(entry: Path) -> int | None:
    try:
        return int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None
