"""DUO's facts behind its notifications: asked of DUO, handed to the gateway (raadpleging).

A DUO notification names an event, not its facts (DUO's
``Interactiepatronen.md``: the municipality asks DUO's APIs for them). For
each newcomer placed with the municipality who has a BSN, this reads the
DUO events the gateway took in for it (the progress read's ``duo.events``),
asks DUO what DUO's ``Gebeurtenissen.md`` names for each event not yet
answered, over the municipality's own connection (``bron`` the
municipality, its TLS client certificate), and sends the answers to the
gateway as a ``duo-facts`` message of its own (docs/interface.md). Why the
connector asks and not the gateway: docs/architecture.md.

A small file of its own remembers which notifications (DUO's ``berichtId``)
were answered, so a second run asks nothing again. It holds DUO's message
ids only: no BSN, no V-number.
"""

from __future__ import annotations

import functools
import json
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from connectors.common.client import NOT_A_URL, TRANSIENT, GatewayClient, cause_of
from connectors.municipality.duo_send import TIMEOUT, Duo, DuoStopped, foutteksten
from connectors.municipality.messages import placed_newcomers
from gateway.client import wire
from gateway.client.schemas import Catalog, load_catalog
from gateway.errors import BadRequest, GatewayError

QUERIES = {
    "inburgeringsplicht": "/personen/{bsn}/inburgeringsplicht",  # getInburgeringsplichtByBsn
    "inburgeringstermijn": "/personen/{bsn}/inburgeringstermijn",  # getInburgeringstermijnByBsn
    "leerbaarheidstoets": "/personen/{bsn}/lbt/resultaten",  # getLbtResultatenByBsn
    "examenresultaten": "/personen/{bsn}/examens/resultaten",  # getExamenresultatenByBsn
    "vrijstellingen": "/personen/{bsn}/vrijstellingen",  # getVrijstellingenByBsn
    "ontheffingen": "/personen/{bsn}/ontheffingen",  # getOntheffingenByBsn
}
"""duo-facts member → DUO's GET that answers it (DUO's documents at f4973d4)"""

_PLICHT, _TERM, _LBT, _EXAM = ("inburgeringsplicht", "inburgeringstermijn",
                               "leerbaarheidstoets", "examenresultaten")  # fmt: skip
_VRIJ, _ONTH = "vrijstellingen", "ontheffingen"
ASKS: Mapping[str, tuple[str, ...]] = {
    **dict.fromkeys(("SS101", "SS128", "SS139", "SS120"), (_PLICHT, _EXAM)),
    "SS129": (_PLICHT, _EXAM, _VRIJ),
    "SS121": (_PLICHT, _TERM, _EXAM),
    **dict.fromkeys(("SS124", "SS125", "SS110", "SS111", "SS106", "SS108"), (_PLICHT,)),
    **dict.fromkeys(("SS109", "SS107"), (_PLICHT, _VRIJ)),
    **dict.fromkeys(("SS137", "SS131"), (_LBT,)),
    **dict.fromkeys(("SS102", "SS103", "SS104"), (_TERM,)),
    "SS130": (_PLICHT, _TERM, _VRIJ, _EXAM),
    "SS199": (_EXAM,),
    **dict.fromkeys(("SS114", "SS115", "SS116"), (_VRIJ,)),
    "SS117": (_VRIJ, _EXAM),
    "SS118": (_ONTH,),
    "SS119": (_ONTH, _EXAM),
}
"""event → what DUO's Gebeurtenissen.md names as its relevant APIs (of those DUO has built;
SS113's Beoordeling aanvraag verlenging is on DUO's roadmap): an event not listed asks nothing"""


class Answered:
    """The notifications answered, by DUO's ``berichtId``: one JSON line each, appended
    and flushed as each is answered, so a run stopped at any moment asks nothing twice."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ids: set[str] = set()
        self._torn = False
        if path.exists():
            text = path.read_text(encoding="utf-8", errors="replace")
            self._torn = bool(text) and not text.endswith("\n")
            for line in text.splitlines():
                try:
                    self.ids.add(str(json.loads(line)["berichtId"]))
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut off when a run was killed: asked again

    def keep(self, bericht_ids: Iterable[str]) -> None:
        fresh = [b for b in bericht_ids if b not in self.ids]
        if not fresh:
            return
        with self.path.open("a", encoding="utf-8") as out:
            if self._torn:  # the next line on its own, not glued to the cut-off one
                out.write("\n")
                self._torn = False
            for bericht_id in fresh:
                out.write(json.dumps({"berichtId": bericht_id}) + "\n")
            out.flush()
            os.fsync(out.fileno())
        self.ids.update(fresh)


def default_answered(client: GatewayClient) -> Path:
    """``<OIN>.duo.answered.jsonl`` in the current folder, beside the party's receipts."""
    return Path.cwd() / f"{client.oin}.duo.answered.jsonl"


