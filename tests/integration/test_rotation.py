"""Rotating the instance's keys through the operator's steps on a real store, each backend
(issue #33): the services rebuilt after each step stand for the restarted instances."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from gateway.bootstrap import storage_of
from gateway.continuity import rewrap, rotation
from gateway.devtools import demo, synthetic
from gateway.domain import vault
from gateway.domain.audit import checkpoints, notes
from gateway.domain.wire import envelope, jwk
from gateway.errors import ConfigurationError
from gateway.service import intake
from gateway.service.services import Services
from gateway.storage import tables
from gateway.storage.datakeys import DataKeyStore
from tests.conftest import services_for


def _send(services: Services, cast: demo.Cast, rng: random.Random) -> tuple[str, str]:
    """A profile of a new newcomer: its message id and receipt."""
    now = datetime.now(UTC)
    payload = demo.profile(synthetic.Newcomer.make(rng), rng, now)
    token = cast.client(demo.COA).sign(payload).encode()
    outcome = intake.accept(token, services=services, now=now, trace_id="0" * 32)
    assert outcome.status == 202
    return str(payload["message_id"]), outcome.receipt


def _restart(services: Services, db_env: dict[str, str]) -> Services:
    """The instance's services as a restarted process builds them from its secrets."""
    storage_of(services).engine.dispose()
    return services_for(services.settings.instance, db_env)


def _steps(services: Services, event: str) -> list[str]:
    entries = storage_of(services).audit.entries()
    return [str(e["entry"]["reason"]) for e in entries if e["entry"]["event"] == event]


def test_a_signing_key_rotates_with_an_overlap_and_the_origin_stays(
    services: Services, db_env: dict[str, str]
) -> None:
    now, rng = datetime.now(UTC), random.Random(3)
    cast = demo.register_cast(services, "http://unused", now)
    receipts = [_send(services, cast, rng)[1]]
    points = [services.checkpoints.sign(now)]
    origin, old = services.checkpoints.origin, services.signer.key

    new_kid = rotation.add_signing_key(services.settings, None, now, None).kid
    services = _restart(services, db_env)
    assert services.signer.kid == jwk.thumbprint(old)  # published first, signs later
    assert [k["kid"] for k in services.published_keys()] == [jwk.thumbprint(old), new_kid]
    receipts.append(_send(services, cast, rng)[1])
    points.append(services.checkpoints.sign(now))
    new = jwk.import_jwk(services.published_keys()[1])
    for key in (old, new):  # the overlap's note: a witness holding either key accepts it
        assert points[-1] is not None
        checkpoints.verify_note(points[-1].note, origin, key)

    rotation.activate_signing_key(services.settings, new_kid, now, None)
    services = _restart(services, db_env)
    assert services.signer.kid == new_kid and services.checkpoints.origin == origin
    receipts.append(_send(services, cast, rng)[1])
    points.append(services.checkpoints.sign(now))

    rotation.retire_signing_key(services.settings, jwk.thumbprint(old), now, None)
    services = _restart(services, db_env)
    assert services.retired_keys() == [jwk.public_jwk(old)]
    receipts.append(_send(services, cast, rng)[1])
    points.append(services.checkpoints.sign(now))
    assert points[-1] is not None and len(notes.parse_note(points[-1].note).signatures) == 1

    published = {k["kid"]: jwk.import_jwk(k) for k in services.published_keys()}
    kids = []
    for receipt in receipts:  # before, during and after: each verifies by a published key
        unverified = envelope.parse(receipt.encode(), typ=envelope.RECEIPT_TYP)
        envelope.verify(unverified, published[unverified.header.kid])
        kids.append(unverified.header.kid)
    assert kids == [jwk.thumbprint(old)] * 2 + [new_kid] * 2
    for point in points:
        assert point is not None
        checkpoints.verify_jws(point.jws, published)
        assert point.note.startswith(origin + "\n")
    activated = f"activated:{new_kid}"
    retired = f"retired:{jwk.thumbprint(old)}"
    assert _steps(services, "signing_key.changed") == [f"published:{new_kid}", activated, retired]
    assert _steps(services, "log.origin_changed") == []
    storage_of(services).engine.dispose()


