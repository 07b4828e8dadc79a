"""What regie reads of the newcomers placed with a municipality.

One newcomer (the progress read) or a page of them (the signals list) is
read the same way: the current placements first, then each table once for
the whole page (plans, assignments, newest reports, hours, sealed bodies),
so a page of 1,000 costs a handful of statements, not thousands. Of the
profile, the newest plan and the newest report, what regie reads is kept
sealed beside each row (``progress.regie_view``); it is unsealed here, under
one unwrapped data key per newcomer. A row from before those views opens
its whole message instead, with the same answer.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Connection, Engine, Row, case, exists, func, select

from gateway.domain import duo, vault
from gateway.domain.assignments import Assignment
from gateway.domain.progress import HOUR_KINDS
from gateway.domain.records import Stored
from gateway.domain.wire import sdprofile
from gateway.storage import engine, tables
from gateway.storage.engine import among
from gateway.storage.regie import regie_aad

_P, _M, _K = tables.placements, tables.messages, tables.subject_keys


class ProgressStore:
    def __init__(self, db: Engine, keys: vault.Vault) -> None:
        self.engine = db
        self.vault = keys

    def stored(self, subject: str) -> Stored | None:
        """Everything regie reads of one newcomer, the plan's whole body included; None
        when no profile placed them or their data was erased."""
        later = _P.alias("later")
        with engine.read(self.engine) as conn:
            placed = conn.execute(
                _current()
                .where(_P.c.subject == subject)
                .where(~exists().where(later.c.subject == _P.c.subject,
                                       later.c.audit_index > _P.c.audit_index))
            ).all()  # fmt: skip
            return next(iter(self._gather(conn, placed, whole_plans=True)), None)

    def placed_with(self, municipality: str, after: int, limit: int) -> list[Stored]:
        """The newcomers placed with ``municipality`` now, in order of the placing
        profile's audit index, from after ``after``; erased newcomers are left out.

        Of the plans, only what regie reads (``progress.regie_view``)."""
        later = _P.alias("later")
        with engine.read(self.engine) as conn:
            placed = conn.execute(
                _current()
                .where(_P.c.municipality == municipality, _P.c.audit_index > after)
                .where(~exists().where(later.c.subject == _P.c.subject,
                                       later.c.audit_index > _P.c.audit_index))
                .order_by(_P.c.audit_index)
                .limit(limit)
            ).all()  # fmt: skip
            return self._gather(conn, placed, whole_plans=False)

    def _gather(
        self, conn: Connection, placed: Sequence[Row[Any]], *, whole_plans: bool
    ) -> list[Stored]:
        if not placed:
            return []
        where = {row.municipality for row in placed}
        assert len(where) == 1, "a page is of one municipality"
        municipality, subjects = where.pop(), [row.subject for row in placed]
        plans, term_started = _plans(conn, subjects, municipality)
        reports = _last_reports(conn, subjects, municipality)
        if whole_plans:
            plans = {s: {**p, "regie": None} for s, p in plans.items()}  # open the message
        # Messages opened whole: those without a sealed view (rows from before views
        # were kept). The profile's view names the newcomer (V-nummer and BSN).
        opened = [p["plan_message"] for p in plans.values() if p["regie"] is None]
        opened += [r.message_id for r in reports.values() if r.regie is None]
        opened += [r.message_id for r in placed if r.regie is None]
        answers = _duo_answers(conn, subjects, municipality)
        opened += [a.message_id for rows in answers.values() for a in rows if a.regie is None]
        sealed = _sealed(conn, opened)
        assigned = _assignments(conn, subjects, municipality)
        totals = _hours(conn, subjects, municipality)
        told = _duo_events(conn, subjects, municipality)
        found = []
        for row in placed:
            key = self.vault.unwrap(row.wrapped_key, row.subject)
            plan, report = plans.get(row.subject), reports.get(row.subject)
            plan_view = _view(key, plan["regie"], plan["plan_message"], sealed) if plan else None
            report_view = _view(key, report.regie, report.message_id, sealed) if report else None
            named = _view(key, row.regie, row.message_id, sealed)["subject"]
            found.append(
                Stored(
                    placement=row.audit_index,
                    subject=row.subject,
                    v_number=named["v_number"],
                    bsn=named.get("bsn"),
                    placed_with=municipality,
                    placed_at=row.placed_at,
                    placed_by=row.message_id,
                    linked_on=date.fromisoformat(row.linked_on) if row.linked_on else None,
                    plan=plan_view["body"] if plan_view else None,
                    first_plan_dated=plan["first_dated"] if plan else None,
                    term_started=term_started.get(row.subject),
                    assignments=assigned.get(row.subject, []),
                    last_report=(report.message_id, report.received_at, report.provider)
                    if report
                    else None,
                    report=report_view,
                    hours=totals.get(row.subject, {}),
                    duo=duo.facts(told.get(row.subject, []), [
                        _view(key, a.regie, a.message_id, sealed)["body"]
                        for a in answers.get(row.subject, [])
                    ]),
                )
            )
        return found


def _current() -> Any:
    """Placements joined with a data key that still opens (not crypto-shredded)."""
    return (
        select(_P.c.audit_index, _P.c.subject, _P.c.municipality, _P.c.message_id,
               _P.c.placed_at, _P.c.linked_on, _P.c.regie, _K.c.wrapped_key)
        .join(_K, _K.c.subject == _P.c.subject)
        .where(_K.c.wrapped_key.is_not(None))
    )  # fmt: skip


def _view(
    data_key: bytes, regie: bytes | None, message_id: str, sealed: dict[str, bytes]
) -> dict[str, Any]:
    """What regie reads of a message: its sealed view, or else the whole payload (the
    view's shape is the payload's, cut), the message's JWS unsealed from ``sealed``."""
    if regie is not None:
        view: dict[str, Any] = json.loads(vault.unseal(data_key, regie, regie_aad(message_id)))
        return view
    raw = vault.unseal(data_key, sealed[message_id], message_id)
    return sdprofile.payload_of(raw)