@dataclass
class Fetched:
    """What one run did, counted; refusals and failures named by V-number (the
    municipality's own output), never by BSN."""

    asked: int = 0
    sent: int = 0
    nothing_to_ask: int = 0
    without_bsn: int = 0
    refusals: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    """items of DUO's lists the gateway takes no part of (a date out of its years)"""
    stopped: str | None = None


def fetch(client: GatewayClient, duo_api: Duo, answered: Answered) -> Fetched:
    """Ask DUO the facts behind every notification not yet answered; send them on."""
    run = Fetched()
    for newcomer in placed_newcomers(client):
        bsn, v_number = newcomer.get("bsn"), str(newcomer["v_number"])
        progress = client.get_json(f"/v1/newcomers/{v_number}/progress")
        events = [e for e in progress.get("duo", {}).get("events", [])
                  if e["berichtId"] not in answered.ids]  # fmt: skip
        if not events:
            continue
        if not isinstance(bsn, str):
            run.without_bsn += 1  # DUO is asked by BSN: nothing to ask with
            continue
        members = sorted({m for e in events for m in ASKS.get(e["gebeurtenisId"], ())})
        if not members:
            run.nothing_to_ask += 1
            answered.keep(e["berichtId"] for e in events)
            continue
        failed = len(run.failures)
        body = _ask(duo_api, bsn, v_number, members, run)
        if run.stopped:
            break
        if body is not None:
            try:
                _send(client, progress["subject"], events[-1]["berichtId"], body)
            except GatewayError as refused:  # kept unanswered: asked again next run
                run.failures.append(f"{v_number}: the gateway refused DUO's facts: "
                                    f"{refused.detail}")  # fmt: skip
                continue
            run.sent += 1
        if len(run.failures) == failed:  # a question failed: all asked again next run
            answered.keep(e["berichtId"] for e in events)
    return run


def _ask(duo_api: Duo, bsn: str, v_number: str, members: list[str],
         run: Fetched) -> dict[str, Any] | None:  # fmt: skip
    """DUO's answers for ``members``, as a duo-facts body; None when DUO knew none of them."""
    body: dict[str, Any] = {"fetched_at": wire.format_time(datetime.now(UTC))}
    for member in members:
        try:
            answer = _get(duo_api, QUERIES[member].format(bsn=bsn))
        except DuoStopped as stop:
            run.stopped = stop.detail
            return None
        run.asked += 1
        status = answer.status_code
        if status == 200:
            found = _taken(member, answer, v_number, run)
            if found is not None:
                body[member] = found
        elif status == 403:
            run.refusals.append(f"{v_number} {member}: " + "; ".join(foutteksten(answer, bsn)))
        elif status == 401 or status >= 500:
            run.stopped = f"DUO at {duo_api.url} answered HTTP {status} asking {member}"
            return None
        elif status != 404:  # 404: DUO holds none of it for this person
            run.failures.append(f"{v_number} {member}: DUO answered HTTP {status}")
    return body if len(body) > 1 else None


def _taken(member: str, answer: Any, v_number: str, run: Fetched) -> Any | None:
    """DUO's answer for ``member`` as the gateway takes it, or None: DUO holds none, or it
    failed (said in ``run``; checked here against the duo-facts schema, so that an answer
    the gateway would refuse fails its own question, not the newcomer's others with it)."""
    try:
        found, left_out = _shaped(member, answer.json())
        if found is not None:
            body = {"fetched_at": "2026-01-01T00:00:00Z", member: found}
            _catalog().check_body("duo-facts", 1, body)
    except (ValueError, GatewayError) as why:  # the schema's names pointers, never values
        run.failures.append(f"{v_number} {member}: {why}")
        return None
    if left_out:
        run.left_out.append(f"{v_number} {member}: {left_out} of DUO's items left out, "
                            "with a date before 1900, after 2100 or not a date")
    return found


@functools.cache
def _catalog() -> Catalog:
    return load_catalog()


def _get(duo_api: Duo, path: str) -> Any:
    """One GET with DUO's headers. Raises DuoStopped, naming no person, when nothing answers."""
    headers = {"berichtId": str(uuid.uuid4()), "bron": duo_api.bron, "doel": duo_api.doel,
               wire.TRANSACTION_HEADER: wire.new_transaction_id(datetime.now(UTC)),
               "Accept": "application/json"}  # fmt: skip
    try:
        return duo_api.session.get(duo_api.url + path, headers=headers, timeout=TIMEOUT,
                                   allow_redirects=False)  # fmt: skip
    except NOT_A_URL:
        raise BadRequest(f"--duo-url {duo_api.url}: not a URL to ask") from None
    except TRANSIENT as error:
        why = cause_of(error, TIMEOUT[1])
        raise DuoStopped(f"DUO at {duo_api.url} unreachable: {why}") from None


