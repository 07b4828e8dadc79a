"""``gateway demo``: the scenario on a throw-away SQLite database, over real HTTP.

Starts the real server on 127.0.0.1, registers synthetic parties with fresh
keys, sends valid and invalid messages as the parties would, and prints what
happened. Exits non-zero if anything turned out other than the contract says,
so the demo doubles as a smoke test of a fresh install.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click

from connectors.auditor import check_once, verify_log
from connectors.client import GatewayClient
from gateway import config
from gateway.bootstrap import build_services, storage_of
from gateway.devtools import synthetic
from gateway.devtools.serverproc import ServerProcess
from gateway.domain.audit import events
from gateway.domain.parties import KeyRecord, new_party
from gateway.domain.wire import envelope, jwk
from gateway.errors import BY_CODE, GatewayError
from gateway.service import registry
from gateway.service.services import Services

COA = "00000001003214345000"
PROVIDER = "00000001820029336000"
LEIDEN = "00000001002220647000"
UTRECHT = "00000001002220650000"
AUDITOR = "00000001800866472000"


@dataclass
class Cast:
    """The synthetic parties, each with a client holding its own fresh key."""

    url: str
    clients: dict[str, GatewayClient] = field(default_factory=dict)
    keys: dict[str, jwk.Key] = field(default_factory=dict)

    def client(self, oin: str) -> GatewayClient:
        return self.clients[oin]


PARTIES = [
    (COA, "coa", "COA (demo)", None),
    (PROVIDER, "provider", "Taalschool Voorbeeld (demo)", None),
    (LEIDEN, "municipality", "Gemeente Leiden (demo)", "GM0546"),
    (UTRECHT, "municipality", "Gemeente Utrecht (demo)", "GM0344"),
    (AUDITOR, "auditor", "Auditdienst (demo)", None),
]


def register_cast(services: Services, url: str, now: datetime) -> Cast:
    """Register the demo parties, each with a new Ed25519 key (P-256 for the provider)."""
    cast = Cast(url=url)
    for oin, role, name, code in PARTIES:
        party = new_party(oin, role, name, code)
        registry.register_party(services, party, now, events.new_trace_id())
        key = jwk.generate("P-256" if role == "provider" else "Ed25519")
        registry.register_key(
            services,
            KeyRecord(
                kid=jwk.thumbprint(key),
                oin=oin,
                jwk=jwk.public_jwk(key),
                not_before=now - timedelta(minutes=1),
            ),
            now,
            events.new_trace_id(),
        )
        cast.keys[oin] = key
        cast.clients[oin] = GatewayClient(url, oin, key, retries=2)
    return cast


PROBLEM_CODES = set(BY_CODE) | {"schema-violation"}


@dataclass
class Step:
    who: str
    what: str
    expected: str
    got: str = ""
    entries: int = 1  # audit entries the step adds when it goes as expected

    @property
    def ok(self) -> bool:
        return self.expected == self.got


def _attempt(step: Step, action: Callable[[], object]) -> Step:
    try:
        result = action()
        step.got = str(getattr(result, "status", result))
    except GatewayError as error:
        step.got = error.code
    return step


def scenario(cast: Cast, services: Services, now: datetime) -> list[Step]:
    """The intake scenario: every line a message a party sends, and what must happen."""
    rng = random.Random(2026)  # noqa: S311 - synthetic data, not secrets
    amina = synthetic.Newcomer.make(rng)
    coa, provider, leiden = cast.client(COA), cast.client(PROVIDER), cast.client(LEIDEN)

    def message(
        sender: str,
        type_: str,
        body: dict[str, Any],
        recipient: str = LEIDEN,
        issued_at: datetime = now,
    ) -> dict[str, Any]:
        return synthetic.payload(
            type_, body, sender=sender, recipient=recipient, newcomer=amina, issued_at=issued_at
        )

    profile = message(COA, "handover-profile", synthetic.handover_profile(amina, "GM0546", rng))
    profile_token = coa.sign(profile)
    report = provider.sign(
        message(PROVIDER, "progress-report", synthetic.progress_report(PROVIDER))
    )
    steps: list[Step] = []

    def run(
        who: str, what: str, expected: str, action: Callable[[], object], entries: int = 1
    ) -> None:
        steps.append(_attempt(Step(who, what, expected, entries=entries), action))

    run("COA", "handover profile (blue folder)", "202", lambda: coa.submit(profile_token))
    run("COA", "the same bytes again (retry)", "200", lambda: coa.submit(profile_token))
    changed = {**profile, "body": {**profile["body"], "interests": {"hobbies": ["Chess"]}}}
    run("COA", "same message_id, other content", "conflict", lambda: coa.submit(coa.sign(changed)))
    run(
        "Provider",
        "progress report before any assignment",
        "not-authorised",
        lambda: provider.submit(report),
    )
    assignment = message(
        LEIDEN,
        "provider-assignment",
        synthetic.provider_assignment(PROVIDER, now - timedelta(minutes=1)),
    )
    run("Leiden", "assigns the provider", "202", lambda: leiden.submit(leiden.sign(assignment)))
    run("Provider", "the same report, now assigned", "202", lambda: provider.submit(report))
    declaration = message(
        LEIDEN,
        "consent-declaration",
        synthetic.consent_declaration(
            LEIDEN,
            [COA, PROVIDER],
            ["education", "languages", "attendance"],
            now - timedelta(hours=1),
            purposes=("brede-intake", "pip", "voortgang"),
        ),
    )
    run(
        "Leiden",
        "records a consent declaration",
        "202",
        lambda: leiden.submit(leiden.sign(declaration)),
        2,  # message.accepted and consent.recorded
    )

    def inbox_view() -> str:
        """What Leiden's pull shows: the sections of the folder | of the report."""
        page = leiden.get_json("/v1/inbox", limit=500)["deliveries"]
        by_type = {d["type"]: " ".join(sorted(d["body"])) for d in page}
        return f"{by_type.get('handover-profile', '-')} | {by_type.get('progress-report', '-')}"

    run(
        "Leiden",
        "pulls its inbox (folder | report)",
        "education identity languages placement | attendance enrolment",
        inbox_view,
        2,
    )
    withdrawal = message(
        LEIDEN,
        "consent-withdrawal",
        {
            "declaration_id": declaration["body"]["declaration_id"],
            "withdrawn_at": synthetic.utc(now),
        },
    )
    run(
        "Leiden",
        "records the newcomer's withdrawal",
        "202",
        lambda: leiden.submit(leiden.sign(withdrawal)),
        2,
    )
    run("Leiden", "pulls again: less may leave", "identity placement | enrolment", inbox_view, 2)
    no_flag = message(
        LEIDEN,
        "consent-declaration",
        synthetic.consent_declaration(
            LEIDEN, [COA], ["health"], now - timedelta(hours=1), explicit_health=False
        ),
    )
    run(
        "Leiden",
        "health consent without the explicit flag",
        "schema-violation",
        lambda: leiden.submit(leiden.sign(no_flag)),
    )
    run(
        "COA",
        "progress report (COA may not)",
        "not-authorised",
        lambda: coa.submit(
            coa.sign(message(COA, "progress-report", synthetic.progress_report(COA)))
        ),
    )
    run(
        "COA",
        "profile for another municipality (Utrecht)",
        "schema-violation",
        lambda: coa.submit(
            coa.sign(message(COA, "handover-profile", profile["body"], recipient=UTRECHT))
        ),
    )
    run(
        "COA",
        "message issued 8 days ago",
        "replay",
        lambda: coa.submit(
            coa.sign(
                message(COA, "handover-profile", profile["body"], issued_at=now - timedelta(days=8))
            )
        ),
    )
    run(
        "Provider",
        "claims to be COA (sender mismatch)",
        "sender-mismatch",
        lambda: provider.submit(provider.sign(message(COA, "handover-profile", profile["body"]))),
    )
    tampered = profile_token[:-4] + ("AAAA" if not profile_token.endswith("AAAA") else "BBBA")
    run(
        "Someone",
        "profile with a tampered signature",
        "invalid-signature",
        lambda: coa.submit(tampered),
    )
    stranger = GatewayClient(cast.url, COA, jwk.generate(), retries=0)
    run(
        "Someone",
        "signed with an unregistered key",
        "unknown-key",
        lambda: stranger.submit(stranger.sign(profile)),
    )
    header = envelope.b64url_encode(b'{"alg":"none","kid":"x","typ":"inburgering-message+jws"}')
    run(
        "Someone",
        "alg none",
        "unsupported-header",
        lambda: coa.submit(header + "." + profile_token.split(".")[1] + "."),
    )
    run(
        "Someone",
        "JSON instead of application/jose",
        "unsupported-media-type",
        lambda: (
            coa.request(
                "POST",
                "/v1/messages",
                data=profile_token,
                headers={"Content-Type": "application/json"},
            ).status_code
        ),
    )
    run(
        "Someone",
        "a 300 KiB body",
        "payload-too-large",
        lambda: (
            coa.request(
                "POST",
                "/v1/messages",
                data=b"a" * (300 * 1024),
                headers={"Content-Type": "application/jose"},
            ).status_code
        ),
    )
    revoked = cast.keys[COA]
    registry.revoke_key(services, jwk.thumbprint(revoked), datetime.now(UTC), events.new_trace_id())
    run(
        "COA",
        "new profile with its revoked key",
        "key-not-valid",
        lambda: coa.submit(coa.sign(message(COA, "handover-profile", profile["body"]))),
    )
    return steps


