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
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import requests

from connectors.common.client import GatewayClient
from connectors.common.tls import Tls
from gateway.devtools import demo
from gateway.devtools.pki import Issued, TestPKI
from gateway.devtools.serverproc import free_port
from tests.deployment import Deployment, deployed

CONFIG = Path(__file__).resolve().parents[1] / "docs" / "deploy" / "nginx-digikoppeling.conf"
NAMES = {demo.COA: "coa", demo.LEIDEN: "leiden", demo.PROVIDER: "provider"}
"""the parties that get a certificate: their file names"""


@dataclass
class Front:
    """nginx at ``url`` (https), the deployment behind it, and the certificates' files."""

    url: str
    deployment: Deployment
    pki: TestPKI
    folder: Path
    secret: str
    issued: dict[str, Issued] = field(default_factory=dict)

    @property
    def ca(self) -> str:
        """The bundle that checks the front's server certificate."""
        return str(self.folder / "client-ca.pem")

    def tls(self, cert_of: str | None) -> Tls:
        """TLS with the certificate of the party ``cert_of`` (None: no certificate)."""
        if cert_of is None:
            return Tls(ca=self.ca)
        name = NAMES[cert_of]
        return Tls(str(self.folder / f"{name}.crt"), str(self.folder / f"{name}.key"), self.ca)

    def client(self, oin: str, cert_of: str | None = None) -> GatewayClient:
        """Party ``oin``'s key, over the connection of ``cert_of``'s certificate (its own
        unless said otherwise)."""
        key = self.deployment.cast.keys[oin]
        tls = self.tls(oin if cert_of is None else cert_of)
        return GatewayClient(self.url, oin, key, retries=0, tls=tls)


def write_config(prefix: Path, text: str, ports: list[int], listen: int) -> None:
    """The documented file with the test's ports, as nginx.conf under ``prefix``."""
    for documented, actual in (("8081", ports[0]), ("8082", ports[1]), ("8443", listen)):
        assert f"127.0.0.1:{documented}" in text
        text = text.replace(f"127.0.0.1:{documented}", f"127.0.0.1:{actual}")
    # The test's folder is private to its user; in a deployment the prefix is nginx's.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(text + "\ndaemon off;\n" + user)


def write_files(prefix: Path, pki: TestPKI, secret: str) -> dict[str, Issued]:
    """What the config names, beside it: the front's certificate, the CA bundle, the CRLs,
    the secret; and each party's certificate and key for the clients."""
    issued = {oin: pki.party(oin, name, f"{NAMES[oin]}.test")
              for oin, _, name, _ in demo.PARTIES if oin in NAMES}  # fmt: skip
    pki.write(prefix, {NAMES[oin]: cert for oin, cert in issued.items()})
    (prefix / "client-ca.pem").write_bytes(pki.chain_pem)
    (prefix / "front-secret.conf").write_text(f'proxy_set_header X-Gateway-Front "{secret}";\n')
    return issued


@contextmanager
def digikoppeling_front(
    folder: Path, database_url: str, nginx: str, *, config: str | None = None
) -> Iterator[Front]:
    """Two instances in Digikoppeling mode behind nginx with mutual TLS; ``config``: the
    text to run instead of the documented file (a test that removes one line of it)."""
    prefix = folder / "nginx"
    prefix.mkdir()
    pki, secret = TestPKI(), secrets.token_urlsafe(32)
    issued = write_files(prefix, pki, secret)
    ports, listen = [free_port(), free_port()], free_port()
    write_config(prefix, config if config is not None else CONFIG.read_text(), ports, listen)
    mode = {"GATEWAY_TRANSPORT": "digikoppeling", "GATEWAY_FRONT_SECRET": secret}
    with (
        mock.patch.dict(os.environ, mode),
        deployed(folder, database_url, instances=2, ports=ports) as deployment,
    ):
        with open(prefix / "stderr.log", "wb") as log:
            proc = subprocess.Popen(
                [nginx, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                stdout=log,
                stderr=log,
            )
        front = Front(f"https://127.0.0.1:{listen}", deployment, pki, prefix, secret, issued)
        try:
            _wait(front, prefix / "stderr.log")
            yield front
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def _wait(front: Front, log: Path) -> None:
    tls = front.tls(demo.COA)
    for _ in range(100):
        try:
            answer = requests.get(front.url + "/v1/health", timeout=2, verify=tls.ca,
                                  cert=(tls.cert or "", tls.key or ""))  # fmt: skip
            if answer.status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.05)
    raise RuntimeError(f"nginx did not come up: {log.read_text()}")
