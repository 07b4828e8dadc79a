"""The operator's procedures as the commands run them: a backup taken and checked, a backup
restored, a database checked, a database another tool restored taken up again.

Each starts from the settings (GATEWAY_INSTANCE, GATEWAY_DATABASE_URL) and the instance's
secrets, which must be in place: a restore is verified with the signing key and must be
readable with the master key. The steps themselves are in ``backups`` (SQLite's files),
``logcheck`` and ``restore``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from gateway import config
from gateway.bootstrap import open_engine, storage_of
from gateway.continuity import backups
from gateway.continuity.logcheck import Checked, check_log, check_master_key
from gateway.continuity.report import Report
from gateway.continuity.restore import Asked, enter, opened, signing_keys, verify
from gateway.domain.audit.events import format_time
from gateway.domain.vault import Vault
from gateway.errors import ConfigurationError
from gateway.instance import EMBEDDED_DATABASE, load_secrets
from gateway.storage.restored import LogRows, other_sessions, sqlite_path, tip

ON_POSTGRES = (
    "GATEWAY_DATABASE_URL names a PostgreSQL database, which PostgreSQL's own tools back up "
    "and restore: pgBackRest, with continuous WAL archiving (docs/deploy.md, 'Backups'). "
    "After a restore, run `gateway restore --in-place` before the instances start; for a "
    "restore drill, `gateway restore --check`"
)


@dataclass(frozen=True)
class Taken:
    """A backup written and checked."""

    path: Path
    size_bytes: int
    copy_seconds: float
    """the online copy alone (the time a reader held its snapshot of the live database)"""
    seconds: float
    """the copy, its checks and the rename"""
    checked: Checked

    def line(self) -> str:
        newest, checked = self.checked.newest, self.checked
        point = (f"newest checkpoint size {newest.tree_size} of {format_time(newest.created_at)}"
                 if newest else "no checkpoint (empty log)")  # fmt: skip
        return (
            f"backup {self.path}: {self.size_bytes} bytes; log of {checked.size} entries "
            f"verified, {point}; copied in {self.copy_seconds:.2f} s, checked in "
            f"{self.seconds - self.copy_seconds:.2f} s. The instance's secrets are not in it: "
            "keep them apart (docs/deploy.md, 'Backups')"
        )


def _url(path: Path) -> str:
    return f"sqlite+pysqlite:///{path}"


def _sqlite(settings: config.Settings) -> Path:
    database = sqlite_path(settings.database_url)
    if database is None:
        raise ConfigurationError(ON_POSTGRES)
    return database


def backup(settings: config.Settings, out: Path) -> Taken:
    """The embedded database copied to ``out`` while the gateway serves, checked, renamed into
    place (``backups``). Raises ConfigurationError on PostgreSQL, or when ``out`` exists; what
    ``check_log`` raises when the copy does not verify (then no file is left)."""
    database = _sqlite(settings)
    if out.exists():
        raise ConfigurationError(f"{out} exists; not writing a backup over it")
    if not out.parent.is_dir():
        raise ConfigurationError(f"no folder {out.parent} to write the backup in")
    partial = out.with_name(f".{out.name}.partial")
    backups.discard(partial)
    started = time.monotonic()
    try:
        copied = backups.online_copy(database, partial, settings.sqlite_busy_timeout_ms)
        backups.integrity(partial)
        with opened(settings, _url(partial)) as services:
            store = storage_of(services)
            rows = LogRows(store.engine)
            checked = check_log(rows, store.audit, signing_keys(services))
            # as deploy.md says it does: a backup the master key cannot read is no backup
            check_master_key(rows, Vault(load_secrets(settings.instance).master_keys))
        backups.self_contained(partial)
        backups.finish(partial, out)
    except BaseException:
        backups.discard(partial)
        raise
    return Taken(out, out.stat().st_size, copied, time.monotonic() - started, checked)


def restore_file(
    settings: config.Settings, backup: Path, asked: Asked, receipt_files: Sequence[Path], *,
    force: bool, now: datetime,
) -> Report:  # fmt: skip
    """A SQLite backup put in the place of the instance's database: copied beside it, checked
    there (integrity, migrated to this release, the log verified, the master key tried),
    compared with the database it replaces (a newer one only with ``force``), the witnesses
    asked and the restore entered (``restore.enter``), then renamed into place. Refused while
    a process has the database open. Nothing changes where a check fails."""
    database = _sqlite(settings)
    _not_open(database)
    with backups.alone(database, "restore"):
        staged = backups.stage(backup, database)
        try:
            backups.integrity(staged)
            with opened(settings, _url(staged), upgrade=True) as services:
                report = verify(services, receipt_files)
                _not_newer(settings, database, report.checked, force=force)
                report = enter(services, report, asked, now)
            aside = backups.put_in_place(staged, database, now)
        except BaseException:
            backups.discard(staged)
            raise
    return dataclasses.replace(report, backup=str(backup), database=str(database),
                               replaced=str(aside) if aside else None)  # fmt: skip


def check(settings: config.Settings, backup: Path | None, receipt_files: Sequence[Path]) -> Report:
    """Verify without changing anything: a SQLite backup file (in a copy beside the instance's
    database, which it leaves alone), or the instance's database as it stands."""
    if backup is None:
        with opened(settings, settings.database_url) as services:
            return verify(services, receipt_files)
    beside = sqlite_path(settings.database_url) or settings.instance / EMBEDDED_DATABASE
    with backups.alone(beside, "check"):
        staged = backups.stage(backup, beside, ".checking")
        try:
            backups.integrity(staged)
            with opened(settings, _url(staged), upgrade=True) as services:
                report = verify(services, receipt_files)
        finally:
            backups.discard(staged)
    return dataclasses.replace(report, backup=str(backup), database=str(backup))


