"""Signing checkpoints over the fake audit log: when there is something to sign, what the
signature says, and the periodic signer's tick and guard driven with explicit times.

Each checkpoint is checked as an auditor would: its JWS and its signed note verify with
the gateway's key, and its root is the Merkle root of the fake's leaves.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import structlog

from gateway.domain.audit import checkpoints, merkle
from gateway.domain.audit.events import format_time
from gateway.domain.wire import envelope
from gateway.errors import CheckpointError, LogCorrupt, ServiceUnavailable
from gateway.service import checkpointer
from gateway.service.checkpointer import Checkpointer, CheckpointSigner
from tests.unit.clock import Clock
from tests.unit.service.fake_audit import FakeAuditLog, FakeTip
from tests.unit.service.fakes import NOW, ORIGIN, event, make_signer

MINUTE = timedelta(minutes=1)


class RecordingLog:
    """Stands in for the module's structlog logger: what it was told, at which level."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def info(self, name: str, **kw: Any) -> None:
        self.lines.append(("info", name, kw))

    def warning(self, name: str, **kw: Any) -> None:
        self.lines.append(("warning", name, kw))

    def error(self, name: str, **kw: Any) -> None:
        self.lines.append(("error", name, kw))


@pytest.fixture
def lines(monkeypatch: pytest.MonkeyPatch) -> RecordingLog:
    recording = RecordingLog()
    monkeypatch.setattr(checkpointer, "log", recording)
    return recording


@pytest.fixture
def signer() -> envelope.Signer:
    return make_signer()


def _grown(log: FakeAuditLog, count: int, at: Any = NOW) -> FakeAuditLog:
    log.append([event() for _ in range(count)], at)
    return log


def _signing(log: FakeAuditLog, signer: envelope.Signer) -> CheckpointSigner:
    return CheckpointSigner(log, signer, ORIGIN)


# -- CheckpointSigner.sign


def test_nothing_is_signed_over_an_empty_log(signer: envelope.Signer) -> None:
    log = FakeAuditLog()
    assert _signing(log, signer).sign(NOW) is None
    assert log.saved == [] and log.calls == ["checkpointing"]  # asked under the lock


def test_a_checkpoint_covers_the_whole_log_and_verifies_as_jws_and_note(
    signer: envelope.Signer,
) -> None:
    log = _grown(FakeAuditLog(), 5)
    made = _signing(log, signer).sign(NOW)
    assert made is not None and log.saved == [made]
    assert (made.seq, made.tree_size, made.created_at) == (1, 5, NOW)
    root = merkle.root_of(log.leaves()).hex()
    assert made.root_hash == root
    jws = checkpoints.verify_jws(made.jws, {signer.kid: signer.key})
    assert jws == checkpoints.Checkpoint(5, root, format_time(NOW))
    note = checkpoints.verify_note(made.note, ORIGIN, signer.key)
    assert (note.tree_size, note.root_hash) == (5, root)
    assert _signing(log, signer).vkey() == checkpoints.vkey(ORIGIN, signer.key)


def test_a_note_of_another_key_does_not_verify(signer: envelope.Signer) -> None:
    made = _signing(_grown(FakeAuditLog(), 2), signer).sign(NOW)
    assert made is not None
    with pytest.raises(CheckpointError):
        checkpoints.verify_note(made.note, ORIGIN, make_signer().key)


def test_nothing_is_signed_when_the_log_has_not_grown(signer: envelope.Signer) -> None:
    log = _grown(FakeAuditLog(), 3)
    signing = _signing(log, signer)
    assert signing.sign(NOW) is not None
    assert signing.sign(NOW + timedelta(hours=1)) is None
    assert len(log.saved) == 1
    _grown(log, 1)
    again = signing.sign(NOW + timedelta(hours=1))
    assert again is not None and (again.seq, again.tree_size) == (2, 4)


