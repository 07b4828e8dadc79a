"""The wire format, as a party's tool speaks it: strict JSON, the contract's JWKs,
signed envelopes (compact JWS) and bearer assertions, and the times in them.

Part of the client package's declared surface (``gateway.client``: semver over
``__all__``). The implementation is the gateway's own (``gateway.domain.wire``), so a
tool parses and signs exactly as the gateway checks.

- strict JSON (``loads``, ``loads_object``): no duplicate members, no NaN, integers
  within 64 bits, a bounded depth;
- keys (``Key``, ``import_jwk``, ``load_jwk_file``, ``private_jwk``, ``thumbprint``):
  OKP/Ed25519 or EC/P-256 JWKs, the kid their RFC 7638 thumbprint;
- envelopes (``sign``, ``parse``, ``verify``, the ``*_TYP`` constants,
  ``UnverifiedJWS``, ``VerifiedJWS``): compact JWS of the contract's types;
- bearer assertions (``make_claims``, signed with ``ASSERTION_TYP``);
- transaction ids (``TRANSACTION_HEADER``, ``new_transaction_id``): the
  ``Fsc-Transaction-Id`` a tool sends with a request, a UUIDv7, as an FSC outway would;
- times (``parse_time``: RFC 3339 from a person or a file; ``format_time``: the one
  spelling of an instant the gateway writes and takes in queries).
"""

from __future__ import annotations

from gateway.domain.audit.events import format_time
from gateway.domain.audit.transaction import HEADER as TRANSACTION_HEADER
from gateway.domain.audit.transaction import new as new_transaction_id
from gateway.domain.message import parse_time
from gateway.domain.wire.bearer import make_claims
from gateway.domain.wire.envelope import (
    ASSERTION_TYP,
    DELIVERY_TYP,
    MESSAGE_TYP,
    PROFILE_TYP,
    RECEIPT_TYP,
    UnverifiedJWS,
    VerifiedJWS,
    parse,
    sign,
    verify,
)
from gateway.domain.wire.jwk import Key, import_jwk, private_jwk, thumbprint
from gateway.domain.wire.strictjson import loads, loads_object
from gateway.files.keys import load_jwk_file

__all__ = [
    "ASSERTION_TYP",
    "DELIVERY_TYP",
    "MESSAGE_TYP",
    "PROFILE_TYP",
    "RECEIPT_TYP",
    "TRANSACTION_HEADER",
    "Key",
    "UnverifiedJWS",
    "VerifiedJWS",
    "format_time",
    "import_jwk",
    "load_jwk_file",
    "loads",
    "loads_object",
    "make_claims",
    "new_transaction_id",
    "parse",
    "parse_time",
    "private_jwk",
    "sign",
    "thumbprint",
    "verify",
]
