"""``gateway demo --console``: a fresh gateway with Leiden's newcomers, and Leiden's console.

For a client manager's first look, and for the browser tests: COA places synthetic
newcomers with Leiden (60 in the demo, spread over time: most placed weeks ago, every
eighth far along its term, some overdue a plan); for most of them Leiden assigns the
demo provider, makes a plan and (for some) records consent; the provider reports a few
times. Nothing has been pulled yet, so the console's first pull brings it all in,
consent judged as it pulls. One newcomer's profile (the eleventh) COA sends as version 2,
its own SD-JWT: the console pins COA's key at that first pull and verifies it.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gateway import config
from gateway.bootstrap import build_services
from gateway.devtools import synthetic
from gateway.devtools.cast import (
    AUDITOR,
    COA,
    DUO,
    LEIDEN,
    PROVIDER,
    UTRECHT,
    Cast,
    register_cast,
)
from gateway.devtools.duostandin import notify
from gateway.devtools.serverproc import ServerProcess

SIGNED = 10
"""the newcomer (by place in the seed) whose profile COA sends as version 2: with consent
and a plan, as most are, and none the browser tests take for a scene of their own"""


@dataclass(frozen=True)
class Seeded:
    people: list[synthetic.Newcomer]
    with_consent: list[synthetic.Newcomer]
    """consent for family, education, languages (from COA) and attendance, signals and
    language levels (from the provider)"""
    without_consent: list[synthetic.Newcomer]
    moved: synthetic.Newcomer | None = None
    """DUO's SS121: settled in Utrecht with Leiden's plan (Utrecht's console shows DUO's
    facts; Leiden's no longer lists them)"""
    signed: synthetic.Newcomer | None = None
    """the one whose profile COA sent as version 2, its own SD-JWT (issue #32): the console
    verifies it against COA's pinned key, and the dossier says it was signed by COA"""


def _send(
    cast: Cast,
    sender: str,
    type_: str,
    person: synthetic.Newcomer,
    body: dict[str, Any],
    at: datetime,
) -> None:
    client = cast.client(sender)
    payload = synthetic.payload(
        type_, body, sender=sender, recipient=LEIDEN, newcomer=person, issued_at=at
    )
    client.submit(client.sign(payload))


def _linked(
    profile: dict[str, Any], now: datetime, rng: random.Random, far: bool = False
) -> dict[str, Any]:
    """The profile linked on a realistic day before the demo (2 to 22 weeks ago; ``far``:
    two and a half years ago, far along their term), after a permit a few weeks earlier:
    a caseload's clocks, not all starting today."""
    days = rng.randrange(1000, 1060) if far else rng.randrange(14, 155)
    linked = now.date() - timedelta(days=days)
    profile["placement"]["linked_on"] = linked.isoformat()
    permitted = linked - timedelta(days=rng.randrange(7, 60))
    profile["placement"]["permit_date"] = permitted.isoformat()
    return profile


def _place(
    cast: Cast, people: list[synthetic.Newcomer], now: datetime, rng: random.Random
) -> None:
    """COA's profiles of ``people``, placing them with Leiden, in one batch; the one at
    ``SIGNED`` as version 2 (COA's SD-JWT), the others as version 1."""
    coa = cast.client(COA)
    profiles = [
        coa.sign(
            {
                **synthetic.payload(
                    "handover-profile",
                    _linked(synthetic.varied_profile(p, "GM0546", rng), now, rng, far=n % 8 == 1),
                    sender=COA,
                    recipient=LEIDEN,
                    newcomer=p,
                    issued_at=now,
                ),
                "version": 2 if n == SIGNED else 1,
            }
        )
        for n, p in enumerate(people)
    ]
    coa.submit_batch(profiles)


def seed(cast: Cast, count: int = 24, rng_seed: int = 7, *, duo: bool = False) -> Seeded:
    """Leiden's newcomers; every fourth without plan or provider, every other with consent;
    with ``duo`` (and six or more), DUO's notifications for a few, one moving to Utrecht."""
    rng = random.Random(rng_seed)  # noqa: S311 - synthetic people, not secrets
    now = datetime.now(UTC)
    people = [synthetic.Newcomer.make(rng) for _ in range(count)]
    _place(cast, people, now, rng)
    consenting, others = [], []
    for n, person in enumerate(people):
        if n % 2 == 0:
            consenting.append(person)
            declaration = synthetic.consent_declaration(
                LEIDEN,
                [COA, PROVIDER],
                ["family", "education", "languages", "attendance", "signals", "language_levels"],
                now - timedelta(minutes=5),
                purposes=("brede-intake", "pip", "voortgang"),
                days=20 if n % 12 == 6 else 365,  # some run out soon: work for "Vandaag"
            )
            _send(cast, LEIDEN, "consent-declaration", person, declaration, now)
        else:
            others.append(person)
        if n % 4 == 3:
            continue
        _send(
            cast,
            LEIDEN,
            "provider-assignment",
            person,
            synthetic.provider_assignment(PROVIDER, now - timedelta(minutes=1)),
            now,
        )
        back = rng.randrange(920, 1000) if n % 8 == 1 else rng.randrange(0, 40)
        dated = (now - timedelta(days=back)).date().isoformat()  # far along: the term ends soon
        plan = synthetic.integration_plan(
            str(uuid.UUID(int=rng.getrandbits(128), version=4)), dated=dated
        )
        _send(cast, LEIDEN, "integration-plan", person, plan, now)
        hours = 0
        for month in range(rng.randrange(1, 4)):
            _send(cast, PROVIDER, "progress-report", person, _report(rng, month, hours), now)
            hours += rng.randrange(20, 60)
    moved = _duo_speaks(cast, people, now) if duo and count >= 6 else None
    return Seeded(people, consenting, others, moved, people[SIGNED] if count > SIGNED else None)


def _duo_speaks(cast: Cast, people: list[synthetic.Newcomer], now: datetime) -> synthetic.Newcomer:
    """DUO's notifications for a few of them: SS139 (the 10-week term for the learning
    route, begun 9 weeks ago) for two, SS121 for one with a plan (settled in Utrecht, with
    Leiden's plan), SS106 (diploma) for one; Utrecht's connector hands on what DUO answered
    about the one who moved (``duo-facts``). The newcomer who moved."""
    duo = cast.client(DUO)
    for person in people[:2]:
        notify(duo, LEIDEN, person.v_number, "SS139", now - timedelta(weeks=9))
    moved = people[4]  # planned and assigned (every fourth is not)
    notify(duo, UTRECHT, moved.v_number, "SS121", now - timedelta(days=2))
    notify(duo, LEIDEN, people[5].v_number, "SS106", now - timedelta(days=1))
    utrecht = cast.client(UTRECHT)
    facts = {
        "fetched_at": synthetic.utc(now),
        "inburgeringstermijn": {"startdatum": (now - timedelta(days=400)).date().isoformat(),
                                "einddatum": (now + timedelta(days=696)).date().isoformat()},
        "leerbaarheidstoets": {"resultaat": "B1-route haalbaar", "behaaldeScore": "61,50",
                               "benodigdeScore": "55,00",
                               "datumAfname": (now - timedelta(days=300)).date().isoformat()},
        "examenresultaten": [
            {"examendatum": (now - timedelta(days=30)).date().isoformat(),
             "resultaat": "Geslaagd", "onderdeel": "KNM", "niveau": "A2"},
            {"examendatum": (now - timedelta(days=30)).date().isoformat(),
             "resultaat": "Gezakt", "onderdeel": "LU", "niveau": "B1"},
        ],
    }  # fmt: skip
    payload = synthetic.payload("duo-facts", facts, sender=UTRECHT, recipient=UTRECHT,
                                newcomer=moved, issued_at=now)  # fmt: skip
    utrecht.submit(utrecht.sign(payload))
    return moved


def _report(rng: random.Random, month: int, hours: int) -> dict[str, Any]:
    body = synthetic.progress_report(PROVIDER)
    planned = rng.randrange(40, 80, 4)
    body["attendance"] = {
        "hours_planned": planned,
        "hours_attended": planned - rng.randrange(0, planned // 2, 2),
    }
    day = f"2026-{9 + month:02d}-15"
    levels = ["A0", "A1", "A1", "A2", "A2", "B1"]
    body["language_levels"] = {
        "assessments": [
            {
                "skill": skill,
                "level": levels[min(len(levels) - 1, month + rng.randrange(0, 3))],
                "date": day,
                "method": "test",
            }
            for skill in ("listening", "reading", "speaking", "writing")
        ]
    }
    body["hours"] = {"language_and_knm": hours + rng.randrange(10, 40)}
    body["signals"]["dropout_risk"] = rng.choice(["low", "low", "medium", "high"])
    return body


def run_console_demo(port: int) -> int:
    """Serve a seeded gateway and Leiden's console until Ctrl-C; nothing is kept after."""
    from connectors.municipality.console.command import start_console

    folder = Path(tempfile.mkdtemp(prefix="gateway-console-demo-"))
    try:
        with ServerProcess(folder / "instance") as server:
            services = build_services(config.from_env({"GATEWAY_INSTANCE": str(server.instance)}))
            cast = register_cast(services, server.url, datetime.now(UTC))
            seeded = seed(cast, count=60, duo=True)
            from gateway.devtools.cast import keep_keys

            keep_keys(cast, folder / "keys")
            print(
                f"gateway at {server.url}: {len(seeded.people)} newcomers placed with Leiden, "
                f"consent recorded for {len(seeded.with_consent)}"
            )
            print(
                "the auditor's console, in another terminal while this runs:\n"
                f"  GATEWAY_URL={server.url} GATEWAY_OIN={AUDITOR} "
                f"GATEWAY_KEY={folder}/keys/auditor.jwk gateway connect auditor console "
                f"--data {folder}/auditor\n"
                f"  (a V-nummer for its trail: {seeded.people[0].v_number})"
            )
            if seeded.moved is not None:
                print(
                    f"DUO said {seeded.moved.v_number} settled in Utrecht (SS121): Leiden no "
                    "longer lists them; Utrecht's console, in another terminal:\n"
                    f"  GATEWAY_URL={server.url} GATEWAY_OIN={UTRECHT} "
                    f"GATEWAY_KEY={folder}/keys/utrecht.jwk gateway connect municipality "
                    f"console --data {folder}/utrecht --port 0"
                )
            start_console(cast.client(LEIDEN), folder / "console", port, interval=60.0)
        return 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)
