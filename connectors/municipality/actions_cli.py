"""``gateway connect municipality assign|plan|declare|withdraw``: records safe to repeat.

Each command keeps its receipts in the party's receipts file
(``<OIN>.receipts.jsonl`` in the current folder, or ``--receipts``), keyed by
what the action means (``connectors/municipality/actions.py``): run again, the same
command or file sends nothing and says "already receipted"; a changed row
sends the change. A file's rows are named by their spreadsheet line; a
refused row never stops the others, an unreachable gateway or a refused key
stops the run (exit 2; run it again to resume).
"""

from __future__ import annotations

import functools
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

import click

from connectors.common.client import GatewayClient, TransportError
from connectors.common.options import parse_time, party_options, subject_options
from connectors.common.rows import as_dict, read_csv
from connectors.municipality import actions
from connectors.municipality.ledger import EARLIER, RECEIPTED, Done, Ledger
from gateway.errors import GatewayError, SenderMismatch, ServiceUnavailable, Unauthenticated

ASSIGN_COLUMNS = ("v_number", "bsn", "provider", "route", "valid_from", "valid_until", "status")
_REQUIRED = {"v_number", "provider", "route"}

receipts_option = click.option(
    "--receipts",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="receipts file of your records (JSON Lines), so a repeat sends nothing; "
    "default: <your OIN>.receipts.jsonl in the current folder",
)
_file_option = click.Path(exists=True, dir_okay=False, path_type=Path)
_FATAL = (TransportError, ServiceUnavailable, Unauthenticated, SenderMismatch)
"""Errors that would fail every following row alike: stop, and resume later"""


def _ledger(client: GatewayClient, receipts: Path | None) -> Ledger:
    return Ledger(client, receipts or Ledger.default_path(client))


Step = Callable[[], Done]
"""One row's action, run when its turn comes"""


def run_rows(rows: Iterable[tuple[int, Step | str]], noun: str) -> int:
    """Run each row's action in turn, say each outcome by line; the exit status.

    A row given as a string was refused before anything was sent (that is
    the reason). Errors that would fail every following row alike stop.
    """
    counts: Counter[str] = Counter()
    stopped = None
    for line, step in rows:
        if isinstance(step, str):
            counts["refused"] += 1
            click.echo(f"line {line}: refused: {step}")
            continue
        try:
            done = step()
        except _FATAL as error:
            stopped = f"{error.code}: {error.detail}"
            break
        except GatewayError as error:
            counts["refused"] += 1
            click.echo(f"line {line}: refused: {error.code}: {error.detail}")
            continue
        counts[done.outcome if done.outcome in (RECEIPTED, EARLIER) else "recorded"] += 1
        click.echo(f"line {line}: {done.line()}")
    summary = f"{noun}: {counts['recorded']} recorded, {counts['refused']} refused"
    if counts[RECEIPTED]:
        summary += f", {counts[RECEIPTED]} already receipted (nothing sent)"
    if counts[EARLIER]:
        summary += f", {counts[EARLIER]} already at the gateway (nothing sent)"
    click.echo(summary)
    if stopped:
        click.echo(f"STOPPED: {stopped}; run the same command again to resume")
        return 2
    return 1 if counts["refused"] else 0


@click.command("assign")
@click.option("--provider", "provider_oin", default=None, help="the provider's OIN")
@click.option("--route", type=click.Choice(["b1-route", "onderwijsroute", "z-route"]), default=None)
@click.option("--from", "valid_from", default=None, help="RFC 3339 (default now, the first time)")
@click.option("--until", "valid_until", default=None, help="RFC 3339 (default open)")
@click.option("--ended", is_flag=True, help="end the assignment (status ended)")
@click.option("--file", "assignments_csv", default=None, type=_file_option,
              help=f"or: a CSV of many ({', '.join(ASSIGN_COLUMNS)}; status optional)")  # fmt: skip
@click.option("--v-number", default=None, help="the newcomer's V-nummer")
@click.option("--bsn", default=None, help="the newcomer's BSN, if known")
@receipts_option
@party_options
def assign(
    provider_oin: str | None, route: str | None, valid_from: str | None,
    valid_until: str | None, ended: bool, assignments_csv: Path | None, v_number: str | None,
    bsn: str | None, receipts: Path | None, client: GatewayClient,
) -> None:  # fmt: skip
    """Assign a newcomer to a provider, so its progress reports may come in; with
    --file, many from a CSV (exit 1 when some rows were refused). The same again
    sends nothing; a changed route, end or status changes the same assignment."""
    if assignments_csv is not None:
        if v_number or provider_oin or route:
            raise click.UsageError("give either --file, or --v-number with --provider and --route")
        with _ledger(client, receipts) as ledger:
            status = run_rows(_assignment_rows(ledger, assignments_csv), "assignments")
        sys.exit(status)
    if not (v_number and provider_oin and route):
        raise click.UsageError("give --v-number, --provider and --route (or --file)")
    wanted = actions.Assignment(
        actions.subject_of(v_number, bsn), provider_oin, route, parse_time(valid_from),
        parse_time(valid_until), "ended" if ended else None,
    )  # fmt: skip
    with _ledger(client, receipts) as ledger:
        click.echo(actions.assign(ledger, wanted).line())


