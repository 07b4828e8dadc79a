"""SQLite and PostgreSQL side by side, in one run on one machine.

For each backend: the real server(s) on 127.0.0.1 under gunicorn, driven
from separate client processes with pre-signed handover profiles, each phase
bounded in time and count. SQLite runs one instance on its WAL file with
synchronous=FULL; PostgreSQL runs N instances (``--pg-instances 1,2,4``, as behind a load balancer)
on one database with fsync on; each instance has --workers workers of
--threads threads (default 2 sync workers). Printed per backend:

  - single-message intake: maximum msgs/s (6 connections), p50/p99;
  - latency at a steady offered load (default 200 msgs/s), from each
    request's scheduled send time (no coordinated omission);
  - batch intake (POST /v1/messages:batch, 500 a batch, 4 connections): msgs/s;
  - pull: deliveries/s for 10,000 deliveries in pages of 500 (one leased
    puller per instance);
  - the in-process floor (Ed25519 verify + schema + SHA-256 per message),
    measured in the same run, and the cost per message as a multiple of it,
    twice: the machine's two cores over the throughput (which counts the load
    generator on the same cores, and any idle time, as the gateway's), and
    the server side alone (every core's busy time less the generator's
    processes: gateway workers, database server, the kernel's work for them).

    python bench/scale.py [--seconds 8] [--workers 2] [--threads 1] [--postgres-url …]

Without --postgres-url (or GATEWAY_BENCH_POSTGRES_URL) only SQLite runs. The
PostgreSQL server gets a database of its own for the run, dropped at the end.
Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from bench.intake import CpuMeter, _collect, closed_phase, floor, make_tokens, pct, steady_phase
from gateway import config
from gateway.bootstrap import build_services, migrate_database, storage_of
from gateway.devtools import demo
from gateway.devtools.serverproc import ServerProcess
from gateway.domain.audit import events
from gateway.domain.wire import jwk
from gateway.instance import new_shared_secrets

BATCH = 500


@dataclass
class Figures:
    backend: str
    single: float
    single_p50: float
    single_p99: float
    steady_p50: float
    steady_p99: float
    steady_rate: float
    batch: float
    single_server: float
    """server-side core-seconds per accepted message (see bench.intake.CpuMeter)"""
    batch_server: float
    pull: float
    stored: int


def _batch_loop(port: int, bodies: list[bytes], deadline: float, out: mp.Queue) -> None:  # type: ignore[type-arg]
    """POST batches until the deadline; count the items accepted (202)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    accepted = 0
    for body in bodies:
        if time.monotonic() >= deadline:
            break
        conn.request(
            "POST", "/v1/messages:batch", body=body, headers={"Content-Type": "application/json"}
        )
        response = conn.getresponse()
        data = response.read()
        if response.status == 200:
            accepted += data.count(b'"status":202') + data.count(b'"status": 202')
    out.put(([], {202: accepted}))


@contextmanager
def postgres_database(url: str) -> Iterator[str]:
    """A new, migrated database on the given server, dropped afterwards."""
    base = make_url(url)
    name = f"gateway_bench_{os.getpid()}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    target = base.set(database=name).render_as_string(hide_password=False)
    migrate_database(target)
    try:
        yield target
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _pull(ports: list[int], key: jwk.Key, wanted: int) -> float:
    """Deliveries/s for ``wanted`` deliveries, one leased puller per instance, in parallel."""
    ctx = mp.get_context("fork")
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    share = wanted // len(ports)
    procs = [ctx.Process(target=_puller, args=(port, key, share, out)) for port in ports]
    started = time.perf_counter()
    for p in procs:
        p.start()
    pulled = sum(out.get(timeout=600) for _ in procs)
    elapsed = time.perf_counter() - started
    for p in procs:
        p.join(timeout=30)
    return float(pulled / elapsed)


