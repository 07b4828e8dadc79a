"""Signals benchmark: GET /v1/signals for a municipality with 10,000 placed newcomers,
each with an assignment, a plan and 12 progress reports, from the real server on
127.0.0.1 (2 workers, SQLite by default), and where the time goes.

    python bench/signals.py [--newcomers 10000] [--reports 12] [--page 1000]
                            [--database-url URL]   # an empty, migrated database

The newcomers were placed between 0 and 400 days ago (so some have no plan
yet and some are behind it); half gave consent for attendance and signals,
so every page mixes newcomers with and without unknown signals. Each page
unseals three bodies per newcomer, evaluates consent, computes the signals
and appends one ``regie.read`` audit entry per newcomer, as in production.

The walk through every page is timed over HTTP (goal: under 2 s), then the
same work in process, step by step, so the figures say where the time goes.
Only 127.0.0.1 (and the database named) is contacted; every loop is bounded.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from connectors.common.client import GatewayClient
from gateway import config
from gateway.bootstrap import build_services, storage_of
from gateway.devtools import demo, synthetic
from gateway.devtools.serverproc import ServerProcess
from gateway.service import intake, regie
from gateway.service.services import Services

_REACH = 400
"""placed up to this many days ago"""
_GROUP = 20
"""newcomers per intake batch (one clock per batch: they were placed the same day)"""


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--newcomers", type=int, default=10_000)
    parser.add_argument("--reports", type=int, default=12)
    parser.add_argument("--page", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="walks timed over HTTP")
    parser.add_argument("--database-url", help="an empty, migrated database (default: SQLite)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-signals-") as tmp:
        instance = Path(tmp) / "instance"
        env = {"GATEWAY_INSTANCE": str(instance)}
        if args.database_url:
            env["GATEWAY_DATABASE_URL"] = args.database_url
        services = build_services(config.from_env(env))
        now = datetime.now(UTC)
        cast = demo.register_cast(services, "http://127.0.0.1", now - timedelta(days=_REACH + 1))
        _prepare(services, cast, args, now)
        # Fold the prepared log into the tree now: else the server's first
        # checkpoint folds 160,000 entries under the write lock mid-walk.
        services.checkpoints.sign(datetime.now(UTC))
        storage_of(services).engine.dispose()

        with ServerProcess(instance, workers=2, threads=2, env=env) as server:
            client = GatewayClient(server.url, demo.LEIDEN, cast.keys[demo.LEIDEN])
            walks = [_walk(client, args.page) for _ in range(args.rounds)]
        steps = _in_process(services, cast, args.page)

    seconds = [w[0] for w in walks]
    listed, codes = walks[-1][1], walks[-1][2]
    print(
        f"GET /v1/signals, {listed:,} newcomers x {args.reports} reports, pages of "
        f"{args.page}: every page in {', '.join(f'{s:.2f}' for s in seconds)} s "
        f"(median {statistics.median(seconds):.2f} s; goal under 2 s)"
    )
    print("signals found: " + ", ".join(f"{c} {n:,}" for c, n in codes.most_common()))
    total = sum(steps.values())
    print(f"in process, one walk: {total:.2f} s, of which")
    for step, spent in steps.items():
        print(f"  {step:<34} {spent:6.2f} s  {spent / total:4.0%}")
    return 0


def _prepare(services: Services, cast: demo.Cast, args: argparse.Namespace, now: datetime) -> None:
    """Accept every newcomer's messages in process, in batches placed on the same day."""
    rng = random.Random(16)
    coa, leiden, provider = (cast.client(p) for p in (demo.COA, demo.LEIDEN, demo.PROVIDER))
    started = time.perf_counter()
    for first in range(0, args.newcomers, _GROUP):
        placed = now - timedelta(days=rng.randrange(0, _REACH), hours=1)
        tokens: list[bytes] = []
        for i in range(first, min(first + _GROUP, args.newcomers)):
            person = synthetic.Newcomer.make(rng)
            tokens.append(coa.sign(demo.profile(person, rng, placed)).encode())
            if rng.random() < 0.1:
                continue  # not yet assigned, nor planned
            mine = demo.trajectory(rng, person, placed, args.reports, consent=bool(i % 2))
            tokens += [(leiden if s == demo.LEIDEN else provider).sign(p).encode() for s, p in mine]
        outcomes = intake.accept_batch(tokens, services=services, now=placed, trace_id="0" * 32)
        refused = [o for o in outcomes if not isinstance(o, intake.Outcome)]
        assert not refused, refused[0]
        if (first + _GROUP) % 1000 == 0:
            print(f"{first + _GROUP:,} newcomers prepared", file=sys.stderr)
    print(f"prepared in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def _walk(client: GatewayClient, page_size: int) -> tuple[float, int, Counter[str]]:
    """Every page of Leiden's signals, timed; bounded by the count prepared."""
    codes: Counter[str] = Counter()
    after, listed = 0, 0
    started = time.perf_counter()
    for _ in range(100_000 // page_size + 2):
        page = client.get_json("/v1/signals", after=after, limit=page_size)
        listed += len(page["newcomers"])
        codes.update(s["code"] for row in page["newcomers"] for s in row["signals"])
        if len(page["newcomers"]) < page_size:
            break
        after = page["next_cursor"]
    return time.perf_counter() - started, listed, codes


def _in_process(services: Services, cast: demo.Cast, page_size: int) -> dict[str, float]:
    """One walk in process, timed per step: the same calls the endpoint makes."""
    party = services.store.registry.find_party(demo.LEIDEN)
    assert party is not None
    now = datetime.now(UTC)
    spent: dict[str, float] = defaultdict(float)
    after = 0
    while True:
        t0 = time.perf_counter()
        page = services.store.progress.placed_with(party.oin, after, page_size)
        t1 = time.perf_counter()
        histories = services.store.consent.histories(party.oin, [s.subject for s in page])
        t2 = time.perf_counter()
        for stored in page:
            regie._answer(services, party, stored, histories[stored.subject], now, now)
        t3 = time.perf_counter()
        regie._audit(services, party, page, "signals", now, "0" * 32)
        t4 = time.perf_counter()
        spent["read and unseal (storage)"] += t1 - t0
        spent["consent histories"] += t2 - t1
        spent["consent, cut, signals (domain)"] += t3 - t2
        spent["regie.read entries (audit append)"] += t4 - t3
        if len(page) < page_size:
            return dict(spent)
        after = page[-1].placement


if __name__ == "__main__":
    sys.exit(main())
