"""A tool's scheduled run says so (profile v1.2, issue #30): the audit entries of a pull or a
signals walk, a progress or profile read with ``scheduled=true`` say so in their reason, so
an auditor tells routine reads from a person's; anything but true or false is a 400."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest

from gateway.bootstrap import storage_of
from gateway.devtools import demo, synthetic
from gateway.errors import BadRequest
from gateway.service.services import Services

pytestmark = pytest.mark.e2e


def _entries_since(services: Services, start: int) -> list[dict[str, Any]]:
    return [e["entry"] for e in storage_of(services).audit.entries(start)]


def test_a_scheduled_pull_and_signals_walk_are_marked_routine(
    cast: demo.Cast, server_services: Services
) -> None:
    rng = random.Random(3001)
    profile = demo.profile(synthetic.Newcomer.make(rng), rng, datetime.now(UTC))
    coa = cast.client(demo.COA)
    assert coa.submit(coa.sign(profile)).status == 202
    utrecht = cast.client(profile["recipient"])
    start = storage_of(server_services).count("audit_entries")
    utrecht.get_json("/v1/inbox", limit=500, scheduled="true")  # tests' inboxes stay as were
    pulled = [e for e in _entries_since(server_services, start) if e["event"] == "delivery.pulled"]
    # a withdrawal notice keeps its own reason (declaration:<id>); every other entry says so
    plain = [e for e in pulled if e["type"] != "consent-withdrawn"]
    assert plain and {e["reason"] for e in plain} == {"scheduled"}
    assert {e["trace_id"] for e in pulled} == {plain[0]["trace_id"]}  # one request, one trace
    start = storage_of(server_services).count("audit_entries")
    utrecht.get_json("/v1/signals", limit=5, scheduled="true")
    utrecht.get_json("/v1/signals", limit=5)
    v_number = profile["subject"]["v_number"]
    utrecht.get_json(f"/v1/newcomers/{v_number}/progress", scheduled="true")
    reads = [e["reason"] for e in _entries_since(server_services, start)
             if e["event"] == "regie.read"]  # fmt: skip
    assert "signals:scheduled" in reads and "signals" in reads
    assert reads[-1] == "progress:scheduled"
    start = storage_of(server_services).count("audit_entries")
    utrecht.get_json(f"/v1/newcomers/{v_number}/profile", scheduled="true")
    utrecht.get_json(f"/v1/newcomers/{v_number}/profile")
    read = [e["reason"] for e in _entries_since(server_services, start)
            if e["event"] == "delivery.pulled"]  # fmt: skip
    assert read == ["profile-read:scheduled", "profile-read"]
    with pytest.raises(BadRequest):
        utrecht.get_json("/v1/inbox", scheduled="yes")
