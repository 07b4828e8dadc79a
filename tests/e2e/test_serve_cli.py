"""``gateway serve`` introduces itself, and says in one line what to do when it cannot start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from gateway import config, serving
from gateway.devtools.serverproc import free_port

pytestmark = pytest.mark.e2e


def _serve(instance: Path, *args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GATEWAY_INSTANCE": str(instance)}
    return subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--workers", "1", *args],
        env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def test_serve_starts_with_one_line_naming_url_instance_and_database(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "GATEWAY_INSTANCE": str(tmp_path / "instance")}
    with subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--workers", "1", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    ) as server:  # fmt: skip
        try:
            assert server.stdout is not None
            first = server.stdout.readline()
        finally:
            server.terminate()
            server.wait(timeout=20)
    assert first.startswith(f"gateway serving http://127.0.0.1:{port}/ with 1 workers")
    assert f"instance {tmp_path / 'instance'}" in first and "database sqlite" in first


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = _serve(tmp_path / "instance", "--port", str(port))
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        f"error: 127.0.0.1:{port} is in use (another gateway?); stop that one or give --port"
    )


def test_an_instance_folder_that_cannot_be_made_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    refused = _serve(tmp_path / "a-file" / "instance", "--port", str(free_port()))
    assert refused.returncode == 2
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "not a directory; set GATEWAY_INSTANCE to a folder" in refused.stderr


def test_the_introduction_hides_a_database_password() -> None:
    settings = config.from_env(
        {"GATEWAY_DATABASE_URL": "postgresql+psycopg://gw:s3cret@db.internal:5432/gateway"}
    )
    line = serving.introduction(settings, "127.0.0.1", 8080, 2, 4)
    assert "s3cret" not in line and "gw:***@db.internal:5432/gateway" in line
