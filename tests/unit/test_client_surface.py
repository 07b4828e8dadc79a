"""The client package's declared surface, and the connectors built on it alone.

``gateway.client`` is what a party's tool may rely on (semver over each module's
``__all__``); the connectors are such tools. The import contracts (``lint-imports``)
say the same of the import graph; this names the surface and checks the source.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "gateway" / "client"
SURFACE = {
    "gateway.client.wire": {
        "ASSERTION_TYP", "DELIVERY_TYP", "MESSAGE_TYP", "PROFILE_TYP", "RECEIPT_TYP", "Key",
        "TRANSACTION_HEADER", "new_transaction_id",
        "UnverifiedJWS", "VerifiedJWS", "format_time", "import_jwk", "load_jwk_file", "loads",
        "loads_object", "make_claims", "parse", "parse_time", "private_jwk", "sign",
        "thumbprint", "verify",
    },
    "gateway.client.log": {
        "CHECKPOINT_TYP", "EVENTS", "Checkpoint", "verify_checkpoint_jws",
        "verify_checkpoint_note", "verify_consistency", "verify_inclusion", "vkey",
    },
    "gateway.client.schemas": {"BodySchema", "Catalog", "load_catalog", "schema", "schema_dir"},
    "gateway.client.catalogues": {"NEEDS_REVIEW", "compiled", "needs_review", "read"},
    "gateway.client.plans": {"check_combination"},
    "gateway.client.sdjwt": {
        "BODY_DIGESTS", "FORMS", "MEDIA_TYPE", "SD_TYP", "Verified", "cut", "is_sd", "issue",
        "kid_of", "verify_delivered",
    },
    "gateway.client.witness": {
        "ED25519_COSIGNATURE", "MLDSA44_COSIGNATURE", "NOTE", "SIZE_TYPE", "Body",
        "CosigningKey", "Latest", "Note", "Policy", "Refused", "Request", "Verifier",
        "cosignatures", "format_note", "format_request", "judge", "parse_body", "parse_note",
        "parse_policy", "parse_request", "parse_vkey", "verified",
    },
}  # fmt: skip
"""The declared surface: a name taken out of here is a major release of the package"""


def _imports(path: Path) -> list[str]:
    """Every module ``path`` imports (absolute imports; the relative ones are its own)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found += [f"{node.module}.{alias.name}" for alias in node.names]
    return found


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def test_the_client_package_lists_its_modules() -> None:
    package = importlib.import_module("gateway.client")
    modules = {m.name for m in pkgutil.iter_modules([str(CLIENT)])}
    assert sorted(package.__all__) == sorted(modules)
    assert {f"gateway.client.{m}" for m in modules} == set(SURFACE)


@pytest.mark.parametrize("name", sorted(SURFACE))
def test_each_module_declares_its_surface_and_every_name_exists(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__doc__ and "declared surface" in module.__doc__
    assert set(module.__all__) == SURFACE[name]
    missing = [n for n in module.__all__ if getattr(module, n, None) is None]
    assert missing == []


def test_the_client_package_stands_on_the_domain_the_adapter_and_the_errors() -> None:
    allowed = ("gateway.domain", "gateway.files", "gateway.errors", "gateway.client")
    outside = {
        f"{path.name}: {module}"
        for path in CLIENT.glob("*.py")
        for module in _imports(path)
        if module.startswith("gateway") and not _within(module, allowed)
    }
    assert outside == set()


def test_connectors_import_of_the_gateway_only_the_client_package_and_the_errors() -> None:
    allowed = ("gateway.client", "gateway.errors")
    outside = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in (ROOT / "connectors").rglob("*.py")
        for module in _imports(path)
        if _within(module, ("gateway",)) and not _within(module, allowed)
    }
    assert outside == set()
