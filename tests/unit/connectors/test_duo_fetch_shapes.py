"""``duo-fetch`` given answers that are not DUO's shape (a mock built from DUO's documents
only ever answers in its shape, so these are played here): each is a failure of that one
question, named by V-number and never by BSN, and nothing of it is handed to the gateway;
the other questions of the same newcomer still count."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from connectors.municipality import duo_fetch
from connectors.municipality.duo_send import Duo

BSN, V_NUMBER = "999990019", "5415643293"
DUTY = {"indicatorInburgeringsplicht": True, "begindatum": "2026-01-05",
        "einddatum": "2029-01-05"}  # fmt: skip


class _Session(requests.Session):
    """Answers each of DUO's paths with the body given for its last segment."""

    def __init__(self, bodies: dict[str, bytes]) -> None:
        super().__init__()
        self.bodies = bodies

    def get(self, url: str | bytes, **_: Any) -> requests.Response:
        answer = requests.Response()
        answer.status_code = 200
        answer._content = self.bodies[str(url).split(f"/{BSN}/", 1)[1]]
        answer.headers["Content-Type"] = "application/json"
        return answer


def _ask(bodies: dict[str, bytes], members: list[str]) -> tuple[Any, duo_fetch.Fetched]:
    run = duo_fetch.Fetched()
    duo_api = Duo("http://127.0.0.1:9", "00000001001234567000", "00000001800000000000",
                  _Session(bodies))  # fmt: skip
    return duo_fetch._ask(duo_api, BSN, V_NUMBER, members, run), run


@pytest.mark.parametrize(
    ("member", "path", "body", "why"),
    [
        ("inburgeringstermijn", "inburgeringstermijn", b"[1, 2]", "not an object of dates"),
        ("inburgeringstermijn", "inburgeringstermijn", b"{not json", ""),
        ("inburgeringstermijn", "inburgeringstermijn",
         json.dumps({"startdatum": "0001-01-01"}).encode(), "not an object of dates"),
        ("leerbaarheidstoets", "lbt/resultaten", b"{}", "not a list of results"),
        ("leerbaarheidstoets", "lbt/resultaten", b"[1]", "not a list of results"),
        ("examenresultaten", "examens/resultaten", b'{"examendatum": "2026-05-01"}',
         "not a list of objects"),
        ("examenresultaten", "examens/resultaten", b'["B1"]', "not a list of objects"),
        ("vrijstellingen", "vrijstellingen", b'[{"GeheleVrijstelling": {"reden": "x"}}]',
         "invalid members: /body/vrijstellingen/0/GeheleVrijstelling"),  # no oordeel
        ("inburgeringstermijn", "inburgeringstermijn", b'{"startdatum": 20260105}',
         "/body/inburgeringstermijn/startdatum"),
    ],
)  # fmt: skip
def test_an_answer_not_in_duos_shape_fails_that_question_alone(
    member: str, path: str, body: bytes, why: str
) -> None:
    bodies = {path: body, "inburgeringsplicht": json.dumps(DUTY).encode()}
    facts, run = _ask(bodies, [member, "inburgeringsplicht"])
    assert run.asked == 2 and run.stopped is None
    [failure] = run.failures
    assert failure.startswith(f"{V_NUMBER} {member}: ") and why in failure
    assert BSN not in failure
    assert member not in facts and facts["inburgeringsplicht"] == DUTY


def test_items_of_a_list_with_dates_the_gateway_takes_no_part_of_are_left_out_and_said() -> None:
    passed = {"resultaat": "Geslaagd", "onderdeel": "KNM"}
    results = [{"examendatum": "2026-05-01", **passed}, {"examendatum": "0001-01-01", **passed},
               {"examendatum": "01-05-2026", **passed}]  # fmt: skip
    facts, run = _ask({"examens/resultaten": json.dumps(results).encode()}, ["examenresultaten"])
    assert facts["examenresultaten"] == results[:1] and run.failures == []
    assert run.left_out == [f"{V_NUMBER} examenresultaten: 2 of DUO's items left out, with a "
                            "date before 1900, after 2100 or not a date"]  # fmt: skip


def test_members_duo_adds_later_are_left_out_of_its_judgements() -> None:
    """DUO's Vrijstelling and Ontheffing documents are open to new members; the duo-facts
    schema is closed: a new member must not make the gateway refuse the answers."""
    judged = [{"GeheleVrijstelling": {"oordeel": "Toegekend", "datumOordeel": "2026-03-01",
                                      "nieuwVeld": "x"}, "NieuweSoort": {"oordeel": "y"}}]
    facts, run = _ask({"vrijstellingen": json.dumps(judged).encode()}, ["vrijstellingen"])
    assert run.failures == []
    assert facts["vrijstellingen"] == [
        {"GeheleVrijstelling": {"oordeel": "Toegekend", "datumOordeel": "2026-03-01"}}]


def test_no_learnability_result_is_duo_holding_none_not_a_failure() -> None:
    facts, run = _ask({"lbt/resultaten": b"[]"}, ["leerbaarheidstoets"])
    assert facts is None and run.failures == [] and run.asked == 1


def test_a_newcomer_whose_every_answer_is_unshaped_sends_nothing() -> None:
    facts, run = _ask({"inburgeringstermijn": b"null"}, ["inburgeringstermijn"])
    assert facts is None and len(run.failures) == 1
