"""DUO's notifications over HTTP (issue #29), on both backends: each event family takes
its effect, the same berichtId is entered once, and refusals are DUO's Foutmelding."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from gateway.client import wire
from gateway.devtools import demo, duostandin, synthetic
from gateway.errors import NotAuthorised, NotFound
from tests.e2e.test_true_facts_http import Case

pytestmark = pytest.mark.e2e
NOW = datetime.now(UTC)


def _notify(
    cast: demo.Cast, case: Case, event: str, when: datetime, **kw: Any
) -> requests.Response:
    doel = kw.pop("doel", case.municipality)
    return duostandin.notify(cast.client(demo.DUO), doel, case.person.v_number, event, when, **kw)


def _progress(case: Case, municipality: str | None = None) -> dict[str, Any]:
    client = case.client(municipality or case.municipality)
    return client.get_json(f"/v1/newcomers/{case.person.v_number}/progress")


def test_ss139_starts_the_learning_route_clock(cast: demo.Cast) -> None:
    case = Case(cast, 29001)
    assert case.place() == 202
    started = NOW - timedelta(days=80)
    answer = _notify(cast, case, "SS139", started)
    assert answer.status_code == 201, answer.text
    assert answer.headers["API-Version"] == "1.8.0" and answer.content == b""
    progress = _progress(case)
    assert progress["placed_on"] == started.date().isoformat()
    assert progress["placed_on_source"] == "duo"
    assert [s["code"] for s in progress["signals"]] == ["no-plan"]  # 80 days > 10 weeks
    assert progress["duo"]["events"][0]["gebeurtenisId"] == "SS139"
    [told] = [d for d in case.pull() if d["type"] == "duo-notification"]
    assert told["body"]["gebeurtenisId"] == "SS139"
    assert wire.parse_time(told["body"]["registratieDatumTijd"]) == started
    assert told["sender"] == demo.DUO and told["subject"]["v_number"] == case.person.v_number


@pytest.mark.parametrize(("event", "seed"), [("SS121", 29002), ("SS120", 29008)])
def test_a_relocation_moves_regie_like_a_later_profile(
    cast: demo.Cast, event: str, seed: int
) -> None:
    case = Case(cast, seed)
    assert case.place() == 202
    assert case.send(demo.LEIDEN, "integration-plan", _plan()) == 202
    moved = NOW - timedelta(days=1)
    assert _notify(cast, case, event, moved, doel=demo.UTRECHT).status_code == 201
    with pytest.raises(NotAuthorised):  # Leiden lost regie: its plan writes are refused
        case.send(demo.LEIDEN, "integration-plan", _plan())
    assignment = synthetic.provider_assignment(demo.PROVIDER, NOW - timedelta(hours=1))
    with pytest.raises(NotAuthorised):  # and its assignments
        case.send(demo.LEIDEN, "provider-assignment", assignment)
    with pytest.raises(NotAuthorised):
        _progress(case, demo.LEIDEN)
    utrecht = _progress(case, demo.UTRECHT)
    assert utrecht["duo"]["previous_plan_exists"] is (event == "SS121")
    assert utrecht["placed_on_source"] == "duo" and utrecht["plan"] is None
    with pytest.raises(NotFound):  # no COA profile placed them in Utrecht
        case.client(demo.UTRECHT).get_json(f"/v1/newcomers/{case.person.v_number}/profile")
    case.municipality = demo.UTRECHT
    assert case.send(demo.UTRECHT, "integration-plan", _plan()) == 202  # Utrecht steers now
    assert [d["type"] for d in case.pull(demo.UTRECHT)] == ["duo-notification"]


def test_an_ended_obligation_ends_its_signals(cast: demo.Cast) -> None:
    case = Case(cast, 29003)
    assert case.place(linked_on=(NOW - timedelta(days=90)).date().isoformat()) == 202
    assert [s["code"] for s in _progress(case)["signals"]] == ["no-plan"]
    assert _notify(cast, case, "SS106", NOW - timedelta(hours=1)).status_code == 201
    progress = _progress(case)
    assert progress["signals"] == []
    assert progress["duo"]["obligation_ended"]["gebeurtenisId"] == "SS106"
    assert _notify(cast, case, "SS129", NOW).status_code == 201  # obliged again
    assert [s["code"] for s in _progress(case)["signals"]] == ["no-plan"]


def test_an_event_not_acted_on_is_still_delivered(cast: demo.Cast) -> None:
    case = Case(cast, 29004)
    assert case.place() == 202
    before = _progress(case)
    assert _notify(cast, case, "SS199", NOW).status_code == 201
    after = _progress(case)
    assert after["signals"] == before["signals"] and after["placed_on"] == before["placed_on"]
    assert [e["family"] for e in after["duo"]["events"]] == ["exam"]
    assert [d["body"]["gebeurtenisId"] for d in case.pull() if d["type"] == "duo-notification"
            ] == ["SS199"]  # fmt: skip


def test_the_same_bericht_id_is_entered_once(cast: demo.Cast) -> None:
    case = Case(cast, 29005)
    assert case.place() == 202
    bericht = str(uuid.uuid4())
    for _ in range(2):
        assert _notify(cast, case, "SS137", NOW, bericht_id=bericht).status_code == 201
    assert len(_progress(case)["duo"]["events"]) == 1
    assert len([d for d in case.pull() if d["type"] == "duo-notification"]) == 1


def test_refusals_are_duos_foutmelding(cast: demo.Cast) -> None:
    case = Case(cast, 29006)
    assert case.place() == 202
    url = cast.url + duostandin.PATH
    body = {"registratieDatumTijd": "2026-12-01T10:00:00Z", "gebeurtenisId": "SS139",
            "vNummer": int(case.person.v_number)}  # fmt: skip
    headers = {"bron": demo.DUO, "doel": demo.LEIDEN, "berichtId": str(uuid.uuid4())}
    anonymous = requests.post(url, json=body, headers=headers, timeout=30)
    assert anonymous.status_code == 401 and "fouttekst" in anonymous.json()
    assert anonymous.headers["API-Version"] == "1.8.0"

    def signed(by: str, **changed: Any) -> requests.Response:
        sent = {**headers, "Authorization": f"Bearer {cast.client(by).assertion()}"}
        return requests.post(url, json=changed.pop("json", body), headers={**sent, **changed},
                             timeout=30)  # fmt: skip

    assert signed(demo.COA, bron=demo.COA).status_code == 403  # COA may not notify
    assert signed(demo.DUO, bron=demo.COA).status_code == 403  # bron is not the connection
    assert signed(demo.DUO, doel=demo.PROVIDER).status_code == 403  # not a municipality
    for bad in ({**body, "vNummer": "12"}, {**body, "gebeurtenisId": "ss139"},
                {k: v for k, v in body.items() if k != "registratieDatumTijd"},
                {**body, "bsn": "123456789"},  # fails the 11-test: 400, as DUO's document
                {**body, "registratieDatumTijd": "9999-12-31T23:59:59-01:00"},  # no 500
                {**body, "registratieDatumTijd": "0001-01-01T00:00:00+01:00"}):  # fmt: skip
        refused = signed(demo.DUO, json=bad)
        assert refused.status_code == 400 and refused.json()["fouttekst"], bad
        assert case.person.v_number not in refused.text
    assert signed(demo.DUO, berichtId="not-a-uuid").status_code == 400
    assert _progress(case)["duo"]["events"] == []


def _plan() -> dict[str, Any]:
    return synthetic.integration_plan(str(uuid.uuid4()))


def test_duos_facts_set_the_term_and_show_on_progress(cast: demo.Cast) -> None:
    """What DUO answered (sent by the municipality's connector as duo-facts): the term's end
    is DUO's, not three years from the plan's date."""
    case = Case(cast, 29007)
    assert case.place() == 202
    assert case.send(demo.LEIDEN, "integration-plan", _plan()) == 202
    assert "term-ending" not in [s["code"] for s in _progress(case)["signals"]]
    ends = (NOW + timedelta(days=30)).date().isoformat()
    facts = {
        "fetched_at": wire.format_time(NOW),
        "inburgeringstermijn": {"startdatum": "2024-01-15", "einddatum": ends},
        "leerbaarheidstoets": {"resultaat": "B1-route haalbaar", "behaaldeScore": "61,50",
                               "benodigdeScore": "55,00", "datumAfname": "2026-10-01"},
        "examenresultaten": [{"examendatum": "2026-11-02", "resultaat": "Geslaagd",
                              "onderdeel": "KNM", "niveau": "B1"}],
    }  # fmt: skip
    assert case.send(demo.LEIDEN, "duo-facts", facts) == 202
    progress = _progress(case)
    assert [s["code"] for s in progress["signals"]] == ["term-ending"]
    assert progress["duo"]["term_ends"] == ends
    assert progress["duo"]["facts"]["leerbaarheidstoets"]["resultaat"] == "B1-route haalbaar"
    later = {"fetched_at": wire.format_time(NOW), "examenresultaten": []}
    assert case.send(demo.LEIDEN, "duo-facts", later) == 202  # one member replaced
    progress = _progress(case)
    assert progress["duo"]["facts"]["examenresultaten"] == []
    assert progress["duo"]["term_ends"] == ends  # the others stay
    with pytest.raises(NotAuthorised):  # only for one's own newcomers
        case.send(demo.UTRECHT, "duo-facts", facts, to=demo.UTRECHT)
