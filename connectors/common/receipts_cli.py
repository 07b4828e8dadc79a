"""``gateway connect receipts void-lost``: after a restore, send again what it lost.

A restore from a backup loses the messages taken after it; its report names
their receipts (``gateway restore --receipts FILE --report REPORT``). The
sender's receipts file still holds those receipts, so its next run would
skip their rows. This voids them in the file (a line each, nothing
rewritten), and the next run of the same command sends them again; the
restored gateway takes them anew with new receipts. Any party's file.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from connectors.common.receipts import void_lost


@click.group()
def receipts() -> None:
    """A sending run's receipts file, after the gateway was restored."""


@receipts.command("void-lost")
@click.argument("receipts_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--report", "report_path", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="the restore's report (JSON), written with --receipts")  # fmt: skip
def void_lost_command(receipts_file: Path, report_path: Path) -> None:
    """Void the receipts REPORT names lost, so the next run sends their rows again."""
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
        voided = void_lost(receipts_file, report)
    except (ValueError, OSError) as error:
        raise click.ClickException(f"{report_path}: {error}") from None
    click.echo(f"{len(voided)} receipts voided in {receipts_file}: the next run sends their "
               "rows again")  # fmt: skip
    for message_id in voided[:20]:
        click.echo(f"  {message_id}")
    if len(voided) > 20:
        click.echo(f"  … and {len(voided) - 20} more")
