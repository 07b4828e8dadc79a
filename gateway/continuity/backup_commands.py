"""``gateway backup`` and ``gateway restore`` (issue #33): the operator's side of
``gateway.continuity.procedures``, with the report written and said.

Exit status: 0 done (lost entries and receipts, if any, are named in the report), 1 refused
(the error says why; nothing was changed), 2 no instance or wrong use, 3 restored but held:
a witness holds more of the log than the restored database, and the gateway answers
``503 log-held`` until the operator decides (docs/deploy.md).
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from gateway import config
from gateway.errors import ConfigurationError

if TYPE_CHECKING:
    from gateway.service.ports import WitnessCalls

HELD = 3


def _settings() -> config.Settings:
    """The existing instance's settings; without its secrets, one line and exit 2 (a restore
    is verified with the signing key and read with the master key: put them back first)."""
    from gateway import instance

    settings = config.from_env()
    try:
        instance.require(settings.instance, wait=0)
    except ConfigurationError as error:
        click.echo(f"error: {error.detail}", err=True)
        sys.exit(2)
    return settings


@click.command("backup")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def backup(out: Path) -> None:
    """Back up the embedded SQLite database to OUT while the gateway serves (SQLite's online
    backup: one consistent state), check the copy (integrity, and the audit log against its
    newest signed checkpoint) and say so in one line. OUT is 0600 and never overwritten. The
    instance's secrets are not in it: keep them apart. On PostgreSQL, says what to use."""
    from gateway.continuity import procedures  # here: the command line starts without it

    settings = _settings()
    if not settings.is_sqlite:
        click.echo(f"error: {procedures.ON_POSTGRES}", err=True)
        sys.exit(2)
    click.echo(procedures.backup(settings, out).line())


@click.command("restore")
@click.argument("backup", required=False,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))  # fmt: skip
@click.option("--check", "check_only", is_flag=True,
              help="verify and report, change nothing: BACKUP if given, else the instance's "
                   "database as it stands (a restore drill)")  # fmt: skip
@click.option("--in-place", is_flag=True,
              help="the database GATEWAY_DATABASE_URL names was restored by another tool "
                   "(pgBackRest): verify it, ask the witnesses, enter the restore")  # fmt: skip
@click.option("--receipts", "receipt_files", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="a connector's receipts file: which of its receipts the restored log holds "
                   "and which are lost (repeatable)")  # fmt: skip
@click.option("--force", is_flag=True,
              help="replace a database newer than the backup (kept beside it); with "
                   "--in-place, go on while other sessions are connected")  # fmt: skip
@click.option("--report", "report_path", default=None,
              type=click.Path(dir_okay=False, path_type=Path),
              help="the JSON report (default: restore-<time>.json in the instance)")  # fmt: skip
def restore(
    backup: Path | None, check_only: bool, in_place: bool, receipt_files: tuple[Path, ...],
    force: bool, report_path: Path | None,
) -> None:  # fmt: skip
    """Restore the instance's database from BACKUP (a `gateway backup` file, SQLite), checked
    before anything serves it: the log verifies entry by entry against a signed checkpoint
    it holds, with the instance's key; the master key opens its data; the witnesses say what
    they hold (more than the backup: the lost entries are named and the gateway holds intake
    until the operator decides); receipts files are accounted for. The restore is entered in
    the log (log.restored) and a report written. Stop the gateway first."""
    if check_only + in_place > 1 or (in_place and backup) or not (backup or check_only
                                                                   or in_place):  # fmt: skip
        raise click.UsageError("give BACKUP, or --check [BACKUP], or --in-place")
    from gateway.continuity import procedures, report
    from gateway.continuity.restore import Asked, configured_witnesses

    settings = _settings()
    now = datetime.now(UTC)
    kind = "check" if check_only else "restore"
    path = report_path or settings.instance / f"{kind}-{now:%Y%m%dT%H%M%S%fZ}.json"
    _writable(path)  # before anything changes: a report refused after the restore said nothing
    asked = Asked(configured_witnesses(settings), _calls(settings))
    if check_only:
        done = procedures.check(settings, backup, receipt_files)
    elif in_place:
        done = procedures.in_place(settings, asked, receipt_files, force=force, now=now)
    else:
        assert backup is not None
        done = procedures.restore_file(settings, backup, asked, receipt_files, force=force,
                                       now=now)  # fmt: skip
    for line in done.lines():
        click.echo(line)  # said before the file is written: a full disk keeps nothing from it
    report.write(done, path, now)
    click.echo(f"report: {path}")
    if done.held:
        sys.exit(HELD)


def _writable(path: Path) -> None:
    """Raises ConfigurationError when the report could not be written at ``path``."""
    if path.exists() or path.is_symlink():
        raise ConfigurationError(f"{path} exists: give --report a new file (a report is "
                                 "never written over another)")  # fmt: skip
    folder = path.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigurationError(f"cannot write the report in {folder}: give --report a "
                                 "file in a folder this user may write")  # fmt: skip


def _calls(settings: config.Settings) -> WitnessCalls | None:
    """The witnesses over HTTP, where the settings name any."""
    if settings.witness_policy is None:
        return None
    from gateway.witnesscalls import HttpWitnesses

    return HttpWitnesses()


COMMANDS: list[click.Command] = [backup, restore]
"""the commands ``gateway.cli`` adds to ``gateway``"""
