"""Synthetic newcomers and message bodies, for the demo, tests and benchmarks.

Only made-up people: BSNs start with 99 and pass the 11-test, V-nummers are
random digits, names are common first names and invented family names.
Deterministic for a given seed. Must not import Flask or SQL.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.domain.schemas import is_bsn

GIVEN = [
    "Amina",
    "Yusuf",
    "Sara",
    "Omar",
    "Noor",
    "Ali",
    "Lina",
    "Hassan",
    "Maryam",
    "Samir",
    "Fatima",
    "Ahmad",
    "Rania",
    "Karim",
    "Dina",
    "Tarek",
    "Huda",
    "Bilal",
    "Leila",
    "Nabil",
]
FAMILY = ["Testperson", "Voorbeeld", "Fictief", "Demodata", "Proefnaam", "Synthetica"]
COUNTRIES = ["SYR", "ERI", "AFG", "TUR", "YEM", "IRQ", "SOM", "IRN"]


def bsn(rng: random.Random) -> str:
    """A BSN that passes the 11-test and starts with 99 (never issued to a person)."""
    while True:
        candidate = "99" + "".join(str(rng.randrange(10)) for _ in range(7))
        if is_bsn(candidate):
            return candidate


def v_number(rng: random.Random) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(10))


@dataclass(frozen=True)
class Newcomer:
    v_number: str
    bsn: str | None
    """None: COA gave no BSN (not yet registered in the BRP)"""
    given_names: str
    family_name: str
    birth_date: str
    country: str

    @classmethod
    def make(cls, rng: random.Random) -> Newcomer:
        birth = datetime(1960, 1, 1) + timedelta(days=rng.randrange(45 * 365))
        return cls(
            v_number=v_number(rng),
            bsn=bsn(rng),
            given_names=rng.choice(GIVEN),
            family_name=rng.choice(FAMILY),
            birth_date=birth.date().isoformat(),
            country=rng.choice(COUNTRIES),
        )

    @property
    def subject(self) -> dict[str, str]:
        return {"v_number": self.v_number, **({"bsn": self.bsn} if self.bsn else {})}


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def payload(
    type_: str,
    body: dict[str, Any],
    *,
    sender: str,
    recipient: str,
    newcomer: Newcomer,
    issued_at: datetime,
    message_id: str | None = None,
) -> dict[str, Any]:
    """A message payload of the contract around ``body``."""
    return {
        "message_id": message_id or str(uuid.uuid4()),
        "type": type_,
        "version": 1,
        "sender": sender,
        "recipient": recipient,
        "subject": newcomer.subject,
        "issued_at": utc(issued_at),
        "body": body,
    }


def handover_profile(
    newcomer: Newcomer, municipality_code: str, rng: random.Random
) -> dict[str, Any]:
    """A full blue-folder profile (about 2-3 KB of JSON)."""
    return {
        "identity": {
            "given_names": newcomer.given_names,
            "family_name": newcomer.family_name,
            "birth_date": newcomer.birth_date,
            "gender": rng.choice(["female", "male"]),
            "nationalities": [newcomer.country],
            "country_of_birth": newcomer.country,
            "v_number": newcomer.v_number,
            **({"bsn": newcomer.bsn} if newcomer.bsn else {}),
        },
        "placement": {
            "municipality_code": municipality_code,
            "permit_date": "2026-09-14",
            "taakstelling": {"year": 2026, "half": 2},
            "housing_status": "in-azc",
            "housing_needs": ["ground-floor"],
        },
        "family": {
            "members": [
                {
                    "relation": "partner",
                    "birth_year": 1990,
                    "in_household": True,
                    "joining_later": True,
                },
                {
                    "relation": "child",
                    "birth_year": 2018,
                    "in_household": True,
                    "joining_later": False,
                },
            ]
        },
        "education": {
            "highest_level": "vocational",
            "country": newcomer.country,
            "years": 12,
            "diplomas": [
                {
                    "title": "Electrical installation",
                    "level": "vocational",
                    "country": newcomer.country,
                    "year": 2012,
                    "evaluated": False,
                }
            ],
            "literate_latin_script": True,
        },
        "work_experience": {
            "positions": [
                {
                    "occupation": "Electrician",
                    "sector": "Construction",
                    "years": 8,
                    "country": newcomer.country,
                },
                {"occupation": "Shop assistant", "sector": "Retail", "years": 2, "country": "TUR"},
            ]
        },
        "languages": {
            "spoken": [{"language": "ar", "native": True}, {"language": "en", "native": False}],
            "dutch": {"listening": "A1", "reading": "A1", "speaking": "A0", "writing": "A0"},
            "english": {"listening": "B1", "reading": "B1", "speaking": "A2", "writing": "A2"},
        },
        "interests": {
            "ambitions": ["Work as an electrician again", "Obtain a Dutch driving licence"],
            "hobbies": ["Football", "Cooking"],
            "capacities": ["Technical skills", "Teamwork"],
        },
        "health": {
            "follow_up_notes": "Synthetic note: follow-up by GP advised.",
            "ggd_referral": True,
            "adaptations_needed": ["Short breaks during lessons"],
        },
        "casemanager_notes": {
            "nt2_lessons_hours": 120,
            "knm_followed": True,
            "intro_map_done": False,
            "intro_pvt_done": False,
            "notes": "Synthetic note: motivated, attended all azc lessons.",
        },
    }


def progress_report(provider: str) -> dict[str, Any]:
    return {
        "enrolment": {
            "route": "b1-route",
            "provider": provider,
            "period": {"from": "2026-10-01", "until": "2027-09-30"},
            "status": "active",
        },
        "attendance": {
            "hours_planned": 120,
            "hours_attended": 104,
            "absences": [{"date": "2026-10-14", "hours": 4, "reason": "illness"}],
        },
        "language_levels": {
            "assessments": [
                {"skill": "reading", "level": "A2", "date": "2026-11-01", "method": "test"}
            ]
        },
        "exams": {"results": [{"exam": "knm", "result": "scheduled", "date": "2027-01-15"}]},
        "modules": {"items": [{"name": "MAP", "status": "in-progress"}]},
        "signals": {"dropout_risk": "low", "referral_advice": "none", "step_down_advice": False},
    }


def provider_assignment(
    provider: str,
    valid_from: datetime,
    assignment_id: str | None = None,
    valid_until: datetime | None = None,
    status: str = "active",
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "assignment_id": assignment_id or str(uuid.uuid4()),
        "provider": provider,
        "route": "b1-route",
        "valid_from": utc(valid_from),
        "status": status,
    }
    if valid_until is not None:
        body["valid_until"] = utc(valid_until)
    return body


def consent_declaration(
    granted_to: str,
    sources: list[str],
    categories: list[str],
    valid_from: datetime,
    *,
    explicit_health: bool = False,
    days: int = 365,
    declaration_id: str | None = None,
    purposes: tuple[str, ...] = ("brede-intake", "pip"),
) -> dict[str, Any]:
    return {
        "declaration_id": declaration_id or str(uuid.uuid4()),
        "granted_to": granted_to,
        "sources": sources,
        "categories": categories,
        "purposes": list(purposes),
        "explicit_health_consent": explicit_health,
        "valid_from": utc(valid_from),
        "valid_until": utc(valid_from + timedelta(days=days)),
        "signed_on": valid_from.date().isoformat(),
        "evidence_sha256": "ab" * 32,
        "explained_in_language": "ar",
        "interpreter_used": True,
    }


def varied_profile(
    newcomer: Newcomer, municipality_code: str, rng: random.Random
) -> dict[str, Any]:
    """A handover profile that differs from person to person, as a real export does:
    other housing, schooling, languages and family, and optional sections left out."""
    body = handover_profile(newcomer, municipality_code, rng)
    body["placement"]["housing_status"] = rng.choice(["in-azc", "housing-offered", "housed"])
    body["placement"]["housing_needs"] = rng.sample(
        ["ground-floor", "large-household", "near-education", "single-room"], rng.randrange(0, 3)
    )
    body["education"]["highest_level"] = rng.choice(
        ["primary", "lower-secondary", "upper-secondary", "vocational", "bachelor", "master"]
    )
    body["education"]["years"] = rng.randrange(4, 18)
    body["education"]["literate_latin_script"] = rng.random() < 0.7
    levels = ["A0", "A1", "A2"]
    body["languages"]["dutch"] = {
        skill: rng.choice(levels) for skill in ("listening", "reading", "speaking", "writing")
    }
    body["family"]["members"] = body["family"]["members"][: rng.randrange(0, 3)]
    body["casemanager_notes"]["nt2_lessons_hours"] = rng.randrange(0, 200, 10)
    for optional in ("health", "interests", "work_experience"):
        if rng.random() < 0.3:
            del body[optional]
    return body


def report_row(newcomer: Newcomer, recipient: str, rng: random.Random) -> dict[str, Any]:
    """A progress-report export row: the report's sections, the subject and the recipient.

    ``enrolment.provider`` is left to the connector (it is the sending provider).
    """
    body = progress_report("0" * 20)
    del body["enrolment"]["provider"]
    planned = rng.randrange(40, 200, 8)
    body["attendance"]["hours_planned"] = planned
    body["attendance"]["hours_attended"] = planned - rng.randrange(0, 40, 4)
    body["signals"]["dropout_risk"] = rng.choice(["low", "low", "medium", "high"])
    return {"subject": newcomer.subject, "recipient": recipient, **body}


def integration_plan(plan_id: str, version: int = 1, **members: Any) -> dict[str, Any]:
    """A plan (PIP) body on the b1-route at B1; ``members`` replace, ``None`` leaves one out."""
    body: dict[str, Any] = {
        "plan_id": plan_id,
        "plan_version": version,
        "change_reason": "initial" if version == 1 else "schakelen",
        "dated": "2026-11-20",
        "route": "b1-route",
        "level": "B1",
        "estimated_hours_b1": 600,
        "may_finish_current_education": False,
        "literacy": "NVT",
        "components": ["knm", "map", "pvt"],
    }
    return {k: v for k, v in {**body, **members}.items() if v is not None}