def test_with_min_age_only_once_the_last_checkpoint_is_that_old(signer: envelope.Signer) -> None:
    log = _grown(FakeAuditLog(), 1)
    signing = _signing(log, signer)
    assert signing.sign(NOW, min_age=MINUTE) is not None  # the first needs no age
    _grown(log, 1)
    assert signing.sign(NOW + MINUTE - timedelta(microseconds=1), min_age=MINUTE) is None
    made = signing.sign(NOW + MINUTE, min_age=MINUTE)  # exactly that old: due
    assert made is not None and made.tree_size == 2
    _grown(log, 1)
    on_request = signing.sign(NOW + MINUTE + timedelta(seconds=1))  # no min_age: whenever grown
    assert on_request is not None and on_request.tree_size == 3


def test_a_clock_stepped_back_dates_the_checkpoint_as_the_last_one(
    signer: envelope.Signer, lines: RecordingLog
) -> None:
    log = _grown(FakeAuditLog(), 1)
    signing = _signing(log, signer)
    assert signing.sign(NOW) is not None
    _grown(log, 1)
    made = signing.sign(NOW - timedelta(seconds=5), min_age=timedelta(hours=1))
    assert made is not None  # signed despite min_age: waiting would run the guard's grace out
    assert made.created_at == NOW
    assert checkpoints.verify_jws(made.jws, {signer.kid: signer.key}).timestamp == format_time(NOW)
    assert lines.lines == [("warning", "clock_stepped_back", {"seconds": 5.0})]


def test_an_origin_that_would_break_the_note_is_refused(signer: envelope.Signer) -> None:
    with pytest.raises(CheckpointError):
        CheckpointSigner(FakeAuditLog(), signer, "two words")


# -- Checkpointer: the periodic signer and the guard, without its thread


def test_the_period_is_a_quarter_of_the_interval_at_most_five_seconds(
    signer: envelope.Signer,
) -> None:
    signing = _signing(FakeAuditLog(), signer)
    assert Checkpointer(signing, timedelta(seconds=8), MINUTE).period == 2.0
    assert Checkpointer(signing, timedelta(minutes=10), MINUTE).period == 5.0


def test_a_tick_signs_once_the_interval_less_a_period_has_passed(
    signer: envelope.Signer, lines: RecordingLog
) -> None:
    log = _grown(FakeAuditLog(), 2)
    periodic = Checkpointer(_signing(log, signer), interval=MINUTE, grace=5 * MINUTE)
    periodic.tick(NOW)
    assert [c.tree_size for c in log.saved] == [2]
    _grown(log, 1)
    periodic.tick(NOW + timedelta(seconds=54))  # 60 s less the 5 s period: not yet
    assert len(log.saved) == 1
    periodic.tick(NOW + timedelta(seconds=55))
    assert [c.tree_size for c in log.saved] == [2, 3]
    periodic.tick(NOW + timedelta(hours=1))  # nothing new: nothing signed
    assert len(log.saved) == 2
    signed = [kw for level, name, kw in lines.lines if name == "checkpoint_signed"]
    assert signed == [{"tree_size": 2, "seq": 1}, {"tree_size": 3, "seq": 2}]


class ContextSeeingLog(FakeAuditLog):
    """Notes the structlog context each checkpointing ran in."""

    def __init__(self) -> None:
        super().__init__()
        self.contexts: list[dict[str, Any]] = []

    @contextmanager
    def checkpointing(self) -> Iterator[FakeTip]:
        self.contexts.append(structlog.contextvars.get_contextvars())
        with super().checkpointing() as tip:
            yield tip


def test_a_tick_signs_as_the_checkpointer_job(signer: envelope.Signer) -> None:
    log = ContextSeeingLog()
    _grown(log, 1)
    Checkpointer(_signing(log, signer), MINUTE, MINUTE).tick(NOW)
    assert log.contexts == [{"job": "checkpointer"}]
    assert "job" not in structlog.contextvars.get_contextvars()  # unbound after the tick


