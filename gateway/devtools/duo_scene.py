"""The demo's fifth part: DUO's clock, through DUO's own Notificatie API.

A stand-in for DUO (``duostandin``) notifies: SS139 for a few of Leiden's
newcomers (the 10-week term for setting the learning route began 75 days
ago, so ``no-plan`` is due), SS121 for the newcomer Leiden planned (settled
in Utrecht with Leiden's plan: Utrecht steers from now on), SS106 for
another (diploma: the obligation is met, its signals stop). Utrecht's
connector then sends what DUO answered about the newcomer who moved
(``duo-facts``: DUO's term end, the learnability test). The lines printed
show the signals change with it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from gateway.client import wire
from gateway.devtools.cast import DUO, LEIDEN, UTRECHT, Cast
from gateway.devtools.duostandin import notify
from gateway.errors import NotAuthorised


def duo_at_work(
    cast: Cast, reported: list[dict[str, str]], now: datetime
) -> tuple[list[str], bool]:
    """The lines to print, and whether every answer came out as the contract says."""
    from connectors.municipality.regie_cli import table

    duo, leiden, utrecht = cast.client(DUO), cast.client(LEIDEN), cast.client(UTRECHT)
    moved, passed, obliged = reported[0], reported[1], reported[2:5]
    began = now - timedelta(days=75)
    answers = [notify(duo, LEIDEN, s["v_number"], "SS139", began, bsn=s.get("bsn"))
               for s in obliged]  # fmt: skip
    answers.append(notify(duo, UTRECHT, moved["v_number"], "SS121", now - timedelta(days=1)))
    answers.append(notify(duo, LEIDEN, passed["v_number"], "SS106", now - timedelta(hours=2)))
    ends = (now + timedelta(days=120)).date()
    facts = _facts(moved, ends, now)
    sent = utrecht.submit(utrecht.sign(facts)).status
    try:
        leiden.get_json(f"/v1/newcomers/{moved['v_number']}/progress")
        refused = False
    except NotAuthorised:
        refused = True
    there = utrecht.get_json(f"/v1/newcomers/{moved['v_number']}/progress")
    rows = list(_placed(leiden))
    shown = [r for r in rows if r["v_number"] in {s["v_number"] for s in [passed, *obliged]}]
    lines = [
        f"DUO        notifies (POST /v1/duo/notificaties): SS139 for {len(obliged)} of Leiden's "
        "newcomers (the 10-week term for the learning route began 75 days ago), SS121 for "
        f"{moved['v_number']} (settled in Utrecht, with Leiden's plan), SS106 for "
        f"{passed['v_number']} (diploma): " + ", ".join(str(a.status_code) for a in answers),
        f"Utrecht    sends what DUO answered about {moved['v_number']} (duo-facts: term ends "
        f"{ends}, learnability test B1-route haalbaar): {sent}",
        f"Leiden     reads {moved['v_number']}'s progress: "
        + ("refused (403: placed with another municipality now)" if refused else "ALLOWED"),
        f"Utrecht    reads it: placed on {there['placed_on']} ({there['placed_on_source']}), "
        f"previous municipality's plan exists: {there['duo']['previous_plan_exists']}, "
        f"term ends {there['duo']['term_ends']}, signals: "
        + (", ".join(s["code"] for s in there["signals"]) or "none"),
        "",
        "$ gateway connect municipality signals --all   # Leiden, the newcomers DUO spoke of",
        *table(shown, show_all=True).split("\n\n", 1)[-1].splitlines(),
        f"({passed['v_number']} passed: no signals; the SS139 ones are due a plan by DUO's date)",
    ]
    ok = (
        all(a.status_code == 201 for a in answers)
        and sent == 202
        and refused
        and there["duo"]["previous_plan_exists"] is True
        and there["duo"]["term_ends"] == ends.isoformat()
        and all(any(s["code"] == "no-plan" for s in r["signals"])
                for r in shown if r["v_number"] != passed["v_number"])
        and all(not r["signals"] for r in shown if r["v_number"] == passed["v_number"])
    )  # fmt: skip
    return lines, ok


def _placed(client: Any) -> Any:
    from connectors.municipality.messages import placed_newcomers

    return placed_newcomers(client)


def _facts(subject: dict[str, str], ends: Any, now: datetime) -> dict[str, Any]:
    """Utrecht's duo-facts message: what DUO's Inburgeringstermijn and Leerbaarheidstoets
    APIs answered (synthetic: the demo has no DUO to ask)."""
    return {
        "message_id": str(uuid.uuid4()),
        "type": "duo-facts",
        "version": 1,
        "sender": UTRECHT,
        "recipient": UTRECHT,
        "subject": subject,
        "issued_at": wire.format_time(now),
        "body": {
            "fetched_at": wire.format_time(now),
            "inburgeringstermijn": {"startdatum": (ends - timedelta(days=1096)).isoformat(),
                                    "einddatum": ends.isoformat()},
            "leerbaarheidstoets": {"resultaat": "B1-route haalbaar", "behaaldeScore": "61,50",
                                   "benodigdeScore": "55,00",
                                   "datumAfname": (now - timedelta(days=40)).date().isoformat()},
        },
    }  # fmt: skip
