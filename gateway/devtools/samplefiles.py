"""The synthetic sample files under ``connectors/samples/``, made reproducibly.

Run ``python -m connectors.samplefiles`` after a schema change; a test
checks that the committed files are what this module makes, so the samples
can never drift from the schemas they illustrate.
"""

from __future__ import annotations

import json
import random
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from connectors.common import exportfile
from gateway.devtools import synthetic

SAMPLES = Path(__file__).resolve().parents[2] / "connectors" / "samples"
NEWCOMERS = 60
REPORTS = 20
"""the first REPORTS newcomers placed in Leiden get a progress report"""
PLACES = ("GM0546", "GM0344")  # Leiden, Utrecht: the demo's municipalities
LEIDEN = "GM0546"
PROVIDER = "00000001820029336000"  # the demo's provider


def newcomers() -> list[tuple[synthetic.Newcomer, str, dict[str, Any]]]:
    rng = random.Random(20261123)  # noqa: S311 - synthetic data, not secrets
    links = random.Random(20261206)  # noqa: S311 - its own stream: the people stay the same
    people = []
    for _ in range(NEWCOMERS):
        person = synthetic.Newcomer.make(rng)
        place = rng.choice(PLACES)
        profile = synthetic.varied_profile(person, place, rng)
        # COA's koppelingsdatum: two to nine weeks after the permit, as a caseload's are
        permitted = date.fromisoformat(profile["placement"]["permit_date"])
        linked = permitted + timedelta(days=links.randrange(14, 64))
        profile["placement"]["linked_on"] = linked.isoformat()
        people.append((person, place, profile))
    return people


def sample_files() -> dict[str, bytes]:
    """File name → content of every sample file."""
    people = newcomers()
    rng = random.Random(7)  # noqa: S311 - synthetic data, not secrets
    profiles = [profile for _, _, profile in people]
    reports = [
        synthetic.report_row(person, place, rng) for person, place, _ in people if place == LEIDEN
    ][:REPORTS]
    declaration = {
        "sources": ["00000001003214345000", "00000001820029336000"],
        "categories": [
            "education",
            "work_experience",
            "languages",
            "attendance",
            "language_levels",
        ],
        "purposes": ["brede-intake", "pip", "voortgang"],
        "explicit_health_consent": False,
        "valid_from": "2026-11-01T00:00:00Z",
        "valid_until": "2027-11-01T00:00:00Z",
        "signed_on": "2026-11-01",
        "explained_in_language": "ar",
        "interpreter_used": True,
    }
    reported = [person for person, place, _ in people if place == LEIDEN][:REPORTS]
    assignments = "v_number,bsn,provider,route,valid_from,valid_until\n" + "".join(
        f"{p.v_number},{p.bsn},{PROVIDER},b1-route,2026-11-01T00:00:00Z,\n" for p in reported
    )  # the newcomers of progress-reports.csv, so that their reports may come in
    return {
        "assignments.csv": assignments.encode(),
        "coa-export.csv": exportfile.csv_text(profiles).encode(),
        "coa-export.jsonl": exportfile.jsonl_text(profiles).encode(),
        "progress-reports.csv": exportfile.csv_text(reports).encode(),
        "progress-reports.jsonl": exportfile.jsonl_text(reports).encode(),
        "progress-report.json": _json(reports[0]),
        "consent-declaration.json": _json(declaration),
        "consent-form-scan.txt": b"SYNTHETIC stand-in for the scan of a signed consent form.\n",
    }


def _json(value: dict[str, Any]) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode()


def main() -> int:
    SAMPLES.mkdir(exist_ok=True)
    for name, content in sample_files().items():
        (SAMPLES / name).write_bytes(content)
        print(f"wrote {SAMPLES / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
