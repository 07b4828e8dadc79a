"""The Digikoppeling transport's pieces: the OIN in a certificate's subject serialNumber,
the test PKI's shape, the settings, and a party's expected certificate OIN."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway import config
from gateway.devtools import pki as testpki
from gateway.domain.parties import new_party
from gateway.domain.wire import certificate
from gateway.errors import BadRequest, ConfigurationError, NotAuthorised, Unauthenticated

OIN = "00000001003214345000"
OTHER = "00000001002220647000"
SECRET = "s" * 32


def _certificate(*serials: str) -> x509.Certificate:
    """A self-signed certificate whose subject holds ``serials`` as serialNumber."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Voorbeeld"),
         *(x509.NameAttribute(NameOID.SERIAL_NUMBER, s) for s in serials)]
    )  # fmt: skip
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now).not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip


def _escaped(cert: x509.Certificate) -> str:
    from cryptography.hazmat.primitives import serialization

    return quote(cert.public_bytes(serialization.Encoding.PEM).decode())


def test_the_oin_is_the_subject_serial_number_as_20_digits() -> None:
    assert certificate.oin_of(_certificate(OIN)) == OIN
    assert certificate.oin_from_escaped_pem(_escaped(_certificate(OIN))) == OIN


@pytest.mark.parametrize(
    "serials",
    [
        (),  # no serialNumber: a certificate of no organisation
        (OIN, OTHER),  # two: which one would it be?
        (OIN[:-1],),  # 19 digits
        (OIN + "0",),  # 21
        ("OIN:" + OIN,),  # no textual prefix exists: the 8-digit prefix is in the 20
        ("NTRNL-" + OIN[8:16],),  # an organizationIdentifier's form, not an OIN
        (OIN[:-1] + "A",),  # 20 characters, not 20 digits
        (" " + OIN[1:],),
        ("12345678",),  # a TSP's own subscriber number
    ],
)
def test_anything_but_one_20_digit_serial_number_is_refused(serials: tuple[str, ...]) -> None:
    with pytest.raises(Unauthenticated, match="serialNumber"):
        certificate.oin_of(_certificate(*serials))


@pytest.mark.parametrize(
    "value", ["", "not a certificate", quote("-----BEGIN CERTIFICATE-----\nAAAA\n"), "%" * 20_000]
)
def test_a_header_that_is_no_pem_certificate_is_refused(value: str) -> None:
    with pytest.raises(Unauthenticated, match="TLS client certificate"):
        certificate.oin_from_escaped_pem(value)


def test_the_test_pki_has_pkioverheids_four_layers_and_the_oin_in_the_serial_number() -> None:
    made = testpki.TestPKI()
    party = made.party(OIN, "COA (demo)", "coa.test")
    chain = [party.certificate, made.tsp.certificate, made.domain.certificate,
             made.root.certificate]  # fmt: skip
    for child, parent in itertools.pairwise(chain):
        assert child.issuer == parent.subject
        child.verify_directly_issued_by(parent)
    names = [c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value for c in chain[1:]]
    assert names == [testpki.TSP_NAME, testpki.DOMAIN_NAME, testpki.ROOT_NAME]
    assert all("TEST" in str(n) and "niet echt" in str(n) for n in names)
    assert certificate.oin_of(party.certificate) == OIN
    usage = party.certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH in usage


def test_transport_settings() -> None:
    assert config.from_env({}).transport == "keys"
    assert not config.from_env({}).digikoppeling
    strict = config.from_env({"GATEWAY_TRANSPORT": "digikoppeling", "GATEWAY_FRONT_SECRET": SECRET,
                              "GATEWAY_TRUSTED_FRONTS": "10.0.0.7, ::1"})  # fmt: skip
    assert strict.digikoppeling and strict.trusted_fronts == {"10.0.0.7", "::1"}
    for env, named in (
        ({"GATEWAY_TRANSPORT": "digikoppeling"}, "GATEWAY_FRONT_SECRET"),  # no secret
        ({"GATEWAY_TRANSPORT": "mtls"}, "GATEWAY_TRANSPORT"),
        ({"GATEWAY_FRONT_SECRET": "short"}, "GATEWAY_FRONT_SECRET"),
        ({"GATEWAY_FRONT_SECRET": '"' * 40}, "GATEWAY_FRONT_SECRET"),  # nginx would choke
        ({"GATEWAY_TRUSTED_FRONTS": "nginx.local"}, "GATEWAY_TRUSTED_FRONTS"),
    ):
        with pytest.raises(ConfigurationError, match=named):
            config.from_env(env)


def test_a_party_expects_its_own_oin_unless_its_registration_names_another() -> None:
    own = new_party(OIN, "coa", "COA")
    own.check_transport(OIN, "sender")
    with pytest.raises(NotAuthorised) as refused:
        own.check_transport(OTHER, "sender")
    assert OIN in refused.value.detail and OTHER in refused.value.detail

    supplied = new_party(OIN, "coa", "COA", cert_oin=OTHER)  # a supplier's certificate
    supplied.check_transport(OTHER, "issuer")
    with pytest.raises(NotAuthorised, match=f"registered certificate OIN is {OTHER}"):
        supplied.check_transport(OIN, "issuer")
    assert new_party(OIN, "coa", "COA", cert_oin=OIN).cert_oin is None  # its own: the default
    with pytest.raises(BadRequest, match="certificate OIN"):
        new_party(OIN, "coa", "COA", cert_oin="123")
