"""DUO's published M2M schemas as the tests hold the DUO export to (see the JSON's description)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA: dict[str, Any] = json.loads(
    (Path(__file__).parent / "m2m-inburgering.schema.json").read_text()
)


def valid(name: str, instance: Any) -> None:
    """Raises jsonschema.ValidationError unless ``instance`` is DUO's ``name`` ($defs)."""
    schema = {"$ref": f"#/$defs/{name}", "$defs": SCHEMA["$defs"]}
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(instance)
