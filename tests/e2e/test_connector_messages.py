"""What a connector says when something is wrong: the file, the OIN, the URL and the cause.

Each case as a party meets it, the connector as a subprocess; none of them
should leave the user guessing which setting to check.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gateway.devtools import demo
from gateway.devtools.serverproc import free_port
from gateway.domain.wire import jwk
from tests.helpers import connector, write_keys

pytestmark = pytest.mark.e2e


def _bare(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    return subprocess.run(
        [sys.executable, "-m", "gateway", "connect", *args],
        env={**clean, **(env or {})}, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "leiden.jwk"
    path.write_text(json.dumps(jwk.private_jwk(jwk.generate())))
    path.chmod(0o600)
    return path


def test_every_party_option_names_its_environment_variable() -> None:
    shown = " ".join(_bare("municipality", "signals", "--help").stdout.split())
    for variable in ("GATEWAY_URL", "GATEWAY_OIN", "GATEWAY_KEY"):
        assert f"env var: {variable}" in shown
    missing = _bare("municipality", "signals", "--oin", demo.LEIDEN, "--key", __file__)
    assert missing.returncode == 2 and "give --url or set GATEWAY_URL" in missing.stderr


def test_an_oin_is_checked_before_anything_is_sent(key_file: Path) -> None:
    short = _bare("municipality", "signals", "--url", "http://127.0.0.1:9",
                  "--oin", demo.LEIDEN[:-1], "--key", str(key_file))  # fmt: skip
    assert short.returncode == 2
    assert "an OIN is 20 digits; this is 19 characters" in short.stderr
    assert "unreachable" not in short.stderr  # nothing was sent


def test_a_public_key_file_is_named_and_refused(tmp_path: Path) -> None:
    public = tmp_path / "public.jwk"
    public.write_text(json.dumps(jwk.public_jwk(jwk.generate())))
    refused = _bare("municipality", "signals", "--url", "http://127.0.0.1:9",
                    "--oin", demo.LEIDEN, "--key", str(public))  # fmt: skip
    assert refused.returncode == 2
    assert f"{public}: holds a public JWK; give your party's private JWK" in refused.stderr


def test_a_wrong_port_says_url_and_cause_while_retrying(key_file: Path) -> None:
    key_file.chmod(0o644)
    url = f"http://127.0.0.1:{free_port()}"
    gone = _bare("municipality", "signals", "--url", url, "--oin", demo.LEIDEN,
                 "--key", str(key_file), "--retries", "1")  # fmt: skip
    assert gone.returncode == 2
    lines = gone.stderr.splitlines()
    assert (
        lines[0] == f"warning: {key_file} may be read by others (mode 0644); chmod 600 {key_file}"
    )
    assert lines[1].startswith(f"gateway {url}: connection refused") and "(1 of 2)" in lines[1]
    assert f"gateway {url} unreachable: connection refused" in lines[-1]
    assert "(after 2 attempts); check --url (GATEWAY_URL)" in lines[-1]


def test_a_key_of_another_party_or_none_is_named(
    server: Any, cast: demo.Cast, tmp_path: Path
) -> None:
    keys = write_keys(cast, tmp_path / "keys")
    theirs = connector(server.url, demo.COA, keys[demo.PROVIDER], "municipality", "signals")
    assert theirs.returncode == 2
    assert f"iss {demo.COA} is not the owner of the signing key" in theirs.stderr
    stranger = tmp_path / "stranger.jwk"
    key = jwk.generate()
    stranger.write_text(json.dumps(jwk.private_jwk(key)))
    stranger.chmod(0o600)
    unknown = connector(server.url, demo.LEIDEN, stranger, "municipality", "signals")
    assert unknown.returncode == 2
    assert f"key {jwk.thumbprint(key)} is not registered here" in unknown.stderr
