"""Intake benchmark: the real server under gunicorn on 127.0.0.1, driven from
separate client processes with pre-signed messages, for a bounded time.

Prints, in one run on one machine:
  - the in-process floor: Ed25519 verify + schema validation + SHA-256 per message;
  - maximum accepted messages/s (every one durably committed with its audit entry),
    with p50/p99 latency;
  - p50/p99 latency at a steady offered load (default 200 messages/s), measured from
    each request's scheduled send time, so a stall is not hidden (no coordinated omission).

    python bench/intake.py [--seconds 10] [--workers 2] [--threads 1] [--rate 200]

Only 127.0.0.1 is ever contacted; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing as mp
import os
import random
import resource
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway import config
from gateway.bootstrap import build_services, storage_of
from gateway.devtools import demo, synthetic
from gateway.devtools.serverproc import ServerProcess
from gateway.domain.message import Message
from gateway.domain.wire import envelope, jwk
from gateway.files.schemas import load_catalog


def make_tokens(key: jwk.Key, count: int) -> list[bytes]:
    rng = random.Random(1)
    now = datetime.now(UTC)
    tokens = []
    for _ in range(count):
        payload = demo.profile(synthetic.Newcomer.make(rng), rng, now)
        tokens.append(envelope.sign(payload, key, typ=envelope.MESSAGE_TYP).encode())
    return tokens


def floor(tokens: list[bytes], key: jwk.Key) -> float:
    """Seconds per message for the irreducible work, in this process."""
    catalog = load_catalog()
    public = jwk.import_jwk(jwk.public_jwk(key))
    kid = jwk.thumbprint(public)
    sample = tokens[:2000]
    passes = []
    for _ in range(3):  # the best of three: this machine's neighbours only ever add time
        start = time.perf_counter()
        for token in sample:
            unverified = envelope.parse(token, typ=envelope.MESSAGE_TYP)
            verified = envelope.verify(unverified, public, kid=kid)
            Message.from_verified(verified, catalog)
            hashlib.sha256(token).hexdigest()
        passes.append((time.perf_counter() - start) / len(sample))
    return min(passes)


class CpuMeter:
    """Where the machine's core time went during a phase.

    ``busy``: every core's non-idle time, from /proc/stat; ``generator``: the
    load generator's processes (their rusage, so they must be joined inside
    the block); ``server``: the rest, which is the gateway's workers, the
    database server and the kernel's work for them. "Cost per message" as 2
    cores / throughput counts the generator and any idle time as the
    gateway's; ``server`` per message does not.
    """

    busy = generator = 0.0

    def __enter__(self) -> CpuMeter:
        self._busy, self._gen = _busy_seconds(), _children_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        self.busy = _busy_seconds() - self._busy
        self.generator = _children_seconds() - self._gen

    @property
    def server(self) -> float:
        return max(0.0, self.busy - self.generator)


def _busy_seconds() -> float:
    """Core-seconds of work on the whole machine since boot (user, nice, system, irq,
    softirq; idle, iowait and steal, the time the hypervisor ran someone else, are not)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:8]]
    user, nice, system, _idle, _iowait, irq, softirq = fields
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def _children_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class _Client:
    """A lean HTTP/1.1 client for one connection: the load generator shares the
    server's two cores, so it should cost little (http.client took ~0.5 ms of
    CPU a request here, a fifth of the server's). Reconnects when the server
    closes (gunicorn's sync workers close after every response).
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buffer = b""

    def post(self, token: bytes) -> int:
        """POST one message; the response status, or -1 for a dropped connection."""
        request = _REQUEST % len(token) + token
        for _ in range(2):  # once more on a connection the server had closed
            try:
                if self.sock is None:
                    self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
                    self.buffer = b""
                self.sock.sendall(request)
                return self._response()
            except OSError:
                self.close()
        return -1

    def _response(self) -> int:
        assert self.sock is not None
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed before the response")
            self.buffer += chunk
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        headers = dict(line.lower().split(b": ", 1) for line in lines[1:] if b": " in line)
        length = int(headers.get(b"content-length", b"0"))
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed inside the response")
            rest += chunk
        self.buffer = rest[length:]
        if headers.get(b"connection") == b"close":
            self.close()
        return status

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None


_REQUEST = (
    b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/jose\r\nContent-Length: %d\r\n\r\n"
)


def _closed_loop(port: int, tokens: list[bytes], deadline: float, out: mp.Queue) -> None:  # type: ignore[type-arg]
    client = _Client(port)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    for token in tokens:
        if time.monotonic() >= deadline:
            break
        start = time.perf_counter()
        status = client.post(token)
        latencies.append(time.perf_counter() - start)
        statuses[status] = statuses.get(status, 0) + 1
    out.put((latencies, statuses))


def _open_loop(port: int, tokens: list[bytes], t0: float, interval: float, out: mp.Queue) -> None:  # type: ignore[type-arg]
    """Send token i at t0 + i*interval; latency counts from that scheduled moment."""
    client = _Client(port)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    for i, token in enumerate(tokens):
        scheduled = t0 + i * interval
        pause = scheduled - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        status = client.post(token)
        latencies.append(time.perf_counter() - scheduled)
        statuses[status] = statuses.get(status, 0) + 1
    out.put((latencies, statuses))


def _collect(procs: list[Any], out: mp.Queue) -> tuple[list[float], dict[int, int]]:  # type: ignore[type-arg]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    for _ in procs:
        lat, st = out.get(timeout=300)
        latencies += lat
        for k, v in st.items():
            statuses[k] = statuses.get(k, 0) + v
    for p in procs:
        p.join(timeout=30)
    return latencies, statuses


Sample = tuple[list[float], dict[int, int], float]
"""latencies (s), statuses with their counts, elapsed seconds"""


def closed_phase(ports: list[int], tokens: list[bytes], clients: int, seconds: float) -> Sample:
    """As many messages as ``clients`` connections get through in ``seconds`` (or until spent)."""
    ctx = mp.get_context("fork")
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    deadline = time.monotonic() + seconds
    procs = [
        ctx.Process(
            target=_closed_loop, args=(ports[i % len(ports)], tokens[i::clients], deadline, out)
        )
        for i in range(clients)
    ]
    started = time.perf_counter()
    for p in procs:
        p.start()
    latencies, statuses = _collect(procs, out)
    return latencies, statuses, time.perf_counter() - started


def steady_phase(ports: list[int], tokens: list[bytes], rate: float, senders: int = 8) -> Sample:
    """Send ``tokens`` at ``rate`` a second from ``senders`` processes (open loop)."""
    ctx = mp.get_context("fork")
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    t0 = time.perf_counter() + 0.2
    procs = [
        ctx.Process(
            target=_open_loop,
            args=(ports[i % len(ports)], tokens[i::senders], t0 + i / rate, senders / rate, out),
        )
        for i in range(senders)
    ]
    for p in procs:
        p.start()
    latencies, statuses = _collect(procs, out)
    return latencies, statuses, time.perf_counter() - t0


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 10) - 1] * 1000 if len(values) > 1 else 0.0


def _parse_args() -> argparse.Namespace:
    """The command line; the module docstring is the --help text."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument("--clients", type=int, default=6, help="concurrent client connections")
    parser.add_argument("--rate", type=float, default=200.0, help="steady offered load, msgs/s")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp folder")
    return parser.parse_args()


