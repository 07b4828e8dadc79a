"""The auditor console says every code in words (#30 item 4): every event, type, refusal
code and verifier finding has its words; times in Dutch time, numbers and dates as the
reader's language writes them; the verifier's command-line English is unchanged."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from connectors.auditor import verify
from connectors.auditor.console import problems, reasons, sentences
from connectors.auditor.console.auditlog import Verification
from connectors.consoles import i18n, words
from gateway.client.log import EVENTS
from gateway.errors import BY_CODE

TYPES = {
    "handover-profile", "progress-report", "provider-assignment", "consent-declaration",
    "consent-withdrawal", "integration-plan", "duo-notification", "duo-facts",
    "consent-withdrawn", "provider-brief",
}  # fmt: skip
NAMES = {"00000001002220647000": "Gemeente Leiden"}


@pytest.fixture
def dutch(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Dutch, for one test."""
    before = i18n.current_language()
    i18n.translations.cache_clear()
    i18n.set_language("nl")
    yield
    i18n.translations.cache_clear()
    i18n.set_language(before)


@pytest.fixture
def english() -> Iterator[None]:
    before = i18n.current_language()
    i18n.set_language("en")
    yield
    i18n.set_language(before)


def _name(oin: str | None) -> str:
    return NAMES.get(oin or "", oin or "")


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


def test_every_code_the_gateway_names_has_its_words() -> None:
    assert set(words.EVENTS) == set(EVENTS) == set(sentences.WORDS)
    assert set(words.TYPES) == set(words.A_TYPES) == TYPES
    assert set(BY_CODE) <= set(words.REFUSALS)


def test_every_finding_of_the_verifier_has_the_consoles_words() -> None:
    assert set(problems.FINDINGS) == set(verify.FINDINGS)
    for kind, message in problems.FINDINGS.items():
        assert _placeholders(message) <= _placeholders(verify.FINDINGS[kind]), kind


def test_the_command_line_still_says_what_it_said() -> None:
    found = verify.Mismatch("truncated-since", seq=4, size=10, verified=12, at="2026-01-13")
    assert found.detail == (
        "log truncated: the newest checkpoint (4) covers 10 entries; 12 were verified on 2026-01-13"
    )
    assert verify.Mismatch("entry-index", index=5).detail == "entry 5 claims another index"
    assert found.kind == "truncated-since" and found.values["verified"] == "12"


@pytest.mark.usefixtures("english")
def test_an_entry_in_english_words() -> None:
    pulled = {
        "event": "delivery.pulled", "actor": "00000001002220647000", "type": "handover-profile",
        "categories_delivered": ["education", "family"], "categories_withheld": ["health"],
        "reason": "scheduled",
    }  # fmt: skip
    assert sentences.entry_words(pulled, _name) == (
        "Gemeente Leiden pulled a handover profile: delivered Education, Family; withheld "
        "Health (a scheduled pull)"
    )
    refused = {"event": "message.refused", "actor": None, "type": None,
               "reason": "invalid-signature"}  # fmt: skip
    assert sentences.entry_words(refused, _name) == (
        "a message from a sender not verified refused: the signature does not verify"
    )
    assert reasons.reason("certificate-oin:00000001002220647000", _name) == (
        "connected with the certificate of Gemeente Leiden"
    )
    assert reasons.reason("entries:0-1000") == "entries 0 to 1,000"
    assert reasons.reason("signals:scheduled") == "signals, in a scheduled walk"


@pytest.mark.usefixtures("dutch")
def test_an_entry_in_dutch_words_and_dutch_time() -> None:
    accepted = {"event": "message.accepted", "actor": "00000001002220647000",
                "type": "integration-plan"}  # fmt: skip
    assert sentences.entry_words(accepted, _name) == (
        "Gemeente Leiden stuurde een plan inburgering en participatie: aangenomen"
    )
    assert words.moment("2026-01-13T22:30:00.000000Z") == "13 jan 2026, 23:30:00"
    assert words.moment("2026-07-13T22:30:00Z").endswith("00:30:00")  # summer time
    assert words.day("2026-01-13") == "13 januari 2026"
    assert words.number(1000) == "1.000" and words.number("1.5") == "1,5"
    assert reasons.reason("withdrawn:abc") == "ingetrokken door de nieuwkomer, verklaring abc"


@pytest.mark.usefixtures("dutch")
def test_the_verifiers_finding_in_dutch() -> None:
    verdict = Verification(False, 3, 1200, "", "", "English", "truncated",
                           {"seq": "3", "size": "1100", "verified": "1200"})  # fmt: skip
    assert problems.problem(verdict) == (
        "checkpoint 3 dekt 1.100 regels; eerder waren er 1.200 gecontroleerd: het logboek is "
        "ingekort"
    )
    unreachable = Verification(False, None, 0, "", "", "English", "gateway",
                               {"code": "transport"})  # fmt: skip
    assert problems.problem(unreachable) == (
        "de gateway kon niet worden gevraagd: de gateway was niet bereikbaar"
    )
    older = Verification(False, None, 0, "", "", "what an older console kept")
    assert problems.problem(older) == "what an older console kept"
