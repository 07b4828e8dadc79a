"""Inbox benchmark: pull 10,000 consent-filtered deliveries in pages of 500 from
the real server on 127.0.0.1 (gunicorn, 2 workers, SQLite), and print deliveries/s.

Half of the newcomers have a consent declaration, so every page mixes
deliveries cut to identity and placement with deliveries carrying consented
sections. Each delivery is unsealed, evaluated, minimised, signed and audited
at pull time, as in production.

    python bench/pull.py [--deliveries 10000] [--page 500] [--pullers 2]

Measured with one puller, then with --pullers leased pullers side by side
(GET /v1/inbox?lease=, one process each), as a municipality with two case
system nodes would pull.

Only 127.0.0.1 is contacted; every loop is bounded in count.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import update

from gateway import config
from gateway.bootstrap import build_services, storage_of
from gateway.devtools import demo, synthetic
from gateway.devtools.serverproc import ServerProcess
from gateway.service import intake
from gateway.service.services import Services
from gateway.storage import tables

if TYPE_CHECKING:  # imported where it runs, in the puller processes
    from connectors.common.client import GatewayClient


def _parse_args() -> argparse.Namespace:
    """The command line; the module docstring is the --help text."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--page", type=int, default=500)
    parser.add_argument("--pullers", type=int, default=2, help="leased pullers in parallel")
    return parser.parse_args()


def _consent(leiden: GatewayClient, person: synthetic.Newcomer, now: datetime) -> str:
    """Leiden's consent declaration for ``person``: education and languages, to the COA."""
    return leiden.sign(
        synthetic.payload(
            "consent-declaration",
            synthetic.consent_declaration(
                demo.LEIDEN,
                [demo.COA],
                ["education", "languages"],
                now - timedelta(hours=1),
            ),
            sender=demo.LEIDEN,
            recipient=demo.LEIDEN,
            newcomer=person,
            issued_at=now,
        )
    )


def _prepare(
    services: Services, cast: demo.Cast, deliveries: int, rng: random.Random, now: datetime
) -> None:
    """Fill the inbox in-process (batched intake), every other newcomer with consent.

    Done before the server starts so the pull rounds measure pulling alone.
    """
    coa, leiden = cast.client(demo.COA), cast.client(demo.LEIDEN)
    started = time.perf_counter()
    waiting: list[bytes] = []
    for i in range(deliveries):
        person = synthetic.Newcomer.make(rng)
        messages = [coa.sign(demo.profile(person, rng, now))]
        if i % 2:
            messages.append(_consent(leiden, person, now))
        waiting += [token.encode() for token in messages]
        if len(waiting) >= 500 or i == deliveries - 1:
            outcomes = intake.accept_batch(waiting, services=services, now=now, trace_id="0" * 32)
            assert all(isinstance(o, intake.Outcome) for o in outcomes)
            waiting = []
            print(f"\r{i + 1:,} deliveries prepared", end="", file=sys.stderr)
    print(f" in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def main() -> int:
    args = _parse_args()
    rng = random.Random(8)

    with tempfile.TemporaryDirectory(prefix="bench-pull-") as tmp:
        instance = Path(tmp) / "instance"
        services = build_services(config.from_env({"GATEWAY_INSTANCE": str(instance)}))
        now = datetime.now(UTC)
        cast = demo.register_cast(services, "http://127.0.0.1", now)
        _prepare(services, cast, args.deliveries, rng, now)

        with ServerProcess(instance, workers=2, threads=2) as server:
            figures = []
            for pullers in sorted({1, args.pullers}):
                storage_of(services).engine.dispose()
                _unlease(services)
                figures.append((pullers, *_pull_all(server.url, cast, args, pullers)))

    for pullers, pulled, elapsed, with_consent in figures:
        lease = " with leases" if pullers > 1 else ""
        print(
            f"{pullers} puller(s){lease}: {pulled:,} deliveries in pages of {args.page} "
            f"in {elapsed:.1f} s: {pulled / elapsed:,.0f} deliveries/s (goal 3,000); "
            f"{with_consent:,} carried consented sections"
        )
    return 0


def _unlease(services: Any) -> None:
    """Every delivery pullable again, as before the first round."""
    with storage_of(services).engine.begin() as conn:
        conn.execute(update(tables.deliveries).values(leased_until=None))


def _pull_all(
    url: str, cast: demo.Cast, args: argparse.Namespace, pullers: int
) -> tuple[int, float, int]:
    """Pull every delivery once, with ``pullers`` leased pullers in parallel processes."""
    ctx = mp.get_context("fork")
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    key = cast.keys[demo.LEIDEN]
    lease = 600 if pullers > 1 else 0
    procs = [
        ctx.Process(
            target=_puller, args=(url, key, args.deliveries // pullers, args.page, lease, out)
        )
        for _ in range(pullers)
    ]
    started = time.perf_counter()
    for p in procs:
        p.start()
    results = [out.get(timeout=600) for _ in procs]
    elapsed = time.perf_counter() - started
    for p in procs:
        p.join(timeout=30)
    return sum(r[0] for r in results), elapsed, sum(r[1] for r in results)


def _puller(url: str, key: Any, wanted: int, page_size: int, lease: int, out: Any) -> None:
    from connectors.common.client import GatewayClient

    client = GatewayClient(url, demo.LEIDEN, key)
    after, pulled, with_consent = 0, 0, 0
    for _ in range(wanted // page_size + 2):  # bounded
        if pulled >= wanted:
            break
        params = {"after": after, "limit": page_size, **({"lease": lease} if lease else {})}
        page = client.get_json("/v1/inbox", **params)
        if not page["deliveries"]:
            break
        pulled += len(page["deliveries"])
        with_consent += sum(1 for d in page["deliveries"] if "education" in d["body"])
        after = page["next_cursor"] if not lease else 0
    out.put((pulled, with_consent))


if __name__ == "__main__":
    raise SystemExit(main())
