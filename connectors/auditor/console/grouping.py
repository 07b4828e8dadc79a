"""A rule's findings by party and day, counted, so that a hundred alike read as one line.

An auditor drowned in one line per finding: a nightly job's reads filled a
page and hid the one read that mattered. Grouped by who and when, with a
count, the page shows the shape first and each group opens on its
findings. A group lists at most ``SHOWN`` findings and a rule at most
``GROUPS`` groups, each saying how many more there are, so that the page
over a log of a million entries is still a page (the log browser, filtered
by party and date, shows the rest).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from connectors.auditor.console.anomalies import Finding, local_day

SHOWN = 20
"""findings listed in one group"""
GROUPS = 100
"""groups listed for one rule"""
OPEN = 10
"""a rule with no more findings than this shows its groups open: nothing to wade through"""


@dataclass(frozen=True)
class Group:
    """The findings of one rule about one party on one day (Dutch time)."""

    actor: str | None
    day: str
    count: int
    shown: tuple[Finding, ...]
    """the first ``SHOWN`` of them, in time order"""

    @property
    def more(self) -> int:
        return self.count - len(self.shown)


@dataclass(frozen=True)
class Grouped:
    """One rule's findings: the groups shown, newest day first, and what was not shown."""

    total: int
    groups: tuple[Group, ...]
    more_groups: int
    more_findings: int
    """findings in the groups not shown"""

    @property
    def opened(self) -> bool:
        return self.total <= OPEN


def grouped(findings: Iterable[Finding], *, shown: int = SHOWN, groups: int = GROUPS) -> Grouped:
    """Newest day first; on one day the biggest group first (then by party, for a stable
    page); in a group, the findings in time order."""
    by: dict[tuple[str | None, str], list[Finding]] = defaultdict(list)
    for finding in findings:
        by[(finding.actor, local_day(finding.when))].append(finding)
    ordered = sorted(by.items(), key=lambda item: item[0][0] or "")
    ordered.sort(key=lambda item: len(item[1]), reverse=True)
    ordered.sort(key=lambda item: item[0][1], reverse=True)
    made = tuple(
        Group(actor, day, len(found), tuple(sorted(found, key=lambda f: f.when)[:shown]))
        for (actor, day), found in ordered[:groups]
    )
    return Grouped(
        total=sum(len(found) for found in by.values()),
        groups=made,
        more_groups=max(0, len(ordered) - groups),
        more_findings=sum(len(found) for _, found in ordered[groups:]),
    )
