"""``gateway demo`` part 6: the auditor's witness cosigning the log.

Before the gateway first serves, the auditor makes a witness (its own
ML-DSA-44 key and state, in the demo's folder) and trusts the gateway's note
key; the gateway is told the witness in a C2SP tlog-policy file. The witness
then serves in a thread of the demo's process, on loopback, as
``gateway connect auditor witness serve`` would.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from connectors.auditor import witnessed
from connectors.auditor.verify import check_once
from connectors.auditor.witness.server import WitnessServer
from connectors.auditor.witness.state import WitnessState
from connectors.common.client import GatewayClient
from gateway.client import witness
from gateway.errors import NotFound

NAME = "witness.auditdienst.example/demo"
SETTINGS = {"GATEWAY_CHECKPOINT_INTERVAL_SECONDS": "4"}
"""a checkpoint every few seconds, and the witness asked every second"""


@dataclass(frozen=True)
class DemoWitness:
    vkey: str
    url: str
    policy: Path
    """the gateway's policy file (the witness, its URL, the quorum)"""
    auditor_policy: Path
    """the auditor's (the gateway's note key as its log, the same witness)"""


@contextmanager
def auditor_witness(folder: Path, log_vkey: str) -> Iterator[DemoWitness]:
    """The auditor's witness of the log of ``log_vkey``, serving until the block ends, with
    the gateway's settings naming it in this process's environment meanwhile."""
    key = witness.CosigningKey.generate(NAME, witness.MLDSA44_COSIGNATURE)
    (folder / "witness").mkdir(mode=0o700)
    state = WitnessState(folder / "witness" / "witness.sqlite3")
    state.add_log(witness.parse_vkey(log_vkey, (witness.NOTE,)))
    server = WitnessServer(("127.0.0.1", 0), state, key, log=open(os.devnull, "w"))  # noqa: SIM115
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    policy = folder / "witnesses.policy"
    policy.write_text(f"witness auditdienst {key.verifier.vkey} {url}\nquorum auditdienst\n")
    auditor = folder / "auditor.policy"
    auditor.write_text(f"log {log_vkey}\nwitness auditdienst {key.verifier.vkey} {url}\n"
                       "quorum auditdienst\n")  # fmt: skip
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              name="demo-witness", daemon=True)  # fmt: skip
    thread.start()
    saved = {name: os.environ.get(name) for name in (*SETTINGS, "GATEWAY_WITNESS_POLICY")}
    os.environ.update({**SETTINGS, "GATEWAY_WITNESS_POLICY": str(policy)})
    try:
        yield DemoWitness(key.verifier.vkey, url, policy, auditor)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        server.shutdown()
        server.server_close()
        state.close()


def witnesses_at_work(auditor: GatewayClient, seen: DemoWitness, folder: Path) -> tuple[
    list[str], bool]:  # fmt: skip
    """The witness's cosignature awaited, then the auditor's check with its policy."""
    deadline, note = time.monotonic() + 20, None
    while note is None and time.monotonic() < deadline:
        try:
            note = auditor.get("/v1/audit/witnessed", accept="text/plain").text
        except NotFound:
            time.sleep(0.2)
    if note is None:
        return ["the witness did not cosign within 20 s"], False
    size = witness.parse_body(witness.parse_note(note).text).size
    watched = check_once(auditor, folder / "auditor.state", 0,
                         witnessed.read_policy(seen.auditor_policy))  # fmt: skip
    vouched = watched.witnessed
    ok = vouched is not None and vouched.cosigners == ("auditdienst",)
    return [
        f"the auditor's witness ({NAME}, ML-DSA-44) at {seen.url}",
        f"cosigned tree size {size}: GET /v1/audit/witnessed carries its line beside the "
        "gateway's signature",
        f"watch --policy: the newest checkpoint ({watched.tree_size}) extends the witnessed "
        f"one ({vouched.tree_size if vouched else '?'}); asked directly, the witness agrees"
        if vouched and vouched.witnesses_asked else "watch --policy: NOT as expected",
        "a database restored from an older backup would now stop intake (503 log-held)",
    ], ok
