"""In-memory fakes of the ports regie, auditing and the checkpointer reach; no SQL.

``FakeStore`` holds one fake per port of ``ports.Store``; the audit port's
fake, ``FakeAuditLog``, is in ``fake_audit``. The ports these use cases
never reach (intake, inbox, rate limits, profiles) are stubs that fail the
test if called. A ``write()`` transaction buffers its entries and appends
them when its block ends without an exception.

``test_fakes`` holds each fake against its port (``missing_members``), so a
port that grows a method fails there, not in whichever test calls it first.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

from gateway.config import Settings
from gateway.domain.assignments import Assignment
from gateway.domain.audit.events import Event
from gateway.domain.parties import KeyRecord, Party
from gateway.domain.ratelimit import Limit
from gateway.domain.records import (
    Acknowledged,
    AuditRef,
    Carried,
    History,
    Notice,
    Pending,
    Placing,
    Stored,
)
from gateway.domain.schemas import Catalog
from gateway.domain.wire import envelope, jwk
from gateway.files import report as report_files
from gateway.service import ports
from gateway.service.checkpointer import CheckpointSigner
from gateway.service.services import Services
from tests.unit.fake_ldv import FakeLdv
from tests.unit.fake_witnesses import FakeWitnesses
from tests.unit.service.fake_audit import FakeAuditLog, FakeTip

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
TRACE = "7" * 32
ORIGIN = "test.example/log"

# Synthetic parties: OINs of no real organisation.
LEIDEN = Party("00000009990000000001", "municipality", "Gemeente Testdorp", "GM0363")
UTRECHT = Party("00000009990000000002", "municipality", "Gemeente Proefstad", "GM0344")
AUDITOR = Party("00000009990000000003", "auditor", "Auditdienst Voorbeeld")
PROVIDER = Party("00000009990000000004", "provider", "Taalschool Voorbeeld")
COA = Party("00000009990000000005", "coa", "COA Testlocatie")
PARTIES = (LEIDEN, UTRECHT, AUDITOR, PROVIDER, COA)

# Synthetic newcomers: V-nummers and BSNs (99…, 11-test) as the fixtures make them.
V_ANNA = "6604876475"
V_BORIS = "2914177763"
V_CELIA = "0115244939"
BSN_ANNA = "996907439"


def _unreached(port: str) -> NoReturn:
    raise AssertionError(f"{port} is not a port regie, auditing or the checkpointer reach")


# -- the write transaction


class FakeWrites:
    """``Writes``: buffers its entries; ``FakeStore.write`` appends them on success."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.batches: list[tuple[list[Event], datetime]] = []
        self.carried: list[Carried] = []

    def append(self, events: Sequence[Event], now: datetime) -> list[AuditRef]:
        first = len(self.store.audit.rows) + sum(len(b) for b, _ in self.batches)
        self.batches.append((list(events), now))
        return [AuditRef(first + i, "") for i in range(len(events))]  # hashes come on commit

    def record_carried(self, carried: Sequence[Carried], now: datetime) -> None:
        self.carried.extend(carried)

    def acknowledge(self, recipient: str, delivery_id: str, now: datetime) -> Acknowledged | None:
        return None  # no inbox here

    def add_party(self, party: Party, now: datetime) -> bool:
        return self.store.registry.parties.setdefault(party.oin, party) is party

    def find_party(self, oin: str) -> Party | None:
        return self.store.registry.parties.get(oin)

    def add_key(self, record: KeyRecord, now: datetime) -> bool:
        return self.store.registry.keys.setdefault(record.kid, record) is record

    def find_key(self, kid: str) -> KeyRecord | None:
        return self.store.registry.keys.get(kid)

    def revoke_key(self, kid: str, now: datetime) -> None:
        keys = self.store.registry.keys
        keys[kid] = dataclasses.replace(keys[kid], revoked_at=now)


# -- the read ports the use cases reach


class FakeProgress:
    """``ProgressPort``: the regie facts held per newcomer (pseudonym)."""

    def __init__(self) -> None:
        self.held: dict[str, Stored] = {}
        self.calls: list[str] = []

    def add(self, stored: Stored) -> Stored:
        self.held[stored.subject] = stored
        return stored

    def stored(self, subject: str) -> Stored | None:
        self.calls.append("stored")
        return self.held.get(subject)

    def placed_with(self, municipality: str, after: int, limit: int) -> list[Stored]:
        self.calls.append("placed_with")
        mine = [s for s in self.held.values() if s.placed_with == municipality]
        return sorted((s for s in mine if s.placement > after), key=lambda s: s.placement)[:limit]


