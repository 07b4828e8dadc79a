"""A backup taken under load, restored, verified, and every receipt accounted for, on both
backends (issue #33).

COA sends handover profiles in batches to a real gateway as fast as it takes them, keeping
each receipt in a connector's receipts file. Mid-load the database is backed up (SQLite:
``gateway backup``, the online backup API; PostgreSQL: pgBackRest, a full backup of a
cluster that archives its WAL), and the load goes on. Then the gateway stops, the backup is
restored (SQLite: ``gateway restore`` into a fresh instance folder holding the same secrets;
PostgreSQL: ``pgbackrest restore`` into a new cluster, then ``gateway restore --in-place``),
with the receipts file. Every receipt is in the restored log (its message kept, its audit
index below the restored size) or named lost by the report; none is unaccounted. The
restored gateway serves: a lost message sent again is taken anew, and the auditor's
verifier accepts the restored log.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.common.receipts import ReceiptsFile
from gateway.bootstrap import migrate_database, storage_of
from gateway.devtools import demo
from gateway.devtools.serverproc import ServerProcess
from gateway.domain.wire import jwk
from gateway.errors import GatewayError
from gateway.instance import SECRETS
from gateway.storage.store import Store
from tests.conftest import services_for
from tests.helpers import profile_token
from tests.pgbackrest import Backed

pytestmark = pytest.mark.e2e
FAST = {"GATEWAY_CHECKPOINT_INTERVAL_SECONDS": "1"}
JOSE = {"Content-Type": "application/jose"}
BATCH = 5
ENOUGH = 30
"""receipts before the backup, and again after it, before the load stops"""


class Load:
    """COA sending profiles in batches until stopped, each receipt kept as a connector keeps
    it (``ReceiptsFile``), and by message id: (audit index, the message's token)."""

    def __init__(self, cast: demo.Cast, path: Path, seed: int) -> None:
        self.coa = cast.client(demo.COA)
        kids = list(self.coa.gateway_keys())
        self.file = ReceiptsFile(path, "0" * 64, datetime.now(UTC), gateway=(cast.url, kids))
        self.sent: dict[str, tuple[int, str]] = {}
        self.seed = seed
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="load", daemon=True)
        self.failures: list[str] = []

    def _run(self) -> None:
        while not self.stopped.is_set():
            tokens = [profile_token(self.coa, self.seed + n)[0] for n in range(BATCH)]
            self.seed += BATCH
            try:
                outcomes = self.coa.submit_batch(tokens)
            except GatewayError as error:  # a whole batch refused (503): sent again later
                self.failures.append(error.code)
                continue
            for row, (token, outcome) in enumerate(zip(tokens, outcomes, strict=True)):
                if isinstance(outcome, GatewayError):
                    self.failures.append(outcome.code)
                    continue
                message_id = str(outcome.receipt["message_id"])
                self.sent[message_id] = (int(outcome.receipt["audit"]["index"]), token)
                self.file.append({"row": self.seed + row, "message_id": message_id,
                                  "status": outcome.status, "receipt": outcome.token})  # fmt: skip

    def until(self, count: int, seconds: float = 20) -> None:
        deadline = time.monotonic() + seconds
        while len(self.sent) < count:
            assert time.monotonic() < deadline, f"the load got {len(self.sent)} receipts"
            time.sleep(0.05)

    def __enter__(self) -> Load:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=60)
        self.file.close()


