"""Our SD-JWT mechanics against an implementation no one here wrote: @sd-jwt/core (npm,
OpenWallet Foundation), run by ``.ci/sdjwt/sdjwt.mjs`` with an Ed25519 key.

Both ways: what we conceal and sign the reference verifies to the same claims (whole, and
cut to a selection as the gateway will forward it), and what the reference issues our
verifier reveals to the claims the reference itself reads. Where RFC 9901 §7.1 says to reject
(a disclosure no digest references, a digest met twice, a hash algorithm not agreed on, a
disclosure altered after issuance), ours refuses; the reference, at 0.19.0, lets each through
(it ignores what it cannot place): the municipality's verification must be ours.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Any

import pytest
from joserfc import jws
from joserfc.jwk import OKPKey

from gateway.domain.wire.sdjwt import (
    Refused,
    b64url,
    conceal,
    digest,
    disclose,
    parse,
    reveal,
)

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".ci" / "sdjwt" / "sdjwt.mjs"
INSTALL = "npm ci --ignore-scripts --no-audit --no-fund --prefix .ci/sdjwt"
CLAIMS = {"iss": "coa", "family": {"children": 2}, "education": ["A2", "B1"], "health": None}


@pytest.fixture(scope="module")
def key() -> OKPKey:
    if not (SCRIPT.parent / "node_modules" / "@sd-jwt" / "core").is_dir() or not shutil.which(
        "node"
    ):
        if os.environ.get("CI"):
            pytest.fail(f"@sd-jwt/core is not installed: {INSTALL}")
        pytest.skip(f"@sd-jwt/core is not installed: {INSTALL}")
    return OKPKey.generate_key("Ed25519")


def _reference(request: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [shutil.which("node") or "node", str(SCRIPT)], input=json.dumps(request),
        capture_output=True, text=True, timeout=60, cwd=SCRIPT.parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def _sign(payload: dict[str, Any], key: OKPKey) -> str:
    with warnings.catch_warnings():  # joserfc warns of "EdDSA" (RFC 9864 names Ed25519)
        warnings.simplefilter("ignore")
        return jws.serialize_compact({"alg": "EdDSA", "typ": "example+sd-jwt"},
                                     json.dumps(payload).encode(), key, algorithms=["EdDSA"])


def _payload(jwt: str, key: OKPKey) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = jws.deserialize_compact(jwt, key, algorithms=["EdDSA"])
    payload: dict[str, Any] = json.loads(found.payload)
    return payload


def _verify(sdjwt: str, key: OKPKey) -> dict[str, Any]:
    return _reference({"op": "verify", "jwk": key.as_dict(private=False), "sdjwt": sdjwt})


def test_what_we_issue_the_reference_verifies(key: OKPKey) -> None:
    made = conceal(CLAIMS, ["family", "education", "health"], decoys=4)
    whole = parse(_sign(made.payload, key) + "~" + "~".join(made.disclosures.values()) + "~")
    assert _verify(whole.serialize(), key) == {"ok": True, "payload": CLAIMS}
    cut = whole.select({digest(made.disclosures["education"])})
    assert _verify(cut.serialize(), key) == {"ok": True, "payload": {
        "iss": "coa", "education": ["A2", "B1"]}}  # fmt: skip


def test_what_the_reference_issues_we_reveal_as_it_reads_it(key: OKPKey) -> None:
    frame = {"_sd": ["family", "education", "health"], "_sd_decoy": 3,
             "education": {"_sd": [0]}}  # fmt: skip
    issued = _reference({"op": "issue", "jwk": key.as_dict(private=True), "claims": CLAIMS,
                         "frame": frame})["sdjwt"]  # fmt: skip
    found = parse(issued)
    assert reveal(_payload(found.jwt, key), found.disclosures) == CLAIMS
    assert _verify(issued, key)["payload"] == CLAIMS


def _tampered(disclosure: str) -> str:
    items = json.loads(base64.urlsafe_b64decode(disclosure + "=" * (-len(disclosure) % 4)))
    items[-1] = "altered by whoever holds it"
    return b64url(json.dumps(items).encode())


@pytest.mark.parametrize("case", ["unreferenced", "digest-twice", "sha-512", "tampered"])
def test_what_rfc_9901_rejects_ours_refuses_and_the_reference_lets_through(
    key: OKPKey, case: str
) -> None:
    made = conceal(CLAIMS, ["family", "health"], decoys=2)
    payload, given = dict(made.payload), list(made.disclosures.values())
    if case == "unreferenced":
        given.append(disclose("work", "none"))
    elif case == "digest-twice":
        payload["_sd"] = [*payload["_sd"], payload["_sd"][0]]
    elif case == "sha-512":
        payload["_sd_alg"] = "sha-512"
    else:
        given = [made.disclosures["family"], _tampered(made.disclosures["health"])]
    sdjwt = _sign(payload, key) + "~" + "~".join(given) + "~"
    with pytest.raises(Refused):
        reveal(_payload(parse(sdjwt).jwt, key), parse(sdjwt).disclosures)
    assert _verify(sdjwt, key)["ok"] is True  # the reference's gap, measured
