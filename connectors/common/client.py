"""The client core every connector shares: sign, submit, verify the receipt.

Uses ``requests`` and the gateway's envelope code, never Flask. A problem
response is raised as the very GatewayError class the gateway raised, so a
connector handles ``Conflict`` or ``NotAuthorised`` by type, not by parsing.
Connection errors and 429/502/503/504 are retried with backoff (honouring
Retry-After); submission is idempotent, so a retried POST never duplicates.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from connectors.common.tls import Tls
from gateway.client import sdjwt, wire
from gateway.errors import BY_CODE, Conflict, GatewayError, InvalidSignature, SchemaViolation

RETRY_STATUSES = frozenset({429, 502, 503, 504})
JWKS_PATH = "/.well-known/jwks.json"
NOT_A_URL = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
)
"""What requests raises for a URL it cannot send to at all"""
TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
"""Connection refused or reset, no answer in time, an answer cut off: every request we
send is safe to repeat (submission and ack are idempotent, reads change nothing)."""


def cause_of(error: Exception, timeout: float) -> str:
    """What went wrong on the wire, in the words an operator checks first."""
    text = str(error)
    if isinstance(error, requests.exceptions.SSLError):
        return "TLS failed (does the gateway speak http:// there, or is its certificate untrusted?)"
    if isinstance(error, requests.Timeout):
        return f"no answer within {timeout:g} s"
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        return "the answer was cut off"
    if any(s in text for s in ("Name or service not known", "Temporary failure in name resolution",
                               "nodename nor servname", "No address associated")):  # fmt: skip
        return "host name not resolved"
    if "Connection refused" in text:
        return "connection refused (is the gateway running, on that port?)"
    if "Connection reset" in text or "RemoteDisconnected" in text:
        return "connection closed by the other side (is that the gateway, and is it http?)"
    return "connection failed"


class TransportError(GatewayError):
    """The gateway could not be reached, or answered outside the contract."""

    code = "transport"
    title = "Gateway unreachable or answered outside the contract"


class Unreachable(TransportError):
    """No answer at all: refused, not resolved, cut off, TLS, timeout."""


class BadURL(GatewayError):
    """The gateway URL is not one: no http(s)://, no host, or no gateway answers there."""

    code = "bad-url"
    title = "Not a gateway URL"


