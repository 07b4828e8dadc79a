"""The demo's intake scenario: messages one by one, valid and invalid, and what must happen."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.client import GatewayClient
from gateway.devtools import synthetic
from gateway.devtools.cast import COA, LEIDEN, PROVIDER, UTRECHT, Cast
from gateway.domain.audit import events
from gateway.domain.wire import envelope, jwk
from gateway.errors import BY_CODE, GatewayError
from gateway.service import registry
from gateway.service.services import Services

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
