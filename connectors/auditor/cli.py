"""``gateway connect auditor …`` and ``gateway audit verify``: the auditor's commands.

Exit status 2 when the log does not verify (or the run stopped early).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from connectors.auditor.witnessed import Witnessed, policy_option
from connectors.common.client import GatewayClient
from connectors.common.options import LazyGroup, party_options, unreachable
from gateway.errors import GatewayError


@click.group(
    "auditor",
    cls=LazyGroup,
    lazy={
        "console": "connectors.auditor.console.command",
        "witness": "connectors.auditor.witness.command",
    },
)
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
@policy_option
@party_options
def auditor_watch(
    state_path: Path,
    interval: float,
    rounds: int | None,
    once: bool,
    samples: int,
    policy_path: Path | None,
    client: GatewayClient,
) -> None:
    """Every --interval: check the newest checkpoint's signature and consistency (and, with
    --policy, that the witnesses vouch for it)."""
    from connectors.auditor.leaves import LogMismatch
    from connectors.auditor.verify import Watched, watch
    from connectors.auditor.witnessed import read_policy

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
            + (f"; {witnessed_words(seen.witnessed)}" if seen.witnessed else "")
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
            policy=read_policy(policy_path) if policy_path else None,
        )
    except LogMismatch as mismatch:
        click.echo(f"NOT VERIFIED: {mismatch.detail}", err=True)
        sys.exit(2)
    except GatewayError as error:
        click.echo(f"NOT VERIFIED: the gateway answered {error.code}: {error.detail}", err=True)
        sys.exit(2)


@auditor.command("verify")
@click.option(
    "--state",
    "state_path",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="remembers the last verified checkpoint between runs",
)
@policy_option
@party_options
def auditor_verify(
    state_path: Path | None, policy_path: Path | None, client: GatewayClient
) -> None:
    """Verify the whole log: every entry, every checkpoint, the proofs (and, with --policy,
    that the witnesses vouch for it)."""
    from connectors.auditor.leaves import LogMismatch
    from connectors.auditor.verify import verify_log
    from connectors.auditor.witnessed import read_policy

    policy = read_policy(policy_path) if policy_path else None
    try:
        result = verify_log(client, state_path, policy=policy)
    except LogMismatch as mismatch:
        click.echo(f"NOT VERIFIED: {mismatch.detail}", err=True)
        sys.exit(2)
    except GatewayError as error:  # the gateway refused to be read (a held log: log-held)
        click.echo(f"NOT VERIFIED: the gateway answered {error.code}: {error.detail}", err=True)
        sys.exit(2)
    click.echo(
        f"verified: {result.entries} entries, {result.checkpoints} checkpoints, "
        f"tree size {result.tree_size}, root {result.root_hash}"
    )
    if result.witnessed is not None:
        click.echo(witnessed_words(result.witnessed))


def witnessed_words(seen: Witnessed) -> str:
    """What the witnesses vouched for, in a line."""
    asked = f"; asked directly: {', '.join(seen.witnesses_asked)}" if seen.witnesses_asked else ""
    return (
        f"witnessed: tree size {seen.tree_size} cosigned by {', '.join(seen.cosigners) or 'none'}"
        f" (the policy's quorum){asked}"
    )