class FakeConsent:
    """``ConsentPort``: histories per (grantee, newcomer); ``asked`` records each question."""

    def __init__(self) -> None:
        self.held: dict[tuple[str, str], History] = {}
        self.asked: list[tuple[str, tuple[str, ...]]] = []

    def histories(self, granted_to: str, subjects: Sequence[str]) -> dict[str, History]:
        self.asked.append((granted_to, tuple(subjects)))
        return {s: self.held.get((granted_to, s), History([], [])) for s in subjects}


class FakeRegistry:
    """``RegistryPort``: the parties (the report names them) and keys."""

    def __init__(self, parties: Sequence[Party] = PARTIES) -> None:
        self.parties: dict[str, Party] = {p.oin: p for p in parties}
        self.keys: dict[str, KeyRecord] = {}
        self.jtis: set[tuple[str, str]] = set()

    def find_signer(self, kid: str) -> tuple[KeyRecord, Party] | None:
        key = self.keys.get(kid)
        return None if key is None else (key, self.parties[key.oin])

    def find_party(self, oin: str) -> Party | None:
        return self.parties.get(oin)

    def list_parties(self) -> list[Party]:
        return sorted(self.parties.values(), key=lambda p: p.oin)

    def list_keys(self, oin: str | None = None) -> list[KeyRecord]:
        return [k for k in self.keys.values() if oin is None or k.oin == oin]

    def use_jti(self, iss: str, jti: str, keep_until: datetime, now: datetime) -> bool:
        if (iss, jti) in self.jtis:
            return False
        self.jtis.add((iss, jti))
        return True


class FakeRetention:
    """``RetentionPort``: records what it was asked to purge, purges nothing."""

    def __init__(self) -> None:
        self.asked: list[tuple[datetime, datetime, bool]] = []

    def purge(self, before: datetime, now: datetime, *, dry_run: bool = False) -> int:
        self.asked.append((before, now, dry_run))
        return 0


# -- the ports these use cases never reach: a call fails the test


class UnreachedIntake:
    def session(self) -> AbstractContextManager[ports.IntakeSession]:
        _unreached("intake")

    def settle(self) -> None:
        _unreached("intake")


class UnreachedInbox:
    def pending(
        self, recipient: str, after: int, limit: int, now: datetime, lease: timedelta = timedelta(0)
    ) -> list[Pending]:
        _unreached("inbox")

    def read_messages(self, message_ids: Sequence[str]) -> dict[str, bytes]:
        _unreached("inbox")

    def notices(self, delivery_ids: Sequence[str]) -> dict[str, Notice]:
        _unreached("inbox")

    def backlog(self) -> dict[str, int]:
        _unreached("inbox")

    def assignments(self, provider: str, subjects: Sequence[str]) -> dict[str, list[Assignment]]:
        _unreached("inbox")


class UnreachedRates:
    def lease(self, oin: str, want: int, limit: Limit, now: datetime) -> tuple[int, float]:
        _unreached("ratelimits")


class UnreachedProfiles:
    def newest(self, subject: str) -> Placing | None:
        _unreached("profiles")


class FakeStore:
    """``Store``: one fake per port; ``committed`` counts the write transactions that ended."""

    def __init__(self) -> None:
        self.audit = FakeAuditLog()
        self.progress = FakeProgress()
        self.consent = FakeConsent()
        self.registry = FakeRegistry()
        self.retention = FakeRetention()
        self.intake = UnreachedIntake()
        self.inbox = UnreachedInbox()
        self.ratelimits = UnreachedRates()
        self.profiles = UnreachedProfiles()
        self.witnesses = FakeWitnesses()
        self.ldv = FakeLdv()
        self.committed = 0

    @contextmanager
    def write(self) -> Iterator[FakeWrites]:
        tx = FakeWrites(self)
        yield tx
        for batch, now in tx.batches:  # only when the block ended without an exception
            self.audit.append(batch, now)
        self.committed += 1

    def ping(self) -> None:
        pass


# -- building services over the fakes


def make_signer() -> envelope.Signer:
    return envelope.Signer(jwk.generate("Ed25519"), alg="EdDSA")