def shown(url: str) -> str:
    """A URL as it may be printed: without a user name or password in it."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def check_url(url: str) -> str:
    """The gateway's base URL without a trailing slash. Raises BadURL saying what is wrong.

    ``requests`` would raise its own exceptions for these, as a traceback.
    """
    where = f"--url {shown(url)} (GATEWAY_URL)"
    example = "give the gateway's base URL, as https://gateway.example"
    parts = urlsplit(url.strip())
    if "://" not in url:
        raise BadURL(f"{where}: no http:// or https:// in front; {example}")
    if parts.scheme.lower() not in ("http", "https"):
        raise BadURL(f"{where}: {parts.scheme}:// is not http:// or https://; {example}")
    if not parts.hostname or any(c.isspace() for c in url.strip()):
        raise BadURL(f"{where}: no host name in it; {example}")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not one
    except ValueError:
        raise BadURL(f"{where}: the port is not a number from 0 to 65535; {example}") from None
    if parts.query or parts.fragment:
        raise BadURL(f"{where}: a base URL has no ?query or #fragment; {example}")
    return url.strip().rstrip("/")


@dataclass(frozen=True)
class Submission:
    status: int
    receipt: dict[str, Any]
    token: str


class GatewayClient:
    def __init__(
        self,
        base_url: str,
        oin: str,
        key: wire.Key,
        *,
        timeout: tuple[float, float] = (3.0, 30.0),
        retries: int = 4,
        session: requests.Session | None = None,
        on_retry: Callable[[str], None] | None = None,
        tls: Tls | None = None,
    ) -> None:
        """``on_retry``: told, in words, each time a request is tried again; ``tls``: the
        party's client certificate, where the gateway's front asks for one (Digikoppeling)."""
        self.base_url = base_url.rstrip("/")
        self.oin = oin
        self.key = key
        self.timeout = timeout
        self.retries = retries
        self.on_retry = on_retry
        self.tls = tls
        self.session = session or (tls.session() if tls else requests.Session())
        if tls is not None and session is not None:
            tls.apply(session)
        self._gateway_keys: dict[str, wire.Key] | None = None

    def clone(self) -> GatewayClient:
        """The same party with its own HTTP session, for another thread."""
        return GatewayClient(
            self.base_url, self.oin, self.key, timeout=self.timeout, retries=self.retries,
            on_retry=self.on_retry, tls=self.tls,
        )  # fmt: skip

    # -- signing ---------------------------------------------------------------

    def sign(self, payload: dict[str, Any]) -> str:
        """A message of the contract: a compact JWS, or a version-2 profile's SD-JWT."""
        if (payload.get("type"), payload.get("version")) in sdjwt.FORMS:
            return sdjwt.issue(payload, self.key)
        return wire.sign(payload, self.key, typ=wire.MESSAGE_TYP)

    def assertion(self) -> str:
        """A fresh single-use bearer assertion (2 minutes) for one read or ack."""
        claims = wire.make_claims(self.oin, datetime.now(UTC), secrets.token_urlsafe(18))
        return wire.sign(claims, self.key, typ=wire.ASSERTION_TYP)

    def get_json(self, path: str, **params: Any) -> dict[str, Any]:
        """An authenticated GET whose answer is a JSON object."""
        return _json(self.get(path, **params))

    def get(
        self, path: str, *, accept: str = "application/json", **params: Any
    ) -> requests.Response:
        """An authenticated GET; a new assertion for every attempt (each jti is single use)."""
        return self.request(
            "GET", path, params=params or None, headers={"Accept": accept}, authenticated=True
        )

    # -- HTTP ------------------------------------------------------------------

    def request(
        self, method: str, path: str, *, authenticated: bool = False, **kwargs: Any
    ) -> requests.Response:
        """Send with retries on transient failures; raise problems as GatewayErrors.

        One ``Fsc-Transaction-Id`` for all attempts, made here as an FSC outway
        would unless the caller gave one: what the gateway hands back is signed with
        it (a delivery's ``trace_id``), and the party's own log can record it.
        """
        delay = 0.2
        headers = dict(kwargs.pop("headers", None) or {})
        headers.setdefault(wire.TRANSACTION_HEADER, wire.new_transaction_id(datetime.now(UTC)))
        for attempt in range(self.retries + 1):
            if authenticated:
                headers["Authorization"] = f"Bearer {self.assertion()}"
            try:
                response = self.session.request(
                    method, self.base_url + path, timeout=self.timeout, headers=headers, **kwargs
                )
            except NOT_A_URL:
                raise BadURL(self._not_a_url()) from None
            except TRANSIENT as error:
                cause = cause_of(error, max(self.timeout))
                if attempt == self.retries:
                    raise Unreachable(
                        f"gateway {self.base_url} unreachable: {cause} (after {attempt + 1} "
                        f"attempt{'s' if attempt else ''}); check --url (GATEWAY_URL)"
                    ) from None
                if self.on_retry is not None:
                    self.on_retry(
                        f"gateway {self.base_url}: {cause}; trying again in {delay:.1f} s "
                        f"({attempt + 1} of {self.retries + 1})"
                    )
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.retries and not (
                _held(response)
            ):
                time.sleep(_retry_after(response, delay))
                delay = min(delay * 2, 5.0)
                continue
            if response.status_code >= 400:
                raise problem_error(response)
            return response
        raise TransportError("retries exhausted")  # pragma: no cover - loop always returns

    def submit(self, token: str) -> Submission:
        """POST a signed message; return the verified receipt."""
        media = sdjwt.MEDIA_TYPE if sdjwt.is_sd(token.encode()) else "application/jose"
        response = self.request(
            "POST", "/v1/messages", data=token.encode("ascii"), headers={"Content-Type": media}
        )
        receipt_token = _json(response).get("receipt")
        if not isinstance(receipt_token, str):
            raise TransportError("response without a receipt")
        receipt = self.verify_gateway_token(receipt_token, wire.RECEIPT_TYP)
        return Submission(status=response.status_code, receipt=receipt, token=receipt_token)

    def submit_batch(self, tokens: list[str]) -> list[Submission | GatewayError]:
        """POST up to 1,000 signed messages at once; one verified receipt or error per item.

        Raises (for the whole batch) what ``request`` raises: the gateway took none
        of it, and sending the same batch again is safe.
        """
        response = self.request(
            "POST",
            "/v1/messages:batch",
            data=json.dumps({"messages": tokens}).encode("ascii"),
            headers={"Content-Type": "application/json"},
        )
        results = _json(response).get("results")
        if not isinstance(results, list) or len(results) != len(tokens):
            raise TransportError("batch response without one result per message")
        return [self._batch_result(result) for result in results]

    def _batch_result(self, result: Any) -> Submission | GatewayError:
        if not isinstance(result, dict) or not isinstance(result.get("status"), int):
            raise TransportError("batch result without a status")
        if isinstance(result.get("problem"), dict):
            return error_from_problem(result["problem"], result["status"])
        token = result.get("receipt")
        if not isinstance(token, str):
            raise TransportError("batch result without a receipt")
        receipt = self.verify_gateway_token(token, wire.RECEIPT_TYP)
        return Submission(status=result["status"], receipt=receipt, token=token)

    def directory(self, role: str | None = None) -> list[dict[str, Any]]:
        """The registered parties (OIN, role, name, municipality code)."""
        params = {"role": role} if role else {}
        parties = self.get_json("/v1/parties", **params).get("parties")
        if not isinstance(parties, list):
            raise TransportError("directory response without parties")
        return parties

    def ack(self, delivery_id: str) -> None:
        self.request("POST", f"/v1/inbox/{delivery_id}/ack", authenticated=True)

    # -- the gateway's own signatures ----------------------------------------------

    def probe(self) -> None:
        """Check, with one request, that a gateway answers at the base URL.

        Asks for its published keys (which every receipt check needs, so they
        are kept). A server that is not a gateway, or a base URL with a path
        too many (``…/v1``), answers something else: raises BadURL naming
        the URL and what came back. A gateway that cannot be reached now, or
        is busy (429, 502, 503, 504), is left to the command, which tries
        again as it always does.
        """
        try:
            response = self.session.get(self.base_url + JWKS_PATH, timeout=self.timeout)
        except NOT_A_URL:
            raise BadURL(self._not_a_url()) from None
        except TRANSIENT:
            return
        if response.status_code in RETRY_STATUSES:
            return
        try:
            if response.status_code != 200:
                raise problem_error(response)
            keys = _jwks(response)
            if not keys:
                raise TransportError("a JSON answer without the gateway's published keys")
        except (GatewayError, ValueError, TypeError, KeyError, AttributeError) as error:
            raise BadURL(self._not_a_gateway(error)) from None
        self._gateway_keys = keys

    def _not_a_url(self) -> str:
        return (
            f"--url {shown(self.base_url)} (GATEWAY_URL): not a URL to send to; "
            "give the gateway's base URL, as https://gateway.example"
        )

    def _not_a_gateway(self, error: Exception) -> str:
        path = urlsplit(self.base_url).path
        hint = f", without the path {path}" if path not in ("", "/") else ""
        what = error.detail if isinstance(error, GatewayError) else "no keys as a gateway has"
        if isinstance(error, GatewayError) and error.code != "transport":
            what = f"{error.code} ({error.detail})"
        return (
            f"no gateway answers at {shown(self.base_url)}: GET /.well-known/jwks.json gave "
            f"{what}; check --url (GATEWAY_URL): the gateway's base URL{hint}"
        )

    def gateway_keys(self) -> dict[str, wire.Key]:
        if self._gateway_keys is None:
            self._gateway_keys = _jwks(self.request("GET", JWKS_PATH))
        return self._gateway_keys

    def verify_gateway_token(self, token: str, typ: str) -> dict[str, Any]:
        """Verify a receipt (or other gateway JWS) against the published JWKS.

        Raises InvalidSignature when no published key verifies it.
        """
        unverified = wire.parse(token.encode("ascii"), typ=typ)
        key = self.gateway_keys().get(unverified.header.kid)
        if key is None:
            self._gateway_keys = None  # the gateway may have rotated; fetch once more
            key = self.gateway_keys().get(unverified.header.kid)
        if key is None:
            raise InvalidSignature("token not signed by a published gateway key")
        return wire.verify(unverified, key).payload