@dataclass
class _Run:
    """What one run measured, gathered while the server runs and printed after it stopped."""

    floor_s: float
    size: int
    maximum: Sample
    meter: CpuMeter
    steady: Sample
    stored: int


def _run(args: argparse.Namespace) -> _Run:
    """Start the server in a throw-away folder, sign the budget, run both phases.

    Signing happens before either phase so no phase pays for it; the floor is
    measured on the same tokens in this process.
    """
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
        instance = Path(tmp) / "instance"
        env = {"GATEWAY_DATABASE_URL": args.database_url} if args.database_url else {}
        with ServerProcess(instance, workers=args.workers, threads=args.threads, env=env) as server:
            settings = config.from_env({"GATEWAY_INSTANCE": str(instance), **env})
            services = build_services(settings)

            store = storage_of(services)
            cast = demo.register_cast(services, server.url, datetime.now(UTC))
            key = cast.keys[demo.COA]
            budget = int(args.seconds * 3000) + int(args.seconds * args.rate) + 100
            print(f"signing {budget} messages ...", file=sys.stderr)
            tokens = make_tokens(key, budget)
            floor_s = floor(tokens, key)
            size = sum(map(len, tokens[:100])) // 100

            # 1. Maximum throughput, closed loop, bounded by time and by count.
            maximum = tokens[: int(args.seconds * 3000)]
            with CpuMeter() as meter:
                closed = closed_phase([server.port], maximum, args.clients, args.seconds)

            # 2. Steady offered load, open loop.
            steady = tokens[len(maximum) : len(maximum) + int(args.seconds * args.rate)]
            open_ = steady_phase([server.port], steady, args.rate)
            stored = store.count("messages")
    return _Run(floor_s, size, closed, meter, open_, stored)


