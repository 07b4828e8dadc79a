"""The pipeline fuzz's world: a gateway with two municipalities' newcomers, and every read.

``populate`` registers the demo parties and places newcomers with Leiden and
Utrecht (assigned, planned, consenting, reported on; one only placed, one
never planned), the world a fuzzed message aims at. ``Stream`` is the other
parties' valid messages, for newcomers only it knows, each of which must be
accepted whatever was fuzzed before it. ``read_everything`` runs every read
the service layer offers and names each that did not answer; ``Gateways``
gives each example a fresh database on its backend.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import random
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import make_url, text

from connectors.municipality import duo
from gateway.bootstrap import storage_of
from gateway.devtools import demo, synthetic
from gateway.domain import report
from gateway.domain.audit import checkpoints, merkle
from gateway.domain.parties import Party
from gateway.domain.wire import envelope, jwk
from gateway.errors import GatewayError
from gateway.service import auditing, consents, inbox, intake, regie
from gateway.service.services import Services
from tests import postgres
from tests.conftest import services_for
from tests.duo import SCHEMA, valid

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
"""The gateway's clock for every step of an example: fixed, so a failure replays"""
TRACE = "f" * 32
CODES = {demo.LEIDEN: "GM0546", demo.UTRECHT: "GM0344"}
SENDERS = {
    "handover-profile": (demo.COA,),
    "progress-report": (demo.PROVIDER,),
    "provider-assignment": (demo.LEIDEN, demo.UTRECHT),
    "integration-plan": (demo.LEIDEN, demo.UTRECHT),
    "consent-declaration": (demo.LEIDEN, demo.UTRECHT),
    "consent-withdrawal": (demo.LEIDEN, demo.UTRECHT),
}


@dataclasses.dataclass(frozen=True)
class Placed:
    """A newcomer of the world: placed with ``municipality``, with what was sent for them."""

    person: synthetic.Newcomer
    municipality: str
    assignment_id: str | None = None
    plan_id: str | None = None
    declaration_id: str | None = None


@dataclasses.dataclass
class World:
    """A gateway with two municipalities' newcomers in it, and the parties' keys."""

    services: Services
    keys: dict[str, jwk.Key]
    placed: list[Placed]
    rng: random.Random
    streamed: list[Placed] = dataclasses.field(default_factory=list)
    """the newcomers the valid stream placed"""
    named: list[str] = dataclasses.field(default_factory=list)
    """the V-numbers the fuzz named"""

    def sign(self, payload: dict[str, Any]) -> bytes:
        return envelope.sign(
            payload, self.keys[payload["sender"]], typ=envelope.MESSAGE_TYP
        ).encode()

    def accept(self, payload: dict[str, Any]) -> intake.Outcome:
        """One message through the real intake, at the world's clock."""
        return intake.accept(self.sign(payload), services=self.services, now=NOW, trace_id=TRACE)


def message(
    type_: str, body: dict[str, Any], sender: str, recipient: str, person: synthetic.Newcomer
) -> dict[str, Any]:
    """A payload of the contract, issued a moment before the world's clock."""
    return synthetic.payload(type_, body, sender=sender, recipient=recipient, newcomer=person,
                             issued_at=NOW - timedelta(minutes=2))  # fmt: skip


