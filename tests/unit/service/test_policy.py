"""Authorisation is one table (domain.policy), asked by every use case before it reads.

A role without the capability is refused before the use case touches the
store: the services here carry a store that fails the test on any use, so a
check that runs late (or not at all) shows as that failure, not as a 403.
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from gateway.devtools import demo
from gateway.domain import policy, vocabulary
from gateway.domain.parties import Party
from gateway.domain.schemas import Catalog
from gateway.errors import NotAuthorised
from gateway.service import auditing, consents, inbox, profiles, regie, registry
from gateway.service.ports import Store
from gateway.service.services import Services
from tests.unit.world import NOW, TRACE, World, make_world

V_NUMBER = "1234567890"
GATEWAY = Path(__file__).resolve().parents[3] / "gateway"

PARTIES = {
    vocabulary.COA: Party(demo.COA, vocabulary.COA, "COA"),
    vocabulary.PROVIDER: Party(demo.PROVIDER, vocabulary.PROVIDER, "Taalschool"),
    vocabulary.MUNICIPALITY: Party(demo.LEIDEN, vocabulary.MUNICIPALITY, "Leiden", "GM0546"),
    vocabulary.AUDITOR: Party(demo.AUDITOR, vocabulary.AUDITOR, "Auditdienst"),
    vocabulary.DUO: Party(demo.DUO, vocabulary.DUO, "DUO"),
}

UseCase = Callable[[Services, Party], Any]
USE_CASES: dict[str, tuple[str, UseCase]] = {
    "consents.history": (policy.READ_CONSENTS, lambda s, p: consents.history(s, p, V_NUMBER)),
    "profiles.read": (
        policy.READ_PROFILE,
        lambda s, p: profiles.read(s, p, V_NUMBER, NOW, TRACE),
    ),
    "regie.progress": (policy.READ_REGIE, lambda s, p: regie.progress(s, p, V_NUMBER, NOW, TRACE)),
    "regie.signals_page": (
        policy.READ_REGIE,
        lambda s, p: regie.signals_page(s, p, 0, 10, NOW, TRACE),
    ),
    "auditing.own_copy": (
        policy.READ_REGIE,
        lambda s, p: auditing.own_copy(s, p, V_NUMBER, "nl", NOW, TRACE),
    ),
    "inbox.acknowledge": (
        policy.ACKNOWLEDGE,
        lambda s, p: inbox.acknowledge(s, p, "d" * 32, NOW, TRACE),
    ),
    "auditing.checkpoint": (
        policy.READ_CHECKPOINT,
        lambda s, p: auditing.checkpoint(s, p, NOW, TRACE),
    ),
    "auditing.checkpoint_list": (
        policy.READ_LOG,
        lambda s, p: auditing.checkpoint_list(s, p, 0, NOW, TRACE),
    ),
    "auditing.entries": (policy.READ_LOG, lambda s, p: auditing.entries(s, p, 0, 1, NOW, TRACE)),
    "auditing.export": (policy.READ_LOG, lambda s, p: auditing.export(s, p, 0, 1, NOW, TRACE)),
    "auditing.inclusion": (
        policy.READ_LOG,
        lambda s, p: auditing.inclusion(s, p, 0, 1, NOW, TRACE),
    ),
    "auditing.consistency": (
        policy.READ_LOG,
        lambda s, p: auditing.consistency(s, p, 1, 1, NOW, TRACE),
    ),
    "auditing.subject_entries": (
        policy.READ_LOG,
        lambda s, p: auditing.subject_entries(s, p, V_NUMBER, NOW, TRACE),
    ),
    "registry.directory": (policy.READ_DIRECTORY, lambda s, p: registry.directory(s, p)),
    "registry.issuer_keys": (
        policy.READ_DIRECTORY,
        lambda s, p: registry.issuer_keys(s, p, "0" * 20, NOW),
    ),
}


class UntouchableStore:
    """A store that fails the test when a use case reaches it."""

    def __getattr__(self, name: str) -> Any:
        pytest.fail(f"the use case reached the store ({name}) before refusing the role")


@pytest.fixture
def untouchable(catalog: Catalog, tmp_path: Path) -> Services:
    world: World = make_world(catalog, tmp_path)
    return dataclasses.replace(world.services, store=cast(Store, UntouchableStore()))


def _refusals() -> list[tuple[str, str]]:
    return [
        (name, role)
        for name, (capability, _) in USE_CASES.items()
        for role in vocabulary.ROLES
        if not policy.may(role, capability)
    ]


@pytest.mark.parametrize(("name", "role"), _refusals())
def test_a_role_without_the_capability_is_refused_before_the_store(
    untouchable: Services, name: str, role: str
) -> None:
    _, use_case = USE_CASES[name]
    with pytest.raises(NotAuthorised, match=f"role {role} may not"):
        use_case(untouchable, PARTIES[role])


@pytest.mark.parametrize("role", [vocabulary.COA, vocabulary.AUDITOR])
def test_an_inbox_is_only_for_a_role_that_has_one(untouchable: Services, role: str) -> None:
    with pytest.raises(NotAuthorised):
        inbox.pull(untouchable, PARTIES[role], 0, 10, NOW, TRACE)


def test_the_table_covers_every_role_and_names_only_known_capabilities() -> None:
    assert set(policy.GRANTS) == set(vocabulary.ROLES)
    for role, granted in policy.GRANTS.items():
        assert granted <= policy.CAPABILITIES, f"{role}: {granted - policy.CAPABILITIES}"
    every_use = {capability for capability, _ in USE_CASES.values()}
    assert every_use | {policy.PULL_DELIVERIES, policy.PULL_BRIEFS} | {
        policy.send(t) for t in vocabulary.MESSAGE_TYPES
    } == set(policy.CAPABILITIES), "a capability no use case asks for, or one not tested here"


def test_every_message_type_has_a_sender_and_the_unknown_role_may_do_nothing() -> None:
    for name in vocabulary.MESSAGE_TYPES:
        assert policy.roles_with(policy.send(name)), name
    assert not any(policy.may("jobcoach", c) for c in policy.CAPABILITIES)


def _is_role_name(node: ast.expr) -> bool:
    """A role spelled out: a string, a vocabulary constant (COA, PROVIDER, …), or a set of them."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.Name | ast.Attribute):
        name = node.id if isinstance(node, ast.Name) else node.attr
        return name.isupper()
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_is_role_name(e) for e in node.elts)
    return False


def _role_decisions(path: Path) -> list[str]:
    """``x.role ==/!=/in <a role>`` in one module: a permission decided beside the table.

    (``p.role == role``, the directory's filter, compares two values and decides nothing.)
    """
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(isinstance(s, ast.Attribute) and s.attr == "role" for s in sides) and any(
                _is_role_name(s) for s in sides
            ):
                found.append(f"{path.relative_to(GATEWAY.parent)}:{node.lineno}")
    return found


def test_no_service_or_web_module_decides_by_role_itself() -> None:
    """The web only authenticates; the services ask the table (``policy.may``/``require``)."""
    modules = [*GATEWAY.joinpath("service").rglob("*.py"), *GATEWAY.joinpath("web").rglob("*.py")]
    decided = [where for path in modules for where in _role_decisions(path)]
    assert not decided, decided


def test_a_role_holds_at_most_one_kind_of_inbox() -> None:
    for role in vocabulary.ROLES:
        kinds = [c for c in inbox.INBOXES if policy.may(role, c)]
        assert len(kinds) <= 1, (role, kinds)
