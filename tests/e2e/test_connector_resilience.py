"""Connectors under failure: a gateway restarted mid-export, a killed export, a killed puller."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from connectors import municipality
from connectors.auditor.verify import verify_log
from connectors.common import exportfile
from gateway.bootstrap import storage_of
from gateway.devtools import demo, synthetic
from gateway.devtools.serverproc import ServerProcess
from tests.conftest import services_for
from tests.helpers import connector, write_keys

pytestmark = pytest.mark.e2e
ROWS = 500


def _export(path: Path, count: int) -> None:
    rng = random.Random(500)
    rows = [
        synthetic.varied_profile(synthetic.Newcomer.make(rng), "GM0546", rng) for _ in range(count)
    ]
    path.write_text(exportfile.jsonl_text(rows))


def _receipted(receipts: Path) -> int:
    if not receipts.exists():
        return 0
    return sum(1 for line in receipts.read_text().splitlines() if '"receipt"' in line)


def _start_export(url: str, key: Path, export: Path, receipts: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "GATEWAY_URL": url, "GATEWAY_OIN": demo.COA, "GATEWAY_KEY": str(key)}
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "gateway", "connect", "coa", str(export)),
            *("--receipts", str(receipts), "--retries", "12", "--workers", "4"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _wait_for(receipts: Path, at_least: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while _receipted(receipts) < at_least:
        assert proc.poll() is None, "the export ended before the test could interrupt it"
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_export_survives_a_killed_connector_and_a_restarted_gateway(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    export, receipts = tmp_path / "export.jsonl", tmp_path / "export.receipts.jsonl"
    _export(export, ROWS)
    server = ServerProcess(instance, workers=2, threads=2).start()
    try:
        services = services_for(instance)

        store = storage_of(services)
        cast = demo.register_cast(services, server.url, datetime.now(UTC))
        key = write_keys(cast, tmp_path / "keys")[demo.COA]

        # 1. The connector is killed mid-run (as by a reboot); the next run resumes.
        first = _start_export(server.url, key, export, receipts)
        _wait_for(receipts, 100, first)
        os.killpg(first.pid, signal.SIGKILL)
        first.communicate(timeout=10)

        # 2. The resumed run meets a gateway that is killed and restarted under it.
        second = _start_export(server.url, key, export, receipts)
        _wait_for(receipts, 250, second)
        server.kill()
        time.sleep(1.0)
        server = ServerProcess(instance, port=server.port, workers=2, threads=2).start()
        out, err = second.communicate(timeout=240)
        assert second.returncode == 0, out + err
        assert "skipped: receipted in an earlier run:" in out

        accepted = [
            e["entry"]["message_id"]
            for e in store.audit.entries()
            if e["entry"]["event"] == "message.accepted"
        ]
        assert len(accepted) == ROWS == len(set(accepted))
        assert store.count("messages") == ROWS
        receipted = {
            json.loads(line)["row"]
            for line in receipts.read_text().splitlines()
            if '"receipt"' in line or '"earlier"' in line
        }
        assert receipted == set(range(1, ROWS + 1))
        assert verify_log(cast.client(demo.AUDITOR)).entries >= ROWS + 10  # and every party
    finally:
        server.kill()


class _Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing on the way catches it."""


def test_a_puller_killed_between_write_and_ack_writes_each_delivery_once(
    tmp_path: Path,
) -> None:
    with ServerProcess(tmp_path / "instance", workers=1, threads=2) as server:
        services = services_for(server.instance)
        cast = demo.register_cast(services, server.url, datetime.now(UTC))
        coa, leiden = cast.client(demo.COA), cast.client(demo.LEIDEN)
        rng = random.Random(3)
        for _ in range(5):
            person = synthetic.Newcomer.make(rng)
            body = synthetic.handover_profile(person, "GM0546", rng)
            payload = synthetic.payload(
                "handover-profile",
                body,
                sender=demo.COA,
                recipient=demo.LEIDEN,
                newcomer=person,
                issued_at=datetime.now(UTC) - timedelta(seconds=1),
            )
            assert coa.submit(coa.sign(payload)).status == 202
        out = tmp_path / "inbox"
        real = municipality.folder_sink(out)
        taken: list[str] = []

        def dies_after_third_write(delivery: dict[str, object]) -> bool:
            new = real(delivery)
            taken.append(str(delivery["delivery_id"]))
            if len(taken) == 3:
                raise _Crash  # written and fsynced, never acknowledged
            return new

        with pytest.raises(_Crash):
            municipality.pull_once(leiden, dies_after_third_write)
        written = {p.name: p.stat().st_mtime_ns for p in out.glob("*.json")}
        assert len(written) == 3

        again = municipality.pull_once(leiden, real)
        assert (again.written, again.already_there, again.acknowledged) == (2, 1, 3)
        files = sorted(out.glob("*.json"))
        assert len(files) == 5
        for name, mtime in written.items():
            assert (out / name).stat().st_mtime_ns == mtime  # not written a second time
        assert municipality.pull_once(leiden, real).acknowledged == 0
        assert not list(out.glob(".*.tmp"))


class _CaseSystem(BaseHTTPRequestHandler):
    """A municipality's case system on 127.0.0.1: keeps what it is sent, or fails on purpose."""

    received: ClassVar[list[tuple[str, dict[str, object]]]] = []
    failing: ClassVar[bool] = False

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if _CaseSystem.failing:
            self.send_response(500)
        else:
            _CaseSystem.received.append((self.headers["Idempotency-Key"], body))
            self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_the_webhook_gets_each_delivery_and_a_failing_case_system_gets_no_ack(
    tmp_path: Path,
) -> None:
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _CaseSystem)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    webhook = f"http://127.0.0.1:{receiver.server_address[1]}/deliveries"
    try:
        with ServerProcess(tmp_path / "instance", workers=1, threads=2) as server:
            services = services_for(server.instance)
            cast = demo.register_cast(services, server.url, datetime.now(UTC))
            keys = write_keys(cast, tmp_path / "keys")
            coa = cast.client(demo.COA)
            rng = random.Random(4)
            for _ in range(3):
                person = synthetic.Newcomer.make(rng)
                payload = synthetic.payload(
                    "handover-profile",
                    synthetic.handover_profile(person, "GM0546", rng),
                    sender=demo.COA,
                    recipient=demo.LEIDEN,
                    newcomer=person,
                    issued_at=datetime.now(UTC) - timedelta(seconds=1),
                )
                coa.submit(coa.sign(payload))
            pull = ("municipality", "pull", "--webhook", webhook)

            _CaseSystem.failing = True
            refused = connector(server.url, demo.LEIDEN, keys[demo.LEIDEN], *pull)
            assert refused.returncode == 2 and "webhook answered 500" in refused.stderr
            assert _CaseSystem.received == []

            _CaseSystem.failing = False
            taken = connector(
                server.url,
                demo.LEIDEN,
                keys[demo.LEIDEN],
                *pull,
                "--follow",
                "--rounds",
                "2",
                "--interval",
                "1",
            )
            assert taken.returncode == 0, taken.stderr
            assert "new: 3," in taken.stdout and "new: 0," in taken.stdout
            assert len(_CaseSystem.received) == 3
            assert {key for key, _ in _CaseSystem.received} == {
                body["delivery_id"] for _, body in _CaseSystem.received
            }
            assert all("delivery_token" in body for _, body in _CaseSystem.received)
    finally:
        receiver.shutdown()
        receiver.server_close()
