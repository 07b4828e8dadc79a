"""The demo's intake scenario: messages one by one, valid and invalid, and what must happen."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.common.client import GatewayClient
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
    why: str = ""
    """the rule that decides the outcome, in a few words"""

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
    play = _Scenario(cast, services, now)
    play.flow()
    play.refusals()
    play.revocation()
    return play.steps


class _Scenario:
    """One newcomer, Amina, and the parties' clients; each step appended as it runs."""

    def __init__(self, cast: Cast, services: Services, now: datetime) -> None:
        self.cast, self.services, self.now = cast, services, now
        self.rng = random.Random(2026)  # noqa: S311 - synthetic data, not secrets
        self.amina = synthetic.Newcomer.make(self.rng)
        self.coa, self.provider = cast.client(COA), cast.client(PROVIDER)
        self.leiden = cast.client(LEIDEN)
        self.steps: list[Step] = []
        body = synthetic.handover_profile(self.amina, "GM0546", self.rng)
        self.profile = self.message(COA, "handover-profile", body)
        self.profile_token = self.coa.sign(self.profile)

    def message(
        self,
        sender: str,
        type_: str,
        body: dict[str, Any],
        recipient: str = LEIDEN,
        issued_at: datetime | None = None,
    ) -> dict[str, Any]:
        return synthetic.payload(
            type_,
            body,
            sender=sender,
            recipient=recipient,
            newcomer=self.amina,
            issued_at=issued_at or self.now,
        )

    def run(
        self,
        who: str,
        what: str,
        expected: str,
        action: Callable[[], object],
        entries: int = 1,
        *,
        why: str,
    ) -> None:
        self.steps.append(_attempt(Step(who, what, expected, entries=entries, why=why), action))

    def inbox_view(self) -> str:
        """What Leiden's pull shows: the sections of the folder | of the report (| a notice)."""
        page = self.leiden.get_json("/v1/inbox", limit=500)["deliveries"]
        by_type = {d["type"]: " ".join(sorted(d.get("body", ()))) for d in page}
        view = f"{by_type.get('handover-profile', '-')} | {by_type.get('progress-report', '-')}"
        told = [" ".join(d["categories"]) for d in page if d["type"] == "consent-withdrawn"]
        return view + "".join(f" | told: no more {t}" for t in told)

    def flow(self) -> None:
        """The handover, an assignment, a report, consent given and withdrawn."""
        now, profile, profile_token = self.now, self.profile, self.profile_token
        report = self.provider.sign(
            self.message(PROVIDER, "progress-report", synthetic.progress_report(PROVIDER))
        )
        self.run(
            "COA",
            "handover profile (blue folder)",
            "202",
            lambda: self.coa.submit(profile_token),
            why="signed by a registered COA key and valid: stored, receipted",
        )
        self.run(
            "COA",
            "the same bytes again (retry)",
            "200",
            lambda: self.coa.submit(profile_token),
            why="same id, same bytes: the first receipt again, nothing twice",
        )
        changed = {**profile, "body": {**profile["body"], "interests": {"hobbies": ["Chess"]}}}
        self.run(
            "COA",
            "same message_id, other content",
            "conflict",
            lambda: self.coa.submit(self.coa.sign(changed)),
            why="a message_id names one content, for ever",
        )
        self.run(
            "Provider",
            "progress report before any assignment",
            "not-authorised",
            lambda: self.provider.submit(report),
            why="a provider reports only on newcomers assigned to it",
        )
        assignment = self.message(
            LEIDEN,
            "provider-assignment",
            synthetic.provider_assignment(PROVIDER, now - timedelta(minutes=1)),
        )
        self.run(
            "Leiden",
            "assigns the provider",
            "202",
            lambda: self.leiden.submit(self.leiden.sign(assignment)),
            why="Leiden steers the newcomers placed with it",
        )
        self.run(
            "Provider",
            "the same report, now assigned",
            "202",
            lambda: self.provider.submit(report),
            why="assigned now: the report is taken",
        )
        declaration = self.message(
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
        self.run(
            "Leiden",
            "records a consent declaration",
            "202",
            lambda: self.leiden.submit(self.leiden.sign(declaration)),
            2,  # message.accepted and consent.recorded
            why="recorded: sources, categories, purposes, period",
        )

        self.run(
            "Leiden",
            "pulls its inbox (folder | report)",
            "education identity languages placement | attendance enrolment",
            self.inbox_view,
            2,
            why="identity, placement, enrolment by law; the rest by the consent",
        )
        withdrawal = self.message(
            LEIDEN,
            "consent-withdrawal",
            {
                "declaration_id": declaration["body"]["declaration_id"],
                "withdrawn_at": synthetic.utc(now),
            },
        )
        self.run(
            "Leiden",
            "records the newcomer's withdrawal",
            "202",
            lambda: self.leiden.submit(self.leiden.sign(withdrawal)),
            3,  # message.accepted, consent.withdrawn, notice.delivered
            why="consent ends now; who received data on it is told",
        )
        self.run(
            "Leiden",
            "pulls again: less may leave, and a notice",
            "identity placement | enrolment | told: no more attendance education languages",
            self.inbox_view,
            3,
            why="what rested on the consent stays behind; a notice says so",
        )

    def refusals(self) -> None:
        """Each of the contract's refusals, once."""
        now, profile, profile_token, cast = self.now, self.profile, self.profile_token, self.cast
        self.placed_elsewhere()
        no_flag = self.message(
            LEIDEN,
            "consent-declaration",
            synthetic.consent_declaration(
                LEIDEN, [COA], ["health"], now - timedelta(hours=1), explicit_health=False
            ),
        )
        self.run(
            "Leiden",
            "health consent without the explicit flag",
            "schema-violation",
            lambda: self.leiden.submit(self.leiden.sign(no_flag)),
            why="health needs explicit_health_consent (AVG art. 9)",
        )
        self.run(
            "COA",
            "progress report (COA may not)",
            "not-authorised",
            lambda: self.coa.submit(
                self.coa.sign(self.message(COA, "progress-report", synthetic.progress_report(COA)))
            ),
            why="only providers send progress reports",
        )
        self.run(
            "COA",
            "profile for another municipality (Utrecht)",
            "schema-violation",
            lambda: self.coa.submit(
                self.coa.sign(
                    self.message(COA, "handover-profile", profile["body"], recipient=UTRECHT)
                )
            ),
            why="the body's municipality code is not the recipient's",
        )
        self.run(
            "COA",
            "message issued 8 days ago",
            "replay",
            lambda: self.coa.submit(
                self.coa.sign(
                    self.message(
                        COA, "handover-profile", profile["body"], issued_at=now - timedelta(days=8)
                    )
                )
            ),
            why="older than the replay window allows",
        )
        self.run(
            "Provider",
            "claims to be COA (sender mismatch)",
            "sender-mismatch",
            lambda: self.provider.submit(
                self.provider.sign(self.message(COA, "handover-profile", profile["body"]))
            ),
            why="the sender must be the signing key's owner",
        )
        tampered = profile_token[:-4] + ("AAAA" if not profile_token.endswith("AAAA") else "BBBA")
        self.run(
            "Someone",
            "profile with a tampered signature",
            "invalid-signature",
            lambda: self.coa.submit(tampered),
            why="the signature does not verify over the bytes",
        )
        stranger = GatewayClient(cast.url, COA, jwk.generate(), retries=0, tls=cast.tls.get(COA))
        self.run(
            "Someone",
            "signed with an unregistered key",
            "unknown-key",
            lambda: stranger.submit(stranger.sign(profile)),
            why="the kid names no registered key",
        )
        header = envelope.b64url_encode(b'{"alg":"none","kid":"x","typ":"inburgering-message+jws"}')
        self.run(
            "Someone",
            "alg none",
            "unsupported-header",
            lambda: self.coa.submit(header + "." + profile_token.split(".")[1] + "."),
            why="EdDSA or ES256 only; never none",
        )
        self.run(
            "Someone",
            "JSON instead of application/jose",
            "unsupported-media-type",
            lambda: (
                self.coa.request(
                    "POST",
                    "/v1/messages",
                    data=profile_token,
                    headers={"Content-Type": "application/json"},
                ).status_code
            ),
            why="a message is a compact JWS, application/jose",
        )
        self.run(
            "Someone",
            "a 300 KiB body",
            "payload-too-large",
            lambda: (
                self.coa.request(
                    "POST",
                    "/v1/messages",
                    data=b"a" * (300 * 1024),
                    headers={"Content-Type": "application/jose"},
                ).status_code
            ),
            why="over the 256 KiB limit: refused unread",
        )

    def placed_elsewhere(self) -> None:
        """Only the municipality a newcomer is placed with steers: Utrecht's is not Leiden's."""
        bilal = synthetic.Newcomer.make(random.Random(2027))  # noqa: S311 - synthetic
        body = synthetic.handover_profile(bilal, "GM0344", random.Random(2028))  # noqa: S311
        placed = synthetic.payload(
            "handover-profile", body, sender=COA, recipient=UTRECHT, newcomer=bilal,
            issued_at=self.now,
        )  # fmt: skip
        self.run("COA", "profile of a newcomer placed in Utrecht", "202",
                 lambda: self.coa.submit(self.coa.sign(placed)),
                 why="the profile places its newcomer with Utrecht")  # fmt: skip
        assignment = synthetic.payload(
            "provider-assignment",
            synthetic.provider_assignment(PROVIDER, self.now - timedelta(minutes=1)),
            sender=LEIDEN, recipient=LEIDEN, newcomer=bilal, issued_at=self.now,
        )  # fmt: skip
        self.run("Leiden", "assigns a provider to Utrecht's newcomer", "not-authorised",
                 lambda: self.leiden.submit(self.leiden.sign(assignment)),
                 why="only the municipality of placement steers")  # fmt: skip

    def revocation(self) -> None:
        """A key revoked by the operator no longer signs for COA."""
        profile, cast, services = self.profile, self.cast, self.services
        revoked = cast.keys[COA]
        registry.revoke_key(
            services, jwk.thumbprint(revoked), datetime.now(UTC), events.new_trace_id()
        )
        self.run(
            "COA",
            "new profile with its revoked key",
            "key-not-valid",
            lambda: self.coa.submit(
                self.coa.sign(self.message(COA, "handover-profile", profile["body"]))
            ),
            why="the operator revoked that key",
        )
