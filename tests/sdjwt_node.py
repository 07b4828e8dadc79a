"""@sd-jwt/core (npm, OpenWallet Foundation), an SD-JWT implementation no one here wrote, run
by ``.ci/sdjwt/sdjwt.mjs`` under node: for the tests that hold ours to it.

``require()`` skips a test where it is not installed (and fails it under CI, which must not
pass by testing one side only). The reference checks the issuer's signature with the public
JWK it is given, and ignores the JWT header's ``typ`` (ours is ``inburgering-profile+sd-jwt``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gateway.domain.wire import jwk

SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "sdjwt" / "sdjwt.mjs"
INSTALL = "npm ci --ignore-scripts --no-audit --no-fund --prefix .ci/sdjwt"


def require() -> None:
    """Skip (fail under CI) unless node and @sd-jwt/core are installed."""
    installed = (SCRIPT.parent / "node_modules" / "@sd-jwt" / "core").is_dir()
    if installed and shutil.which("node"):
        return
    if os.environ.get("CI"):
        pytest.fail(f"@sd-jwt/core is not installed: {INSTALL}")
    pytest.skip(f"@sd-jwt/core is not installed: {INSTALL}")


def run(request: dict[str, Any]) -> dict[str, Any]:
    """One request to the reference (``sdjwt.mjs`` says which), its JSON answer."""
    done = subprocess.run(
        [shutil.which("node") or "node", str(SCRIPT)], input=json.dumps(request),
        capture_output=True, text=True, timeout=60, cwd=SCRIPT.parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def verify(sdjwt: str, key: jwk.Key | dict[str, Any]) -> dict[str, Any]:
    """The reference's verification of a compact SD-JWT against the issuer's public key:
    ``{"ok": True, "payload": {...}}`` (the claims it reveals) or ``{"ok": False, ...}``."""
    public = key if isinstance(key, dict) else jwk.public_jwk(key)
    return run({"op": "verify", "jwk": public, "sdjwt": sdjwt})
