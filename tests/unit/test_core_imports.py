"""Core modules stay free of Flask and SQL; connectors never load Flask."""

from __future__ import annotations

import subprocess
import sys

import pytest

CORE = [
    "gateway.domain.wire.envelope",
    "gateway.domain.wire.jwk",
    "gateway.domain.wire.strictjson",
    "gateway.domain.schemas",
    "gateway.domain.parties",
    "gateway.domain.message",
    "gateway.domain.rights",
    "gateway.domain.assignments",
    "gateway.domain.audit.events",
    "gateway.domain.vault",
    "gateway.errors",
    "gateway.devtools.synthetic",
    "gateway.domain.audit.merkle",
    "gateway.domain.audit.checkpoints",
    "gateway.domain.wire.bearer",
    "gateway.domain.consent",
    "gateway.domain.minimise",
    "gateway.domain.report",
]


@pytest.mark.parametrize("module", CORE)
def test_core_module_loads_neither_flask_nor_sqlalchemy(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "print(','.join(m for m in ('flask', 'sqlalchemy', 'requests') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


CONNECTORS = [
    "connectors.client",
    "connectors.coa",
    "connectors.provider",
    "connectors.municipality",
    "connectors.auditor",
    "connectors.cli",
]


@pytest.mark.parametrize("module", CONNECTORS)
def test_connector_does_not_load_flask_or_sqlalchemy(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "print(','.join(m for m in ('flask', 'sqlalchemy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