@pytest.mark.parametrize(
    ("failure", "level"),
    [
        (OSError("disk full"), "warning"),
        (RuntimeError("pool closed"), "warning"),
        (LogCorrupt(), "warning"),
        (ServiceUnavailable(), "warning"),
        (ValueError("anything else"), "error"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_a_failed_tick_is_logged_and_the_next_one_retries(
    signer: envelope.Signer, lines: RecordingLog, failure: Exception, level: str
) -> None:
    log = _grown(FakeAuditLog(), 1)
    periodic = Checkpointer(_signing(log, signer), MINUTE, MINUTE)
    log.failure = failure
    periodic.tick(NOW)  # does not raise: the thread must outlive any one failure
    assert log.saved == []
    assert lines.lines == [(level, "checkpoint_failed", {"error_type": type(failure).__name__})]
    assert "disk" not in str(lines.lines) and "pool" not in str(lines.lines)  # no messages
    log.failure = None
    periodic.tick(NOW + timedelta(seconds=1))
    assert [c.tree_size for c in log.saved] == [1]


def test_overdue_once_an_entry_waited_longer_than_the_grace(signer: envelope.Signer) -> None:
    log = FakeAuditLog()
    clock = Clock()
    guard = Checkpointer(_signing(log, signer), MINUTE, grace=5 * MINUTE, monotonic=clock)
    assert guard.overdue(NOW + timedelta(days=1)) is False  # nothing waits
    clock.now += 1.0
    _grown(log, 2, at=NOW)
    assert guard.overdue(NOW + 5 * MINUTE) is False  # exactly the grace: not yet
    clock.now += 1.0
    assert guard.overdue(NOW + 5 * MINUTE + timedelta(microseconds=1)) is True
    clock.now += 1.0
    guard.tick(NOW + 6 * MINUTE)  # a checkpoint covers them again
    assert guard.overdue(NOW + 6 * MINUTE) is False
    clock.now += 1.0
    _grown(log, 1, at=NOW + 7 * MINUTE)  # only the newest entry counts, from when it came
    assert guard.overdue(NOW + 12 * MINUTE) is False
    clock.now += 1.0
    assert guard.overdue(NOW + 13 * MINUTE) is True


def test_the_guard_asks_the_log_at_most_once_a_second(signer: envelope.Signer) -> None:
    log = _grown(FakeAuditLog(), 1, at=NOW)
    clock = Clock()
    guard = Checkpointer(_signing(log, signer), MINUTE, grace=MINUTE, monotonic=clock)
    late = NOW + timedelta(hours=1)
    assert guard.overdue(late) is True
    guard.tick(late)  # covered now, but the cached answer stands for a second
    clock.now += 0.999
    assert guard.overdue(late) is True
    assert log.calls.count("pending_since") == 1
    clock.now += 0.001
    assert guard.overdue(late) is False
    assert log.calls.count("pending_since") == 2


def test_the_first_guard_question_asks_the_log_whatever_the_clock_reads(
    signer: envelope.Signer,
) -> None:
    log = _grown(FakeAuditLog(), 1, at=NOW - timedelta(hours=1))
    guard = Checkpointer(_signing(log, signer), MINUTE, grace=MINUTE, monotonic=Clock(now=0.5))
    assert guard.overdue(NOW) is True


# -- the thread, bounded: it signs on its own and stops when told


class SignalingLog(FakeAuditLog):
    def __init__(self) -> None:
        super().__init__()
        self.signed = threading.Event()

    @contextmanager
    def checkpointing(self) -> Iterator[FakeTip]:
        with super().checkpointing() as tip:
            yield tip
        if self.saved:
            self.signed.set()


def test_the_thread_signs_on_its_own_and_stops(signer: envelope.Signer) -> None:
    log = SignalingLog()
    _grown(log, 3)
    periodic = Checkpointer(_signing(log, signer), timedelta(milliseconds=40), MINUTE)
    assert periodic.period == pytest.approx(0.01)
    periodic.start()
    thread = periodic._thread
    periodic.start()  # a second start starts no second thread
    assert thread is not None and periodic._thread is thread and thread.daemon
    try:
        assert log.signed.wait(timeout=5.0), "no checkpoint within 5 s"
    finally:
        periodic.stop()
        thread.join(timeout=5.0)
    assert not thread.is_alive()
    assert [c.tree_size for c in log.saved] == [3]
