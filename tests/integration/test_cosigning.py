"""Asking witnesses, on the real store (SQLite and PostgreSQL), with witnesses in memory at
the port (``FakeWitnessCalls``: the protocol's own judgement and cosigning, no HTTP).

Each witness gets the newest checkpoint with a proof from what it holds; a 409 is followed
to the witness's size; a witness that is down delays only its own cosignature; one that holds
more of the log than the database (a restore) or finds it forked holds intake, in words.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from gateway.bootstrap import storage_of, with_checkpointer
from gateway.domain.audit import checkpoints, notes, witnessed
from gateway.errors import LogHeld
from gateway.service import intake
from gateway.service.cosigning import Cosigning, Witness
from gateway.service.services import Services
from tests.helpers import read_event, record
from tests.unit.fake_witnesses import FakeWitnessCalls

NOW = datetime(2026, 12, 7, 9, tzinfo=UTC)


def _world(services: Services, *names: str) -> tuple[Cosigning, FakeWitnessCalls]:
    key = services.checkpoints.signer.key
    origin = services.checkpoints.origin
    log_key = notes.parse_vkey(checkpoints.vkey(origin, key), (notes.NOTE,))
    calls = FakeWitnessCalls({origin: [log_key]})
    witnesses = [Witness(*calls.witness(name)) for name in names]
    return Cosigning(services.store.audit, services.store.witnesses, origin, witnesses,
                     calls), calls  # fmt: skip


def _grow_and_sign(services: Services, count: int, at: datetime) -> int:
    for _ in range(count):
        record(services, read_event(), now=at)
    made = services.checkpoints.sign(at)
    assert made is not None
    return made.seq


def test_each_witness_cosigns_from_what_it_holds(services: Services) -> None:
    cosigning, calls = _world(services, "w1.example/w", "w2.example/w")
    first = _grow_and_sign(services, 5, NOW)
    views = cosigning.round(NOW)
    assert [(v.verdict, v.size) for v in views] == [("consistent", 5)] * 2
    assert set(services.store.witnesses.lines(first)) == {"w1.example/w", "w2.example/w"}
    assert cosigning.round(NOW) == []  # both cosigned the newest already: nobody asked

    second = _grow_and_sign(services, 4, NOW + timedelta(minutes=1))
    calls.asked.clear()
    cosigning.round(NOW + timedelta(minutes=1))
    assert sorted(calls.asked) == [("https://w1.example/w/", 5), ("https://w2.example/w/", 5)]
    [found, *_] = services.store.witnesses.cosigned(10)
    assert found[0].seq == second and found[0].tree_size == 9
    note = notes.parse_note(found[0].note + "".join(found[1].values()))
    keys = [calls.keys[n].verifier for n in ("w1.example/w", "w2.example/w")]
    assert set(notes.verified(note, keys)) == {"w1.example/w", "w2.example/w"}
    assert cosigning.held() is None


def test_a_witness_that_is_down_delays_its_own_cosignature_only(services: Services) -> None:
    cosigning, calls = _world(services, "w1.example/w", "w2.example/w")
    calls.down.add("w2.example/w")
    seq = _grow_and_sign(services, 3, NOW)
    views = {v.witness: v.verdict for v in cosigning.round(NOW)}
    assert views == {"w1.example/w": "consistent", "w2.example/w": "unreachable"}
    assert cosigning.held() is None
    calls.down.clear()
    cosigning.round(NOW)
    assert set(services.store.witnesses.lines(seq)) == {"w1.example/w", "w2.example/w"}


def test_a_409_is_followed_to_the_witness_size(services: Services) -> None:
    cosigning, calls = _world(services, "w1.example/w")
    _grow_and_sign(services, 3, NOW)
    cosigning.round(NOW)
    storage_of(services).engine.dispose()
    services.store.witnesses.record(witnessed.View("w1.example/w", cosigning.origin, None,
                                                   "unreachable", "", NOW))  # fmt: skip
    _grow_and_sign(services, 2, NOW)
    calls.asked.clear()
    views = cosigning.round(NOW)
    assert calls.asked == [("https://w1.example/w/", 0), ("https://w1.example/w/", 3)]
    assert views[0].verdict == "consistent" and views[0].size == 5


def _ahead(services: Services) -> tuple[Cosigning, FakeWitnessCalls, witnessed.View]:
    """A witness that cosigned 3 entries, then says it holds 40 (as after a restore)."""
    cosigning, calls = _world(services, "w1.example/w")
    _grow_and_sign(services, 3, NOW)
    cosigning.round(NOW)
    held = calls.latest["w1.example/w"][cosigning.origin]
    calls.latest["w1.example/w"][cosigning.origin] = dataclasses.replace(held, size=40)
    _grow_and_sign(services, 2, NOW)
    [view] = cosigning.round(NOW)
    return cosigning, calls, view


def test_a_witness_ahead_of_the_log_holds_intake(services: Services) -> None:
    cosigning, _, view = _ahead(services)
    assert (view.verdict, view.size) == ("ahead", 40)
    reason = cosigning.held()
    assert reason is not None and "witness w1.example/w holds size 40, this log has" in reason

    serving = with_checkpointer(services)
    assert serving.checkpointer is not None
    serving.checkpointer.cosigning = cosigning
    with pytest.raises(LogHeld, match="holds size 40"):
        intake._check_checkpoints(serving, NOW)


def test_a_forked_log_holds_intake(services: Services) -> None:
    cosigning, calls = _world(services, "w1.example/w")
    _grow_and_sign(services, 3, NOW)
    cosigning.round(NOW)
    held = calls.latest["w1.example/w"][cosigning.origin]
    calls.latest["w1.example/w"][cosigning.origin] = dataclasses.replace(held, root=b"\x07" * 32)
    _grow_and_sign(services, 2, NOW)
    [view] = cosigning.round(NOW)
    assert view.verdict == "forked"
    assert cosigning.held() is not None


def test_one_process_at_a_time_asks(services: Services) -> None:
    cosigning, calls = _world(services, "w1.example/w")
    _grow_and_sign(services, 2, NOW)
    assert services.store.witnesses.take_lease("cosigning", "another:1", NOW,
                                               timedelta(seconds=90))  # fmt: skip
    assert cosigning.round(NOW) == [] and calls.asked == []
    assert cosigning.round(NOW + timedelta(seconds=91))[0].verdict == "consistent"


def test_a_new_origin_is_the_audited_way_out_of_a_hold(services: Services) -> None:
    cosigning, calls, _ = _ahead(services)
    assert cosigning.held() is not None

    old = services.checkpoints.origin
    renewed = dataclasses.replace(services.checkpoints, origin="inburgering-gateway/renewed")
    made = renewed.sign(NOW + timedelta(minutes=1))
    assert made is not None and made.note.startswith("inburgering-gateway/renewed\n")
    [changed] = [e for e in storage_of(services).audit.entries()
                 if e["entry"]["event"] == "log.origin_changed"]  # fmt: skip
    assert changed["entry"]["reason"] == f"from:{old} to:inburgering-gateway/renewed"
    assert changed["index"] == made.tree_size - 1  # the first entry the new origin's note signs
    fresh = Cosigning(services.store.audit, services.store.witnesses, renewed.origin, [],
                      calls)  # fmt: skip
    assert fresh.held() is None  # the old origin's witnesses hold the old origin only
    assert renewed.sign(NOW + timedelta(minutes=2)) is None  # once, not at every checkpoint


def test_a_witness_that_refuses_for_another_reason_holds_nothing(services: Services) -> None:
    cosigning, calls = _world(services, "w1.example/w")
    calls.logs.clear()  # the witness was never told this log: it answers 404
    seq = _grow_and_sign(services, 3, NOW)
    [view] = cosigning.round(NOW)
    assert (view.verdict, view.size) == ("refused", None)
    assert view.detail.startswith("answered 404: unknown log origin")
    assert cosigning.held() is None and services.store.witnesses.lines(seq) == {}
