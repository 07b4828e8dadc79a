"""The gateway's LDV logbook: OpenTelemetry spans, written synchronously, fail closed.

The gateway's own ``TracerProvider`` (never the global one, which a library
or an operator's instrumentation may replace or sample), with the
``ALWAYS_ON`` sampler: the draft wants every processing recorded, none
sampled away. The SDK's ``SimpleSpanProcessor`` would do the export
synchronously but swallows its failure (it logs "Exception while exporting
Span" and goes on), and the draft wants each write acknowledged, so a
processor of our own collects a transaction's ended spans and ``record``
exports them in one write and one fsync, raising ServiceUnavailable when
the exporter reports failure: the caller's transaction is rolled back.

The exporter appends JSON lines (``records.line``) to a file, opened for
each write with O_APPEND (workers of one server share it; a rotated file is
reopened at the next write; a path made writable again works at once).
"""

from __future__ import annotations

import contextvars
import errno
import os
import threading
from collections.abc import Sequence
from datetime import datetime
from importlib import metadata
from pathlib import Path

from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import Status

from gateway import logs
from gateway.domain.audit.events import Event
from gateway.errors import ServiceUnavailable
from gateway.ldv import records

log = logs.get("gateway.ldv")

_batch: contextvars.ContextVar[list[ReadableSpan] | None] = contextvars.ContextVar(
    "ldv_batch", default=None
)
_trace: contextvars.ContextVar[int] = contextvars.ContextVar("ldv_trace", default=0)


_CAUSES = {errno.ENOSPC: "disk full", errno.EDQUOT: "disk full", errno.EROFS: "read-only",
           errno.EACCES: "read-only", errno.EPERM: "read-only"}  # fmt: skip


class JsonLinesExporter(SpanExporter):
    """Appends each span as an LDV record (one JSON line) to ``path``, fsynced."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.cause = "error"
        """why the last write failed, in the words health uses (disk full, read-only)"""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        data = b"".join(records.line(span) for span in spans)
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as error:
            log.error("ldv_write_failed", errno=error.errno)  # never the path's or a record's text
            self.cause = _CAUSES.get(error.errno or 0, "error")
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Nothing is held open between writes."""


class _Collect(SpanProcessor):
    """Hands each ended span to the batch of the ``record`` call that made it."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Nothing to do when a span starts."""

    def on_end(self, span: ReadableSpan) -> None:
        batch = _batch.get()
        if batch is not None:
            batch.append(span)


class _TraceIds(IdGenerator):
    """Random span ids; the trace id the request came with (its audit entry's)."""

    def __init__(self) -> None:
        self._random = RandomIdGenerator()

    def generate_span_id(self) -> int:
        return self._random.generate_span_id()

    def generate_trace_id(self) -> int:
        return _trace.get() or self._random.generate_trace_id()


class _Provider(TracerProvider):
    """A TracerProvider that does nothing in a forked child but renew its lock.

    The SDK's own fork handler detects the process's resource again, through a
    ThreadPoolExecutor, in the child of a fork: a child forked from a process
    with threads (the auditor's verifier forks its checkers from the demo, which
    holds services) waits there forever on a lock the fork copied held. Our
    resource is fixed (the service's name and version), so there is nothing to
    detect again.
    """

    def _handle_fork(self) -> None:
        self._tracers_lock = threading.Lock()


class Logbook:
    """The ``ProcessingLog`` port: one LDV record per event that names a newcomer."""

    def __init__(self, exporter: SpanExporter, activities: records.Activities) -> None:
        self.exporter = exporter
        self.activities = activities
        resource = Resource({"service.name": "inburgering-gateway",
                             "service.version": _version()})  # fmt: skip
        self._provider = _Provider(sampler=ALWAYS_ON, resource=resource,
                                        id_generator=_TraceIds())  # fmt: skip
        self._provider.add_span_processor(_Collect())
        self._tracer = self._provider.get_tracer("gateway.ldv")

    def record(self, events: Sequence[Event], now: datetime) -> None:
        """Write a record per event with a subject; raises ServiceUnavailable if it cannot."""
        wanted = [event for event in events if records.recorded(event)]
        if not wanted:
            return
        batch: list[ReadableSpan] = []
        token = _batch.set(batch)
        try:
            at = int(now.timestamp()) * 1_000_000_000 + now.microsecond * 1000
            for event in wanted:
                self._span(event, at)
        finally:
            _batch.reset(token)
        if self.exporter.export(batch) is not SpanExportResult.SUCCESS:
            cause = getattr(self.exporter, "cause", "error")
            raise ServiceUnavailable(f"the processing log (Logboek Dataverwerkingen) cannot be "
                                     f"written ({cause}); nothing was stored")  # fmt: skip

    def _span(self, event: Event, at: int) -> None:
        token = _trace.set(int(event.trace_id, 16))
        try:
            span = self._tracer.start_span(
                event.event,
                context=Context(),
                start_time=at,
                attributes=records.attributes(event, self.activities),
            )
        finally:
            _trace.reset(token)
        span.set_status(Status(records.status(event)))
        span.end(end_time=at)


def _version() -> str:
    try:
        return metadata.version("inburgering-gateway")
    except metadata.PackageNotFoundError:
        return "unknown"
