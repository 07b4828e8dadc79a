"""Witnesses as a deployment has them: the auditor's ``witness serve`` processes, each with its
own key and state, and a gateway that asks them (``GATEWAY_WITNESS_POLICY``).

The witnesses are this project's own server (``connectors.auditor.witness``), started as
their operators start them, on the command line; the gateway is ``gateway serve``. Only
loopback is used.
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests
from click.testing import CliRunner

from connectors.auditor.witness.command import witness as witness_command
from gateway import config
from gateway.bootstrap import note_vkey
from gateway.devtools import demo, synthetic
from gateway.devtools.cast import AUDITOR, Cast, register_cast
from gateway.devtools.serverproc import ServerProcess, free_port
from gateway.domain.audit import notes
from gateway.errors import NotFound
from tests.conftest import services_for
from tests.helpers import write_keys

JOSE = {"Content-Type": "application/jose"}

FAST = {"GATEWAY_CHECKPOINT_INTERVAL_SECONDS": "1"}
"""a checkpoint a second, and the witnesses asked every quarter second"""


@dataclass
class Witness:
    name: str
    vkey: str
    url: str
    data: Path
    process: subprocess.Popen[str]


def _witness_command(*args: str) -> str:
    """``gateway connect auditor witness <args>`` (in this process: the same command)."""
    done = CliRunner().invoke(witness_command, list(args), catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return done.stdout.strip()


@contextmanager
def witnesses(folder: Path, log_vkey: str, names: list[str]) -> Iterator[list[Witness]]:
    """Witnesses named ``names`` (the first Ed25519, the others ML-DSA-44), each witnessing
    the log of ``log_vkey``, serving until the block ends."""
    started: list[Witness] = []
    try:
        for n, name in enumerate(names):
            data = folder / f"witness-{n}"
            algorithm = "ed25519" if n == 0 else "ml-dsa-44"
            vkey = _witness_command("init", "--data", str(data), "--name", name,
                                    "--algorithm", algorithm)  # fmt: skip
            _witness_command("add-log", "--data", str(data), "--vkey", log_vkey)
            started.append(_serve(name, vkey.splitlines()[-1], data))
        yield started
    finally:
        for witness in started:
            stop(witness)


def _serve(name: str, vkey: str, data: Path) -> Witness:
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "connect", "auditor", "witness", "serve",
         "--data", str(data), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"at (http://\S+)", line)
    if found is None:
        process.kill()
        raise AssertionError(f"the witness did not start: {line!r}")
    return Witness(name, vkey, found.group(1), data, process)


def stop(witness: Witness) -> None:
    if witness.process.poll() is None:
        os.killpg(witness.process.pid, signal.SIGTERM)
        witness.process.wait(timeout=10)
    if witness.process.stdout is not None:
        witness.process.stdout.close()


def policy(folder: Path, found: list[Witness], quorum: str = "all", *,
           log_vkey: str | None = None, urls: bool = True) -> Path:  # fmt: skip
    """A C2SP tlog-policy file: the log (where given), the witnesses, a group of them all."""
    lines = [f"log {log_vkey}"] if log_vkey else []
    lines += [f"witness W{n} {w.vkey}" + (f" {w.url}" if urls else "") for n, w in enumerate(found)]
    members = " ".join(f"W{n}" for n in range(len(found)))
    lines += [f"group everyone {quorum} {members}", "quorum everyone"]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ("gateway.policy" if urls and not log_vkey else f"policy-{quorum}.txt")
    path.write_text("\n".join(lines) + "\n")
    return path


def until(condition: object, seconds: float = 20.0, what: str = "") -> None:
    """Wait until ``condition()`` is true (it polls a server), or fail naming ``what``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s: {what}")


@dataclass
class Deployment:
    folder: Path
    instance: Path
    port: int
    cast: Cast
    keys: dict[str, Path]
    log_vkey: str
    witnesses: list[Witness]
    gateway_policy: Path

    def serve(self) -> ServerProcess:
        env = {**FAST, "GATEWAY_WITNESS_POLICY": str(self.gateway_policy)}
        return ServerProcess(self.instance, port=self.port, env=env)

    def grow(self, reads: int) -> int:
        """The log grown by ``reads`` audited reads of the checkpoint; its size then."""
        client = self.cast.client(demo.LEIDEN)
        found: dict[str, object] = {}
        for _ in range(reads):
            found = client.get_json("/v1/audit/checkpoint")
        return _size(str(found["checkpoint"]))

    def witnessed(self) -> str | None:
        """The note of ``GET /v1/audit/witnessed``; None while there is none."""
        try:
            return self.cast.client(AUDITOR).get("/v1/audit/witnessed", accept="text/plain").text
        except NotFound:
            return None

    def verify(self, client_policy: Path) -> subprocess.CompletedProcess[str]:
        """``gateway connect auditor verify --policy``, as the auditor runs it."""
        return subprocess.run(
            [sys.executable, "-m", "gateway", "connect", "auditor", "verify",
             "--policy", str(client_policy), "--url", self.cast.url, "--oin", AUDITOR,
             "--key", str(self.keys[AUDITOR]), "--retries", "0"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    def intake(self) -> requests.Response:
        person = synthetic.Newcomer.make(random.Random())
        profile = demo.profile(person, random.Random(), datetime.now(UTC))
        return requests.post(f"{self.cast.url}/v1/messages", headers=JOSE, timeout=10,
                             data=self.cast.client(demo.COA).sign(profile))  # fmt: skip


def _size(jws: str) -> int:
    payload = jws.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return int(claims["tree_size"])


@contextmanager
def deploy(folder: Path) -> Iterator[Deployment]:
    """A gateway instance with the demo parties, and two witnesses of its log serving."""
    instance, port = folder / "instance", free_port()
    cast = register_cast(services_for(instance), f"http://127.0.0.1:{port}", datetime.now(UTC))
    log_vkey = note_vkey(config.from_env({"GATEWAY_INSTANCE": str(instance)}))
    keys = write_keys(cast, folder / "keys")
    names = ["witness.auditdienst.example/w1", "witness.inspectie.example/w2"]
    with witnesses(folder, log_vkey, names) as found:
        gateway_policy = policy(folder, found)
        yield Deployment(folder, instance, port, cast, keys, log_vkey, found, gateway_policy)


def cosigned_by_both(d: Deployment, size: int) -> bool:
    answer = d.witnessed()
    if answer is None:
        return False
    note = notes.parse_note(answer)
    body = notes.parse_body(note.text)
    keys = [notes.parse_vkey(w.vkey) for w in d.witnesses]
    return body.size >= size and len(notes.verified(note, keys)) == 2


