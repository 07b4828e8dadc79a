"""``gateway connect municipality signals`` and ``duo-export``: regie from the terminal.

``signals`` is what a client manager asks first: which of my newcomers need
attention, and why. ``duo-export`` writes the requests DUO must receive.
Both read only what the contract gives the municipality of placement, and
each newcomer read is an audited ``regie.read`` at the gateway.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import requests

from connectors.common.client import GatewayClient
from connectors.common.options import party_options
from connectors.municipality.messages import placed_newcomers
from gateway.client.wire import format_time

if TYPE_CHECKING:
    from connectors.municipality.duo_send import Run

_WHY_UNKNOWN = "no basis to see what they need"
_LABELS = {
    "no-plan": "no plan",
    "no-progress": "no report",
    "low-attendance": "low attendance",
    "behind-plan": "behind plan",
    "term-ending": "term ending",
    "dropout-risk": "dropout risk",
}


@click.command("signals")
@click.option("--json", "as_json", is_flag=True, help="every newcomer as JSON, signals or not")
@click.option("--all", "show_all", is_flag=True, help="list newcomers without signals too")
@click.option("--at", default=None, help="a forecast: judge at this later time (RFC 3339)")
@party_options
def signals(as_json: bool, show_all: bool, at: str | None, client: GatewayClient) -> None:
    """The signals of every newcomer placed with you: who needs attention, and why.

    Computed by the gateway now (or --at a later time, on what it holds now)
    from what you may see: a signal that needs a category you have no basis
    to see is shown as "cannot judge", never guessed.
    """
    from connectors.common.options import parse_time

    moment = parse_time(at)
    query = {"at": format_time(moment)} if moment else {}
    rows = list(placed_newcomers(client, **query))
    if as_json:
        click.echo(json.dumps({"newcomers": rows}, indent=2, ensure_ascii=False))
        return
    click.echo(table(rows, show_all))


def table(rows: list[dict[str, Any]], show_all: bool) -> str:
    """A table a person reads: one line per signal, the newcomer named on the first.

    Newcomers with signals are listed (with what cannot be judged for them);
    ``show_all`` lists every newcomer. The first line counts them all.
    """
    noted = [r for r in rows if show_all or r["signals"]]
    counts = Counter(s["code"] for r in rows for s in r["signals"])
    unknown = sum(1 for r in rows if r["unknown_signals"])
    summary = (
        f"{len(rows)} newcomers placed with you; {sum(1 for r in rows if r['signals'])} "
        "with signals"
        + (": " + ", ".join(f"{_LABELS[c]} {n}" for c, n in counts.most_common()) if counts else "")
        + (f"; for {unknown}, some cannot be judged without consent" if unknown else "")
    )
    lines = [textwrap.fill(summary, width=100, subsequent_indent="  ")]
    if not noted:
        return lines[0] + ("" if show_all or not unknown else " (--all lists them)")
    lines += ["", f"{'V-nummer':<11} {'placed':<10} {'signal':<14} why"]
    for row in noted:
        placed = row.get("placed_on") or row["placed_at"][:10]  # COA's own date where given
        first = f"{row['v_number']:<11} {placed:<10}"
        found = [(_LABELS[s["code"]], s["detail"]) for s in row["signals"]]
        if row["unknown_signals"]:
            names = ", ".join(_LABELS[c] for c in row["unknown_signals"])
            found.append(("cannot judge", f"{names}: {_WHY_UNKNOWN}"))
        for i, (label, why) in enumerate(found or [("-", "")]):
            lines.append(f"{first if i == 0 else '':<22} {label:<14} {why}".rstrip())
    return "\n".join(lines)


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
        f"{out}: {_count(requests, 'request')} for {_count(len(done.exported), 'newcomer')}; "
        f"left out: {len(done.without_bsn)} without a BSN, "
        f"{len(done.nothing_to_report)} with no plan or hours yet"
        + (f", {len(done.refused)} refused (see manifest.json)" if done.refused else "")
    )


@click.command("duo-send")
@click.option(
    "--duo-url",
    envvar="GATEWAY_DUO_URL",
    show_envvar=True,
    required=True,
    help="DUO's base URL with the major version, as https://duo.example/v1",
)
@click.option("--doel", envvar="GATEWAY_DUO_OIN", show_envvar=True, required=True, help="DUO's OIN")
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

    if not re.fullmatch(r"[0-9]{20}", doel):
        raise click.BadParameter("DUO's OIN is 20 digits", param_hint="--doel")
    url = duo_send.check_duo_url(duo_url)
    session = client.tls.session() if client.tls else requests.Session()
    kept = duo_send.State(state or duo_send.default_state(client), duo.secret_of(client.key),
                          url, client.oin, doel)  # fmt: skip
    try:
        run = duo_send.send(client, duo_send.Duo(url, client.oin, doel, session), kept)
    finally:
        kept.close()
    click.echo(_sent_summary(run))
    for line in [r.line() for r in run.refusals] + run.failures:
        click.echo(f"  {line}")
    if run.stopped:
        click.echo(f"error: stopped: {run.stopped}; {_count(run.not_sent, 'request')} not sent, "
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
        f"{_count(run.without_bsn, 'newcomer')} without a BSN left out"
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


@click.command("duo-fetch")
@click.option(
    "--duo-url",
    envvar="GATEWAY_DUO_URL",
    show_envvar=True,
    required=True,
    help="DUO's base URL with the major version, as https://duo.example/v1",
)
@click.option("--doel", envvar="GATEWAY_DUO_OIN", show_envvar=True, required=True, help="DUO's OIN")
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
    exam results, exemptions. Exit 0: all done; 1: some failed alone; 2:
    stopped (DUO unavailable: run again later).
    """
    from connectors.municipality import duo_fetch, duo_send

    if not re.fullmatch(r"[0-9]{20}", doel):
        raise click.BadParameter("DUO's OIN is 20 digits", param_hint="--doel")
    url = duo_send.check_duo_url(duo_url)
    session = client.tls.session() if client.tls else requests.Session()
    kept = duo_fetch.Answered(answered or duo_fetch.default_answered(client))
    run = duo_fetch.fetch(client, duo_send.Duo(url, client.oin, doel, session), kept)
    click.echo(
        f"DUO: {_count(run.asked, 'question')} asked, {_count(run.sent, 'duo-facts message')} "
        f"sent; {run.nothing_to_ask} with only events that ask nothing, "
        f"{_count(run.without_bsn, 'newcomer')} without a BSN left out"
    )
    for line in run.refusals + run.failures + run.left_out:
        click.echo(f"  {line}")
    if run.stopped:
        click.echo(f"error: stopped: {run.stopped}; run again later", err=True)
        sys.exit(2)
    if run.failures:
        sys.exit(1)
