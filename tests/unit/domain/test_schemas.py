"""The schema files: valid 2020-12, annotated, closed, covered by the policy, and
judged alike by jsonschema-rs (the pipeline) and jsonschema (the reference)."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gateway.devtools import synthetic
from gateway.domain import schemas
from gateway.errors import ConfigurationError, SchemaViolation
from gateway.files import schemas as schema_files

DIR = schema_files.schema_dir()
FILES = sorted(DIR.glob("*.v*.json"))
SCHEMA_FILES = [p for p in FILES if p.name != "policy.v1.json"]
OIN_A, OIN_B = "00000001003214345000", "00000001002220647000"


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_schema_file_is_valid_2020_12_by_the_reference_validator(path: Path) -> None:
    schema = json.loads(path.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def _objects(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if node.get("type") == "object":
            yield where, node
        for key, value in node.items():
            yield from _objects(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _objects(value, f"{where}/{i}")


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_every_object_is_closed(path: Path) -> None:
    schema = json.loads(path.read_text())
    open_objects = [
        where
        for where, obj in _objects(schema)
        if obj.get("additionalProperties") is not False and where != "/properties/body"
    ]
    assert open_objects == []


def test_every_top_level_body_member_has_a_category(catalog: schemas.Catalog) -> None:
    for body in catalog.bodies.values():
        schema = json.loads((DIR / f"{body.type}.v{body.version}.json").read_text())
        assert set(body.categories) == set(schema["properties"])


def test_handover_profile_categories_are_the_contracts(catalog: schemas.Catalog) -> None:
    assert set(catalog.bodies[("handover-profile", 1)].categories.values()) == {
        "identity",
        "placement",
        "family",
        "education",
        "work_experience",
        "languages",
        "interests",
        "health",
        "casemanager_notes",
    }
    assert set(catalog.bodies[("progress-report", 1)].categories.values()) == {
        "enrolment",
        "attendance",
        "language_levels",
        "exams",
        "modules",
        "signals",
        "hours",  # v1.1: cumulative hours, a legal basis by default
    }
    assert catalog.policy["progress-report"]["hours"].startswith("legal:")


def test_default_policy_is_the_contracts_split(catalog: schemas.Catalog) -> None:
    profile = catalog.policy["handover-profile"]
    assert profile["identity"].startswith("legal:")
    assert profile["placement"].startswith("legal:")
    assert profile["health"] == "explicit-consent"
    assert profile["family"] == "consent"
    assert catalog.policy["progress-report"]["enrolment"].startswith("legal:")
    assert catalog.policy["progress-report"]["attendance"] == "consent"


def test_policy_that_leaves_a_category_unmapped_refuses_start(tmp_path: Path) -> None:
    policy = json.loads((DIR / "policy.v1.json").read_text())
    del policy["types"]["handover-profile"]["health"]
    (tmp_path / "policy.v1.json").write_text(json.dumps(policy))
    with pytest.raises(ConfigurationError, match="health"):
        schema_files.load_catalog(DIR, tmp_path / "policy.v1.json")


def test_policy_with_an_invalid_basis_refuses_start(tmp_path: Path) -> None:
    policy = json.loads((DIR / "policy.v1.json").read_text())
    policy["types"]["handover-profile"]["family"] = "allow"
    (tmp_path / "policy.v1.json").write_text(json.dumps(policy))
    with pytest.raises(ConfigurationError):
        schema_files.load_catalog(DIR, tmp_path / "policy.v1.json")


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("111222333", True),
        ("999999991", False),
        ("123456782", True),
        ("123456789", False),
        ("000000000", False),
        ("12345678", False),
        ("1234567890", False),
        ("12345678a", False),
        ("\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff12", False),  # full-width digits
    ],
)
def test_bsn_eleven_test(value: str, valid: bool) -> None:
    assert schemas.is_bsn(value) is valid


def test_synthetic_bsns_pass_the_eleven_test_and_start_with_99() -> None:
    rng = random.Random(1)
    for _ in range(100):
        bsn = synthetic.bsn(rng)
        assert bsn.startswith("99") and schemas.is_bsn(bsn)


# -- differential test: both validators agree on a corpus ---------------------


def _valid_documents() -> list[tuple[str, dict[str, Any]]]:
    rng = random.Random(3)
    person = synthetic.Newcomer.make(rng)
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    bodies = {
        "handover-profile": synthetic.handover_profile(person, "GM0546", rng),
        "progress-report": synthetic.progress_report(OIN_A),
        "provider-assignment": synthetic.provider_assignment(
            OIN_A, now, valid_until=now.replace(year=2027)
        ),
        "consent-declaration": synthetic.consent_declaration(
            OIN_B, [OIN_A], ["health", "family"], now, explicit_health=True
        ),
        "consent-withdrawal": {
            "declaration_id": "7f0c3a52-0c8b-4a53-9a55-3b1f7f1f9a10",
            "withdrawn_at": "2026-11-23T10:00:00.123Z",
            "by": "data-subject",
        },
    }
    docs = [(f"{t}.v1.json", b) for t, b in bodies.items()]
    docs.append(
        (
            "message.v1.json",
            synthetic.payload(
                "handover-profile",
                {},
                sender=OIN_A,
                recipient=OIN_B,
                newcomer=person,
                issued_at=now,
            ),
        )
    )
    return docs


BAD_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    1.5,
    10**6,
    "",
    "x",
    "2026-02-30",
    "2026-13-01",
    "2026-1-1",
    "2026-11-23T25:00:00Z",
    "2026-11-23T10:00:60Z",
    "2026-11-23T10:00:00+01:00",
    "2026-11-23 10:00:00Z",
    "2026-11-23T10:00:00z",
    "GM546",
    "A9",
    "999999991",
    "111222333",
    "7F0C3A52-0C8B-4A53-9A55-3B1F7F1F9A10",
    "00000001003214345000",
    "x" * 5000,
    [],
    {},
    ["x"],
]


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*path, i))


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    doc = copy.deepcopy(doc)
    node = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return doc


def _delete(doc: Any, path: tuple[Any, ...]) -> Any:
    doc = copy.deepcopy(doc)
    node = doc
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return doc


def _corpus() -> Iterator[tuple[str, str, Any]]:
    for name, doc in _valid_documents():
        yield name, "valid", doc
        for path in _paths(doc):
            for bad in BAD_VALUES:
                yield name, f"{path}={bad!r:.30}", _set(doc, path, bad)
            if path and isinstance(path[-1], str):
                yield name, f"del {path}", _delete(doc, path)
            parent = path
            try:
                node = doc
                for part in parent:
                    node = node[part]
            except (KeyError, IndexError, TypeError):
                continue
            if isinstance(node, dict):
                yield name, f"{path}+extra", _set(doc, path, {**node, "extra_member": 1})


def test_both_validators_agree_on_the_corpus() -> None:
    validators = {}
    for path in SCHEMA_FILES:
        schema = json.loads(path.read_text())
        validators[path.name] = (
            schemas.build_validator(schema),
            schemas.build_reference_validator(schema),
        )
    disagreements = []
    count = valid_count = 0
    for name, label, doc in _corpus():
        fast, reference = validators[name]
        a, b = fast.is_valid(doc), reference.is_valid(doc)
        count += 1
        valid_count += a
        if a != b:
            disagreements.append((name, label, a, b))
    assert disagreements == []
    assert count > 2000 and 50 < valid_count < count - 1000  # both kinds well represented


def test_all_valid_documents_validate(catalog: schemas.Catalog) -> None:
    for name, doc in _valid_documents():
        if name != "message.v1.json":
            catalog.check_body(name.split(".")[0], 1, doc)


def test_errors_name_pointers_and_never_values(catalog: schemas.Catalog) -> None:
    rng = random.Random(5)
    person = synthetic.Newcomer.make(rng)
    body = synthetic.handover_profile(person, "GM0546", rng)
    body["identity"]["bsn"] = "999999991"  # fails the 11-test
    body["identity"]["birth_date"] = "1990-02-30"
    body["placement"]["secret"] = "Amina lives at Dorpsstraat 1"
    with pytest.raises(SchemaViolation) as caught:
        catalog.check_body("handover-profile", 1, body)
    pointers = {e["pointer"] for e in caught.value.errors}
    assert pointers == {"/body/identity/bsn", "/body/identity/birth_date", "/body/placement"}
    rendered = json.dumps(caught.value.extra()) + caught.value.detail
    for value in ("999999991", "1990-02-30", "Dorpsstraat", "secret", person.family_name):
        assert value not in rendered


def test_health_in_a_declaration_needs_the_explicit_flag(catalog: schemas.Catalog) -> None:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    body = synthetic.consent_declaration(OIN_B, [OIN_A], ["health"], now, explicit_health=False)
    with pytest.raises(SchemaViolation) as caught:
        catalog.check_body("consent-declaration", 1, body)
    assert caught.value.errors[0]["pointer"] == "/body/explicit_health_consent"
    catalog.check_body("consent-declaration", 1, {**body, "explicit_health_consent": True})
