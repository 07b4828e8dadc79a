"""Settings from the environment, with the contract's defaults.

Reading settings imports no database code: the embedded default is spelled
here as a URL, and only storage makes an engine of it.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from gateway.domain.audit import trustpolicy
from gateway.errors import CheckpointError, ConfigurationError

KEYS, DIGIKOPPELING = "keys", "digikoppeling"
_FRONT_SECRET = re.compile(r"[A-Za-z0-9_-]{32,256}")


@dataclass(frozen=True)
class Settings:
    instance: Path
    database_url: str
    max_body_bytes: int = 256 * 1024
    max_batch_bytes: int = 16 * 1024 * 1024
    sqlite_busy_timeout_ms: int = 5000
    db_pool_size: int = 5  # PostgreSQL connections kept per worker process ...
    db_max_overflow: int = 5  # ... and opened beyond them at peaks
    log_origin: str | None = None  # the checkpoint note's origin; default from the key id
    report_contact: str | None = None
    """whom a newcomer asks about their access report (shown in it); a default sentence
    pointing to the municipality's client manager and data protection officer otherwise"""
    checkpoint_interval: timedelta = timedelta(seconds=60)
    checkpoint_grace: timedelta = timedelta(seconds=300)
    replay_window: timedelta = timedelta(days=7)
    future_skew: timedelta = timedelta(seconds=300)
    metrics: bool = False
    """GET /metrics (Prometheus text) on the serving port; keep it from outside parties"""
    rate_per_second: float = 2000.0
    """each party's token bucket: requests a second (0: no limit) ..."""
    rate_burst: float = 4000.0
    """... and at once after a quiet while"""
    rate_limits: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    """per party (OIN) where it differs: (rate, burst)"""
    transport: str = KEYS
    """``keys``: the signed assertion and JWS alone (not Digikoppeling-compliant);
    ``digikoppeling``: also a TLS client certificate, verified by the front (nginx), its
    OIN bound to the sender and the assertion's issuer"""
    trusted_fronts: frozenset[str] = frozenset({"127.0.0.1", "::1"})
    """peer addresses whose certificate headers count (digikoppeling only) ..."""
    front_secret: str | None = None
    """... and the secret that front sends with them (``X-Gateway-Front``)"""
    ldv_path: Path | None = None
    """the Logboek Dataverwerkingen file (JSON lines); None: no LDV records (``from_env``
    makes it ``ldv.jsonl`` in the instance folder unless GATEWAY_LDV=off)"""
    ldv_activity_base: str = "urn:inburgering-gateway:verwerkingsactiviteit:"
    ldv_grace: timedelta = timedelta(seconds=10)
    """how long an entry may wait for its LDV record before writes are refused (503)"""
    """what a processing activity's name (or the policy's relative reference) is appended
    to: the operator's register of processing activities"""
    witness_policy: trustpolicy.Policy | None = None
    """the log's witnesses and their quorum (GATEWAY_WITNESS_POLICY, C2SP tlog-policy)"""

    @property
    def digikoppeling(self) -> bool:
        return self.transport == DIGIKOPPELING

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def embedded_database(self) -> bool:
        """The instance folder's own SQLite file (no GATEWAY_DATABASE_URL): the folder holds
        the data as well as the keys."""
        return self.database_url == _embedded_url(self.instance)


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer") from None
    if not low <= value <= high:
        raise ConfigurationError(f"{name} must be within {low}..{high}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, high: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number") from None
    if not 0 <= value <= high:
        raise ConfigurationError(f"{name} must be within 0..{high:g}")
    return value