def parties_at_work(cast: Cast, folder: Path, now: datetime) -> tuple[list[str], bool]:
    """Part one: the four connectors on the sample files, as each party runs them.

    Returns the lines to print and whether every count came out as it must.
    """
    from connectors import coa, municipality, provider
    from gateway.devtools import samplefiles

    samples = samplefiles.SAMPLES
    leiden, utrecht = cast.client(LEIDEN), cast.client(UTRECHT)
    people = samplefiles.newcomers()
    in_leiden = sum(1 for _, place, _ in people if place == samplefiles.LEIDEN)
    reported = [
        json.loads(line)["subject"]
        for line in (samples / "progress-reports.jsonl").read_text().splitlines()
    ]
    lines: list[str] = []
    sent = coa.send_export(
        cast.client(COA),
        samples / "coa-export.csv",
        receipts=folder / "coa.receipts.jsonl",
        progress=False,
    )
    lines.append(
        f"COA        sends its export (coa-export.csv, {sent.rows} newcomers): "
        f"{sent.outcomes['accepted']} accepted, {sent.failed} refused"
    )
    for subject in reported:
        municipality.assign(
            leiden, PROVIDER, subject, route="b1-route", valid_from=now - timedelta(days=1)
        )
    declaration = json.loads((samples / "consent-declaration.json").read_text())
    declaration.update(
        sources=[COA, PROVIDER],
        valid_from=synthetic.utc(now - timedelta(hours=1)),
        valid_until=synthetic.utc(now + timedelta(days=365)),
    )
    consenting = reported[: len(reported) // 2]
    for subject in consenting:
        municipality.declare(leiden, declaration, subject, samples / "consent-form-scan.txt")
    lines.append(
        f"Leiden     assigns {len(reported)} newcomers to the provider; records "
        f"{len(consenting)} consent declarations (scan hashed, not sent)"
    )
    reports = provider.send_reports(
        cast.client(PROVIDER),
        samples / "progress-reports.csv",
        receipts=folder / "reports.receipts.jsonl",
        progress=False,
    )
    lines.append(
        f"Provider   sends {reports.rows} progress reports: {reports.outcomes['accepted']} accepted"
    )
    pulled = {}
    for name, client in (("Leiden", leiden), ("Utrecht", utrecht)):
        out = folder / f"{name.lower()}-inbox"
        result = municipality.pull_once(client, municipality.folder_sink(out))
        pulled[name] = result
        withheld = ", ".join(f"{k} {v}x" for k, v in sorted(result.withheld.items()))
        lines.append(
            f"{name:<10} pulls {result.written} deliveries into {out.name}/, verified and "
            f"acknowledged; withheld for lack of consent: {withheld or 'nothing'}"
        )
    ok = (
        sent.outcomes["accepted"] == len(people)
        and reports.outcomes["accepted"] == len(reported)
        and pulled["Leiden"].written == in_leiden + len(reported)
        and pulled["Utrecht"].written == len(people) - in_leiden
    )
    return lines, ok


def print_steps(steps: list[Step]) -> None:
    width = max(len(s.what) for s in steps) + 2
    exp = max(len(s.expected) for s in steps) + 2
    print(f"{'':3}{'party':<10}{'message':<{width}}{'expected':<{exp}}{'got'}")
    for n, s in enumerate(steps, 1):
        mark = "ok" if s.ok else "!!"
        print(f"{n:<3}{s.who:<10}{s.what:<{width}}{s.expected:<{exp}}{s.got:<{exp}}{mark}")


def run_demo(*, keep: bool = False) -> int:
    folder = Path(tempfile.mkdtemp(prefix="gateway-demo-"))
    instance = folder / "instance"
    try:
        with ServerProcess(instance) as server:
            services = build_services(config.from_env({"GATEWAY_INSTANCE": str(instance)}))
            store = storage_of(services)
            now = datetime.now(UTC)
            print(f"gateway running at {server.url} (instance {instance})\n")
            cast = register_cast(services, server.url, now)
            print("1. The parties at work, each with its connector\n")
            lines, worked = parties_at_work(cast, folder, now)
            print("\n".join(lines))
            before = store.count("audit_entries")
            print("\n2. The contract, message by message\n")
            steps = scenario(cast, services, now)
            print_steps(steps)
            entries = store.count("audit_entries")
            refused = sum(1 for s in steps if s.expected in PROBLEM_CODES)
            print(
                f"\nmessages stored: {store.count('messages')}; audit entries: {entries} "
                f"(part 2 added {entries - before}: {refused} refusals, 1 key revocation, "
                "and every acceptance, consent record and pull)"
            )
            # The idempotent retry (200) adds no entry; every other step adds its own.
            expected_entries = before + 1 + sum(s.entries for s in steps if s.expected != "200")
            ok = worked and all(s.ok for s in steps) and entries == expected_entries
            print("\n3. The auditor, trusting nothing but the gateway's published key\n")
            auditor = cast.client(AUDITOR)
            verified = verify_log(auditor, folder / "auditor.state")
            print(
                f"verify: every entry rehashed, every checkpoint checked: "
                f"{verified.entries} entries, {verified.checkpoints} checkpoint(s), "
                f"root {verified.root_hash[:16]}…"
            )
            watched = check_once(auditor, folder / "auditor.state")
            print(
                f"watch:  the newest checkpoint is consistent with the one verified "
                f"(tree size {watched.tree_size}, {watched.sampled} new entries sampled)"
            )
            print("\nall outcomes as the contract says" if ok else "\nUNEXPECTED OUTCOMES")
            return 0 if ok else 1
    finally:
        if keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


@click.command("demo")
@click.option("--keep", is_flag=True, help="keep the temporary folder")
def command(keep: bool) -> None:
    """Run the whole scenario against a real server on a throw-away database."""
    sys.exit(run_demo(keep=keep))
