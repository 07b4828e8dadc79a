"""The ports the fakes stand in for, and the handlers intake dispatches to.

A port that gains a member its fake lacks (or names a parameter otherwise)
fails here, not as an AttributeError in whichever service test first calls
it; a message type without a handler fails here, not at its first message.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest

from gateway.domain.vocabulary import TYPES
from gateway.service import ports
from gateway.service.handlers import registry
from tests.unit import fake_ldv, fake_tx, fake_witnesses, fakes

STORE = fakes.FakeStore()
FAKES: list[tuple[type[Any], Any]] = [
    (ports.Store, STORE),
    (ports.IntakePort, STORE.intake),
    (ports.AuditPort, STORE.audit),
    (ports.InboxPort, STORE.inbox),
    (ports.RegistryPort, STORE.registry),
    (ports.ConsentPort, STORE.consent),
    (ports.RetentionPort, STORE.retention),
    (ports.ProgressPort, STORE.progress),
    (ports.ProfilePort, STORE.profiles),
    (ports.RatePort, STORE.ratelimits),
    (ports.WitnessPort, STORE.witnesses),
    (ports.LdvPort, STORE.ldv),
    (ports.WitnessCalls, fake_witnesses.FakeWitnessCalls({})),
    (ports.IntakeTx, fake_tx.FakeTx(fake_tx.State())),
    (ports.Writes, fake_tx.FakeWrites(fake_tx.State())),
    (ports.MessagesTx, fake_tx.FakeMessages(fake_tx.State())),
    (ports.PlacementsTx, fake_tx.FakePlacements(fake_tx.State())),
    (ports.ConsentTx, fake_tx.FakeConsent(fake_tx.State())),
    (ports.AssignmentsTx, fake_tx.FakeAssignments(fake_tx.State())),
    (ports.PlansTx, fake_tx.FakePlans(fake_tx.State())),
    (ports.ProgressTx, fake_tx.FakeProgress(fake_tx.State())),
    (ports.NoticesTx, fake_tx.FakeNotices(fake_tx.State())),
    (ports.DuoTx, fake_tx.FakeDuo(fake_tx.State())),
    (ports.IntakeSession, fakes.FakeSession(fakes.FakeStore())),
]


def members(port: type[Any]) -> dict[str, Any]:
    """A Protocol's own members (methods and properties), its bases' included."""
    found: dict[str, Any] = {}
    for klass in reversed(port.__mro__):
        if klass in (object, Any) or not getattr(klass, "_is_protocol", False):
            continue
        for name, value in vars(klass).items():
            if not name.startswith("_") and (callable(value) or isinstance(value, property)):
                found[name] = value
        found.update(dict.fromkeys(getattr(klass, "__annotations__", {})))
    return found


def parameters(function: Any) -> list[str]:
    return [p for p in inspect.signature(function).parameters if p != "self"]


@pytest.mark.parametrize(("port", "fake"), FAKES, ids=[p.__name__ for p, _ in FAKES])
def test_each_fake_has_every_member_of_its_port(port: type[Any], fake: Any) -> None:
    missing = sorted(name for name in members(port) if not hasattr(fake, name))
    assert missing == [], f"{type(fake).__name__} lacks {missing} of {port.__name__}"
    for name, member in members(port).items():
        if inspect.isfunction(member):
            assert parameters(getattr(fake, name)) == parameters(member), name


def test_every_port_and_every_fake_is_checked_here() -> None:
    """A new port, or a new fake, that the list above leaves out fails here."""
    protocols = {
        value for value in vars(ports).values()
        if isinstance(value, type) and getattr(value, "_is_protocol", False)
        and value.__module__ == ports.__name__
    }  # fmt: skip
    checked = {port for port, _ in FAKES}
    # signing checkpoints is not faked; the LDV logbook is tested as it is (tests/unit/ldv)
    assert protocols - checked == {ports.CheckpointTip, ports.ProcessingLog}
    defined = {
        value for module in (fakes, fake_tx, fake_witnesses, fake_ldv)
        for name, value in vars(module).items()
        if isinstance(value, type) and name.startswith("Fake")
        and value.__module__ == module.__name__
    }  # fmt: skip
    assert defined == {type(fake) for _, fake in FAKES}


def test_the_intake_transaction_port_is_writers_and_the_log() -> None:
    names = members(ports.IntakeTx)
    writers = {n for n, m in names.items() if isinstance(m, property)}
    assert writers == {
        "messages", "placements", "consent", "assignments", "plans", "progress", "notices",
        "duo",
    }  # fmt: skip
    assert set(names) - writers == {"append"}


def test_every_message_type_has_one_handler() -> None:
    assert set(registry.HANDLERS) == set(TYPES)
    for name in TYPES:
        handler = registry.handler(name)
        assert all(callable(getattr(handler, step)) for step in ("check", "check_locked", "write"))
    assert len({id(h) for h in registry.HANDLERS.values()}) == len(TYPES)  # one each


def test_intake_and_checks_dispatch_and_never_name_a_type() -> None:
    """``_commit`` and ``checks.check`` find a type's rules through the registry only."""
    import gateway.service.checks
    import gateway.service.intake
    from gateway.domain import vocabulary

    constants = {n for n, v in vars(vocabulary).items() if isinstance(v, str) and v in TYPES}
    for module in (gateway.service.intake, gateway.service.checks):
        source = inspect.getsource(module)
        assert not [c for c in constants if re.search(rf"\b{c}\b", source)], module.__name__
        assert "handler(message.type)" in source
