"""``gateway connect auditor …`` and ``gateway audit verify``: the auditor's commands.

Exit status 2 when the log does not verify (or the run stopped early).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from connectors.common.client import GatewayClient
from connectors.common.options import LazyGroup, party_options, unreachable


@click.group("auditor", cls=LazyGroup, lazy={"console": "connectors.auditor.console.command"})
def auditor() -> None:
    """Check the gateway's audit log without trusting the gateway."""


_state_option = click.option(
    "--state",
    "state_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="remembers the last verified checkpoint between runs",
)


@auditor.command("watch")
@_state_option
@click.option("--interval", default=60.0, show_default=True, type=click.FloatRange(1, 86400))
@click.option("--rounds", default=None, type=click.IntRange(1), help="stop after N rounds")
@click.option("--once", is_flag=True, help="one round, then stop (the same as --rounds 1)")
@click.option(
    "--samples",
    default=8,
    show_default=True,
    type=click.IntRange(0, 1000),
    help="new entries checked by inclusion proof per round",
)
@party_options
def auditor_watch(
    state_path: Path,
    interval: float,
    rounds: int | None,
    once: bool,
    samples: int,
    client: GatewayClient,
) -> None:
    """Every --interval: check the newest checkpoint's signature and consistency."""
    from connectors.auditor.leaves import LogMismatch
    from connectors.auditor.verify import Watched, watch

    if once:
        rounds = 1

    def report(seen: Watched) -> None:
        at = f"{datetime.now(UTC):%H:%M:%S}"
        if seen.first:
            click.echo(
                f"{at} first checkpoint, signature good: tree size {seen.tree_size}, root "
                f"{seen.root_hash[:16]}…; nothing to compare it with yet (kept in "
                f"{state_path}; `gateway connect auditor verify` checks the whole log)"
            )
            return
        click.echo(
            f"{at} consistent: tree size {seen.tree_size} "
            f"(+{seen.new_entries}, {seen.sampled} sampled), root {seen.root_hash[:16]}…"
        )

    try:
        watch(
            client,
            state_path,
            interval=interval,
            rounds=rounds,
            samples=samples,
            report=report,
            unreachable=unreachable,
        )
    except LogMismatch as mismatch:
        click.echo(f"NOT VERIFIED: {mismatch.detail}", err=True)
        sys.exit(2)


@auditor.command("verify")
@click.option(
    "--state",
    "state_path",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="remembers the last verified checkpoint between runs",
)
@party_options
def auditor_verify(state_path: Path | None, client: GatewayClient) -> None:
    """Verify the whole log: every entry, every checkpoint, the proofs."""
    from connectors.auditor.leaves import LogMismatch
    from connectors.auditor.verify import verify_log

    try:
        result = verify_log(client, state_path)
    except LogMismatch as mismatch:
        click.echo(f"NOT VERIFIED: {mismatch.detail}", err=True)
        sys.exit(2)
    click.echo(
        f"verified: {result.entries} entries, {result.checkpoints} checkpoints, "
        f"tree size {result.tree_size}, root {result.root_hash}"
    )
