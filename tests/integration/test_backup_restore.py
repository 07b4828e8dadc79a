"""``gateway backup`` and ``gateway restore`` on the embedded SQLite database, run as the
operator runs them (the command line, in this process), with the witnesses in memory at
their port where a test needs them (``FakeWitnessCalls``: the protocol's own judgement).

A backup restores into a fresh instance that holds the same secrets and the restore is
entered in the log; a backup whose log was tampered with is refused, the entry named; a
restored log behind what a witness cosigned is held, nothing appended, until the operator
starts a new origin; a newer database is not replaced unless forced; other secrets are
refused. The backup under load, on both backends, is tests/e2e/test_backup_restore.py.
"""

from __future__ import annotations

import base64
import dataclasses
import fcntl
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gateway import config
from gateway.bootstrap import storage_of
from gateway.cli import main
from gateway.continuity import backups, procedures
from gateway.continuity.logcheck import _Edge
from gateway.continuity.restore import Asked, opened
from gateway.domain.audit import checkpoints, merkle, notes
from gateway.domain.vault import Vault
from gateway.instance import SECRETS, load_secrets
from gateway.service.cosigning import Cosigning, Witness
from gateway.service.services import Services
from tests.conftest import services_for
from tests.helpers import read_event, record
from tests.unit.fake_witnesses import FakeWitnessCalls

pytestmark = pytest.mark.sqlite_only
NOW = datetime(2026, 12, 8, 9, tzinfo=UTC)


def gateway(instance: Path, *args: str, **env: str) -> Result:
    """``gateway <args>`` for the instance at ``instance`` (its embedded database)."""
    given = {"GATEWAY_INSTANCE": str(instance), "GATEWAY_DATABASE_URL": None,
             "GATEWAY_WITNESS_POLICY": None, **env}  # fmt: skip
    return CliRunner().invoke(main, list(args), env=given)


def grown(services: Services, count: int, at: datetime = NOW) -> int:
    """``count`` entries more, and a checkpoint over them: the log's size."""
    for _ in range(count):
        record(services, read_event(), now=at)
    made = services.checkpoints.sign(at)
    assert made is not None
    return made.tree_size


def same_secrets(instance: Path, other: Path) -> Path:
    """A new instance folder holding ``instance``'s secrets (as kept apart from backups)."""
    other.mkdir(mode=0o700)
    for name in SECRETS:
        shutil.copy2(instance / name, other / name)
    return other


@pytest.fixture
def live(tmp_path: Path) -> Services:
    """A gateway's instance whose log has 11 entries under a checkpoint."""
    services = services_for(tmp_path / "instance")
    grown(services, 11)
    return services


def test_the_tree_edge_makes_the_roots_rfc_9162_makes() -> None:
    leaves = [merkle.leaf_hash(bytes([n])) for n in range(70)]
    edge = _Edge()
    assert edge.root() == merkle.root_of([])
    for n, leaf in enumerate(leaves, start=1):
        edge.add(leaf)
        assert edge.root() == merkle.root_of(leaves[:n]), n


def test_a_backup_restores_into_a_fresh_instance_and_the_restore_is_entered(
    live: Services, tmp_path: Path
) -> None:
    taken = gateway(live.settings.instance, "backup", str(tmp_path / "backup.db"))
    assert taken.exit_code == 0, taken.output
    assert "log of 11 entries verified, newest checkpoint size 11" in taken.output
    assert "secrets are not in it" in taken.output
    assert (tmp_path / "backup.db").stat().st_mode & 0o777 == 0o600
    again = gateway(live.settings.instance, "backup", str(tmp_path / "backup.db"))
    assert again.exit_code == 1 and "not writing a backup over it" in again.output

    fresh = same_secrets(live.settings.instance, tmp_path / "fresh")
    done = gateway(fresh, "restore", str(tmp_path / "backup.db"), "--report",
                   str(tmp_path / "report.json"))  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "log: 11 entries verify" in done.output
    assert "entered: log.restored at index 11, signed by checkpoint" in done.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["log"]["size"] == 11 and report["entered"] == 11 and report["lost"] is None
    assert report["signed"]["tree_size"] == 12

    restored = storage_of(services_for(fresh))
    entry = restored.audit.entries(11, 12)[0]["entry"]
    assert (entry["event"], entry["actor"], entry["reason"]) == (
        "log.restored", None, "size:11 checkpoint:11")
    checked = gateway(fresh, "restore", "--check")
    assert checked.exit_code == 0 and "log: 12 entries verify" in checked.output


