"""What the metrics read of the database at a scrape: the log's size and freshness, and
how much waits in each organisation's inbox. No newcomer is named in any of it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.service.services import Services


def state(services: Services, now: datetime) -> dict[str, Any]:
    latest = services.store.audit.latest()
    return {
        "tree_size": services.store.audit.size(),
        "checkpoint_age": (now - latest.created_at).total_seconds() if latest else None,
        "backlog": services.store.inbox.backlog(),
    }
