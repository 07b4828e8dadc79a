"""The mock DUO itself: what breaks DUO's documents is recorded as invalid, what keeps to
them as valid, so "every request was valid" in the duo-send tests means something."""

from __future__ import annotations

import pytest
import requests

from tests.duo.prism import DuoMock

pytestmark = pytest.mark.e2e
HEADERS = {
    "berichtId": "6c3b7a8e-1d0b-4f3b-9a7e-2a1f0e6b9c11",
    "bron": "00000001002220647000",
    "doel": "00000001800000000000",
}
PIP = {"dagtekeningPip": "2026-11-20", "leerroute": "B"}


def test_prism_judges_each_request_by_duos_document(duo_mock: DuoMock) -> None:
    base, mark = f"{duo_mock.url}/v1/personen/999990019", duo_mock.mark()
    sent = [
        requests.post(f"{base}/PIP", json=PIP, headers=HEADERS, timeout=10),
        requests.post(f"{base}/PIP", json={**PIP, "leerroute": "X"}, headers=HEADERS, timeout=10),
        requests.post(f"{base}/PIP", json=PIP, headers={"bron": HEADERS["bron"]}, timeout=10),
        requests.put(f"{base}/PIP", json=PIP, headers=HEADERS, timeout=10),  # no such method
        requests.put(
            f"{base}/uren/participatietaalles", json={"uren": -1}, headers=HEADERS, timeout=10
        ),
        requests.put(f"{base}/uren/onbekend", json={"uren": 1}, headers=HEADERS, timeout=10),
        requests.put(f"{base}/map", json={}, headers=HEADERS, timeout=10),  # not served here
    ]
    assert [r.status_code for r in sent] == [201, 400, 400, 405, 400, 404, 404]
    seen = duo_mock.requests(mark)
    assert [s.valid for s in seen] == [True] + [False] * 6
    assert seen[1].violations[0]["location"] == ["request", "body", "leerroute"]
    assert seen[0].body == PIP and seen[0].headers["bron"] == HEADERS["bron"]


def test_duo_answers_a_documented_status_when_told_to(duo_mock: DuoMock) -> None:
    url = f"{duo_mock.url}/v1/personen/999990027/PIP"
    duo_mock.answer({"^/v1/personen/999990027/PIP$": 403})
    try:
        refused = requests.post(url, json=PIP, headers=HEADERS, timeout=10)
    finally:
        duo_mock.answer({})
    assert refused.status_code == 403
    assert all("fouttekst" in item for item in refused.json())  # DUO's Foutmelding, generated
    assert requests.post(url, json=PIP, headers=HEADERS, timeout=10).status_code == 201
