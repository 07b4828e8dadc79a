"""The commands two parties share: sending a file of rows (COA, a provider) and pulling
the inbox into a folder or a webhook (a municipality's deliveries, a provider's briefs).

Each party's ``cli`` makes its own from these, so both run the same options
and the same loop, and say the same words. Exit status: 0 when everything
went through; 1 when some rows were refused or could not be read (the rest
went through); 2 when the run stopped early (gateway away too long, our key
refused; run it again to resume).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from connectors.common import inbox, sinks
from connectors.common.client import GatewayClient
from connectors.common.issuers import Pins, issuer_keys_option
from connectors.common.options import party_options, unreachable

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

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


def sending_command(
    name: str, help_text: str, send: Callable[..., Any], own: Sequence[Decorator] = ()
) -> click.Command:
    """``gateway connect coa SOURCE``, ``… provider send SOURCE``: the same options,
    another message type (``send`` is imported when the command runs); ``own``: options of
    the party's own (COA's ``--format``), handed to ``send`` by name."""

    def run(
        source: Path,
        receipts: Path | None,
        workers: int,
        progress: bool | None,
        client: GatewayClient,
        **more: Any,
    ) -> None:
        _finish(send(client, source, receipts=receipts, workers=workers, progress=progress, **more))

    decorators: list[Decorator] = [
        _file_argument, _receipts_option, _workers_option, _progress_option, *own, party_options,
    ]  # fmt: skip
    command: Callable[..., Any] = run
    for decorator in reversed(decorators):
        command = decorator(command)
    return click.command(name, help=help_text)(command)


def pull_command(
    help_text: str, names: Callable[[dict[str, Any]], str], *, coa_signed: bool = False
) -> click.Command:
    """``pull`` for a municipality (deliveries) and for a provider (briefs): the same loop,
    files named by ``names``; ``coa_signed``: deliveries may be version-2 profiles, each
    verified against COA's pinned keys too (``--issuer-keys``)."""

    verifying: Decorator = issuer_keys_option if coa_signed else _same

    @click.command("pull", help=help_text)
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
    @click.option(
        "--scheduled",
        is_flag=True,
        help="say this is a scheduled run (cron), not a person's look: the audit log then "
        "says so (--follow always does)",
    )
    @verifying
    @party_options
    def command(
        out: Path | None,
        webhook: str | None,
        follow: bool,
        interval: float,
        rounds: int | None,
        lease: int,
        scheduled: bool,
        client: GatewayClient,
        issuer_keys: Path | None = None,
    ) -> None:
        if (out is None) == (webhook is None):
            raise click.UsageError("give exactly one of --out and --webhook")
        sink = sinks.webhook_sink(str(webhook)) if out is None else sinks.folder_sink(out, names)
        pins = None if issuer_keys is None else Pins(issuer_keys)
        if not follow:
            _report(inbox.pull_once(client, sink, lease=lease, scheduled=scheduled, pins=pins))
            return
        inbox.follow(client, sink, interval=interval, rounds=rounds, report=_report,
                     unreachable=unreachable, lease=lease, pins=pins)  # fmt: skip

    return command


def _same(command: Callable[..., Any]) -> Callable[..., Any]:
    """No option added (a decorator that leaves the command as it is)."""
    return command


def _report(result: inbox.PullResult) -> None:
    """One line a round: what was new, kept before, acknowledged, withheld, acted on, and
    how many version-2 profiles carried COA's own signature, verified here."""
    withheld = ", ".join(f"{k}: {v}" for k, v in sorted(result.withheld.items()))
    again = "handed out again after a consent (written over the earlier files)"
    coa = f"; COA's own signature verified (a pinned key): {result.coa_signed}"
    click.echo(
        f"{datetime.now(UTC):%H:%M:%S} new: {result.written}, already kept: "
        f"{result.already_there}, acknowledged: {result.acknowledged}; "
        f"withheld: {withheld or 'none'}"
        + (f"; withdrawal notices acted on: {result.notices}" if result.notices else "")
        + (f"; {again}: {result.again}" if result.again else "")
        + (coa if result.coa_signed else "")
    )
