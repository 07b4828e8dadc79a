"""``gateway connect auditor console``: the auditor's console on this machine.

Verifies the log at start and then every ``--interval`` seconds (and when
asked), into its own SQLite copy; serves the log browser, the trails and
the anomalies on 127.0.0.1 behind a per-start token (``web``).
"""

from __future__ import annotations

import secrets
import sys
import threading
from pathlib import Path

import click

from connectors.auditor.console.anomalies import OfficeHours
from connectors.auditor.console.auditlog import AuditStore, sync
from connectors.auditor.console.views import AuditorConsole, blueprint, local_time, say, words
from connectors.auditor.witnessed import policy_option, read_policy
from connectors.common.client import GatewayClient
from connectors.consoles import web
from connectors.consoles.options import console_options
from connectors.consoles.web import console_app


def _every(console: AuditorConsole, interval: float, stop: threading.Event) -> None:
    while not stop.is_set():
        verdict = sync(console.client, console.store, console.policy)
        said = f"ok up to checkpoint {verdict.seq}" if verdict.ok else "NOT VERIFIED: "
        click.echo(f"verify: {said}{'' if verdict.ok else verdict.problem}", err=not verdict.ok)
        stop.wait(interval)


def serve(console: AuditorConsole, port: int, interval: float) -> None:
    halt = threading.Event()
    worker = threading.Thread(target=_every, args=(console, interval, halt), daemon=True)

    def stop() -> None:
        halt.set()
        worker.join(timeout=30)
        console.store.close()

    app = console_app(console, [blueprint], words=words, local_time=local_time, say=say)
    web.serve(app, console, port, "auditor console", start=worker.start, stop=stop)


@click.command("console")
@console_options(
    data="auditor-console",
    data_help="folder for the console's copy of the log",
    port=8766,
    interval=60.0,
    interval_help="seconds between verifications",
    own=(
        click.option(
            "--office-hours",
            default=None,
            metavar="HH:MM-HH:MM",
            help="the deployment's office hours (Monday to Friday, Dutch time), for the "
            "reads-outside-office-hours view",
        ),
        click.option(
            "--checkpoint-interval",
            default=60.0,
            show_default=True,
            type=click.FloatRange(1, 86400),
            help="the checkpoint interval the deployment promises "
            "(GATEWAY_CHECKPOINT_INTERVAL_SECONDS)",
        ),
        policy_option,
    ),
)
def console(
    data: Path,
    port: int,
    interval: float,
    office_hours: str | None,
    checkpoint_interval: float,
    policy_path: Path | None,
    client: GatewayClient,
) -> None:
    """The auditor's console in the browser: the log read in words, each entry proven
    included, a newcomer's trail, and the anomalies an auditor looks for."""
    try:
        hours = OfficeHours.parse(office_hours) if office_hours else None
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--office-hours") from None
    data.mkdir(parents=True, exist_ok=True, mode=0o700)
    party = AuditorConsole(
        client=client,
        token=secrets.token_urlsafe(24),
        store=AuditStore(data / "auditlog.sqlite3"),
        hours=hours,
        interval=checkpoint_interval,
        policy=read_policy(policy_path) if policy_path else None,
    )
    try:
        serve(party, port, interval)
    except OSError as error:
        click.echo(f"cannot serve on 127.0.0.1:{port}: {error.strerror}", err=True)
        sys.exit(2)
