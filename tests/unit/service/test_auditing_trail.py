"""Reading a newcomer's trail as use cases over the fake log: the auditors' subject
read, the operator's access report, the placing municipality's own copy, and who may
read them.

Each read is an ``audit.read`` entry naming the reader, what was read and the
newcomer's pseudonym: never the V-nummer or the BSN. The log itself (checkpoints,
entries, proofs) is in ``test_auditing``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.domain import report
from gateway.domain.audit.events import format_time
from gateway.domain.schemas import Catalog
from gateway.errors import BadRequest, NotAuthorised
from gateway.service import auditing
from gateway.service.services import Services
from tests.unit.service.audit_world import (
    HELD,
    as_role,
    audit_log,
    expected_read,
    held_log,
    no_personal_data_recorded,
    reads,
)
from tests.unit.service.fakes import (
    AUDITOR,
    BSN_ANNA,
    LEIDEN,
    NOW,
    TRACE,
    UTRECHT,
    V_ANNA,
    V_BORIS,
    stored,
)


@pytest.fixture
def services(catalog: Catalog, tmp_path: Path) -> Services:
    return held_log(catalog, tmp_path)


# -- a newcomer's trail


def test_a_subject_read_gives_their_entries_and_is_entered_under_their_pseudonym(
    services: Services,
) -> None:
    anna = services.pseudonym(V_ANNA)
    pseudonym, found = auditing.subject_entries(services, AUDITOR, V_ANNA, NOW, TRACE)
    assert pseudonym == anna
    assert [e["index"] for e in found] == [0, 1, 4]
    assert all(e["entry"]["subject"] == anna for e in found)
    assert reads(services) == [expected_read(services, "subject-access", anna)]
    _, again = auditing.subject_entries(services, AUDITOR, V_ANNA, NOW, TRACE)
    assert [e["index"] for e in again] == [0, 1, 4, HELD]  # the auditor's read is in her trail
    no_personal_data_recorded(services)


@pytest.mark.parametrize("v_number", ["V000000001", "123", "12345678901"])
def test_a_subject_read_with_a_bad_v_number_is_refused_and_not_entered(
    services: Services, v_number: str
) -> None:
    with pytest.raises(BadRequest):
        auditing.subject_entries(services, AUDITOR, v_number, NOW, TRACE)
    assert "subject_entries" not in audit_log(services).calls
    assert reads(services) == []


def test_the_operators_access_report_covers_the_newcomers_entries(services: Services) -> None:
    html, count = auditing.access_report(services, V_ANNA, NOW, "en")
    assert count == 3
    assert V_ANNA in html  # the newcomer's own copy names them
    assert V_BORIS not in html
    assert 'lang="en"' in html


@pytest.mark.parametrize("language", ["de", "", "NL"])
def test_a_report_in_a_language_not_offered_is_refused(services: Services, language: str) -> None:
    with pytest.raises(BadRequest):
        auditing.access_report(services, V_ANNA, NOW, language)
    stored(services, V_ANNA, placed_with=LEIDEN)
    with pytest.raises(BadRequest):
        auditing.own_copy(services, LEIDEN, V_ANNA, language, NOW, TRACE)
    assert "subject_entries" not in audit_log(services).calls
    assert reads(services) == []


@pytest.mark.parametrize("language", report.LANGUAGES)
def test_the_own_copy_is_the_trail_and_the_report_for_the_placing_municipality(
    services: Services, language: str
) -> None:
    stored(services, V_ANNA, placed_with=LEIDEN)
    anna = services.pseudonym(V_ANNA)
    before = audit_log(services).subject_entries(anna)
    copy = auditing.own_copy(services, LEIDEN, V_ANNA, language, NOW, TRACE)
    assert copy["subject"] == anna
    assert copy["entries"] == before  # as the auditors' subject read gives them
    assert V_ANNA in copy["report"] and f'lang="{language}"' in copy["report"]
    assert ('dir="rtl"' in copy["report"]) == (language == "ar")
    assert reads(services) == [
        {
            "index": HELD,
            "reason": auditing.SUBJECT_ACCESS,
            "actor": LEIDEN.oin,
            "subject": anna,
            "processing_activity": auditing.SUBJECT_ACCESS,
        }
    ]
    no_personal_data_recorded(services)


@pytest.mark.parametrize("where", ["elsewhere", "nowhere"])
def test_the_own_copy_of_a_newcomer_not_placed_with_the_caller_is_refused(
    services: Services, where: str
) -> None:
    if where == "elsewhere":
        stored(services, V_ANNA, placed_with=UTRECHT)
    with pytest.raises(NotAuthorised):
        auditing.own_copy(services, LEIDEN, V_ANNA, "nl", NOW, TRACE)
    assert "subject_entries" not in audit_log(services).calls  # their trail was not read
    assert reads(services) == []


def test_no_read_of_any_kind_records_a_v_number_or_bsn(services: Services) -> None:
    stored(services, V_ANNA, placed_with=LEIDEN, bsn=BSN_ANNA)
    auditing.checkpoint(services, AUDITOR, NOW, TRACE)
    auditing.checkpoint_list(services, AUDITOR, 0, NOW, TRACE)
    auditing.entries(services, AUDITOR, 0, 3, NOW, TRACE)
    list(auditing.export(services, AUDITOR, 0, 3, NOW, TRACE))
    auditing.inclusion(services, AUDITOR, 0, 3, NOW, TRACE)
    auditing.consistency(services, AUDITOR, 1, 3, NOW, TRACE)
    auditing.subject_entries(services, AUDITOR, V_BORIS, NOW, TRACE)
    auditing.own_copy(services, LEIDEN, V_ANNA, "nl", NOW, TRACE)
    auditing.access_report(services, V_ANNA, NOW)
    entered = reads(services)
    assert len(entered) == 8
    assert {r["subject"] for r in entered} == {
        None,
        services.pseudonym(V_BORIS),
        services.pseudonym(V_ANNA),
    }
    assert all(e["time"] == format_time(NOW) for e in audit_log(services).entries()[HELD:])
    no_personal_data_recorded(services)


# -- who may read (the policy checks of #27 item 2)


@pytest.mark.parametrize("role", ["auditor", "provider", "coa"])
def test_the_own_copy_is_for_the_placing_municipality_only(services: Services, role: str) -> None:
    stored(services, V_ANNA, placed_with=LEIDEN)
    with pytest.raises(NotAuthorised):
        auditing.own_copy(services, as_role(role), V_ANNA, "nl", NOW, TRACE)
    assert reads(services) == [] and audit_log(services).calls == []
