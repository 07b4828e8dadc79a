"""A consent form sent twice (a double click, a browser's resubmit) is one declaration: the
second carries the same declaration id, which the gateway refuses as recorded before. Each
send made a new id, and a newcomer's later withdrawal of one left its twin in force."""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from connectors.common.client import GatewayClient, Submission
from connectors.municipality.console.app import create_app
from connectors.municipality.console.party import Console
from connectors.municipality.console.pulling import Puller
from connectors.municipality.console.store import Store
from tests.unit.connectors.console.test_progress_reads import PORT, V_NUMBER, FakeGateway

BASE = f"http://127.0.0.1:{PORT}"
COA = "00000001003214345000"


@dataclass
class Recording(FakeGateway):
    """The gateway as the consent form needs it, keeping what was submitted."""

    submitted: list[dict[str, Any]] = field(default_factory=list)

    def directory(self, role: str | None = None) -> list[dict[str, Any]]:
        return [{"oin": COA, "role": "coa", "name": "COA"}]

    def sign(self, payload: dict[str, Any]) -> str:
        return json.dumps(payload)

    def submit(self, token: str) -> Submission:
        self.submitted.append(json.loads(token))
        return Submission(202, {"audit": {"index": len(self.submitted)}}, "receipt")


def test_the_same_consent_form_sent_twice_is_one_declaration(tmp_path: Path) -> None:
    gateway = Recording()
    client = cast(GatewayClient, gateway)
    store = Store(tmp_path / "console.sqlite3")
    store.replace_reads("signals", {V_NUMBER: {"placed_at": "2026-01-01T00:00:00Z"}})
    console = Console(client=client, token="secret", store=store,
                      puller=Puller(client, store, 3600))  # fmt: skip
    browser = create_app(console, PORT).test_client()
    browser.get(f"{BASE}/?token=secret")
    page = browser.get(f"{BASE}/newcomers/{V_NUMBER}").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    for _ in range(2):
        form = {"csrf_token": found.group(1), "categories": "education", "sources": COA,
                "purposes": "pip", "signed_on": "2026-12-01", "months": "12",
                "explained_in_language": "ar",
                "form": (io.BytesIO(b"a scan of the signed form"), "form.pdf")}  # fmt: skip
        answer = browser.post(f"{BASE}/newcomers/{V_NUMBER}/consent", data=form,
                              content_type="multipart/form-data")  # fmt: skip
        assert answer.status_code == 303, answer.get_data(as_text=True)[-400:]
    ids = [m["body"]["declaration_id"] for m in gateway.submitted]
    assert len(ids) == 2 and ids[0] == ids[1]
    store.close()
