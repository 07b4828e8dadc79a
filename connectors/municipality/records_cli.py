"""``gateway connect municipality consents``: the consent records a municipality made.

``withdraw`` needs the declaration's id, which ``declare`` prints once;
``consents`` lists them again, with what each covers and whether it was
withdrawn. (``assign``, ``plan``, ``declare`` and ``withdraw`` are in
``connectors/municipality/actions_cli.py``.)
"""

from __future__ import annotations

import json

import click

from connectors.common.client import GatewayClient
from connectors.common.options import party_options


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
