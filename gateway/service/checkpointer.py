"""Signing checkpoints: on request, periodically, and the fail-closed guard of intake.

``CheckpointSigner`` signs a checkpoint of the whole log while storage holds
the counter lock, so two processes never sign one size twice. Each worker
process runs one ``Checkpointer`` daemon thread that signs whenever the log
has grown and the last checkpoint is about ``interval`` old. The guard
answers "are checkpoints overdue?": entries older than ``grace`` that no
checkpoint covers mean signing has failed for too long, and the gateway
stops taking messages (503) until a checkpoint covers them again, as X-Road
stops without its timestamps.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from gateway import logs
from gateway.domain.audit import checkpoints, events
from gateway.domain.audit.events import Event
from gateway.domain.records import StoredCheckpoint
from gateway.domain.vocabulary import ACCOUNTABILITY
from gateway.domain.wire import jwk
from gateway.domain.wire.envelope import Signer
from gateway.errors import GatewayError
from gateway.service.cosigning import Cosigning
from gateway.service.ports import AuditPort

log = logs.get("gateway.checkpointer")
GUARD_CACHE_SECONDS = 1.0


@dataclass(frozen=True)
class CheckpointSigner:
    """The gateway's key applied to the log: checkpoints as JWS and as signed note."""

    log: AuditPort
    signer: Signer
    origin: str
    cosigners: tuple[jwk.Key, ...] = ()
    """keys that sign each note beside ``signer``'s: a rotation's overlap (``keyring``)"""

    def __post_init__(self) -> None:
        checkpoints.check_origin(self.origin)

    def sign(self, now: datetime, *, min_age: timedelta | None = None) -> StoredCheckpoint | None:
        """Sign a checkpoint of the whole log if it grew since the last one.

        With ``min_age``, only if the last one is at least that old (the
        periodic signer); without, whenever the log grew (on request).
        Timestamps never go backwards: a clock that stepped back (the last
        checkpoint dated after ``now``) is logged, the checkpoint is dated as
        the last one, and signing goes on rather than waiting for the clock
        to catch up while intake's guard runs out of grace.
        """
        with self.log.checkpointing() as tip:
            last = tip.last
            if last is None and tip.size == 0:
                return None
            if last is not None and _origin(last.note) != self.origin:
                tip.append([_origin_changed(_origin(last.note), self.origin)], now)
                log.warning("log_origin_changed", tree_size=tip.size)
            stamp = now
            if last is not None:
                if last.tree_size >= tip.size:
                    return None
                if now < last.created_at:
                    behind = (last.created_at - now).total_seconds()
                    log.warning("clock_stepped_back", seconds=round(behind, 3))
                    stamp = last.created_at
                elif min_age is not None and now - last.created_at < min_age:
                    return None
            point = checkpoints.new(tip.size, tip.root(), stamp)
            jws = checkpoints.sign_jws(point, self.signer)
            note = checkpoints.sign_note(self.origin, point, self.signer.key, *self.cosigners)
            return tip.save(point, jws, note, stamp)

    def vkey(self) -> str:
        """The C2SP verifier key of the notes: the active key's (an overlapping key signs
        them too; its note key is the same ``vkey`` of its JWK under this origin)."""
        return checkpoints.vkey(self.origin, self.signer.key)


def _origin(note: str) -> str:
    return note.split("\n", 1)[0]


def _origin_changed(old: str, new: str) -> Event:
    """The log's own record that its notes name a new origin from here on (the operator's
    answer to a log held by its witnesses: docs/deploy.md): the old origin, so that anyone
    can find what its witnesses cosigned, and the new one."""
    return Event(
        event="log.origin_changed", actor=None, outcome="ok", trace_id=events.new_trace_id(),
        processing_activity=ACCOUNTABILITY, reason=f"from:{old} to:{new}",
    )  # fmt: skip


class Checkpointer:
    def __init__(
        self,
        signer: CheckpointSigner,
        interval: timedelta,
        grace: timedelta,
        monotonic: Callable[[], float] = time.monotonic,
        cosigning: Cosigning | None = None,
    ) -> None:
        self.signer = signer
        self.cosigning = cosigning
        """the witnesses, asked in a thread of their own (a slow one never delays signing)"""
        self.monotonic = monotonic  # the guard's cache timer (a test steps it)
        self.interval = interval
        self.grace = grace
        self.period = min(5.0, interval.total_seconds() / 4)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._guard: tuple[float, bool] = (-math.inf, False)  # the first question asks the log
        self._held: tuple[float, str | None] = (-math.inf, None)
        self._lock = threading.Lock()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="checkpointer", daemon=True)
            self._thread.start()
            if self.cosigning is not None and self.cosigning.witnesses:
                threading.Thread(target=self._ask_witnesses, name="cosigning", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self.tick(datetime.now(UTC))

    def _ask_witnesses(self) -> None:
        """A round at once (a restored database shows itself before long), then each period."""
        while True:
            self.cosign(datetime.now(UTC))
            if self._stop.wait(self.period):
                return

    def cosign(self, now: datetime) -> None:
        """One round of asking the witnesses; a failure is logged and retried next period."""
        if self.cosigning is None:
            return
        with structlog.contextvars.bound_contextvars(job="cosigning"):
            try:
                self.cosigning.round(now)
            except Exception as error:  # the thread must outlive any one failure
                log.warning("cosigning_failed", error_type=logs.error_kind(error))

    def tick(self, now: datetime) -> None:
        """Sign a checkpoint if one is due; a failure is logged and retried next tick.

        Signed as a background job (``job`` bound in the log context): its write
        succeeding on a full disk, where a request's larger write fails, must not
        end the failure episode that health reports (storage's ``write``).
        """
        with structlog.contextvars.bound_contextvars(job="checkpointer"):
            self._sign(now)

    def _sign(self, now: datetime) -> None:
        try:
            made = self.signer.sign(now, min_age=self.interval - timedelta(seconds=self.period))
        except (GatewayError, OSError, RuntimeError) as error:
            log.warning("checkpoint_failed", error_type=logs.error_kind(error))
            return
        except Exception as error:  # the thread must outlive any one failure
            log.error("checkpoint_failed", error_type=logs.error_kind(error))
            return
        if made is not None:
            log.info("checkpoint_signed", tree_size=made.tree_size, seq=made.seq)

    def held(self) -> str | None:
        """Why intake is held by what a witness said (``Cosigning.held``), cached 1 s."""
        checked_at, value = self._held
        if self.cosigning is None or self.monotonic() - checked_at < GUARD_CACHE_SECONDS:
            return value
        with self._lock:
            value = self.cosigning.held()
            self._held = (self.monotonic(), value)
        return value

    def overdue(self, now: datetime) -> bool:
        """Whether an entry has waited longer than the grace for a checkpoint (cached 1 s)."""
        checked_at, value = self._guard
        if self.monotonic() - checked_at < GUARD_CACHE_SECONDS:
            return value
        with self._lock:
            pending = self.signer.log.pending_since()
            value = pending is not None and now - pending > self.grace
            self._guard = (self.monotonic(), value)
        return value
