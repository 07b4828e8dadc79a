"""A party's TLS client certificate, for a gateway behind a Digikoppeling front.

Digikoppeling asks for two-way TLS with a PKIoverheid certificate carrying the
party's OIN; the gateway then binds that OIN to the key that signs. The
certificate and its key are files (PEM), as the TSP delivers them; ``ca`` is
the bundle the gateway front's server certificate is checked against (the
PKIoverheid private root, which no system trust store holds). Imports no Flask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests


@dataclass(frozen=True)
class Tls:
    """Files only: nothing is read until a connection is made."""

    cert: str | None = None
    """the party's certificate (PEM), its chain appended where the TSP gave one"""
    key: str | None = None
    """its private key (PEM, unencrypted; mode 0600); None when in ``cert``"""
    ca: str | None = None
    """the CA bundle to check the gateway front's certificate with; None: the system's"""

    def session(self) -> requests.Session:
        """A session that presents the certificate and checks the server with ``ca``."""
        session = _Session()
        self.apply(session)
        return session

    def apply(self, session: requests.Session) -> None:
        """Make ``session`` present the certificate and check the server with ``ca``
        (on a plain requests.Session, REQUESTS_CA_BUNDLE would still win over ``ca``)."""
        if self.cert is not None:
            session.cert = (self.cert, self.key) if self.key else self.cert
        if self.ca is not None:
            session.verify = self.ca


class _Session(requests.Session):
    """requests lets REQUESTS_CA_BUNDLE (or CURL_CA_BUNDLE) override a session's own
    ``verify``; here the bundle given (``--ca``) wins, as its option says."""

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if verify is None and isinstance(self.verify, str):
            merged["verify"] = self.verify
        return merged
