from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain import vault, vocabulary
from gateway.domain.audit import events
from gateway.errors import ConfigurationError


def test_canonical_bytes_follow_rfc8785() -> None:
    # RFC 8785 §3.2.3 ordering and number forms, and the compact separators.
    obj = {
        "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": '€$\u000f\nA\'B"\\\\"/',
        "literals": [None, True, False],
    }
    assert events.canonical(obj) == (
        b'{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        b'"string":"\xe2\x82\xac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )


def test_leaf_hash_is_rfc9162() -> None:
    assert events.leaf_hash(b"") == hashlib.sha256(b"\x00").hexdigest()
    assert (
        events.leaf_hash(b"") == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )


def test_entry_holds_every_member_of_the_contract() -> None:
    ev = events.Event(
        event="message.refused",
        actor=None,
        outcome="refused",
        trace_id="ab" * 16,
        processing_activity=vocabulary.INTAKE,
        reason="malformed",
    )
    entry = events.entry(7, datetime(2026, 11, 23, tzinfo=UTC), ev)
    assert set(entry) == {
        "index",
        "time",
        "event",
        "actor",
        "subject",
        "message_id",
        "type",
        "categories_delivered",
        "categories_withheld",
        "basis",
        "processing_activity",
        "trace_id",
        "span_id",
        "outcome",
        "reason",
    }
    assert entry["time"] == "2026-11-23T00:00:00.000000Z"
    assert len(entry["span_id"]) == 16


def test_unknown_event_is_a_bug() -> None:
    with pytest.raises(ValueError):
        events.Event(
            event="message.read", actor=None, outcome="ok", trace_id="0", processing_activity="x"
        )


def test_pseudonym_is_keyed_and_hides_the_number() -> None:
    a = events.pseudonym(b"k" * 32, "1234567890")
    assert a == events.pseudonym(b"k" * 32, "1234567890")
    assert a != events.pseudonym(b"j" * 32, "1234567890")
    assert "1234567890" not in a and len(a) == 64


@pytest.mark.parametrize(
    ("header", "kept"),
    [
        ("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", True),
        ("00-00000000000000000000000000000000-b7ad6b7169203331-01", False),
        ("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331", False),
        ("garbage", False),
        (None, False),
    ],
)
def test_trace_id_comes_from_a_valid_traceparent(header: str | None, kept: bool) -> None:
    trace = events.trace_id_from(header)
    assert len(trace) == 32
    assert (trace == "0af7651916cd43dd8448eb211c80319c") is kept


def test_sealed_body_opens_only_with_its_key_and_message_id() -> None:
    master = vault.Vault(os.urandom(32))
    key = vault.Vault.new_data_key()
    wrapped = master.wrap(key, "subject-a")
    assert master.unwrap(wrapped, "subject-a") == key
    with pytest.raises(ConfigurationError):
        master.unwrap(wrapped, "subject-b")
    sealed = vault.seal(key, b"secret body", "m-1")
    assert b"secret" not in sealed
    assert vault.unseal(key, sealed, "m-1") == b"secret body"
    with pytest.raises(ConfigurationError):
        vault.unseal(key, sealed, "m-2")


_text = st.text(st.characters(codec="utf-8"), max_size=40)


@settings(max_examples=400, deadline=None)
@given(
    event=st.sampled_from(sorted(events.EVENTS)),
    actor=st.none() | _text,
    subject=st.none() | _text,
    reason=st.none() | _text,
    index=st.integers(0, 2**53 - 1),
    delivered=st.lists(_text, max_size=5),
    withheld=st.lists(_text, max_size=5),
    basis=st.dictionaries(
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20),
        _text,
        max_size=5,
    ),
)
def test_fast_entry_encoding_is_byte_for_byte_rfc8785(
    event: str,
    actor: str | None,
    subject: str | None,
    reason: str | None,
    index: int,
    delivered: list[str],
    withheld: list[str],
    basis: dict[str, str],
) -> None:
    ev = events.Event(
        event=event,
        actor=actor,
        outcome="ok",
        trace_id="ab" * 16,
        processing_activity="p",
        subject=subject,
        reason=reason,
        categories_delivered=delivered,
        categories_withheld=withheld,
        basis=basis,
    )
    entry = events.entry(index, datetime(2026, 11, 23, tzinfo=UTC), ev)
    assert events.canonical_entry(entry) == events.canonical(entry)
