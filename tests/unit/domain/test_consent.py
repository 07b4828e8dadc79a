"""Consent evaluation over every state, and minimisation that never leaks."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.devtools import synthetic
from gateway.domain import consent
from gateway.domain.consent import Declaration, Request, Withdrawal
from gateway.domain.minimise import minimise
from gateway.domain.schemas import Catalog

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
COA, PROVIDER = "00000001003214345000", "00000001820029336000"
LEIDEN, UTRECHT = "00000001002220647000", "00000001002220650000"
ASK = Request(recipient=LEIDEN, source=COA, type="handover-profile", purpose="brede-intake")


def _declaration(**changes: Any) -> Declaration:
    base: dict[str, Any] = {
        "declaration_id": "d-1",
        "granted_to": LEIDEN,
        "sources": frozenset({COA}),
        "categories": frozenset({"education", "health", "family"}),
        "purposes": frozenset({"brede-intake"}),
        "explicit_health_consent": True,
        "valid_from": NOW - timedelta(days=1),
        "valid_until": NOW + timedelta(days=30),
    }
    base.update(changes)
    return Declaration(**base)


STATES = {
    "none": ([], []),
    "valid": ([_declaration()], []),
    "not yet valid": ([_declaration(valid_from=NOW + timedelta(hours=1))], []),
    "expired": ([_declaration(valid_until=NOW)], []),
    "withdrawn": ([_declaration()], [Withdrawal("d-1", NOW - timedelta(minutes=1))]),
    "withdrawal still ahead": ([_declaration()], [Withdrawal("d-1", NOW + timedelta(minutes=1))]),
    "revoked": (
        [_declaration()],
        [Withdrawal("d-1", NOW - timedelta(minutes=1), "recording-party")],
    ),
    "health without explicit flag": ([_declaration(explicit_health_consent=False)], []),
    "other source": ([_declaration(sources=frozenset({PROVIDER}))], []),
    "other municipality": ([_declaration(granted_to=UTRECHT)], []),
    "other purpose": ([_declaration(purposes=frozenset({"pip"}))], []),
}
CATEGORIES = ["identity", "placement", "education", "family", "health", "interests"]
# What each state gives, per category: a basis prefix (delivered) or a reason (withheld).
EXPECTED = {
    "none": {"education": "no-consent", "family": "no-consent", "health": "no-consent"},
    "valid": {"education": "consent:d-1", "family": "consent:d-1", "health": "consent:d-1"},
    "not yet valid": dict.fromkeys(("education", "family", "health"), "not-yet-valid"),
    "expired": dict.fromkeys(("education", "family", "health"), "expired"),
    "withdrawn": dict.fromkeys(("education", "family", "health"), "withdrawn"),
    "withdrawal still ahead": dict.fromkeys(("education", "family", "health"), "consent:d-1"),
    "revoked": dict.fromkeys(("education", "family", "health"), "revoked"),
    "health without explicit flag": {
        "education": "consent:d-1",
        "family": "consent:d-1",
        "health": "needs-explicit-consent",
    },
    "other source": dict.fromkeys(("education", "family", "health"), "source-not-covered"),
    "other municipality": dict.fromkeys(("education", "family", "health"), "no-consent"),
    "other purpose": dict.fromkeys(("education", "family", "health"), "no-consent"),
}


@pytest.mark.parametrize("state", list(STATES))
@pytest.mark.parametrize("category", CATEGORIES)
def test_consent_matrix(catalog: Catalog, state: str, category: str) -> None:
    declarations, withdrawals = STATES[state]
    decision = consent.evaluate(category, ASK, NOW, catalog.policy, declarations, withdrawals)
    if category in ("identity", "placement"):  # legal basis, whatever the consent
        assert decision.deliver and decision.basis == catalog.policy["handover-profile"][category]
        return
    expected = EXPECTED[state].get(category, "no-consent")
    if expected.startswith("consent:"):
        assert decision.deliver and decision.basis == expected
    else:
        assert not decision.deliver and decision.reason == expected


def test_a_valid_declaration_wins_over_an_older_withdrawn_one(catalog: Catalog) -> None:
    old = _declaration(declaration_id="d-old", valid_from=NOW - timedelta(days=9))
    new = _declaration(declaration_id="d-new")
    withdrawn = [Withdrawal("d-old", NOW - timedelta(days=2))]
    decision = consent.evaluate("education", ASK, NOW, catalog.policy, [old, new], withdrawn)
    assert decision.basis == "consent:d-new"


def test_an_unmapped_category_or_type_is_never_delivered(catalog: Catalog) -> None:
    valid = [_declaration(categories=frozenset({"mystery"}))]
    assert not consent.evaluate("mystery", ASK, NOW, catalog.policy, valid, []).deliver
    other = Request(recipient=LEIDEN, source=COA, type="unknown-type", purpose="brede-intake")
    assert not consent.evaluate("identity", other, NOW, catalog.policy, valid, []).deliver


def test_declaration_and_withdrawal_bodies_map_to_records() -> None:
    body = synthetic.consent_declaration(LEIDEN, [COA], ["health"], NOW, explicit_health=True)
    declaration = Declaration.from_body(body)
    assert declaration.categories == {"health"} and declaration.explicit_health_consent
    assert declaration.valid_until - declaration.valid_from == timedelta(days=365)
    withdrawal = Withdrawal.from_body(
        {"declaration_id": body["declaration_id"].upper(), "withdrawn_at": "2026-11-23T12:00:00Z"}
    )
    assert (
        withdrawal.declaration_id == declaration.declaration_id and withdrawal.by == "data-subject"
    )


def test_minimise_keeps_only_delivered_members_and_names_the_rest(catalog: Catalog) -> None:
    rng = random.Random(2)
    body = synthetic.handover_profile(synthetic.Newcomer.make(rng), "GM0546", rng)
    categories = catalog.bodies[("handover-profile", 1)].categories
    cut = minimise(
        body,
        categories,
        lambda c: consent.evaluate(
            c, ASK, NOW, catalog.policy, [_declaration(categories=frozenset({"education"}))], []
        ),
    )
    assert set(cut.body) == {"identity", "placement", "education"}
    assert cut.delivered == ("education", "identity", "placement")
    assert cut.withheld == (
        "casemanager_notes",
        "family",
        "health",
        "interests",
        "languages",
        "work_experience",
    )
    assert cut.basis["education"] == "consent:d-1" and cut.basis["identity"].startswith("legal:")
    assert cut.reasons["health"] == "no-consent"


@settings(max_examples=200, deadline=None)
@given(
    granted=st.sets(
        st.sampled_from(
            [
                "family",
                "education",
                "work_experience",
                "languages",
                "interests",
                "health",
                "casemanager_notes",
            ]
        )
    ),
    explicit=st.booleans(),
    start=st.integers(-5, 5),
    length=st.integers(0, 10),
    withdrawn=st.none() | st.integers(-5, 5),
    source=st.sampled_from([COA, PROVIDER]),
    recipient=st.sampled_from([LEIDEN, UTRECHT]),
    seed=st.integers(0, 10_000),
)
def test_no_value_of_a_withheld_category_ever_reaches_the_delivered_body(
    catalog: Catalog,
    granted: set[str],
    explicit: bool,
    start: int,
    length: int,
    withdrawn: int | None,
    source: str,
    recipient: str,
    seed: int,
) -> None:
    rng = random.Random(seed)
    body = synthetic.handover_profile(synthetic.Newcomer.make(rng), "GM0546", rng)
    categories = catalog.bodies[("handover-profile", 1)].categories
    # Mark every string of every member with its category, so a leak is visible as text.
    marked = {
        m: json.loads(json.dumps(v).replace('"', f'"{categories[m]}§', 1)) for m, v in body.items()
    }
    declaration = _declaration(
        categories=frozenset(granted),
        explicit_health_consent=explicit,
        valid_from=NOW + timedelta(days=start),
        valid_until=NOW + timedelta(days=start + length),
        granted_to=LEIDEN,
    )
    withdrawals = [] if withdrawn is None else [Withdrawal("d-1", NOW + timedelta(days=withdrawn))]
    ask = Request(
        recipient=recipient, source=source, type="handover-profile", purpose="brede-intake"
    )
    cut = minimise(
        marked,
        categories,
        lambda c: consent.evaluate(c, ask, NOW, catalog.policy, [declaration], withdrawals),
    )
    delivered_text = json.dumps(cut.body)
    for category in cut.withheld:
        assert f"{category}§" not in delivered_text
    assert set(cut.delivered) | set(cut.withheld) == set(categories.values())
    assert not set(cut.delivered) & set(cut.withheld)
    assert {"identity", "placement"} <= set(cut.delivered)  # the legal basis holds regardless
    if recipient == UTRECHT or source == PROVIDER:
        assert set(cut.delivered) == {"identity", "placement"}


def test_a_withdrawal_leaves_out_what_the_law_or_another_consent_still_covers() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 11, 23, tzinfo=UTC)

    def declaration(did: str, categories: set[str], **kw: Any) -> Declaration:
        fields: dict[str, Any] = {
            "declaration_id": did,
            "granted_to": "g",
            "sources": frozenset({"coa"}),
            "categories": frozenset(categories),
            "purposes": frozenset({"pip"}),
            "explicit_health_consent": True,
            "valid_from": now - timedelta(days=1),
            "valid_until": now + timedelta(days=1),
        }
        return Declaration(**{**fields, **kw})

    policy = {"handover-profile": {"placement": "legal:x", "education": "consent"}}
    gone = declaration("a", {"placement", "education", "health"})
    other = declaration("b", {"education"})
    narrower = declaration("c", {"health"}, purposes=frozenset())  # covers no purpose of a
    assert consent.no_other_basis(gone, [gone, other, narrower], [], policy, now) == ("health",)
    assert consent.no_other_basis(gone, [gone], [], policy, now) == ("education", "health")
    ended = [Withdrawal("b", now - timedelta(hours=1))]
    assert consent.no_other_basis(gone, [gone, other], ended, policy, now) == (
        "education",
        "health",
    )


def test_ending_lists_what_no_renewal_carries_on() -> None:
    from datetime import UTC, datetime, timedelta

    from gateway.domain.consent import Declaration, Withdrawal, ending

    now = datetime(2026, 12, 7, tzinfo=UTC)

    def declared(name: str, began: int, days: int, categories: set[str]) -> Declaration:
        start = now + timedelta(days=began)
        return Declaration(name, "00000001234567890000", frozenset({"coa"}),
                           frozenset(categories), frozenset({"pip"}), False,
                           start, start + timedelta(days=days))  # fmt: skip

    old = declared("old", -300, 320, {"family", "education"})
    other = declared("other", -10, 30, {"health"})
    assert [d.declaration_id for d in ending([other, old], [], now)] == ["old", "other"]
    renewal = declared("renewal", 15, 365, {"family", "education", "languages"})
    assert [d.declaration_id for d in ending([old, other, renewal], [], now)] == ["other"]
    late = declared("late", 25, 365, {"family", "education"})  # begins after old has ended
    assert [d.declaration_id for d in ending([old, late], [], now)] == ["old"]
    gone = Withdrawal("other", now + timedelta(days=5))
    assert [d.declaration_id for d in ending([old, other, renewal], [gone], now)] == []
    assert ending([old], [], now + timedelta(days=20)) == []  # ran out