def _report_cost(accepted: int, elapsed: float, floor_s: float, meter: CpuMeter) -> None:
    """Cost per accepted message against the floor: over 2 cores, then split by where it went."""
    core_time = 2 / (accepted / elapsed)  # core-seconds per accepted message, 2 cores
    print(
        f"cost per message: {core_time * 1000:.2f} ms of core time = "
        f"{core_time / floor_s:.1f} x the floor"
    )
    if accepted:
        print(
            f"of that: server side {meter.server / accepted * 1e6:.0f} us = "
            f"{meter.server / accepted / floor_s:.1f} x the floor, load generator "
            f"{meter.generator / accepted * 1e6:.0f} us, idle "
            f"{max(0.0, 2 * elapsed - meter.busy) / accepted * 1e6:.0f} us"
        )


def _report(args: argparse.Namespace, run: _Run) -> None:
    """Print the machine, the floor, both phases and the cost per message."""
    floor_s = run.floor_s
    lat, statuses, elapsed = run.maximum
    steady_lat, steady_statuses, _ = run.steady
    accepted = statuses.get(202, 0)
    database = "PostgreSQL" if args.database_url else "SQLite (WAL, synchronous=FULL)"
    print(
        f"machine: {mp.cpu_count()} cores; server: gunicorn {args.workers} workers x "
        f"{args.threads} threads; database: {database}"
    )
    print(f"message: handover-profile, {run.size} bytes as JWS")
    print(
        f"floor (verify + schema + sha256, in-process): {floor_s * 1e6:.0f} us/msg "
        f"= {1 / floor_s:,.0f} msgs/s per core"
    )
    print(
        f"max intake: {accepted / elapsed:,.0f} msgs/s accepted durably over {elapsed:.1f} s "
        f"({args.clients} connections); p50 {pct(lat, 50):.1f} ms, p99 {pct(lat, 99):.1f} ms; "
        f"statuses {dict(sorted(statuses.items()))}"
    )
    print(
        f"steady {args.rate:.0f} msgs/s for {args.seconds:.0f} s: "
        f"p50 {pct(steady_lat, 50):.1f} ms, p99 {pct(steady_lat, 99):.1f} ms; "
        f"statuses {dict(sorted(steady_statuses.items()))}"
    )
    _report_cost(accepted, elapsed, floor_s, run.meter)
    print(f"messages stored at the end: {run.stored}")


def main() -> int:
    args = _parse_args()
    _report(args, _run(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
