"""Which receipts a restored log still holds, and which name entries it lost.

A receipt is the gateway's signed word that a message is kept, at an audit index, with a leaf
hash. After a restore from a backup, the messages taken after the backup are gone, and their
receipts with them: the senders must be told which, by message id and audit index, not left
to find out. The connectors keep their receipts in a JSON Lines file (the first line describes
the run; each line after it a row's outcome, the receipt as the compact JWS the gateway sent).
It is read here as text, line by line, without the connectors' code, which the gateway never
imports: a record counts when it carries a receipt; refusals carry none.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.domain.wire import envelope, jwk
from gateway.errors import GatewayError
from gateway.storage.restored import LogRows

KEPT, AFTER_END, OTHER_ENTRY = "kept", "after-end", "other-entry"


@dataclass(frozen=True, order=True)
class Receipted:
    """One receipt: the message it names and where the log put it (no personal data)."""

    index: int
    message_id: str
    leaf_hash: str = field(compare=False)


@dataclass
class Accounting:
    """Every receipt read, in exactly one list."""

    kept: list[Receipted] = field(default_factory=list)
    """its entry is in the restored log: same index, same leaf hash"""
    lost: list[tuple[Receipted, str]] = field(default_factory=list)
    """not in the restored log, and why: ``after-end`` (its index is at or past the restored
    log's end: taken after the backup) or ``other-entry`` (the log holds another entry there)"""
    foreign: list[str] = field(default_factory=list)
    """message ids of receipts this instance's keys do not verify (another gateway's)"""
    unknown: list[str] = field(default_factory=list)
    """message ids the files say were sent earlier, with no receipt to account by"""

    def to_json(self) -> dict[str, Any]:
        lost = [{"message_id": r.message_id, "index": r.index, "why": why} for r, why in self.lost]
        return {
            "kept": [{"message_id": r.message_id, "index": r.index} for r in self.kept],
            "lost": lost,
            "foreign": self.foreign,
            "unknown": self.unknown,
        }


def read(paths: Iterable[Path], keys: Mapping[str, jwk.Key]) -> tuple[list[Receipted], list[str],
                                                                      list[str]]:  # fmt: skip
    """The receipts in the files that verify with ``keys`` (each message once), the message ids
    of those that do not, and of rows sent earlier without a receipt. A receipt its file
    voided later (``gateway connect receipts void-lost``: lost in an earlier restore, sent
    again since) no longer counts: its old index would name a kept message lost."""
    found: dict[tuple[str, int], Receipted] = {}
    foreign: list[str] = []
    unknown: list[str] = []
    for record in _records(paths):
        if "voided" in record:
            gone = str(record["voided"]).lower()
            found = {k: r for k, r in found.items() if r.message_id.lower() != gone}
            unknown = [m for m in unknown if m.lower() != gone]
            continue
        token, message_id = record.get("receipt"), str(record.get("message_id", ""))
        if not isinstance(token, str):
            if record.get("earlier"):
                unknown.append(message_id)
            continue
        receipted = _verified(token, keys)
        if receipted is None:
            foreign.append(message_id)
        else:
            found.setdefault((receipted.message_id, receipted.index), receipted)
    return sorted(found.values()), sorted(set(foreign)), sorted(set(unknown) - {""})


def _records(paths: Iterable[Path]) -> Iterable[dict[str, Any]]:
    for path in paths:
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # a line half-written when a run was killed
                if isinstance(record, dict) and "run" not in record:
                    yield record


def _verified(token: str, keys: Mapping[str, jwk.Key]) -> Receipted | None:
    """The receipt's message id, audit index and leaf hash, if one of ``keys`` signed it."""
    try:
        unverified = envelope.parse(token.encode("ascii"), typ=envelope.RECEIPT_TYP)
        key = keys.get(unverified.header.kid)
        if key is None:
            return None
        payload = envelope.verify(unverified, key).payload
        audit = payload["audit"]
        return Receipted(int(audit["index"]), str(payload["message_id"]), str(audit["leaf_hash"]))
    except (GatewayError, UnicodeEncodeError, KeyError, TypeError, ValueError):
        return None


def account(paths: Iterable[Path], keys: Mapping[str, jwk.Key], size: int,
            rows: LogRows) -> Accounting:  # fmt: skip
    """Each receipt in the files against the log of ``size`` entries: kept where the entry at
    its index has its leaf hash (the hash covers the message id), lost otherwise."""
    receipts, foreign, unknown = read(paths, keys)
    stored = rows.leaf_hashes(r.index for r in receipts if r.index < size)
    done = Accounting(foreign=foreign, unknown=unknown)
    for receipt in receipts:
        if receipt.index >= size:
            done.lost.append((receipt, AFTER_END))
        elif stored.get(receipt.index) == receipt.leaf_hash:
            done.kept.append(receipt)
        else:
            done.lost.append((receipt, OTHER_ENTRY))
    return done
