"""The logbook's cursor port in memory (``ports.LdvPort``), for the fakes of the store."""

from __future__ import annotations

from datetime import datetime, timedelta

from gateway.domain.records import LogbookLag, Unrecorded


class FakeLdv:
    """The logbook's cursor with nothing to record: the fakes' log gets no LDV records (the
    exporter is tested on the real store, tests/integration/test_ldv_records.py)."""

    def pending(self, limit: int) -> Unrecorded:
        return Unrecorded(0, 0, [])

    def entry(self, index: int) -> bytes | None:
        return None

    def advance(self, start: int, end: int) -> bool:
        return True

    def failed(self, cause: str) -> None:
        """Nothing fails here."""

    def lag(self) -> LogbookLag:
        return LogbookLag(None, None)

    def take_lease(self, name: str, holder: str, now: datetime, length: timedelta) -> bool:
        return True

    def give_back(self, name: str, holder: str) -> None:
        """Nothing is held here."""
