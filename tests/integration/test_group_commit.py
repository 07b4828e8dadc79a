"""Single messages from concurrent requests, written in shared transactions, on both backends."""

from __future__ import annotations

import dataclasses
import random
import threading
from datetime import UTC, datetime, timedelta

from gateway.bootstrap import storage_of
from gateway.devtools import demo, synthetic
from gateway.domain.wire import envelope, jwk
from gateway.errors import Conflict, GatewayError
from gateway.service import intake
from gateway.service.intake import Outcome
from gateway.service.services import Services
from tests.helpers import ObservedGroupCommit, signed_profile


def _profiles(key: jwk.Key, now: datetime, count: int, seed: int) -> list[tuple[str, bytes]]:
    rng = random.Random(seed)
    return [
        (payload["message_id"], token)
        for payload, token, _ in (signed_profile(key, rng, now) for _ in range(count))
    ]


def _resigned(key: jwk.Key, token: bytes, now: datetime) -> bytes:
    """The same message_id with other bytes (signed again: a new signature)."""
    return envelope.sign(
        envelope.verify(
            envelope.parse(token, typ=envelope.MESSAGE_TYP),
            jwk.import_jwk(jwk.public_jwk(key)),
        ).payload
        | {"issued_at": synthetic.utc(now - timedelta(seconds=1))},
        key,
        typ=envelope.MESSAGE_TYP,
    ).encode()


Results = dict[bytes, list[Outcome | GatewayError]]
"""every outcome for each token submitted, keyed by the token's bytes"""


def _submit_from_8_threads(services: Services, work: list[bytes]) -> Results:
    """Submit ``work`` from 8 threads released together, so single requests share commits."""
    results: list[tuple[bytes, Outcome | GatewayError]] = []
    start = threading.Barrier(8)

    def submit(tokens: list[bytes]) -> None:
        start.wait(10)
        for token in tokens:
            try:
                outcome: Outcome | GatewayError = intake.accept(
                    token, services=services, now=datetime.now(UTC), trace_id="2" * 32
                )
            except GatewayError as error:
                outcome = error
            results.append((token, outcome))

    threads = [threading.Thread(target=submit, args=(work[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert len(results) == len(work)
    by_token: Results = {}
    for token, outcome in results:
        by_token.setdefault(token, []).append(outcome)
    return by_token


def _assert_first_spelling_wins(
    services: Services, by_token: Results, repeated_id: str, spellings: tuple[bytes, bytes]
) -> bytes:
    """One message id in two spellings: whichever came first is stored; its
    bytes get one acceptance and then the original receipt, the other a conflict.
    Returns the spelling that lost."""
    repeated, clash = spellings
    stored = storage_of(services).read_message(repeated_id)
    assert stored in (repeated, clash)
    loser = clash if stored == repeated else repeated
    winners = by_token[stored]
    assert all(isinstance(o, Outcome) for o in winners)
    assert sorted(o.status for o in winners if isinstance(o, Outcome)) == [200] * (
        len(winners) - 1
    ) + [202]
    assert len({o.receipt for o in winners if isinstance(o, Outcome)}) == 1
    assert all(isinstance(o, Conflict) for o in by_token[loser])
    return loser


def _assert_stored_once_and_logged(
    services: Services, distinct: list[tuple[str, bytes]], conflicts: int
) -> None:
    """Stored once each; the log has no gap and names every acceptance once."""
    repeated_id = distinct[0][0]
    assert storage_of(services).count("messages") == len(distinct)
    entries = storage_of(services).audit.entries()
    assert [e["index"] for e in entries] == list(range(len(entries)))
    accepted = [
        e["entry"].get("message_id") for e in entries if e["entry"]["event"] == "message.accepted"
    ]
    assert sorted(accepted) == sorted(message_id for message_id, _ in distinct)
    refused = [e["entry"] for e in entries if e["entry"]["event"] == "message.refused"]
    assert [(r["message_id"], r["reason"]) for r in refused] == [
        (repeated_id, "conflict")
    ] * conflicts


def test_concurrent_singles_each_get_their_own_receipt_and_repeats_the_original(
    services: Services,
) -> None:
    observed = ObservedGroupCommit()
    services = dataclasses.replace(services, group=observed)
    now = datetime.now(UTC)
    cast = demo.register_cast(services, "http://127.0.0.1", now)
    key = cast.keys[demo.COA]
    distinct = _profiles(key, now, 24, seed=5)
    repeated_id, repeated = distinct[0]
    clash = _resigned(key, repeated, now)
    work = [token for _, token in distinct] + [repeated] * 5 + [clash] * 2
    random.Random(1).shuffle(work)

    by_token = _submit_from_8_threads(services, work)

    assert max(observed.sizes) > 1  # requests did share transactions
    for _, token in distinct[1:]:
        [outcome] = by_token[token]
        assert isinstance(outcome, Outcome) and outcome.status == 202
    loser = _assert_first_spelling_wins(services, by_token, repeated_id, (repeated, clash))
    _assert_stored_once_and_logged(services, distinct, len(by_token[loser]))
