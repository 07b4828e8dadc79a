"""A restore's accounting of the senders' receipts: a receipt its file voided later (lost in
an earlier restore, sent again since) no longer counts; its old index named a message the
log kept as lost, and that range went into the restore's own log entry."""

from __future__ import annotations

import json
from pathlib import Path

from gateway.continuity import receipts
from gateway.domain.wire import envelope, jwk


def _receipt(key: jwk.Key, message_id: str, index: int) -> str:
    payload = {"message_id": message_id, "status": "accepted",
               "audit": {"index": index, "leaf_hash": f"{index:064x}"}}  # fmt: skip
    return envelope.sign(payload, key, typ=envelope.RECEIPT_TYP)


def test_a_receipt_voided_later_in_its_file_is_not_accounted(tmp_path: Path) -> None:
    key = jwk.generate("Ed25519")
    lines = [
        {"row": 1, "message_id": "m-1", "receipt": _receipt(key, "m-1", 3)},
        {"row": 2, "message_id": "m-2", "receipt": _receipt(key, "m-2", 4)},
        {"voided": "m-2", "why": "lost in a restore"},
        {"row": 2, "message_id": "m-2", "receipt": _receipt(key, "m-2", 9)},  # sent again
        {"row": 3, "message_id": "m-3", "status": 409, "earlier": True},
        {"voided": "m-3", "why": "lost in a restore"},
    ]
    path = tmp_path / "r.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    found, foreign, unknown = receipts.read([path], {jwk.thumbprint(key): key})
    assert [(r.message_id, r.index) for r in found] == [("m-1", 3), ("m-2", 9)]
    assert foreign == [] and unknown == []
