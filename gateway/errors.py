"""The gateway's one hierarchy of domain errors.

Each class carries the stable problem ``code`` and HTTP ``status`` of the wire
contract (INTERFACE.md), so the HTTP layer turns any of them into
problem+json without an ``if`` ladder, and the connectors raise the very same
classes from a problem response.

Details are written for the sender and never hold personal data or values
from a message body: only JSON pointers, member names and codes.

    GatewayError
    ├── MalformedMessage           400 malformed
    ├── UnsupportedHeader          400 unsupported-header
    ├── BadRequest                 400 bad-request
    ├── ProofError                 400 invalid-proof (Merkle proof or sizes)
    ├── CheckpointError            400 invalid-checkpoint (JWS or signed note)
    ├── Unauthenticated            401 unauthenticated
    │   ├── UnknownKey             401 unknown-key
    │   ├── KeyNotValid            401 key-not-valid
    │   └── InvalidSignature       401 invalid-signature
    ├── SenderMismatch             403 sender-mismatch
    ├── NotAuthorised              403 not-authorised
    ├── NotFound                   404 not-found
    ├── RequestTimeout             408 request-timeout (the server's read deadline)
    ├── Conflict                   409 conflict
    ├── Replay                     409 replay
    ├── PayloadTooLarge            413 payload-too-large
    ├── UriTooLong                 414 uri-too-long (the server's request-line limit)
    ├── UnsupportedMediaType       415 unsupported-media-type
    ├── SchemaViolation            422 schema-violation
    ├── RateLimited                429 rate-limited
    ├── HeadersTooLarge            431 headers-too-large (the server's header limits)
    ├── ServiceUnavailable         503 unavailable
    │   └── LogHeld                503 log-held (witnesses hold more of the log than it has)
    ├── LogCorrupt                 500 log-corrupt (the audit log has a gap; no checkpoint)
    └── ConfigurationError         (never reaches HTTP: refuses start-up)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""

    code: ClassVar[str] = "internal-error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title

    def extra(self) -> Mapping[str, Any]:
        """Members added to the problem document beyond type/title/status/detail."""
        return {}

    def headers(self) -> Mapping[str, str]:
        """HTTP headers the response must carry (WWW-Authenticate, Retry-After)."""
        return {}


class MalformedMessage(GatewayError):
    code = "malformed"
    status = 400
    title = "Malformed message"


class UnsupportedHeader(GatewayError):
    code = "unsupported-header"
    status = 400
    title = "Unsupported JWS header"


class BadRequest(GatewayError):
    code = "bad-request"
    status = 400
    title = "Bad request"


class ProofError(GatewayError):
    """A Merkle proof does not verify, or was asked for sizes it cannot cover."""

    code = "invalid-proof"
    status = 400
    title = "Invalid Merkle proof"


class CheckpointError(GatewayError):
    """A checkpoint or note is malformed or not signed by the expected key."""

    code = "invalid-checkpoint"
    status = 400
    title = "Invalid checkpoint"


class Unauthenticated(GatewayError):
    code = "unauthenticated"
    status = 401
    title = "Unauthenticated"

    def headers(self) -> Mapping[str, str]:
        return {"WWW-Authenticate": f'Bearer realm="inburgering-gateway", error="{self.code}"'}


class UnknownKey(Unauthenticated):
    code = "unknown-key"
    title = "Unknown signing key"


class KeyNotValid(Unauthenticated):
    code = "key-not-valid"
    title = "Signing key not valid at receipt time"


class InvalidSignature(Unauthenticated):
    code = "invalid-signature"
    title = "Invalid signature"


class SenderMismatch(GatewayError):
    code = "sender-mismatch"
    status = 403
    title = "Sender does not own the signing key"


class NotAuthorised(GatewayError):
    code = "not-authorised"
    status = 403
    title = "Not authorised"


class TransportRefused(NotAuthorised):
    """The party's assertion verifies, but another organisation's certificate connected
    (Digikoppeling): refused, and entered in the log with the party as actor."""

    def __init__(self, party_oin: str, detail: str) -> None:
        super().__init__(detail)
        self.party_oin = party_oin


class NotFound(GatewayError):
    code = "not-found"
    status = 404
    title = "Not found"


class RequestTimeout(GatewayError):
    """The request did not arrive within the server's read deadline (gateway.slowclients)."""

    code = "request-timeout"
    status = 408
    title = "Request timeout"


