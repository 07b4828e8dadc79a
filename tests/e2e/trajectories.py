"""One newcomer's trajectory over HTTP: placed by COA, then what Leiden and the provider send.

Seeds from 30,000 up: lower ones name the newcomers of other tests on the
same server (test_batch_http's 8,000-8,999), whose reads would be counted.
"""

from __future__ import annotations

import dataclasses
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.devtools import demo, synthetic


class Trajectory:
    """One newcomer placed with Leiden, and what Leiden and the provider send about them."""

    def __init__(
        self, cast: demo.Cast, seed: int, placed_with: str = demo.LEIDEN, *, bsn: bool = True
    ) -> None:
        self.cast, self.rng = cast, random.Random(seed)
        self.person = synthetic.Newcomer.make(self.rng)
        if not bsn:
            self.person = dataclasses.replace(self.person, bsn=None)
        self.now = datetime.now(UTC)
        self.plan_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        code = "GM0546" if placed_with == demo.LEIDEN else "GM0344"
        profile = demo.profile(
            self.person, self.rng, self.now, recipient=placed_with, municipality_code=code
        )
        coa = cast.client(demo.COA)
        assert coa.submit(coa.sign(profile)).status == 202

    def send(self, type_: str, body: dict[str, Any], sender: str = demo.LEIDEN) -> int:
        client = self.cast.client(sender)
        payload = synthetic.payload(
            type_, body, sender=sender, recipient=sender, newcomer=self.person,
            issued_at=self.now,
        )  # fmt: skip
        return client.submit(client.sign(payload)).status

    def assign(self, **kw: Any) -> int:
        body = synthetic.provider_assignment(demo.PROVIDER, self.now - timedelta(days=1), **kw)
        return self.send("provider-assignment", body)

    def plan(self, version: int = 1, **members: Any) -> int:
        goals = {"participation_goals": "Wil in de zorg werken", **members}
        body = synthetic.integration_plan(self.plan_id, version, **goals)
        return self.send("integration-plan", body)

    def report(self, **members: Any) -> int:
        """A progress report by the provider; ``members`` replace the synthetic ones."""
        body = {**synthetic.progress_report(demo.PROVIDER), **members}
        client = self.cast.client(demo.PROVIDER)
        payload = synthetic.payload(
            "progress-report", body, sender=demo.PROVIDER, recipient=demo.LEIDEN,
            newcomer=self.person, issued_at=self.now,
        )  # fmt: skip
        return client.submit(client.sign(payload)).status
