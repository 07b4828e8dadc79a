"""C2SP tlog-policy files: read strictly, and a checkpoint judged by its quorum."""

from __future__ import annotations

import pytest

from gateway.domain.audit.notes import ED25519_COSIGNATURE, MLDSA44_COSIGNATURE, parse_note
from gateway.domain.audit.trustpolicy import parse
from gateway.domain.audit.witnessing import CosigningKey
from gateway.errors import CheckpointError

CHECKPOINT = "example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
X = [CosigningKey.generate(f"x{i}.example/w", ED25519_COSIGNATURE) for i in range(3)]
Y = [CosigningKey.generate(f"y{i}.example/w", MLDSA44_COSIGNATURE) for i in range(2)]


def _policy(quorum_lines: str) -> str:
    lines = [f"witness X{i} {k.verifier.vkey} https://x{i}.example/" for i, k in enumerate(X)]
    lines += [f"witness Y{i} {k.verifier.vkey}" for i, k in enumerate(Y)]
    return "# the spec's two-level example\n" + "\n".join(lines) + "\n" + quorum_lines


def _cosigned(*keys: CosigningKey) -> str:
    return CHECKPOINT + "\n" + "".join(k.cosign(CHECKPOINT, 1700000000) for k in keys)


def test_the_specs_two_level_quorum() -> None:
    policy = parse(_policy("group X-witnesses 2 X0 X1 X2\n  group Y-witnesses any Y0 Y1\n"
                           "group X-and-Y all X-witnesses Y-witnesses\nquorum X-and-Y\n"))
    assert policy.witnesses["X0"][1] == "https://x0.example/" and policy.witnesses["Y0"][1] is None
    assert policy.check(parse_note(_cosigned(X[0], X[2], Y[1]))) == {"X0", "X2", "Y1"}
    with pytest.raises(CheckpointError, match=r"\(X-and-Y\): cosigned by X0, Y0, Y1"):
        policy.check(parse_note(_cosigned(X[0], Y[0], Y[1])))
    with pytest.raises(CheckpointError, match="cosigned by X0, X1"):
        policy.check(parse_note(_cosigned(X[0], X[1])))


def test_quorum_none_needs_no_witness() -> None:
    assert parse("quorum none\n").check(parse_note(_cosigned(X[0]))) == set()


MALFORMED = [
    ("", "no quorum line"),
    ("quorum none\nquorum none\n", "line 2: a second quorum line"),
    ("quorum X0\n", "defined nowhere before"),
    (f"witness none {X[0].verifier.vkey}\nquorum none\n", "the name none is taken"),
    (f"witness A {X[0].verifier.vkey}\nwitness B {X[0].verifier.vkey}\nquorum A\n", "twice"),
    (f"witness A {X[0].verifier.vkey} ftp://a\nquorum A\n", "a URL"),
    (f"witness A {X[0].verifier.vkey}\ngroup G 2 A\nquorum G\n", "threshold"),
    (f"witness A {X[0].verifier.vkey}\ngroup G any A A\nquorum G\n", "each once"),
    (f"witness A {X[0].verifier.vkey}\ngroup G any B\nquorum G\n", "defined before"),
    ("log example.com/log+00000000+AAAA\nquorum none\n", "verifier key"),
    (f"log {X[0].verifier.vkey}\nquorum none\n", "not one taken here"),
    ("witnesses A\nquorum none\n", "unknown line"),
    ("quorum\tnone\x0b\n", "control characters"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "said"), MALFORMED, ids=[said for _, said in MALFORMED])
def test_malformed_policies_say_which_line(text: str, said: str) -> None:
    with pytest.raises(CheckpointError, match=said):
        parse(text)
