"""Strict JSON: the one parser for bytes that arrive from outside.

The standard library accepts NaN, Infinity, duplicate member names (last one
wins) and lone surrogates, and recurses until it fails. Two parties that read
the same bytes differently is how signed data gets smuggled, so anything that
is not plain, unambiguous JSON is refused here. Must not import Flask or SQL.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from gateway.errors import MalformedMessage

MAX_DEPTH = 32
INT_MIN = -(2**63)
INT_MAX = 2**64 - 1  # "within 64 bits": signed or unsigned
_SURROGATE = re.compile("[\ud800-\udfff]")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise MalformedMessage("duplicate member name in JSON object")
    return obj


def _constant(name: str) -> Any:
    raise MalformedMessage("NaN and Infinity are not JSON")


def _integer(text: str) -> int:
    # Bound the length before int() so a 100 kB digit string costs nothing.
    if len(text) > 20:
        raise MalformedMessage("integer outside 64 bits")
    value = int(text)
    if not INT_MIN <= value <= INT_MAX:
        raise MalformedMessage("integer outside 64 bits")
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise MalformedMessage("number out of range")
    return value


_DECODER = json.JSONDecoder(
    object_pairs_hook=_pairs, parse_constant=_constant, parse_int=_integer, parse_float=_float
)


def loads(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON strictly.

    Raises MalformedMessage when the bytes are not strict UTF-8, not JSON, hold
    duplicate member names, NaN/Infinity, integers beyond 64 bits, lone
    surrogates, or nest deeper than ``max_depth``.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8", errors="strict")
        except UnicodeDecodeError:
            raise MalformedMessage("not UTF-8") from None
    else:
        text = data
    if text.startswith("\ufeff"):
        raise MalformedMessage("byte order mark before JSON")
    try:
        value = _DECODER.decode(text)
    except RecursionError:  # the C scanner's own bound, long before the stack's
        raise MalformedMessage("JSON nested too deeply") from None
    except json.JSONDecodeError:
        raise MalformedMessage("not valid JSON") from None
    except ValueError:  # int() beyond sys.get_int_max_str_digits
        raise MalformedMessage("number out of range") from None
    # Strict UTF-8 decoding already refused encoded surrogates; only a \\uD8xx..
    # escape can still produce one, and a valid pair is fine.
    if _SURROGATE_ESCAPE.search(text):
        _check_surrogates(value)
    # Fewer brackets than the bound (strings included) cannot nest beyond it.
    if text.count("{") + text.count("[") > max_depth:
        _check_depth(value, max_depth)
    return value


def loads_object(data: bytes | str, *, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """Parse strictly and require a JSON object at the top.

    Raises MalformedMessage as ``loads`` does, or when the top is not an object.
    """
    value = loads(data, max_depth=max_depth)
    if not isinstance(value, dict):
        raise MalformedMessage("JSON object expected")
    return value


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _check_depth(root: Any, max_depth: int) -> None:
    """Nesting depth of the parsed value (the top object or array is depth 1).

    Checked on the parsed value, without recursion: the scanner has bounded
    the depth already (RecursionError), and walking the containers costs a
    third of scanning the text for brackets outside strings.
    """
    stack: list[tuple[Any, int]] = [(root, 1)] if isinstance(root, dict | list) else []
    while stack:
        value, depth = stack.pop()
        if depth > max_depth:
            raise MalformedMessage("JSON nested too deeply")
        for child in value.values() if isinstance(value, dict) else value:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))


def _check_surrogates(root: Any) -> None:
    """Walk keys and strings for lone surrogates (only called when an escape could make one)."""
    stack: list[Any] = [root]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise MalformedMessage("lone surrogate in JSON string")
        elif isinstance(value, dict):
            for key in value:
                if _SURROGATE.search(key):
                    raise MalformedMessage("lone surrogate in JSON member name")
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
