"""A real gateway server in a child process, on 127.0.0.1: for the demo, the
end-to-end tests and the benchmarks, which must all talk HTTP to the real thing.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import requests


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _held(answer: requests.Response) -> bool:
    """A 503 log-held: the server runs and refuses, in words, what it must not append."""
    if answer.status_code != 503:
        return False
    try:
        return bool(answer.json().get("code") == "log-held")
    except ValueError:
        return False


class ServerProcess:
    """``gateway serve`` as a subprocess; ``start()`` returns once /v1/health answers."""

    def __init__(
        self,
        instance: Path,
        *,
        port: int | None = None,
        workers: int = 1,
        threads: int = 2,
        env: dict[str, str] | None = None,
        log: Path | None = None,
    ) -> None:
        self.instance = instance
        self.port = port or free_port()
        self.workers = workers
        self.threads = threads
        self.env = {**os.environ, "GATEWAY_INSTANCE": str(instance), **(env or {})}
        self.log = log or instance / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> ServerProcess:
        """Start and wait for health; on any failure the child is stopped, never left behind."""
        self.instance.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gateway",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                    "--threads",
                    str(self.threads),
                ],
                env=self.env,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        try:
            self._wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self, timeout: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.proc.returncode}; see {self.log}")
            try:
                answer = requests.get(self.url + "/v1/health", timeout=5)
                if answer.status_code == 200 or _held(answer):
                    return  # up: held (a witness shows the log rolled back) is up, and says so
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"gateway did not become healthy; see {self.log}")

    def kill(self) -> None:
        """SIGKILL the whole process group: no graceful shutdown, as in a crash."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
