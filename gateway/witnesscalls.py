"""The witnesses over HTTP: ``add-checkpoint`` as C2SP tlog-witness defines it.

An adapter beside storage and the logbook (the services reach it through
``ports.WitnessCalls``): a ``requests`` session kept per process for
keep-alive, as the protocol asks, and a short timeout, so a witness that is
down delays cosigning by seconds and never holds a thread for long.
"""

from __future__ import annotations

import threading

import requests

from gateway.errors import ServiceUnavailable

TIMEOUT = (3.0, 10.0)
"""seconds to connect, and to wait for the answer"""
MAX_ANSWER = 64 * 1024
"""a few cosignature lines; an answer beyond it is not a witness's"""


class HttpWitnesses:
    def __init__(self, verify: bool | str = True) -> None:
        self.verify = verify
        """the CA bundle a witness's TLS certificate is checked with (True: the system's)"""
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def add_checkpoint(self, url: str, body: bytes) -> tuple[int, str, str]:
        try:
            answer = self._session().post(
                url + "add-checkpoint", data=body, timeout=TIMEOUT, verify=self.verify,
                headers={"Content-Type": "text/plain; charset=utf-8"}, stream=True,
                allow_redirects=False,
            )  # fmt: skip
            with answer:
                raw = answer.raw.read(MAX_ANSWER + 1, decode_content=True)
        except (requests.RequestException, OSError) as error:
            raise ServiceUnavailable(f"witness unreachable: {type(error).__name__}") from None
        if len(raw) > MAX_ANSWER:
            raise ServiceUnavailable("witness answered more than a few signature lines")
        kind = answer.headers.get("Content-Type", "")
        return answer.status_code, kind, raw.decode("utf-8", errors="replace")
