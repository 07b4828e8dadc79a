"""The gateway's LDV logbook: a record per audit entry that names a newcomer, fsynced.

Records are made from the audit entries after their transaction commits
(``service.ldvexport`` hands them over in batches): the entry is the
record's durable copy, written atomically with the processing it records,
and carries what the record needs: the trace id the request came with, a
span id of its own (so a record written twice is recognisably one), the
event, outcome, type, processing activity and pseudonym. Each record is an
OpenTelemetry ``ReadableSpan`` built from the entry, handed to a
``SpanExporter`` (an operator can plug another, as OTLP); ours appends JSON
lines (``records.line``) to a file opened for each write with O_APPEND (a
rotated file is reopened at the next write; a path made writable again
works at once), one write and one fsync a batch.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Sequence
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import SpanContext, Status, TraceFlags

from gateway import logs
from gateway.errors import LogbookUnwritable
from gateway.ldv import records

log = logs.get("gateway.ldv")

_CAUSES = {errno.ENOSPC: "disk full", errno.EDQUOT: "disk full", errno.EROFS: "read-only",
           errno.EACCES: "read-only", errno.EPERM: "read-only"}  # fmt: skip
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_TAIL = 65536
"""bytes read from the file's end to find its last record (a record is under 1 KiB)"""


class JsonLinesExporter(SpanExporter):
    """Appends each span as an LDV record (one JSON line) to ``path``, fsynced."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.cause = "error"
        """why the last write failed, in the words health uses (disk full, read-only)"""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        data = b"".join(records.line(span) for span in spans)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data  # a line torn by a crash stays a line of its own
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

    def last(self) -> dict[str, Any] | None:
        """The file's last record, if it has one that reads (a torn last line does not),
        made durable first: a killed writer's lines may be in the page cache only, and the
        takeover moves the cursor past what it finds here."""
        try:
            with open(self.path, "rb") as file:
                file.seek(max(0, file.seek(0, os.SEEK_END) - _TAIL))
                lines = file.read(_TAIL).splitlines()  # bounded: a device has no end
                os.fsync(file.fileno())
            return dict(json.loads(lines[-1])) if lines else None
        except (OSError, ValueError, TypeError):
            return None

    def shutdown(self) -> None:
        """Nothing is held open between writes."""


class Logbook:
    """The ``ProcessingLog`` port: one LDV record per audit entry that names a newcomer."""

    def __init__(self, exporter: SpanExporter, activities: records.Activities) -> None:
        self.exporter = exporter
        self.activities = activities
        self.resource = Resource({"service.name": "inburgering-gateway",
                                  "service.version": _version()})  # fmt: skip

    def write(self, entries: Sequence[tuple[int, bytes]]) -> None:
        """Write the records of ``entries`` (index, stored bytes) in one export; raises
        LogbookUnwritable (why: disk full, read-only) when the exporter fails."""
        spans = [self._span(index, json.loads(data)) for index, data in entries]
        if spans and self.exporter.export(spans) is not SpanExportResult.SUCCESS:
            raise LogbookUnwritable(getattr(self.exporter, "cause", "error"))

    def last(self) -> tuple[int, str] | None:
        """(audit index, span id) of the newest record the exporter holds, where it can tell
        (a file it can read back); the takeover of a killed exporter starts after it."""
        reader = getattr(self.exporter, "last", None)
        record = reader() if reader is not None else None
        attributes = record.get("attributes") if isinstance(record, dict) else None
        if record is None or not isinstance(attributes, dict):
            return None
        try:
            return int(attributes[records.AUDIT_INDEX]), str(record["span_id"])
        except (KeyError, TypeError, ValueError):
            return None

    def _span(self, index: int, entry: dict[str, Any]) -> ReadableSpan:
        at = _nanoseconds(entry["time"])
        context = SpanContext(int(entry["trace_id"], 16), int(entry["span_id"], 16),
                              is_remote=False, trace_flags=_SAMPLED)  # fmt: skip
        return ReadableSpan(
            name=entry["event"], context=context, resource=self.resource,
            attributes=records.attributes(index, entry, self.activities),
            status=Status(records.status(entry)), start_time=at, end_time=at,
        )  # fmt: skip


def _nanoseconds(time: str) -> int:
    moment = datetime.fromisoformat(time)
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def _version() -> str:
    try:
        return metadata.version("inburgering-gateway")
    except metadata.PackageNotFoundError:
        return "unknown"