def test_the_master_key_is_rewrapped_resumably_and_the_old_one_is_then_not_needed(
    services: Services, db_env: dict[str, str]
) -> None:
    now, rng = datetime.now(UTC), random.Random(4)
    cast = demo.register_cast(services, "http://unused", now)
    sent = [_send(services, cast, rng)[0] for _ in range(12)]
    settings = services.settings
    old_id = vault.Vault(rewrap.master_keys(settings)).ids[0]
    _unname_one(services)  # a data key as wrapped before wrapped keys named theirs

    new_id = rewrap.add_master_key(settings, now, None).key_id
    rewrap.activate_master_key(settings, new_id, now, None)
    services = _restart(services, db_env)
    sent += [_send(services, cast, rng)[0] for _ in range(3)]  # wrapped by the new key
    with pytest.raises(ConfigurationError, match="still need master key"):
        rewrap.retire_master_key(settings, old_id, now, None)

    erased = _erase_one(services)  # retention erases one meanwhile: it stays erased

    def killed(progress: rewrap.Progress) -> None:
        if progress.seen >= 5:
            raise KeyboardInterrupt  # the command killed after the pages committed so far

    with pytest.raises(KeyboardInterrupt):
        rewrap.rewrap(settings, batch=5, report=killed)
    midway = rewrap.count_by_key(settings)
    assert 0 < midway[new_id] < 14
    again = rewrap.rewrap(settings, batch=5)
    assert (again.left, again.seen, again.rewrapped) == (0, 14, 14 - midway[new_id])
    assert again.done_before == midway[new_id]  # the killed run's pages are passed over
    assert rewrap.count_by_key(settings) == {new_id: 14}

    rewrap.retire_master_key(settings, old_id, now, None)
    assert (settings.instance / "master.key").read_text().count(",") == 0
    services = _restart(services, db_env)
    store = storage_of(services)
    for message_id in sent:  # every body opens without the old key
        if message_id != erased:
            assert store.read_message(message_id)
    assert _steps(services, "master_key.changed") == [
        f"added:{new_id}", f"activated:{new_id}", f"rewrapped:{new_id}", f"retired:{old_id}",
    ]  # fmt: skip
    store.engine.dispose()


def _unname_one(services: Services) -> None:
    """Rewrite the first data key as wrapped before key ids (nonce and ciphertext alone)."""
    store = DataKeyStore(storage_of(services).engine)
    [(subject, wrapped)] = store.page("", 1)
    assert store.replace([(subject, wrapped, wrapped[1 + vault.KEY_ID_BYTES :])]) == 1


def _erase_one(services: Services) -> str:
    """Crypto-shred one newcomer's data key, as retention does; its message's id."""
    store = storage_of(services)
    subject = DataKeyStore(store.engine).page("", 3)[2][0]
    keys, messages = tables.subject_keys, tables.messages
    with store.engine.begin() as conn:
        conn.execute(update(keys).where(keys.c.subject == subject).values(wrapped_key=None))
        found = conn.execute(select(messages.c.message_id).where(messages.c.subject == subject))
        return str(found.scalar_one())


def test_a_secret_given_by_environment_is_written_for_the_secret_store(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    value = (services.settings.instance / "master.key").read_text()
    monkeypatch.setenv("GATEWAY_MASTER_KEY", value)
    now = datetime.now(UTC)
    with pytest.raises(ConfigurationError, match="--out"):
        rewrap.add_master_key(services.settings, now, None)
    out = tmp_path / "master.new"
    rewrap.add_master_key(services.settings, now, out)
    assert out.stat().st_mode & 0o777 == 0o600 and out.read_text().count(",") == 1
    assert (services.settings.instance / "master.key").read_text() == value  # untouched
