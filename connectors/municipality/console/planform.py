"""The plan form read into an ``integration-plan`` body: a first plan, or the next version.

Only the shape is checked here (a choice among the options, a whole
number, a date); the plan's rules (no A2 on the education route, hours
only on the B1 route, the next version only) are the gateway's, which
names the member that broke one, and the page says it in words.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from werkzeug.datastructures import MultiDict

from connectors.consoles.i18n import gettext

ROUTES = ("b1-route", "onderwijsroute", "z-route")
LEVELS = ("A2", "B1")
LITERACY = ("A", "AA", "NVT")
COMPONENTS = ("knm", "map", "pvt", "ontzorgen")
REASONS = ("initial", "schakelen", "afschalen", "verhuizing", "correctie")


class FormError(Exception):
    """A field the user filled wrongly; said in words, nothing sent."""


def _one(form: MultiDict[str, str], name: str, allowed: tuple[str, ...]) -> str:
    value = form.get(name, "")
    if value not in allowed:
        raise FormError(gettext("choose one of the options: {field}").format(field=name))
    return value


def plan_from_form(form: MultiDict[str, str], current: dict[str, Any] | None) -> dict[str, Any]:
    """The body to send: the next version of ``current`` (same plan id) or a new plan."""
    body: dict[str, Any] = {}
    if current:
        body["plan_id"] = current["plan_id"]
        body["plan_version"] = int(current["plan_version"]) + 1
        body["change_reason"] = _one(form, "change_reason", REASONS[1:])
    else:
        body["change_reason"] = "initial"
    try:
        dated = date.fromisoformat(form.get("dated", "").strip())
    except ValueError:
        dated = None
    if dated is None or not 1900 <= dated.year <= 2100:
        raise FormError(gettext("not a date (yyyy-mm-dd): {field}").format(field="dated"))
    body["dated"] = dated.isoformat()
    body["route"] = _one(form, "route", ROUTES)
    if form.get("level"):
        body["level"] = _one(form, "level", LEVELS)
    hours = form.get("estimated_hours_b1", "").strip()
    if hours:
        if not (hours.isascii() and hours.isdigit()):  # "²" is a digit to str.isdigit
            raise FormError(
                gettext("a whole number of hours: {field}").format(field="estimated_hours_b1")
            )
        body["estimated_hours_b1"] = int(hours)
    body["may_finish_current_education"] = form.get("may_finish_current_education") == "on"
    body["literacy"] = _one(form, "literacy", LITERACY)
    components = form.getlist("components")
    if any(c not in COMPONENTS for c in components):
        raise FormError(
            gettext("an option that is not offered: {field}").format(field="components")
        )
    body["components"] = components
    goals = form.get("participation_goals", "").strip()
    if goals:
        body["participation_goals"] = goals
    return body


def shown(
    current: dict[str, Any] | None, entered: MultiDict[str, str] | None, today: str
) -> dict[str, Any]:
    """What the plan form shows: the values just entered (a refused plan keeps every one of
    them), else the current plan's, else the defaults."""
    if entered is not None:
        return {
            "change_reason": entered.get("change_reason", ""),
            "dated": entered.get("dated", today),
            "route": entered.get("route", ""),
            "level": entered.get("level", ""),
            "estimated_hours_b1": entered.get("estimated_hours_b1", ""),
            "literacy": entered.get("literacy", ""),
            "components": entered.getlist("components"),
            "may_finish_current_education": entered.get("may_finish_current_education") == "on",
            "participation_goals": entered.get("participation_goals", ""),
        }
    plan = current or {}
    return {
        "change_reason": "",
        "dated": today,
        "route": plan.get("route", ""),
        "level": plan.get("level", ""),
        "estimated_hours_b1": plan.get("estimated_hours_b1") or "",
        "literacy": plan.get("literacy", ""),
        "components": plan.get("components", []),
        "may_finish_current_education": False,
        "participation_goals": "",
    }
