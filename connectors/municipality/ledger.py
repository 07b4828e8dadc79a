"""The receipts of a party's own records (assign, plan, declare, withdraw), kept by meaning.

An export row is one message, so the COA export keys its receipts by row and
derives each message id from the row's content. A municipality's actions are
different: an assignment, a plan, a declaration is a thing that changes over
time, and running the same command or file again must not make a second one.
So each action is keyed by what it means (this newcomer's assignment to this
provider from this day; this newcomer's plan here; this declaration), and
kept in the same receipts file as the COA export's (``ReceiptsFile``): the
same content again sends nothing ("already receipted"), a change is sent as
the next version of the same thing.

The keys, the ids derived from them and the content digests are keyed with a
secret derived from the party's private key. They are reproducible by that
party alone (on another machine, without this file: the same assignment gets
the same ``assignment_id``), and they give nobody else a way to test
V-nummers against them, as a plain hash of a 10-digit number would. The file
holds no personal data: keys, digests, ids, the gateway's receipts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from connectors.common.client import GatewayClient
from connectors.common.receipts import ReceiptsFile
from gateway.client import wire
from gateway.errors import Conflict

SENT, REPEATED, RECEIPTED, EARLIER = "recorded", "repeated", "already-receipted", "earlier"
"""How an action ended: sent and accepted (202); sent again to the very same bytes (200,
the original receipt); not sent, this receipts file has it; not sent, the gateway had it"""


@dataclass(frozen=True)
class Done:
    what: str
    """what was recorded, by its id (never a value): ``assignment <id>``"""
    outcome: str
    index: int | None = None
    """the audit index of its receipt, when there is one"""

    def line(self) -> str:
        """What a person reads: recorded, or why nothing was sent."""
        at = f" (audit index {self.index})" if self.index is not None else ""
        if self.outcome == SENT:
            return f"{self.what} recorded{at}"
        if self.outcome == REPEATED:
            return f"{self.what} recorded{at} (already at the gateway: its original receipt)"
        if self.outcome == RECEIPTED:
            return f"{self.what} already receipted{at}; nothing sent"
        return f"{self.what} already at the gateway (sent earlier, no receipt here); nothing sent"


class Ledger:
    """A party's receipts file of actions, and the keyed derivations that index it."""

    def __init__(self, client: GatewayClient, path: Path) -> None:
        """Raises Conflict when ``path`` holds the receipts of another gateway."""
        self.client = client
        self.secret = hashlib.sha256(
            b"inburgering-connector-ids\0" + _canonical(wire.private_jwk(client.key))
        ).digest()
        gateway = (client.base_url, sorted(client.gateway_keys()))
        self.file = ReceiptsFile(path, "", datetime.now(UTC), gateway)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.file.close()

    @staticmethod
    def default_path(client: GatewayClient) -> Path:
        """``<OIN>.receipts.jsonl`` in the current folder: one per party, for all its actions."""
        return Path.cwd() / f"{client.oin}.receipts.jsonl"

    def derive(self, *parts: Any) -> str:
        """A UUID only this party derives from ``parts``, the same every time."""
        mac = hmac.new(self.secret, _canonical(["id", *parts]), hashlib.sha256).digest()
        return str(uuid.UUID(bytes=mac[:16], version=4))

    def digest(self, *parts: Any) -> str:
        """The keyed digest of what an action says, to know the same content again."""
        return hmac.new(self.secret, _canonical(["digest", *parts]), hashlib.sha256).hexdigest()

    def latest(self, key: str) -> dict[str, Any] | None:
        """The newest record of ``key`` that went through, or None."""
        records = self.file.keyed.get(key)
        return records[-1] if records else None

    def seen(self, key: str, digest: str) -> dict[str, Any] | None:
        """The newest record of ``key`` that went through with this very content, or None."""
        found = [r for r in self.file.keyed.get(key, []) if r.get("digest") == digest]
        return found[-1] if found else None

    def send(self, key: str, digest: str, payload: dict[str, Any], what: str, **extra: Any) -> Done:
        """Sign and submit ``payload`` (no message_id, no issued_at yet); keep the outcome.

        The message id is derived from the key, the content and the previous
        message of the key, and ``issued_at`` is the receipts file's run
        time: a send killed in flight is, when run again, the very same bytes
        (the gateway answers 200 with the original receipt); without this file
        it is the same id (the gateway says it has it: 409, not a duplicate).
        Raises the gateway's refusal as its GatewayError.
        """
        previous = self.latest(key)
        message_id = self.derive("message", key, digest, previous and previous["message_id"])
        signed = {
            "message_id": message_id,
            **payload,
            "issued_at": self.file.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        record = {"key": key, "digest": digest, "message_id": message_id, **extra}
        try:
            submitted = self.client.submit(self.client.sign(signed))
        except Conflict as error:
            if error.reason != "message-id-reused":
                raise
            self.keep({**record, "status": 409, "earlier": True})
            return Done(what, EARLIER)
        index = submitted.receipt.get("audit", {}).get("index")
        self.keep({**record, "status": submitted.status, "receipt": submitted.token,
                   "index": index})  # fmt: skip
        return Done(what, SENT if submitted.status == 202 else REPEATED, index)

    def keep(self, record: dict[str, Any]) -> None:
        """Append a record that went through, and index it for the rest of this run."""
        self.file.append(record)
        self.file.keyed.setdefault(record["key"], []).append(record)

    def close(self) -> None:
        self.file.close()


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
