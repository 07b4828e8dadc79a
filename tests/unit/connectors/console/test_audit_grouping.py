"""The auditor's view of the anomalies: routine reads left out of the out-of-hours rule
(and counted), findings grouped by party and day with counts, the thresholds said.

The entries are made by hand, as the log holds them; the page is rendered by the
console's own app over a fake gateway (Flask's test client, no network).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from connectors.auditor.console import anomalies, grouping
from connectors.auditor.console.anomalies import Finding, OfficeHours
from connectors.auditor.console.auditlog import AuditStore
from connectors.auditor.console.views import (
    AuditorConsole,
    blueprint,
    dutch_midnight,
    local_time,
    say,
    words,
)
from connectors.common.client import GatewayClient
from connectors.consoles.web import console_app

LEIDEN, UTRECHT = "00000001002220647000", "00000001002306608000"
HOURS = OfficeHours.parse("08:00-18:00")
PORT = 8766
SUNDAY = datetime(2026, 1, 11, 3, 0, tzinfo=UTC)  # 04:00 in Amsterdam
TUESDAY_NIGHT = datetime(2026, 1, 13, 22, 30, tzinfo=UTC)  # 23:30 in Amsterdam
MONDAY_NOON = datetime(2026, 1, 12, 11, 0, tzinfo=UTC)


class Log:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def add(
        self, event: str, actor: str, at: datetime, trace: str, reason: str | None = None
    ) -> None:
        self.entries.append(
            {
                "index": len(self.entries),
                "event": event,
                "actor": actor,
                "time": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "subject": f"{len(self.entries):064x}",
                "basis": {},
                "reason": reason,
                "trace_id": trace,
                "outcome": "ok",
            }
        )


def sunday_pulls(log: Log, pulls: int, per_pull: int = 3) -> None:
    """Leiden's console pulling on a Sunday night: each pull one request (one trace),
    its deliveries marked scheduled but for a withdrawal notice pulled with them; and
    the signals walk, marked too."""
    for n in range(pulls):
        at, trace = SUNDAY + timedelta(minutes=n), f"{n:032x}"
        for _ in range(per_pull):
            log.add("delivery.pulled", LEIDEN, at, trace, "scheduled")
        log.add("delivery.pulled", LEIDEN, at, trace)  # the notice: no mark of its own
    log.add("regie.read", LEIDEN, SUNDAY, "f" * 32, "signals:scheduled")


def test_a_scheduled_pull_is_routine_as_a_whole_request_and_left_out() -> None:
    log = Log()
    sunday_pulls(log, 37)  # 37 pulls of 4 entries + 1 signals read: 149 routine reads
    log.add("regie.read", LEIDEN, TUESDAY_NIGHT, "a" * 32, "signals")  # a person, at night
    log.add("delivery.pulled", LEIDEN, TUESDAY_NIGHT, "b" * 32, "profile-read")
    looked, routine = anomalies.reads_out_of_hours(log.entries, HOURS)
    assert len(routine) == 149 and len(looked) == 2
    found = anomalies.outside_office_hours(log.entries, HOURS)
    assert [f.indexes[0] for f in found] == [149, 150]
    assert anomalies.routine_left_out(log.entries, HOURS) == [(LEIDEN, "2026-01-11", 149)]


def test_the_consoles_scheduled_progress_and_profile_reads_are_routine_too() -> None:
    """The console's timer reads progress (each its own request) and the profile of a
    newcomer another puller took: at night they are its routine, not a person's look."""
    log = Log()
    log.add("regie.read", LEIDEN, SUNDAY, "4" * 32, "progress:scheduled")
    log.add("delivery.pulled", LEIDEN, SUNDAY, "5" * 32, "profile-read:scheduled")
    log.add("regie.read", LEIDEN, SUNDAY, "6" * 32, "progress")  # a person opened a dossier
    log.add("delivery.pulled", LEIDEN, SUNDAY, "7" * 32, "profile-read")
    looked, routine = anomalies.reads_out_of_hours(log.entries, HOURS)
    assert len(routine) == 2 and len(looked) == 2
    assert [f.indexes[0] for f in anomalies.outside_office_hours(log.entries, HOURS)] == [2, 3]


def test_a_read_only_says_it_is_routine_for_its_own_party() -> None:
    """A trace id is the caller's to choose: Utrecht naming Leiden's routine trace
    stays a finding."""
    log = Log()
    log.add("delivery.pulled", LEIDEN, SUNDAY, "c" * 32, "scheduled")
    log.add("regie.read", UTRECHT, SUNDAY, "c" * 32, "signals")
    (finding,) = anomalies.outside_office_hours(log.entries, HOURS)
    assert finding.actor == UTRECHT


def test_the_mark_counts_only_on_its_own_event() -> None:
    """``scheduled`` is a pull's mark and ``signals:scheduled`` the signals walk's; a
    read spelt otherwise (or an entry with no reason) is a person's."""
    log = Log()
    log.add("regie.read", LEIDEN, SUNDAY, "d" * 32, "scheduled")
    log.add("delivery.pulled", LEIDEN, SUNDAY, "e" * 32, "signals:scheduled")
    log.add("audit.read", LEIDEN, SUNDAY, "1" * 32)
    assert anomalies.routine_traces(log.entries) == frozenset()
    assert len(anomalies.outside_office_hours(log.entries, HOURS)) == 3