def _assignment_rows(ledger: Ledger, source: Path) -> Iterable[tuple[int, Step | str]]:
    header, rows = read_csv(source)
    missing = _REQUIRED - set(header)
    if missing:
        raise click.BadParameter(
            f"{source}: columns missing: {', '.join(sorted(missing))} "
            f"(the columns are {', '.join(ASSIGN_COLUMNS)})",
            param_hint="--file",
        )
    for row in rows:
        if row.problem is not None:
            yield row.line, row.problem
            continue
        try:
            wanted = _assignment(as_dict(header, row))
        except GatewayError as error:
            yield row.line, f"{error.code}: {error.detail}"
            continue
        yield row.line, functools.partial(actions.assign, ledger, wanted)


def _assignment(cells: dict[str, str]) -> actions.Assignment:
    """A row as an assignment. Raises GatewayError naming the column (never the value)."""
    return actions.Assignment(
        actions.subject_of(cells.get("v_number", ""), cells.get("bsn") or None),
        cells.get("provider", ""),
        cells.get("route", ""),
        _time(cells.get("valid_from"), "valid_from"),
        _time(cells.get("valid_until"), "valid_until"),
        cells.get("status") or None,
    )


def _time(value: str | None, column: str) -> datetime | None:
    from gateway.client import wire

    if not value:
        return None
    try:
        return wire.parse_time(value)
    except GatewayError as error:
        raise type(error)(f"{column}: {error.detail}") from None


@click.command("plan")
@click.argument("plan", required=False, type=_file_option)
@click.option("--file", "plans_csv", default=None, type=_file_option,
              help="or: a CSV of many (one row per plan version, with v_number)")  # fmt: skip
@click.option("--v-number", default=None, help="the newcomer's V-nummer (with PLAN)")
@click.option("--bsn", default=None, help="the newcomer's BSN, if known")
@click.option("--change-reason", type=click.Choice(actions.CHANGE_REASONS), default=None,
              help="why the plan in force changes (a change needs one)")  # fmt: skip
@receipts_option
@party_options
def plan(
    plan: Path | None, plans_csv: Path | None, v_number: str | None, bsn: str | None,
    change_reason: str | None, receipts: Path | None, client: GatewayClient,
) -> None:  # fmt: skip
    """Send the plan (PIP) of a newcomer placed with you, from a JSON file.

    The file holds the plan's members (sample: connectors/samples/plan.json).
    The first time it is the newcomer's plan, version 1; the same file again
    sends nothing; a changed file is the next version of the plan in force,
    with --change-reason (or change_reason in the file). With --file, a CSV
    (sample: connectors/samples/plans.csv), each row its own message.
    """
    from gateway.client import wire

    if plans_csv is not None:
        if plan is not None or v_number is not None:
            raise click.UsageError("give either PLAN with --v-number, or --file")
        from connectors.municipality.plans import plan_rows

        with _ledger(client, receipts) as ledger:
            rows = (
                (row.line, row.problem or functools.partial(
                    actions.send_plan, ledger, row.plan, row.subject, change_reason))
                for row in plan_rows(plans_csv)
            )  # fmt: skip
            sys.exit(run_rows(rows, "plans"))
    if plan is None or v_number is None:
        raise click.UsageError("give PLAN and --v-number (or --file plans.csv)")
    body = wire.loads_object(plan.read_bytes())
    with _ledger(client, receipts) as ledger:
        done = actions.send_plan(ledger, body, actions.subject_of(v_number, bsn), change_reason)
    click.echo(done.line())


@click.command("declare")
@click.argument("declaration", type=_file_option)
@click.option("--form", required=True, type=_file_option,
              help="the scan of the signed form (only its SHA-256 is sent)")  # fmt: skip
@subject_options
@receipts_option
@party_options
def declare(
    declaration: Path, form: Path, v_number: str, bsn: str | None, receipts: Path | None,
    client: GatewayClient,
) -> None:  # fmt: skip
    """Record a consent declaration from a JSON file (see connectors/samples); the same
    declaration again sends nothing."""
    from gateway.client import wire

    body = wire.loads_object(declaration.read_bytes())
    with _ledger(client, receipts) as ledger:
        click.echo(actions.declare(ledger, body, actions.subject_of(v_number, bsn), form).line())


@click.command("withdraw")
@click.option("--declaration-id", required=True)
@click.option("--at", default=None, help="effective time, RFC 3339 (default now)")
@click.option("--by", type=click.Choice(["data-subject", "recording-party"]),
              default="data-subject", show_default=True,
              help="the newcomer withdrew, or the municipality revoked")  # fmt: skip
@subject_options
@receipts_option
@party_options
def withdraw(
    declaration_id: str, at: str | None, by: str, v_number: str, bsn: str | None,
    receipts: Path | None, client: GatewayClient,
) -> None:  # fmt: skip
    """Record the withdrawal of a consent declaration, effective at once (or --at); a
    withdrawal receipted before is not sent again."""
    subject = actions.subject_of(v_number, bsn)
    with _ledger(client, receipts) as ledger:
        done = actions.withdraw(ledger, declaration_id, subject, at=parse_time(at), by=by)
    click.echo(done.line())