def _rate_limits(text: str) -> dict[str, tuple[float, float]]:
    """``OIN=rate:burst,OIN=rate:burst`` (GATEWAY_RATE_LIMITS)."""
    found = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        oin, _, numbers = item.partition("=")
        rate, _, burst = numbers.partition(":")
        try:
            pair = (float(rate), float(burst or rate))
        except ValueError:
            pair = (-1.0, -1.0)
        if not (oin.strip().isdigit() and len(oin.strip()) == 20) or min(pair) < 0:
            raise ConfigurationError(
                "GATEWAY_RATE_LIMITS: OIN=rate:burst, comma-separated (an OIN is 20 digits)"
            )
        found[oin.strip()] = pair
    return found


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Read GATEWAY_* variables; the embedded SQLite default needs none of them."""
    env = os.environ if env is None else env
    instance = Path(env.get("GATEWAY_INSTANCE") or "instance").resolve()
    url = env.get("GATEWAY_DATABASE_URL") or _embedded_url(instance)
    return Settings(
        instance=instance,
        database_url=url,
        max_body_bytes=_int(env, "GATEWAY_MAX_BODY_BYTES", 256 * 1024, 1024, 64 * 1024 * 1024),
        max_batch_bytes=_int(
            env, "GATEWAY_MAX_BATCH_BYTES", 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024
        ),
        sqlite_busy_timeout_ms=_int(env, "GATEWAY_SQLITE_BUSY_TIMEOUT_MS", 5000, 10, 600_000),
        db_pool_size=_int(env, "GATEWAY_DB_POOL_SIZE", 5, 1, 200),
        db_max_overflow=_int(env, "GATEWAY_DB_MAX_OVERFLOW", 5, 0, 200),
        log_origin=env.get("GATEWAY_LOG_ORIGIN") or None,
        report_contact=env.get("GATEWAY_REPORT_CONTACT") or None,
        rate_per_second=_float(env, "GATEWAY_RATE_PER_SECOND", 2000.0, 1e6),
        rate_burst=_float(env, "GATEWAY_RATE_BURST", 4000.0, 1e7),
        rate_limits=_rate_limits(env.get("GATEWAY_RATE_LIMITS", "")),
        checkpoint_interval=timedelta(
            seconds=_int(env, "GATEWAY_CHECKPOINT_INTERVAL_SECONDS", 60, 1, 3600)
        ),
        checkpoint_grace=timedelta(
            seconds=_int(env, "GATEWAY_CHECKPOINT_GRACE_SECONDS", 300, 1, 86400)
        ),
        replay_window=timedelta(
            seconds=_int(env, "GATEWAY_REPLAY_WINDOW_SECONDS", 7 * 86400, 60, 366 * 86400)
        ),
        metrics=_switch(env, "GATEWAY_METRICS"),
        **_ldv(env, instance),
        **_transport(env),
        **_witnesses(env),
    )


def _ldv(env: Mapping[str, str], instance: Path) -> dict[str, Any]:
    """GATEWAY_LDV (on by default), GATEWAY_LDV_PATH, GATEWAY_LDV_ACTIVITY_BASE and
    GATEWAY_LDV_GRACE_SECONDS."""
    raw = (env.get("GATEWAY_LDV") or "on").strip().lower()
    if raw not in ("on", "off"):
        raise ConfigurationError("GATEWAY_LDV must be on or off")
    base = env.get("GATEWAY_LDV_ACTIVITY_BASE") or "urn:inburgering-gateway:verwerkingsactiviteit:"
    if ":" not in base:
        raise ConfigurationError("GATEWAY_LDV_ACTIVITY_BASE must be an absolute URI")
    path = Path(env.get("GATEWAY_LDV_PATH") or instance / "ldv.jsonl")
    grace = timedelta(seconds=_int(env, "GATEWAY_LDV_GRACE_SECONDS", 10, 1, 3600))
    return {"ldv_path": path.resolve() if raw == "on" else None, "ldv_activity_base": base,
            "ldv_grace": grace}  # fmt: skip


def _transport(env: Mapping[str, str]) -> dict[str, Any]:
    """GATEWAY_TRANSPORT, GATEWAY_TRUSTED_FRONTS and GATEWAY_FRONT_SECRET, checked together.

    In Digikoppeling mode the gateway believes a certificate header only from a
    trusted front that also knows the secret: an address alone is not enough where
    other processes share the host (the instances listen on 127.0.0.1).
    """
    transport = (env.get("GATEWAY_TRANSPORT") or KEYS).strip().lower()
    if transport not in (KEYS, DIGIKOPPELING):
        raise ConfigurationError(f"GATEWAY_TRANSPORT must be {KEYS} or {DIGIKOPPELING}")
    fronts = frozenset(
        _address(part) for part in (env.get("GATEWAY_TRUSTED_FRONTS") or "127.0.0.1,::1").split(",")
        if part.strip()
    )  # fmt: skip
    secret = env.get("GATEWAY_FRONT_SECRET") or None
    if secret is not None and not _FRONT_SECRET.fullmatch(secret):
        raise ConfigurationError(
            "GATEWAY_FRONT_SECRET: at least 32 characters of A-Z a-z 0-9 _ - "
            "(`python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )
    if transport == DIGIKOPPELING and secret is None:
        raise ConfigurationError(
            "GATEWAY_TRANSPORT=digikoppeling needs GATEWAY_FRONT_SECRET, the secret the "
            "TLS front (nginx) sends with the certificate it verified"
        )
    return {"transport": transport, "trusted_fronts": fronts, "front_secret": secret}


def _witnesses(env: Mapping[str, str]) -> dict[str, Any]:
    """GATEWAY_WITNESS_POLICY: a C2SP tlog-policy file naming the witnesses (each with its
    submission URL: the gateway asks them) and the quorum ``/v1/audit/witnessed`` serves."""
    path = env.get("GATEWAY_WITNESS_POLICY") or ""
    if not path:
        return {"witness_policy": None}
    try:
        policy = trustpolicy.parse(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigurationError(
            f"GATEWAY_WITNESS_POLICY: cannot read {path}: {error.strerror}"
        ) from None
    except (CheckpointError, UnicodeDecodeError) as error:
        raise ConfigurationError(f"GATEWAY_WITNESS_POLICY: {error}") from None
    missing = [name for name, (_, url) in policy.witnesses.items() if url is None]
    if missing:
        raise ConfigurationError(
            f"GATEWAY_WITNESS_POLICY: the gateway asks its witnesses, so each needs its URL "
            f"(witness <name> <vkey> <url>): {', '.join(missing)}"
        )
    return {"witness_policy": policy}


def _address(text: str) -> str:
    """One IP address of GATEWAY_TRUSTED_FRONTS, in the form REMOTE_ADDR spells it."""
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise ConfigurationError(
            "GATEWAY_TRUSTED_FRONTS: IP addresses, comma-separated (the TLS front's)"
        ) from None


def _embedded_url(instance: Path) -> str:
    return f"sqlite+pysqlite:///{instance / 'gateway.db'}"


def _switch(env: Mapping[str, str], name: str) -> bool:
    raw = (env.get(name) or "off").strip().lower()
    if raw not in ("on", "off"):
        raise ConfigurationError(f"{name} must be on or off")
    return raw == "on"
