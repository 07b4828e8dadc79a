"""``Services``: everything a use case needs, built once per process by bootstrap.

The use cases are functions of this module's package that take a
``Services`` first; storage arrives through its ports, so a unit test can
hand in fakes. Nothing here imports Flask or SQLAlchemy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.config import Settings
from gateway.domain.audit import events
from gateway.domain.keyring import SigningKeys
from gateway.domain.report import Renderer
from gateway.domain.schemas import Catalog
from gateway.domain.wire.envelope import Signer
from gateway.domain.wire.jwk import public_jwk
from gateway.errors import LogHeld
from gateway.service.checkpointer import Checkpointer, CheckpointSigner
from gateway.service.groupcommit import GroupCommit
from gateway.service.ldvexport import LogbookExport
from gateway.service.limiter import Limiter
from gateway.service.ports import Store


@dataclass(frozen=True)
class Services:
    settings: Settings
    catalog: Catalog
    store: Store
    signer: Signer  # the gateway's own key: receipts, checkpoints, tokens
    pseudonym_key: bytes
    checkpoints: CheckpointSigner
    report: Renderer
    """the newcomer's access report, its template and catalogues read by the root"""
    checkpointer: Checkpointer | None = None  # the serving processes' signer and guard
    group: GroupCommit[Any, Any] = field(default_factory=GroupCommit)
    """single messages of concurrent requests, sharing a write transaction"""
    limiter: Limiter = field(default_factory=Limiter)
    """this process's leased rate-limit tokens (``limiter.Limiter``)"""
    keyring: SigningKeys | None = None
    """all the gateway's signing keys (active, overlapping, retired); None: ``signer``'s alone"""
    logbook: LogbookExport | None = None
    """the Logboek Dataverwerkingen's exporter and guard; None with GATEWAY_LDV=off"""

    def sign(self, payload: dict[str, Any], typ: str) -> str:
        return self.signer.sign(payload, typ)

    def published_keys(self) -> list[dict[str, Any]]:
        """The public JWKs that verify what the gateway signed: the active key first, then a
        rotation's overlapping key, then every retired one (they verify what they signed
        before, for good). The JWK Set the gateway serves."""
        if self.keyring is None:
            return [public_jwk(self.signer.key)]
        return self.keyring.published()

    def retired_keys(self) -> list[dict[str, Any]]:
        """The retired keys' public JWKs: they sign nothing any more."""
        return [] if self.keyring is None else self.keyring.retired()

    def pseudonym(self, v_number: str) -> str:
        """The only form of a newcomer in the log and in storage's keys."""
        return events.pseudonym(self.pseudonym_key, v_number)


def check_health(services: Services) -> None:
    """Raises ServiceUnavailable when the database does not answer or the Logboek
    Dataverwerkingen lags past its grace (writes are refused then), LogHeld while a witness
    shows the log rolled back (``check_held``)."""
    services.store.ping()
    if services.logbook is not None and services.logbook.running:
        services.logbook.guard()
    check_held(services)


def check_held(services: Services) -> None:
    """Raises LogHeld while a witness holds more of the log than this database has, or finds
    it forked (``Cosigning.held``): nothing may be appended until an operator resolves it."""
    why = services.checkpointer.held() if services.checkpointer is not None else None
    if why is not None:
        raise LogHeld(why)