@pytest.mark.parametrize(("tamper", "named"), [
    ("UPDATE audit_entries SET entry = CAST(replace(CAST(entry AS TEXT), 'audit.read', "
     "'audit.reed') AS BLOB) WHERE idx = 7",
     "entry 7: its bytes do not hash to its leaf hash"),
    ("UPDATE audit_entries SET leaf_hash = '00' || substr(leaf_hash, 3) WHERE idx = 7",
     "entry 7: its bytes do not hash to its leaf hash"),
    ("DELETE FROM audit_entries WHERE idx = 7", "entry 7 is missing"),
    ("UPDATE audit_nodes SET hash = zeroblob(32) WHERE level = 1 AND idx = 3",
     "the audit tree's hash over entries 6..7 is not the one they make"),
    ("UPDATE checkpoints SET root_hash = '00' || substr(root_hash, 3)",
     "checkpoint 1 (size 11): the entries below 11 do not make the root it signs"),
], ids=["entry", "leaf-hash", "gap", "tree", "checkpoint"])  # fmt: skip
def test_a_tampered_backup_is_refused_with_what_was_tampered_named(
    live: Services, tmp_path: Path, tamper: str, named: str
) -> None:
    backup = tmp_path / "backup.db"
    assert gateway(live.settings.instance, "backup", str(backup)).exit_code == 0
    with sqlite3.connect(backup) as db:
        db.execute(tamper)
    fresh = same_secrets(live.settings.instance, tmp_path / "fresh")
    refused = gateway(fresh, "restore", str(backup))
    assert refused.exit_code == 1, refused.output
    assert named in refused.output
    assert not (fresh / "gateway.db").exists()  # nothing changed
    assert [p.name for p in fresh.iterdir()] == [p.name for p in live.settings.instance.iterdir()
                                                 if p.name in SECRETS]  # fmt: skip


def test_an_entry_altered_with_its_leaf_hash_is_named_by_the_tree(
    live: Services, tmp_path: Path
) -> None:
    """Altered consistently (bytes and leaf hash), the entry's pair in the tree names it."""
    backup = tmp_path / "backup.db"
    assert gateway(live.settings.instance, "backup", str(backup)).exit_code == 0
    with sqlite3.connect(backup) as db:
        data = db.execute("SELECT entry FROM audit_entries WHERE idx = 7").fetchone()[0]
        altered = data.replace(b"audit.read", b"audit.reed")
        db.execute("UPDATE audit_entries SET entry = ?, leaf_hash = ? WHERE idx = 7",
                   (altered, merkle.leaf_hash(altered).hex()))  # fmt: skip
    refused = gateway(live.settings.instance, "restore", "--check", str(backup))
    assert refused.exit_code == 1
    assert "the audit tree's hash over entries 6..7 is not the one they make" in refused.output


def test_a_newer_database_is_kept_unless_forced_and_then_kept_beside(
    live: Services, tmp_path: Path
) -> None:
    backup = tmp_path / "backup.db"
    assert gateway(live.settings.instance, "backup", str(backup)).exit_code == 0
    grown(live, 3, NOW + timedelta(minutes=1))
    storage_of(live).engine.dispose()
    instance = live.settings.instance
    refused = gateway(instance, "restore", str(backup))
    assert refused.exit_code == 1 and "is newer than the backup (a log of 14" in refused.output
    forced = gateway(instance, "restore", str(backup), "--force")
    assert forced.exit_code == 0, forced.output
    [aside] = instance.glob("gateway.db.before-restore-*")
    assert "the database it replaced: " + str(aside) in forced.output
    assert storage_of(services_for(instance)).audit.size() == 12  # 11 and the restore's entry


HOLDER = """import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
db.execute("SELECT count(*) FROM audit_entries").fetchall()
print("open", flush=True)
time.sleep(60)
"""


def test_a_database_another_process_has_open_is_not_replaced(
    live: Services, tmp_path: Path
) -> None:
    """A gateway still serving holds its database open: restoring under it would leave it
    writing, and giving receipts, in a file no longer there."""
    instance, backup = live.settings.instance, tmp_path / "backup.db"
    assert gateway(instance, "backup", str(backup)).exit_code == 0
    storage_of(live).engine.dispose()  # this process's own connections (its locks are its own)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(instance / "gateway.db")],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        for args in ([str(backup), "--force"], ["--in-place"]):
            refused = gateway(instance, "restore", *args)
            assert refused.exit_code == 1, refused.output
            assert f"a process has {instance / 'gateway.db'} open" in refused.output
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    assert gateway(instance, "restore", str(backup)).exit_code == 0


