"""Intake in-process, no HTTP: where a message's own cost is, without the server's.

Builds the services on a fresh SQLite instance (a temporary folder), signs
``--count`` handover profiles as the COA, and calls ``intake.accept`` one at
a time, then through the WSGI app (Flask's test client: the web layer
without a server), then ``intake.accept_batch`` 500 at a time, with the Logboek
Dataverwerkingen on (its exporter thread running, as in a serving process,
so its cost is counted) and off, alternating. Prints µs a message and the
multiple of the floor (verify + schema + SHA-256) measured in the same run.

    python bench/inprocess.py [--count 1200] [--rounds 2]

Only files under a temporary folder are written; every loop is bounded.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.intake import floor, make_tokens
from gateway import config
from gateway.bootstrap import build_services, with_checkpointer
from gateway.devtools import demo
from gateway.domain.audit.events import new_trace_id
from gateway.service import intake
from gateway.service.services import Services
from gateway.web.app import create_app

BATCH = 500
JOSE = {"Content-Type": "application/jose"}


def _services(folder: Path, ldv: bool) -> Services:
    env = {key: value for key, value in os.environ.items() if key != "GATEWAY_DATABASE_URL"}
    env.update(GATEWAY_INSTANCE=str(folder), GATEWAY_LDV="on" if ldv else "off")
    return build_services(config.from_env(env), upgrade=True)


def _round(count: int, ldv: bool) -> tuple[float, float, float]:
    """Seconds a message: one at a time, one at a time through the WSGI app (Flask's test
    client: the web layer without a server), 500 a call."""
    with tempfile.TemporaryDirectory(prefix="bench-inprocess-") as folder:
        services = _services(Path(folder), ldv)
        now = datetime.now(UTC)
        cast = demo.register_cast(services, "http://127.0.0.1", now)
        key = cast.keys[demo.COA]
        tokens = make_tokens(key, 3 * count)
        client = create_app(with_checkpointer(services), {"CHECKPOINT_THREAD": False}).test_client()
        export = getattr(services, "logbook", None)
        if export is not None:
            export.start()  # the serving process's thread: its cost is the gateway's
        start = time.perf_counter()
        for token in tokens[:count]:
            intake.accept(token, services=services, now=now, trace_id=new_trace_id())
        single = (time.perf_counter() - start) / count
        start = time.perf_counter()
        for token in tokens[count : 2 * count]:
            client.post("/v1/messages", data=token, headers=JOSE)
        web = (time.perf_counter() - start) / count
        start = time.perf_counter()
        for at in range(2 * count, 3 * count, BATCH):
            intake.accept_batch(tokens[at : at + BATCH], services=services, now=now,
                                trace_id=new_trace_id())  # fmt: skip
        batch = (time.perf_counter() - start) / count
        if export is not None:
            export.stop()
        return single, web, batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1200)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    count = max(BATCH, min(args.count, 20_000))
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as folder:
        services = _services(Path(folder), ldv=False)
        key = demo.register_cast(services, "http://127.0.0.1", datetime.now(UTC)).keys[demo.COA]
        unit = floor(make_tokens(key, 1000), key)
    print(f"floor (verify + schema + sha256, in-process): {unit * 1e6:.0f} us/msg")
    for round_ in range(1, min(args.rounds, 5) + 1):
        for ldv in (True, False):
            single, web, batch = _round(count, ldv)
            print(f"round {round_} LDV {'on ' if ldv else 'off'}: single {single * 1e6:6.0f} us"
                  f" = {single / unit:4.1f} x   through the app {web * 1e6:6.0f} us"
                  f" = {web / unit:4.1f} x   batch {batch * 1e6:5.0f} us"
                  f" = {batch / unit:4.1f} x")  # fmt: skip


if __name__ == "__main__":
    main()
