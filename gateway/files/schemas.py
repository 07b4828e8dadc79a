"""The schema files and the policy, read from the wheel or the source tree and handed
to the domain (``Catalog.from_documents``) as JSON objects."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from gateway.domain.schemas import ENVELOPE_FILE, POLICY_FILE, Catalog, body_file
from gateway.errors import ConfigurationError


def schema_dir() -> Path:
    """Where the schema files are: inside an installed wheel, or the source tree."""
    packaged = resources.files("gateway") / "_schemas"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "schemas"


def read_document(path: Path) -> dict[str, Any]:
    """One schema or policy file's JSON object.

    Raises ConfigurationError when it cannot be read or is not a JSON object.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read schema file {path.name}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"{path.name} is not a JSON object")
    return data


def schema(type_: str, version: int = 1, directory: Path | None = None) -> dict[str, Any]:
    """The body schema of a message type and version, as a JSON object.

    Raises ConfigurationError when there is no such file or it is not a JSON object.
    """
    return read_document((directory or schema_dir()) / f"{type_}.v{version}.json")


def documents(directory: Path) -> dict[str, dict[str, Any]]:
    """The envelope's schema and every body schema in ``directory``, by file name; the
    envelope's is read first, so that its absence is the error a start reports."""
    found = {ENVELOPE_FILE: read_document(directory / ENVELOPE_FILE)}
    for path in sorted(directory.glob("*.v*.json")):
        if body_file(path.name) is not None:
            found[path.name] = read_document(path)
    return found


def load_catalog(directory: Path | None = None, policy_path: Path | None = None) -> Catalog:
    """Read every schema and the policy (``policy.v1.json`` beside them unless given),
    check them, and build the validators: the catalog a process builds once at start.

    Raises ConfigurationError when a file cannot be read, a schema is not valid 2020-12,
    lacks its x-category annotations, or the policy does not cover it.
    """
    directory = directory or schema_dir()
    found = documents(directory)
    policy_path = policy_path or directory / POLICY_FILE
    return Catalog.from_documents(found, read_document(policy_path), policy_path.name)


def processing_activities(policy_path: Path | None = None) -> dict[str, str]:
    """The policy's ``processing_activities``: activity name → its URI (or a reference
    relative to GATEWAY_LDV_ACTIVITY_BASE) in the register of processing activities.

    Raises ConfigurationError when the section is not an object of strings.
    """
    path = policy_path or schema_dir() / POLICY_FILE
    found = read_document(path).get("processing_activities", {})
    if not isinstance(found, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in found.items()
    ):
        raise ConfigurationError(f"{path.name}: processing_activities maps names to URIs")
    return {name: uri for name, uri in found.items() if name != "description"}
