"""At run time, too: the domain loads neither Flask nor SQL; connectors never load Flask
(but the console, the one connector with a web face), and none loads SQLAlchemy.

The import contracts (``lint-imports``) check what our own modules import;
this checks what a real import pulls in, third-party packages included.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from types import ModuleType

import pytest

import connectors
import gateway.domain


def _modules(package: ModuleType) -> list[str]:
    path, prefix = package.__path__, package.__name__ + "."
    found = pkgutil.walk_packages(path, prefix)
    return sorted(m.name for m in found if not m.ispkg and not m.name.endswith(".__main__"))


def _loaded(module: str, watched: tuple[str, ...]) -> str:
    code = f"import sys, {module}; print(','.join(m for m in {watched!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.mark.parametrize("module", _modules(gateway.domain))
def test_domain_module_loads_neither_flask_nor_sqlalchemy(module: str) -> None:
    assert _loaded(module, ("flask", "sqlalchemy", "requests")) == ""


@pytest.mark.parametrize("module", _modules(connectors))
def test_connector_does_not_load_flask_or_sqlalchemy(module: str) -> None:
    console = module.startswith("connectors.consoles.") or ".console." in module
    assert _loaded(module, ("sqlalchemy",) if console else ("flask", "sqlalchemy")) == ""


def test_the_municipality_commands_start_without_flask() -> None:
    """``console`` is looked up by name only when it is run."""
    code = (
        "import sys; from connectors.cli import municipality; import click; "
        "ctx = click.Context(municipality); municipality.list_commands(ctx); "
        "print('flask' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
