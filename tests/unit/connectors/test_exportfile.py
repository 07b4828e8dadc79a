"""Export files: CSV and JSON Lines read to the same rows, bad cells named by row and column."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.coa import handover as coa
from connectors.common import exportfile, submission
from connectors.common.addressing import Municipalities
from connectors.common.exportfile import ExportFileError, RowError
from connectors.provider import reports as provider
from gateway.devtools import samplefiles, synthetic
from gateway.domain.schemas import Catalog

LEIDEN, UTRECHT = "00000001002220647000", "00000001002220650000"
MUNICIPALITIES = Municipalities(
    [
        {"oin": LEIDEN, "role": "municipality", "municipality_code": "GM0546"},
        {"oin": UTRECHT, "role": "municipality", "municipality_code": "GM0344"},
    ]
)
PROFILE = exportfile.body_schema("handover-profile")


def test_the_committed_samples_are_what_the_generator_makes() -> None:
    for name, content in samplefiles.sample_files().items():
        assert (samplefiles.SAMPLES / name).read_bytes() == content, (
            f"{name} is stale: run python -m connectors.samplefiles"
        )


@pytest.mark.parametrize(
    ("stem", "type_", "build"),
    [
        ("coa-export", "handover-profile", coa.builder("00000001003214345000", MUNICIPALITIES)),
        ("progress-reports", "progress-report", provider.builder("0" * 19 + "1", MUNICIPALITIES)),
    ],
)
def test_csv_and_jsonl_samples_are_the_same_valid_messages(
    stem: str, type_: str, build: submission.Build, catalog: Catalog
) -> None:
    schema = exportfile.body_schema(type_)
    from_csv = list(exportfile.read_rows(samplefiles.SAMPLES / f"{stem}.csv", schema))
    from_jsonl = list(exportfile.read_rows(samplefiles.SAMPLES / f"{stem}.jsonl", schema))
    assert len(from_csv) >= 20 and [r.data for r in from_csv] == [r.data for r in from_jsonl]
    now = datetime.now(UTC)
    payloads = [submission._prepare(row, build, now, catalog) for row in from_csv]
    assert all(isinstance(p, dict) for p in payloads), [
        p for p in payloads if not isinstance(p, dict)
    ]
    ids = [p["message_id"] for p in payloads if isinstance(p, dict)]
    assert len(set(ids)) == len(ids)
    again = [submission._prepare(row, build, now, catalog) for row in from_jsonl]
    assert [p["message_id"] for p in again if isinstance(p, dict)] == ids


def test_coa_sample_has_at_least_50_newcomers_in_both_municipalities() -> None:
    rows = list(exportfile.read_rows(samplefiles.SAMPLES / "coa-export.csv", PROFILE))
    assert len(rows) >= 50
    assert {r.data["placement"]["municipality_code"] for r in rows if r.data} == {
        "GM0546",
        "GM0344",
    }


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "export.csv"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("cell", "column", "reason"),
    [
        ("twelve", "education.years", "not an integer"),
        ("yes", "education.literate_latin_script", "not true or false"),
        ("[{", "family.members", "not valid JSON"),
        ("Electrician", "work_experience.positions", "not valid JSON"),
        ("-", "placement.taakstelling.year", "not an integer"),
    ],
)
def test_a_bad_cell_is_named_by_row_and_column_never_by_value(
    tmp_path: Path, cell: str, column: str, reason: str
) -> None:
    path = _csv(tmp_path, f"identity.v_number,{column}\n1234567890,\n1234567891,{cell}\n")
    rows = list(exportfile.read_rows(path, PROFILE))
    assert rows[0].error is None
    error = rows[1].error
    assert isinstance(error, RowError)
    assert (error.row, error.field, error.reason) == (2, column, reason)
    assert cell not in str(error)


def test_an_unknown_column_refuses_the_file(tmp_path: Path) -> None:
    path = _csv(tmp_path, "identity.v_number,identity.shoe_size\n1234567890,44\n")
    with pytest.raises(ExportFileError, match=r"identity\.shoe_size"):
        list(exportfile.read_rows(path, PROFILE))


def test_an_unsupported_file_type_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ExportFileError):
        list(exportfile.read_rows(tmp_path / "export.xlsx", PROFILE))


def test_rows_round_trip_through_csv(tmp_path: Path) -> None:
    rng = random.Random(11)
    rows = []
    for _ in range(30):
        person = synthetic.Newcomer.make(rng)
        rows.append(synthetic.varied_profile(person, "GM0546", rng))
    path = _csv(tmp_path, exportfile.csv_text(rows))
    assert [r.data for r in exportfile.read_rows(path, PROFILE)] == rows


def test_the_message_id_follows_the_content_not_the_time() -> None:
    build = coa.builder("00000001003214345000", MUNICIPALITIES)
    row = samplefiles.newcomers()[0][2]
    early = build(1, row, datetime(2026, 11, 1, tzinfo=UTC))
    late = build(1, row, datetime(2026, 11, 23, tzinfo=UTC))
    assert submission.derived_message_id(early) == submission.derived_message_id(late)
    changed = {**row, "interests": {"hobbies": ["Chess"]}}
    assert submission.derived_message_id(build(1, changed, datetime.now(UTC))) != (
        submission.derived_message_id(early)
    )


def test_an_unknown_municipality_code_is_a_row_error() -> None:
    with pytest.raises(RowError, match="no municipality with this code or OIN is registered"):
        MUNICIPALITIES.oin(3, "placement.municipality_code", "GM9999")
    with pytest.raises(RowError, match="not an OIN"):
        MUNICIPALITIES.oin(3, "recipient", "Leiden")
    assert MUNICIPALITIES.oin(3, "recipient", "GM0344") == UTRECHT
