"""The OIN of a TLS client certificate, as Digikoppeling puts it there.

Digikoppeling identifies organisations by their OIN, which the TSP puts in
the certificate's ``subject.serialNumber`` (OID 2.5.4.5): "Gebruik OIN in
subject:serialNumber veld is verplicht" (Digikoppeling Beveiligingsstandaarden
en voorschriften, PKIoverheid certificaten, PKI001). The value there is the
whole OIN, 20 digits, its 8-digit prefix and suffix and leading zeros
included (Digikoppeling Identificatie en Authenticatie, Bijlage 1: "De waarde
van het OIN ... in het veld subject.serialNumber is inclusief de prefix en
suffix"); no other spelling exists, so nothing else is read as an OIN.

The chain, validity and revocation are the TLS front's to check (nginx with
the configured CA bundle and CRLs): this reads only the certificate the front
has verified. Must not import Flask or SQL.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from cryptography import x509
from cryptography.x509.oid import NameOID

from gateway.errors import Unauthenticated

_OIN = re.compile(r"[0-9]{20}")
_PEM_BEGIN = "-----BEGIN CERTIFICATE-----"
MAX_HEADER_CHARS = 16 * 1024
"""a URL-escaped PEM certificate is 2-5 KiB; anything much larger is no certificate"""


def from_escaped_pem(value: str) -> x509.Certificate:
    """The certificate nginx passes as ``$ssl_client_escaped_cert`` (URL-escaped PEM).

    Raises Unauthenticated when it is not one PEM certificate.
    """
    if len(value) > MAX_HEADER_CHARS:
        raise Unauthenticated("the TLS client certificate passed by the front is too large")
    pem = unquote(value).strip()
    if not pem.startswith(_PEM_BEGIN):
        raise Unauthenticated("the TLS client certificate passed by the front is not PEM")
    try:
        return x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise Unauthenticated(
            "the TLS client certificate passed by the front does not parse"
        ) from None


def oin_of(certificate: x509.Certificate) -> str:
    """The OIN in the certificate's subject serialNumber (20 digits, PKI001).

    Raises Unauthenticated when the subject has no serialNumber, more than
    one, or one that is not an OIN (a TSP's own serial, a person's
    certificate): such a certificate identifies no organisation here.
    """
    try:
        found = certificate.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    except ValueError:
        found = []
    values = [a.value for a in found]
    if len(values) != 1:
        raise Unauthenticated(
            "the TLS client certificate's subject must hold one serialNumber, the OIN "
            f"(it holds {len(values)})"
        )
    value = values[0]
    if not isinstance(value, str) or not _OIN.fullmatch(value):
        raise Unauthenticated(
            "the TLS client certificate's subject serialNumber is not an OIN "
            "(20 digits, its prefix included, as Digikoppeling puts it there)"
        )
    return value


def oin_from_escaped_pem(value: str) -> str:
    """The OIN of the URL-escaped PEM certificate a TLS front passes on.

    Raises Unauthenticated (``from_escaped_pem``, ``oin_of``).
    """
    return oin_of(from_escaped_pem(value))