def _held(response: requests.Response) -> bool:
    """A 503 log-held: the log waits for its operator, not for seconds; said at once."""
    if response.status_code != 503 or "json" not in response.headers.get("Content-Type", ""):
        return False
    try:
        return bool(response.json().get("code") == "log-held")
    except ValueError:
        return False


def _retry_after(response: requests.Response, default: float) -> float:
    value = response.headers.get("Retry-After", "")
    return min(float(value), 30.0) if value.isdigit() else default


def _jwks(response: requests.Response) -> dict[str, wire.Key]:
    """The published keys by kid. Raises TransportError (or the JWK's error) when not a JWKS."""
    keys = _json(response).get("keys", [])
    if not isinstance(keys, list):
        raise TransportError("a JWK Set whose keys are not a list")
    return {wire.thumbprint(key): key for key in (wire.import_jwk(k) for k in keys)}


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        return wire.loads_object(response.content)
    except GatewayError:
        raise TransportError("an answer that is not a JSON object") from None


def problem_error(response: requests.Response) -> GatewayError:
    """The GatewayError that a problem+json response stands for."""
    try:
        body = wire.loads_object(response.content)
    except GatewayError:
        kind = response.headers.get("Content-Type", "").split(";")[0].strip() or "no content type"
        return TransportError(f"HTTP {response.status_code} ({kind}), not a problem response")
    return error_from_problem(body, response.status_code)


def error_from_problem(body: dict[str, Any], status: int) -> GatewayError:
    """The GatewayError of a problem document (a response's, or a batch item's)."""
    code = body.get("code")
    cls = BY_CODE.get(code) if isinstance(code, str) else None
    detail = body.get("detail") if isinstance(body.get("detail"), str) else None
    if code == SchemaViolation.code:
        errors = body.get("errors")
        return SchemaViolation(errors if isinstance(errors, list) else [], detail=detail)
    if code == Conflict.code:
        reason = body.get("reason")
        # No reason (an older gateway) is not taken for "message-id-reused".
        return Conflict(detail, reason=reason if isinstance(reason, str) else "unspecified")
    if cls is None:
        return TransportError(f"HTTP {status}")
    return cls(detail)
