"""``gateway demo`` part 7: one newcomer's blue folder as COA's own SD-JWT (issue #32).

COA (with a new key: part 2 had its first one revoked) signs the folder once, as version
2 of the handover profile: each category one disclosure, health's members each their own.
Leiden has consent for family only; the gateway forwards COA's JWT with just the
disclosures that may leave, and Leiden checks COA's signature itself, against COA's key
it pinned on first use, not against the gateway's word. A disclosure changed on the way
(as whoever runs the gateway could change one in its database) no longer matches what
COA signed: Leiden refuses it.

Prints category names, counts and key thumbprints only, never a value of the folder.
"""

from __future__ import annotations

import base64
import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.common.client import GatewayClient
from gateway.devtools import synthetic
from gateway.devtools.cast import COA, LEIDEN, Cast, profile
from gateway.domain.audit import events
from gateway.domain.parties import KeyRecord
from gateway.domain.wire import jwk
from gateway.errors import InvalidSignature
from gateway.service import registry
from gateway.service.services import Services

SEED = 32_032
"""the synthetic newcomer's seed (none of the samples' people)"""


def _changed(text: str, category: str) -> str:
    """COA's SD-JWT with the disclosure of ``category`` holding another value (same salt):
    what a change in the gateway's database would forward."""
    jwt, *disclosures = text.split("~")[:-1]
    changed = []
    for disclosure in disclosures:
        items = json.loads(base64.urlsafe_b64decode(disclosure + "=" * (-len(disclosure) % 4)))
        if len(items) == 3 and items[1] == category:
            raw = json.dumps([items[0], category, {}]).encode()
            disclosure = base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
        changed.append(disclosure)
    return "~".join([jwt, *changed]) + "~"


def _send(client: GatewayClient, type_: str, person: synthetic.Newcomer, body: dict[str, Any],
          now: datetime) -> None:  # fmt: skip
    payload = synthetic.payload(type_, body, sender=client.oin, recipient=LEIDEN,
                                newcomer=person, issued_at=now)  # fmt: skip
    client.submit(client.sign(payload))


def _new_coa_key(cast: Cast, services: Services, now: datetime) -> tuple[GatewayClient, str]:
    """COA's next key, registered as the operator registers one (part 2 revoked the first):
    COA's client with it, and its thumbprint."""
    key = jwk.generate("Ed25519")
    record = KeyRecord(kid=jwk.thumbprint(key), oin=COA, jwk=jwk.public_jwk(key),
                       not_before=now - timedelta(minutes=1))  # fmt: skip
    registry.register_key(services, record, now, events.new_trace_id())
    return GatewayClient(cast.url, COA, key, retries=2, tls=cast.tls.get(COA)), record.kid


def coa_signs_at_work(
    cast: Cast, services: Services, folder: Path, now: datetime
) -> tuple[list[str], bool]:
    """COA sends one folder as version 2; Leiden pulls it, pins COA's key, verifies; a
    changed disclosure is refused. The lines to print, and whether all went as it must."""
    from connectors import municipality
    from connectors.common.coasigned import with_coa_body

    rng = random.Random(SEED)  # noqa: S311 - a synthetic person, not a secret
    person = synthetic.Newcomer.make(rng)
    (coa, kid), leiden = _new_coa_key(cast, services, now), cast.client(LEIDEN)
    folder_v2 = {**profile(person, rng, now), "version": 2}
    token = coa.sign(folder_v2)
    coa.submit(token)
    consent = synthetic.consent_declaration(LEIDEN, [COA], ["family"], now - timedelta(minutes=5),
                                            purposes=("brede-intake",))  # fmt: skip
    _send(leiden, "consent-declaration", person, consent, now)
    told: list[str] = []
    pins = municipality.Pins(folder / "leiden-issuer-keys.json", tell=told.append)
    out = folder / "leiden-sdjwt"
    municipality.pull_once(leiden, municipality.folder_sink(out), pins=pins)
    kept = next(
        document
        for document in (json.loads(p.read_text()) for p in out.glob("*.json"))
        if document.get("message_id") == folder_v2["message_id"]
    )
    given = len(kept["sd_jwt"].split("~")) - 2
    signed = kept.get("coa_signature", {})
    changed = {k: v for k, v in kept.items() if k not in ("body", "coa_signature")}
    changed["sd_jwt"] = _changed(kept["sd_jwt"], "family")
    try:
        with_coa_body(leiden, changed, pins)
        refused = False
    except InvalidSignature:
        refused = True
    ok = (
        signed == {"issuer": COA, "kid": kid}
        and set(kept["body"]) == {"identity", "placement", "family"}
        and all(kept["body"][c] == folder_v2["body"][c] for c in kept["body"])
        and len(told) == 1
        and refused
    )
    return [
        f"COA        signs one newcomer's folder once, as an SD-JWT (version 2): "
        f"{len(folder_v2['body'])} categories, {len(token.split('~')) - 2} disclosures "
        "(health's members apart); the gateway checked COA's signature and each disclosure",
        f"Leiden     has consent for family only; its pull gets COA's JWT with {given} "
        f"disclosures: {', '.join(sorted(kept['body']))}; withheld: "
        f"{', '.join(kept['withheld_categories'])}",
        f"Leiden     pinned COA's key on first use ({kid[:16]}…, leiden-issuer-keys.json) and "
        "verified COA's own signature against it: kept with coa_signature, "
        "\"ondertekend door COA\"",
        "a disclosure changed on the way (family, as in the gateway's database): "
        + ("refused, not kept, not acknowledged" if refused else "NOT REFUSED"),
    ], ok