def _sealed(conn: Connection, message_ids: list[str]) -> dict[str, bytes]:
    if not message_ids:
        return {}  # every row had its view: no round trip
    rows = conn.execute(
        select(_M.c.message_id, _M.c.sealed).where(among(conn, _M.c.message_id, message_ids))
    )
    return {row.message_id: row.sealed for row in rows}


def _plans(
    conn: Connection, subjects: list[str], municipality: str
) -> tuple[dict[str, dict[str, Any]], dict[str, date]]:
    """Each subject's newest plan by ``municipality`` with the dated of its first one; and
    when each subject's term started: the first plan by any municipality (a move does
    not restart it). Of other municipalities' plans nothing but that date is read."""
    p = tables.plans
    found: dict[str, dict[str, Any]] = {}
    started: dict[str, date] = {}
    for row in conn.execute(
        select(p.c.subject, p.c.municipality, p.c.message_id, p.c.dated, p.c.regie)
        .where(among(conn, p.c.subject, subjects))
        .order_by(p.c.audit_index)
    ):
        dated = date.fromisoformat(row.dated)
        started[row.subject] = min(started.get(row.subject, dated), dated)
        if row.municipality == municipality:
            first = found.setdefault(row.subject, {"first_dated": dated})
            first.update(plan_message=row.message_id, regie=row.regie)
    return found, started


def _assignments(
    conn: Connection, subjects: list[str], municipality: str
) -> dict[str, list[Assignment]]:
    a = tables.assignments
    found: dict[str, list[Assignment]] = defaultdict(list)
    for r in conn.execute(
        select(a).where(among(conn, a.c.subject, subjects), a.c.municipality == municipality)
        .order_by(a.c.id)
    ):  # fmt: skip
        found[r.subject].append(
            Assignment(r.assignment_id, r.municipality, r.provider, r.route, r.valid_from,
                       r.valid_until, r.status)
        )  # fmt: skip
    return found


def _duo_events(
    conn: Connection, subjects: list[str], municipality: str
) -> dict[str, list[duo.Event]]:
    """DUO's events about each newcomer that were sent to ``municipality``, oldest first."""
    d = tables.duo_events
    found: dict[str, list[duo.Event]] = defaultdict(list)
    for row in conn.execute(
        select(d.c.subject, d.c.event, d.c.registered_at, d.c.message_id)
        .where(among(conn, d.c.subject, subjects), d.c.municipality == municipality)
        .order_by(d.c.audit_index)
    ):
        found[row.subject].append(duo.Event(row.event, row.registered_at, row.message_id))
    return found


def _duo_answers(
    conn: Connection, subjects: list[str], municipality: str
) -> dict[str, list[Any]]:
    """What DUO answered ``municipality`` about each newcomer (sealed views), oldest first."""
    f = tables.duo_facts
    found: dict[str, list[Any]] = defaultdict(list)
    for row in conn.execute(
        select(f.c.subject, f.c.message_id, f.c.regie)
        .where(among(conn, f.c.subject, subjects), f.c.municipality == municipality)
        .order_by(f.c.audit_index)
    ):
        found[row.subject].append(row)
    return found


def _last_reports(conn: Connection, subjects: list[str], municipality: str) -> dict[str, Any]:
    r = tables.reports
    newest = (
        select(func.max(r.c.audit_index).label("audit_index"))
        .where(r.c.municipality == municipality, among(conn, r.c.subject, subjects))
        .group_by(r.c.subject)
        .subquery()
    )
    rows = conn.execute(
        select(r.c.subject, r.c.message_id, r.c.received_at, r.c.provider, r.c.regie).join(
            newest, newest.c.audit_index == r.c.audit_index
        )
    )
    return {row.subject: row for row in rows}


def _hours(
    conn: Connection, subjects: list[str], municipality: str
) -> dict[str, dict[str, tuple[int, str]]]:
    """Per newcomer and kind, the sum over providers of each one's newest total, and the
    newest report that gave one.

    A provider's totals never go down (the intake refuses it), so its newest
    total of a kind is its greatest: the database aggregates, Python adds up
    a row per provider instead of a row per report.
    """
    h = tables.hours
    newest = [func.max(h.c[kind]).label(kind) for kind in HOUR_KINDS] + [
        func.max(case((h.c[kind].is_not(None), h.c.audit_index))).label(f"{kind}_at")
        for kind in HOUR_KINDS
    ]
    rows = conn.execute(
        select(h.c.subject, *newest)
        .where(among(conn, h.c.subject, subjects), h.c.municipality == municipality)
        .group_by(h.c.subject, h.c.provider)
    ).all()
    sums: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    for row in rows:
        for kind in HOUR_KINDS:
            if (value := getattr(row, kind)) is not None:
                total, at = sums[row.subject].get(kind, (0, -1))
                sums[row.subject][kind] = (total + value, max(at, getattr(row, f"{kind}_at")))
    indexes = sorted({at for kinds in sums.values() for _, at in kinds.values()})
    query = select(h.c.audit_index, h.c.message_id).where(among(conn, h.c.audit_index, indexes))
    message_of = {row.audit_index: row.message_id for row in conn.execute(query)}
    return {
        subject: {kind: (total, message_of[at]) for kind, (total, at) in kinds.items()}
        for subject, kinds in sums.items()
    }
