"""Examples for the OpenAPI document: one per response, synthetic values only.

They show an integrator the shape of each answer at a glance; the schemas
beside them are what a client relies on. No real person is named here (the
V-nummers and BSNs are synthetic; the BSN passes the 11-test).
"""

from __future__ import annotations

from typing import Any

from gateway.domain.vocabulary import HANDOVER_PROFILE, PROGRESS_REPORT

LEIDEN, PROVIDER = "00000001002220647000", "00000001820029336000"
_UUID = "3f2c1a9e-7b4d-4e8f-9a1b-2c3d4e5f6a7b"
_HASH = "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
_JWS = "eyJhbGciOiJFZERTQSIsImtpZCI6Ii4uLiJ9.eyIuLi4iOiIuLi4ifQ.c2lnbmF0dXJl"
_SUBJECT = {"v_number": "1234567890", "bsn": "999990019"}

SIGNALS: dict[str, Any] = {
    "newcomers": [
        {**_SUBJECT, "placed_at": "2026-09-01T10:00:00.000000Z",
         "placed_on": "2026-08-28", "placed_on_source": "coa",
         "signals": [{"code": "no-plan", "since": "2026-11-10T10:00:00.000000Z",
                      "detail": "placed 91 days ago, no plan", "values": {"days": 91}}],
         "unknown_signals": ["low-attendance", "dropout-risk"],
         "due_dates": [{"code": "no-plan", "due": "2026-11-10T10:00:00.000000Z"}]},
    ],
    "next_cursor": 1207,
}  # fmt: skip
PROGRESS: dict[str, Any] = {
    "subject": _SUBJECT,
    "plan": {"plan_id": _UUID, "plan_version": 1, "change_reason": "initial",
             "dated": "2026-11-20", "route": "b1-route", "level": "B1",
             "estimated_hours_b1": 600},
    "assignments": [{"assignment_id": _UUID, "provider": PROVIDER, "route": "b1-route",
                     "valid_from": "2026-11-21T00:00:00Z", "valid_until": None}],
    "hours": {"language_and_knm": {"total": 120, "message_id": _UUID}},
    "placed_on": "2026-08-28", "placed_on_source": "coa",
    "signals": [],
    "unknown_signals": ["dropout-risk"],
    "due_dates": [{"code": "no-progress", "due": "2027-01-16T00:00:00.000000Z"},
                  {"code": "term-ending", "due": "2029-05-21T00:00:00.000000Z"}],
    "duo": {"events": [{"gebeurtenisId": "SS139", "registratieDatumTijd":
                        "2026-08-28T08:00:00.000000Z", "family": "new-obligation",
                        "berichtId": _UUID}],
            "previous_plan_exists": False, "facts": None, "term_ends": None,
            "learning_route_due": "2026-11-06", "obligation_ended": None},
}  # fmt: skip
INBOX: dict[str, Any] = {
    "deliveries": [
        {"delivery_id": _UUID, "message_id": _UUID, "type": HANDOVER_PROFILE, "version": 1,
         "sender": "00000001003214345000", "subject": _SUBJECT,
         "issued_at": "2026-12-01T09:00:00Z", "received_at": "2026-12-01T09:00:01.000000Z",
         "trace_id": "0193b6a0c8f27d3e8a1b2c3d4e5f6071",
         "body": {"identity": {"given_names": "Amina", "family_name": "Voorbeeld"}},
         "withheld_categories": ["health"], "delivery_token": _JWS},
    ],
    "next_cursor": 42,
}  # fmt: skip
CONSENTS: dict[str, Any] = {
    "consents": [
        {"kind": "declaration", "declaration_id": _UUID, "message_id": _UUID,
         "recorded_by": LEIDEN, "sources": [PROVIDER], "categories": ["attendance"],
         "purposes": ["voortgang"], "explicit_health_consent": False,
         "valid_from": "2026-11-01T00:00:00Z", "valid_until": "2027-11-01T00:00:00Z",
         "recorded_at": "2026-11-01T10:00:00.000000Z"},
    ]
}  # fmt: skip
_ENTRY = {
    "index": 7, "time": "2026-12-01T09:00:01.000000Z", "event": "message.accepted",
    "actor": "00000001003214345000", "subject": _HASH, "message_id": _UUID,
    "type": PROGRESS_REPORT, "categories_delivered": [], "categories_withheld": [], "basis": {},
    "processing_activity": "inburgering/voortgang", "trace_id": _HASH[:32],
    "span_id": _HASH[:16], "outcome": "accepted", "reason": None,
}  # fmt: skip
ENTRIES: dict[str, Any] = {"entries": [{"index": 7, "entry": _ENTRY, "leaf_hash": _HASH}]}
SUBJECT_ENTRIES: dict[str, Any] = {"subject": _HASH, **ENTRIES}
ACCESS_REPORT: dict[str, Any] = {
    **SUBJECT_ENTRIES,
    "report": '<!doctype html><html lang="nl" dir="ltr">…</html>',
}
CHECKPOINT: dict[str, Any] = {"checkpoint": _JWS, "seq": 12}
CHECKPOINTS: dict[str, Any] = {
    "checkpoints": [{"seq": 12, "checkpoint": _JWS, "note": "inburgering-gateway\n1208\n…\n"}],
    "next_after": None,
}
INCLUSION: dict[str, Any] = {"index": 7, "tree_size": 1208, "path": [_HASH, _HASH]}
CONSISTENCY: dict[str, Any] = {"first": 1000, "second": 1208, "path": [_HASH, _HASH]}
EXPORT = f'[7,"{_HASH}",{{"actor":"00000001003214345000","...":"..."}}]\n'
WITNESSED: dict[str, Any] = {
    "seq": 12, "tree_size": 4210, "checkpoint": _JWS,
    "note": "inburgering-gateway/1a2b3c4d\n4210\nVdh0cL9gq3Wq3K6pS0mFJ5m8r8tQ2Xj4A1b2C3d4E5Y=\n\n"
    "\u2014 inburgering-gateway/1a2b3c4d Gi0...\n\u2014 witness.auditor.example/w1 q7X...\n",
    "witnesses": [{"name": "witness.auditor.example/w1",
                   "cosigned_at": "2026-12-07T09:00:01.000000Z"}],
}  # fmt: skip
NOTE_KEY = "inburgering-gateway+1a2b3c4d+AQ...\n"
MESSAGE = _JWS
BATCH: dict[str, Any] = {"messages": [_JWS, _JWS]}
