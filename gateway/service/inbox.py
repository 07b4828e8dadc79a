"""The municipality inbox: what may leave, decided at the moment it leaves.

A pull reads the unacknowledged deliveries beyond a cursor, evaluates consent
for every category of every delivery *now* (so a withdrawal between two
pulls of one delivery shows at the second), cuts each body to what may go,
signs a delivery token over the result, and audits each delivery with the
categories delivered and withheld and the basis of each. Deliveries come
again until acknowledged (at least once); an ack is idempotent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from gateway.domain import policy
from gateway.domain.audit.events import Event, format_time
from gateway.domain.minimise import Minimised
from gateway.domain.parties import Party
from gateway.domain.records import Carried, Notice, Pending
from gateway.domain.vocabulary import (
    CONSENT_WITHDRAWAL,
    CONSENT_WITHDRAWN,
    RECEIPT,
    TYPES,
)
from gateway.errors import NotAuthorised, NotFound
from gateway.service import briefs
from gateway.service.deliveries import Page, cut_body, given, signed_delivery, waiting
from gateway.service.services import Services


def pull(
    services: Services,
    party: Party,
    after: int,
    limit: int,
    now: datetime,
    trace_id: str,
    lease: timedelta = timedelta(0),
    *,
    scheduled: bool = False,
) -> Page:
    """The next page of ``party``'s inbox, of the kind its role holds (``INBOXES``).

    With a ``lease`` the page's deliveries go to no other pull until the lease
    ends or they are acknowledged. ``scheduled``: a tool's routine run, which its
    entries say (reason ``scheduled`` where an entry has no other reason). Raises
    NotAuthorised for a role that has no inbox.
    """
    for capability, read in INBOXES.items():
        if policy.may(party.role, capability):
            return read(services, party, after, limit, now, trace_id, lease, scheduled)
    raise NotAuthorised(f"role {party.role} may not read this")


def deliveries(
    services: Services,
    municipality: Party,
    after: int,
    limit: int,
    now: datetime,
    trace_id: str,
    lease: timedelta = timedelta(0),
    scheduled: bool = False,
) -> Page:
    """A municipality's inbox: its deliveries, minimised by consent in force now."""
    store = services.store
    next_cursor, page = waiting(services, municipality, after, limit, now, lease)
    # Two queries for the consent of everyone on the page, one for its notices.
    histories = store.consent.histories(municipality.oin, [item.subject for item, _, _ in page])
    notices = store.inbox.notices([item.delivery_id for item, _, _ in page]) if page else {}
    deliveries: list[dict[str, Any]] = []
    pulled: list[Event] = []
    carried: list[Carried] = []
    for item, payload, raw in page:
        notice = notices.get(item.delivery_id)
        if notice is not None:
            pulled.append(_pulled_notice(municipality, item, notice, trace_id))
            deliveries.append(_notice(services, item, payload, notice, trace_id))
            continue
        declarations, withdrawals = histories[item.subject].facts
        cut = cut_body(services, municipality.oin, payload, declarations, withdrawals, now)
        pulled.append(_pulled(municipality, item, payload["type"], cut, trace_id, scheduled))
        if cut.empty:
            continue  # nothing may leave: the delivery is not shown at all
        deliveries.append(signed_delivery(services, item, payload, given(raw, cut), trace_id))
        carried += [
            Carried(
                item.delivery_id,
                item.subject,
                municipality.oin,
                basis.removeprefix("consent:"),
                category,
            )
            for category, basis in cut.basis.items()
            if basis.startswith("consent:")
        ]
    if pulled:
        with store.write() as tx:
            tx.append(pulled, now)
            tx.record_carried(carried, now)
    return Page(deliveries=deliveries, next_cursor=next_cursor)


Reader = Callable[[Services, Party, int, int, datetime, str, timedelta, bool], Page]
INBOXES: Mapping[str, Reader] = {
    policy.PULL_DELIVERIES: deliveries,
    policy.PULL_BRIEFS: briefs.pull,  # a provider's: the briefs of the plans it was assigned
}
"""The kinds of inbox, by the capability that opens one (a role holds at most one)"""


def _pulled(
    municipality: Party, item: Pending, type_: str, cut: Minimised, trace_id: str, scheduled: bool
) -> Event:
    """The audit entry of one delivery pulled: what went, what was withheld, on what basis;
    reason ``scheduled`` for a tool's routine run."""
    return Event(
        event="delivery.pulled",
        actor=municipality.oin,
        outcome="delivered" if not cut.empty else "withheld",
        trace_id=trace_id,
        subject=item.subject,
        message_id=item.message_id,
        type=type_,
        categories_delivered=cut.delivered,
        categories_withheld=cut.withheld,
        basis=cut.basis,
        reason="scheduled" if scheduled else None,
        processing_activity=TYPES[type_].activity,
    )


def _pulled_notice(municipality: Party, item: Pending, notice: Notice, trace_id: str) -> Event:
    return Event(
        event="delivery.pulled",
        actor=municipality.oin,
        outcome="delivered",
        trace_id=trace_id,
        subject=item.subject,
        message_id=item.message_id,
        type=CONSENT_WITHDRAWN,
        categories_withheld=notice.categories,
        reason=f"declaration:{notice.declaration_id}",
        processing_activity=TYPES[CONSENT_WITHDRAWAL].activity,
    )


def _notice(
    services: Services, item: Pending, payload: dict[str, Any], notice: Notice, trace_id: str
) -> dict[str, Any]:
    """A withdrawal notice as the contract's delivery: the notice's members for a body."""
    told = {
        "declaration_id": notice.declaration_id,
        "withdrawn_at": format_time(notice.withdrawn_at),
        "categories": list(notice.categories),
        "affected_deliveries": list(notice.affected_deliveries),
    }
    return signed_delivery(
        services, item, {**payload, "type": CONSENT_WITHDRAWN, "version": 1}, told, trace_id
    )


def acknowledge(
    services: Services, municipality: Party, delivery_id: str, now: datetime, trace_id: str
) -> None:
    """Acknowledge one delivery (once) and audit the ack (every time).

    Raises NotFound for another municipality's delivery or none at all.
    """
    policy.require(municipality.role, policy.ACKNOWLEDGE)
    with services.store.write() as tx:
        done = tx.acknowledge(municipality.oin, delivery_id, now)
        if done is None:
            raise NotFound("no such delivery")
        event = Event(
            event="delivery.acknowledged",
            actor=municipality.oin,
            outcome="ok",
            trace_id=trace_id,
            subject=done.delivery.subject,
            message_id=done.delivery.message_id,
            reason=None if done.first else "already-acknowledged",
            processing_activity=RECEIPT,
        )
        tx.append([event], now)