def new_id(rng: random.Random) -> str:
    """A version-4 UUID from ``rng``: the world's ids repeat with its seed."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def trajectory(
    rng: random.Random, municipality: str, code: str | None = None
) -> tuple[list[dict[str, Any]], Placed]:
    """A newcomer placed with ``municipality`` (GM ``code``), assigned to the provider,
    planned for, consenting to attendance and signals, and reported on: the payloads."""
    person = synthetic.Newcomer.make(rng)
    assignment_id, plan_id, declaration_id = new_id(rng), new_id(rng), new_id(rng)
    placed = Placed(person, municipality, assignment_id, plan_id, declaration_id)
    assignment = synthetic.provider_assignment(
        demo.PROVIDER, NOW - timedelta(days=9), placed.assignment_id
    )
    plan = synthetic.integration_plan(plan_id, dated=(NOW - timedelta(days=5)).date().isoformat())
    declaration = synthetic.consent_declaration(
        municipality, [demo.PROVIDER, demo.COA], ["attendance", "signals"],
        NOW - timedelta(days=8), declaration_id=placed.declaration_id,
        purposes=("voortgang", "brede-intake", "pip"),
    )  # fmt: skip
    report = {**synthetic.progress_report(demo.PROVIDER), "hours": {"language_and_knm": 40}}
    profile = synthetic.handover_profile(person, code or CODES[municipality], rng)
    return [
        message("handover-profile", profile, demo.COA, municipality, person),
        message("provider-assignment", assignment, municipality, municipality, person),
        message("integration-plan", plan, municipality, municipality, person),
        message("consent-declaration", declaration, municipality, municipality, person),
        message("progress-report", report, demo.PROVIDER, municipality, person),
    ], placed


def populate(services: Services, seed: int = 26) -> World:
    """Register the parties and place newcomers with Leiden and Utrecht: some with the
    whole trajectory, one only placed (without a BSN), one assigned and never planned.

    One batch, every item required accepted: the world the fuzz aims at is valid.
    """
    rng = random.Random(seed)
    cast = demo.register_cast(services, "http://127.0.0.1", NOW - timedelta(days=30))
    world = World(services, cast.keys, [], rng)
    payloads: list[dict[str, Any]] = []
    for municipality in (demo.LEIDEN, demo.UTRECHT):
        sent, full = trajectory(rng, municipality)
        payloads += sent
        idle = dataclasses.replace(synthetic.Newcomer.make(rng), bsn=None)
        body = synthetic.handover_profile(idle, CODES[municipality], rng)
        payloads.append(message("handover-profile", body, demo.COA, municipality, idle))
        assigned = synthetic.Newcomer.make(rng)
        body = synthetic.handover_profile(assigned, CODES[municipality], rng)
        payloads.append(message("handover-profile", body, demo.COA, municipality, assigned))
        assignment_id = new_id(rng)
        body = synthetic.provider_assignment(demo.PROVIDER, NOW - timedelta(days=3), assignment_id)
        payloads.append(message("provider-assignment", body, municipality, municipality, assigned))
        world.placed += [full, Placed(idle, municipality),
                         Placed(assigned, municipality, assignment_id)]  # fmt: skip
    outcomes = intake.accept_batch([world.sign(p) for p in payloads], services=services,
                                   now=NOW, trace_id=TRACE)  # fmt: skip
    refused = [o for o in outcomes if not isinstance(o, intake.Outcome)]
    assert not refused, f"the world's own messages were refused: {refused}"
    return world


class Stream:
    """Valid messages of the other parties, for fresh newcomers only the stream knows:
    each must be accepted whatever the fuzz sent before it."""

    def __init__(self, world: World, seed: int) -> None:
        self.world = world
        self.rng = random.Random(seed)
        self.queue: list[dict[str, Any]] = []
        self.turn = 0

    def next(self) -> dict[str, Any]:
        if not self.queue:
            municipality = (demo.UTRECHT, demo.LEIDEN)[self.turn % 2]
            self.turn += 1
            self.queue, placed = trajectory(self.rng, municipality)
            self.world.streamed.append(placed)
        return self.queue.pop(0)


Failure = tuple[str, BaseException]
"""a read (or step) by name, and what it raised"""


def answered(name: str, read: Callable[[], Any], failures: list[Failure]) -> Any:
    """``read``'s answer, or None. A refusal (a GatewayError of 4xx) is an answer too;
    a 5xx or any other exception is noted in ``failures``: that is what the fuzz hunts."""
    try:
        return read()
    except GatewayError as error:
        if error.status >= 500:
            failures.append((name, error))
    except Exception as error:  # anything else is a 500 the web layer would give
        failures.append((name, error))
    return None


def read_everything(world: World, now: datetime) -> list[Failure]:
    """Every read the service layer offers, over everyone the world knows of.

    Regie's signals (now, and a forecast a whole term ahead) and each listed
    newcomer's progress with the DUO requests made of it, both municipalities'
    inboxes and the provider's briefs (pulled and acknowledged), every
    newcomer's access report, trail, own copy and consent records, and the
    audit log verified from its bytes to a fresh signed checkpoint.
    """
    failures: list[Failure] = []
    found = {oin: world.services.store.registry.find_party(oin) for oin in (*CODES, *PEOPLE)}
    parties = {oin: party for oin, party in found.items() if party is not None}
    for oin in CODES:
        _regie(world, parties[oin], now, failures)
        _inbox(world, parties[oin], now, failures)
    _inbox(world, parties[demo.PROVIDER], now, failures)
    # Access reads render a report each: for the fuzz's newcomers, and one of each kind.
    others = [p.person.v_number for p in (world.placed[:1] + world.streamed[:1])]
    for n, v_number in enumerate(dict.fromkeys(world.named + others)):
        _access(world, parties, v_number, report.LANGUAGES[n % len(report.LANGUAGES)], now,
                failures)  # fmt: skip
    verify = functools.partial(verify_audit, world.services, parties[demo.AUDITOR], now)
    answered("audit verify", verify, failures)
    return failures


PEOPLE = (demo.PROVIDER, demo.AUDITOR)


def _regie(world: World, party: Party, now: datetime, failures: list[Failure]) -> None:
    services = world.services
    for at in (None, now + timedelta(days=1096)):
        after, name = 0, f"signals of {party.name} at {at or 'now'}"
        for _ in range(100):
            read = functools.partial(regie.signals_page, services, party, after, 4, now, TRACE, at)
            page = answered(name, read, failures)
            if page is None:
                break
            for row in page.newcomers:
                v_number = row["v_number"]
                progress = functools.partial(
                    regie.progress, services, party, v_number, now, TRACE, at
                )
                got = answered(f"progress of {v_number} at {at or 'now'}", progress, failures)
                if got is not None and at is None:
                    exported = functools.partial(duo_requests, got, party.oin)
                    answered(f"DUO export of {v_number}", exported, failures)
            if len(page.newcomers) < 4:
                break
            after = page.next_cursor


def duo_requests(progress: dict[str, Any], bron: str) -> list[dict[str, Any]]:
    """The DUO export's requests made of one progress answer, each held to DUO's schemas.

    A plan the gateway stored must make a PIP body DUO takes: the gateway checks
    DUO's rules at intake, so a refusal here is a failure, not an answer.
    """
    wanted = []
    if progress.get("plan"):
        try:
            wanted.append((duo.PIP, duo.pip_body(progress["plan"])))
        except GatewayError as error:
            raise AssertionError(f"a stored plan makes no PIP body: {error.detail}") from error
    wanted += list(duo.hours_bodies(progress.get("hours", {})))
    bsn = progress["subject"].get("bsn", "999999990")
    made = [duo.request(op, bsn, body, bron, "0" * 20) for op, body in wanted]
    for request in made:
        valid(SCHEMA["operations"][request["operationId"]]["body"], request["body"])
    through_json: list[dict[str, Any]] = json.loads(json.dumps(made, allow_nan=False))
    return through_json


def _inbox(world: World, party: Party, now: datetime, failures: list[Failure]) -> None:
    """Pull the whole inbox a page of 5 at a time, acknowledging each page's first."""
    after, services = 0, world.services
    for _ in range(200):
        read = functools.partial(inbox.pull, services, party, after, 5, now, TRACE)
        page = answered(f"inbox of {party.name}", read, failures)
        if page is None or page.next_cursor == after:
            return
        as_json = functools.partial(json.dumps, page.deliveries, allow_nan=False)
        answered(f"inbox of {party.name} as JSON", as_json, failures)
        for delivery in page.deliveries[:1]:
            ack = functools.partial(
                inbox.acknowledge, services, party, delivery["delivery_id"], now, TRACE
            )
            answered(f"acknowledge at {party.name}", ack, failures)
        after = page.next_cursor


