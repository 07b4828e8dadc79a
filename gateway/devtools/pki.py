"""A test PKI in the shape of PKIoverheid's private hierarchy, for the demo and the tests.

PKIoverheid has four layers, "stamcertificaat, domein, TSP en certificaathouder"
(Digikoppeling Gebruik en achtergrond certificaten, Gebruiksaspecten, note 26),
and machine-to-machine traffic uses the "Staat der Nederlanden Private Root CA -
G1" (ibid., Achtergrond PKIoverheid certificaten, Stamcertificaat) with its
domain CA "Private Services CA - G1". This makes the same four layers, each
name saying TEST and "niet echt" (testing with certificates under the real root
is not allowed: ibid., Gebruiksaspecten), and party certificates as a TSP issues
them for Digikoppeling: C, O, CN and the OIN in the subject serialNumber
(Digikoppeling Beveiligingsstandaarden en voorschriften, PKI001). A CRL per CA
lets the front check revocation as PKI003 asks.

Made with ``cryptography`` alone (no openssl in a shell). Run
``python -m gateway.devtools.pki DIR`` for the demo parties' files.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT_NAME = "TEST Staat der Nederlanden Private Root CA - G1 (niet echt)"
DOMAIN_NAME = "TEST Staat der Nederlanden Private Services CA - G1 (niet echt)"
TSP_NAME = "TEST TSP PKIoverheid Private Services CA - G1 (niet echt)"
_STATE = "TEST Staat der Nederlanden (niet echt)"
_TSP = "TEST Voorbeeld-TSP B.V. (niet echt)"
GATEWAY_OIN = "00000099000000000001"
"""a test OIN (prefix 00000099: Digikoppeling Identificatie en Authenticatie, Bijlage 1)"""


@dataclass(frozen=True)
class Issued:
    """A certificate with its private key."""

    certificate: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def _name(common: str, organisation: str, oin: str | None = None) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "NL"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        x509.NameAttribute(NameOID.COMMON_NAME, common),
    ]
    if oin is not None:
        attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, oin))
    return x509.Name(attributes)


def _key(bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _builder(subject: x509.Name, issuer: Issued | None, key: rsa.RSAPrivateKey,
             days: int) -> x509.CertificateBuilder:  # fmt: skip
    now = datetime.now(UTC)
    public = key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer else subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())  # >= 8 random bytes, as PKIoverheid asks
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    return builder


def _ca(common: str, organisation: str, issuer: Issued | None, path_length: int | None,
        bits: int) -> Issued:  # fmt: skip
    key = _key(bits)
    builder = (
        _builder(_name(common, organisation), issuer, key, 3650)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(_usage(ca=True), critical=True)
    )
    signer = issuer.key if issuer else key
    return Issued(builder.sign(signer, hashes.SHA256()), key)


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca, content_commitment=False, key_encipherment=not ca,
        data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
        encipher_only=False, decipher_only=False,
    )  # fmt: skip


@dataclass
class TestPKI:
    """Root, domain CA and TSP CA; ``party`` and ``server`` issue under the TSP CA."""

    __test__ = False  # not a pytest class, for all its name

    bits: int = 2048
    root: Issued = field(init=False)
    domain: Issued = field(init=False)
    tsp: Issued = field(init=False)
    revoked: list[x509.Certificate] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root = _ca(ROOT_NAME, _STATE, None, None, self.bits)
        self.domain = _ca(DOMAIN_NAME, _STATE, self.root, 1, self.bits)
        self.tsp = _ca(TSP_NAME, _TSP, self.domain, 0, self.bits)

    def party(self, oin: str, organisation: str, host: str, *, days: int = 365) -> Issued:
        """A services certificate for ``organisation``: its OIN in the subject serialNumber,
        the host (or service) as CN and dNSName, for TLS client and server authentication."""
        key = _key(self.bits)
        builder = (
            _builder(_name(host, organisation, oin), self.tsp, key, days)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(ca=False), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]
                ),
                critical=False,
            )
            .add_extension(x509.SubjectAlternativeName(_alt_names(host)), critical=False)
        )
        return Issued(builder.sign(self.tsp.key, hashes.SHA256()), key)

    def server(self, organisation: str = "TEST Gateway-beheerder (niet echt)") -> Issued:
        """The gateway front's server certificate, for localhost and 127.0.0.1."""
        return self.party(GATEWAY_OIN, organisation, "localhost")

    def revoke(self, issued: Issued) -> None:
        """Put a certificate the TSP CA issued on its next CRL."""
        self.revoked.append(issued.certificate)

    @property
    def chain_pem(self) -> bytes:
        """TSP CA, domain CA and root: the bundle a front verifies client certificates with."""
        return b"".join(ca.pem for ca in (self.tsp, self.domain, self.root))

    def crls_pem(self) -> bytes:
        """One CRL per CA (the TSP's with the revoked certificates), for nginx's ssl_crl."""
        return b"".join(
            _crl(ca, self.revoked if ca is self.tsp else []).public_bytes(
                serialization.Encoding.PEM
            )
            for ca in (self.tsp, self.domain, self.root)
        )

    def write(self, folder: Path, parties: dict[str, Issued]) -> None:
        """``ca.pem`` (the bundle), ``crl.pem``, ``server.crt``/``.key`` and each party's
        ``<name>.crt``/``<name>.key`` (keys mode 0600)."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "ca.pem").write_bytes(self.chain_pem)
        (folder / "root.pem").write_bytes(self.root.pem)
        (folder / "crl.pem").write_bytes(self.crls_pem())
        for name, issued in {"server": self.server(), **parties}.items():
            chain = issued.pem + self.tsp.pem + self.domain.pem if name == "server" else issued.pem
            (folder / f"{name}.crt").write_bytes(chain)
            key = folder / f"{name}.key"
            key.touch(mode=0o600)
            key.write_bytes(issued.key_pem)


def _alt_names(host: str) -> list[x509.GeneralName]:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        names: list[x509.GeneralName] = [x509.DNSName(host)]
        if host == "localhost":
            names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
        return names
    return [x509.IPAddress(address)]


def _crl(ca: Issued, revoked: Iterable[x509.Certificate]) -> x509.CertificateRevocationList:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.certificate.subject)
        .last_update(now - timedelta(minutes=5))
        .next_update(now + timedelta(days=7))
    )
    for certificate in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder()
            .serial_number(certificate.serial_number)
            .revocation_date(now - timedelta(minutes=1))
            .build()
        )
    return builder.sign(ca.key, hashes.SHA256())


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def main(folder: Path) -> None:
    """Write a test PKI and a certificate for each demo party into FOLDER."""
    from gateway.devtools.cast import PARTIES

    pki = TestPKI()
    parties = {
        name.split(" (")[0].lower().replace(" ", "-"): pki.party(oin, name, f"{role}.test")
        for oin, role, name, _ in PARTIES
    }
    pki.write(folder, parties)
    click.echo(f"test PKI in {folder}: ca.pem, crl.pem, server.crt/.key, "
               + ", ".join(f"{n}.crt/.key" for n in parties))  # fmt: skip


if __name__ == "__main__":
    main()