def make_services(catalog: Catalog, instance: Path, store: FakeStore | None = None) -> Services:
    """Services over ``store`` (a new FakeStore by default), checkpoints signed by a new key."""
    store = store or FakeStore()
    signer = make_signer()
    return Services(
        settings=Settings(instance=instance, database_url="fake://"),
        catalog=catalog,
        store=store,
        signer=signer,
        pseudonym_key=b"k" * 32,
        checkpoints=CheckpointSigner(store.audit, signer, ORIGIN),
        report=report_files.renderer(),
    )


def fake_store(services: Services) -> FakeStore:
    """The FakeStore behind ``services``, typed as such."""
    store = services.store
    assert isinstance(store, FakeStore)
    return store


def stored(
    services: Services,
    v_number: str,
    *,
    placement: int = 10,
    placed_with: Party = LEIDEN,
    placed_at: datetime = NOW - timedelta(days=10),
    bsn: str | None = None,
    linked_on: date | None = None,
    plan: dict[str, Any] | None = None,
    first_plan_dated: date | None = None,
    term_started: date | None = None,
    assignments: Sequence[Assignment] = (),
    last_report: tuple[str, datetime, str] | None = None,
    report: dict[str, Any] | None = None,
    hours: dict[str, tuple[int, str]] | None = None,
) -> Stored:
    """A newcomer's regie facts as storage would hand them, held by the fake progress port."""
    return fake_store(services).progress.add(
        Stored(
            placement=placement,
            subject=services.pseudonym(v_number),
            v_number=v_number,
            bsn=bsn,
            placed_with=placed_with.oin,
            placed_at=placed_at,
            placed_by="p" * 36,
            linked_on=linked_on,
            plan=plan,
            first_plan_dated=first_plan_dated,
            term_started=term_started,
            assignments=list(assignments),
            last_report=last_report,
            report=report,
            hours=hours or {},
        )
    )


def event(subject: str | None = None, name: str = "message.accepted") -> Event:
    """An entry of the log's business, to give the log a size."""
    return Event(
        event=name,
        actor=COA.oin,
        outcome="ok",
        trace_id=TRACE,
        processing_activity="inburgering/overdracht-coa",
        subject=subject,
        message_id=None,
        type="handover-profile",
    )


# -- holding a fake to its port


def port_members(port: type[Any]) -> dict[str, Any]:
    """A port Protocol's public members (methods, properties, attributes), bases' included."""
    found: dict[str, Any] = {}
    for klass in reversed(port.__mro__):
        if not getattr(klass, "_is_protocol", False) or klass is object:
            continue
        for name, value in vars(klass).items():
            if not name.startswith("_") and (callable(value) or isinstance(value, property)):
                found[name] = value
        found.update({n: None for n in getattr(klass, "__annotations__", {}) if n[0] != "_"})
    return found


def missing_members(port: type[Any], fake: object) -> list[str]:
    """The members of ``port`` that ``fake`` lacks, sorted."""
    return sorted(name for name in port_members(port) if not hasattr(fake, name))


def _parameters(function: Callable[..., Any]) -> list[str]:
    return [p for p in inspect.signature(function).parameters if p != "self"]


def renamed_parameters(port: type[Any], fake: object) -> list[str]:
    """The methods of ``port`` whose parameters ``fake`` names otherwise, sorted."""
    return sorted(
        name
        for name, member in port_members(port).items()
        if inspect.isfunction(member)
        and hasattr(fake, name)
        and _parameters(getattr(fake, name)) != _parameters(member)
    )


def fakes_and_ports() -> list[tuple[type[Any], object]]:
    """Each fake of this module with the port it stands for."""
    store = FakeStore()
    return [
        (ports.Store, store),
        (ports.AuditPort, store.audit),
        (ports.CheckpointTip, FakeTip(store.audit, 0, None)),
        (ports.Writes, FakeWrites(store)),
        (ports.ProgressPort, store.progress),
        (ports.ConsentPort, store.consent),
        (ports.RegistryPort, store.registry),
        (ports.RetentionPort, store.retention),
        (ports.IntakePort, store.intake),
        (ports.InboxPort, store.inbox),
        (ports.RatePort, store.ratelimits),
        (ports.ProfilePort, store.profiles),
        (ports.WitnessPort, store.witnesses),
        (ports.LdvPort, store.ldv),
    ]