def in_place(settings: config.Settings, asked: Asked, receipt_files: Sequence[Path], *,
             force: bool, now: datetime) -> Report:  # fmt: skip
    """The database another tool restored (pgBackRest; a SQLite file copied back by hand)
    checked, the witnesses asked and the restore entered in its log, before the instances
    start: refused while they still have it open (on PostgreSQL, other sessions on it, unless
    ``force``)."""
    database = sqlite_path(settings.database_url)
    if database is not None:
        _not_open(database)
    with opened(settings, settings.database_url) as services:
        sessions = other_sessions(storage_of(services).engine)
        if sessions and not force:
            raise ConfigurationError(
                f"{sessions} other sessions are connected to the database: stop the instances "
                "first, so that nothing is appended before the witnesses are asked (--force "
                "goes on regardless)"
            )
        report = verify(services, receipt_files)
        return enter(services, report, asked, now)


def _not_open(database: Path) -> None:
    if backups.held_open(database):
        raise ConfigurationError(f"a process has {database} open (a gateway still serving?): "
                                 "stop it, then restore")  # fmt: skip


def _not_newer(settings: config.Settings, database: Path, restoring: Checked, *,
               force: bool) -> None:  # fmt: skip
    """Raises ConfigurationError when the database to be replaced holds a longer log, or a
    later checkpoint, than the backup (unless ``force``): restoring over it loses that."""
    if force or not database.is_file() or database.stat().st_size == 0:
        return
    engine = open_engine(dataclasses.replace(settings, database_url=_url(database)))
    try:
        there = tip(engine)
    finally:
        engine.dispose()
    if there is None:
        return  # no gateway's tables, or unreadable: nothing there to keep
    newest = restoring.newest.created_at if restoring.newest else None
    later = there.newest is not None and (newest is None or there.newest > newest)
    if there.size > restoring.size or later:
        raise ConfigurationError(
            f"the database at {database} is newer than the backup (a log of {there.size} "
            f"entries, the backup's {restoring.size}): restoring over it loses the difference. "
            "Give --force to restore all the same (the database there is kept beside it)"
        )
