"""The console's accounts: Argon2 hashes, roles, the sign-in rate limit, staff pseudonyms.

Each person signs in as themselves; a name is refused for a while after
five failures, the right password included; the pseudonym that names a
person in what the console sends is the same every time, and depends on
the party's key, so nobody without it can make or test one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from argon2 import PasswordHasher

from connectors.common.client import GatewayClient, Submission
from connectors.municipality import messages as m
from connectors.municipality.console.users import (
    ADMINISTRATOR,
    CLIENT_MANAGER,
    POLICY_OFFICER,
    Locked,
    Users,
    pseudonym,
    staff_secret,
)

PASSWORD = "correct horse battery"


@pytest.fixture
def users(tmp_path: Path) -> Iterator[Users]:
    # cheap parameters: the test is about the behaviour, not the cost
    found = Users(tmp_path / "console.sqlite3", PasswordHasher(time_cost=1, memory_cost=64))
    yield found
    found.close()


def test_a_password_is_kept_as_an_argon2id_hash_and_checked(users: Users) -> None:
    made = users.add("M. de Vries", CLIENT_MANAGER, PASSWORD)
    (stored,) = users.rows("SELECT password FROM users")
    assert str(stored[0]).startswith("$argon2id$") and PASSWORD not in str(stored[0])
    assert users.sign_in("M. de Vries", PASSWORD) == made
    assert users.sign_in("M. de Vries", "not the password") is None
    assert users.sign_in("J. Jansen", PASSWORD) is None  # no such user


def test_roles_say_who_acts_and_who_administers(users: Users) -> None:
    assert not users.any()
    admin = users.add("A. Bakker", ADMINISTRATOR, PASSWORD)
    officer = users.add("P. Visser", POLICY_OFFICER, PASSWORD)
    manager = users.add("M. de Vries", CLIENT_MANAGER, PASSWORD)
    assert users.any()
    assert admin.acts and admin.administers
    assert manager.acts and not manager.administers
    assert not officer.acts and not officer.administers
    with pytest.raises(ValueError):
        users.add("X. Y", "janitor", PASSWORD)
    with pytest.raises(ValueError):
        users.add("X. Y", CLIENT_MANAGER, "short")
    with pytest.raises(ValueError):
        users.add("M. de Vries", CLIENT_MANAGER, PASSWORD)  # the name is taken


def test_a_disabled_user_cannot_sign_in(users: Users) -> None:
    users.add("M. de Vries", CLIENT_MANAGER, PASSWORD)
    assert users.disable("M. de Vries")
    assert users.sign_in("M. de Vries", PASSWORD) is None
    assert not users.disable("M. de Vries")


def test_five_failures_lock_the_name_for_fifteen_minutes(users: Users) -> None:
    users.add("M. de Vries", CLIENT_MANAGER, PASSWORD)
    users.add("J. Jansen", CLIENT_MANAGER, PASSWORD)
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    for minute in range(5):
        assert users.sign_in("M. de Vries", "wrong", now + timedelta(minutes=minute)) is None
    with pytest.raises(Locked):
        users.sign_in("M. de Vries", PASSWORD, now + timedelta(minutes=5))
    assert users.sign_in("J. Jansen", PASSWORD, now + timedelta(minutes=5))  # per name
    later = now + timedelta(minutes=15, seconds=1)  # the first failure aged out
    assert users.sign_in("M. de Vries", PASSWORD, later) is not None
    assert users.failures("M. de Vries", later) == 0  # a success clears the count


def test_the_staff_pseudonym_is_stable_keyed_and_kept(users: Users) -> None:
    user = users.add("M. de Vries", CLIENT_MANAGER, PASSWORD)
    key = {"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "d": "d"}
    secret = staff_secret(key)
    first = users.staff(secret, user)
    assert re.fullmatch(r"staff-[0-9a-f]{16}", first)
    assert users.staff(secret, user) == first == pseudonym(secret, user.id)
    assert pseudonym(staff_secret({**key, "d": "another"}), user.id) != first
    other = users.add("J. Jansen", CLIENT_MANAGER, PASSWORD)
    assert users.staff(secret, other) != first
    assert users.who(first) == user and users.who("staff-0000000000000000") is None


def test_a_newcomer_is_given_to_one_client_manager_at_a_time(users: Users) -> None:
    admin = users.add("A. Bakker", ADMINISTRATOR, PASSWORD)
    a = users.add("M. de Vries", CLIENT_MANAGER, PASSWORD)
    b = users.add("J. Jansen", CLIENT_MANAGER, PASSWORD)
    users.give("0123456789", a.id, admin)
    users.give("0123456789", b.id, admin)
    users.give("1123456789", a.id, a)
    assert users.caseload() == {"0123456789": b.id, "1123456789": a.id}
    users.give("1123456789", None, admin)
    assert users.caseload() == {"0123456789": b.id}


@dataclass
class Signer:
    """A client that keeps what it was asked to sign and sends nothing."""

    oin: str = "00000001002220647000"
    signed: list[dict[str, Any]] = field(default_factory=list)

    def sign(self, payload: dict[str, Any]) -> str:
        self.signed.append(payload)
        return "token"

    def submit(self, token: str) -> Submission:
        return Submission(202, {}, token)


def test_the_pseudonym_is_an_envelope_member_of_every_message_and_only_when_given() -> None:
    signer = Signer()
    client = cast(GatewayClient, signer)
    subject = m.subject_of("0123456789", None)
    staff = "staff-0123456789abcdef"
    m.assign(client, "00000001003214345000", subject, route="b1-route",
             valid_from=datetime(2026, 12, 7, tzinfo=UTC), staff=staff)  # fmt: skip
    m.withdraw(client, "d", subject, staff=staff)
    m.send_plan(client, {"route": "b1-route"}, subject, staff=staff)
    m.withdraw(client, "d", subject)
    assert [p.get("staff") for p in signer.signed] == [staff, staff, staff, None]
    assert all("staff" not in p["body"] for p in signer.signed)
