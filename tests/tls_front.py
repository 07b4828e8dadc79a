"""docs/deploy/nginx-digikoppeling.conf, run for real: nginx with mutual TLS in front of
gateway instances in Digikoppeling mode, with a test PKI in PKIoverheid's shape.

Only the ports change and the files it names are put beside it; everything
else is the documented file. The instances are tests.deployment's, started
with GATEWAY_TRANSPORT=digikoppeling and the front's secret in their
environment.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from connectors.common.client import GatewayClient
from connectors.common.tls import Tls
from gateway.devtools import demo
from gateway.devtools.front import (
    CONFIG,
    FrontFiles,
    start_nginx,
    wait_for_front,
    write_config,
    write_files,
)
from gateway.devtools.pki import Issued, TestPKI
from gateway.devtools.serverproc import free_port
from tests.deployment import Deployment, deployed

NAMES = {demo.COA: "coa", demo.LEIDEN: "leiden", demo.PROVIDER: "provider", demo.DUO: "duo"}
"""the parties that get a certificate: their file names"""


@dataclass
class Front:
    """nginx at ``url`` (https), the deployment behind it, and the certificates' files."""

    url: str
    deployment: Deployment
    pki: TestPKI
    files: FrontFiles

    @property
    def folder(self) -> Path:
        return self.files.folder

    @property
    def secret(self) -> str:
        return self.files.secret

    @property
    def issued(self) -> dict[str, Issued]:
        return self.files.issued

    @property
    def ca(self) -> str:
        return self.files.ca

    def tls(self, cert_of: str | None) -> Tls:
        """TLS with the certificate of the party ``cert_of`` (None: no certificate)."""
        return self.files.tls(cert_of)

    def client(self, oin: str, cert_of: str | None = None) -> GatewayClient:
        """Party ``oin``'s key, over the connection of ``cert_of``'s certificate (its own
        unless said otherwise)."""
        key = self.deployment.cast.keys[oin]
        tls = self.tls(oin if cert_of is None else cert_of)
        return GatewayClient(self.url, oin, key, retries=0, tls=tls)


@contextmanager
def digikoppeling_front(
    folder: Path, database_url: str, nginx: str, *, config: str | None = None
) -> Iterator[Front]:
    """Two instances in Digikoppeling mode behind nginx with mutual TLS; ``config``: the
    text to run instead of the documented file (a test that removes one line of it)."""
    prefix = folder / "nginx"
    prefix.mkdir()
    pki, secret = TestPKI(), secrets.token_urlsafe(32)
    parties = {oin: (NAMES[oin], name) for oin, _, name, _ in demo.PARTIES if oin in NAMES}
    files = write_files(prefix, pki, secret, parties)
    ports, listen = [free_port(), free_port()], free_port()
    write_config(prefix, config if config is not None else CONFIG.read_text(), ports, listen)
    mode = {"GATEWAY_TRANSPORT": "digikoppeling", "GATEWAY_FRONT_SECRET": secret}
    with (
        mock.patch.dict(os.environ, mode),
        deployed(folder, database_url, instances=2, ports=ports) as deployment,
    ):
        proc = start_nginx(nginx, prefix)
        front = Front(f"https://127.0.0.1:{listen}", deployment, pki, files)
        try:
            wait_for_front(front.url, front.tls(demo.COA), prefix / "stderr.log")
            yield front
        finally:
            proc.terminate()
            proc.wait(timeout=10)
