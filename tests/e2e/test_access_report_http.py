"""The newcomer's own copy through the contract: the placing municipality, four languages."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from gateway.devtools import demo, synthetic
from gateway.devtools.serverproc import ServerProcess
from gateway.errors import BadRequest, NotAuthorised
from tests.conftest import services_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def placed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[demo.Cast, str]]:
    folder = tmp_path_factory.mktemp("access-report")
    with ServerProcess(
        folder / "instance",
        env={"GATEWAY_REPORT_CONTACT": "Gemeente Leiden, loket inburgering, 071 516 5000"},
    ) as server:
        cast = demo.register_cast(services_for(server.instance), server.url, datetime.now(UTC))
        rng, now = random.Random(31_000), datetime.now(UTC)
        person = synthetic.Newcomer.make(rng)
        coa, leiden = cast.client(demo.COA), cast.client(demo.LEIDEN)
        coa.submit(coa.sign(demo.profile(person, rng, now)))
        declaration = synthetic.consent_declaration(
            demo.LEIDEN, [demo.COA], ["family"], now - timedelta(minutes=1)
        )
        leiden.submit(
            leiden.sign(
                synthetic.payload(
                    "consent-declaration",
                    declaration,
                    sender=demo.LEIDEN,
                    recipient=demo.LEIDEN,
                    newcomer=person,
                    issued_at=now,
                )
            )
        )
        page = leiden.get_json("/v1/inbox")
        for delivery in page["deliveries"]:
            leiden.ack(delivery["delivery_id"])
        yield cast, person.v_number


@pytest.mark.parametrize("language", ["nl", "en", "ar", "tr"])
def test_the_placing_municipality_gets_the_report_in_each_language(
    placed: tuple[demo.Cast, str], language: str
) -> None:
    cast, v_number = placed
    answer = cast.client(demo.LEIDEN).get_json(
        f"/v1/newcomers/{v_number}/access-report", lang=language
    )
    assert len(answer["subject"]) == 64 and answer["entries"]
    html = answer["report"]
    assert f'lang="{language}"' in html and v_number in html
    assert ('dir="rtl"' in html) == (language == "ar")
    assert "loket inburgering" in html
    assert "delivery.acknowledged" not in html
    if language == "nl":
        assert "Met uw toestemming van" in html and "Gemeente Leiden (demo) ontving" in html


def test_only_the_placing_municipality_and_only_offered_languages(
    placed: tuple[demo.Cast, str],
) -> None:
    cast, v_number = placed
    with pytest.raises(NotAuthorised):
        cast.client(demo.UTRECHT).get_json(f"/v1/newcomers/{v_number}/access-report")
    with pytest.raises(BadRequest):
        cast.client(demo.LEIDEN).get_json(f"/v1/newcomers/{v_number}/access-report", lang="de")


def test_the_read_is_audited_as_subject_access(placed: tuple[demo.Cast, str]) -> None:
    cast, v_number = placed
    before = cast.client(demo.AUDITOR).get_json(f"/v1/audit/subjects/{v_number}")["entries"]
    cast.client(demo.LEIDEN).get_json(f"/v1/newcomers/{v_number}/access-report", lang="tr")
    after = cast.client(demo.AUDITOR).get_json(f"/v1/audit/subjects/{v_number}")["entries"]
    reads = [
        e["entry"]
        for e in after[len(before) :]
        if e["entry"]["event"] == "audit.read" and e["entry"]["actor"] == demo.LEIDEN
    ]
    assert [(e["processing_activity"], e["reason"]) for e in reads] == [
        ("subject-access", "subject-access")
    ]


def test_ten_progress_reads_are_one_line_and_the_log_keeps_all_ten(
    placed: tuple[demo.Cast, str],
) -> None:
    cast, v_number = placed
    leiden = cast.client(demo.LEIDEN)
    for _ in range(10):
        leiden.get_json(f"/v1/newcomers/{v_number}/progress")
    entries = cast.client(demo.AUDITOR).get_json(f"/v1/audit/subjects/{v_number}")["entries"]
    assert sum(e["entry"]["event"] == "regie.read" for e in entries) == 10
    html = leiden.get_json(f"/v1/newcomers/{v_number}/access-report", lang="nl")["report"]
    lines = re.findall(r"<td>([^<]*bekeek de voortgang van uw inburgering[^<]*)", html)
    assert len(lines) == 1 and "10 keer op" in lines[0], lines
