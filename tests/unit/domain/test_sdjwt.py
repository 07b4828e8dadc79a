"""SD-JWT disclosures (RFC 9901), against the RFC's own examples and its rejection rules."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.domain.wire.sdjwt import (
    Refused,
    conceal,
    digest,
    disclose,
    parse,
    process,
    reveal,
)

# RFC 9901 §4.2.1, §4.2.2 and §4.2.3
FAMILY_NAME = "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNw7ZiaXVzIl0"
FAMILY_NAME_DIGEST = "X9yH0Ajrdm1Oij4tWso9UzzKJvPoDxwmuEcO3XAdRC0"
NATIONALITY_FR = "WyJsa2x4RjVqTVlsR1RQVW92TU5JdkNBIiwgIkZSIl0"


def _json(disclosure: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(disclosure + "=" * (-len(disclosure) % 4)))


def test_the_rfcs_disclosures_and_digest() -> None:
    assert _json(FAMILY_NAME) == ["_26bc4LT-ac6q2KI6cBW5es", "family_name", "Möbius"]
    assert digest(FAMILY_NAME) == FAMILY_NAME_DIGEST
    assert _json(NATIONALITY_FR) == ["lklxF5jMYlGTPUovMNIvCA", "FR"]
    assert reveal({"_sd": [FAMILY_NAME_DIGEST], "_sd_alg": "sha-256"}, [FAMILY_NAME]) == {
        "family_name": "Möbius"}  # fmt: skip
    fr = {"...": digest(NATIONALITY_FR)}
    assert reveal({"nationalities": ["DE", fr]}, [NATIONALITY_FR]) == {
        "nationalities": ["DE", "FR"]}  # fmt: skip
    assert reveal({"nationalities": ["DE", fr]}, []) == {"nationalities": ["DE"]}


def test_conceal_then_reveal_what_was_forwarded() -> None:
    claims = {"iss": "coa", "family": {"size": 3}, "education": ["A2"], "health": None}
    made = conceal(claims, ["family", "education", "health"], decoys=5)
    assert set(made.payload) == {"iss", "_sd", "_sd_alg"} and len(made.payload["_sd"]) == 8
    assert made.payload["_sd"] == sorted(made.payload["_sd"])
    assert reveal(made.payload, made.disclosures.values()) == claims
    assert reveal(made.payload, [made.disclosures["family"]]) == {"iss": "coa",
                                                                  "family": {"size": 3}}
    assert reveal(made.payload, []) == {"iss": "coa"}


@pytest.mark.parametrize(("payload", "given", "said"), [
    ({"_sd": [], "_sd_alg": "sha-512"}, [], "_sd_alg"),
    ({"_sd": []}, [FAMILY_NAME], "referenced by no digest"),
    ({"_sd": [FAMILY_NAME_DIGEST, FAMILY_NAME_DIGEST]}, [FAMILY_NAME], "twice"),
    ({"_sd": [FAMILY_NAME_DIGEST], "a": {"_sd": [FAMILY_NAME_DIGEST]}}, [FAMILY_NAME], "twice"),
    ({"_sd": [FAMILY_NAME_DIGEST], "family_name": "x"}, [FAMILY_NAME], "twice"),
    ({"_sd": "X9yH"}, [], "array of strings"),
    ({"_sd": [FAMILY_NAME_DIGEST]}, [FAMILY_NAME, FAMILY_NAME], "given twice"),
    ({"a": [{"...": digest(FAMILY_NAME)}]}, [FAMILY_NAME], "[salt, value]"),
    ({"_sd": [digest(NATIONALITY_FR)]}, [NATIONALITY_FR], "[salt, name, value]"),
])  # fmt: skip
def test_what_rfc_9901_rejects_is_refused(
    payload: dict[str, Any], given: list[str], said: str
) -> None:
    with pytest.raises(Refused, match=said.replace("[", r"\[").replace("]", r"\]")):
        reveal(payload, given)


@pytest.mark.parametrize("bad", [
    disclose("_sd", 1, salt="s"), disclose("...", 1, salt="s"), "not+base64", "W10",  # [] no
    "WyJzIiwgIm4iLCBOYU5d",  # ["s", "n", NaN]: strict JSON refuses NaN
])  # fmt: skip
def test_malformed_or_reserved_disclosures_are_refused(bad: str) -> None:
    with pytest.raises(Refused):
        reveal({"_sd": [digest(bad)]}, [bad])


def test_the_compact_form() -> None:
    text = f"eyJ.a.b~{FAMILY_NAME}~{NATIONALITY_FR}~"
    found = parse(text)
    assert found.disclosures == (FAMILY_NAME, NATIONALITY_FR) and found.key_binding == ""
    assert found.serialize() == text
    assert found.select({FAMILY_NAME_DIGEST}).serialize() == f"eyJ.a.b~{FAMILY_NAME}~"
    for bad in ("eyJ.a.b", "~x~", "eyJ.a.b~~x~"):
        with pytest.raises(Refused):
            parse(bad)


@given(st.sets(st.sampled_from(["family", "education", "languages", "health", "work"])),
       st.sets(st.sampled_from(["family", "education", "languages", "health", "work"])))
def test_any_consented_selection_reveals_exactly_it(concealed: set[str], allowed: set[str]) -> None:
    """What the gateway forwards (the disclosures of the allowed categories) is exactly what
    the municipality's verification yields, whatever was concealed and allowed."""
    claims = {name: {"of": name} for name in ("family", "education", "languages", "health",
                                                "work")}  # fmt: skip
    made = conceal({"iss": "coa", **claims}, concealed, decoys=3)
    forwarded = [made.disclosures[n] for n in sorted(concealed & allowed)]
    shown = reveal(made.payload, forwarded)
    expected = {n for n in claims if n not in concealed} | (concealed & allowed)
    assert set(shown) - {"iss"} == expected


def test_a_chain_of_disclosures_nested_past_the_contracts_depth_is_refused() -> None:
    """Each disclosure is within the depth alone; one hiding the next one's digest, four
    hundred times, overran the stack (a 500) before the walk counted its depth."""
    inner: Any = "deep"
    disclosures = []
    for level in range(400):
        made = disclose(f"c{level}", inner)
        disclosures.append(made)
        inner = {"_sd": [digest(made)]}
    with pytest.raises(Refused, match="nest deeper than 32"):
        process(inner, disclosures)
    shallow = disclosures[:30]
    assert process({"_sd": [digest(shallow[-1])]}, shallow).claims  # within: revealed
