from __future__ import annotations

import pytest

from gateway.domain.wire import strictjson
from gateway.errors import MalformedMessage


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("duplicate member", b'{"a": 1, "a": 2}'),
        ("nested duplicate", b'{"a": {"b": 1, "b": 1}}'),
        ("NaN", b'{"a": NaN}'),
        ("Infinity", b'{"a": Infinity}'),
        ("-Infinity", b'{"a": -Infinity}'),
        ("float overflow", b'{"a": 1e400}'),
        ("integer beyond 64 bits", b'{"a": 18446744073709551616}'),
        ("negative beyond 64 bits", b'{"a": -9223372036854775809}'),
        ("huge digit string", b'{"a": ' + b"9" * 5000 + b"}"),
        ("lone surrogate value", b'{"a": "\\ud800"}'),
        ("lone surrogate key", b'{"\\udfff": 1}'),
        ("invalid UTF-8", b'{"a": "\xff"}'),
        ("UTF-8 encoded surrogate", b'{"a": "\xed\xa0\x80"}'),
        ("byte order mark", b'\xef\xbb\xbf{"a": 1}'),
        ("trailing data", b'{"a": 1} {}'),
        ("not JSON", b"{a: 1}"),
        ("control character in string", b'{"a": "x\ny"}'),
        ("33 deep", b'{"a":' * 33 + b"1" + b"}" * 33),
        ("5000 deep arrays", b"[" * 5000 + b"]" * 5000),
        ("5000 deep objects", b'{"a":' * 5000 + b"1" + b"}" * 5000),
    ],
)
def test_ambiguous_or_hostile_json_is_refused(name: str, data: bytes) -> None:
    with pytest.raises(MalformedMessage):
        strictjson.loads(data)


def test_plain_json_within_limits_is_accepted() -> None:
    data = (
        b'{"a":' * 31
        + b'[1, -9223372036854775808, 18446744073709551615, 1.5, "\\u00e9\\ud83d\\ude00"]'
        + b"}" * 31
    )
    value = strictjson.loads(data)
    for _ in range(31):
        value = value["a"]
    assert value == [1, -(2**63), 2**64 - 1, 1.5, "é😀"]


def test_whitespace_around_the_document_is_legal() -> None:
    assert strictjson.loads(b' \n{"a": true}\t') == {"a": True}


def test_top_level_must_be_an_object_where_asked() -> None:
    with pytest.raises(MalformedMessage):
        strictjson.loads_object(b"[1]")


def test_depth_counts_nesting_not_brackets() -> None:
    """Brackets in strings and side-by-side containers are no depth; arrays count as objects."""
    many_siblings = b"{" + b",".join(b'"k%d": {"x": [1]}' % i for i in range(100)) + b"}"
    assert len(strictjson.loads(many_siblings)) == 100
    assert strictjson.loads(b'{"a": "' + b"[{" * 100 + b'"}')["a"] == "[{" * 100
    assert strictjson.loads(b'"' + b"[" * 100 + b'"') == "[" * 100
    assert strictjson.loads(b"[" * 32 + b"]" * 32) is not None
    with pytest.raises(MalformedMessage, match="nested too deeply"):
        strictjson.loads(b'{"a": [' + b"[" * 31 + b"]" * 31 + b"]}")
    with pytest.raises(MalformedMessage, match="nested too deeply"):
        strictjson.loads(b'{"a": 1, "b": {"c": {"d": 1}}}', max_depth=2)
