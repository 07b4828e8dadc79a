"""Inbox benchmark: pull 10,000 consent-filtered deliveries in pages of 500 from
the real server on 127.0.0.1 (gunicorn, 2 workers, SQLite), and print deliveries/s.

Half of the newcomers have a consent declaration, so every page mixes
deliveries cut to identity and placement with deliveries carrying consented
sections. Each delivery is unsealed, evaluated, minimised, signed and audited
at pull time, as in production.

    python bench/pull.py [--deliveries 10000] [--page 500]

Only 127.0.0.1 is contacted; every loop is bounded in count.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway import config, demo, pipeline, synthetic
from gateway.app import build_services
from gateway.serverproc import ServerProcess


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--page", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(8)

    with tempfile.TemporaryDirectory(prefix="bench-pull-") as tmp:
        instance = Path(tmp) / "instance"
        services = build_services(config.from_env({"GATEWAY_INSTANCE": str(instance)}))
        now = datetime.now(UTC)
        cast = demo.register_cast(services.store, "http://127.0.0.1", now)
        coa, leiden = cast.client(demo.COA), cast.client(demo.LEIDEN)
        started = time.perf_counter()
        for i in range(args.deliveries):
            person = synthetic.Newcomer.make(rng)
            messages = [
                coa.sign(
                    synthetic.payload(
                        "handover-profile",
                        synthetic.handover_profile(person, "GM0546", rng),
                        sender=demo.COA,
                        recipient=demo.LEIDEN,
                        newcomer=person,
                        issued_at=now,
                    )
                )
            ]
            if i % 2:
                messages.append(
                    leiden.sign(
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
                )
            for token in messages:
                pipeline.accept(token.encode(), services=services, now=now, trace_id="0" * 32)
            if i % 500 == 499:
                print(f"\r{i + 1:,} deliveries prepared", end="", file=sys.stderr)
        print(f" in {time.perf_counter() - started:.0f} s", file=sys.stderr)

        with ServerProcess(instance, workers=2, threads=2) as server:
            client = cast.client(demo.LEIDEN)
            client.base_url = server.url
            after, pulled, pages, with_consent = 0, 0, 0, 0
            started = time.perf_counter()
            while pulled < args.deliveries and pages <= args.deliveries // args.page + 1:
                page = client.get_json("/v1/inbox", after=after, limit=args.page)
                pulled += len(page["deliveries"])
                with_consent += sum(1 for d in page["deliveries"] if "education" in d["body"])
                after, pages = page["next_cursor"], pages + 1
            elapsed = time.perf_counter() - started

    print(
        f"pulled {pulled:,} deliveries in {pages} pages of {args.page} in {elapsed:.1f} s: "
        f"{pulled / elapsed:,.0f} deliveries/s (goal 3,000); "
        f"{with_consent:,} carried consented sections"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
