"""A gateway whose log holds every kind of entry an auditor reads, and the auditor's
console over it, started with the Dutch catalogue and its pending additions merged.

The log: Leiden's seeded newcomers (profiles, consents, assignments, plans, progress),
Leiden's scheduled pull with its acknowledgements, a consent revoked and the notice
pulled, a scheduled signals walk, and a burst of refused messages; the console is told
office hours no read falls in, so that the findings name events too.
"""

from __future__ import annotations

import contextlib
import random
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway.devtools import console_demo, synthetic
from gateway.devtools.cast import AUDITOR, COA, LEIDEN, PROVIDER, Cast
from gateway.devtools.serverproc import free_port
from gateway.errors import NotAuthorised
from tests.browser.conftest import start_console, stop, wait_for_first_round
from tests.e2e.auditlogs import Log, start_log


@dataclass
class World:
    """The auditor's console over a log of every kind, and what a test needs of it."""

    url: str
    token: str
    process: subprocess.Popen[str]
    log: Log
    v_number: str
    """a newcomer with a long trail (profile, consent, its withdrawal, pulls)"""

    def stop(self) -> None:
        stop(self.process)
        self.log.server.stop()


def _send(
    cast: Cast, sender: str, type_: str, person: synthetic.Newcomer, body: dict[str, Any]
) -> None:
    client = cast.client(sender)
    payload = synthetic.payload(type_, body, sender=sender, recipient=LEIDEN, newcomer=person,
                                issued_at=datetime.now(UTC))  # fmt: skip
    client.submit(client.sign(payload))


def _pull(cast: Cast) -> None:
    """Leiden's scheduled pull, each delivery acknowledged."""
    leiden = cast.client(LEIDEN)
    for delivery in leiden.get_json("/v1/inbox", scheduled="true")["deliveries"]:
        leiden.ack(delivery["delivery_id"])


def grow(cast: Cast) -> str:
    """Every kind of entry; the V-number of the newcomer whose consent is revoked."""
    seeded = console_demo.seed(cast, count=4)
    person = seeded.with_consent[0]
    now = datetime.now(UTC)
    declaration = synthetic.consent_declaration(
        LEIDEN, [COA, PROVIDER], ["family", "education"], now - timedelta(minutes=1)
    )
    _send(cast, LEIDEN, "consent-declaration", person, declaration)
    _pull(cast)
    withdrawal = {"declaration_id": declaration["declaration_id"],
                  "withdrawn_at": synthetic.utc(now), "by": "recording-party"}  # fmt: skip
    _send(cast, LEIDEN, "consent-withdrawal", person, withdrawal)
    _pull(cast)
    cast.client(LEIDEN).get_json("/v1/signals", scheduled="true")
    coa, rng = cast.client(COA), random.Random(34_000)
    for _ in range(12):  # refused, signed: COA may not assign a provider
        body = synthetic.provider_assignment(PROVIDER, now)
        stranger = synthetic.Newcomer.make(rng)
        payload = synthetic.payload("provider-assignment", body, sender=COA, recipient=LEIDEN,
                                    newcomer=stranger, issued_at=now)  # fmt: skip
        with contextlib.suppress(NotAuthorised):
            coa.submit(coa.sign(payload))
    return person.v_number


def world(folder: Path) -> World:
    log = start_log(folder)
    try:
        v_number = grow(log.cast)
        port = free_port()
        process, token = start_console(
            log.server.url, AUDITOR, log.auditor_key(), "auditor", "console",
            "--data", str(folder / "data"),
            "--port", str(port), "--interval", "3600", "--office-hours", "00:00-00:01",
            "--checkpoint-interval", "1",
        )  # fmt: skip
        wait_for_first_round(process, [], prefix="verify:")
    except BaseException:
        log.server.stop()
        raise
    return World(f"http://127.0.0.1:{port}", token, process, log, v_number)
