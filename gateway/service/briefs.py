"""The provider's inbox: a brief of each plan for the newcomers it runs, never the blue folder.

A brief holds the plan's members whose category has a legal basis towards
providers (``plan``: route, level, hours, literacy, parts) and the
assignment in force, decided at the moment of the pull like every delivery:
a brief whose assignment has ended is not handed out, and
``participation_goals`` (policy ``never``) are named as withheld. Nothing
of a handover profile ever reaches this path: a provider's deliveries are
briefs of plans, and plans are the only messages they are made of.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from gateway.domain import assignments
from gateway.domain.assignments import Assignment
from gateway.domain.audit.events import Event, format_time
from gateway.domain.parties import Party
from gateway.domain.records import Pending
from gateway.domain.vocabulary import BRIEFING, INTEGRATION_PLAN, PROVIDER_BRIEF
from gateway.service.deliveries import Page, signed_delivery, waiting
from gateway.service.services import Services


def pull(
    services: Services,
    provider: Party,
    after: int,
    limit: int,
    now: datetime,
    trace_id: str,
    lease: timedelta = timedelta(0),
    scheduled: bool = False,
) -> Page:
    """The next page of this provider's briefs, each with its assignment in force now;
    ``scheduled`` as for ``inbox.pull``."""
    store = services.store
    next_cursor, page = waiting(services, provider, after, limit, now, lease)
    assigned = store.inbox.assignments(provider.oin, [item.subject for item, _, _ in page])
    deliveries: list[dict[str, Any]] = []
    pulled: list[Event] = []
    for item, payload, _ in page:
        if payload["type"] != INTEGRATION_PLAN:  # only plans are briefed: refuse the rest
            continue
        assignment = _in_force(assigned.get(item.subject, []), payload["recipient"], now)
        content = _brief(services, payload, assignment) if assignment else None
        pulled.append(_pulled(services, provider, item, payload, content, trace_id, scheduled))
        if content is not None:
            brief = {**payload, "type": PROVIDER_BRIEF, "version": 1}
            brief["subject"] = {"v_number": payload["subject"]["v_number"]}
            deliveries.append(signed_delivery(services, item, brief, content, trace_id))
    if pulled:
        with store.write() as tx:
            tx.append(pulled, now)
    return Page(deliveries=deliveries, next_cursor=next_cursor)


def _in_force(history: list[Assignment], municipality: str, now: datetime) -> Assignment | None:
    """This municipality's assignment of the provider in force now, if any."""
    found = assignments.current([a for a in history if a.municipality == municipality], now)
    return found[-1] if found else None


def _brief(services: Services, payload: dict[str, Any], assignment: Assignment) -> dict[str, Any]:
    """The body of a brief: plan members with a legal basis, and the assignment."""
    schema = services.catalog.bodies[(INTEGRATION_PLAN, payload["version"])]
    rules = services.catalog.policy[INTEGRATION_PLAN]
    body = payload["body"]
    given = {
        member: value
        for member, value in body.items()
        if rules.get(schema.categories.get(member, ""), "").startswith("legal:")
    }
    held = sorted(
        {schema.categories.get(m, "") for m in body} - {schema.categories[m] for m in given}
    )
    given["assignment"] = {
        "assignment_id": assignment.assignment_id,
        "route": assignment.route,
        "valid_from": format_time(assignment.valid_from),
        "valid_until": format_time(assignment.valid_until) if assignment.valid_until else None,
    }
    return {"body": given, "withheld_categories": held}


def _pulled(
    services: Services,
    provider: Party,
    item: Pending,
    payload: dict[str, Any],
    content: dict[str, Any] | None,
    trace_id: str,
    scheduled: bool = False,
) -> Event:
    """The audit entry of a brief pulled, or kept back (no assignment in force)."""
    rules = services.catalog.policy[INTEGRATION_PLAN]
    held = content["withheld_categories"] if content else []
    given = ["plan"] if content else []
    return Event(
        event="delivery.pulled",
        actor=provider.oin,
        outcome="delivered" if content else "withheld",
        trace_id=trace_id,
        subject=item.subject,
        message_id=item.message_id,
        type=PROVIDER_BRIEF,
        categories_delivered=given,
        categories_withheld=held,
        basis={c: rules[c] for c in given},
        reason=("scheduled" if scheduled else None) if content else "assignment-not-in-force",
        processing_activity=BRIEFING,
    )
