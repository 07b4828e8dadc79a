"""The newest handover profile of one newcomer, read again by the municipality placing them.

A municipality's inbox is one stream: what one consumer acknowledged (the
case system's folder puller) no other consumer of the same municipality
(its console) ever sees. The profile read answers the newest accepted
profile that placed the newcomer with the caller, in the shape of a
delivery but without a ``delivery_id`` (it is no inbox entry: nothing to
acknowledge), cut by consent in force *now* exactly as a pull cuts it,
with a ``profile_token`` signed by the gateway over the rest.

It is audited as a pull: one ``delivery.pulled`` entry with the categories
delivered and withheld and the basis of each, reason ``profile-read`` so an
auditor can tell it from an inbox pull. What it carried on a consent is
*not* recorded for withdrawal notices (``carried`` rows name deliveries, and
a read has none): a notice's ``affected_deliveries`` lists inbox deliveries
only, and a reader of this endpoint acts on every notice about that
newcomer whose categories it holds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.domain import policy, rights
from gateway.domain.audit.events import Event, format_time
from gateway.domain.minimise import Minimised
from gateway.domain.parties import Party
from gateway.domain.vocabulary import HANDOVER_PROFILE, TYPES
from gateway.domain.wire import envelope
from gateway.errors import NotAuthorised, NotFound
from gateway.service.deliveries import cut_body, given, payload_of
from gateway.service.services import Services

REASON = "profile-read"
"""The ``delivery.pulled`` entry's reason: a profile read, not an inbox pull"""
SCHEDULED_REASON = "profile-read:scheduled"
"""... and that of a tool's scheduled run (the console's timer), not a person's look"""


def read(
    services: Services,
    party: Party,
    v_number: str,
    now: datetime,
    trace_id: str,
    *,
    scheduled: bool = False,
) -> dict[str, Any]:
    """The newest profile that placed ``v_number`` with ``party``, cut by consent now;
    ``scheduled``: a tool's routine run, which the audit entry's reason then says.

    Raises BadRequest when ``v_number`` is not a V-nummer, NotAuthorised
    unless the newcomer is placed with ``party`` now (a newcomer no one placed
    is as unknown as one placed elsewhere), and NotFound when their data was
    erased (told only to the municipality they were placed with).
    """
    policy.require(party.role, policy.READ_PROFILE)
    rights.check_v_number(v_number)
    subject = services.pseudonym(v_number)
    found = services.store.profiles.newest(subject)
    if found is None or found.municipality != party.oin:
        raise NotAuthorised("the newcomer is not placed with this municipality")
    if found.raw is None:
        raise NotFound("the newcomer's data was erased")
    message_id, received_at = found.message_id, found.received_at
    payload = payload_of(found.raw)
    if payload["type"] != HANDOVER_PROFILE:
        raise NotFound("no COA handover profile placed the newcomer here: DUO did (SS120/SS121)")
    declarations, withdrawals = services.store.consent.histories(party.oin, [subject])[
        subject
    ].facts
    cut = cut_body(services, party.oin, payload, declarations, withdrawals, now)
    with services.store.write() as tx:
        reason = SCHEDULED_REASON if scheduled else REASON
        tx.append([_pulled(party, subject, message_id, payload["type"], cut, trace_id, reason)],
                  now)  # fmt: skip
    profile = {
        "message_id": message_id,
        "type": payload["type"],
        "version": payload["version"],
        "sender": payload["sender"],
        "subject": payload["subject"],
        "issued_at": payload["issued_at"],
        "received_at": format_time(received_at),
        "trace_id": trace_id,
        **given(found.raw, cut),
    }
    profile["profile_token"] = services.sign(profile, envelope.PROFILE_TYP)
    return profile


def _pulled(
    party: Party, subject: str, message_id: str, type_: str, cut: Minimised, trace_id: str,
    reason: str,
) -> Event:  # fmt: skip
    """The read's audit entry, as a pull's: what went, what was withheld, on what basis."""
    return Event(
        event="delivery.pulled",
        actor=party.oin,
        outcome="delivered" if not cut.empty else "withheld",
        trace_id=trace_id,
        subject=subject,
        message_id=message_id,
        type=type_,
        categories_delivered=cut.delivered,
        categories_withheld=cut.withheld,
        basis=cut.basis,
        reason=reason,
        processing_activity=TYPES[type_].activity,
    )
