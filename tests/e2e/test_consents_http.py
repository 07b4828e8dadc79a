"""GET /v1/consents over HTTP: a municipality sees its own records, newest first."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
import requests

from gateway.devtools import demo, synthetic
from gateway.errors import BadRequest, NotAuthorised

pytestmark = pytest.mark.e2e


def test_records_are_listed_newest_first_for_the_granting_municipality_only(
    cast: demo.Cast,
) -> None:
    leiden, utrecht, coa = (
        cast.client(demo.LEIDEN),
        cast.client(demo.UTRECHT),
        cast.client(demo.COA),
    )
    rng = random.Random(77)
    person = synthetic.Newcomer.make(rng)
    now = datetime.now(UTC)
    placing = demo.profile(person, rng, now, recipient=demo.LEIDEN, municipality_code="GM0546")
    assert coa.submit(coa.sign(placing)).status == 202  # consent only for one's own newcomers

    def send(type_: str, body: dict[str, object]) -> int:
        payload = synthetic.payload(
            type_, body, sender=demo.LEIDEN, recipient=demo.LEIDEN, newcomer=person, issued_at=now
        )
        return leiden.submit(leiden.sign(payload)).status

    body = synthetic.consent_declaration(
        demo.LEIDEN, [demo.COA], ["education"], now - timedelta(hours=1)
    )
    assert send("consent-declaration", body) == 202
    assert (
        send(
            "consent-withdrawal",
            {"declaration_id": body["declaration_id"], "withdrawn_at": synthetic.utc(now)},
        )
        == 202
    )

    records = leiden.get_json("/v1/consents", v_number=person.v_number)["consents"]
    assert [r["kind"] for r in records] == ["withdrawal", "declaration"]
    assert records[1]["categories"] == ["education"] and records[0]["by"] == "data-subject"
    assert person.bsn is not None  # the newcomers of these tests have one
    assert person.v_number not in str(records) and person.bsn not in str(records)
    assert utrecht.get_json("/v1/consents", v_number=person.v_number)["consents"] == []
    with pytest.raises(NotAuthorised):
        coa.get_json("/v1/consents", v_number=person.v_number)
    with pytest.raises(BadRequest):
        leiden.get_json("/v1/consents", v_number="12345")
    assert (
        requests.get(cast.url + f"/v1/consents?v_number={person.v_number}", timeout=5).status_code
        == 401
    )