def test_a_second_restore_while_one_is_under_way_is_refused_and_changes_nothing(
    live: Services, tmp_path: Path
) -> None:
    """Two restores at once would copy their backups over one staged file while the first
    checks it; the second is refused at once, and the first's lock gone, it goes ahead."""
    instance, backup = live.settings.instance, tmp_path / "backup.db"
    assert gateway(instance, "backup", str(backup)).exit_code == 0
    storage_of(live).engine.dispose()
    lock = os.open(instance, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the first restore, under way
        refused = gateway(instance, "restore", str(backup), "--force")
        assert refused.exit_code == 1, refused.output
        assert "another restore or check in" in refused.output, refused.output
        assert not (instance / "gateway.db.restoring").exists()
    finally:
        os.close(lock)
    assert gateway(instance, "restore", str(backup), "--force").exit_code == 0


def test_a_backup_is_refused_with_another_instance_s_secrets(
    live: Services, tmp_path: Path
) -> None:
    backup = tmp_path / "backup.db"
    assert gateway(live.settings.instance, "backup", str(backup)).exit_code == 0
    other = tmp_path / "other"
    services_for(other)  # its own, new secrets
    refused = gateway(other, "restore", "--check", str(backup))
    assert refused.exit_code == 1
    assert "checkpoint 1 (size 11): checkpoint signed by an unpublished key" in refused.output
    missing = gateway(tmp_path / "nowhere", "restore", str(backup))
    assert missing.exit_code == 2 and "no gateway instance" in missing.output


def with_a_data_key(instance: Path) -> None:
    """A newcomer's data key in the instance's database, wrapped under its master key."""
    master = load_secrets(instance).master_keys
    wrapped = Vault(master).wrap(Vault.new_data_key(), "ab" * 32)
    with sqlite3.connect(instance / "gateway.db") as db:
        db.execute("INSERT INTO subject_keys (subject, wrapped_key, created_at) VALUES (?, ?, ?)",
                   ("ab" * 32, wrapped, "2026-12-08 09:00:00.000000"))  # fmt: skip


def another_master_key(instance: Path) -> None:
    (instance / "master.key").write_text(base64.b64encode(os.urandom(32)).decode() + "\n")


def test_a_backup_is_refused_without_the_master_key_it_was_written_under(
    live: Services, tmp_path: Path
) -> None:
    """A database without its master key is unreadable: the restore says so before serving."""
    with_a_data_key(live.settings.instance)
    backup = tmp_path / "backup.db"
    assert gateway(live.settings.instance, "backup", str(backup)).exit_code == 0
    fresh = same_secrets(live.settings.instance, tmp_path / "fresh")
    assert gateway(fresh, "restore", "--check", str(backup)).exit_code == 0
    another_master_key(fresh)
    refused = gateway(fresh, "restore", str(backup))
    assert refused.exit_code == 1
    assert "the instance's master keys do not open this database's data keys" in refused.output
    assert not (fresh / "gateway.db").exists()


def test_a_backup_the_master_key_cannot_read_is_not_written(
    live: Services, tmp_path: Path
) -> None:
    """deploy.md says a backup checks that the master key opens the data keys; it did not."""
    with_a_data_key(live.settings.instance)
    another_master_key(live.settings.instance)
    backup = tmp_path / "backup.db"
    refused = gateway(live.settings.instance, "backup", str(backup))
    assert refused.exit_code == 1, refused.output
    assert "the instance's master keys do not open this database's data keys" in refused.output
    assert not backup.exists() and not list(tmp_path.glob(".backup.db*"))


def test_on_postgresql_the_commands_say_what_to_use(live: Services, tmp_path: Path) -> None:
    elsewhere = {"GATEWAY_DATABASE_URL": "postgresql+psycopg://gateway@127.0.0.1:9/gateway"}
    said = gateway(live.settings.instance, "backup", str(tmp_path / "b.db"), **elsewhere)
    assert said.exit_code == 2 and "pgBackRest" in said.output
    assert not (tmp_path / "b.db").exists()
    (tmp_path / "b.db").write_bytes(b"")
    misused = gateway(live.settings.instance, "restore", "--in-place", str(tmp_path / "b.db"))
    assert misused.exit_code == 2 and "give BACKUP, or --check [BACKUP], or --in-place" in (
        misused.output)


def _witnessed(services: Services) -> tuple[Asked, FakeWitnessCalls]:
    key, origin = services.checkpoints.signer.key, services.checkpoints.origin
    calls = FakeWitnessCalls({origin: [notes.parse_vkey(checkpoints.vkey(origin, key),
                                                        (notes.NOTE,))]})  # fmt: skip
    return Asked([Witness(*calls.witness("w1.example/w"))], calls), calls


def _cosign(services: Services, asked: Asked, now: datetime) -> None:
    """A round of the serving gateway's: the witness cosigns the newest checkpoint."""
    store = storage_of(services)
    assert asked.calls is not None
    Cosigning(store.audit, store.witnesses, services.checkpoints.origin, list(asked.witnesses),
              asked.calls).round(now)  # fmt: skip


def test_a_log_behind_its_witness_is_held_until_a_new_origin_and_then_entered(
    live: Services, tmp_path: Path
) -> None:
    asked, calls = _witnessed(live)
    _cosign(live, asked, NOW)
    backup = tmp_path / "backup.db"
    procedures.backup(live.settings, backup)
    grown(live, 6, NOW + timedelta(minutes=1))
    _cosign(live, asked, NOW + timedelta(minutes=1))
    assert calls.latest["w1.example/w"][live.checkpoints.origin].size == 17

    fresh = same_secrets(live.settings.instance, tmp_path / "fresh")
    settings = config.from_env({"GATEWAY_INSTANCE": str(fresh)})
    later = NOW + timedelta(minutes=2)
    report = procedures.restore_file(settings, backup, asked, [], force=False, now=later)
    assert report.lost == (11, 17) and report.held is not None
    assert "holds size 17, this log has 11" in report.held
    assert report.entered is None and "nothing is appended" in (report.not_entered or "")
    assert "LOST: entries 11..16 are lost" in "\n".join(report.lines())
    with opened(settings, settings.database_url) as restored:
        assert storage_of(restored).audit.size() == 11  # nothing appended to a held log

    renewed = dataclasses.replace(settings, log_origin="inburgering-gateway/renewed")
    entered = procedures.in_place(renewed, asked, [], force=False, now=later)
    assert entered.held is None and entered.entered == 12
    with opened(renewed, renewed.database_url) as restored:
        tail = [e["entry"] for e in storage_of(restored).audit.entries(11)]
    assert [(e["event"], e["reason"]) for e in tail] == [
        ("log.origin_changed", f"from:{live.checkpoints.origin} to:inburgering-gateway/renewed"),
        ("log.restored", "size:11 checkpoint:11 lost:11..16"),
    ]


def test_a_restore_killed_before_its_last_rename_leaves_the_old_database_in_place(
    live: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database was moved aside first: killed before the copy was renamed in, the
    instance had no database, and a gateway started then made an empty log."""
    instance, backup = live.settings.instance, tmp_path / "backup.db"
    assert gateway(instance, "backup", str(backup)).exit_code == 0
    grown(live, 3, NOW + timedelta(minutes=1))
    storage_of(live).engine.dispose()

    def killed(partial: Path, out: Path) -> None:
        raise KeyboardInterrupt  # the process ends here, as under SIGKILL

    monkeypatch.setattr(backups, "finish", killed)
    assert gateway(instance, "restore", str(backup), "--force").exit_code != 0
    monkeypatch.undo()
    assert (instance / "gateway.db").is_file()
    assert storage_of(services_for(instance)).audit.size() == 14  # the old one, whole


def test_a_report_that_cannot_be_written_refuses_the_restore_before_it_changes_anything(
    live: Services, tmp_path: Path
) -> None:
    """The report was written after the database was replaced: an existing --report file
    made the restore exit 1 ("refused, nothing changed") with the restore done and nothing
    said of its lost receipts; run again, it was refused as newer than the backup."""
    instance, backup = live.settings.instance, tmp_path / "backup.db"
    assert gateway(instance, "backup", str(backup)).exit_code == 0
    grown(live, 3, NOW + timedelta(minutes=1))
    storage_of(live).engine.dispose()
    taken = tmp_path / "report.json"
    taken.write_text("{}")
    refused = gateway(instance, "restore", str(backup), "--force", "--report", str(taken))
    assert refused.exit_code == 1 and "exists: give --report a new file" in refused.output
    assert not list(instance.glob("gateway.db.before-restore-*"))  # nothing changed
    store = storage_of(services_for(instance))
    assert store.audit.size() == 14
    store.engine.dispose()  # this process's connection: the restore folds the database
    done = gateway(instance, "restore", str(backup), "--force", "--report",
                   str(tmp_path / "new.json"))  # fmt: skip
    assert done.exit_code == 0, done.output


def test_a_damaged_database_is_still_replaced_and_kept_beside(
    live: Services, tmp_path: Path
) -> None:
    """Damage is often why one restores: the database that cannot be folded into one file is
    moved aside whole, as before the rename over it."""
    instance, backup = live.settings.instance, tmp_path / "backup.db"
    assert gateway(instance, "backup", str(backup)).exit_code == 0
    storage_of(live).engine.dispose()
    database = instance / "gateway.db"
    damaged = bytearray(database.read_bytes())
    damaged[100 : 3 * 4096] = os.urandom(3 * 4096 - 100)
    database.write_bytes(bytes(damaged))
    done = gateway(instance, "restore", str(backup), "--force")
    assert done.exit_code == 0, done.output
    assert len(list(instance.glob("gateway.db.before-restore-*"))) == 1
    assert storage_of(services_for(instance)).audit.size() == 12  # 11 and the restore's entry