def _access(
    world: World, parties: dict[str, Party], v_number: str, lang: str, now: datetime,
    failures: list[Failure],
) -> None:  # fmt: skip
    services, auditor = world.services, parties[demo.AUDITOR]
    reads: dict[str, Callable[[], Any]] = {
        f"access report of {v_number} ({lang})": functools.partial(
            auditing.access_report, services, v_number, now, lang
        ),
        f"audit trail of {v_number}": functools.partial(
            auditing.subject_entries, services, auditor, v_number, now, TRACE
        ),
    }
    for oin in CODES:
        reads[f"own copy of {v_number} at {oin}"] = functools.partial(
            auditing.own_copy, services, parties[oin], v_number, lang, now, TRACE
        )
        reads[f"consent records of {v_number} at {oin}"] = functools.partial(
            consents.history, services, parties[oin], v_number
        )
    for name, read in reads.items():
        answered(name, read, failures)


def verify_audit(services: Services, auditor: Party, now: datetime) -> int:
    """What the auditor's verifier checks, in process: a new checkpoint's signature, every
    leaf from its stored bytes, the root, consistency with the checkpoint before, and the
    newest entry's inclusion. Raises on any mismatch; returns the verified size."""
    before = services.store.audit.latest()
    stored = auditing.checkpoint(services, auditor, now, TRACE)
    keys = {services.signer.kid: jwk.import_jwk(jwk.public_jwk(services.signer.key))}
    point = checkpoints.verify_jws(stored.jws, keys)
    size, root = point.tree_size, bytes.fromhex(point.root_hash)
    leaves = []
    for index, raw, leaf in auditing.entries(services, auditor, 0, size, now, TRACE):
        assert json.loads(raw)["index"] == index, f"entry {index} names another index"
        leaves.append(merkle.leaf_hash(raw))
        assert leaves[-1].hex() == leaf, f"entry {index}: its bytes do not hash to its leaf"
    assert len(leaves) == size and merkle.root_of(leaves) == root, "the root does not match"
    if before is not None and before.tree_size < size:
        path = auditing.consistency(services, auditor, before.tree_size, size, now, TRACE)
        merkle.verify_consistency(before.tree_size, size, bytes.fromhex(before.root_hash), root,
                                  path)  # fmt: skip
    path = auditing.inclusion(services, auditor, size - 1, size, now, TRACE)
    merkle.verify_inclusion(size - 1, size, leaves[-1], path, root)
    return size


class Gateways:
    """A new gateway for each example, on one backend.

    A fresh database per example, because shrinking replays an example many
    times: poison one example left behind would make every later one fail, and
    the "minimal" example reported would be any example at all.
    """

    def __init__(self, tmp: Path, databases: postgres.Databases | None) -> None:
        self.tmp, self.databases, self.count = tmp, databases, 0

    @contextlib.contextmanager
    def fresh(self) -> Iterator[Services]:
        self.count += 1
        instance = self.tmp / f"gateway-{self.count}"
        url = self.databases.fresh() if self.databases else None
        services = services_for(instance, {"GATEWAY_DATABASE_URL": url} if url else {})
        try:
            yield services
        finally:
            storage_of(services).engine.dispose()
            shutil.rmtree(instance, ignore_errors=True)
            if url and self.databases:
                self._drop(make_url(url).database or "")

    def _drop(self, name: str) -> None:
        """Drop an example's database now: a run makes hundreds."""
        assert self.databases is not None
        with self.databases.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.databases.created.remove(name)
