"""What an LDV record holds: an audit event's processing, in the draft's field names.

The Logboek Dataverwerkingen draft (Logius, "Component: Logboek") names the
record's fields (``trace_id``, ``span_id``, ``name``, ``status_code``,
``start_time``, ``end_time``, ``resource``, ``attributes``) and reserves the
``dpl.core`` attributes: ``processing_activity_id`` (a URI into the register
of processing activities), ``data_subject_id`` (the subject's identifying
code, encrypted) and ``data_subject_id_type``. The subject is the audit
entry's pseudonym, a keyed HMAC of the V-number: never the number, never a
BSN. Entries without a subject are no processing of a newcomer's data and get
no record. Each record names its audit entry (``inburgering.audit_index``; the
same trace and span ids), so the logbook and the log can be held to each other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

PROCESSING_ACTIVITY_ID = "dpl.core.processing_activity_id"
DATA_SUBJECT_ID = "dpl.core.data_subject_id"
DATA_SUBJECT_ID_TYPE = "dpl.core.data_subject_id_type"
EVENT = "inburgering.event"
OUTCOME = "inburgering.outcome"
MESSAGE_TYPE = "inburgering.message_type"
AUDIT_INDEX = "inburgering.audit_index"
"""the audit entry the record is made of: its proof of inclusion is the record's"""

SUBJECT_ID_TYPE = "urn:inburgering-gateway:pseudoniem:hmac-sha256-v-nummer"
"""The pseudonym's type: a keyed HMAC-SHA256 of the V-number, as in the audit log"""

DEFAULT_ACTIVITY_BASE = "urn:inburgering-gateway:verwerkingsactiviteit:"
"""Prefixed to an activity's name (or the policy's relative reference) until the
operator names its register (GATEWAY_LDV_ACTIVITY_BASE)"""


class Activities:
    """Processing activity name (``inburgering/overdracht-coa``) → its URI in the register.

    ``mapped`` is the policy file's ``processing_activities``: an absolute URI is
    taken as it is, anything else is appended to ``base``; a name it lacks is
    appended to ``base`` itself.
    """

    def __init__(self, base: str = DEFAULT_ACTIVITY_BASE,
                 mapped: Mapping[str, str] | None = None) -> None:  # fmt: skip
        self.base = base
        self.mapped = dict(mapped or {})

    def uri(self, name: str) -> str:
        target = self.mapped.get(name, name)
        return target if _absolute(target) else self.base + target


def _absolute(reference: str) -> bool:
    scheme, colon, _ = reference.partition(":")
    return bool(colon) and scheme.isascii() and scheme[:1].isalpha() and "/" not in scheme


def attributes(index: int, entry: Mapping[str, Any], activities: Activities) -> dict[str, Any]:
    """The record's attributes: the ``dpl.core`` three and the gateway's own, of the audit
    entry at ``index`` (which names a newcomer: only those get a record)."""
    found: dict[str, Any] = {
        PROCESSING_ACTIVITY_ID: activities.uri(entry["processing_activity"]),
        DATA_SUBJECT_ID: entry["subject"],
        DATA_SUBJECT_ID_TYPE: SUBJECT_ID_TYPE,
        EVENT: entry["event"],
        OUTCOME: entry["outcome"],
        AUDIT_INDEX: index,
    }
    if entry.get("type") is not None:
        found[MESSAGE_TYPE] = entry["type"]
    return found


def status(entry: Mapping[str, Any]) -> StatusCode:
    """OK for a processing done; UNSET for a refusal, as the draft has a client's error
    (4xx) UNSET and keeps ERROR for the server's own failures, which leave no entry."""
    return StatusCode.UNSET if entry["outcome"] == "refused" else StatusCode.OK


def line(span: ReadableSpan) -> bytes:
    """One record as a JSON line, in the draft's field names; times in milliseconds."""
    context = span.get_span_context()
    assert context is not None
    record: dict[str, Any] = {
        "trace_id": format(context.trace_id, "032x"),
        "span_id": format(context.span_id, "016x"),
        "parent_span_id": format(span.parent.span_id, "016x") if span.parent else None,
        "name": span.name,
        "start_time": (span.start_time or 0) // 1_000_000,
        "end_time": (span.end_time or 0) // 1_000_000,
        "status_code": f"STATUS_CODE_{span.status.status_code.name}",
        "resource": {"attributes": dict(span.resource.attributes)},
        "attributes": dict(span.attributes or {}),
    }
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode() + b"\n"
