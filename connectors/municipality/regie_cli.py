"""``gateway connect municipality signals`` and ``duo-export``: regie from the terminal.

``signals`` is what a client manager asks first: which of my newcomers need
attention, and why. ``duo-export`` writes the requests DUO must receive.
Both read only what the contract gives the municipality of placement, and
each newcomer read is an audited ``regie.read`` at the gateway.
"""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from typing import Any

import click

from connectors.common.client import GatewayClient
from connectors.common.options import party_options
from connectors.municipality.messages import placed_newcomers
from gateway.client.wire import format_time

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


def counted(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")
