"""Signals over HTTP, on both backends: each appears exactly when its condition holds.

The clock is the read's ``at`` (a forecast: judged then, on what is held and
may be seen now), so one newcomer is walked through the days of a term
without waiting for them.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from gateway.bootstrap import storage_of
from gateway.devtools import demo, synthetic
from gateway.errors import BadRequest, NotAuthorised
from tests.e2e.trajectories import Trajectory

pytestmark = pytest.mark.e2e


def _listed(cast: demo.Cast, newcomer: Trajectory, days: float) -> dict[str, Any]:
    """The newcomer's row of Leiden's signals list at ``days`` from now, walking every page."""
    leiden, after = cast.client(demo.LEIDEN), 0
    at = synthetic.utc(newcomer.now + timedelta(days=days))
    while True:
        page = leiden.get_json("/v1/signals", after=after, limit=1000, at=at)
        for row in page["newcomers"]:
            if row["v_number"] == newcomer.person.v_number:
                return dict(row)
        assert len(page["newcomers"]) == 1000, "not listed"
        after = page["next_cursor"]


def _codes(cast: demo.Cast, newcomer: Trajectory, days: float) -> tuple[set[str], set[str]]:
    """The signals and the unknown signals at ``days``, from the list and the progress
    read, which must agree."""
    row = _listed(cast, newcomer, days)
    at = synthetic.utc(newcomer.now + timedelta(days=days))
    path = f"/v1/newcomers/{newcomer.person.v_number}/progress"
    one = cast.client(demo.LEIDEN).get_json(path, at=at)
    assert (one["signals"], one["unknown_signals"]) == (row["signals"], row["unknown_signals"])
    return {s["code"] for s in row["signals"]}, set(row["unknown_signals"])


def _expect(cast: demo.Cast, newcomer: Trajectory, table: list[tuple[float, set[str]]]) -> None:
    for days, expected in table:
        assert _codes(cast, newcomer, days)[0] == expected, f"at {days} days"


def test_each_signal_holds_exactly_while_its_condition_does(cast: demo.Cast) -> None:
    newcomer = Trajectory(cast, 30_700)
    _expect(cast, newcomer, [(0, set()), (69, set()), (71, {"no-plan"})])

    today = newcomer.now.date().isoformat()
    assert newcomer.assign() == 202 and newcomer.plan(dated=today) == 202
    _expect(
        cast,
        newcomer,
        [(0, set()), (71, {"no-progress"}), (54, set()), (56, {"no-progress"})],
    )  # the plan ended no-plan; the assignment began a day ago, with no report since

    assert newcomer.report(hours={"language_and_knm": 40}) == 202
    _expect(
        cast,
        newcomer,
        [
            (30, set()),  # 40 hours against about 16 expected by then
            (57, {"no-progress"}),
            (365, {"no-progress", "behind-plan"}),  # about 200 expected
            (912, {"no-progress", "behind-plan"}),
            (914, {"no-progress", "behind-plan", "term-ending"}),  # 1,096 - 183 days
        ],
    )
    assert newcomer.report(hours={"language_and_knm": 500}) == 202
    _expect(cast, newcomer, [(365, {"no-progress"}), (30, set())])


def test_a_signal_whose_category_is_withheld_is_unknown_never_guessed(cast: demo.Cast) -> None:
    newcomer = Trajectory(cast, 30_800)
    assert newcomer.assign() == 202 and newcomer.plan() == 202
    risky = {"dropout_risk": "high", "referral_advice": "none", "step_down_advice": False}
    attendance = {"hours_planned": 100, "hours_attended": 50}
    assert newcomer.report(attendance=attendance, signals=risky) == 202
    assert _codes(cast, newcomer, 0) == (set(), {"low-attendance", "dropout-risk"})

    declarations = [
        synthetic.consent_declaration(
            demo.LEIDEN,
            [demo.PROVIDER],
            [category],
            newcomer.now - timedelta(hours=1),
            purposes=("voortgang",),
        )
        for category in ("attendance", "signals")
    ]
    for declaration in declarations:
        assert newcomer.send("consent-declaration", declaration) == 202
    assert _codes(cast, newcomer, 0) == ({"low-attendance", "dropout-risk"}, set())

    withdrawal = {
        "declaration_id": declarations[0]["declaration_id"],  # attendance only
        "withdrawn_at": synthetic.utc(newcomer.now),
    }
    assert newcomer.send("consent-withdrawal", withdrawal) == 202
    assert _codes(cast, newcomer, 0) == ({"dropout-risk"}, {"low-attendance"})

    fine = {"hours_planned": 100, "hours_attended": 95}
    low = {"dropout_risk": "low", "referral_advice": "none", "step_down_advice": False}
    assert newcomer.report(attendance=fine, signals=low) == 202
    assert _codes(cast, newcomer, 0) == (set(), {"low-attendance"})


def test_the_list_holds_only_the_callers_newcomers_and_each_is_one_regie_read(
    cast: demo.Cast, server_services: Any
) -> None:
    in_leiden, in_utrecht = Trajectory(cast, 30_900), Trajectory(cast, 30_901, demo.UTRECHT)
    utrecht = cast.client(demo.UTRECHT)
    listed: list[str] = []
    after = 0
    while True:
        page = utrecht.get_json("/v1/signals", after=after, limit=2)
        listed += [row["v_number"] for row in page["newcomers"]]
        if len(page["newcomers"]) < 2:
            break
        after = page["next_cursor"]
    assert in_utrecht.person.v_number in listed and in_leiden.person.v_number not in listed
    assert len(listed) == len(set(listed))  # pages neither overlap nor repeat
    _listed(cast, in_leiden, 0)

    subject = server_services.pseudonym(in_leiden.person.v_number)
    reads = [
        e["entry"]
        for e in storage_of(server_services).audit.entries()
        if e["entry"]["event"] == "regie.read" and e["entry"]["subject"] == subject
    ]
    assert [r["reason"] for r in reads] == ["signals"]
    assert reads[0]["actor"] == demo.LEIDEN

    with pytest.raises(NotAuthorised):  # a provider steers no one
        cast.client(demo.PROVIDER).get_json("/v1/signals")


@pytest.mark.parametrize(
    "query",
    [{"at": "2020-01-01T00:00:00Z"}, {"at": "2099-01-01T00:00:00Z"}, {"at": "morgen"},
     {"limit": 0}, {"limit": 1001}, {"after": -1}],
    ids=["past", "beyond-a-term", "not-a-time", "limit-0", "limit-1001", "after-negative"],
)  # fmt: skip
def test_bad_queries_are_refused_in_words(cast: demo.Cast, query: dict[str, Any]) -> None:
    with pytest.raises(BadRequest) as refused:
        cast.client(demo.LEIDEN).get_json("/v1/signals", **query)
    assert next(iter(query)) in refused.value.detail


def test_a_move_does_not_restart_the_term(cast: demo.Cast) -> None:
    """Leiden's plan dated 400 days ago, then COA places the newcomer in Utrecht, whose
    plan is dated today: the term still ends 1,096 days after Leiden's, so Utrecht is told
    183 days before that (day 513 from now), not 183 days before a term from today."""
    newcomer = Trajectory(cast, 30_950)
    then = (newcomer.now - timedelta(days=400)).date().isoformat()
    assert newcomer.plan(dated=then) == 202
    profile = demo.profile(
        newcomer.person, newcomer.rng, newcomer.now, recipient=demo.UTRECHT,
        municipality_code="GM0344",
    )  # fmt: skip
    coa = cast.client(demo.COA)
    assert coa.submit(coa.sign(profile)).status == 202
    utrecht = cast.client(demo.UTRECHT)
    payload = synthetic.payload(
        "integration-plan",
        synthetic.integration_plan(str(uuid.uuid4()), 1, dated=newcomer.now.date().isoformat()),
        sender=demo.UTRECHT, recipient=demo.UTRECHT, newcomer=newcomer.person,
        issued_at=newcomer.now,
    )  # fmt: skip
    assert utrecht.submit(utrecht.sign(payload)).status == 202
    path = f"/v1/newcomers/{newcomer.person.v_number}/progress"
    for days, ending in ((505, False), (520, True)):
        at = synthetic.utc(newcomer.now + timedelta(days=days))
        codes = {s["code"] for s in utrecht.get_json(path, at=at)["signals"]}
        assert ("term-ending" in codes) is ending, (days, codes)
    with pytest.raises(NotAuthorised):  # Leiden steers her no more
        cast.client(demo.LEIDEN).get_json(path)


def test_a_consent_that_runs_out_is_a_due_date_until_renewed_or_withdrawn(
    cast: demo.Cast,
) -> None:
    """The work list's "a consent runs out" from the gateway, for every newcomer on the list
    (not only those whose consents a console happened to read), the same in the list and the
    progress read; a renewal that carries it on, or a withdrawal, ends the item."""
    newcomer = Trajectory(cast, 30_900)

    def ending(days: float = 0) -> list[dict[str, Any]]:
        row = _listed(cast, newcomer, days)
        at = synthetic.utc(newcomer.now + timedelta(days=days))
        one = cast.client(demo.LEIDEN).get_json(
            f"/v1/newcomers/{newcomer.person.v_number}/progress", at=at)
        assert one["due_dates"] == row["due_dates"]
        return [d for d in row["due_dates"] if d["code"] == "consent-ends"]

    began = newcomer.now - timedelta(days=1)
    first = synthetic.consent_declaration(demo.LEIDEN, [demo.PROVIDER], ["attendance"], began,
                                          days=60, purposes=("voortgang",))  # fmt: skip
    assert newcomer.send("consent-declaration", first) == 202
    [due] = ending()
    assert due == {"code": "consent-ends", "due": due["due"],
                   "declaration_id": first["declaration_id"], "categories": ["attendance"]}
    assert due["due"].startswith(first["valid_until"].removesuffix("Z"))  # to the second
    assert ending(days=60) == []  # ran out: nothing left to renew in time

    narrower = synthetic.consent_declaration(demo.LEIDEN, [demo.PROVIDER], ["signals"],
                                             began, days=120, purposes=("voortgang",))  # fmt: skip
    assert newcomer.send("consent-declaration", narrower) == 202
    assert [d["declaration_id"] for d in ending()] == [first["declaration_id"],
                                                      narrower["declaration_id"]]  # fmt: skip

    renewal = synthetic.consent_declaration(
        demo.LEIDEN, [demo.PROVIDER], ["attendance", "signals"], newcomer.now + timedelta(days=50),
        days=365, purposes=("voortgang",))  # fmt: skip
    assert newcomer.send("consent-declaration", renewal) == 202
    assert ending() == []  # both carried on by the renewal, which has not begun yet
    assert [d["declaration_id"] for d in ending(days=55)] == [renewal["declaration_id"]]

    withdrawal = {"declaration_id": renewal["declaration_id"],
                  "withdrawn_at": synthetic.utc(newcomer.now)}  # fmt: skip
    assert newcomer.send("consent-withdrawal", withdrawal) == 202
    assert [d["declaration_id"] for d in ending()] == [first["declaration_id"],
                                                      narrower["declaration_id"]]  # fmt: skip
