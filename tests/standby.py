"""A PostgreSQL primary with a synchronous standby, as docs/deploy.md describes it, on
127.0.0.1 for one test (issue #33).

Two throw-away clusters of Debian's server binaries: the primary names the standby in
``synchronous_standby_names``, so a commit (and the ``202`` that follows it) waits until
the standby has the commit's WAL; the standby streams from it (``pg_basebackup -R``).
``lose_primary`` is the machine dying: every process of the primary SIGKILLed at once and
its data directory removed. ``promote`` is what Patroni or the operator does next.

initdb refuses root, so when the tests run as root the clusters belong to the postgres
user (``runuser``), under a folder of their own in /tmp (pytest's tmp folders are 0700).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.devtools.serverproc import free_port

STANDBY_NAME = "standby1"


def server_binaries() -> Path:
    """Debian's newest PostgreSQL server binaries; skip (fail under CI) without them."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parts)
    if not found:
        reason = "no PostgreSQL server binaries (apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, but {reason}", pytrace=False)
        pytest.skip(reason)
    return found[-1].parent


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@dataclass
class Cluster:
    bin: Path
    data: Path
    port: int

    def run(self, tool: str, *args: str, timeout: float = 60) -> str:
        done = subprocess.run(
            _as_postgres([str(self.bin / tool), *args]),
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"{tool}: {done.stderr[-2000:]}"
        return done.stdout

    def start(self, *settings: str) -> None:
        options = [f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.data.parent}",
                   "-c max_connections=200", *(f"-c {s}" for s in settings)]  # fmt: skip
        self.run("pg_ctl", "-s", "-D", str(self.data), "-l", f"{self.data}.log", "-w",
                 "-t", "60", "start", "-o", " ".join(options))  # fmt: skip

    def sql(self, query: str, database: str = "postgres") -> str:
        return self.run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
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

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(_as_postgres([str(self.bin / "pg_ctl"), "-s", "-D", str(self.data),
                                         "-m", "immediate", "stop"]),
                           capture_output=True, timeout=60, check=False)  # fmt: skip


def _parent(entry: Path) -> int | None:
    try:
        return int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


class Pair:
    """A primary and its standby; ``url`` names both, so libpq finds the writable one."""

    def __init__(self, *, synchronous: bool = True) -> None:
        binaries = server_binaries()
        self.root = Path(tempfile.mkdtemp(prefix="gateway-standby-"))
        self.root.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self.primary = Cluster(binaries, self.root / "primary", free_port())
        self.standby = Cluster(binaries, self.root / "standby", free_port())
        self.synchronous = synchronous
        self.held: int | None = None

    @property
    def url(self) -> str:
        """Both hosts, read-write only: the gateway follows a promotion without a restart."""
        hosts = "&".join(f"host=127.0.0.1:{c.port}" for c in (self.primary, self.standby))
        return f"postgresql+psycopg://postgres@/gateway?{hosts}&target_session_attrs=read-write"

    def start(self) -> Pair:
        self.primary.run("initdb", "-D", str(self.primary.data), "-A", "trust", "-U",
                         "postgres", "-E", "UTF8", "--locale=C.UTF-8")  # fmt: skip
        self.primary.start("wal_level=replica", "max_wal_senders=5")
        self.primary.sql("CREATE DATABASE gateway")  # before the standby: nothing waits yet
        self.standby.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary.port),
                         "-U", "postgres", "-D", str(self.standby.data), "-X", "stream",
                         "--checkpoint=fast", "-R", "-d",
                         f"application_name={STANDBY_NAME}")  # fmt: skip
        self.standby.start()
        if self.synchronous:  # from now on a commit waits for the standby's flush
            names = f"'FIRST 1 ({STANDBY_NAME})'"
            self.primary.sql(f"ALTER SYSTEM SET synchronous_standby_names = {names}")
            self.primary.sql("SELECT pg_reload_conf()")
        wanted = "sync" if self.synchronous else "async"
        deadline = time.monotonic() + 30
        while self.primary.sql("SELECT sync_state FROM pg_stat_replication") != wanted:
            assert time.monotonic() < deadline, "the standby never caught up"
            time.sleep(0.1)
        return self

    def lose_primary(self) -> None:
        """The primary's machine dies: all its processes at once, then its disk."""
        for pid in self.primary.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.primary.data)

    def _walreceiver(self) -> int:
        for pid in self.standby.pids()[1:]:
            with contextlib.suppress(OSError):
                if b"walreceiver" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    return pid
        raise AssertionError("the standby has no walreceiver")

    def hold_standby(self) -> None:
        """The standby falls behind (a slow link): its WAL receiver stopped. A synchronous
        primary's commits wait meanwhile; an asynchronous one's go on without it."""
        self.held = self._walreceiver()
        os.kill(self.held, signal.SIGSTOP)

    def cut_link(self) -> None:
        """The link dies with the primary: the held WAL receiver killed, and with it what
        its socket had taken in but not written (the standby starts another, which finds
        no primary)."""
        if self.held is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.held, signal.SIGKILL)
            self.held = None

    def promote(self) -> None:
        self.standby.run("pg_ctl", "-s", "-D", str(self.standby.data), "-w", "promote")

    def close(self) -> None:
        self.primary.stop()
        self.standby.stop()
        shutil.rmtree(self.root, ignore_errors=True)
