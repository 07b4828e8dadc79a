"""A municipality's records, safe to repeat: assign, plan, declare, withdraw.

Each is kept in the party's receipts (``connectors/municipality/ledger.py``) under what it
means, so the same command or file again sends nothing and says so, and a
changed one is sent as a change of the same thing:

- an assignment is this newcomer's, to this provider, from this day: its
  ``assignment_id`` is derived from those, and a changed row (another route,
  an end date, ``status`` ended) replaces it under the same id;
- a plan is this newcomer's plan at this municipality: one ``plan_id``, read
  from the plan in force at the gateway, and a changed plan its next
  ``plan_version``, with the reason the user gives (none: refused here);
- a declaration is its content (a changed declaration is a new one); a
  withdrawal is its declaration's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.municipality.ledger import EARLIER, RECEIPTED, Done, Ledger
from connectors.municipality.messages import subject_of as subject_of
from connectors.municipality.messages import utc
from gateway.errors import GatewayError

PLAN_META = ("plan_id", "plan_version", "change_reason")
"""A plan's members that say which version it is and why, not what it plans"""
CHANGE_REASONS = ("schakelen", "afschalen", "verhuizing", "correctie")


class NotSent(GatewayError):
    """The connector refuses to send what the gateway would take for something else."""

    code = "not-sent"
    title = "Not sent"


def _payload(
    ledger: Ledger, type_: str, subject: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    oin = ledger.client.oin
    return {"type": type_, "version": 1, "sender": oin, "recipient": oin, "subject": subject,
            "body": body}  # fmt: skip


@dataclass(frozen=True)
class Assignment:
    subject: dict[str, str]
    provider: str
    route: str
    valid_from: datetime | None = None
    """None: from now, the first time; the same moment again on every later run"""
    valid_until: datetime | None = None
    status: str | None = None


def assign(ledger: Ledger, wanted: Assignment) -> Done:
    """Assign, or change the assignment of this newcomer to this provider from that day."""
    since = utc(wanted.valid_from) if wanted.valid_from else ""
    key = ledger.derive("provider-assignment", wanted.subject["v_number"], wanted.provider, since)
    latest = ledger.latest(key)
    body: dict[str, Any] = {
        "assignment_id": key,
        "provider": wanted.provider,
        "route": wanted.route,
        "valid_from": since or (latest or {}).get("valid_from") or utc(datetime.now(UTC)),
        "status": wanted.status or "active",
    }
    if wanted.valid_until is not None:
        body["valid_until"] = utc(wanted.valid_until)
    digest = ledger.digest(wanted.subject, body)
    what = f"assignment {key}"
    if latest is not None and latest["digest"] == digest:
        return Done(what, RECEIPTED if "receipt" in latest else EARLIER, latest.get("index"))
    payload = _payload(ledger, "provider-assignment", wanted.subject, body)
    return ledger.send(key, digest, payload, what, valid_from=body["valid_from"])


def plan_in_force(ledger: Ledger, v_number: str) -> dict[str, Any] | None:
    """The body of this municipality's plan in force for the newcomer, or None."""
    progress = ledger.client.get_json(f"/v1/newcomers/{v_number}/progress")
    plan = progress.get("plan")
    return plan if isinstance(plan, dict) else None


def send_plan(
    ledger: Ledger, plan: dict[str, Any], subject: dict[str, str], reason: str | None = None
) -> Done:
    """The plan as the newcomer's plan here: version 1, or the next version of the one in force.

    ``reason``: the change_reason of a change (else the file's, if not
    ``initial``). Raises NotSent for a change without one, or for a plan_id
    other than the one in force.
    """
    key = ledger.derive("integration-plan", subject["v_number"])
    digest = ledger.digest(subject, {k: v for k, v in plan.items() if k != "plan_id"})
    seen = ledger.seen(key, digest)
    if seen is not None:
        what = f"plan {seen['plan_id']} version {seen['plan_version']}"
        return Done(what, RECEIPTED if "receipt" in seen else EARLIER, seen.get("index"))
    members = {k: v for k, v in plan.items() if k not in PLAN_META}
    current = plan_in_force(ledger, subject["v_number"])
    if current is None:
        plan_id = str(plan.get("plan_id") or ledger.derive("plan-id", subject["v_number"]))
        version, why = 1, plan.get("change_reason")
    else:
        plan_id, version = str(current["plan_id"]), int(current["plan_version"]) + 1
        _check_plan_id(plan, plan_id)
        what = f"plan {plan_id} version {version - 1}"
        if members == {k: v for k, v in current.items() if k not in PLAN_META}:
            ledger.keep({"key": key, "digest": digest, "earlier": True, "plan_id": plan_id,
                         "plan_version": version - 1, "message_id": None})  # fmt: skip
            return Done(what, EARLIER)
        given = plan.get("change_reason")
        why = reason or (given if given != "initial" else None)
        if why is None:
            raise NotSent(
                f"{what} is in force for this newcomer and this plan changes it: say why with "
                f"--change-reason ({', '.join(CHANGE_REASONS)}), or change_reason in the file"
            )
    body = {**members, "plan_id": plan_id, "plan_version": version,
            **({"change_reason": why} if why else {})}  # fmt: skip
    payload = _payload(ledger, "integration-plan", subject, body)
    return ledger.send(key, digest, payload, f"plan {plan_id} version {version}",
                       plan_id=plan_id, plan_version=version)  # fmt: skip


def _check_plan_id(plan: dict[str, Any], in_force: str) -> None:
    given = plan.get("plan_id")
    if given is not None and str(given) != in_force:
        raise NotSent(
            f"the plan names plan_id {given}, but plan {in_force} is this newcomer's plan in "
            "force here (one plan per newcomer and municipality): leave plan_id out, or give "
            "that one"
        )


def declare(
    ledger: Ledger, declaration: dict[str, Any], subject: dict[str, str], form: Path
) -> Done:
    """Record a consent declaration; the same one again is not a second declaration.

    The scan of the signed form stays here: only its SHA-256 is sent.
    """
    members = {**declaration, "evidence_sha256": hashlib.sha256(form.read_bytes()).hexdigest()}
    digest = ledger.digest(subject, members)
    given = declaration.get("declaration_id")
    key = str(given) if given else ledger.derive("consent-declaration", subject, digest)
    what = f"declaration {key}"
    seen = ledger.seen(key, digest)
    if seen is not None:
        return Done(what, RECEIPTED if "receipt" in seen else EARLIER, seen.get("index"))
    body = {"declaration_id": key, "granted_to": ledger.client.oin, **members}
    return ledger.send(key, digest, _payload(ledger, "consent-declaration", subject, body), what)


def withdraw(
    ledger: Ledger,
    declaration_id: str,
    subject: dict[str, str],
    *,
    at: datetime | None = None,
    by: str = "data-subject",
) -> Done:
    """Record the withdrawal of a declaration, once: a declaration is withdrawn only once."""
    key = ledger.derive("consent-withdrawal", declaration_id)
    what = f"withdrawal of {declaration_id}"
    latest = ledger.latest(key)
    if latest is not None:
        return Done(what, RECEIPTED if "receipt" in latest else EARLIER, latest.get("index"))
    body = {"declaration_id": declaration_id, "withdrawn_at": utc(at or datetime.now(UTC)),
            "by": by}  # fmt: skip
    digest = ledger.digest(subject, body)
    return ledger.send(key, digest, _payload(ledger, "consent-withdrawal", subject, body), what)
