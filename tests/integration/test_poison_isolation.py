"""Poison found by the pipeline fuzz: each message alone, and in the group commit with others.

Every poison here is a minimal failing example of ``test_pipeline_fuzz.py``,
kept as a regression test: a schema-valid message that once made intake
raise (a 500) or was accepted and then broke later reads. The rule each test
holds is the fuzz's, not a particular answer: the poison may be refused (any
4xx) or accepted, but the other parties' valid messages must all be
accepted and every read must still answer.

The threaded test is the reason this matters beyond one sender: the group
commit (``service/groupcommit.py``) writes the messages of concurrent
requests in one transaction, so an exception raised for one message used to
fail every message of its group, the other municipalities' included.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from gateway.devtools import demo, synthetic
from gateway.domain.parties import KeyRecord, new_party
from gateway.domain.wire import jwk
from gateway.errors import GatewayError
from gateway.service import registry
from gateway.service.services import Services
from tests.helpers import ObservedGroupCommit
from tests.integration.fuzzworld import (
    NOW,
    TRACE,
    Stream,
    World,
    message,
    new_id,
    populate,
    read_everything,
    trajectory,
)

Poison = Callable[[World], dict[str, Any]]


def _plan(world: World, **members: Any) -> dict[str, Any]:
    """Leiden's first plan for its newcomer who was assigned and never planned."""
    target = world.placed[2]  # Leiden's: placed, assigned, no plan
    body = {
        "plan_id": new_id(world.rng), "plan_version": 1, "change_reason": "initial",
        "dated": "2026-11-20", "route": "b1-route", "may_finish_current_education": False,
        "literacy": "NVT", "components": [], **members,
    }  # fmt: skip
    return message("integration-plan", body, target.municipality, target.municipality,
                   target.person)  # fmt: skip


def reused_plan_id(world: World) -> dict[str, Any]:
    """(a) version 1 of a plan_id that is Utrecht's newcomer's plan: the unique
    (plan_id, plan_version) raised IntegrityError inside the group's transaction."""
    return _plan(world, plan_id=world.placed[3].plan_id)


def plan_in_year_zero(world: World) -> dict[str, Any]:
    """(b) dated 0000-01-01: schema-valid, and date.fromisoformat raised ValueError."""
    return _plan(world, dated="0000-01-01")


def plan_at_the_end_of_time(world: World) -> dict[str, Any]:
    """(c) dated 9999-12-31 (9997-12-31 too): accepted, then the term's end overflowed
    in every signals and progress read of Leiden."""
    return _plan(world, dated="9999-12-31")


def issued_in_year_zero(world: World) -> dict[str, Any]:
    """An envelope issued_at 0000-01-01T00:00:00Z: schema-valid, and parse_utc raised
    ValueError in step (5), before any rule (found by the fuzz beside (b))."""
    payload = plan_in_year_zero(world)
    payload["body"]["dated"] = "2026-11-20"
    payload["issued_at"] = "0000-01-01T00:00:00Z"
    return payload


def issued_in_a_leap_second(world: World) -> dict[str, Any]:
    """issued_at 2016-12-31T23:59:60Z: the format admits a leap second, Python does not
    (ValueError: second must be in 0..59, in step (5))."""
    payload = issued_in_year_zero(world)
    payload["issued_at"] = "2016-12-31T23:59:60Z"
    return payload


def _leiden(world: World, type_: str, body: dict[str, Any]) -> dict[str, Any]:
    """Leiden's message about its fully planned newcomer."""
    target = world.placed[0]
    return message(type_, body, target.municipality, target.municipality, target.person)


def declared_from_year_zero(world: World) -> dict[str, Any]:
    """A declaration valid from 0000-01-01T00:00:00Z: ValueError in check_consistency."""
    body = synthetic.consent_declaration(demo.LEIDEN, [demo.PROVIDER], ["attendance"], NOW)
    return _leiden(world, "consent-declaration", {**body, "valid_from": "0000-01-01T00:00:00Z"})


def withdrawn_in_year_zero(world: World) -> dict[str, Any]:
    """A withdrawal at 0000-01-01T00:00:00Z: ValueError in Withdrawal.from_body."""
    body = {"declaration_id": world.placed[0].declaration_id,
            "withdrawn_at": "0000-01-01T00:00:00Z"}  # fmt: skip
    return _leiden(world, "consent-withdrawal", body)


def assigned_from_year_zero(world: World) -> dict[str, Any]:
    """An assignment valid from 0000-01-01T00:00:00Z: ValueError in from_message."""
    body = synthetic.provider_assignment(demo.PROVIDER, NOW, new_id(world.rng))
    return _leiden(world, "provider-assignment", {**body, "valid_from": "0000-01-01T00:00:00Z"})


POISONS: dict[str, Poison] = {
    "issued_at a leap second": issued_in_a_leap_second,
    "declaration valid from year 0": declared_from_year_zero,
    "withdrawal in year 0": withdrawn_in_year_zero,
    "assignment valid from year 0": assigned_from_year_zero,
    "plan reusing another newcomer's plan_id": reused_plan_id,
    "plan dated 0000-01-01": plan_in_year_zero,
    "plan dated 9999-12-31": plan_at_the_end_of_time,
    "issued_at in year 0": issued_in_year_zero,
}


