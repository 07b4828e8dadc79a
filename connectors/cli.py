"""``gateway connect <party> …``: the connectors as commands each party runs.

Every command takes the party's gateway URL, OIN and private JWK from
options or from the environment (``GATEWAY_URL``, ``GATEWAY_OIN``,
``GATEWAY_KEY``), so a scheduled job needs no secrets on its command line.

Exit status: 0 when everything went through; 1 when some rows were refused
or could not be read (the rest went through); 2 when the run stopped early
(gateway away too long, our key refused; run it again to resume) or the
audit log does not verify. Imports no Flask.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from connectors import actions_cli
from connectors.auditor_cli import auditor
from connectors.client import GatewayClient
from connectors.options import (
    DefaultGroup,
    DomainErrorGroup,
    LazyGroup,
    party_options,
    unreachable,
)
from connectors.records_cli import consents
from connectors.regie_cli import duo_export, signals


@click.group(cls=DomainErrorGroup)
def connect() -> None:
    """The connectors each party runs: coa, provider, municipality, auditor."""


# -- sending parties -----------------------------------------------------------------

_file_argument = click.argument(
    "source", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
_receipts_option = click.option(
    "--receipts",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="receipts file (JSON Lines), kept to resume; default: SOURCE's name + "
    ".receipts.jsonl in the current folder",
)
_workers_option = click.option(
    "--workers", default=4, show_default=True, type=click.IntRange(1, 32), help="parallel sends"
)
_progress_option = click.option(
    "--progress/--no-progress", default=None, help="progress bar (default: on a terminal)"
)


def _finish(summary: Any) -> None:
    for line in summary.lines():
        click.echo(line)
    sys.exit(2 if summary.stopped else 1 if summary.failed else 0)


def _sending_command(
    name: str, help_text: str, send: Callable[..., Any], group: click.Group | None = None
) -> None:
    """``gateway connect coa|provider SOURCE``: the same options, another message type."""

    @(group or connect).command(name, help=help_text)
    @_file_argument
    @_receipts_option
    @_workers_option
    @_progress_option
    @party_options
    def command(
        source: Path,
        receipts: Path | None,
        workers: int,
        progress: bool | None,
        client: GatewayClient,
    ) -> None:
        _finish(send(client, source, receipts=receipts, workers=workers, progress=progress))


def _send_export(*args: Any, **kwargs: Any) -> Any:
    from connectors.coa import send_export

    return send_export(*args, **kwargs)


def _send_reports(*args: Any, **kwargs: Any) -> Any:
    from connectors.provider import send_reports

    return send_reports(*args, **kwargs)


_sending_command(
    "coa", "Send a COA export (CSV or JSON Lines) as handover profiles; resumable.", _send_export
)


@connect.group("provider", cls=DefaultGroup, default_command="send")
def provider() -> None:
    """A provider: send progress reports (``provider SOURCE`` is ``provider send SOURCE``),
    pull the briefs of the plans of your newcomers."""


_sending_command(
    "send",
    "Send progress reports: an export (CSV, JSON Lines) or one report (.json); resumable.",
    _send_reports,
    provider,
)


# -- municipality --------------------------------------------------------------------


@connect.group("municipality", cls=LazyGroup, lazy={"console": "connectors.console.command"})
def municipality() -> None:
    """Pull the inbox into the case system; record consent, assignments and plans; see
    your newcomers' signals; write DUO's requests."""


municipality.add_command(consents)
municipality.add_command(actions_cli.assign)
municipality.add_command(actions_cli.plan)
municipality.add_command(actions_cli.declare)
municipality.add_command(actions_cli.withdraw)
municipality.add_command(signals)
municipality.add_command(duo_export)


def _pull_command(
    group: click.Group, help_text: str, names: Callable[[dict[str, Any]], str]
) -> None:
    """``pull`` for a municipality (deliveries) and for a provider (briefs): the same loop."""

    @group.command("pull", help=help_text)
    @click.option(
        "--out",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="folder for the deliveries (one JSON file each)",
    )
    @click.option("--webhook", default=None, help="or: your system's local URL to POST each to")
    @click.option("--follow", is_flag=True, help="keep pulling every --interval seconds")
    @click.option("--interval", default=60.0, show_default=True, type=click.FloatRange(1, 86400))
    @click.option(
        "--rounds", default=None, type=click.IntRange(1), help="with --follow: stop after N"
    )
    @click.option(
        "--lease",
        default=0,
        type=click.IntRange(0, 600),
        help="lease each page for this many seconds, for several pullers side by side",
    )
    @party_options
    def command(
        out: Path | None,
        webhook: str | None,
        follow: bool,
        interval: float,
        rounds: int | None,
        lease: int,
        client: GatewayClient,
    ) -> None:
        from connectors import municipality as m

        if (out is None) == (webhook is None):
            raise click.UsageError("give exactly one of --out and --webhook")
        sink = m.folder_sink(out, names) if out is not None else m.webhook_sink(str(webhook))

        def report(result: m.PullResult) -> None:
            withheld = ", ".join(f"{k}: {v}" for k, v in sorted(result.withheld.items()))
            again = "handed out again after a consent (written over the earlier files)"
            click.echo(
                f"{datetime.now(UTC):%H:%M:%S} new: {result.written}, already kept: "
                f"{result.already_there}, acknowledged: {result.acknowledged}; "
                f"withheld: {withheld or 'none'}"
                + (f"; withdrawal notices acted on: {result.notices}" if result.notices else "")
                + (f"; {again}: {result.again}" if result.again else "")
            )

        if follow:
            m.follow(
                client,
                sink,
                interval=interval,
                rounds=rounds,
                report=report,
                unreachable=unreachable,
                lease=lease,
            )
        else:
            report(m.pull_once(client, sink, lease=lease))


def _delivery_file(delivery: dict[str, Any]) -> str:
    from connectors.municipality import delivery_file

    return delivery_file(delivery)


def _brief_file(delivery: dict[str, Any]) -> str:
    from connectors.municipality import brief_file

    return brief_file(delivery)


_pull_command(
    municipality, "Verify, keep, then acknowledge every delivery in the inbox.", _delivery_file
)
_pull_command(
    provider,
    "Verify, keep, then acknowledge every brief of a plan in your inbox.",
    _brief_file,
)


connect.add_command(auditor)
