"""The batch intake request: ``{"messages": [<compact JWS>, …]}``, read strictly.

Only the request's own shape can refuse the whole batch (not JSON, not that
object, no items, too many). A bad item becomes its own refusal and travels
on beside the good ones, so one unreadable row of an export never sinks the
rest. Must not import Flask or SQL.
"""

from __future__ import annotations

from gateway.domain.wire import strictjson
from gateway.errors import GatewayError, MalformedMessage, PayloadTooLarge

MAX_ITEMS = 1000


def parse_request(body: bytes, *, max_item_bytes: int) -> list[bytes | GatewayError]:
    """The items of a batch request: each a JWS's bytes, or the error that refuses it.

    Raises MalformedMessage when the request is not the batch object, and
    PayloadTooLarge beyond MAX_ITEMS items.
    """
    request = strictjson.loads_object(body)
    if set(request) != {"messages"}:
        raise MalformedMessage('a batch is an object with exactly the member "messages"')
    items = request["messages"]
    if not isinstance(items, list) or not items:
        raise MalformedMessage('"messages" must be a non-empty array of compact JWSs')
    if len(items) > MAX_ITEMS:
        raise PayloadTooLarge(f"at most {MAX_ITEMS} messages per batch")
    return [_item(item, max_item_bytes) for item in items]


def _item(item: object, max_item_bytes: int) -> bytes | GatewayError:
    if not isinstance(item, str):
        return MalformedMessage("a batch item must be a string holding a compact JWS")
    raw = item.encode("utf-8", errors="surrogatepass")
    if len(raw) > max_item_bytes:
        return PayloadTooLarge(f"message exceeds {max_item_bytes} bytes")
    return raw