def _sent(world: World, payload: dict[str, Any]) -> str:
    """The poison's outcome: its status, or a 4xx refusal's code; anything else raises."""
    try:
        return str(world.accept(payload).status)
    except GatewayError as error:
        if error.status >= 500:
            raise
        return error.code


@pytest.mark.parametrize("poison", sorted(POISONS))
def test_poison_alone_is_refused_or_harmless(services: Services, poison: str) -> None:
    """Refused or accepted; either way the others' next messages go in and every read answers."""
    world = populate(services)
    stream = Stream(world, seed=5)
    assert _sent(world, POISONS[poison](world))
    for _ in range(6):  # a whole trajectory of the others, and the next one's profile
        world.accept(stream.next())
    failures = read_everything(world, NOW + timedelta(minutes=1))
    assert not failures, "reads that did not answer: " + "; ".join(
        f"{name}: {type(e).__name__}: {e}" for name, e in failures
    )


EXTRA = [("00000001002220700000", "GM0363", "Gemeente Amsterdam (fuzz)"),
         ("00000001002220710000", "GM0599", "Gemeente Rotterdam (fuzz)")]  # fmt: skip
"""two more synthetic municipalities, so four threads each send for one of their own"""


def _register_more(world: World) -> dict[str, str]:
    """The extra municipalities, registered with keys: OIN → GM code, Utrecht's included."""
    for oin, code, name in EXTRA:
        registry.register_party(world.services, new_party(oin, "municipality", name, code),
                                NOW - timedelta(days=30), TRACE)  # fmt: skip
        key = world.keys[oin] = jwk.generate("Ed25519")
        record = KeyRecord(jwk.thumbprint(key), oin, jwk.public_jwk(key),
                           NOW - timedelta(days=30))  # fmt: skip
        registry.register_key(world.services, record, NOW - timedelta(days=30), TRACE)
    return {**{oin: code for oin, code, _ in EXTRA}, "00000001002220650000": "GM0344"}


@dataclasses.dataclass
class _Tally:
    """What the threads saw: valid messages accepted, and everything that went wrong."""

    accepted: int = 0
    poison: dict[str, int] = dataclasses.field(default_factory=dict)
    wrong: list[str] = dataclasses.field(default_factory=list)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def note(self, what: str, valid: bool) -> None:
        """A valid message's outcome (anything but 202 is wrong), or a poison's."""
        with self.lock:
            if valid and what == "202":
                self.accepted += 1
            elif valid:
                self.wrong.append(f"valid message: {what}")
            else:
                self.poison[what] = self.poison.get(what, 0) + 1
                if what.split(": ", 1)[1].startswith("500"):
                    self.wrong.append(f"poison {what}")


def _outcome(world: World, payload: dict[str, Any]) -> str:
    """An outcome as the web would answer it: a status, a 4xx code, or the 500's cause."""
    try:
        return _sent(world, payload)
    except Exception as error:  # what the web layer would answer with a 500
        return f"500 {type(error).__name__}: {str(error)[:160]}"


def _poisoner(world: World, tally: _Tally, until: float, seed: int) -> None:
    rng = random.Random(seed)
    while time.monotonic() < until:
        name = rng.choice(sorted(POISONS))
        tally.note(f"{name}: {_outcome(world, POISONS[name](world))}", valid=False)


def _sender(world: World, tally: _Tally, until: float, oin: str, code: str, seed: int) -> None:
    rng = random.Random(seed)
    while time.monotonic() < until:
        payloads, _ = trajectory(rng, oin, code)
        for payload in payloads:
            outcome = _outcome(world, payload)
            tally.note(outcome if outcome == "202" else f"{payload['type']}: {outcome}", True)


def test_poison_in_the_group_commit_sinks_no_other_municipalitys_message(
    services: Services,
) -> None:
    """Two threads send poison as Leiden; four send whole trajectories for Utrecht and
    two more municipalities (COA's profiles and the provider's reports among them),
    for two seconds, through ``services.group`` as intake does."""
    observed = ObservedGroupCommit()
    world = populate(dataclasses.replace(services, group=observed))
    others = _register_more(world)
    tally, until = _Tally(), time.monotonic() + 2.0
    threads = [threading.Thread(target=_poisoner, args=(world, tally, until, n)) for n in (1, 2)]
    senders = [*others.items(), next(iter(others.items()))]
    threads += [
        threading.Thread(target=_sender, args=(world, tally, until, oin, code, 10 + n))
        for n, (oin, code) in enumerate(senders)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    kinds = Counter(tally.wrong).most_common()
    assert not kinds, f"{len(tally.wrong)} went wrong ({tally.accepted} accepted): {kinds}"
    assert tally.accepted > 20 and max(observed.sizes) > 1  # the groups did mix senders
    failures = read_everything(world, NOW + timedelta(minutes=1))
    assert not failures, [f"{name}: {type(e).__name__}" for name, e in failures]
