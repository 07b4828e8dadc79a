"""The fakes of ``fakes`` and ``fake_audit`` against the ports they stand for.

A port that gains a member its fake lacks, or names a parameter otherwise,
fails here rather than as an AttributeError in whichever service test first
calls it; ``mypy --strict`` holds the types to the ports besides (the fake
store is handed to ``Services`` as a ``ports.Store``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, get_type_hints

import pytest

from gateway.service import ports
from tests.unit.service import fake_audit, fakes

PAIRS = fakes.fakes_and_ports()


@pytest.mark.parametrize(("port", "fake"), PAIRS, ids=[p.__name__ for p, _ in PAIRS])
def test_each_fake_has_every_member_of_its_port(port: type[Any], fake: object) -> None:
    assert fakes.port_members(port), port.__name__  # the walk found the port's members at all
    assert fakes.missing_members(port, fake) == [], f"{type(fake).__name__} of {port.__name__}"
    assert fakes.renamed_parameters(port, fake) == [], f"{type(fake).__name__}"


def test_every_port_of_the_store_has_its_fake_here() -> None:
    faked = {port for port, _ in PAIRS}
    properties = [m for m in fakes.port_members(ports.Store).values() if isinstance(m, property)]
    returned = {get_type_hints(p.fget)["return"] for p in properties if p.fget is not None}
    assert len(returned) == len(properties) == 11
    assert returned | {ports.Store, ports.CheckpointTip, ports.Writes} == faked


class GrownAuditPort(ports.AuditPort, Protocol):
    """The audit port as it would be with one method more (a local copy, not ports.py)."""

    def forget(self, subject: str) -> int: ...


class RenamedAuditPort(Protocol):
    def size(self) -> int: ...
    def inclusion(self, leaf: int, size: int) -> list[bytes]: ...
    def pending_since(self) -> datetime | None: ...


def test_the_check_fails_when_a_port_grows_or_renames() -> None:
    log = fake_audit.FakeAuditLog()
    assert fakes.missing_members(GrownAuditPort, log) == ["forget"]
    assert fakes.renamed_parameters(RenamedAuditPort, log) == ["inclusion"]
    assert fakes.missing_members(ports.CheckpointTip, object()) == [
        "append",
        "last",
        "root",
        "save",
        "size",
    ]  # fmt: skip  (attributes count as members too)
