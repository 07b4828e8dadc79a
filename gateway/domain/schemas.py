"""The JSON Schemas of the contract, their validators, categories and policy.

Everything here is built once at start (``Catalog.from_documents``): jsonschema-rs
validators for the per-message pipeline (microseconds a document), each
schema checked against the 2020-12 meta-schema (the tests check them with the
reference validator, ``jsonschema``, too, and prove both agree), the
``x-category`` of each top-level body member, and the policy file that maps
every category to a legal basis or (explicit) consent.
A policy that leaves a category unmapped refuses the start.

The files' documents are read by an adapter (``gateway.files.schemas``) and
handed in: the domain opens no file, so it judges the same documents wherever
they came from (a wheel, the source tree, a test's dict).

Errors name JSON pointers and keywords, never values. Must not import Flask
or SQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema_rs

from gateway.domain import dates
from gateway.domain.thresholds import Thresholds
from gateway.domain.vocabulary import MESSAGE_TYPES
from gateway.errors import ConfigurationError, SchemaViolation

_BASIS = re.compile(r"^(legal:[A-Za-z0-9._/-]{1,100}|consent|explicit-consent|never)$")
_FILE = re.compile(r"^(?P<type>[a-z-]+)\.v(?P<version>[0-9]+)\.json$")
MAX_ERRORS = 20


def is_bsn(value: object) -> bool:
    """The 11-test of the BSN (elfproef): 9 digits, weighted sum divisible by 11."""
    if not isinstance(value, str) or len(value) != 9 or not value.isascii() or not value.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(value[:8], range(9, 1, -1), strict=True))
    total -= int(value[8])
    return total % 11 == 0 and value != "000000000"


FORMATS: dict[str, Callable[[str], bool]] = {
    "bsn": is_bsn,
    "date": dates.is_date,
    "date-time": dates.is_date_time,
}
"""Formats of our own, given to both validators so that they judge alike; ``date`` and
``date-time`` replace the built-in ones to bound the years (``domain.dates``)."""


ENVELOPE_FILE = "message.v1.json"
POLICY_FILE = "policy.v1.json"


def body_file(name: str) -> tuple[str, int] | None:
    """(type, version) of a body schema's file name (``<type>.v<n>.json``), None for any
    other file: the adapter reads only the files this names, and the envelope's."""
    match = _FILE.match(name)
    if not match or match["type"] not in MESSAGE_TYPES:
        return None
    return match["type"], int(match["version"])


