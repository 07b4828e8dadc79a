"""Marshmallow descriptions of what the reads return: audit log, consents, inbox, regie.

Only for the OpenAPI document (the views build these objects themselves):
each names its members, their types and which may be null, so a client
generator and a schema-conformance check can rely on them.
"""

from __future__ import annotations

from marshmallow import Schema, fields

from gateway.domain.vocabulary import HANDOVER_PROFILE


class AuditEntry(Schema):
    index = fields.Integer(required=True)
    time = fields.String(required=True, metadata={"example": "2026-12-01T10:00:00.000000Z"})
    event = fields.String(required=True, metadata={"example": "message.accepted"})
    actor = fields.String(required=True, allow_none=True)
    subject = fields.String(
        required=True, allow_none=True, metadata={"description": "the newcomer's pseudonym"}
    )
    message_id = fields.String(required=True, allow_none=True)
    type = fields.String(required=True, allow_none=True)
    categories_delivered = fields.List(fields.String(), required=True)
    categories_withheld = fields.List(fields.String(), required=True)
    basis = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    processing_activity = fields.String(required=True, allow_none=True)
    trace_id = fields.String(required=True, allow_none=True)
    span_id = fields.String(required=True, allow_none=True)
    outcome = fields.String(required=True, allow_none=True)
    reason = fields.String(required=True, allow_none=True)


class EntryItem(Schema):
    index = fields.Integer(required=True)
    entry = fields.Nested(AuditEntry, required=True)
    leaf_hash = fields.String(required=True, metadata={"description": "RFC 9162 leaf hash, hex"})


class Entries(Schema):
    entries = fields.List(fields.Nested(EntryItem), required=True)


class SubjectEntries(Schema):
    subject = fields.String(required=True, metadata={"description": "the newcomer's pseudonym"})
    entries = fields.List(fields.Nested(EntryItem), required=True)


class AccessReport(SubjectEntries):
    report = fields.String(
        required=True, metadata={"description": "the readable report in the language asked (HTML)"}
    )


class CheckpointResponse(Schema):
    checkpoint = fields.String(required=True, metadata={"description": "compact JWS"})
    seq = fields.Integer(required=True)


class WitnessCosignature(Schema):
    name = fields.String(required=True, metadata={"description": "the witness's key name"})
    cosigned_at = fields.String(required=True, metadata={
        "description": "the cosignature's timestamp (C2SP tlog-cosignature), RFC 3339"})


class Witnessed(Schema):
    seq = fields.Integer(required=True)
    tree_size = fields.Integer(required=True)
    checkpoint = fields.String(required=True, metadata={"description": "compact JWS"})
    note = fields.String(required=True, metadata={
        "description": "the C2SP signed note: the gateway's signature and each witness's "
        "cosignature line"})
    witnesses = fields.List(fields.Nested(WitnessCosignature), required=True)


class CheckpointItem(Schema):
    seq = fields.Integer(required=True)
    checkpoint = fields.String(required=True)
    note = fields.String(required=True, metadata={"description": "the C2SP signed note"})


class CheckpointList(Schema):
    checkpoints = fields.List(fields.Nested(CheckpointItem), required=True)
    next_after = fields.Integer(required=True, allow_none=True)


class InclusionProof(Schema):
    index = fields.Integer(required=True)
    tree_size = fields.Integer(required=True)
    path = fields.List(fields.String(), required=True)


class ConsistencyProof(Schema):
    first = fields.Integer(required=True)
    second = fields.Integer(required=True)
    path = fields.List(fields.String(), required=True)


class ConsentRecord(Schema):
    kind = fields.String(required=True, metadata={"enum": ["declaration", "withdrawal"]})
    declaration_id = fields.String(required=True)
    message_id = fields.String(required=True)
    recorded_by = fields.String(required=True)
    recorded_at = fields.String(required=True)
    sources = fields.List(fields.String())
    categories = fields.List(fields.String())
    purposes = fields.List(fields.String())
    explicit_health_consent = fields.Boolean()
    valid_from = fields.String()
    valid_until = fields.String()
    explained_in_language = fields.String(
        allow_none=True, metadata={"description": "ISO 639; null if recorded before 0.7.0"}
    )
    interpreter_used = fields.Boolean(allow_none=True)
    withdrawn_at = fields.String()
    by = fields.String()


class Consents(Schema):
    consents = fields.List(fields.Nested(ConsentRecord), required=True)


class Subject(Schema):
    v_number = fields.String(required=True, metadata={"example": "1234567890"})
    bsn = fields.String(metadata={"example": "999990019"})


class Delivery(Schema):
    """A delivery, a withdrawal notice or a provider's brief (``type`` says which)."""

    delivery_id = fields.String(required=True)
    type = fields.String(required=True, metadata={"example": HANDOVER_PROFILE})
    message_id = fields.String()
    version = fields.Integer()
    sender = fields.String()
    subject = fields.Nested(Subject)
    issued_at = fields.String()
    received_at = fields.String()
    trace_id = fields.String(metadata={
        "description": "the pull's trace id (its Fsc-Transaction-Id without hyphens, if sent): "
        "ties the kept copy to the pull's audit entry (profile v1.2)"})  # fmt: skip
    body = fields.Dict(metadata={"description": "the categories that may be delivered now"})
    sd_jwt = fields.String(metadata={
        "description": "a version-2 handover profile instead of body: COA's SD-JWT (RFC 9901) "
        "with exactly the disclosures of the categories that may be delivered now, for the "
        "recipient to verify against COA's key (an addition)"})  # fmt: skip
    withheld_categories = fields.List(fields.String())
    supersedes = fields.List(fields.String(), metadata={
        "description": "the earlier deliveries of this message that this one hands out again, "
        "after a consent given later (profile v1.2)"})  # fmt: skip
    delivery_token = fields.String(metadata={"description": "the gateway's JWS over the rest"})


