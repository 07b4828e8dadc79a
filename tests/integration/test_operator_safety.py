"""The operator's commands never make a fresh instance by accident (issue #25, item 6).

``gateway parties add`` run in the wrong folder used to make ``./instance``
with new keys and a new database there, and register the party in a gateway
nobody runs. Now only ``gateway serve`` makes an instance (and says so); the
other commands say where they looked and how to make one. A new instance's
folder is 0700 and its files 0600.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gateway import instance
from gateway.devtools.serverproc import free_port
from gateway.errors import ConfigurationError


def _gateway(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    return subprocess.Popen(
        [sys.executable, "-m", "gateway", *args], cwd=cwd, env={**clean, **(env or {})},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


COMMANDS = [
    ("parties", "list"),
    (
        "parties",
        "add",
        "--oin",
        "00000001002220647000",
        "--role",
        "municipality",
        "--name",
        "X",
        "--municipality-code",
        "GM0546",
    ),
    ("keys", "revoke", "some-kid"),
    ("audit", "report", "1234567890"),
    ("retention", "purge", "--dry-run"),
]


def test_commands_that_need_an_instance_say_where_they_looked_and_make_none(
    tmp_path: Path,
) -> None:
    runs = [_gateway(tmp_path, *command) for command in COMMANDS]  # side by side: each waits 5 s
    said = [(run.communicate(timeout=60), run.returncode) for run in runs]
    for command, ((out, err), status) in zip(COMMANDS, said, strict=True):
        assert status == 2, (command, out, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert f"no gateway instance at {tmp_path / 'instance'}" in err
        assert "GATEWAY_INSTANCE is not set, so ./instance in the current folder" in err
        assert "`gateway serve` makes a new instance" in err
    assert list(tmp_path.iterdir()) == []  # nothing made: no folder, no keys, no database


def test_a_named_instance_that_is_not_there_is_named(tmp_path: Path) -> None:
    run = _gateway(tmp_path, "parties", "list", env={"GATEWAY_INSTANCE": "elsewhere"})
    _, err = run.communicate(timeout=60)
    assert run.returncode == 2
    assert f"no gateway instance at {tmp_path / 'elsewhere'} (GATEWAY_INSTANCE=elsewhere)" in err


def test_an_instance_missing_a_key_is_not_completed_with_a_new_one(tmp_path: Path) -> None:
    folder = tmp_path / "instance"
    instance.load_secrets(folder, {})
    (folder / "master.key").unlink()
    with pytest.raises(ConfigurationError, match=r"master\.key missing; restore it") as raised:
        instance.require(folder, {}, wait=0)
    assert "incomplete" in raised.value.detail
    assert not (folder / "master.key").exists()


def test_secrets_given_by_environment_need_no_folder(tmp_path: Path) -> None:
    instance.require(tmp_path / "nothing", instance.new_shared_secrets(), wait=0)


def test_an_instance_a_serve_is_making_is_waited_for(tmp_path: Path) -> None:
    folder = tmp_path / "instance"
    maker = threading.Timer(0.5, lambda: instance.load_secrets(folder, {}))
    maker.start()
    started = time.monotonic()
    instance.require(folder, {}, wait=10)
    assert time.monotonic() - started < 5
    maker.join()


def test_a_new_instance_is_0700_with_0600_files(tmp_path: Path) -> None:
    folder = tmp_path / "deep" / "instance"
    instance.load_secrets(folder, {})
    assert _mode(folder) == 0o700
    for name in [*instance.SECRETS, instance.EMBEDDED_DATABASE]:
        assert _mode(folder / name) == 0o600, name


def test_db_upgrade_makes_the_embedded_database_0600_and_says_so(tmp_path: Path) -> None:
    run = _gateway(tmp_path, "db", "upgrade")
    out, err = run.communicate(timeout=60)
    assert run.returncode == 0, err
    assert err.startswith(f"new instance folder {tmp_path / 'instance'} (0700)")
    assert _mode(tmp_path / "instance") == 0o700
    assert _mode(tmp_path / "instance" / "gateway.db") == 0o600
    assert "database at the newest revision" in out


def _started_then_stopped(cwd: Path) -> str:
    """``gateway serve`` until its introduction (stdout), then stopped; what it said on stderr."""
    server = _gateway(cwd, "serve", "--workers", "1", "--port", str(free_port()))
    try:
        assert server.stdout is not None
        assert server.stdout.readline().startswith("gateway serving http://")
    finally:
        server.terminate()
        _, err = server.communicate(timeout=20)
    return err


def test_serve_says_in_one_line_that_it_made_a_new_instance(tmp_path: Path) -> None:
    first = _started_then_stopped(tmp_path).splitlines()[0]
    assert first.startswith(f"new instance {tmp_path / 'instance'}: the gateway's keys were made")
    assert _mode(tmp_path / "instance") == 0o700
    assert _mode(tmp_path / "instance" / "signing.jwk") == 0o600
    assert "new instance" not in _started_then_stopped(tmp_path)
