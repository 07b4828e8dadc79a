"""Rotating the gateway's keys, in the domain (issue #33): the signing key set's steps and
what each publishes and signs, notes signed by two keys during the overlap, and a vault
of several master keys whose wrapped keys name the one that wraps them."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime

import pytest

from gateway.domain import keyring, vault
from gateway.domain.audit import checkpoints, notes, witnessing
from gateway.domain.wire import jwk
from gateway.errors import CheckpointError, ConfigurationError
from gateway.instance import master_keys

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ORIGIN = "inburgering-gateway/test"


def _rotated() -> tuple[keyring.SigningKeys, jwk.Key, jwk.Key]:
    old, new = jwk.generate(), jwk.generate()
    keys = keyring.SigningKeys(keyring.single(old).entries, ORIGIN)
    return keys.add(new, NOW), old, new


def test_a_single_private_jwk_is_a_set_of_one_active_key() -> None:
    key = jwk.generate()
    keys = keyring.parse(json.dumps(jwk.private_jwk(key)))
    assert keys.active.thumbprint() == key.thumbprint()
    assert keys.overlap == () and not keys.rotated and keys.origin is None
    assert keys.published() == [jwk.public_jwk(key)]


def test_the_three_steps_publish_first_sign_later_and_keep_the_retired_key() -> None:
    added, old, new = _rotated()
    old_kid, new_kid = jwk.thumbprint(old), jwk.thumbprint(new)
    assert added.active is old and added.overlap == (new,)
    assert [k["kid"] for k in added.published()] == [old_kid, new_kid]

    activated = added.activate(new_kid, NOW)
    assert activated.active is new and activated.overlap == (old,)
    assert [k["kid"] for k in activated.published()] == [new_kid, old_kid]

    retired = activated.retire(old_kid, NOW)
    assert retired.active is new and retired.overlap == ()
    assert [k["kid"] for k in retired.published()] == [new_kid, old_kid]
    assert retired.retired() == [jwk.public_jwk(old)]
    assert retired.origin == ORIGIN  # the origin named after the first key stays
    again = keyring.parse(retired.dumps())
    assert again == keyring.SigningKeys(again.entries, ORIGIN)
    assert [e.kid for e in again.entries] == [e.kid for e in retired.entries]
    [kept] = [k for k in json.loads(retired.dumps())["keys"] if k["state"] == "retired"]
    assert kept["jwk"] == jwk.public_jwk(old)  # its private half is gone


@pytest.mark.parametrize(
    ("step", "words"),
    [
        ("add again", "a rotation is under way"),
        ("activate the active key", "is active"),
        ("retire the active key", "is active"),
        ("activate an unknown key", "no gateway signing key"),
    ],
)
def test_steps_out_of_order_are_refused_in_words(step: str, words: str) -> None:
    added, old, _ = _rotated()
    with pytest.raises(ConfigurationError, match=words):
        if step == "add again":
            added.add(jwk.generate(), NOW)
        elif step == "activate the active key":
            added.activate(jwk.thumbprint(old), NOW)
        elif step == "retire the active key":
            added.retire(jwk.thumbprint(old), NOW)
        else:
            added.activate("x" * 43, NOW)


def test_a_retired_key_never_signs_again() -> None:
    added, old, new = _rotated()
    retired = added.activate(jwk.thumbprint(new), NOW).retire(jwk.thumbprint(old), NOW)
    with pytest.raises(ConfigurationError, match="is retired"):
        retired.activate(jwk.thumbprint(old), NOW)


@pytest.mark.parametrize(
    "document",
    [
        '{"keys": []}',
        '{"keys": [{"state": "overlap", "jwk": {}}]}',
        '{"keys": [{"state": "sleeping"}]}',
        '{"origin": "two words", "keys": []}',
        '{"keys": [], "extra": 1}',
        "not json",
    ],
    ids=["no key", "no active key", "unknown state", "bad origin", "unknown member", "not json"],
)
def test_malformed_key_sets_refuse_the_start(document: str) -> None:
    with pytest.raises(ConfigurationError):
        keyring.parse(document)


def test_a_key_set_with_a_private_retired_key_is_refused() -> None:
    key, other = jwk.generate(), jwk.generate()
    document = json.loads(keyring.single(key).dumps())
    document["keys"].append({"state": "retired", "jwk": jwk.private_jwk(other)})
    with pytest.raises(ConfigurationError, match="public JWK expected"):
        keyring.parse(json.dumps(document))


def test_a_note_of_the_overlap_verifies_with_either_key_for_a_witness_too() -> None:
    _, old, new = _rotated()
    point = checkpoints.Checkpoint(7, "ab" * 32, "2026-03-01T12:00:00.000000Z")
    note = checkpoints.sign_note(ORIGIN, point, old, new)
    for key in (old, new):
        assert checkpoints.verify_note(note, ORIGIN, key).tree_size == 7
        verifier = notes.parse_vkey(checkpoints.vkey(ORIGIN, key), (notes.NOTE,))
        assert notes.verified(notes.parse_note(note), [verifier]) == {ORIGIN: None}
        request = witnessing.Request(0, (), note)
        assert witnessing.judge(request, {ORIGIN: [verifier]}, None).size == 7
    with pytest.raises(CheckpointError, match="no signature"):
        checkpoints.verify_note(checkpoints.sign_note(ORIGIN, point, new), ORIGIN, old)


def test_a_vault_of_two_master_keys_wraps_with_the_first_and_opens_with_either() -> None:
    old, new = os.urandom(32), os.urandom(32)
    before = vault.Vault(old)
    data_key = vault.Vault.new_data_key()
    wrapped = before.wrap(data_key, "subject-a")
    assert vault.wrapped_by(wrapped) == vault.master_key_id(old)

    both = vault.Vault([new, old])
    assert both.ids == (vault.master_key_id(new), vault.master_key_id(old))
    assert both.unwrap(wrapped, "subject-a") == data_key and not both.is_current(wrapped)
    rewrapped = both.rewrap(wrapped, "subject-a")
    assert both.is_current(rewrapped) and vault.wrapped_by(rewrapped) == both.ids[0]
    assert vault.Vault(new).unwrap(rewrapped, "subject-a") == data_key
    with pytest.raises(ConfigurationError, match="not given"):
        vault.Vault(new).unwrap(wrapped, "subject-a")
    with pytest.raises(ConfigurationError):
        both.unwrap(rewrapped, "subject-b")


def test_a_key_wrapped_before_key_ids_opens_with_whichever_master_key_wraps_it() -> None:
    old, new = os.urandom(32), os.urandom(32)
    data_key = vault.Vault.new_data_key()
    legacy = vault.Vault(old).wrap(data_key, "s")[1 + vault.KEY_ID_BYTES :]
    assert len(legacy) == 60 and vault.wrapped_by(legacy) is None
    assert vault.Vault([new, old]).unwrap(legacy, "s") == data_key
    assert not vault.Vault([old]).is_current(legacy)  # a rewrap names its key
    with pytest.raises(ConfigurationError, match="does not open"):
        vault.Vault(new).unwrap(legacy, "s")


def test_the_master_key_value_lists_keys_by_space_comma_or_line() -> None:
    one, two = (base64.b64encode(os.urandom(32)).decode() for _ in range(2))
    for text in (f"{one},{two}", f"{one} {two}\n", f"{one}\n{two}\n"):
        assert [base64.b64encode(k).decode() for k in master_keys(text)] == [one, two]
    with pytest.raises(ConfigurationError, match="empty"):
        master_keys(" \n")
    with pytest.raises(ConfigurationError, match="given twice"):
        vault.Vault(master_keys(f"{one},{one}"))