def pointer(path: Iterable[str | int]) -> str:
    """RFC 6901 JSON pointer from path parts."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


@dataclass(frozen=True)
class BodySchema:
    type: str
    version: int
    validator: Any
    categories: dict[str, str]
    """top-level body member → category (its x-category)"""


@dataclass(frozen=True)
class Catalog:
    """All schemas and the policy, loaded and cross-checked."""

    envelope: Any
    bodies: dict[tuple[str, int], BodySchema]
    policy: dict[str, dict[str, str]]
    """type → category → 'legal:<ref>' | 'consent' | 'explicit-consent' | 'never'"""
    signals: Thresholds
    """when each regie signal holds (the policy file's signals section)"""

    @classmethod
    def from_documents(
        cls,
        documents: Mapping[str, Mapping[str, Any]],
        policy: Mapping[str, Any],
        policy_name: str = POLICY_FILE,
    ) -> Catalog:
        """Check every schema and the policy and build the validators.

        ``documents``: file name → its JSON object, the envelope's (``message.v1.json``)
        and each body schema's (``<type>.v<n>.json``; other names are ignored);
        ``policy``: the policy file's object, ``policy_name`` its name for the errors.
        Raises ConfigurationError when a schema is missing or not valid 2020-12, lacks
        its x-category annotations, or the policy does not cover it.
        """
        return build_catalog(documents, policy, policy_name)

    def check_envelope(self, payload: Mapping[str, Any]) -> None:
        """Validate a message payload's envelope members.

        Raises SchemaViolation naming the failing pointers; also for a ``version`` of
        ``2.0``, which JSON Schema's ``integer`` admits and the contract does not (a
        municipality's tools read ``2.0`` as no version they know, and a withdrawal then
        cut nothing from its copy).
        """
        _raise_errors(self.envelope, payload, prefix=())
        if type(payload.get("version")) is not int:
            raise SchemaViolation([{"pointer": "/version", "keyword": "type"}])

    def check_body(self, type_: str, version: int, body: Mapping[str, Any]) -> BodySchema:
        """Validate ``body`` against the schema of its type and version.

        Raises SchemaViolation when there is no such schema or the body fails it.
        """
        schema = self.bodies.get((type_, version))
        if schema is None:
            raise SchemaViolation(
                [{"pointer": "/version", "keyword": "enum"}],
                detail=f"no schema for {type_} version {version}",
            )
        _raise_errors(schema.validator, body, prefix=("body",))
        return schema


def _raise_errors(validator: Any, instance: Any, prefix: tuple[str, ...]) -> None:
    if validator.is_valid(instance):
        return
    errors = []
    for error in validator.iter_errors(instance):
        keyword = str(error.schema_path[-1]) if error.schema_path else ""
        found = {"pointer": pointer((*prefix, *error.instance_path)), "keyword": keyword}
        if rule := rule_in_words(error.kind):
            found["rule"] = rule
        errors.append(found)
        if len(errors) >= MAX_ERRORS:
            break
    raise SchemaViolation(errors)


_FORMATS = {
    "bsn": "a BSN of 9 digits that passes the 11-test",
    "date": "a date as YYYY-MM-DD, from 1900-01-01 to 2100-12-31",
    "date-time": "a time as RFC 3339 in UTC, e.g. 2026-11-23T10:00:00Z, in 1900-2100",
}
_PATTERNS = {
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}$": "a date as YYYY-MM-DD",
    "^GM[0-9]{4}$": "a CBS municipality code: GM and 4 digits",
    "^[0-9]{10}$": "10 digits (a V-nummer)",
    "^[0-9]{9}$": "9 digits (a BSN)",
    "^[0-9]{20}$": "20 digits (an OIN)",
    "^[A-Z]{3}$": "3 capital letters (an ISO 3166 country code)",
    "^[a-z]{2,3}$": "2 or 3 small letters (an ISO 639 language code)",
    "^[0-9a-f]{64}$": "64 hex digits (a SHA-256)",
}


def rule_in_words(kind: Any) -> str | None:
    """The rule a value broke, in words, from the schema's side only (never the value).

    ``kind``: a jsonschema-rs error kind. None for a kind without words here,
    where the keyword alone must do.
    """
    name = type(kind).__name__
    if name == "Required":
        return f"{kind.property} is required"
    if name == "Format":
        return _FORMATS.get(kind.format, f"format {kind.format}")
    if name == "Pattern":
        return _PATTERNS.get(kind.pattern, f"must match {kind.pattern}")
    if name == "Enum":
        options = [str(o) for o in kind.options]
        return "one of " + ", ".join(options) if len(options) <= 8 else "one of the listed codes"
    if name in ("Minimum", "Maximum", "MinLength", "MaxLength", "MinItems", "MaxItems"):
        words = {"Minimum": "at least", "Maximum": "at most", "MinLength": "at least",
                 "MaxLength": "at most", "MinItems": "at least", "MaxItems": "at most"}  # fmt: skip
        unit = {"MinLength": " characters", "MaxLength": " characters",
                "MinItems": " items", "MaxItems": " items"}.get(name, "")  # fmt: skip
        return f"{words[name]} {kind.limit}{unit}"
    if name == "Type":
        return "of type " + " or ".join(str(t) for t in getattr(kind, "types", []) or ["?"])
    if name == "AdditionalProperties":
        return "no members beyond the schema's"  # their names are the sender's, not said back
    return None


def build_validator(schema: dict[str, Any]) -> Any:
    """A jsonschema-rs validator that asserts formats (ours included)."""
    return jsonschema_rs.validator_for(
        schema, validate_formats=True, formats=FORMATS, ignore_unknown_formats=False, mask="…"
    )


