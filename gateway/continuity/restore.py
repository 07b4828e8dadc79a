"""Restoring the gateway's database: checked before it is served, and what was lost said.

A backup is the gateway's state at one moment; whatever it took after that moment is gone
with the database that was lost. The gateway gave receipts for it, and its witnesses may
have cosigned checkpoints over it. So a restored database is not simply served again:

1. its log is verified entry by entry against the signed checkpoint it holds, with the
   instance's key (``logcheck``), and the instance's master key must open its data keys;
2. the witnesses are asked what they hold of the log now (every one, even those that had
   cosigned the backup's newest checkpoint). One that holds more than the restored log
   proves entries lost: its answer is kept in the database, where it holds intake
   (``503 log-held``, issue #31) from the first request on, until the operator brings the
   missing entries back or starts a new log origin (docs/deploy.md);
3. the receipts the parties hold (their connectors' receipts files) are accounted for: each
   is in the restored log or named as lost, by message id and audit index;
4. the restore is entered in the log itself, a ``log.restored`` entry naming the sizes, and
   a checkpoint signed over it, by this command, before anything is served: the command is
   what knows that this database was restored (a starting server cannot tell a restore from
   a restart), and the entry lands at the very index where the restored log goes on. Not
   when the witnesses hold the log: an entry appended there would stand where a lost one
   stood, a fork of what they cosigned, and would be lost again when the missing entries
   come back. The operator's way out of the hold is then the one that is audited
   (``log.origin_changed``; this command run again enters the restore under the new origin).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from gateway import config
from gateway.bootstrap import build_services, storage_of
from gateway.continuity import receipts
from gateway.continuity.logcheck import Checked, check_log, check_master_key
from gateway.continuity.report import Report
from gateway.domain.audit import events
from gateway.domain.audit.events import Event
from gateway.domain.audit.witnessed import View
from gateway.domain.vault import Vault
from gateway.domain.vocabulary import ACCOUNTABILITY
from gateway.domain.wire import jwk
from gateway.instance import load_secrets
from gateway.service.cosigning import Cosigning, Witness
from gateway.service.ports import WitnessCalls
from gateway.service.services import Services
from gateway.storage.restored import LogRows, described, release_leases
from gateway.storage.witnesses import WitnessStore


@dataclasses.dataclass(frozen=True)
class Asked:
    """Whom to ask, and how (the witnesses of GATEWAY_WITNESS_POLICY over HTTP, or a test's)."""

    witnesses: Sequence[Witness]
    calls: WitnessCalls | None


def configured_witnesses(settings: config.Settings) -> list[Witness]:
    """The witnesses the settings' policy names, as the serving processes ask them."""
    policy = settings.witness_policy
    entries = policy.witnesses.values() if policy else []
    return [Witness(key, (url or "").rstrip("/") + "/") for key, url in entries]


@contextmanager
def opened(settings: config.Settings, url: str, *, upgrade: bool = False) -> Iterator[Services]:
    """The services over the database at ``url`` with the instance's secrets; no logbook
    records (a restore processes nobody's data); the engine closed afterwards."""
    local = dataclasses.replace(settings, database_url=url, ldv_path=None)
    services = build_services(local, upgrade=upgrade)
    try:
        yield services
    finally:
        storage_of(services).engine.dispose()


def signing_keys(services: Services) -> dict[str, jwk.Key]:
    """The keys a checkpoint or receipt of this instance may be signed with, by key id: every
    key the instance lists (the active one, a rotation's overlapping one, the retired ones: a
    backup from before a rotation is signed with a key retired since)."""
    keys = [jwk.import_jwk(public) for public in services.published_keys()]
    return {jwk.thumbprint(key): key for key in keys}


def verify(services: Services, receipt_files: Sequence[Path]) -> Report:
    """The read-only part: the log checked, the master key tried, the witnesses' views as the
    database keeps them, the receipts accounted. Raises what ``check_log`` raises, or
    ConfigurationError for a master key that does not open the data."""
    store = storage_of(services)
    rows = LogRows(store.engine)
    keys = signing_keys(services)
    checked = check_log(rows, store.audit, keys)
    tried = check_master_key(rows, Vault(load_secrets(services.settings.instance).master_keys))
    cosigned = store.witnesses.cosigned(1)
    return Report(
        database=described(services.settings.database_url),
        checked=checked,
        data_keys_tried=tried,
        views=rows.views(),
        cosigned=cosigned[0][0].tree_size if cosigned else None,
        accounting=_account(receipt_files, keys, checked, rows),
    )


def _account(files: Sequence[Path], keys: dict[str, jwk.Key], checked: Checked,
             rows: LogRows) -> receipts.Accounting | None:  # fmt: skip
    return receipts.account(files, keys, checked.size, rows) if files else None


class _EveryWitness(WitnessStore):
    """The database's witnesses as if none had cosigned its newest checkpoint yet: a restore
    asks every one what it holds now (a witness that cosigned the backup's newest checkpoint
    may have cosigned much more since)."""

    def lines(self, seq: int) -> dict[str, str]:
        return {}


def ask_witnesses(services: Services, asked: Asked, now: datetime) -> list[View]:
    """Sign the restored log's end if no checkpoint covers it yet (a prefix of what was signed
    before: it contradicts nothing), then ask every witness; what each said is kept in the
    database, where a witness ahead of the log holds intake from the first request on."""
    if not asked.witnesses or asked.calls is None:
        return []
    store = storage_of(services)
    release_leases(store.engine)
    services.checkpoints.sign(now)
    cosigning = Cosigning(store.audit, _EveryWitness(store.engine), services.checkpoints.origin,
                          list(asked.witnesses), asked.calls)  # fmt: skip
    return cosigning.round(now)


def held(services: Services, asked: Asked) -> str | None:
    """Why the gateway will hold intake on this database (a witness ahead or forked, under the
    log origin the instance now signs with), or None."""
    store = storage_of(services)
    cosigning = Cosigning(store.audit, store.witnesses, services.checkpoints.origin,
                          list(asked.witnesses), _NoCalls())  # fmt: skip
    return cosigning.held()


class _NoCalls:
    """Asks nobody (``held`` only reads what the witnesses said)."""

    def add_checkpoint(self, url: str, body: bytes) -> tuple[int, str, str]:
        raise AssertionError("held() asks no witness")


def enter(services: Services, report: Report, asked: Asked, now: datetime) -> Report:
    """Steps 2 and 4 of a restore (see the module) on a verified database: the witnesses
    asked, and the restore entered in the log unless they hold it."""
    asked_now = bool(ask_witnesses(services, asked, now))
    views = LogRows(storage_of(services).engine).views()
    report = dataclasses.replace(report, asked=asked_now, views=views,
                                 held=held(services, asked))  # fmt: skip
    if report.held is not None:
        return dataclasses.replace(report, not_entered=(
            "a witness holds more of the log than this database, or another log: nothing is "
            "appended to it until the missing entries are back (restore a newer copy) or a "
            "new log origin is set (then run `gateway restore --in-place` to enter this one)"
        ))  # fmt: skip
    event = restored_event(report)
    with services.store.write() as tx:
        [ref] = tx.append([event], now)
    signed = services.checkpoints.sign(now)
    return dataclasses.replace(report, entered=ref.index, signed=signed)


def restored_event(report: Report) -> Event:
    """The log's own record of the restore: the size it goes on from, the checkpoint that size
    matched, and, where known, the size a witness or a receipt showed the log had reached
    (the entries between are the lost ones). Sizes only: no names, no paths."""
    checked = report.checked
    parts = [f"size:{checked.size}", f"checkpoint:{checked.covered}"]
    if report.reached is not None and report.reached > checked.size:
        parts.append(f"lost:{checked.size}..{report.reached - 1}")
    return Event(
        event="log.restored", actor=None, outcome="ok", trace_id=events.new_trace_id(),
        processing_activity=ACCOUNTABILITY, reason=" ".join(parts),
    )  # fmt: skip

