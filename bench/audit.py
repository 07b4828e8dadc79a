"""Audit log benchmark: a log of 1,000,000 entries on SQLite.

Prints, in one run on one machine:
  - append rate in the pipeline: one durable transaction per entry (as intake and
    refusals append), over a bounded sample;
  - append rate in batches (how the rest of the log is filled);
  - folding the tree (aligned subtree hashes) over the whole log;
  - inclusion and consistency proof time at tree size 1,000,000 (goal < 5 ms each);
  - full verification time by the auditor's verifier over HTTP on 127.0.0.1,
    which recomputes every leaf hash and every checkpoint root (goal < 10 s).

    python bench/audit.py [--entries 1000000] [--sample 2000]

Only 127.0.0.1 is contacted; every loop is bounded in count.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from connectors.auditor.verify import verify_log
from gateway import config
from gateway.bootstrap import build_services, storage_of
from gateway.devtools import demo
from gateway.devtools.serverproc import ServerProcess
from gateway.domain.audit import events, merkle
from gateway.service.services import Services
from gateway.storage.auditlog import AuditLogStore

BATCH = 10_000


def _event(i: int) -> events.Event:
    return events.Event(
        event="message.accepted",
        actor=demo.COA,
        outcome="accepted",
        trace_id=f"{i:032x}",
        processing_activity="inburgering/overdracht-coa",
        subject=f"{i % 5000:064x}",
        message_id=f"00000000-0000-4000-8000-{i:012x}",
        type="handover-profile",
    )


def _ms(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=100)
    return f"mean {statistics.mean(samples) * 1000:.2f} ms, p99 {q[98] * 1000:.2f} ms"


def _parse_args() -> argparse.Namespace:
    """The command line; the module docstring is the --help text."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=2000, help="single-transaction appends")
    return parser.parse_args()


def _append_single(services: Services, sample: int, now: datetime) -> float:
    """Entries/s appended one durable transaction each, as intake and refusals do."""
    started = time.perf_counter()
    for i in range(sample):
        with services.store.write() as tx:
            tx.append([_event(i)], now)
    return sample / (time.perf_counter() - started)


def _fill(services: Services, entries: int, sample: int, now: datetime) -> float:
    """Fill the log up to ``entries`` in batches; entries/s over the batched part only."""
    done = storage_of(services).count("audit_entries")
    started = time.perf_counter()
    while done < entries:
        with services.store.write() as tx:
            tx.append([_event(i) for i in range(done, min(done + BATCH, entries))], now)
        done = min(done + BATCH, entries)
        print(f"\r{done:,} entries", end="", file=sys.stderr)
    print(file=sys.stderr)
    return (entries - sample) / (time.perf_counter() - started)


def _proofs(log: AuditLogStore, size: int, rng: random.Random) -> tuple[list[float], list[float]]:
    """Seconds per inclusion and per consistency proof at ``size``, 200 random samples each.

    Each inclusion proof is also verified against the root, so a fast wrong
    proof cannot pass for a fast one.
    """
    inclusion, consistency = [], []
    root = log.root(size)
    for _ in range(200):
        index = rng.randrange(size)
        t = time.perf_counter()
        path = log.inclusion(index, size)
        inclusion.append(time.perf_counter() - t)
        leaf = bytes.fromhex(log.entries(index, index + 1)[0]["leaf_hash"])
        merkle.verify_inclusion(index, size, leaf, path, root)
        first = rng.randrange(1, size)
        t = time.perf_counter()
        log.consistency(first, size)
        consistency.append(time.perf_counter() - t)
    return inclusion, consistency


def main() -> int:
    args = _parse_args()
    rng = random.Random(4)

    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        instance = Path(tmp) / "instance"
        services = build_services(config.from_env({"GATEWAY_INSTANCE": str(instance)}))
        cast = demo.register_cast(services, "http://127.0.0.1", datetime.now(UTC))
        now = datetime.now(UTC)
        single = _append_single(services, args.sample, now)
        batched = _fill(services, args.entries, args.sample, now)

        log = storage_of(services).audit
        started = time.perf_counter()
        services.checkpoints.sign(datetime.now(UTC))  # folds the whole log, then signs
        folding = time.perf_counter() - started
        size = log.size()
        inclusion, consistency = _proofs(log, size, rng)

        with ServerProcess(instance, workers=2, threads=2) as server:
            auditor = cast.client(demo.AUDITOR)
            auditor.base_url = server.url
            started = time.perf_counter()
            verified = verify_log(auditor)
            verification = time.perf_counter() - started

    print(f"log: {size:,} entries on SQLite (WAL, synchronous=FULL)")
    print(f"append in the pipeline (one durable transaction each): {single:,.0f} entries/s")
    print(f"append in batches of {BATCH:,}: {batched:,.0f} entries/s")
    print(f"fold the whole tree and sign a checkpoint: {folding:.1f} s")
    print(f"inclusion proof at size {size:,}: {_ms(inclusion)} (goal < 5 ms)")
    print(f"consistency proof to size {size:,}: {_ms(consistency)} (goal < 5 ms)")
    print(
        f"full verification over HTTP ({verified.entries:,} entries, {verified.checkpoints} "
        f"checkpoints): {verification:.1f} s (goal < 10 s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
