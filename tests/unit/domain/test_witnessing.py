"""Signed notes, cosignatures and the witness's judgement, against C2SP's own examples.

The vectors come from outside: the signed-note spec's example key and note
(c2sp.org/signed-note), the cosignature spec's example signed message and
cosignature line (c2sp.org/tlog-cosignature), and a cosigner key and a
cosignature's timestamp from transparency-dev/formats' tests.
"""

from __future__ import annotations

import base64
import struct

import pytest

from gateway.domain.audit import merkle
from gateway.domain.audit.notes import (
    ED25519_COSIGNATURE,
    MLDSA44_COSIGNATURE,
    NOTE,
    Body,
    Note,
    Verifier,
    cosigned_message,
    format_body,
    format_note,
    parse_body,
    parse_note,
    parse_vkey,
    verified,
)
from gateway.domain.audit.witnessing import (
    EMPTY_ROOT,
    CosigningKey,
    Latest,
    Refused,
    Request,
    cosignatures,
    format_request,
    judge,
    parse_request,
)
from gateway.errors import CheckpointError

SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n"
    "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3"
    "mFXmRKuwHjG1Yu72IneyaQM=\n"
)
SPEC_CHECKPOINT = ("example.com/behind-the-sofa\n20852163\n"
                   "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")  # fmt: skip
SPEC_COSIGNATURE = ("jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1"
                    "nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==")  # fmt: skip
FORMATS_COSIGNER = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
FORMATS_COSIGNATURE = ("ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7"
                       "S5gxEHWWOworDcFiEBYJXORmnFBOBA==")  # fmt: skip


def test_the_signed_note_specs_example_verifies() -> None:
    key = parse_vkey(SPEC_VKEY, (NOTE,))
    note = parse_note(SPEC_NOTE)
    assert note.text == "This is an example message.\n"
    assert verified(note, [key]) == {"example.com/foo": None}
    assert format_note(note) == SPEC_NOTE
    tampered = parse_note(SPEC_NOTE.replace("example message", "exemplary message"))
    with pytest.raises(CheckpointError):
        verified(tampered, [key])


def test_the_cosignature_specs_signed_message_is_ours_byte_for_byte() -> None:
    expected = ("cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\n"
                "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")  # fmt: skip
    message = cosigned_message(ED25519_COSIGNATURE, "witness.example.com/w1", 1679315147,
                               SPEC_CHECKPOINT)  # fmt: skip
    assert message == expected.encode()


@pytest.mark.parametrize(("blob", "stamp"), [(SPEC_COSIGNATURE, 1679315147),
                                             (FORMATS_COSIGNATURE, 1727964367)])  # fmt: skip
def test_a_cosignatures_timestamp_follows_its_key_id(blob: str, stamp: int) -> None:
    raw = base64.b64decode(blob)
    assert len(raw) == 4 + 8 + 64
    assert struct.unpack(">Q", raw[4:12]) == (stamp,)


def test_cosigner_keys_from_outside_parse_and_their_ids_match() -> None:
    remora = parse_vkey(FORMATS_COSIGNER, (ED25519_COSIGNATURE,))
    assert remora.key_id.hex() == "da77ade7" and remora.vkey == FORMATS_COSIGNER
    with pytest.raises(CheckpointError, match="ID does not match"):
        parse_vkey(FORMATS_COSIGNER.replace("da77ade7", "da77ade8"))
    with pytest.raises(CheckpointError, match="not one taken here"):
        parse_vkey(FORMATS_COSIGNER, (NOTE,))


def test_the_mldsa_message_is_the_subtree_structure() -> None:
    message = cosigned_message(MLDSA44_COSIGNATURE, "w", 7, SPEC_CHECKPOINT)
    origin = b"example.com/behind-the-sofa"
    root = base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert message == (b"subtree/v1\n\x00" + b"\x01w" + struct.pack(">Q", 7)
                       + bytes([len(origin)]) + origin + struct.pack(">QQ", 0, 20852163) + root)


@pytest.mark.parametrize("kind", [ED25519_COSIGNATURE, MLDSA44_COSIGNATURE])
def test_a_witness_key_cosigns_and_survives_its_file(kind: int) -> None:
    key = CosigningKey.generate("witness.example/w1", kind)
    again = CosigningKey.parse(key.serialize())
    assert again.verifier == key.verifier
    assert parse_vkey(key.verifier.vkey) == key.verifier
    line = again.cosign(SPEC_CHECKPOINT, 1700000000)
    note = parse_note(SPEC_CHECKPOINT + "\n" + line)
    assert verified(note, [key.verifier]) == {"witness.example/w1": 1700000000}
    other = CosigningKey.generate("witness.example/w1", kind).verifier
    assert verified(note, [other]) == {}  # same name, another key ID: ignored
    forged = parse_note(SPEC_CHECKPOINT.replace("20852163", "20852164") + "\n" + line)
    with pytest.raises(CheckpointError, match="does not verify"):
        verified(forged, [key.verifier])  # a known key that fails rejects the note


