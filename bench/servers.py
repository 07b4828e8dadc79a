"""gunicorn (as ``gateway serve`` runs it) against granian, same app, same load, one sitting.

Issue #19 asks to pick the server by measurement. granian is not a
dependency: install it into the venv for this script (``pip install
granian``). Each round starts the server on a fresh SQLite instance, runs
bench/intake.py's closed-loop phase (6 connections) and its steady phase
(200 msgs/s), and prints msgs/s, p50/p99 and the cost per message as a
multiple of the in-process floor measured in the same round; rounds
alternate between the servers.

    python bench/servers.py [--rounds 2] [--seconds 6] [--workers 2]
    python bench/servers.py --slow 100 [--hold 30] [--threads 4]

With ``--slow N`` each round instead holds N slow-header and N slow-body
connections (a byte a second) open for ``--hold`` seconds while a probe
asks /v1/health five times a second, and prints how many probes were
answered and what became of the slow clients: standalone, with no proxy.

Only 127.0.0.1 is contacted; every phase is bounded in time and count.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import requests

from bench.intake import closed_phase, floor, make_tokens, pct, steady_phase
from gateway import config, serving
from gateway.bootstrap import build_services
from gateway.devtools import demo
from gateway.devtools.serverproc import ServerProcess, free_port

WSGI = "gateway.wsgi:app"


def _granian(instance: Path, port: int, workers: int, threads: int = 1) -> subprocess.Popen[bytes]:
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
            str(threads),
            "--http1-header-read-timeout",  # the same 10 s as gateway serve's read deadline
            "10000",
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


@contextlib.contextmanager
def _serving(server: str, workers: int, threads: int) -> Iterator[tuple[Path, int]]:
    """``server`` on a fresh SQLite instance: (instance folder, port); stopped afterwards."""
    with tempfile.TemporaryDirectory(prefix="bench-servers-") as tmp:
        instance = Path(tmp) / "instance"
        port = free_port()
        if server == "granian":
            proc = _granian(instance, port, workers, threads)
            try:
                yield instance, port
            finally:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=15)
        else:
            with ServerProcess(instance, port=port, workers=workers, threads=threads):
                yield instance, port


def _round(server: str, args: argparse.Namespace) -> str:
    with _serving(server, args.workers, 1) as (instance, port):
        services = build_services(config.from_env({"GATEWAY_INSTANCE": str(instance)}))
        cast = demo.register_cast(services, f"http://127.0.0.1:{port}", datetime.now(UTC))
        key = cast.keys[demo.COA]
        tokens = make_tokens(key, int(args.seconds * 3000) + int(args.seconds * 200) + 100)
        floor_s = floor(tokens, key)
        maximum = tokens[: int(args.seconds * 3000)]
        lat, statuses, elapsed = closed_phase([port], maximum, 6, args.seconds)
        steady = tokens[len(maximum) : len(maximum) + int(args.seconds * 200)]
        steady_lat, _, _ = steady_phase([port], steady, 200.0)
    rate = statuses.get(202, 0) / elapsed
    cost = 2 / rate / floor_s
    return (
        f"{server:9} {rate:6.0f} msgs/s  p50 {pct(lat, 50):5.1f} ms  p99 {pct(lat, 99):5.1f} ms"
        f"  steady p99 {pct(steady_lat, 99):5.1f} ms  cost {cost:4.1f} x the floor "
        f"({floor_s * 1e6:.0f} us)"
    )


def _trickle(port: int, body: bool, hold: float, fates: list[str]) -> None:
    """One slow client: a byte a second, of the headers or of a 900-byte body, for ``hold`` s."""
    head = b"GET /v1/health HTTP/1.1\r\nHost: t\r\n"
    if body:
        head = (b"POST /v1/messages HTTP/1.1\r\nHost: t\r\nContent-Type: application/jose\r\n"
                b"Content-Length: 900\r\n\r\n")  # fmt: skip
    try:
        conn = socket.create_connection(("127.0.0.1", port), timeout=hold + 5)
    except OSError:
        fates.append("refused")
        return
    try:
        conn.sendall(head)
        until = time.monotonic() + hold
        while time.monotonic() < until:
            conn.sendall(b"a" if body else b"X")
            time.sleep(1.0)
        fates.append("held to the end")
    except OSError:
        answer = b""
        with contextlib.suppress(OSError):
            conn.settimeout(1)
            answer = conn.recv(64)
        fates.append("408" if answer.startswith(b"HTTP/1.1 408") else "closed")
    finally:
        conn.close()


def _slow_round(server: str, args: argparse.Namespace) -> str:
    """``--slow`` slow-header and as many slow-body connections for ``--hold`` seconds,
    while a probe asks /v1/health every 0.2 s (timeout 2 s): how many answers, how fast."""
    fates: list[str] = []
    waits: list[float] = []
    with _serving(server, args.workers, args.threads) as (_, port):
        slow = [
            threading.Thread(target=_trickle, args=(port, i % 2 == 1, args.hold, fates))
            for i in range(2 * args.slow)
        ]
        for thread in slow:
            thread.start()
        time.sleep(1.0)
        until = time.monotonic() + args.hold - 1.0
        while time.monotonic() < until:  # a new connection each time, as a new client
            started = time.monotonic()
            try:
                requests.get(f"http://127.0.0.1:{port}/v1/health", timeout=2).raise_for_status()
                waits.append(time.monotonic() - started)
            except requests.RequestException:
                waits.append(float("inf"))
            time.sleep(max(0.0, 0.2 - (time.monotonic() - started)))
        for thread in slow:
            thread.join(timeout=args.hold + 10)
    answered = sorted(w for w in waits if w != float("inf"))
    p99 = pct(answered, 99) if len(answered) > 1 else float("nan")
    count = {fate: fates.count(fate) for fate in sorted(set(fates))}
    return (
        f"{server:9} probes answered {len(answered)}/{len(waits)} (p99 of those {p99:.0f} ms); "
        f"slow clients: {count}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--slow", type=int, default=0, help="instead: N slow-header and N slow-body clients"
    )
    parser.add_argument("--hold", type=float, default=30.0, help="how long they trickle, s")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (--slow)")
    args = parser.parse_args()
    for n in range(args.rounds):
        for server in ("gunicorn", "granian") if n % 2 == 0 else ("granian", "gunicorn"):
            print((_slow_round if args.slow else _round)(server, args), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
