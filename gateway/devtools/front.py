"""docs/deploy/nginx-digikoppeling.conf, run for real: nginx with mutual TLS in front of
gateway instances, with a test PKI in PKIoverheid's shape (``devtools.pki``).

The demo (``gateway demo --digikoppeling``) and the end-to-end tests run the
documented file itself: only its ports change, and the files it names are put
beside it (the front's certificate, the CA bundle, the CRLs, the front's secret).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from connectors.common.tls import Tls
from gateway.devtools.pki import Issued, TestPKI
from gateway.devtools.serverproc import ServerProcess, free_port
from gateway.errors import ConfigurationError

CONFIG = Path(__file__).resolve().parents[2] / "docs" / "deploy" / "nginx-digikoppeling.conf"
"""the documented file (in the source tree: the demo runs from a checkout)"""


def nginx_binary() -> str | None:
    """nginx on PATH, or Debian's /usr/sbin/nginx; None when not installed."""
    found = shutil.which("nginx")
    if found is None and os.path.exists("/usr/sbin/nginx"):
        found = "/usr/sbin/nginx"
    return found


@dataclass
class FrontFiles:
    """The front's folder and what each party connects with."""

    folder: Path
    secret: str
    names: dict[str, str]
    """a file name per party OIN: ``<name>.crt`` and ``<name>.key`` in ``folder``"""
    issued: dict[str, Issued] = field(default_factory=dict)

    @property
    def ca(self) -> str:
        """The bundle that checks the front's server certificate."""
        return str(self.folder / "client-ca.pem")

    def tls(self, cert_of: str | None) -> Tls:
        """TLS with the certificate of the party ``cert_of`` (None: no certificate)."""
        if cert_of is None:
            return Tls(ca=self.ca)
        name = self.names[cert_of]
        return Tls(str(self.folder / f"{name}.crt"), str(self.folder / f"{name}.key"), self.ca)


def write_files(
    prefix: Path, pki: TestPKI, secret: str, parties: dict[str, tuple[str, str]]
) -> FrontFiles:
    """What the config names, beside it, and each party's certificate and key.

    ``parties``: per OIN, its file name and its organisation's name (the subject's O).
    """
    issued = {oin: pki.party(oin, org, f"{name}.test") for oin, (name, org) in parties.items()}
    pki.write(prefix, {parties[oin][0]: cert for oin, cert in issued.items()})
    (prefix / "client-ca.pem").write_bytes(pki.chain_pem)
    (prefix / "front-secret.conf").write_text(f'proxy_set_header X-Gateway-Front "{secret}";\n')
    names = {oin: name for oin, (name, _) in parties.items()}
    return FrontFiles(prefix, secret, names, issued)


def write_config(prefix: Path, text: str, ports: list[int], listen: int) -> None:
    """The documented file with these ports, as nginx.conf under ``prefix``. One instance
    stands in both upstream lines when ``ports`` has one."""
    upstreams = [ports[0], ports[-1]]
    for documented, actual in (("8081", upstreams[0]), ("8082", upstreams[1]), ("8443", listen)):
        if f"127.0.0.1:{documented}" not in text:
            raise ValueError(f"the nginx config names no 127.0.0.1:{documented}")
        text = text.replace(f"127.0.0.1:{documented}", f"127.0.0.1:{actual}")
    # The folder is private to its user; in a deployment the prefix is nginx's own.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(text + "\ndaemon off;\n" + user)


def start_nginx(binary: str, prefix: Path) -> subprocess.Popen[bytes]:
    """nginx on ``prefix/nginx.conf``, its output in ``prefix/stderr.log``."""
    with open(prefix / "stderr.log", "wb") as log:
        return subprocess.Popen(
            [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
            stdout=log,
            stderr=log,
        )


def wait_for_front(url: str, tls: Tls, log: Path) -> None:
    """Returns once ``url``'s health answers 200 over mutual TLS (5 s at most)."""
    for _ in range(100):
        try:
            answer = requests.get(url + "/v1/health", timeout=2, verify=tls.ca,
                                  cert=(tls.cert or "", tls.key or ""))  # fmt: skip
            if answer.status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.05)
    raise RuntimeError(f"nginx did not come up: {log.read_text()}")


@contextmanager
def fronted_server(folder: Path, instance: Path, parties: dict[str, tuple[str, str]],
                   ) -> Iterator[tuple[str, FrontFiles]]:  # fmt: skip
    """One gateway instance in Digikoppeling mode behind nginx with mutual TLS: the front's
    https URL and the files each party connects with (``gateway demo --digikoppeling``).

    Raises ConfigurationError when nginx or the documented config is not here.
    """
    binary = nginx_binary()
    if binary is None or not CONFIG.exists():
        raise ConfigurationError(
            "--digikoppeling needs nginx (apt-get install nginx) and a source checkout "
            f"(it runs {CONFIG.relative_to(CONFIG.parents[2])})"
        )
    prefix = folder / "nginx"
    prefix.mkdir()
    files = write_files(prefix, TestPKI(), secrets.token_urlsafe(32), parties)
    port, listen = free_port(), free_port()
    write_config(prefix, CONFIG.read_text(), [port], listen)
    mode = {"GATEWAY_TRANSPORT": "digikoppeling", "GATEWAY_FRONT_SECRET": files.secret}
    with ServerProcess(instance, port=port, env=mode):
        proc = start_nginx(binary, prefix)
        try:
            url = f"https://127.0.0.1:{listen}"
            wait_for_front(url, files.tls(next(iter(parties))), prefix / "stderr.log")
            yield url, files
        finally:
            proc.terminate()
            proc.wait(timeout=10)
