"""``gateway connect municipality consents`` and ``assign --file``: a municipality's records.

``withdraw`` needs the declaration's id, which ``declare`` prints once;
``consents`` lists them again, with what each covers and whether it was
withdrawn. ``assign --file`` assigns many newcomers from one CSV, one
message each, every row's outcome said.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from connectors.client import GatewayClient
from connectors.options import party_options
from gateway.domain import message
from gateway.errors import GatewayError

ASSIGN_COLUMNS = ("v_number", "bsn", "provider", "route", "valid_from", "valid_until")


@click.command("consents")
@click.option("--v-number", required=True, help="the newcomer's V-nummer")
@click.option("--json", "as_json", is_flag=True, help="the records as the gateway gives them")
@party_options
def consents(v_number: str, as_json: bool, client: GatewayClient) -> None:
    """The consent declarations and withdrawals you recorded for a newcomer, newest first:
    each declaration's id (for ``withdraw``), what it covers, and if it was withdrawn."""
    records = client.get_json("/v1/consents", v_number=v_number)["consents"]
    if as_json:
        click.echo(json.dumps({"consents": records}, indent=2, ensure_ascii=False))
        return
    withdrawn = {r["declaration_id"]: r for r in records if r["kind"] == "withdrawal"}
    declarations = [r for r in records if r["kind"] == "declaration"]
    if not declarations:
        click.echo("no consent recorded for this newcomer with you")
        return
    for r in declarations:
        ended = withdrawn.get(r["declaration_id"])
        state = f"withdrawn {ended['withdrawn_at']}" if ended else f"until {r['valid_until']}"
        click.echo(f"{r['declaration_id']}  from {r['valid_from']}, {state}")
        click.echo(f"  categories: {', '.join(r['categories'])}")
        click.echo(f"  from: {', '.join(r['sources'])}; purposes: {', '.join(r['purposes'])}")


def assign_file(client: GatewayClient, source: Path) -> int:
    """Assign every row of a CSV (``ASSIGN_COLUMNS``); returns the number refused.

    Rows are named by their line as a spreadsheet shows them (the header is
    line 1); a refused row never stops the others.
    """
    from connectors import municipality as m

    refused = done = 0
    with open(source, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = {"v_number", "provider", "route"} - set(reader.fieldnames or ())
        if missing:
            raise click.BadParameter(
                f"{source}: columns missing: {', '.join(sorted(missing))} "
                f"(the columns are {', '.join(ASSIGN_COLUMNS)})",
                param_hint="--file",
            )
        for line, row in enumerate(reader, 2):
            try:
                valid_from = _time(row.get("valid_from"), "valid_from") or datetime.now(UTC)
                assignment_id, submitted = m.assign(
                    client,
                    (row.get("provider") or "").strip(),
                    m.subject_of((row.get("v_number") or "").strip(), row.get("bsn") or None),
                    route=(row.get("route") or "").strip(),
                    valid_from=valid_from,
                    valid_until=_time(row.get("valid_until"), "valid_until"),
                )
            except GatewayError as error:
                refused += 1
                click.echo(f"line {line}: refused: {error.code}: {error.detail}")
                continue
            done += 1
            click.echo(f"line {line}: assignment {assignment_id} recorded "
                       f"(audit index {submitted.receipt['audit']['index']})")  # fmt: skip
    click.echo(f"assignments: {done} recorded, {refused} refused")
    return refused


def _time(value: Any, column: str) -> datetime | None:
    if not value or not str(value).strip():
        return None
    try:
        return message.parse_time(str(value).strip())
    except GatewayError as error:
        raise type(error)(f"{column}: {error.detail}") from None
