"""A municipality's OpenID Connect provider as the console's sign-in tests meet it.

Nobody here wrote it: panva's ``oidc-provider`` (OpenID Certified), pinned by
``.ci/oidc/package-lock.json`` and configured by ``.ci/oidc/provider.mjs``,
answering over TLS on 127.0.0.1 with a server certificate from the tests' own
CA (``gateway.devtools.pki``), as a municipality's provider behind its own CA
would. Its development sign-in pages stand in for the municipality's (any
password; the login names the account, whose claims the test gives).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from gateway.devtools.pki import TestPKI
from gateway.devtools.serverproc import free_port

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / ".ci" / "oidc"
INSTALL = "npm ci --ignore-scripts --no-audit --no-fund --prefix .ci/oidc"
"""what installs the pinned provider (as .ci/run does)"""
STARTUP_SECONDS = 15.0


@dataclass(frozen=True)
class Running:
    issuer: str
    ca_file: Path
    """the root the provider's certificate chains to (the console's ``--oidc-ca-file``)"""


def missing() -> str | None:
    """Why the provider cannot run here (no node, not installed), or None."""
    if not (FOLDER / "node_modules" / "oidc-provider").is_dir():
        return f"oidc-provider is not installed: {INSTALL}"
    if shutil.which("node") is None:
        return "node is not installed"
    return None


@contextmanager
def provider(
    folder: Path, clients: list[dict[str, Any]], accounts: dict[str, dict[str, Any]]
) -> Iterator[Running]:
    """The provider with ``clients`` registered and ``accounts`` (login → claims), until the
    block ends."""
    folder.mkdir(parents=True, exist_ok=True)
    pki = TestPKI()
    server = pki.server()
    (folder / "root.pem").write_bytes(pki.root.pem)
    (folder / "server.crt").write_bytes(server.pem + pki.tsp.pem + pki.domain.pem)
    (folder / "server.key").write_bytes(server.key_pem)
    port = free_port()
    issuer = f"https://127.0.0.1:{port}"
    settings = {
        "issuer": issuer, "port": port, "clients": clients, "accounts": accounts,
        "cert": str(folder / "server.crt"), "key": str(folder / "server.key"),
    }  # fmt: skip
    log = (folder / "provider.log").open("w")
    process = subprocess.Popen(
        [shutil.which("node") or "node", str(FOLDER / "provider.mjs"), json.dumps(settings)],
        cwd=FOLDER, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "NODE_ENV": "test"},
    )  # fmt: skip
    try:
        _wait(issuer, folder / "root.pem", process, folder / "provider.log")
        yield Running(issuer, folder / "root.pem")
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
        log.close()


def _wait(issuer: str, ca: Path, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the provider stopped: {log.read_text()[-2000:]}")
        try:
            requests.get(f"{issuer}/.well-known/openid-configuration", verify=str(ca), timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"the provider did not answer in {STARTUP_SECONDS} s")