_KEEP = {
    "inburgeringsplicht": ("indicatorInburgeringsplicht", "begindatum", "einddatum",
                           "wijzigingsdatum", "datumKennisgevingInburgeringsplicht",
                           "redenGeenInburgeringsplicht"),
    "inburgeringstermijn": ("startdatum", "einddatum", "wijzigingsdatum",
                            "verlengingsgrondcode", "verlengingsgrondomschrijving"),
    "leerbaarheidstoets": ("resultaat", "behaaldeScore", "benodigdeScore", "datumAfname"),
    "examenresultaten": ("examendatum", "resultaat", "redenGeenResultaat", "onderdeel", "niveau"),
}  # fmt: skip
_OORDEEL = ("oordeel", "reden", "grond", "datumOordeel", "startdatum", "einddatum",
            "examenonderdeel", "examenniveau", "urenBelastbaarheidParticipatieactiviteit")
_JUDGED = {
    "vrijstellingen": ("GeheleVrijstelling", "TijdelijkeVrijstelling",
                       "GedeeltelijkeVrijstelling"),
    "ontheffingen": ("GeheleOntheffing", "GedeeltelijkeOntheffing"),
}  # fmt: skip
"""the lists whose items hold DUO's judgements (``Oordeel``s), and the members of each"""
"""the members of DUO's objects the duo-facts schema takes (DUO may add members)"""
_LISTS = frozenset(("examenresultaten", "vrijstellingen", "ontheffingen"))
"""the duo-facts members that are lists (the rest are objects: a list there, or an object
here, would make the gateway refuse the newcomer's other answers with it)"""


def _shaped(member: str, answered: Any) -> tuple[Any, int]:
    """DUO's answer in the duo-facts shape, and how many of its items were left out for a
    date the gateway takes no part of (before 1900 or after 2100: docs/interface.md);
    its known members; of the learnability tests the newest. Raises GatewayError for an
    answer that is not DUO's shape, or an object with such a date."""
    if member == "leerbaarheidstoets":
        if not _objects(answered):
            raise GatewayError("DUO's Leerbaarheidstoets answer is not a list of results")
        if not answered:
            return None, 0  # DUO holds no result (its document allows an empty list)
        answered = max(answered, key=lambda r: str(r.get("datumAfname", "")))
    keep = _KEEP.get(member)
    if member in _LISTS:
        if not _objects(answered):
            raise GatewayError(f"DUO's answer for {member} is not a list of objects")
        kept = [i for i in answered if _dated(i)]
        trimmed = [_trimmed(member, i) for i in kept]
        return trimmed, len(answered) - len(kept)
    if not isinstance(answered, dict) or not _dated(answered):
        raise GatewayError(f"DUO's answer for {member} is not an object of dates in 1900-2100")
    return ({k: v for k, v in answered.items() if k in keep} if keep else answered), 0


def _trimmed(member: str, item: Mapping[str, Any]) -> dict[str, Any]:
    """An item of one of DUO's lists with the members the duo-facts schema takes."""
    if member in _JUDGED:
        return {name: {k: v for k, v in judged.items() if k in _OORDEEL}
                for name, judged in item.items()
                if name in _JUDGED[member] and isinstance(judged, Mapping)}  # fmt: skip
    keep = _KEEP.get(member)
    return {k: v for k, v in item.items() if k in keep} if keep else dict(item)


def _objects(answered: Any) -> bool:
    return isinstance(answered, list) and all(isinstance(i, dict) for i in answered)


def _dated(found: Mapping[str, Any]) -> bool:
    """Whether every date in ``found`` (nested too) is one the gateway takes."""
    for name, value in found.items():
        if isinstance(value, Mapping) and not _dated(value):
            return False
        if (name.startswith("datum") or name.endswith("datum")) and isinstance(value, str):
            try:
                day = date.fromisoformat(value)
            except ValueError:
                return False
            if not (len(value) == 10 and 1900 <= day.year <= 2100):
                return False
    return True


def _send(client: GatewayClient, subject: Mapping[str, Any], bericht_id: str,
          body: dict[str, Any]) -> None:  # fmt: skip
    """The answers as the municipality's own duo-facts message to itself."""
    payload = {
        "message_id": str(uuid.uuid4()), "type": "duo-facts", "version": 1,
        "sender": client.oin, "recipient": client.oin, "subject": dict(subject),
        "issued_at": wire.format_time(datetime.now(UTC)),
        "body": {**body, "in_answer_to": bericht_id},
    }  # fmt: skip
    client.submit(client.sign(payload))
