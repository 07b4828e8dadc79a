"""The report's message ids (English), for the catalogues; translated where they are shown."""

from __future__ import annotations

from gateway.domain import vocabulary as v

TITLE = "Who received which data about you?"
INTRO = (
    "This overview shows everything the civic integration gateway recorded about you "
    "(V-number {v_number}). It was made on {made_at}; times are Dutch time."
)
HAPPENED = "What happened"
WHEN = "When"
WHAT = "What"
NOTHING = "Nothing has been recorded about you."
SHARED = "Shared by law, and shared with your consent"
SHARED_BY_LAW = "Given by law, without asking you: {parts}."
SHARED_WITH_CONSENT = "Given only because you consented: {parts}."
SHARED_NOTHING = "Nothing about you has been given to anyone yet."
WITHDRAW_TITLE = "If you withdraw your consent"
WITHDRAW = (
    "You may withdraw your consent at any time, at your municipality. From that moment the "
    "gateway gives nothing more on the basis of that consent. What was given before was given "
    "lawfully, but everyone who received it is told that they may no longer use it and must "
    "remove it; the lines above say who was told."
)
RIGHTS_TITLE = "Your rights"
RIGHTS = (
    "You may see the data about you (this overview is part of that), have wrong data "
    "corrected, and have data removed or its use limited where the law allows it. You may "
    "object to its use. If you are not satisfied with the answer, you may complain to the "
    "Dutch Data Protection Authority (Autoriteit Persoonsgegevens)."
)
CONTACT_TITLE = "Questions?"
CONTACT_DEFAULT = (
    "Ask your client manager at your municipality, or the municipality's data protection "
    "officer (functionaris gegevensbescherming)."
)
PROOF = "Every line comes from a tamper-evident log that an independent auditor can check."
REVIEW = (
    "This translation has not yet been checked by a native speaker. If anything is unclear, "
    "the Dutch version is the one that counts."
)

SENT = "{who} sent {what}."
PLANNED = "{who} decided your integration plan."
BRIEFED = "{who} received the summary of your plan: route, level, hours."
RECEIVED = "{who} received {what}."
BY_LAW = "By law ({law}): {parts}."
WITH_CONSENT = "With your consent of {date}: {parts}."
WITH_CONSENT_UNDATED = "With your consent: {parts}."
NOT_GIVEN = "Not given: {parts}."
REFUSED = "A message from {who} was refused."
REFUSED_BECAUSE = "A message from {who} was refused: {reason}."
TOLD = "{who} was told that you withdrew your consent, and may no longer use: {parts}."
UNKNOWN = "an unknown party"
MESSAGE = "a message"

EVENTS = {
    "consent.recorded": "{who} recorded your consent.",
    "consent.withdrawn": "{who} recorded that you withdrew your consent.",
    "audit.read": "{who} looked at the log about you.",
    "regie.read": "{who} looked at the progress of your integration.",
}
TYPES = {
    v.HANDOVER_PROFILE: "your handover file (blue folder)",
    v.PROGRESS_REPORT: "a progress report on your integration",
    v.PROVIDER_ASSIGNMENT: "the assignment of your course provider",
    v.CONSENT_DECLARATION: "your consent declaration",
    v.CONSENT_WITHDRAWAL: "the withdrawal of your consent",
    v.INTEGRATION_PLAN: "your integration and participation plan (PIP)",
    v.DUO_NOTIFICATION: "a notification from DUO about your civic integration",
    v.DUO_FACTS: "what DUO told your municipality about your civic integration",
}
CATEGORIES = {
    "identity": "identity",
    "placement": "placement and housing",
    "family": "family",
    "education": "education",
    "work_experience": "work experience",
    "languages": "languages",
    "interests": "interests and ambitions",
    "health": "health",
    "casemanager_notes": "case manager's notes",
    "enrolment": "enrolment",
    "attendance": "attendance",
    "language_levels": "language levels",
    "exams": "exams",
    "modules": "modules",
    "signals": "signals",
    "hours": "hours followed",
    "plan": "the summary of your plan: route, level, hours",
    "participation_goals": "your participation goals",
    "consent-record": "the record of your consent",
    "assignment": "the assignment of your course provider",
    "duo-event": "what DUO registered about your civic integration, and when",
    "duo-answer": "your term, test and exam results and exemptions as DUO keeps them",
}
REASONS = {
    "not-authorised": "the sender was not allowed to send it",
    "schema-violation": "the message was incomplete or wrong",
    "replay": "the message was too old",
    "conflict": "it conflicted with an earlier message",
}
LAWS = {
    "Wi2021": "the Civic Integration Act 2021 (Wet inburgering 2021), article {article}",
    "Bi2021": "the Civic Integration Decree 2021 (Besluit inburgering 2021), article {article}",
    "AVG": "the General Data Protection Regulation (AVG), article {article}",
}

REPEATED = {
    EVENTS["regie.read"]: (
        "{who} looked at the progress of your integration, once on {day}.",
        "{who} looked at the progress of your integration, {count} times on {day}.",
    ),
    EVENTS["audit.read"]: (
        "{who} looked at the log about you, once on {day}.",
        "{who} looked at the log about you, {count} times on {day}.",
    ),
    RECEIVED: (
        "{who} received {what}, once on {day}.",
        "{who} received {what}, {count} times on {day}.",
    ),
    BRIEFED: (
        "{who} received the summary of your plan (route, level, hours), once on {day}.",
        "{who} received the summary of your plan (route, level, hours), {count} times on {day}.",
    ),
}
"""A read's sentence → its (singular, plural) for the same party's repeated reads on one
Dutch calendar day, said once with a count (the log itself keeps every read)"""
