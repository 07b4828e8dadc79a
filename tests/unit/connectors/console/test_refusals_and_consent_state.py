"""A refusal in the reader's words, with its rule; a consent's state with dates and actor."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.consoles import i18n
from connectors.municipality.console import consentstate, refusals
from gateway.errors import Conflict, SchemaViolation

A2_FIRST = SchemaViolation(
    [{"pointer": "/body/level", "keyword": "combination"}],
    detail="/body/level: a first plan on the b1-route aims at B1 (A2 comes by afschalen)",
)


def test_duos_rule_is_said_in_dutch_with_the_rule_and_the_field_and_no_english() -> None:
    i18n.set_language("nl")
    said = refusals.refusal_words(A2_FIRST, {"route": "b1-route", "level": "A2"}, first=True)
    assert "Een eerste plan op de B1-route heeft B1 als doel" in said
    assert "Regel: de combinaties van route en niveau van DUO; veld: Niveau" in said
    assert "schema" not in said and "combination" not in said and "aims at" not in said


def test_an_unknown_rule_names_the_field_in_words_never_the_detail_or_code() -> None:
    i18n.set_language("nl")
    error = SchemaViolation(
        [{"pointer": "/body/literacy", "keyword": "enum", "rule": "one of A, AA"}], detail="x"
    )
    said = refusals.refusal_words(error)
    assert "Alfabetisering is geen van de toegestane waarden." in said
    assert "schema-violation" not in said and "one of" not in said
    final = refusals.refusal_words(Conflict("withdrawn", reason="withdrawal-final"))
    assert "al ingetrokken" in final and "conflict" not in final
    i18n.set_language("en")
    assert "A first plan on the B1 route" in refusals.refusal_words(
        A2_FIRST, {"route": "b1-route", "level": "A2"}, first=True
    )


def test_a_withdrawn_consent_says_when_by_whom_and_at_whose_request() -> None:
    i18n.set_language("nl")
    records = [
        {"kind": "withdrawal", "declaration_id": "d", "message_id": "m1", "recorded_by": "1",
         "withdrawn_at": "2026-12-05T23:30:00Z", "by": "data-subject"},
        {"kind": "declaration", "declaration_id": "d", "valid_from": "2026-11-03T10:00:00Z",
         "valid_until": "2027-11-03T10:00:00Z"},
        {"kind": "declaration", "declaration_id": "e", "valid_from": "2026-11-03T10:00:00Z",
         "valid_until": "2027-11-03T10:00:00Z"},
    ]  # fmt: skip
    sent = [{"kind": "withdrawal", "receipt": {"message_id": "m1"},
             "message": {"actor": "M. de Vries"}}]  # fmt: skip
    now = datetime(2026, 12, 10, tzinfo=UTC)
    withdrawn, active = consentstate.states(records, sent, lambda oin: "Gemeente", now)
    assert withdrawn.status == (
        "actief sinds 3 november 2026; ingetrokken op 6 december 2026 door M. de Vries, "
        "op verzoek van de nieuwkomer"
    )  # 23:30 UTC is the next day in Dutch time
    assert not withdrawn.active and active.active
    assert active.status == "actief sinds 3 november 2026; geldig tot 3 november 2027"
    elsewhere = consentstate.states(records, [], lambda oin: "Gemeente Leiden", now)[0]
    assert "door Gemeente Leiden" in elsewhere.status
