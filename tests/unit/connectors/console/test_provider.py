"""The municipality's provider: settings that cannot work refused, roles by group, accounts by
subject (never by name alone), a disabled account staying disabled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from argon2 import PasswordHasher

from connectors.municipality.console.provider import ProviderSettings, settings_from
from connectors.municipality.console.users import (
    ADMINISTRATOR,
    CLIENT_MANAGER,
    POLICY_OFFICER,
    NameTaken,
    Users,
)

ISSUER = "https://login.gemeente.example"


@pytest.fixture
def users(tmp_path: Path) -> Iterator[Users]:
    found = Users(tmp_path / "console.sqlite3", PasswordHasher(time_cost=1, memory_cost=64))
    yield found
    found.close()


def _settings(tmp_path: Path, *roles: str, issuer: str = ISSUER) -> ProviderSettings | None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    return settings_from(issuer, "console", secret, roles, "groups", "openid profile", None)


def test_no_issuer_no_provider(tmp_path: Path) -> None:
    assert _settings(tmp_path, issuer="") is None


@pytest.mark.parametrize(
    ("issuer", "roles", "said"),
    [
        ("http://login.gemeente.example", ("client-manager=km",), "https://"),
        (ISSUER, (), "--oidc-role"),
        (ISSUER, ("klantmanager=km",), "ROLE one of"),
        (ISSUER, ("client-manager=",), "ROLE=GROUP"),
    ],
)
def test_settings_that_cannot_work_are_refused(
    tmp_path: Path, issuer: str, roles: tuple[str, ...], said: str
) -> None:
    with pytest.raises(click.UsageError, match=said):
        _settings(tmp_path, *roles, issuer=issuer)


def test_the_highest_role_any_group_gives(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "client-manager=km", "administrator=beheer",
                         "policy-officer=beleid")  # fmt: skip
    assert settings is not None and settings.client_secret == "s3cret"
    assert settings.role_of({"groups": ["km", "beleid"]}) == CLIENT_MANAGER
    assert settings.role_of({"groups": ["beleid", "beheer", "km"]}) == ADMINISTRATOR
    assert settings.role_of({"groups": "beleid"}) == POLICY_OFFICER
    assert settings.role_of({"groups": ["iedereen"]}) is None
    assert settings.role_of({"groups": [{"km": 1}]}) is None
    assert settings.role_of({}) is None


def test_an_account_by_subject_its_role_from_the_provider_each_time(users: Users) -> None:
    first = users.from_provider(ISSUER, "sub-1", "K.  de Jong", CLIENT_MANAGER)
    assert first is not None and first.name == "K. de Jong"
    again = users.from_provider(ISSUER, "sub-1", "K. de Jong", POLICY_OFFICER)
    assert again is not None and again.id == first.id and again.role == POLICY_OFFICER
    assert users.any() and not users.any_password()
    other_issuer = users.from_provider("https://elders.example", "sub-1", "K. Jong", CLIENT_MANAGER)
    assert other_issuer is not None and other_issuer.id != first.id


def test_no_password_signs_in_to_a_provider_account(users: Users) -> None:
    users.from_provider(ISSUER, "sub-1", "K. de Jong", CLIENT_MANAGER)
    assert users.sign_in("K. de Jong", "!") is None
    assert users.sign_in("K. de Jong", "") is None


def test_a_name_of_a_local_account_is_never_taken_over(users: Users) -> None:
    local = users.add("A. Bakker", ADMINISTRATOR, "een lang synthetisch wachtwoord")
    with pytest.raises(NameTaken):
        users.from_provider(ISSUER, "sub-2", "A. Bakker", CLIENT_MANAGER)
    assert users.get(local.id) == local
    assert [u.name for u in users.all()] == ["A. Bakker"]


def test_a_disabled_account_stays_disabled(users: Users) -> None:
    users.from_provider(ISSUER, "sub-1", "K. de Jong", CLIENT_MANAGER)
    assert users.disable("K. de Jong")
    assert users.from_provider(ISSUER, "sub-1", "K. de Jong", ADMINISTRATOR) is None
    assert not users.all()[0].active and users.all()[0].role == CLIENT_MANAGER
