"""Schemathesis with DUO's own Notificatie document against our ``/v1/duo`` (issue #29).

The document is DUO's (tests/duo/openapi/Notificatie/openapi.yml, copied unchanged
from github.com/duonl/gemeente-m2m-inburgering at f4973d4), not ours: the gateway
serves DUO's API for the municipalities, so DUO's generator of valid and invalid
notifications must find every answer as DUO's document declares it. Every check runs;
the requests carry what DUO's document cannot say: DUO's connection (a bearer
assertion of the DUO party, keys-only mode), a ``bron`` that is that party and a
``doel`` that is a municipality here, and a ``vNummer``, which the gateway needs to
know whom a notification is about (docs/interface.md).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from gateway import config
from gateway.bootstrap import build_services
from gateway.devtools import demo
from gateway.web.app import create_app

DOCUMENT = Path(__file__).resolve().parents[1] / "duo" / "openapi" / "Notificatie" / "openapi.yml"
_INSTANCE = tempfile.mkdtemp(prefix="schemathesis-duo-")
_SERVICES = build_services(config.from_env({"GATEWAY_INSTANCE": _INSTANCE}), checkpointer=True)
_CAST = demo.register_cast(_SERVICES, "http://localhost", datetime.now(UTC))
_CONFIG = schemathesis.Config.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": [400, 401, 403, 413]}}}
)
schema = schemathesis.openapi.from_path(DOCUMENT, config=_CONFIG)
schema.app = create_app(_SERVICES, {"CHECKPOINT_THREAD": False})
schema.config.base_url = "http://localhost/v1/duo"


@pytest.fixture(autouse=True)
def _checkpointed() -> None:
    """No thread signs checkpoints here (CHECKPOINT_THREAD off): one is signed before each
    test, so the entries made at import never wait past the grace, however late the test
    runs (under pytest-xdist a file may run minutes after its collection)."""
    _SERVICES.checkpoints.sign(datetime.now(UTC))


@schema.auth()
class Connection:
    """DUO's connection: a fresh bearer assertion of the DUO party for every request."""

    def get(self, case: Any, ctx: Any) -> str:
        return ""

    def set(self, case: Any, data: str, ctx: Any) -> None:
        token = _CAST.client(demo.DUO).assertion()
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        _as_duo_sends(case)


def _as_duo_sends(case: Any) -> None:
    """What DUO's document leaves open, as DUO fills it in: ``bron`` DUO and ``doel`` a
    municipality where the generated ones are valid by the document (20 characters);
    a ``vNummer`` where the body has none; a valid generated BSN replaced by a synthetic
    one that passes the 11-proef, as DUO's own do. Invalid values are left as generated."""
    headers = case.headers
    for name, oin in (("bron", demo.DUO), ("doel", demo.LEIDEN)):
        if isinstance(headers.get(name), str) and len(headers[name]) == 20:
            headers[name] = oin
    if isinstance(case.body, dict):
        case.body.setdefault("vNummer", 1234567890)
        bsn = case.body.get("bsn")
        if isinstance(bsn, str) and len(bsn) == 9 and bsn.isascii() and bsn.isdigit():
            case.body["bsn"] = "999990019"  # a test BSN (the 99999 range)


@schema.parametrize()
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_our_notificatie_endpoint_answers_as_duos_document_says(case: Any) -> None:
    """Every check, but a positive case's acceptance where its date is one the gateway
    bounds (1900-2100: a date the domain computes with; DUO's document sets no range) or
    its body is one strict JSON refuses (an integer beyond 64 bits, in any member)."""
    bounded = _out_of_bounds(case.body) or _beyond_64_bits(case.body)
    excluded = [positive_data_acceptance] if bounded else []
    case.call_and_validate(excluded_checks=excluded)


def _beyond_64_bits(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_beyond_64_bits(v) for v in value.values())
    if isinstance(value, list):
        return any(_beyond_64_bits(v) for v in value)
    return isinstance(value, int) and not -(2**63) <= value < 2**64


def _out_of_bounds(body: Any) -> bool:
    when = body.get("registratieDatumTijd") if isinstance(body, dict) else None
    if not isinstance(when, str):
        return False
    try:
        year = datetime.fromisoformat(when.replace("Z", "+00:00")).astimezone(UTC).year
    except (ValueError, OverflowError):
        return False
    return not 1900 <= year <= 2100
