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

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from connectors.auditor_cli import auditor
from connectors.client import GatewayClient
from connectors.options import (
    DefaultGroup,
    DomainErrorGroup,
    LazyGroup,
    parse_time,
    party_options,
    subject_options,
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
            click.echo(
                f"{datetime.now(UTC):%H:%M:%S} new: {result.written}, already kept: "
                f"{result.already_there}, acknowledged: {result.acknowledged}; "
                f"withheld: {withheld or 'none'}"
                + (f"; withdrawal notices acted on: {result.notices}" if result.notices else "")
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


@municipality.command("plan")
@click.argument(
    "plan", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--file",
    "plans_csv",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="or: a CSV of many (one row per plan version, with v_number)",
)
@click.option("--v-number", default=None, help="the newcomer's V-nummer (with PLAN)")
@click.option("--bsn", default=None, help="the newcomer's BSN, if known")
@party_options
def municipality_plan(
    plan: Path | None,
    plans_csv: Path | None,
    v_number: str | None,
    bsn: str | None,
    client: GatewayClient,
) -> None:
    """Send a plan (PIP) version for a newcomer placed with you, from a JSON file.

    The file holds the plan's members (sample: connectors/samples/plan.json);
    without plan_id a new plan is made. A next version takes the same plan_id,
    plan_version + 1, a change_reason and a dated no earlier. With --file,
    a CSV (sample: connectors/samples/plans.csv), each row its own message.
    """
    from connectors import municipality as m

    if plans_csv is not None:
        if plan is not None or v_number is not None:
            raise click.UsageError("give either PLAN with --v-number, or --file")
        _send_plans(client, plans_csv)
        return
    if plan is None or v_number is None:
        raise click.UsageError("give PLAN and --v-number (or --file plans.csv)")
    body = json.loads(plan.read_text(encoding="utf-8"))
    if not isinstance(body, dict):
        raise click.BadParameter("the plan file must hold a JSON object", param_hint="PLAN")
    plan_id, submitted = m.send_plan(client, body, m.subject_of(v_number, bsn))
    click.echo(
        f"plan {plan_id} version {body.get('plan_version', 1)} recorded "
        f"(audit index {_index(submitted)})"
    )


@municipality.command("declare")
@click.argument("declaration", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--form",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="the scan of the signed form (only its SHA-256 is sent)",
)
@subject_options
@party_options
def municipality_declare(
    declaration: Path,
    form: Path,
    v_number: str,
    bsn: str | None,
    client: GatewayClient,
) -> None:
    """Record a consent declaration from a JSON file (see connectors/samples)."""
    from connectors import municipality as m
    from gateway.domain.wire import strictjson

    body = strictjson.loads_object(declaration.read_bytes())
    declaration_id, submitted = m.declare(client, body, m.subject_of(v_number, bsn), form)
    click.echo(f"declaration {declaration_id} recorded (audit index {_index(submitted)})")


@municipality.command("withdraw")
@click.option("--declaration-id", required=True)
@click.option("--at", default=None, help="effective time, RFC 3339 (default now)")
@click.option(
    "--by",
    type=click.Choice(["data-subject", "recording-party"]),
    default="data-subject",
    show_default=True,
    help="the newcomer withdrew, or the municipality revoked",
)
@subject_options
@party_options
def municipality_withdraw(
    declaration_id: str,
    at: str | None,
    by: str,
    v_number: str,
    bsn: str | None,
    client: GatewayClient,
) -> None:
    """Record the withdrawal of a consent declaration, effective at once (or --at)."""
    from connectors import municipality as m

    submitted = m.withdraw(
        client, declaration_id, m.subject_of(v_number, bsn), at=parse_time(at), by=by
    )
    click.echo(f"withdrawal of {declaration_id} recorded (audit index {_index(submitted)})")


@municipality.command("assign")
@click.option("--provider", "provider_oin", default=None, help="the provider's OIN")
@click.option(
    "--route",
    type=click.Choice(["b1-route", "onderwijsroute", "z-route"]),
    default=None,
)
@click.option("--from", "valid_from", default=None, help="RFC 3339 (default now)")
@click.option("--until", "valid_until", default=None, help="RFC 3339 (default open)")
@click.option(
    "--file",
    "assignments_csv",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="or: a CSV of many (v_number, bsn, provider, route, valid_from, valid_until)",
)
@click.option("--v-number", default=None, help="the newcomer's V-nummer")
@click.option("--bsn", default=None, help="the newcomer's BSN, if known")
@party_options
def municipality_assign(
    provider_oin: str | None,
    route: str | None,
    valid_from: str | None,
    valid_until: str | None,
    assignments_csv: Path | None,
    v_number: str | None,
    bsn: str | None,
    client: GatewayClient,
) -> None:
    """Assign a newcomer to a provider, so its progress reports may come in; with
    --file, many from a CSV (exit 1 when some rows were refused)."""
    from connectors import municipality as m
    from connectors.records_cli import assign_file

    if assignments_csv is not None:
        if v_number or provider_oin or route:
            raise click.UsageError("give either --file, or --v-number with --provider and --route")
        sys.exit(1 if assign_file(client, assignments_csv) else 0)
    if not (v_number and provider_oin and route):
        raise click.UsageError("give --v-number, --provider and --route (or --file)")
    assignment_id, submitted = m.assign(
        client,
        provider_oin,
        m.subject_of(v_number, bsn),
        route=route,
        valid_from=parse_time(valid_from) or datetime.now(UTC),
        valid_until=parse_time(valid_until),
    )
    click.echo(f"assignment {assignment_id} recorded (audit index {_index(submitted)})")


def _send_plans(client: GatewayClient, source: Path) -> None:
    from connectors.plans import send_plans

    run = send_plans(client, source)
    for line, plan_id in run.sent:
        click.echo(f"line {line}: plan {plan_id} recorded")
    for line, why in run.refused:
        click.echo(f"line {line}: refused: {why}")
    click.echo(f"plans: {len(run.sent)} recorded, {len(run.refused)} refused")
    sys.exit(1 if run.refused else 0)


def _index(submitted: Any) -> Any:
    return submitted.receipt.get("audit", {}).get("index")


connect.add_command(auditor)
