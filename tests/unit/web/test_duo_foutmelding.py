"""DUO's endpoint when something breaks that nobody foresaw: DUO's own shape, ``500``,
and not a word of the cause (it may quote what DUO sent). Over a fake store whose intake
breaks, as a bug would: the only way to reach this handler on purpose."""

from __future__ import annotations

import secrets
import uuid
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.bootstrap import with_checkpointer
from gateway.client import wire
from gateway.devtools import demo
from gateway.domain.schemas import Catalog
from gateway.web.app import create_app
from tests.unit.world import make_world

SECRET = "123456782"
"""stands for what DUO sent (a BSN): it must not come back in the answer or the log"""


class _Broken:
    def session(self) -> AbstractContextManager[None]:
        raise RuntimeError(f"a bug that quotes its input: {SECRET}")

    def settle(self) -> None:
        return None


def test_an_unexpected_error_is_a_foutmelding_500_that_says_nothing_of_its_cause(
    catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    world = make_world(catalog, tmp_path)
    monkeypatch.setattr(world.store, "intake", _Broken())
    services = with_checkpointer(world.services)
    client = create_app(services, {"CHECKPOINT_THREAD": False}).test_client()
    claims = wire.make_claims(demo.DUO, datetime.now(UTC), secrets.token_urlsafe(18))
    assertion = wire.sign(claims, world.keys[demo.DUO], typ=wire.ASSERTION_TYP)
    body = {
        "registratieDatumTijd": "2026-11-20T09:00:00Z",
        "gebeurtenisId": "SS139",
        "vNummer": int(world.person.v_number),
    }
    headers = {"bron": demo.DUO, "doel": demo.LEIDEN, "berichtId": str(uuid.uuid4()),
               "Authorization": f"Bearer {assertion}"}  # fmt: skip
    answer = client.post("/v1/duo/notificaties", json=body, headers=headers)
    assert answer.status_code == 500
    assert answer.get_json() == {
        "fouttekst": "interne fout in de gateway; probeer het later opnieuw"
    }
    assert answer.headers["API-Version"] == "1.8.0"
    logged = capsys.readouterr()
    said = logged.out + logged.err
    assert "unhandled_error" in said and "RuntimeError" in said
    assert SECRET not in answer.get_data(as_text=True) + said
