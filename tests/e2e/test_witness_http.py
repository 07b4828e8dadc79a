"""The witness as another organisation runs it: ``gateway connect auditor witness init``,
``add-log`` and ``serve`` as processes, spoken to over HTTP as C2SP tlog-witness says.

The log's side is built here: an Ed25519 note key, RFC 9162 leaves, signed
checkpoints and consistency proofs (tests/unit/connectors/witness/logside.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from gateway.client.witness import (
    ED25519_COSIGNATURE,
    MLDSA44_COSIGNATURE,
    SIZE_TYPE,
    Verifier,
    parse_note,
    parse_vkey,
    verified,
)
from tests.unit.connectors.witness.logside import Log

pytestmark = pytest.mark.e2e

PLAIN = "text/plain; charset=utf-8"
COMMAND = [sys.executable, "-m", "gateway", "connect", "auditor", "witness"]


def _command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COMMAND, *args], capture_output=True, text=True, timeout=30,
                          check=False)  # fmt: skip


class Witness:
    """A witness's folder and its ``serve`` process, restartable."""

    def __init__(self, data: Path, log: Log, algorithm: str) -> None:
        self.data = data
        made = _command("init", "--data", str(data), "--name", "witness.example/w1",
                        "--algorithm", algorithm)  # fmt: skip
        assert made.returncode == 0, made.stderr
        self.vkey: Verifier = parse_vkey(made.stdout.strip())
        added = _command("add-log", "--data", str(data), "--vkey", log.verifier.vkey)
        assert added.returncode == 0, added.stderr
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self.start()

    def start(self) -> None:
        with (self.data / "serve.log").open("a") as log:
            self.process = subprocess.Popen(
                [*COMMAND, "serve", "--data", str(self.data), "--listen", "127.0.0.1:0"],
                stdout=subprocess.PIPE, stderr=log, text=True,
            )  # fmt: skip
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], 20)
        line = self.process.stdout.readline() if ready else ""
        assert line.startswith("witness witness.example/w1 at http://127.0.0.1:"), line
        self.url = line.split(" at ")[1].strip()

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=10)
        self.process.stdout.close()  # type: ignore[union-attr]
        return code

    def add(self, body: bytes) -> requests.Response:
        return requests.post(self.url + "add-checkpoint", data=body, timeout=10)

    def monitored(self, origin: str) -> requests.Response:
        digest = hashlib.sha256(origin.encode()).hexdigest()
        return requests.get(f"{self.url}{digest}/checkpoint", timeout=10)

    def stamp(self, log: Log, size: int, answer: requests.Response) -> int | None:
        """The timestamp of the witness's cosignature in ``answer`` over ``log`` at ``size``."""
        note = parse_note(log.text(size) + "\n" + answer.text)
        return verified(note, [self.vkey])[self.vkey.name]


@pytest.fixture(scope="module")
def log() -> Log:
    return Log()


@pytest.fixture(scope="module")
def witness(tmp_path_factory: pytest.TempPathFactory, log: Log) -> Iterator[Witness]:
    started = Witness(tmp_path_factory.mktemp("witness") / "data", log, "ml-dsa-44")
    yield started
    started.stop()


def test_the_witness_cosigns_a_growing_log_and_refuses_the_rest(
    witness: Witness, log: Log
) -> None:
    first = witness.add(log.body(0, 3))
    assert (first.status_code, first.headers["Content-Type"]) == (200, PLAIN)
    assert witness.vkey.kind == MLDSA44_COSIGNATURE
    stamp = witness.stamp(log, 3, first)
    assert stamp is not None and abs(stamp - time.time()) < 60
    second = witness.add(log.body(3, 8))
    assert second.status_code == 200 and witness.stamp(log, 8, second)
    stale = witness.add(log.body(3, 10))
    assert (stale.status_code, stale.text, stale.headers["Content-Type"]) == (409, "8\n", SIZE_TYPE)
    fork = log.fork(5)
    same_size = witness.add(fork.body(8, 8))
    later = witness.add(fork.body(8, 11))
    assert (same_size.status_code, later.status_code) == (422, 422)
    assert len(same_size.text.splitlines()) == 1 and "fork" in same_size.text
    served = witness.monitored(log.origin)
    assert (served.status_code, served.headers["Content-Type"]) == (200, PLAIN)
    note = parse_note(served.text)
    assert note.text == log.text(8)
    assert set(verified(note, [log.verifier, witness.vkey])) == {log.origin, witness.vkey.name}
    kept = _command("refusals", "--data", str(witness.data)).stdout
    assert kept.count(" 422 gemeente.example/audit old 8 ") == 2 and fork.checkpoint(8) in kept


def test_the_state_survives_a_restart(witness: Witness, log: Log) -> None:
    first = witness.add(log.body(0, 3))  # cosigned now, or earlier in this module
    assert first.status_code in (200, 409)
    held = 3 if first.status_code == 200 else int(first.text)
    served = witness.monitored(log.origin).text
    assert witness.stop() == 0
    witness.start()
    after = witness.add(log.body(0, 1))
    assert (after.status_code, after.text) == (409, f"{held}\n")
    assert witness.monitored(log.origin).text == served
    grown = witness.add(log.body(held, 12))
    assert grown.status_code == 200


def test_what_the_spec_refuses(witness: Witness, log: Log) -> None:
    assert witness.add(Log("elders.example/audit").body(0, 2)).status_code == 404
    assert witness.add(Log(log.origin).body(0, 2)).status_code == 403  # another key
    too_old = witness.add(log.body(0, 3).replace(b"old 0\n", b"old 4\n", 1))
    assert too_old.status_code == 400 and "larger" in too_old.text
    malformed = witness.add(b"old zero\n\nnot a checkpoint\n")
    assert malformed.status_code == 400 and malformed.headers["Content-Type"] == PLAIN
    assert len(malformed.text.splitlines()) == 1
    assert witness.add(b"old 0\n" + b"A" * 300_000).status_code == 413
    unknown = hashlib.sha256(b"never.example/log").hexdigest()
    assert requests.get(f"{witness.url}{unknown}/checkpoint", timeout=10).status_code == 404
    wrong = requests.get(witness.url + "add-checkpoint", timeout=10)
    assert (wrong.status_code, wrong.headers["Allow"]) == (405, "POST")
    assert requests.get(witness.url + "elsewhere", timeout=10).status_code == 404


def test_the_log_lines_are_json_without_the_body(witness: Witness, log: Log) -> None:
    witness.add(log.body(0, 2))
    lines = [json.loads(line) for line in (witness.data / "serve.log").read_text().splitlines()
             if line.startswith("{")]  # fmt: skip
    posted = [line for line in lines if line.get("path") == "add-checkpoint"]
    origin = hashlib.sha256(log.origin.encode()).hexdigest()
    assert posted and {"method", "status", "origin", "size"} <= set(posted[-1])
    assert posted[-1]["origin"] == origin and posted[-1]["status"] in (200, 409)
    assert posted[-1]["size"] == 2 and posted[-1]["method"] == "POST"
    text = (witness.data / "serve.log").read_text()
    assert log.origin not in text and log.text(2).split("\n")[2] not in text


def test_an_ed25519_witness_cosigns_too(tmp_path: Path) -> None:
    log = Log("another.example/log")
    witness = Witness(tmp_path / "data", log, "ed25519")
    try:
        assert witness.vkey.kind == ED25519_COSIGNATURE
        answer = witness.add(log.body(0, 5))
        assert answer.status_code == 200 and witness.stamp(log, 5, answer)
    finally:
        assert witness.stop() == 0
    assert os.stat(tmp_path / "data").st_mode & 0o077 == 0