def build_reference_validator(schema: Mapping[str, Any]) -> Any:
    """The pure-Python ``jsonschema`` validator with format assertion, for cross-checks."""
    import jsonschema

    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    checker = jsonschema.FormatChecker(formats=list(checker.checkers))
    for name, func in FORMATS.items():
        checker.checks(name)(func)
    return jsonschema.Draft202012Validator(schema, format_checker=checker)


def _check_meta(name: str, schema: Mapping[str, Any]) -> None:
    # jsonschema-rs at start (the reference ``jsonschema`` takes seconds to import
    # with its format extras); tests check every file with the reference too.
    if schema.get("$schema") != "https://json-schema.org/draft/2020-12/schema":
        raise ConfigurationError(f"{name} must declare JSON Schema 2020-12")
    try:
        jsonschema_rs.meta.validate(dict(schema))
    except jsonschema_rs.ValidationError:
        raise ConfigurationError(f"{name} is not a valid 2020-12 schema") from None


def categories_of(name: str, schema: Mapping[str, Any]) -> dict[str, str]:
    """Top-level member → x-category; every member must name one."""
    categories = {}
    for member, sub in schema.get("properties", {}).items():
        category = sub.get("x-category") if isinstance(sub, dict) else None
        if not isinstance(category, str) or not category:
            raise ConfigurationError(f"{name}: body member {member!r} has no x-category")
        categories[member] = category
    if schema.get("additionalProperties") is not False:
        raise ConfigurationError(f"{name}: body must set additionalProperties: false")
    return categories


def check_policy(
    name: str, data: Mapping[str, Any], bodies: Mapping[tuple[str, int], BodySchema]
) -> dict[str, dict[str, str]]:
    """Check the policy (``name``: its file's, for the errors) against the schemas.

    Raises ConfigurationError when a category of a known schema is unmapped,
    a basis is not of the allowed forms, or the policy names unknown types.
    """
    types = data.get("types")
    if data.get("version") != 1 or not isinstance(types, dict):
        raise ConfigurationError(f"{name}: expected a version 1 policy with 'types'")
    policy: dict[str, dict[str, str]] = {}
    for type_, mapping in types.items():
        if type_ not in MESSAGE_TYPES or not isinstance(mapping, dict):
            raise ConfigurationError(f"{name}: unknown message type {type_!r}")
        for category, basis in mapping.items():
            if not isinstance(basis, str) or not _BASIS.match(basis):
                raise ConfigurationError(f"{name}: {type_}/{category}: invalid basis")
        policy[type_] = dict(mapping)
    for schema in bodies.values():
        mapped = policy.get(schema.type, {})
        missing = sorted(set(schema.categories.values()) - set(mapped))
        if missing:
            raise ConfigurationError(
                f"{name}: categories of {schema.type} v{schema.version} unmapped: "
                + ", ".join(missing)
            )
    return policy


def build_catalog(
    documents: Mapping[str, Mapping[str, Any]], policy: Mapping[str, Any], policy_name: str
) -> Catalog:
    """``Catalog.from_documents``: the schemas in file-name order, then the policy."""
    envelope_schema = documents.get(ENVELOPE_FILE)
    if envelope_schema is None:
        raise ConfigurationError(f"no schema file {ENVELOPE_FILE}")
    _check_meta(ENVELOPE_FILE, envelope_schema)
    bodies: dict[tuple[str, int], BodySchema] = {}
    for name in sorted(documents):
        found = body_file(name)
        if found is None:
            continue
        schema = documents[name]
        _check_meta(name, schema)
        type_, version = found
        bodies[(type_, version)] = BodySchema(
            type=type_,
            version=version,
            validator=build_validator(dict(schema)),
            categories=categories_of(name, schema),
        )
    missing_types = set(MESSAGE_TYPES) - {t for t, _ in bodies}
    if missing_types:
        raise ConfigurationError(f"no schema for {', '.join(sorted(missing_types))}")
    checked = check_policy(policy_name, policy, bodies)
    thresholds = Thresholds.from_policy(policy.get("signals"))
    envelope = build_validator(dict(envelope_schema))
    return Catalog(envelope=envelope, bodies=bodies, policy=checked, signals=thresholds)