class Profile(Schema):
    """The newest handover profile that placed the newcomer with the caller, read again."""

    message_id = fields.String(required=True)
    type = fields.String(required=True, metadata={"example": HANDOVER_PROFILE})
    version = fields.Integer(required=True)
    sender = fields.String(required=True)
    subject = fields.Nested(Subject, required=True)
    issued_at = fields.String(required=True)
    received_at = fields.String(required=True)
    trace_id = fields.String(
        required=True, metadata={"description": "the read's trace id (profile v1.2)"}
    )
    body = fields.Dict(metadata={
        "description": "the categories that may be delivered now (version 1; a version 2 "
        "carries sd_jwt instead)"})  # fmt: skip
    sd_jwt = fields.String(metadata={
        "description": "a version-2 handover profile instead of body: COA's SD-JWT (RFC 9901) "
        "with exactly the disclosures of the categories that may be delivered now, for the "
        "recipient to verify against COA's key (an addition)"})  # fmt: skip
    withheld_categories = fields.List(fields.String(), required=True)
    profile_token = fields.String(
        required=True,
        metadata={"description": "the gateway's JWS (typ inburgering-profile+jws) over the rest"},
    )


class InboxPage(Schema):
    deliveries = fields.List(fields.Nested(Delivery), required=True)
    next_cursor = fields.Integer(required=True)


class SignalItem(Schema):
    code = fields.String(required=True, metadata={"enum": [
        "no-plan", "no-progress", "low-attendance", "behind-plan", "term-ending", "dropout-risk",
    ]})  # fmt: skip
    since = fields.String(required=True)
    detail = fields.String(required=True, metadata={"description": "in English"})
    values = fields.Dict(required=True, metadata={
        "description": "the numbers detail names, for a page's own words: days (no-plan, "
        "no-progress), ratio (low-attendance), followed and expected (behind-plan), "
        "days_left (term-ending), level (dropout-risk); profile v1.2"})  # fmt: skip


class AssignmentItem(Schema):
    assignment_id = fields.String(required=True)
    provider = fields.String(required=True)
    route = fields.String(required=True)
    valid_from = fields.String(required=True)
    valid_until = fields.String(required=True, allow_none=True)


class HoursTotal(Schema):
    total = fields.Integer(required=True)
    message_id = fields.String(required=True)


PLACED_ON = {"description": "the day the placement's clocks (no-plan) run from"}
PLACED_ON_SOURCE = {
    "enum": ["duo", "coa", "received"],
    "description": "duo: DUO's SS139 or the SS120/SS121 that placed them; coa: the "
    "profile's placement.linked_on; received: the day the gateway accepted the profile",
}


class DueDate(Schema):
    code = fields.String(required=True, metadata={
        "enum": ["no-plan", "no-progress", "term-ending", "consent-ends"]})
    due = fields.String(required=True, metadata={
        "description": "when the signal holds: past, it holds now (its since); future, coming; "
        "for consent-ends, when the declaration runs out"})
    declaration_id = fields.String(metadata={
        "description": "consent-ends only: the declaration that runs out"})
    categories = fields.List(fields.String(), metadata={
        "description": "consent-ends only: the categories it names"})


DUE_DATES = {"description": "when each running clock runs out, soonest first (profile v1.2)"}


class DuoEvent(Schema):
    gebeurtenisId = fields.String(required=True)
    registratieDatumTijd = fields.String(required=True)
    family = fields.String(required=True)
    berichtId = fields.String(required=True)


class DuoToldProgress(Schema):
    """What DUO notified the municipality of, and what DUO answered it (profile v1.2)."""

    events = fields.List(fields.Nested(DuoEvent), required=True)
    previous_plan_exists = fields.Boolean(required=True)
    facts = fields.Dict(required=True, allow_none=True, metadata={
        "description": "DUO's answers (duo-facts), the newest of each member"})  # fmt: skip
    term_ends = fields.String(required=True, allow_none=True)
    learning_route_due = fields.String(required=True, allow_none=True)
    obligation_ended = fields.Dict(required=True, allow_none=True)


class Progress(Schema):
    subject = fields.Nested(Subject, required=True)
    plan = fields.Dict(
        required=True, allow_none=True, metadata={"description": "the newest plan version's body"}
    )
    assignments = fields.List(fields.Nested(AssignmentItem), required=True)
    hours = fields.Dict(keys=fields.String(), values=fields.Nested(HoursTotal), required=True)
    placed_on = fields.String(required=True, metadata=PLACED_ON)
    placed_on_source = fields.String(required=True, metadata=PLACED_ON_SOURCE)
    signals = fields.List(fields.Nested(SignalItem), required=True)
    unknown_signals = fields.List(fields.String(), required=True)
    due_dates = fields.List(fields.Nested(DueDate), required=True, metadata=DUE_DATES)
    duo = fields.Nested(DuoToldProgress, required=True)


class NewcomerSignals(Schema):
    v_number = fields.String(required=True)
    bsn = fields.String()
    placed_at = fields.String(required=True, metadata={"description": "when the gateway "
                              "accepted the placing profile"})  # fmt: skip
    placed_on = fields.String(required=True, metadata=PLACED_ON)
    placed_on_source = fields.String(required=True, metadata=PLACED_ON_SOURCE)
    signals = fields.List(fields.Nested(SignalItem), required=True)
    unknown_signals = fields.List(fields.String(), required=True)
    due_dates = fields.List(fields.Nested(DueDate), required=True, metadata=DUE_DATES)


class SignalsPage(Schema):
    newcomers = fields.List(fields.Nested(NewcomerSignals), required=True)
    next_cursor = fields.Integer(required=True)
