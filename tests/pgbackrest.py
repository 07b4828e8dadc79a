"""A PostgreSQL cluster backed up by pgBackRest, as docs/deploy.md tells the operator to run
one, on 127.0.0.1 for one test (issue #33).

A throw-away cluster of Debian's server binaries that archives every WAL segment to a
pgBackRest repository (``archive_command = pgbackrest archive-push``), full backups taken
while it serves, and a restore into a new data directory started as a second cluster on
another port. pgBackRest is Debian's ``pgbackrest`` package (.ci/run installs it).

The clusters are ``tests/clusters.py``'s; pgBackRest refuses root as initdb does, so the
repository belongs to the clusters' owner too, in memory (/dev/shm) where there is one,
since pgBackRest syncs each of a cluster's thousand files to the disk and this test is
about what is restored, not about the disk.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from gateway.devtools.serverproc import free_port
from tests.clusters import Cluster, folder, run, server_binaries

STANZA = "gateway"


def _needed() -> tuple[Path, str]:
    """Debian's newest server binaries and pgbackrest; skip (fail under CI) without them."""
    binaries = server_binaries()
    tool = shutil.which("pgbackrest")
    if tool is None:
        reason = "no pgbackrest (apt-get install pgbackrest)"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, but {reason}", pytrace=False)
        pytest.skip(reason)
    return binaries, tool


class Backed:
    """A cluster whose WAL pgBackRest archives, with a database ``gateway`` in it."""

    def __init__(self) -> None:
        binaries, self.tool = _needed()
        memory = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        self.root = folder("gateway-pgbackrest-", memory)
        self.primary = Cluster(binaries, self.root / "primary", free_port())
        self.restored = Cluster(binaries, self.root / "restored", free_port())
        self.config = self.root / "pgbackrest.conf"

    def pgbackrest(self, *args: str) -> str:
        return run([self.tool, f"--config={self.config}", f"--stanza={STANZA}", *args])

    def start(self) -> Backed:
        run([str(self.primary.bin / "initdb"), "-D", str(self.primary.data), "-A", "trust",
              "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"])  # fmt: skip
        self._write(self.config, "\n".join([
            "[global]", f"repo1-path={self.root / 'repo'}", f"log-path={self.root}",
            f"lock-path={self.root / 'lock'}", "log-level-console=warn", "log-level-file=off",
            "start-fast=y", "compress-type=none",
            f"[{STANZA}]", f"pg1-path={self.primary.data}", f"pg1-port={self.primary.port}",
            f"pg1-socket-path={self.root}", "",
        ]))  # fmt: skip
        push = f"{self.tool} --config={self.config} --stanza={STANZA} archive-push %p"
        self.primary.start("wal_level=replica", "archive_mode=on", f"archive_command='{push}'")
        self.primary.sql("CREATE DATABASE gateway")
        self.pgbackrest("stanza-create")
        return self

    def _write(self, path: Path, text: str) -> None:
        path.write_text(text)
        if os.geteuid() == 0:
            shutil.chown(path, "postgres", "postgres")

    def backup(self) -> str:
        """A full backup of the serving cluster; the backup's label."""
        self.pgbackrest("--type=full", "backup")
        return self.pgbackrest("info", "--output=json").split('"label":"', 1)[1].split('"')[0]

    def restore(self) -> Cluster:
        """The newest backup restored to the moment it ended (``--type=immediate``: what a
        backup alone holds) into a new data directory, started on another port without
        archiving (the copy must not push WAL into the repository the primary uses)."""
        self.restored.data.mkdir(mode=0o700)
        if os.geteuid() == 0:
            shutil.chown(self.restored.data, "postgres", "postgres")
        self.pgbackrest(f"--pg1-path={self.restored.data}", "--type=immediate",
                        "--target-action=promote", "restore")  # fmt: skip
        self.restored.start("archive_mode=off")
        deadline = time.monotonic() + 60
        while self.restored.sql("SELECT pg_is_in_recovery()") != "f":  # until promoted
            assert time.monotonic() < deadline, "the restored cluster never left recovery"
            time.sleep(0.1)
        return self.restored

    def close(self) -> None:
        self.restored.stop()
        self.primary.stop()
        shutil.rmtree(self.root, ignore_errors=True)
