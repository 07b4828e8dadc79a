"""Backups of the embedded SQLite database, taken while the gateway serves, and the files a
restore moves.

A copy of ``gateway.db`` made with ``cp`` while the server writes is not a database: the
write-ahead log holds the newest commits, and a page copied mid-write is torn. SQLite's online
backup API (Python's ``Connection.backup``) copies the pages inside one read transaction when
asked for all of them in one step: in WAL mode a reader never blocks the writers and sees one
committed state, so the copy is the database as of one commit, whatever the server does
meanwhile. It is written to a file of its own (0600: it holds the data), checked there (SQLite's
``integrity_check``, and the audit log against its newest signed checkpoint), switched to
rollback-journal mode so that it is one self-contained file, and only then renamed to the
name asked for. The instance's secrets are not in it: they are kept apart (docs/deploy.md).

A restore is checked in a copy beside the database it replaces and moved into place by a
rename, after the database it replaces (kept under another name) and only when no process
holds that database open: a server still running on it would go on writing into a file no
longer there, and its receipts would name entries nobody holds.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from gateway.errors import ConfigurationError, LogCorrupt

_SHM_DMS_BYTE = 128
"""the byte of the ``-shm`` file every SQLite connection to a WAL database holds a shared lock
on while it is open (SQLite's unix VFS, ``UNIX_SHM_DMS``)"""
SIDE_FILES = ("-wal", "-shm", ".writelock", ".migrate-lock")
"""the files SQLite and the gateway keep beside a database"""


def online_copy(source: Path, to: Path, busy_timeout_ms: int) -> float:
    """Copy the database at ``source`` into the new file ``to`` (made 0600 here) while others
    write to it; the seconds the copy took. Raises ConfigurationError when there is no
    database at ``source`` or ``to`` exists already."""
    if not source.is_file() or source.stat().st_size == 0:
        raise ConfigurationError(f"no database at {source} to back up")
    try:
        os.close(os.open(to, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise ConfigurationError(f"{to} exists; not writing a backup over it") from None
    started = time.monotonic()
    reading = sqlite3.connect(source, timeout=busy_timeout_ms / 1000, isolation_level=None)
    with closing(reading), closing(sqlite3.connect(to, isolation_level=None)) as copy:
        reading.backup(copy, pages=-1)  # one step: one read transaction, one committed state
    return time.monotonic() - started


def integrity(path: Path) -> None:
    """Raises LogCorrupt with SQLite's first finding unless ``PRAGMA integrity_check`` is ok."""
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        found = [str(row[0]) for row in db.execute("PRAGMA integrity_check(5)")]
    if found != ["ok"]:
        raise LogCorrupt(f"{path}: SQLite finds the file damaged: {'; '.join(found)}")


def self_contained(path: Path) -> None:
    """Fold the write-ahead log into the file and leave WAL mode, then flush it to the disk:
    a backup is one file, readable where it is copied to (the server turns WAL on again)."""
    with closing(sqlite3.connect(path, isolation_level=None)) as db:
        db.execute("PRAGMA journal_mode=DELETE").fetchall()
    _fsync(path)


def finish(partial: Path, out: Path) -> None:
    """``partial`` renamed to ``out``, the rename itself made durable."""
    os.replace(partial, out)
    _fsync_folder(out.parent)


def discard(path: Path) -> None:
    """A file of ours and the files beside it, gone (a copy that failed its checks)."""
    for name in (path, *(Path(f"{path}{suffix}") for suffix in SIDE_FILES)):
        name.unlink(missing_ok=True)


def held_open(database: Path) -> bool:
    """Whether another process has the WAL database at ``database`` open (a running gateway's
    connections, the sqlite3 shell): SQLite's shared lock on the ``-shm`` file, tried here.

    POSIX locks are the process's: this process must hold no connection to ``database``
    while it asks (closing the descriptor drops every lock it holds on the file).
    """
    shm = Path(f"{database}-shm")
    try:
        fd = os.open(shm, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _SHM_DMS_BYTE, os.SEEK_SET)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


@contextmanager
def alone(beside: Path, what: str) -> Iterator[None]:
    """One restore or check in a database's folder at a time: a second would copy its backup
    over the first's staged file while the first checks it. An ``flock`` on the folder
    itself (no lock file: a refused restore leaves the folder as it was) for as long as the
    block runs; a second is refused at once."""
    fd = os.open(beside.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ConfigurationError(f"another restore or check in {beside.parent} is under "
                                     f"way; this {what} waits for it to end: try again then"
                                     ) from None  # fmt: skip
        yield
    finally:
        os.close(fd)


def stage(backup: Path, beside: Path, suffix: str = ".restoring") -> Path:
    """A copy of the backup file (and its write-ahead log, if one lies beside it) next to the
    database it is to replace, 0600: checked and prepared there, then renamed into place."""
    if not backup.is_file():
        raise ConfigurationError(f"no backup at {backup}")
    staged = beside.with_name(f"{beside.name}{suffix}")
    discard(staged)  # left by a restore that stopped half-way
    for source, target in ((backup, staged), (Path(f"{backup}-wal"), Path(f"{staged}-wal"))):
        if source.is_file():
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out, open(source, "rb") as data:
                shutil.copyfileobj(data, out, 1 << 20)
                out.flush()
                os.fsync(out.fileno())
    return staged


def put_in_place(staged: Path, database: Path, now: datetime) -> Path | None:
    """The checked copy becomes ``database``; the database it replaces is kept beside it under
    a name that says when; that name, if there was one.

    At every moment ``database`` is the old database or the checked copy, never missing:
    the old one is made one file (its write-ahead log folded in) and given a second name,
    then the copy is renamed over it. (It was moved aside first: a restore killed between
    the two renames left no database, and a gateway started then made an empty log.)
    """
    self_contained(staged)
    if held_open(database):
        raise ConfigurationError(f"a process has {database} open (a gateway still serving?): "
                                 "stop it, then restore")  # fmt: skip
    aside = None
    if database.is_file() and database.stat().st_size > 0:
        aside = database.with_name(f"{database.name}.before-restore-{now:%Y%m%dT%H%M%SZ}")
        try:
            self_contained(database)
        except sqlite3.DatabaseError:  # damaged (often why one restores): moved aside whole
            _moved_aside(database, aside)
            finish(staged, database)
            discard(staged)
            return aside
        try:
            os.link(database, aside)
        except FileExistsError:
            raise ConfigurationError(f"{aside} exists (a restore this second): run it again "
                                     "in a moment") from None  # fmt: skip
        _fsync_folder(database.parent)
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    finish(staged, database)
    discard(staged)
    return aside


def _moved_aside(database: Path, aside: Path) -> None:
    """A database that cannot be opened, with its write-ahead log, renamed to ``aside``."""
    if aside.exists():
        raise ConfigurationError(f"{aside} exists (a restore this second): run it again "
                                 "in a moment")  # fmt: skip
    os.replace(database, aside)
    if Path(f"{database}-wal").is_file():
        os.replace(f"{database}-wal", f"{aside}-wal")
    Path(f"{database}-shm").unlink(missing_ok=True)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
