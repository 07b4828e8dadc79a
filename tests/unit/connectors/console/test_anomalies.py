"""Each anomaly rule finds its seeded case, and nothing in a clean log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.auditor.console import anomalies
from connectors.auditor.console.anomalies import OfficeHours

LEIDEN, COA, PROVIDER = "00000001002220647000", "00000001003214345000", "00000001820029336000"
DECLARATION = "5b0c7a9e-1111-4222-8333-944455556666"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Amsterdam


class Log:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def add(self, event: str, actor: str | None, at: datetime, **extra: Any) -> None:
        self.entries.append(
            {
                "index": len(self.entries),
                "event": event,
                "actor": actor,
                "time": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "subject": None,
                "basis": {},
                "reason": None,
                **extra,
            }
        )


def clean() -> Log:
    """A week of ordinary work: profiles, pulls on law and consent, a few refusals, reads."""
    log = Log()
    for day in range(5):
        at = T0 + timedelta(days=day)
        for n in range(8):
            subject = f"{day:02d}{n:062d}"
            log.add("message.accepted", COA, at, subject=subject, type="handover-profile")
            log.add(
                "delivery.pulled",
                LEIDEN,
                at + timedelta(minutes=5),
                subject=subject,
                basis={"identity": "legal:Wi2021-art6", "family": f"consent:{DECLARATION}"},
            )
            log.add("regie.read", LEIDEN, at + timedelta(hours=2), subject=subject)
        log.add("message.refused", PROVIDER, at + timedelta(hours=1), reason="schema-violation")
    log.add(
        "consent.withdrawn", LEIDEN, T0 + timedelta(days=6), reason=f"data-subject:{DECLARATION}"
    )
    return log


POINTS = [
    (1, 10, "aa", "2026-11-02T09:00:00Z"),
    (2, 20, "bb", "2026-11-02T09:01:00Z"),
    (3, 20, "bb", "2026-11-02T12:00:00Z"),
]
HOURS = OfficeHours.parse("08:00-18:00")


def test_a_clean_log_has_no_findings() -> None:
    found = anomalies.all_findings(clean().entries, POINTS, interval=60, hours=HOURS)
    assert found == {rule: [] for rule in anomalies.RULES}


def test_a_delivery_on_a_withdrawn_consent_is_found() -> None:
    log = clean()
    log.add(
        "delivery.pulled",
        LEIDEN,
        T0 + timedelta(days=7),
        subject="x" * 64,
        basis={"family": f"consent:{DECLARATION}"},
    )
    (finding,) = anomalies.after_withdrawal(log.entries)
    assert finding.actor == LEIDEN and DECLARATION in finding.detail
    assert finding.indexes[-1] == len(log.entries) - 1


def test_a_refusal_spike_is_found_against_the_senders_own_hours() -> None:
    log = clean()
    for n in range(12):
        log.add("message.refused", PROVIDER, T0 + timedelta(days=2, hours=4, minutes=n))
    (finding,) = anomalies.refusal_spikes(log.entries)
    assert finding.actor == PROVIDER and finding.detail.startswith(
        "12 refusals in the hour; usually 1"
    )


def test_a_party_reading_many_more_newcomers_than_usual_is_found() -> None:
    log = clean()
    for n in range(40):
        log.add("regie.read", LEIDEN, T0 + timedelta(days=5, hours=1), subject=f"{n:064d}")
    (finding,) = anomalies.many_reads(log.entries)
    assert finding.actor == LEIDEN and finding.detail.startswith("40 newcomers")


def test_a_gap_between_checkpoints_while_the_log_grew_is_found() -> None:
    points = [*POINTS, (4, 30, "cc", "2026-11-02T12:10:00Z")]
    (finding,) = anomalies.checkpoint_gaps(points, 60)
    assert "checkpoints 3 and 4" in finding.detail


def test_reads_outside_office_hours_are_found_only_when_hours_are_set() -> None:
    log = clean()
    night = T0 + timedelta(days=1, hours=13)  # 23:00 in Amsterdam
    log.add("regie.read", LEIDEN, night, subject="y" * 64)
    assert anomalies.outside_office_hours(log.entries, None) == []
    (finding,) = anomalies.outside_office_hours(log.entries, HOURS)
    assert finding.actor == LEIDEN and "23:00" in finding.detail
