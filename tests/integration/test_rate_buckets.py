"""The token buckets in a real database, shared by two processes' services, under threads."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.bootstrap import storage_of
from gateway.errors import RateLimited
from gateway.service import limits
from gateway.service.services import Services
from tests.conftest import services_for

COA = "00000001003214345000"


def test_two_processes_and_eight_threads_admit_no_more_than_the_bucket(
    tmp_path: Path, db_env: dict[str, str]
) -> None:
    env = {**db_env, "GATEWAY_RATE_LIMITS": f"{COA}=1:40"}
    one, two = (services_for(tmp_path / "instance", env) for _ in range(2))  # one database
    admitted, refused = [], []
    now = datetime.now(UTC)

    def hammer(services: Services) -> None:
        for _ in range(30):
            try:
                limits.admit(services, COA, now)
                admitted.append(1)
            except RateLimited as error:
                refused.append(error.retry_after)

    threads = [threading.Thread(target=hammer, args=(s,)) for s in (one, two) * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(admitted) == 40  # chunks of 1 at this rate: exactly the burst
    assert len(refused) == 8 * 30 - 40 and set(refused) == {1}
    limits.admit(one, COA, now + timedelta(seconds=2))  # refilled, in the shared row
    for services in (one, two):
        storage_of(services).engine.dispose()
