"""The Digikoppeling transport end to end: nginx with mutual TLS (the documented
docs/deploy/nginx-digikoppeling.conf), a test PKI in PKIoverheid's shape, two
instances in GATEWAY_TRANSPORT=digikoppeling on PostgreSQL.

A party is its key and its certificate together: the right pair is served;
its key over another party's certificate is ``403 not-authorised``, audited;
no certificate never reaches the gateway; and the certificate headers are the
front's alone, whatever a client sends through it or straight to an instance.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote
from uuid import uuid4

import pytest
import requests
from urllib3.util.ssl_ import create_urllib3_context

from gateway.bootstrap import storage_of
from gateway.devtools import demo
from gateway.devtools.pki import TestPKI
from gateway.domain.wire import jwk
from gateway.errors import NotAuthorised
from tests import postgres
from tests.e2e.test_nginx import _nginx
from tests.helpers import profile_token
from tests.tls_front import Front, digikoppeling_front

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
JOSE = {"Content-Type": "application/jose"}


@pytest.fixture(scope="module")
def front(
    tmp_path_factory: pytest.TempPathFactory, pg_databases: postgres.Databases
) -> Iterator[Front]:
    folder = tmp_path_factory.mktemp("digikoppeling")
    with digikoppeling_front(folder, pg_databases.fresh(), _nginx()) as started:
        yield started


def _entries(front: Front, start: int) -> list[dict[str, Any]]:
    return [e["entry"] for e in storage_of(front.deployment.services).audit.entries(start)]


def _count(front: Front) -> int:
    return storage_of(front.deployment.services).count("audit_entries")


def test_the_right_certificate_and_key_are_served(front: Front) -> None:
    coa = front.client(demo.COA)
    token, _ = profile_token(coa, 61_000)
    assert coa.submit(token).status == 202
    assert coa.submit(token).status == 200  # the same bytes again, over mTLS too
    leiden = front.client(demo.LEIDEN)
    assert {p["oin"] for p in leiden.directory()} >= {demo.COA, demo.LEIDEN}  # a read


def test_the_right_key_over_another_partys_certificate_is_403_and_audited(front: Front) -> None:
    before = _count(front)
    coa_over_leiden = front.client(demo.COA, cert_of=demo.LEIDEN)
    token, _ = profile_token(coa_over_leiden, 61_100)
    with pytest.raises(NotAuthorised) as refused:
        coa_over_leiden.submit(token)
    assert demo.LEIDEN in refused.value.detail and demo.COA in refused.value.detail
    [entry] = _entries(front, before)
    assert (entry["event"], entry["reason"], entry["actor"]) == (
        "message.refused", "not-authorised", demo.COA,
    )  # fmt: skip
    assert storage_of(front.deployment.services).count("messages") == 1  # the first test's only

    # the bearer assertion of a read: its issuer must be the certificate's OIN too
    leiden_over_coa = front.client(demo.LEIDEN, cert_of=demo.COA)
    before = _count(front)
    with pytest.raises(NotAuthorised) as read:
        leiden_over_coa.directory()
    assert demo.LEIDEN in read.value.detail and demo.COA in read.value.detail
    [entry] = _entries(front, before)  # refused before its use case, and entered
    assert (entry["event"], entry["actor"], entry["reason"], entry["outcome"]) == (
        "access.refused", demo.LEIDEN, f"certificate-oin:{demo.COA}", "refused",
    )  # fmt: skip


def test_without_a_valid_certificate_nothing_reaches_the_gateway(front: Front) -> None:
    before = _count(front)
    token, _ = profile_token(front.deployment.cast.client(demo.COA), 61_200)
    stranger = TestPKI()  # the right shape, another root
    other = stranger.party(demo.COA, "COA (demo)", "coa.test")
    (front.folder / "stranger.crt").write_bytes(other.pem)
    (front.folder / "stranger.key").write_bytes(other.key_pem)
    for cert in (None, (str(front.folder / "stranger.crt"), str(front.folder / "stranger.key"))):
        answer = requests.post(front.url + "/v1/messages", data=token, headers=JOSE,
                               verify=front.ca, cert=cert, timeout=10)  # fmt: skip
        assert answer.status_code == 401, answer.text
        assert answer.json()["code"] == "unauthenticated"
        assert "API-Version" not in answer.headers  # nginx's answer: the gateway saw nothing
    assert _count(front) == before


def test_only_forward_secret_suites_in_tls_12(front: Front) -> None:
    """A TLS 1.2 client offering only RSA key exchange (no forward secrecy) is refused in
    the handshake; with ECDHE it is served. (TLS 1.1 and older: this client's OpenSSL
    refuses them itself, so the test cannot show nginx does.)"""
    tls = front.tls(demo.COA)
    for ciphers, served in (("AES256-GCM-SHA384:AES128-GCM-SHA256", False),
                            ("ECDHE-RSA-AES256-GCM-SHA384", True)):  # fmt: skip
        context = create_urllib3_context(ssl_maximum_version=ssl.TLSVersion.TLSv1_2,
                                         ciphers=ciphers)  # fmt: skip
        context.load_verify_locations(front.ca)
        context.load_cert_chain(str(tls.cert), str(tls.key))
        with requests.Session() as session:
            session.mount("https://", _Adapter(context))
            if served:
                assert session.get(front.url + "/v1/health", timeout=10).status_code == 200
            else:
                with pytest.raises(requests.exceptions.SSLError):
                    session.get(front.url + "/v1/health", timeout=10)


class _Adapter(requests.adapters.HTTPAdapter):
    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self.context
        super().init_poolmanager(*args, **kwargs)


def _forged(front: Front, oin: str, secret: str = "guessed" * 6) -> dict[str, str]:
    """The headers nginx sets, as a client would forge them: ``oin``'s certificate,
    verified, and a guess at the secret."""
    return {
        "X-Client-Cert": quote(front.issued[oin].pem.decode()),
        "X-Client-Verify": "SUCCESS",
        "X-Gateway-Front": secret,
        **JOSE,
    }


def test_a_certificate_header_a_client_sends_through_the_front_is_ignored(front: Front) -> None:
    """Connected with Leiden's certificate, claiming COA's in the header: the gateway
    sees Leiden's (nginx replaced the header), so COA's message is refused."""
    coa = front.deployment.cast.client(demo.COA)
    token, _ = profile_token(coa, 61_300)
    tls = front.tls(demo.LEIDEN)
    answer = requests.post(front.url + "/v1/messages", data=token,
                           headers=_forged(front, demo.COA, front.secret),
                           verify=front.ca, cert=(str(tls.cert), str(tls.key)),
                           timeout=10)  # fmt: skip
    assert answer.status_code == 403, answer.text
    problem = answer.json()
    assert problem["code"] == "not-authorised"
    assert f"OIN {demo.LEIDEN}" in problem["detail"]  # nginx's certificate, not the forged one


def test_straight_to_an_instance_the_certificate_headers_count_for_nothing(front: Front) -> None:
    """Past nginx (the instance's own port), forged headers are refused whatever they
    claim: the secret is not the front's; audited like any refusal."""
    before = _count(front)
    coa = front.deployment.cast.client(demo.COA)
    token, _ = profile_token(coa, 61_400)
    instance = front.deployment.servers[0].url
    for headers in (_forged(front, demo.COA), {**JOSE}):
        answer = requests.post(instance + "/v1/messages", data=token, headers=headers,
                               timeout=10)  # fmt: skip
        assert answer.status_code == 401, answer.text
        assert answer.json()["code"] == "unauthenticated"
        assert "TLS front" in answer.json()["detail"]
    directory = requests.get(instance + "/v1/parties", headers=_forged(front, demo.COA),
                             timeout=10)  # fmt: skip
    assert directory.status_code == 401
    assert [e["reason"] for e in _entries(front, before)] == ["unauthenticated"] * 2


def test_a_connector_takes_its_certificate_from_cert_and_cert_key(front: Front) -> None:
    """``gateway connect … --cert --cert-key --ca`` through the front: Leiden pulls."""
    key = front.folder / "leiden.jwk"
    key.write_text(json.dumps(jwk.private_jwk(front.deployment.cast.keys[demo.LEIDEN])))
    key.chmod(0o600)
    tls = front.tls(demo.LEIDEN)
    pulled = subprocess.run(
        [sys.executable, "-m", "gateway", "connect", "municipality", "pull",
         "--out", str(front.folder / "inbox"), "--url", front.url, "--oin", demo.LEIDEN,
         "--key", str(key), "--cert", str(tls.cert), "--cert-key", str(tls.key),
         "--ca", str(tls.ca), "--retries", "0"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr


def test_duo_is_known_by_its_certificate_alone(front: Front) -> None:
    """DUO signs nothing of ours: over Digikoppeling its certificate is the proof, the party
    ``bron`` names must be the one registered for it, another's certificate is 403."""
    coa = front.client(demo.COA)
    token, person = profile_token(coa, 61_300)
    assert coa.submit(token).status == 202
    body = {"registratieDatumTijd": "2026-12-01T09:00:00Z", "gebeurtenisId": "SS139",
            "vNummer": int(person.v_number)}  # fmt: skip

    def post(cert_of: str, bron: str = demo.DUO) -> requests.Response:
        headers = {"bron": bron, "doel": demo.LEIDEN, "berichtId": str(uuid4())}
        return front.tls(cert_of).session().post(  # no Authorization header: DUO sends none
            front.url + "/v1/duo/notificaties", json=body, headers=headers, timeout=10)

    taken = post(demo.DUO)
    assert taken.status_code == 201, taken.text
    assert taken.headers["API-Version"] == "1.8.0"
    before = _count(front)
    refused = post(demo.COA)
    assert refused.status_code == 403 and demo.COA in refused.json()["fouttekst"]
    [entry] = _entries(front, before)
    assert (entry["event"], entry["actor"], entry["reason"]) == (
        "access.refused", demo.DUO, f"certificate-oin:{demo.COA}",
    )  # fmt: skip
    stranger = post(demo.DUO, bron="00000009999999999999")  # no party of that OIN
    assert stranger.status_code == 401 and "fouttekst" in stranger.json()