def test_routine_reads_in_office_hours_are_neither_found_nor_left_out() -> None:
    log = Log()
    log.add("delivery.pulled", LEIDEN, MONDAY_NOON, "2" * 32, "scheduled")
    log.add("delivery.pulled", LEIDEN, MONDAY_NOON, "3" * 32)
    assert anomalies.reads_out_of_hours(log.entries, HOURS) == ([], [])
    assert anomalies.routine_left_out(log.entries, None) == []


def _finding(actor: str | None, at: datetime, n: int = 0) -> Finding:
    return Finding("office-hours", at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), actor, "x", (), (n,))


def test_findings_are_grouped_by_party_and_dutch_day_newest_first() -> None:
    found = [_finding(LEIDEN, TUESDAY_NIGHT + timedelta(minutes=n), n) for n in range(3)]
    found += [_finding(UTRECHT, TUESDAY_NIGHT, 10), _finding(LEIDEN, SUNDAY, 11)]
    found.append(_finding(LEIDEN, datetime(2026, 1, 13, 23, 30, tzinfo=UTC), 12))  # Wed 00:30
    made = grouping.grouped(found)
    assert made.total == 6 and made.more_groups == 0
    assert [(g.actor, g.day, g.count) for g in made.groups] == [
        (LEIDEN, "2026-01-14", 1),
        (LEIDEN, "2026-01-13", 3),
        (UTRECHT, "2026-01-13", 1),
        (LEIDEN, "2026-01-11", 1),
    ]
    assert [f.indexes for f in made.groups[1].shown] == [(0,), (1,), (2,)]
    assert made.opened  # few findings: shown open, nothing to wade through


def test_a_big_group_lists_its_first_findings_and_says_how_many_more() -> None:
    found = [_finding(LEIDEN, SUNDAY + timedelta(seconds=n), n) for n in range(5000)]
    found += [_finding(UTRECHT, SUNDAY - timedelta(days=d), d) for d in range(1, 4)]
    made = grouping.grouped(reversed(found), shown=20, groups=2)
    first = made.groups[0]
    assert (first.count, len(first.shown), first.more) == (5000, 20, 4980)
    assert first.shown[0].indexes == (0,)  # in time order, whatever order they came in
    assert (made.total, len(made.groups), made.more_groups, made.more_findings) == (5003, 2, 2, 2)
    assert not made.opened


def test_days_of_hours_and_days_are_dutch() -> None:
    assert anomalies.local_day("2026-01-10T23:30:00.000000Z") == "2026-01-11"
    assert anomalies.local_day("2026-07-10T22:00:00Z") == "2026-07-11"  # summer: UTC+2
    assert anomalies.local_day("2026-01-10") == "2026-01-10"


def test_the_log_filters_dates_are_dutch_days_as_the_groups_are() -> None:
    """A group's "and N more" opens the log on its day: the same day, in the log's UTC."""
    assert dutch_midnight("2026-01-13") == "2026-01-12T23:00:00"
    assert dutch_midnight("2026-01-13", after=1) == "2026-01-13T23:00:00"
    assert dutch_midnight("2026-07-13") == "2026-07-12T22:00:00"


def test_each_rule_says_its_threshold_from_the_numbers_it_uses() -> None:
    said = {
        rule: message.format(**dict(values))
        for rule, (message, values) in anomalies.thresholds(90, HOURS).items()
    }
    assert set(said) == set(anomalies.RULES)
    assert f"{anomalies.SPIKE_AT_LEAST} refusals" in said["refusal-spike"]
    assert f"{anomalies.READS_AT_LEAST} newcomers" in said["many-reads"]
    assert "180 s apart" in said["checkpoint-gap"] and "90 s" in said["checkpoint-gap"]
    assert "08:00 to 18:00" in said["office-hours"]
    assert anomalies.thresholds(90, None)["office-hours"] == ("not set", ())


@dataclass
class FakeGateway:
    oin: str = "00000001800866472000"

    def directory(self, role: str | None = None) -> list[dict[str, Any]]:
        return [{"oin": LEIDEN, "name": "Gemeente Leiden"}]


def test_the_page_groups_and_says_what_was_left_out(tmp_path: Path) -> None:
    log = Log()
    sunday_pulls(log, 37)
    for n in range(25):
        log.add("regie.read", LEIDEN, TUESDAY_NIGHT + timedelta(seconds=n), f"{n + 1000:032x}")
    store = AuditStore(tmp_path / "audit.sqlite3")
    store.add_entries([(e["index"], e, "00") for e in log.entries])
    party = AuditorConsole(
        client=cast(GatewayClient, FakeGateway()), token="t", store=store, hours=HOURS
    )
    app = console_app(party, [blueprint], PORT, words=words, local_time=local_time, say=say)
    browser = app.test_client()
    browser.get(f"http://127.0.0.1:{PORT}/?token=t")
    page = browser.get(f"http://127.0.0.1:{PORT}/anomalies?lang=en").get_data(as_text=True)
    store.close()
    section = page[page.index('data-rule="office-hours"') :]
    assert 'data-findings="25"' in section and 'data-routine="149"' in section
    assert "149 routine reads by scheduled pulls left out." in section
    assert re.search(r'<details class="group" data-actor="' + LEIDEN + r'" data-day="2026-01-13" '
                     r'data-count="25">\s*<summary>Gemeente Leiden, January 13, 2026: 25 findings',
                     section)  # fmt: skip
    assert section.count("<tr data-finding>") == grouping.SHOWN
    assert "and 5 more findings" in section
    assert "Threshold:</strong> outside 08:00 to 18:00" in section