def gateway(instance: Path, *args: str, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """The operator's ``gateway`` command, as a process of its own."""
    given = {**os.environ, "GATEWAY_INSTANCE": str(instance), **(env or {})}
    return subprocess.run([sys.executable, "-m", "gateway", *args], env=given,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip


def under_load(server: ServerProcess, env: dict[str, str], folder: Path,
               backup: Callable[[], object]) -> tuple[Load, demo.Cast]:  # fmt: skip
    """The cast registered, the load started, ``backup`` taken mid-load, the load on until as
    many receipts again came after the backup; then the server stopped."""
    services = services_for(server.instance, env)
    cast = demo.register_cast(services, server.url, datetime.now(UTC))
    try:
        with Load(cast, folder / "receipts.jsonl", seed=80_000) as load:
            load.until(ENOUGH)
            backup()
            load.until(len(load.sent) + ENOUGH)
    finally:
        storage_of(services).engine.dispose()
        server.kill()  # as the machine is lost: no graceful shutdown
    assert not load.failures, load.failures
    return load, cast


def accounted(load: Load, report: dict[str, Any], restored: Store) -> list[str]:
    """Every receipt in exactly one of the report's lists, checked against the restored store
    itself; the lost ones' message ids."""
    size = report["log"]["size"]
    kept = {r["message_id"]: r["index"] for r in report["receipts"]["kept"]}
    lost = {r["message_id"]: r["index"] for r in report["receipts"]["lost"]}
    assert set(kept).isdisjoint(lost) and set(kept) | set(lost) == set(load.sent)
    assert kept and lost, "the backup was taken mid-load: some receipts before it, some after"
    for message_id, index in kept.items():
        assert index == load.sent[message_id][0] < size
        assert restored.find_message(message_id) is not None
    for message_id, index in lost.items():
        assert index == load.sent[message_id][0] >= size
        assert restored.find_message(message_id) is None
    assert report["lost"] == {"first": size, "end": max(lost.values()) + 1}
    assert all(r["why"] == "after-end" for r in report["receipts"]["lost"])
    entry = restored.audit.entries(size, size + 1)[0]["entry"]
    assert entry["event"] == "log.restored" and entry["actor"] is None
    assert entry["reason"].endswith(f"lost:{size}..{max(lost.values())}")
    return sorted(lost)


def serves_again(server: ServerProcess, load: Load, lost: list[str],
                 auditor: tuple[demo.Cast, Path] | None = None) -> None:  # fmt: skip
    """The restored gateway takes a lost message anew; with ``auditor`` (the cast and a
    folder), the auditor's verifier accepts its log, the restore's entry and checkpoint
    included."""
    server.start()
    try:
        again = requests.post(server.url + "/v1/messages", data=load.sent[lost[0]][1],
                              headers=JOSE, timeout=10)  # fmt: skip
        assert again.status_code == 202, again.text
        if auditor is not None:
            cast, folder = auditor
            key = folder / "auditor.jwk"
            key.write_text(json.dumps(jwk.private_jwk(cast.keys[demo.AUDITOR])))
            verify = ("audit", "verify", "--url", server.url, "--oin", demo.AUDITOR, "--key")
            verified = gateway(server.instance, *verify, str(key), env=server.env)
            assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        server.kill()


def test_sqlite_backup_under_load_restores_with_every_receipt_accounted_for(
    tmp_path: Path,
) -> None:
    instance, backup = tmp_path / "instance", tmp_path / "backup.db"
    server = ServerProcess(instance, workers=2, threads=2, env=FAST).start()
    taken: list[subprocess.CompletedProcess[str]] = []

    take = ("backup", str(backup))
    load, cast = under_load(server, {}, tmp_path, lambda: taken.append(gateway(instance, *take)))
    assert taken[0].returncode == 0, taken[0].stderr
    assert "entries verified" in taken[0].stdout
    print(taken[0].stdout)  # the figures: size, copy and check times

    fresh = tmp_path / "restored"
    fresh.mkdir(mode=0o700)
    for name in SECRETS:
        shutil.copy2(instance / name, fresh / name)
    report_file = tmp_path / "report.json"
    done = gateway(fresh, "restore", str(backup), "--receipts", str(tmp_path / "receipts.jsonl"),
                   "--report", str(report_file))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    restored = storage_of(services_for(fresh))
    lost = accounted(load, json.loads(report_file.read_text()), restored)
    assert f"receipts: {len(load.sent) - len(lost)} in this log, {len(lost)} lost" in done.stdout
    restored.engine.dispose()
    voided_lost(tmp_path / "receipts.jsonl", report_file, load, lost)
    serves_again(ServerProcess(fresh, port=server.port, env=FAST), load, lost, (cast, tmp_path))


def voided_lost(receipts: Path, report: Path, load: Load, lost: list[str]) -> None:
    """The sender voids what the report names lost: its file then holds every kept receipt
    and none of the lost ones (the next run sends those rows again); a second void changes
    nothing."""
    args = ("connect", "receipts", "void-lost", str(receipts), "--report", str(report))
    voided = gateway(receipts.parent, *args)
    assert voided.returncode == 0, voided.stdout + voided.stderr
    assert voided.stdout.startswith(f"{len(lost)} receipts voided"), voided.stdout
    reread = ReceiptsFile(receipts, "0" * 64, datetime.now(UTC))
    reread.close()
    assert set(reread.done.values()) == set(load.sent) - set(lost)
    assert gateway(receipts.parent, *args).stdout.startswith("0 receipts voided")


@pytest.mark.postgres
def test_postgres_backup_under_load_restores_with_every_receipt_accounted_for(
    tmp_path: Path,
) -> None:
    cluster = Backed().start()
    try:
        env = {"GATEWAY_DATABASE_URL": cluster.primary.url, **FAST}
        migrate_database(cluster.primary.url)
        instance = tmp_path / "instance"
        server = ServerProcess(instance, workers=2, threads=2, env=env).start()
        load, _ = under_load(server, env, tmp_path, cluster.backup)
        cluster.primary.stop()  # the database is lost; the backup and the WAL archive are not

        restored_db = cluster.restore()
        there = {"GATEWAY_DATABASE_URL": restored_db.url}
        report_file = tmp_path / "report.json"
        receipts = str(tmp_path / "receipts.jsonl")
        done = gateway(instance, "restore", "--in-place", "--receipts", receipts, "--report",
                       str(report_file), env=there)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        restored = storage_of(services_for(instance, there))
        try:
            lost = accounted(load, json.loads(report_file.read_text()), restored)
        finally:
            restored.engine.dispose()
        serves_again(ServerProcess(instance, port=server.port, env={**env, **there}), load, lost)
    finally:
        cluster.close()
