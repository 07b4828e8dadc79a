"""The auditor API: checkpoints, entries, proofs, and a newcomer's own entries.

Every read is authenticated by a bearer assertion and itself audited
(``audit.read``), so the log shows who looked at it. The checkpoint is open to
every registered party; the rest to the auditor role.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Response, request
from flask_smorest import Blueprint

from gateway.errors import BadRequest
from gateway.service import auditing
from gateway.service.auditing import PAGE
from gateway.web import apidoc, examples, http
from gateway.web.readings import (
    CheckpointList,
    CheckpointResponse,
    ConsistencyProof,
    Entries,
    InclusionProof,
    SubjectEntries,
)

blp = Blueprint("audit", __name__, url_prefix="/v1/audit", description="Tamper-evident audit log")

READ_PROBLEMS = {
    400: "bad-request (parameters), invalid-proof",
    401: "unauthenticated",
    403: "not-authorised (role)",
    503: "unavailable",
}


@blp.route("/checkpoint", methods=["GET"])
@blp.doc(
    summary="The newest signed checkpoint (signed anew if the log grew); "
    "Accept: text/plain gives the C2SP signed note",
    description="Every registered party. The read is audited first, then a checkpoint is "
    "signed if the log grew, so the answer covers the read itself. The JWS's typ is "
    "`inburgering-checkpoint+jws`, its payload `tree_size`, `root_hash` (hex) and "
    "`timestamp`; the note verifies with `GET /v1/audit/note-key`.",
)
@apidoc.operation(
    blp,
    "getCheckpoint",
    ok=200,
    schema=CheckpointResponse,
    description="The newest checkpoint",
    example=examples.CHECKPOINT,
    problem_codes=READ_PROBLEMS,
)
@blp.doc(
    responses={
        "200": {
            "content": {
                "text/plain": {
                    "schema": {"type": "string"},
                    "example": examples.CHECKPOINTS["checkpoints"][0]["note"],
                }
            }
        }
    }
)
def checkpoint() -> Any:
    current = auditing.checkpoint(http.services(), http.caller(), http.now(), http.trace_id())
    best = request.accept_mimetypes.best_match(["application/json", "text/plain"])
    if best == "text/plain":
        return Response(current.note, mimetype="text/plain", headers={"Cache-Control": "no-store"})
    return {"checkpoint": current.jws, "seq": current.seq}


@blp.route("/checkpoints", methods=["GET"])
@blp.doc(
    summary="Signed checkpoints issued after sequence number `after`, oldest first",
    description="Auditor role. 1,000 a page; `next_after` is null on the last page. `seq` "
    "numbers the checkpoints and may have gaps (the log itself never does). Audited as "
    "`audit.read`.",
)
@apidoc.operation(
    blp,
    "listCheckpoints",
    ok=200,
    schema=CheckpointList,
    description="A page of checkpoints",
    example=examples.CHECKPOINTS,
    parameters=[
        apidoc.count("after", "sequence number; the previous page's next_after", default=0)
    ],
    problem_codes=READ_PROBLEMS,
)
def checkpoint_list() -> Any:
    party = http.caller()
    after = http.int_arg("after", default=0)
    found = auditing.checkpoint_list(http.services(), party, after, http.now(), http.trace_id())
    return {
        "checkpoints": [{"seq": c.seq, "checkpoint": c.jws, "note": c.note} for c in found],
        "next_after": found[-1].seq if len(found) == PAGE else None,
    }


def _range_parameters(most: int) -> list[dict[str, Any]]:
    return [
        apidoc.count("start", "the first index", default=0),
        apidoc.query("end", {"type": "integer", "minimum": 1},
                     f"after the last index (default start + {most})"),
    ]  # fmt: skip


def _entry_range(most: int, *, clamp: bool) -> tuple[int, int]:
    """``start`` and ``end`` of a read of entries; ``end`` defaults to ``start + most``.

    With ``clamp`` a longer range gets its first ``most`` (fewer than asked,
    as RFC 6962 get-entries allows: the contract's pages); without, it is
    refused (the export, whose short answer means the log ends there).
    Raises BadRequest unless start < end (and, without clamp, end - start <= most).
    """
    start = http.int_arg("start", default=0)
    end = http.int_arg("end", default=start + most)
    if end <= start or (end - start > most and not clamp):
        raise BadRequest(f"need start < end and at most {most} entries a request")
    return start, min(end, start + most)


EXPORT_MAX = 100_000
JSONL = "application/jsonl"


@blp.route("/export", methods=["GET"])
@blp.doc(
    summary=f"Entries [start, end), at most {EXPORT_MAX:,} a request, as JSON Lines",
    description='One line per entry: `[index, "leaf_hash", entry]`, where `entry` is the '
    "stored RFC 8785 bytes exactly, so a verifier can hash the bytes it received without "
    "re-encoding them. Streamed; fewer lines than asked means the log ends there (or lost "
    "entries, which the verifier names). For auditors who verify the whole log.",
)
@apidoc.operation(
    blp,
    "exportEntries",
    ok=200,
    schema={"type": "string"},
    content_type=JSONL,
    description="JSON Lines, one entry a line",
    example=examples.EXPORT,
    parameters=_range_parameters(EXPORT_MAX),
    problem_codes=READ_PROBLEMS,
)
def export() -> Any:
    party = http.caller()
    start, end = _entry_range(EXPORT_MAX, clamp=False)
    chunks = auditing.export(http.services(), party, start, end, http.now(), http.trace_id())

    def lines() -> Iterator[bytes]:
        for found in chunks:
            yield b"".join(
                b'[%d,"%s",%s]\n' % (index, leaf.encode(), entry) for index, entry, leaf in found
            )

    return Response(lines(), mimetype=JSONL, headers={"Cache-Control": "no-store"})


@blp.route("/entries", methods=["GET"])
@blp.doc(
    summary=f"Entries [start, end), at most {PAGE} a page",
    description="Auditor role. Each `entry` is the entry's stored RFC 8785 bytes, so "
    "SHA-256(0x00 ‖ entry) is its `leaf_hash`. A longer range gets the first entries only: "
    "go on from the last index served; `end <= start` is `400`. Audited as `audit.read`.",
)
@apidoc.operation(
    blp,
    "listEntries",
    ok=200,
    schema=Entries,
    description="Entries, oldest first",
    example=examples.ENTRIES,
    parameters=_range_parameters(PAGE),
    problem_codes=READ_PROBLEMS,
)
def entries() -> Any:
    party = http.caller()
    start, end = _entry_range(PAGE, clamp=True)
    found = auditing.entries(http.services(), party, start, end, http.now(), http.trace_id())
    # The stored bytes are canonical JSON already: spliced in as they are, the
    # auditor hashes exactly what was appended, and nothing is parsed to be re-encoded.
    items = b",".join(
        b'{"index":%d,"entry":%s,"leaf_hash":"%s"}' % (index, entry, leaf.encode())
        for index, entry, leaf in found
    )
    return Response(b'{"entries":[' + items + b"]}", mimetype="application/json")


@blp.route("/proofs/inclusion", methods=["GET"])
@blp.doc(
    summary="RFC 9162 §2.1.3 inclusion proof of entry `index` in the tree of `tree_size`",
    description="Auditor role. Hashes in lowercase hex; `tree_size` up to the log's current "
    "size. An `index` not below `tree_size` is `400 invalid-proof`, a size beyond the log "
    "`400 bad-request`. Audited as `audit.read`.",
)
@apidoc.operation(
    blp, "getInclusionProof", ok=200, schema=InclusionProof, description="The audit path",
    example=examples.INCLUSION,
    parameters=[apidoc.count("index", "the entry's index"),
                apidoc.count("tree_size", "the size of the tree", low=1)],
    problem_codes=READ_PROBLEMS,
)  # fmt: skip
def inclusion() -> Any:
    party = http.caller()
    index, size = http.int_arg("index"), http.int_arg("tree_size", low=1)
    path = auditing.inclusion(http.services(), party, index, size, http.now(), http.trace_id())
    return {"index": index, "tree_size": size, "path": [p.hex() for p in path]}


@blp.route("/proofs/consistency", methods=["GET"])
@blp.doc(
    summary="RFC 9162 §2.1.4 consistency proof between tree sizes `first` and `second`",
    description="Auditor role. Hashes in lowercase hex; `second` up to the log's current "
    "size. `first = 0` and `first > second` are `400 invalid-proof`, a size beyond the log "
    "`400 bad-request`. Audited as `audit.read`.",
)
@apidoc.operation(
    blp, "getConsistencyProof", ok=200, schema=ConsistencyProof, description="The proof",
    example=examples.CONSISTENCY,
    parameters=[apidoc.count("first", "the smaller tree size"),
                apidoc.count("second", "the larger tree size", low=1)],
    problem_codes=READ_PROBLEMS,
)  # fmt: skip
def consistency() -> Any:
    party = http.caller()
    first, second = http.int_arg("first"), http.int_arg("second", low=1)
    path = auditing.consistency(http.services(), party, first, second, http.now(), http.trace_id())
    return {"first": first, "second": second, "path": [p.hex() for p in path]}


@blp.route("/subjects/<v_number>", methods=["GET"])
@blp.doc(
    summary="Every entry about one newcomer (GDPR art. 15 access request)",
    description="Auditor role. `subject` is the newcomer's pseudonym: the V-nummer itself "
    "never appears in an answer or an entry. Audited as `audit.read` (reason "
    "`subject-access`).",
)
@apidoc.operation(
    blp,
    "listSubjectEntries",
    ok=200,
    schema=SubjectEntries,
    description="The entries",
    example=examples.SUBJECT_ENTRIES,
    parameters=[apidoc.path("v_number", apidoc.V_NUMBER, "the newcomer's V-nummer")],
    problem_codes=READ_PROBLEMS,
)
def subject(v_number: str) -> Any:
    party = http.caller()
    pseudonym, found = auditing.subject_entries(
        http.services(), party, v_number, http.now(), http.trace_id()
    )
    return {"subject": pseudonym, "entries": found}


@blp.route("/note-key", methods=["GET"])
@blp.doc(
    summary="The C2SP verifier key of the checkpoint notes (public)",
    description="No authentication. `<origin>+<key id hex>+<base64(0x01 ‖ public key)>`: "
    "verifies the signed note of `GET /v1/audit/checkpoint` with `Accept: text/plain`.",
)
@apidoc.operation(
    blp,
    "getNoteKey",
    ok=200,
    schema={"type": "string"},
    content_type="text/plain",
    description="name+hash+key, one line",
    example=examples.NOTE_KEY,
    secured=False,
    problem_codes={},
)
def note_key() -> Any:
    return Response(http.services().checkpoints.vkey() + "\n", mimetype="text/plain")