@pytest.mark.parametrize("note", [
    "no blank line\n\u2014 a AAAAAAA=\n",
    "text\n\n\u2014 a AAAAAAA=",  # no final newline
    "text\n\n- a AAAAAAA=\n",
    "text\n\n\u2014 a+b AAAAAAA=\n",
    "text\n\n\u2014 a not!base64\n",
    "text\n\n\u2014 a AAA=\n",
    "te\txt\n\n\u2014 a AAAAAAA=\n",
])  # fmt: skip
def test_malformed_notes_are_refused(note: str) -> None:
    with pytest.raises(CheckpointError):
        parse_note(note)


@pytest.mark.parametrize(
    "text", ["o\n01\n" + "A" * 43 + "=\n", "o\n1\nAAAA\n", "o\n1\n", "o\n\n1\n"]
)
def test_malformed_checkpoint_texts_are_refused(text: str) -> None:
    with pytest.raises(CheckpointError):
        parse_body(text)


def _log(origin: str = "gemeente.example/audit") -> tuple[Verifier, object]:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return Verifier(origin, NOTE, public), private


def _signed(verifier: Verifier, private: object, leaves: list[bytes]) -> tuple[str, Body]:
    body = Body(verifier.name, len(leaves), merkle.root_of([merkle.leaf_hash(x) for x in leaves])
                if leaves else EMPTY_ROOT)  # fmt: skip
    text = format_body(body)
    signature = private.sign(text.encode())  # type: ignore[attr-defined]
    return format_note(Note(text, ((verifier.name, verifier.key_id + signature),))), body


def _proof(leaves: list[bytes], first: int, second: int) -> tuple[bytes, ...]:
    hashes = [merkle.leaf_hash(x) for x in leaves[:second]]

    def node(start: int, end: int) -> bytes:
        return merkle.root_of(hashes[start:end]) if end > start else EMPTY_ROOT

    return tuple(merkle.consistency_path(first, second, node))


def test_judge_follows_the_witness_protocol() -> None:
    verifier, private = _log()
    logs = {verifier.name: [verifier]}
    leaves = [f"entry {i}".encode() for i in range(7)]
    three, body3 = _signed(verifier, private, leaves[:3])
    seven, body7 = _signed(verifier, private, leaves)
    assert judge(Request(0, (), three), logs, None) == body3
    latest = Latest(3, body3.root)
    assert judge(Request(3, _proof(leaves, 3, 7), seven), logs, latest) == body7
    assert judge(Request(3, (), three), logs, latest) == body3  # the same again

    def refused(request: Request, held: Latest | None = latest) -> tuple[int, int | None]:
        with pytest.raises(Refused) as caught:
            judge(request, logs, held)
        return caught.value.answer, caught.value.size

    assert refused(Request(0, (), seven)) == (409, 3)
    assert refused(Request(5, (), seven)) == (409, 3)
    assert refused(Request(8, (), seven)) == (400, None)
    assert refused(Request(3, _proof(leaves, 2, 7), seven)) == (422, None)
    assert refused(Request(0, _proof(leaves, 3, 7), three), None) == (422, None)
    forked, _ = _signed(verifier, private, [b"another", *leaves[1:3]])
    assert refused(Request(3, (), forked)) == (422, None)
    other, other_key = _log("elders.example/audit")
    assert refused(Request(0, (), _signed(other, other_key, leaves)[0]), None) == (404, None)
    stranger, stranger_key = _log()
    assert refused(Request(0, (), _signed(stranger, stranger_key, leaves)[0]), None) == (403,
                                                                                           None)
    bad_empty = format_note(parse_note(three)).replace("\n3\n", "\n0\n")
    assert refused(Request(0, (), bad_empty), None)[0] in (403, 422)


def test_requests_round_trip_and_bad_ones_are_400() -> None:
    request = Request(3, (b"\x01" * 32, b"\x02" * 32), "o\n7\n" + "A" * 43 + "=\n\n\u2014 o x\n")
    assert parse_request(format_request(request)) == request
    for bad in (b"old 01\n\nx", b"new 1\n\nx", b"old 1\nnot base64!\n\nx", b"old 1\nAAAA\n\nx",
                b"old 1\n", b"\xff\xfe"):
        with pytest.raises(Refused) as caught:
            parse_request(bad)
        assert caught.value.answer == 400


def test_a_log_reads_the_witness_answer_keeping_only_its_lines() -> None:
    witness = CosigningKey.generate("witness.example/w1", ED25519_COSIGNATURE)
    checkpoint = parse_note(SPEC_CHECKPOINT + "\n\u2014 example.com/behind-the-sofa AAAAAAA=\n")
    answer = witness.cosign(SPEC_CHECKPOINT, 1700000000)
    stranger = CosigningKey.generate("stranger.example/w", ED25519_COSIGNATURE)
    lines = cosignatures(answer + stranger.cosign(SPEC_CHECKPOINT, 1), checkpoint,
                         witness.verifier)  # fmt: skip
    assert [n for n, _ in lines] == ["witness.example/w1"]
    with pytest.raises(CheckpointError):
        cosignatures(stranger.cosign(SPEC_CHECKPOINT, 1), checkpoint, witness.verifier)
