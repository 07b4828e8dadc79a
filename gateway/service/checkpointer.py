"""The periodic checkpoint signer, and the fail-closed guard of intake.

Each worker process runs one daemon thread that signs a checkpoint whenever
the log has grown and the last checkpoint is about ``interval`` old (the
counter lock makes two processes' attempts sign once). The guard answers
"are checkpoints overdue?": entries older than ``grace`` that no checkpoint
covers mean signing has failed for too long, and the gateway stops taking
messages (503) until a checkpoint covers them again, as X-Road stops without
its timestamps.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from gateway import logs
from gateway.errors import GatewayError
from gateway.storage.auditlog import AuditLog

log = logs.get("gateway.service.checkpointer")
GUARD_CACHE_SECONDS = 1.0


class Checkpointer:
    def __init__(self, auditlog: AuditLog, interval: timedelta, grace: timedelta) -> None:
        self.auditlog = auditlog
        self.interval = interval
        self.grace = grace
        self.period = min(5.0, interval.total_seconds() / 4)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._guard: tuple[float, bool] = (0.0, False)
        self._lock = threading.Lock()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="checkpointer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self.tick(datetime.now(UTC))

    def tick(self, now: datetime) -> None:
        """Sign a checkpoint if one is due; a failure is logged and retried next tick."""
        try:
            made = self.auditlog.checkpoint(
                now, min_age=self.interval - timedelta(seconds=self.period)
            )
        except (GatewayError, OSError, RuntimeError) as error:
            log.warning("checkpoint_failed", error_type=logs.error_kind(error))
            return
        except Exception as error:  # the thread must outlive any one failure
            log.error("checkpoint_failed", error_type=logs.error_kind(error))
            return
        if made is not None:
            log.info("checkpoint_signed", tree_size=made.tree_size, seq=made.seq)

    def overdue(self, now: datetime) -> bool:
        """Whether an entry has waited longer than the grace for a checkpoint (cached 1 s)."""
        checked_at, value = self._guard
        if time.monotonic() - checked_at < GUARD_CACHE_SECONDS:
            return value
        with self._lock:
            pending = self.auditlog.pending_since()
            value = pending is not None and now - pending > self.grace
            self._guard = (time.monotonic(), value)
        return value
