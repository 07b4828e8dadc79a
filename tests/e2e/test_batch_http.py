"""POST /v1/messages:batch over real HTTP, on SQLite and PostgreSQL: one result per item."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from gateway.bootstrap import storage_of
from gateway.devtools import demo, synthetic
from gateway.domain.wire import envelope
from gateway.service.services import Services
from tests.helpers import profile_token

pytestmark = pytest.mark.e2e
JSON = {"Content-Type": "application/json"}


def _post(cast: demo.Cast, body: bytes | str, headers: dict[str, str] | None = None) -> Any:
    return requests.post(
        cast.url + "/v1/messages:batch", data=body, headers=headers or JSON, timeout=60
    )


def _batch(cast: demo.Cast, items: list[Any]) -> list[dict[str, Any]]:
    response = _post(cast, json.dumps({"messages": items}))
    assert response.status_code == 200, response.text
    results: list[dict[str, Any]] = response.json()["results"]
    assert len(results) == len(items)
    return results


def _counts(services: Services) -> tuple[int, int]:
    store = storage_of(services)
    return store.count("messages"), store.count("audit_entries")


def _declaration_pair(cast: demo.Cast, seed: int) -> tuple[str, str]:
    """A consent declaration and its withdrawal, signed by Leiden for one newcomer."""
    leiden = cast.client(demo.LEIDEN)
    rng = random.Random(seed)
    person = synthetic.Newcomer.make(rng)
    now = datetime.now(UTC)
    placing = demo.profile(person, rng, now, recipient=demo.LEIDEN, municipality_code="GM0546")
    coa = cast.client(demo.COA)
    assert coa.submit(coa.sign(placing)).status == 202  # consent only for one's own newcomers
    declaration = synthetic.consent_declaration(demo.LEIDEN, [demo.COA], ["education"], now)
    withdrawal = {
        "declaration_id": declaration["declaration_id"],
        "withdrawn_at": synthetic.utc(now),
    }

    def sign(type_: str, body: dict[str, Any]) -> str:
        return leiden.sign(
            synthetic.payload(
                type_,
                body,
                sender=demo.LEIDEN,
                recipient=demo.LEIDEN,
                newcomer=person,
                issued_at=now,
            )
        )

    return sign("consent-declaration", declaration), sign("consent-withdrawal", withdrawal)


def test_a_mixed_batch_gets_one_result_per_item_in_order(
    cast: demo.Cast, server_services: Services
) -> None:
    coa, provider = cast.client(demo.COA), cast.client(demo.PROVIDER)
    good = [profile_token(coa, 7000 + i)[0] for i in range(5)]
    assert coa.submit(good[0]).status == 202  # already at the gateway before the batch
    reused = json.loads(envelope.b64url_decode(good[1].split(".")[1]))
    reused["issued_at"] = synthetic.utc(datetime.now(UTC) - timedelta(seconds=5))
    header, payload, signature = good[2].split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
    person = synthetic.Newcomer.make(random.Random(7100))
    unassigned = provider.sign(
        synthetic.payload(
            "progress-report",
            synthetic.progress_report(demo.PROVIDER),
            sender=demo.PROVIDER,
            recipient=demo.LEIDEN,
            newcomer=person,
            issued_at=datetime.now(UTC),
        )
    )
    declaration, withdrawal = _declaration_pair(cast, 7200)
    items: list[Any] = [
        good[0],  # 200: the same bytes again
        good[1],  # 202
        "not a jws",  # 400 malformed
        42,  # 400 malformed: not a string
        tampered,  # 401 invalid-signature
        coa.sign(reused),  # 409: good[1]'s id with other bytes, earlier in this batch
        good[1],  # 200: a repeat inside the batch gets the receipt of its first
        unassigned,  # 403 not-authorised
        declaration,  # 202
        withdrawal,  # 202: sees the declaration committed earlier in this batch
        good[3],  # 202
    ]
    messages_before, entries_before = _counts(server_services)
    results = _batch(cast, items)

    statuses = [r["status"] for r in results]
    assert statuses == [200, 202, 400, 400, 401, 409, 200, 403, 202, 202, 202]
    codes = [r.get("problem", {}).get("code") for r in results]
    assert codes[2:6] == ["malformed", "malformed", "invalid-signature", "conflict"]
    assert codes[7] == "not-authorised"
    assert results[6]["receipt"] == results[1]["receipt"]
    for result in results:
        if "receipt" in result:
            receipt = coa.verify_gateway_token(result["receipt"], "inburgering-receipt+jws")
            assert receipt["status"] == "accepted"
    messages_after, entries_after = _counts(server_services)
    assert messages_after - messages_before == 4  # the four 202s
    # One entry per item (repeats are not events), plus consent.recorded/withdrawn
    # and the withdrawal's notice.delivered.
    refusals = statuses.count(400) + statuses.count(401) + statuses.count(403) + 1
    assert entries_after - entries_before == 4 + refusals + 3
    indices = [e["index"] for e in storage_of(server_services).audit.entries()]
    assert indices == list(range(len(indices)))


def test_an_item_accepted_in_a_batch_is_a_repeat_for_the_single_endpoint(
    cast: demo.Cast,
) -> None:
    coa = cast.client(demo.COA)
    token = profile_token(coa, 7300)[0]
    [first] = _batch(cast, [token])
    assert first["status"] == 202
    again = coa.submit(token)
    assert again.status == 200 and again.token == first["receipt"]


def test_a_full_batch_of_a_thousand_is_accepted(cast: demo.Cast, server_services: Services) -> None:
    coa = cast.client(demo.COA)
    tokens = [profile_token(coa, 8000 + i)[0] for i in range(1000)]
    messages_before, _ = _counts(server_services)
    results = _batch(cast, tokens)
    assert {r["status"] for r in results} == {202}
    indices = [
        coa.verify_gateway_token(r["receipt"], "inburgering-receipt+jws")["audit"]["index"]
        for r in results
    ]
    assert indices == sorted(indices) and len(set(indices)) == 1000
    assert _counts(server_services)[0] - messages_before == 1000


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        ('{"messages": []}', JSON, 400, "malformed"),
        ('{"messages": ["a.b.c"], "more": 1}', JSON, 400, "malformed"),
        ('{"messages": "a.b.c"}', JSON, 400, "malformed"),
        ('{"messages": ["a.b.c"], "messages": ["a.b.c"]}', JSON, 400, "malformed"),
        ("[]", JSON, 400, "malformed"),
        ("{", JSON, 400, "malformed"),
        (json.dumps({"messages": ["x"] * 1001}), JSON, 413, "payload-too-large"),
        ('{"messages": ["a.b.c"]}', {"Content-Type": "application/jose"}, 415,
         "unsupported-media-type"),
    ],
    ids=["empty", "extra member", "not an array", "duplicate member", "array", "not json",
         "1001 items", "media type"],
)  # fmt: skip
def test_a_request_that_is_not_a_batch_is_refused_whole_and_audited_once(
    cast: demo.Cast,
    server_services: Services,
    body: str,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    messages_before, entries_before = _counts(server_services)
    response = _post(cast, body, headers)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert _counts(server_services) == (messages_before, entries_before + 1)


def test_an_oversized_item_is_refused_alone(cast: demo.Cast) -> None:
    coa = cast.client(demo.COA)
    big = "a" * (256 * 1024 + 1)
    token = profile_token(coa, 7400)[0]
    results = _batch(cast, [big, token])
    assert [r["status"] for r in results] == [413, 202]
    assert results[0]["problem"]["code"] == "payload-too-large"


def test_a_batch_body_over_the_limit_is_413(cast: demo.Cast) -> None:
    response = _post(cast, b'{"messages": ["' + b"a" * (16 * 1024 * 1024) + b'"]}')
    assert response.status_code == 413
    assert response.json()["code"] == "payload-too-large"


def test_the_batch_endpoint_is_in_the_openapi_document(cast: demo.Cast) -> None:
    spec = requests.get(cast.url + "/openapi.json", timeout=10).json()
    operation = spec["paths"]["/v1/messages:batch"]["post"]
    assert "application/json" in operation["requestBody"]["content"]
    assert {"200", "400", "413", "415", "503"} <= set(operation["responses"])


def test_a_report_after_its_assignment_in_one_batch_sees_the_assignment(
    cast: demo.Cast, server_services: Services
) -> None:
    leiden, provider = cast.client(demo.LEIDEN), cast.client(demo.PROVIDER)
    person = synthetic.Newcomer.make(random.Random(7500))
    now = datetime.now(UTC)

    def message(client: Any, type_: str, body: dict[str, Any], sender: str) -> str:
        return str(
            client.sign(
                synthetic.payload(
                    type_,
                    body,
                    sender=sender,
                    recipient=demo.LEIDEN,
                    newcomer=person,
                    issued_at=now,
                )
            )
        )

    report = message(
        provider, "progress-report", synthetic.progress_report(demo.PROVIDER), demo.PROVIDER
    )
    assignment = message(
        leiden,
        "provider-assignment",
        synthetic.provider_assignment(demo.PROVIDER, now - timedelta(days=1)),
        demo.LEIDEN,
    )
    profiles = [profile_token(cast.client(demo.COA), 7600 + i)[0] for i in range(4)]
    placed = cast.client(demo.COA).sign(demo.profile(person, random.Random(7501), now))
    results = _batch(cast, [placed, report, assignment, *profiles, report])
    # The profile places the newcomer with Leiden, which may then assign; before
    # its assignment the report is refused; after it, the same bytes are taken.
    assert [r["status"] for r in results] == [202, 403, 202, 202, 202, 202, 202, 202]
    assert results[1]["problem"]["code"] == "not-authorised"
    assert storage_of(server_services).find_message(_message_id(report)) is not None


def _message_id(token: str) -> str:
    return str(json.loads(envelope.b64url_decode(token.split(".")[1]))["message_id"])
