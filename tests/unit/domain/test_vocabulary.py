"""Adding a message type touches its schema, its vocabulary entry and its rule: nothing else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.domain import policy, report, vocabulary
from gateway.domain.schemas import Catalog

SERVER = Path(vocabulary.__file__).resolve().parents[1]


@pytest.mark.parametrize("name", vocabulary.MESSAGE_TYPES)
def test_every_type_has_a_schema_policy_rule_wording_and_activity(
    name: str, catalog: Catalog
) -> None:
    kind = vocabulary.TYPES[name]
    schemas = [schema for (type_, _), schema in catalog.bodies.items() if type_ == name]
    assert schemas, f"no schema file for {name}"
    for schema in schemas:
        unmapped = set(schema.categories.values()) - set(catalog.policy[name])
        assert not unmapped, f"{name}: categories without a policy mapping: {unmapped}"
    assert policy.roles_with(policy.send(name)), "a role may send it (policy)"
    assert re.fullmatch(r"inburgering/[a-z-]+", kind.activity), "a processing activity"
    assert report.words.TYPES[name], "the access report has words for it (catalogues: test_report)"


def test_delivered_types_name_the_purpose_consent_must_cover() -> None:
    assert {"handover-profile", "progress-report", "duo-notification"} == vocabulary.DELIVERED_TYPES
    for name in vocabulary.DELIVERED_TYPES:
        assert vocabulary.TYPES[name].purpose


def test_no_server_module_spells_a_type_name_outside_the_vocabulary() -> None:
    """The one place: a new type is not hunted for in eight modules."""
    spelled = re.compile("|".join(re.escape(f'"{name}"') for name in vocabulary.MESSAGE_TYPES))
    found = [
        f"{path.relative_to(SERVER)}:{number}"
        for path in SERVER.rglob("*.py")
        if "devtools" not in path.parts and path.name != "vocabulary.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if spelled.search(line)
    ]
    assert found == []
