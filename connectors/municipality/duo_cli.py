"""The municipality's commands towards DUO: write its requests (``duo-export``), send them
(``duo-send``), and ask DUO the facts behind its notifications (``duo-fetch``).

``duo-send`` and ``duo-fetch`` talk to DUO over the municipality's own connection
(its TLS client certificate, the connector's ``--cert``/``--cert-key``/``--ca``), given
DUO's base URL and OIN the same way (``duo_options``); docs/duo.md.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
import requests

from connectors.common.client import GatewayClient
from connectors.common.options import party_options
from connectors.municipality.regie_cli import counted

if TYPE_CHECKING:
    from connectors.municipality.duo_send import Duo, Run

F = TypeVar("F", bound=Callable[..., Any])


def duo_options(command: F) -> F:
    """``--duo-url`` (GATEWAY_DUO_URL) and ``--doel`` (GATEWAY_DUO_OIN), as both commands
    that talk to DUO take them."""
    command = click.option(
        "--doel", envvar="GATEWAY_DUO_OIN", show_envvar=True, required=True, help="DUO's OIN"
    )(command)
    return click.option(
        "--duo-url",
        envvar="GATEWAY_DUO_URL",
        show_envvar=True,
        required=True,
        help="DUO's base URL with the major version, as https://duo.example/v1",
    )(command)


def _connection(duo_url: str, doel: str, client: GatewayClient) -> Duo:
    """DUO at ``duo_url``, over the party's own TLS certificate where it has one.

    Raises click.BadParameter for a ``doel`` that is not an OIN, BadRequest for a URL
    that is not DUO's base URL."""
    from connectors.municipality import duo_send

    if not re.fullmatch(r"[0-9]{20}", doel):
        raise click.BadParameter("DUO's OIN is 20 digits", param_hint="--doel")
    url = duo_send.check_duo_url(duo_url)
    session = client.tls.session() if client.tls else requests.Session()
    return duo_send.Duo(url, client.oin, doel, session)


@click.command("duo-export")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="a new or empty folder, or one an earlier duo-export wrote (run again: the same "
    "requests byte for byte, stale ones removed), for the request files and manifest.json",
)
@click.option("--doel", envvar="GATEWAY_DUO_OIN", show_envvar=True, required=True, help="DUO's OIN")
@party_options
def duo_export(out: Path, doel: str, client: GatewayClient) -> None:
    """Write DUO's PIP and GevolgdeUren requests for your newcomers with a BSN.

    One file per request, named by BSN and what it is (e.g.
    999990019.pip.json), with berichtId, bron and doel beside the body, and
    manifest.json: what was written, and who was left out and why. Sending
    them over Digikoppeling is your own connection to DUO.
    """
    from connectors.municipality import duo

    done = duo.export(client, out, doel)
    requests = sum(len(e["files"]) for e in done.exported)
    click.echo(
        f"{out}: {counted(requests, 'request')} for {counted(len(done.exported), 'newcomer')}; "
        f"left out: {len(done.without_bsn)} without a BSN, "
        f"{len(done.nothing_to_report)} with no plan or hours yet"
        + (f", {len(done.refused)} refused (see manifest.json)" if done.refused else "")
    )


@click.command("duo-send")
@duo_options
@click.option(
    "--state",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="the file of what DUO was told and answered (default: <OIN>.duo.receipts.jsonl "
    "here); run again with the same file to send only what changed",
)
@party_options
def duo_send(duo_url: str, doel: str, state: Path | None, client: GatewayClient) -> None:
    """Send DUO the PIP and GevolgdeUren requests of your newcomers with a BSN.

    What duo-export writes, sent over your TLS client certificate (--cert,
    --cert-key, --ca) to DUO's base URL; only what changed since DUO last
    answered it. Exit 0: all taken; 1: some refused by DUO or failed alone;
    2: stopped (DUO unavailable or not reachable: run again later).
    """
    from connectors.municipality import duo, duo_send

    to = _connection(duo_url, doel, client)
    kept = duo_send.State(state or duo_send.default_state(client), duo.secret_of(client.key),
                          to.url, client.oin, doel)  # fmt: skip
    try:
        run = duo_send.send(client, to, kept)
    finally:
        kept.close()
    click.echo(_sent_summary(run))
    for line in [r.line() for r in run.refusals] + run.failures:
        click.echo(f"  {line}")
    if run.stopped:
        click.echo(f"error: stopped: {run.stopped}; {counted(run.not_sent, 'request')} not sent, "
                   "the newcomers after it not read: run again later", err=True)  # fmt: skip
        sys.exit(2)
    if run.refused or run.failures:
        sys.exit(1)


def _sent_summary(run: Run) -> str:
    held = sum(1 for r in run.refusals if r.earlier)
    return (
        f"DUO: {run.sent} sent, {run.unchanged} unchanged"
        + (f" ({held} of them refused earlier)" if held else "")
        + f", {run.refused} refused, {len(run.failures)} failed, {run.not_sent} not sent; "
        f"{counted(run.without_bsn, 'newcomer')} without a BSN left out"
    )




@click.command("duo-fetch")
@duo_options
@click.option(
    "--answered",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="the file of the notifications answered (default: <OIN>.duo.answered.jsonl here); "
    "run again with the same file to ask only about new ones",
)
@party_options
def duo_fetch(duo_url: str, doel: str, answered: Path | None, client: GatewayClient) -> None:
    """Ask DUO the facts behind its notifications, and hand them to the gateway.

    For each of your newcomers with a BSN and a DUO notification not yet
    answered, the APIs DUO's Gebeurtenissen.md names for that event are asked
    (over your TLS client certificate, as duo-send), and the answers sent to
    the gateway as your duo-facts message: DUO's term end, learnability test,
    exam results, exemptions. Exit 0: all done; 1: some failed alone (their
    newcomers are asked again next run); 2: stopped (DUO unavailable: run
    again later).
    """
    from connectors.municipality import duo_fetch

    kept = duo_fetch.Answered(answered or duo_fetch.default_answered(client))
    run = duo_fetch.fetch(client, _connection(duo_url, doel, client), kept)
    click.echo(
        f"DUO: {counted(run.asked, 'question')} asked, {counted(run.sent, 'duo-facts message')} "
        f"sent; {run.nothing_to_ask} with only events that ask nothing, "
        f"{counted(run.without_bsn, 'newcomer')} without a BSN left out"
    )
    for line in run.refusals + run.failures + run.left_out:
        click.echo(f"  {line}")
    if run.stopped:
        click.echo(f"error: stopped: {run.stopped}; run again later", err=True)
        sys.exit(2)
    if run.failures:
        sys.exit(1)