def _puller(port: int, key: jwk.Key, wanted: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    from connectors.common.client import GatewayClient

    client = GatewayClient(f"http://127.0.0.1:{port}", demo.LEIDEN, key)
    pulled = 0
    for _ in range(wanted // BATCH + 2):  # bounded: never more pages than needed
        if pulled >= wanted:
            break
        page = client.get_json("/v1/inbox", after=0, limit=BATCH, lease=600)
        if not page["deliveries"]:
            break
        pulled += len(page["deliveries"])
    out.put(pulled)


def _batch_bodies(tokens: list[bytes]) -> list[bytes]:
    """The batch-phase request bodies, built before the clock starts so JSON work is not timed."""
    return [
        json.dumps({"messages": [t.decode() for t in tokens[i : i + BATCH]]}).encode()
        for i in range(0, len(tokens), BATCH)
    ]


def _batch_phase(ports: list[int], tokens: list[bytes], seconds: float) -> tuple[float, float]:
    """Batches, closed loop, 4 connections spread over the instances.

    Returns (msgs/s, server-side core-seconds per accepted message).
    A phase of its own so the CPU meter brackets only the batch senders' work.
    """
    ctx = mp.get_context("fork")
    bodies = _batch_bodies(tokens)
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    deadline = time.monotonic() + seconds
    procs = [
        ctx.Process(target=_batch_loop, args=(ports[i % len(ports)], bodies[i::4], deadline, out))
        for i in range(4)
    ]
    started = time.perf_counter()
    with CpuMeter() as batch_cpu:
        for p in procs:
            p.start()
        _, batch_statuses = _collect(procs, out)
    batch_rate = batch_statuses.get(202, 0) / (time.perf_counter() - started)
    return batch_rate, batch_cpu.server / max(1, batch_statuses.get(202, 0))


def _start_servers(
    tmp: str, database_url: str | None, args: argparse.Namespace, instances: int
) -> tuple[dict[str, str], list[Path], list[ServerProcess]]:
    """Start the gateway instance(s) for one backend: (shared env, instance folders, servers).

    SQLite gets one instance whose folder holds the database; PostgreSQL gets
    ``instances`` instances on one database, as behind a load balancer.
    """
    env = new_shared_secrets()
    if database_url:
        env["GATEWAY_DATABASE_URL"] = database_url
    # (workers, threads) per instance: one SQLite instance, ``instances`` on PostgreSQL
    shape = [(args.workers, args.threads)] * (1 if database_url is None else instances)
    folders = [Path(tmp) / f"instance-{i}" for i in range(len(shape))]
    if database_url is None:  # SQLite: the instance folder holds the database
        folders = [Path(tmp) / "instance"]
    servers = [
        ServerProcess(folder, workers=w, threads=t, env=env).start()
        for folder, (w, t) in zip(folders, shape, strict=True)
    ]
    return env, folders, servers


def _measure(
    name: str,
    env: dict[str, str],
    folders: list[Path],
    servers: list[ServerProcess],
    args: argparse.Namespace,
) -> Figures:
    """Run the four phases against running servers and check the audit log afterwards.

    Kept apart from server start/stop so the ``finally`` that stops the
    servers wraps everything measured here.
    """
    settings = config.from_env({"GATEWAY_INSTANCE": str(folders[0]), **env})
    services = build_services(settings)
    cast = demo.register_cast(services, servers[-1].url, datetime.now(UTC))
    ports = [s.port for s in servers]
    single_n = int(args.seconds * 2000)
    steady_n = int(args.seconds * args.rate)
    batch_n = int(args.seconds * 6000)
    print(f"[{name}] signing {single_n + steady_n + batch_n:,} messages ...", file=sys.stderr)
    tokens = make_tokens(cast.keys[demo.COA], single_n + steady_n + batch_n)

    # 1. Single messages, closed loop, 6 connections spread over the instances.
    with CpuMeter() as single_cpu:
        lat, statuses, elapsed = closed_phase(ports, tokens[:single_n], 6, args.seconds)
    single_rate = statuses.get(202, 0) / elapsed

    # 2. Steady offered load, open loop.
    steady = tokens[single_n : single_n + steady_n]
    steady_lat, _, _ = steady_phase(ports, steady, args.rate)

    # 3. Batches, closed loop, 4 connections.
    batch_rate, batch_server = _batch_phase(ports, tokens[single_n + steady_n :], args.seconds)

    # 4. Pull.
    pull_rate = _pull(ports, cast.keys[demo.LEIDEN], args.deliveries)
    store = storage_of(services)
    stored = store.count("messages")
    indices = store.count("audit_entries")
    assert indices == store.audit.size(), "audit log has a gap"
    store.engine.dispose()
    return Figures(
        backend=name,
        single=single_rate,
        single_p50=pct(lat, 50),
        single_p99=pct(lat, 99),
        steady_p50=pct(steady_lat, 50),
        steady_p99=pct(steady_lat, 99),
        steady_rate=args.rate,
        batch=batch_rate,
        single_server=single_cpu.server / max(1, statuses.get(202, 0)),
        batch_server=batch_server,
        pull=pull_rate,
        stored=stored,
    )


def run_backend(
    name: str, database_url: str | None, args: argparse.Namespace, instances: int = 1
) -> Figures:
    """All figures for one backend, on servers started for it in a throw-away folder."""
    with tempfile.TemporaryDirectory(prefix=f"bench-scale-{name}-") as tmp:
        env, folders, servers = _start_servers(tmp, database_url, args, instances)
        try:
            return _measure(name, env, folders, servers, args)
        finally:
            for server in servers:
                server.stop()


def _parse_args() -> argparse.Namespace:
    """The command line; the module docstring is the --help text."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="per phase")
    parser.add_argument("--rate", type=float, default=200.0, help="steady offered load, msgs/s")
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per instance")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per worker (1: sync workers)"
    )
    parser.add_argument(
        "--postgres-url", default=os.environ.get("GATEWAY_BENCH_POSTGRES_URL") or None
    )
    parser.add_argument(
        "--pg-instances", default="2", help="PostgreSQL runs, comma-separated instance counts"
    )
    return parser.parse_args()


def _rows(
    args: argparse.Namespace, cores: int, floor_s: float
) -> list[tuple[str, Callable[[Figures], str]]]:
    """The table's rows: a label and how to render one backend's cell.

    Core time per message is reported twice against the floor: over the
    machine's cores (load generator included) and server side alone.
    """
    return [
        ("single intake, msgs/s", lambda f: f"{f.single:,.0f}"),
        ("single intake p50 / p99, ms", lambda f: f"{f.single_p50:.1f} / {f.single_p99:.1f}"),
        (
            "single: core time per msg / floor",
            lambda f: f"{cores / f.single * 1e6:.0f} us = {cores / f.single / floor_s:.1f} x",
        ),
        (
            "single: server-side core time / floor",
            lambda f: f"{f.single_server * 1e6:.0f} us = {f.single_server / floor_s:.1f} x",
        ),
        (
            f"steady {args.rate:.0f} msgs/s: p50 / p99, ms",
            lambda f: f"{f.steady_p50:.1f} / {f.steady_p99:.1f}",
        ),
        (f"batch intake ({BATCH} a batch), msgs/s", lambda f: f"{f.batch:,.0f}"),
        (
            "batch: core time per msg / floor",
            lambda f: f"{cores / f.batch * 1e6:.0f} us = {cores / f.batch / floor_s:.1f} x",
        ),
        (
            "batch: server-side core time / floor",
            lambda f: f"{f.batch_server * 1e6:.0f} us = {f.batch_server / floor_s:.1f} x",
        ),
        (f"pull ({BATCH} a page), deliveries/s", lambda f: f"{f.pull:,.0f}"),
        ("messages stored", lambda f: f"{f.stored:,}"),
    ]


def _report(figures: list[Figures], args: argparse.Namespace, floor_s: float) -> None:
    """Print the machine, the floor and one table column per backend."""
    cores = mp.cpu_count()
    print(f"machine: {cores} cores; run at {events.format_time(datetime.now(UTC))}")
    print(
        f"floor (verify + schema + sha256, in-process): {floor_s * 1e6:.0f} us/msg "
        f"= {1 / floor_s:,.0f} msgs/s per core"
    )
    shape = f"{args.workers} workers x {args.threads} threads"
    print(f"SQLite: 1 instance x {shape}; PostgreSQL xN: N instances x {shape}, one database")
    header = f"| {'':42} | " + " | ".join(f"{f.backend:>18}" for f in figures) + " |"
    print(header)
    print("|" + "-" * 44 + "|" + "|".join("-" * 20 for _ in figures) + "|")
    for label, cell in _rows(args, cores, floor_s):
        print(f"| {label:42} | " + " | ".join(f"{cell(f):>18}" for f in figures) + " |")


def main() -> int:
    args = _parse_args()
    key = jwk.generate("Ed25519")
    floor_s = floor(make_tokens(key, 2000), key)
    figures = [run_backend("SQLite", None, args)]
    if args.postgres_url:
        for count in (int(n) for n in args.pg_instances.split(",")):
            with postgres_database(args.postgres_url) as url:
                figures.append(run_backend(f"PostgreSQL x{count}", url, args, count))
    else:
        print("PostgreSQL: skipped (give --postgres-url or GATEWAY_BENCH_POSTGRES_URL)")
    _report(figures, args, floor_s)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
