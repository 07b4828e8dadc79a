"""A wall clock that steps back does not stop intake, nor date a checkpoint backwards."""

from __future__ import annotations

import dataclasses
import itertools
import random
from datetime import UTC, datetime, timedelta

from gateway.devtools import demo
from gateway.errors import ServiceUnavailable
from gateway.service import intake
from gateway.service.checkpointer import Checkpointer
from gateway.service.services import Services
from tests.helpers import profile_payload


def test_intake_goes_on_across_a_backward_step_of_an_hour(services: Services) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0)
    cast = demo.register_cast(services, "http://127.0.0.1", t0 - timedelta(hours=2))
    services.checkpoints.sign(t0 - timedelta(hours=2))  # the registrations covered, as served
    ticks = itertools.count(step=10.0)  # the guard's cache never answers from the past here
    checkpointer = Checkpointer(
        services.checkpoints, timedelta(seconds=60), timedelta(seconds=300), lambda: next(ticks)
    )
    gateway = dataclasses.replace(services, checkpointer=checkpointer)
    rng = random.Random(8)

    def send(now: datetime) -> int:
        payload, _ = profile_payload(rng, now)
        token = cast.client(demo.COA).sign(payload).encode()
        return intake.accept(token, services=gateway, now=now, trace_id="c" * 32).status

    assert send(t0) == 202
    checkpointer.tick(t0)
    assert send(t0 + timedelta(seconds=61)) == 202
    checkpointer.tick(t0 + timedelta(seconds=61))
    last = services.store.audit.latest()
    assert last is not None and last.created_at == t0 + timedelta(seconds=61)

    back = t0 - timedelta(hours=1)  # the wall clock steps back an hour
    for minute in range(12):  # past the grace: signed all along, intake never paused
        now = back + timedelta(minutes=minute)
        try:
            assert send(now) == 202
        except ServiceUnavailable:
            raise AssertionError(f"intake paused {minute} minutes after the step") from None
        checkpointer.tick(now)
    stamps = [c.created_at for c in services.store.audit.checkpoints(0, 1000)]
    assert stamps == sorted(stamps)  # never backwards
    assert stamps[-1] == t0 + timedelta(seconds=61)
    latest = services.store.audit.latest()
    assert latest is not None and latest.tree_size == services.store.audit.size()
