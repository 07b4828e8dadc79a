"""A PostgreSQL primary with a synchronous standby, as docs/deploy.md describes it, on
127.0.0.1 for one test (issue #33).

Two throw-away clusters of Debian's server binaries: the primary names the standby in
``synchronous_standby_names``, so a commit (and the ``202`` that follows it) waits until
the standby has the commit's WAL; the standby streams from it (``pg_basebackup -R``).
``lose_primary`` is the machine dying: every process of the primary SIGKILLed at once and
its data directory removed. ``promote`` is what Patroni or the operator does next.

The clusters are ``tests/clusters.py``'s.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from pathlib import Path

from gateway.devtools.serverproc import free_port
from tests.clusters import Cluster, folder, server_binaries

STANDBY_NAME = "standby1"


class Pair:
    """A primary and its standby; ``url`` names both, so libpq finds the writable one."""

    def __init__(self, *, synchronous: bool = True) -> None:
        binaries = server_binaries()
        self.root = folder("gateway-standby-")
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
        self.primary.tool("initdb", "-D", str(self.primary.data), "-A", "trust", "-U",
                         "postgres", "-E", "UTF8", "--locale=C.UTF-8")  # fmt: skip
        self.primary.start("wal_level=replica", "max_wal_senders=5")
        self.primary.sql("CREATE DATABASE gateway")  # before the standby: nothing waits yet
        self.standby.tool("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary.port),
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
        self.standby.tool("pg_ctl", "-s", "-D", str(self.standby.data), "-w", "promote")

    def close(self) -> None:
        self.primary.stop("immediate")
        self.standby.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
