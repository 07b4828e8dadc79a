"""gunicorn (as ``gateway serve`` runs it) against granian, same app, same load, one sitting.

Issue #19 asks to pick the server by measurement. granian is not a
dependency: install it into the venv for this script (``pip install
granian``). Each round starts the server on a fresh SQLite instance, runs
bench/intake.py's closed-loop phase (6 connections) and its steady phase
(200 msgs/s), and prints msgs/s, p50/p99 and the cost per message as a
multiple of the in-process floor measured in the same round; rounds
alternate between the servers.

    python bench/servers.py [--rounds 2] [--seconds 6] [--workers 2]

Only 127.0.0.1 is contacted; every phase is bounded in time and count.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

from bench.intake import closed_phase, floor, make_tokens, pct, steady_phase
from gateway import config, serving
from gateway.bootstrap import build_services
from gateway.devtools import demo
from gateway.devtools.serverproc import ServerProcess, free_port

WSGI = "gateway.wsgi:app"


def _granian(instance: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    serving.prepare(config.from_env({"GATEWAY_INSTANCE": str(instance)}))
    env = {**os.environ, "GATEWAY_INSTANCE": str(instance)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "wsgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--blocking-threads",
            "1",
            "--log-level",
            "warning",
            WSGI,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/v1/health", timeout=2).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError("granian did not become healthy")


def _round(server: str, args: argparse.Namespace) -> str:
    with tempfile.TemporaryDirectory(prefix="bench-servers-") as tmp:
        instance = Path(tmp) / "instance"
        port = free_port()
        proc = None
        gunicorn = None
        if server == "granian":
            proc = _granian(instance, port, args.workers)
        else:
            gunicorn = ServerProcess(instance, port=port, workers=args.workers, threads=1).start()
        try:
            services = build_services(config.from_env({"GATEWAY_INSTANCE": str(instance)}))
            cast = demo.register_cast(services, f"http://127.0.0.1:{port}", datetime.now(UTC))
            key = cast.keys[demo.COA]
            tokens = make_tokens(key, int(args.seconds * 3000) + int(args.seconds * 200) + 100)
            floor_s = floor(tokens, key)
            maximum = tokens[: int(args.seconds * 3000)]
            lat, statuses, elapsed = closed_phase([port], maximum, 6, args.seconds)
            steady = tokens[len(maximum) : len(maximum) + int(args.seconds * 200)]
            steady_lat, _, _ = steady_phase([port], steady, 200.0)
        finally:
            if proc is not None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=15)
            if gunicorn is not None:
                gunicorn.stop()
    rate = statuses.get(202, 0) / elapsed
    cost = 2 / rate / floor_s
    return (
        f"{server:9} {rate:6.0f} msgs/s  p50 {pct(lat, 50):5.1f} ms  p99 {pct(lat, 99):5.1f} ms"
        f"  steady p99 {pct(steady_lat, 99):5.1f} ms  cost {cost:4.1f} x the floor "
        f"({floor_s * 1e6:.0f} us)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    for n in range(args.rounds):
        for server in ("gunicorn", "granian") if n % 2 == 0 else ("granian", "gunicorn"):
            print(_round(server, args), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