class Conflict(GatewayError):
    """A 409, with a ``reason`` member that says which conflict, so clients can act on it.

    ``message-id-reused`` (the default), ``subject-erased``, ``declaration-exists``,
    ``withdrawal-final``, ``already-registered``.
    """

    code = "conflict"
    status = 409
    title = "message_id reused with other content"

    def __init__(self, detail: str | None = None, reason: str = "message-id-reused") -> None:
        super().__init__(detail)
        self.reason = reason

    def extra(self) -> Mapping[str, Any]:
        return {"reason": self.reason}


class Replay(GatewayError):
    code = "replay"
    status = 409
    title = "issued_at outside the accepted time window"


class PayloadTooLarge(GatewayError):
    code = "payload-too-large"
    status = 413
    title = "Payload too large"


class UriTooLong(GatewayError):
    """The request line (path and query) is longer than the server takes; answered by the
    server's worker before the app sees the request (gateway.slowclients)."""

    code = "uri-too-long"
    status = 414
    title = "URI too long"


class HeadersTooLarge(GatewayError):
    """Too many header fields, or one too long; answered by the server's worker."""

    code = "headers-too-large"
    status = 431
    title = "Request header fields too large"


class UnsupportedMediaType(GatewayError):
    code = "unsupported-media-type"
    status = 415
    title = "Unsupported media type"


class SchemaViolation(GatewayError):
    """Carries the failing JSON pointers (and keywords), never the values."""

    code = "schema-violation"
    status = 422
    title = "Schema violation"

    def __init__(self, errors: Sequence[Mapping[str, str]], detail: str | None = None) -> None:
        pointers = ", ".join(e["pointer"] or "/" for e in errors[:10])
        super().__init__(detail or f"invalid members: {pointers}")
        self.errors = list(errors)

    def extra(self) -> Mapping[str, Any]:
        return {"errors": self.errors}


class ServiceUnavailable(GatewayError):
    code = "unavailable"
    status = 503
    title = "Service temporarily unavailable"

    def __init__(self, detail: str | None = None, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = retry_after

    def headers(self) -> Mapping[str, str]:
        return {"Retry-After": str(self.retry_after)}


class RateLimited(GatewayError):
    """The party sent more than its share (a token bucket per party, settings
    ``GATEWAY_RATE_PER_SECOND``, ``GATEWAY_RATE_BURST``, ``GATEWAY_RATE_LIMITS``).
    Nothing of the request was decided: send it again after ``Retry-After``."""

    code = "rate-limited"
    status = 429
    title = "Too many requests from this party"

    def __init__(self, detail: str | None = None, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)

    def headers(self) -> Mapping[str, str]:
        return {"Retry-After": str(self.retry_after)}


class LogHeld(ServiceUnavailable):
    """Intake held: the log is behind or forked from what its witnesses cosigned (a database
    restored from an older backup), so nothing may be appended until an operator resolves it."""

    code = "log-held"
    title = "Audit log held"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, retry_after=300)


class LogbookUnwritable(ServiceUnavailable):
    """The Logboek Dataverwerkingen cannot be written (``cause``: disk full, read-only,
    error). Raised by the exporter; intake refuses with it (code ``unavailable``, as
    before the records were made after the commit) once records wait past the grace."""

    def __init__(self, cause: str, detail: str | None = None) -> None:
        super().__init__(detail or f"the processing log (Logboek Dataverwerkingen) cannot be "
                         f"written ({cause}); nothing was stored", retry_after=5)  # fmt: skip
        self.cause = cause


class LogCorrupt(GatewayError):
    """The stored audit log is not contiguous: the gateway will not sign over it."""

    code = "log-corrupt"
    status = 500
    title = "Audit log corrupt"


class ConfigurationError(GatewayError):
    """The deployment is wrong (policy, keys, schemas); the gateway refuses to start."""

    code = "configuration-error"
    title = "Configuration error"


BY_CODE: dict[str, type[GatewayError]] = {
    cls.code: cls
    for cls in (
        MalformedMessage,
        UnsupportedHeader,
        BadRequest,
        ProofError,
        CheckpointError,
        Unauthenticated,
        UnknownKey,
        KeyNotValid,
        InvalidSignature,
        SenderMismatch,
        NotAuthorised,
        NotFound,
        RequestTimeout,
        Conflict,
        Replay,
        PayloadTooLarge,
        UriTooLong,
        UnsupportedMediaType,
        HeadersTooLarge,
        ServiceUnavailable,
        LogHeld,
        RateLimited,
        LogCorrupt,
    )
}
"""Problem code → class, so a client can raise the class the gateway raised."""
