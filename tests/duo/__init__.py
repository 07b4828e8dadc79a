"""DUO's published M2M schemas as the tests hold the DUO export to: read from DUO's own
OpenAPI documents (tests/duo/openapi, copied unchanged from github.com/duonl/
gemeente-m2m-inburgering at f4973d4), not from a copy of our own reading of them.

``SCHEMA`` has the shape the tests use: ``operations`` (operationId → method, path and
the ``$defs`` name of its request body) and ``$defs`` (the documents' schemas, their
``$ref``s pointed into it, plus ``Headers`` and ``Bsn`` from DUO's parameters).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

OPENAPI = Path(__file__).resolve().parent / "openapi"
DOCUMENTS = ("PIP", "GevolgdeUren")
"""the documents of what the DUO export writes"""


def _load() -> dict[str, Any]:
    operations: dict[str, dict[str, str]] = {}
    defs: dict[str, Any] = {}
    parameters: dict[str, Any] = {}
    for name in DOCUMENTS:
        document = yaml.safe_load((OPENAPI / name / "openapi.yml").read_text(encoding="utf-8"))
        # OpenAPI 3.0's schema references, pointed at $defs (the names do not clash)
        text = json.dumps(document).replace('"#/components/schemas/', '"#/$defs/')
        document = json.loads(text)
        defs.update(document["components"]["schemas"])
        parameters.update(document["components"].get("parameters", {}))
        for path, item in document["paths"].items():
            for method, operation in item.items():
                body = operation.get("requestBody", {}).get("content", {}).get("application/json")
                if body is None:
                    continue
                operations[operation["operationId"]] = {
                    "method": method.upper(),
                    "path": path,
                    "body": body["schema"]["$ref"].rsplit("/", 1)[1],
                }
    named = ("BerichtId", "Bron", "Doel")
    headers = {parameters[n]["name"]: parameters[n]["schema"] for n in named}
    defs["Headers"] = {"type": "object", "required": sorted(headers), "properties": headers,
                       "additionalProperties": False}  # fmt: skip
    defs["Bsn"] = parameters["Bsn"]["schema"]
    return {"operations": operations, "$defs": defs}


SCHEMA: dict[str, Any] = _load()


def valid(name: str, instance: Any) -> None:
    """Raises jsonschema.ValidationError unless ``instance`` is DUO's ``name`` ($defs)."""
    schema = {"$ref": f"#/$defs/{name}", "$defs": SCHEMA["$defs"]}
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(instance)
