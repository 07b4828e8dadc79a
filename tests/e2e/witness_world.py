"""Witnesses as a deployment has them: the auditor's ``witness serve`` processes, each with its
own key and state, and a gateway that asks them (``GATEWAY_WITNESS_POLICY``).

The witnesses are this project's own server (``connectors.auditor.witness``), started as
their operators start them, on the command line; the gateway is ``gateway serve``. Only
loopback is used.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from gateway.devtools.serverproc import ServerProcess

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
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "connect", "auditor", "witness", *args],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def note_key(server: ServerProcess) -> str:
    return requests.get(f"{server.url}/v1/audit/note-key", timeout=10).text.strip()


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
