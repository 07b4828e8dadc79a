"""Rotating the gateway's keys under load, as an operator does it (issue #33).

The signing key: two instances given their secrets by environment, a client sending
profiles all along through a front that goes on to the other instance while one
restarts; each step (publish, activate, retire) run as ``gateway secrets …`` and rolled
out by restarting the instances one at a time. Every receipt from before, during and
after verifies with a fresh client against the published keys, the offline verifier
accepts the whole log with checkpoints of both keys, and a witness holding the old note
key accepts every note until the old key is retired, one holding the new from its
publication on. The master key: its data keys rewrapped while profiles come in, the
command killed midway and run again; then the server starts without the old key and
every body is handed out.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import Engine

from connectors.common.client import GatewayClient
from gateway.bootstrap import open_engine, storage_of
from gateway.devtools import demo
from gateway.devtools.serverproc import ServerProcess
from gateway.domain import vault
from gateway.domain.audit import checkpoints
from gateway.domain.wire import envelope, jwk
from gateway.instance import master_keys, new_shared_secrets
from gateway.service.services import Services
from gateway.storage.datakeys import DataKeyStore
from tests.conftest import services_for
from tests.helpers import profile_token

pytestmark = pytest.mark.e2e
JOSE = {"Content-Type": "application/jose"}
FAST = {"GATEWAY_CHECKPOINT_INTERVAL_SECONDS": "1"}


@dataclass
class Front:
    """A load balancer's part: each message to the next instance, and on to another when
    one does not answer (it is restarting) or is not ready."""

    servers: list[ServerProcess]
    turn: itertools.count[int] = field(default_factory=itertools.count)

    def post(self, token: str) -> str:
        for _ in range(400):
            server = self.servers[next(self.turn) % len(self.servers)]
            try:
                answer = requests.post(server.url + "/v1/messages", data=token, headers=JOSE,
                                       timeout=10)  # fmt: skip
            except requests.RequestException:
                time.sleep(0.02)
                continue
            if answer.status_code in (200, 202):
                return str(answer.json()["receipt"])
            assert answer.status_code in (502, 503), answer.text
            time.sleep(0.02)
        raise AssertionError("no instance took the message")


class Load(threading.Thread):
    """Profiles of new newcomers, one every ``gap`` seconds, until stopped; each receipt
    kept with the phase of the rotation it came in."""

    def __init__(self, front: Front, coa: GatewayClient, first_seed: int, gap: float) -> None:
        super().__init__(daemon=True)
        self.front, self.coa, self.seed, self.gap = front, coa, first_seed, gap
        self.phase = "before"
        self.receipts: list[tuple[str, str]] = []
        self.stopping = threading.Event()
        self.failed: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                token, _ = profile_token(self.coa, self.seed)
                self.seed += 1
                self.receipts.append((self.phase, self.front.post(token)))
                time.sleep(self.gap)
        except BaseException as error:  # the test's thread raises it
            self.failed = error

    def finish(self) -> list[tuple[str, str]]:
        self.stopping.set()
        self.join(timeout=60)
        if self.failed is not None:
            raise self.failed
        return self.receipts


def _secrets(env: dict[str, str], *args: str) -> str:
    """``gateway secrets …`` as the operator runs it; its output."""
    done = subprocess.run([sys.executable, "-m", "gateway", "secrets", *args],
                          env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def _roll(servers: list[ServerProcess], changed: dict[str, str]) -> list[threading.Thread]:
    """Every instance replaced by one given the ``changed`` environment, one at a time, as a
    rolling deployment does: the new one started and taking requests first, then the old
    one stopped, gracefully (it finishes what it has in hand), in the background."""
    stopping = []
    for at, old in enumerate(list(servers)):
        servers[at] = ServerProcess(old.instance, env={**old.env, **changed},
                                    threads=old.threads).start()  # fmt: skip
        stopping.append(threading.Thread(target=old.stop, daemon=True))
        stopping[-1].start()
    return stopping


def _kid(token: str, typ: str) -> str:
    return envelope.parse(token.encode(), typ=typ).header.kid


def test_the_signing_key_rotates_on_two_instances_under_load(
    tmp_path: Path, db_env: dict[str, str]
) -> None:
    env = {**db_env, **new_shared_secrets(), **FAST}
    instance = tmp_path / "instance"
    operator = {**dict(os.environ), "GATEWAY_INSTANCE": str(instance), **env}
    servers = [ServerProcess(instance, env=env, threads=2).start() for _ in range(2)]
    services = services_for(instance, env)
    stopping: list[threading.Thread] = []
    try:
        cast = demo.register_cast(services, servers[0].url, datetime.now(UTC))
        _rotate_under_load(servers, cast, operator, services, stopping)
    finally:
        for server in servers:
            server.stop()
        for thread in stopping:
            thread.join(timeout=30)
        storage_of(services).engine.dispose()


def _rotate_under_load(
    servers: list[ServerProcess], cast: demo.Cast, operator: dict[str, str], services: Services,
    stopping: list[threading.Thread],
) -> None:  # fmt: skip
    origin = _auditor(servers, cast).request("GET", "/v1/audit/note-key").text.split("+")[0]
    old = jwk.import_jwk(json.loads(operator["GATEWAY_SIGNING_KEY"]), private=True)
    load = Load(Front(servers), cast.client(demo.COA), 20_000, gap=0.05)
    load.start()
    time.sleep(1.0)
    notes = [("before", _newest_note(servers, cast))]
    new_kid = ""
    for command in ("add-signing-key", "activate-signing-key", "retire-signing-key"):
        out = services.settings.instance.parent / f"{command}.json"
        chosen = {"add-signing-key": [], "activate-signing-key": [new_kid],
                  "retire-signing-key": [jwk.thumbprint(old)]}[command]  # fmt: skip
        _secrets(operator, command, *chosen, "--out", str(out))
        operator["GATEWAY_SIGNING_KEY"] = out.read_text()
        new_kid = new_kid or next(k["jwk"]["kid"] for k in json.loads(out.read_text())["keys"]
                                  if k["state"] == "overlap")  # fmt: skip
        load.phase = command
        stopping += _roll(servers, {"GATEWAY_SIGNING_KEY": operator["GATEWAY_SIGNING_KEY"]})
        time.sleep(1.0)  # a checkpoint or two by the background signer
        notes.append((command, _newest_note(servers, cast)))
    receipts = load.finish()
    _every_receipt_verifies(servers[1], cast, receipts, jwk.thumbprint(old), new_kid)
    _every_checkpoint_verifies(cast, servers[0], origin, jwk.thumbprint(old), new_kid)
    _every_step_is_in_the_log(services, jwk.thumbprint(old), new_kid)
    _witnesses_keep_accepting(notes, origin, old, _published(servers[0])[new_kid])


def _auditor(servers: list[ServerProcess], cast: demo.Cast) -> GatewayClient:
    """The auditor's client of an instance running now (the instances change in a roll)."""
    return GatewayClient(servers[0].url, demo.AUDITOR, cast.keys[demo.AUDITOR])


def _newest_note(servers: list[ServerProcess], cast: demo.Cast) -> str:
    """The newest checkpoint as a witness is sent it: the signed note."""
    return _auditor(servers, cast).get("/v1/audit/checkpoint", accept="text/plain").text


def _published(server: ServerProcess, path: str = "/.well-known/jwks.json") -> dict[str, Any]:
    keys = requests.get(server.url + path, timeout=10).json()["keys"]
    return {key["kid"]: jwk.import_jwk(key) for key in keys}


def _every_receipt_verifies(
    server: ServerProcess, cast: demo.Cast, receipts: list[tuple[str, str]], old: str, new: str
) -> None:
    fresh = GatewayClient(server.url, demo.COA, cast.keys[demo.COA])  # no key set kept
    kids: dict[str, set[str]] = {phase: set() for phase, _ in receipts}
    for phase, receipt in receipts:
        fresh.verify_gateway_token(receipt, envelope.RECEIPT_TYP)
        kids[phase].add(_kid(receipt, envelope.RECEIPT_TYP))
    assert set(kids) == {"before", "add-signing-key", "activate-signing-key",
                         "retire-signing-key"}  # fmt: skip
    assert kids["before"] == kids["add-signing-key"] == {old}  # published before it signs
    assert kids["retire-signing-key"] == {new}
    assert list(_published(server)) == [new, old]  # the active key first, the retired kept
    assert list(_published(server, "/v1/keys/retired")) == [old]


def _every_checkpoint_verifies(
    cast: demo.Cast, server: ServerProcess, origin: str, old: str, new: str
) -> None:
    """The offline verifier accepts the whole log; its checkpoints are of both keys."""
    auditor = _auditor([server], cast)
    key = server.instance.parent / "auditor.jwk"
    key.write_text(json.dumps(jwk.private_jwk(cast.keys[demo.AUDITOR])))
    verified = subprocess.run(
        [sys.executable, "-m", "gateway", "audit", "verify", "--url", server.url,
         "--oin", demo.AUDITOR, "--key", str(key)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr
    kids = set()
    after: int | None = 0
    while after is not None:
        page = auditor.get_json("/v1/audit/checkpoints", after=after)
        kids |= {
            _kid(item["checkpoint"], checkpoints.CHECKPOINT_TYP) for item in page["checkpoints"]
        }
        after = page.get("next_after")
    assert kids == {old, new}
    vkey = auditor.request("GET", "/v1/audit/note-key").text.strip()
    assert vkey.startswith(origin + "+")  # the origin never changed


def _every_step_is_in_the_log(services: Services, old: str, new: str) -> None:
    entries = [e["entry"] for e in storage_of(services).audit.entries()]
    said = [e["reason"] for e in entries if e["event"] == "signing_key.changed"]
    assert said == [f"published:{new}", f"activated:{new}", f"retired:{old}"]
    assert not [e for e in entries if e["event"] == "log.origin_changed"]


def _witnesses_keep_accepting(
    notes: list[tuple[str, str]], origin: str, old: jwk.Key, new: jwk.Key
) -> None:
    """A witness holding the old note key accepts every note up to the retirement; one
    given the new note key accepts every note from its publication on."""
    for phase, note in notes:
        assert note.startswith(origin + "\n")
        if phase != "retire-signing-key":
            checkpoints.verify_note(note, origin, old)
        if phase != "before":
            checkpoints.verify_note(note, origin, new)


def test_the_master_key_is_rewrapped_under_load_killed_midway_and_run_again(
    tmp_path: Path, db_env: dict[str, str]
) -> None:
    instance = tmp_path / "instance"
    servers = [ServerProcess(instance, env=db_env, threads=2).start()]
    services = services_for(instance, db_env)
    operator = {**dict(os.environ), "GATEWAY_INSTANCE": str(instance), **db_env}
    stopping: list[threading.Thread] = []
    try:
        cast = demo.register_cast(services, servers[0].url, datetime.now(UTC))
        front = Front(servers)
        sent = [front.post(profile_token(cast.client(demo.COA), seed)[0]) for seed in range(80)]
        old_id = vault.Vault(_master_keys(instance)).ids[0]
        new_id = _secrets(operator, "add-master-key").split()[3]
        _secrets(operator, "activate-master-key", new_id)
        stopping += _roll(servers, {})
        sent += _rewrap_under_load(front, cast, operator, services, old_id, new_id)
        _secrets(operator, "retire-master-key", old_id)
        assert vault.Vault(_master_keys(instance)).ids == (new_id,)
        stopping += _roll(servers, {})  # without the old master key
        for thread in stopping:
            thread.join(timeout=30)  # nothing that holds the old key serves any more
        _every_body_is_handed_out(servers[0], cast, sent)
    finally:
        servers[0].stop()
        for thread in stopping:
            thread.join(timeout=30)
        storage_of(services).engine.dispose()


def _master_keys(instance: Path) -> tuple[bytes, ...]:
    return master_keys((instance / "master.key").read_text())


def _rewrap_under_load(
    front: Front, cast: demo.Cast, operator: dict[str, str], services: Services, old_id: str,
    new_id: str,
) -> list[str]:  # fmt: skip
    load = Load(front, cast.client(demo.COA), 30_000, gap=0.05)
    load.start()
    command = [sys.executable, "-m", "gateway", "secrets", "rewrap-master-key",
               "--batch", "8", "--pause", "0.1"]  # fmt: skip
    killed = subprocess.Popen(command, env=operator, stdout=subprocess.PIPE, text=True)
    assert killed.stdout is not None
    lines = [killed.stdout.readline() for _ in range(2)]
    killed.kill()  # SIGKILL: no cleanup, as a crash or an impatient operator
    killed.wait(timeout=10)
    killed.stdout.close()
    assert all(line.startswith("looked at") for line in lines), lines
    engine = open_engine(services.settings)
    midway = _by_key(engine)
    assert midway[old_id] > 0 and midway[new_id] > 0, midway  # stopped midway
    again = _secrets(operator, "rewrap-master-key", "--batch", "50")
    assert "every data key" in again
    assert int(re.findall(r"passed over (\d+)", again)[-1]) >= 16  # the killed run's pages
    receipts = load.finish()
    assert set(_by_key(engine)) == {new_id}
    engine.dispose()
    return [receipt for _, receipt in receipts]


def _by_key(engine: Engine) -> dict[str, int]:
    found: dict[str, int] = {}
    for wrapped in DataKeyStore(engine).all():
        named = vault.wrapped_by(wrapped) or "unnamed"
        found[named] = found.get(named, 0) + 1
    return found


def _every_body_is_handed_out(server: ServerProcess, cast: demo.Cast, sent: list[str]) -> None:
    leiden = GatewayClient(server.url, demo.LEIDEN, cast.keys[demo.LEIDEN])
    fresh = GatewayClient(server.url, demo.COA, cast.keys[demo.COA])
    wanted = {str(fresh.verify_gateway_token(r, envelope.RECEIPT_TYP)["message_id"]) for r in sent}
    pulled: set[str] = set()
    after = 0
    while True:
        page = leiden.get_json("/v1/inbox", after=after, limit=500)
        if not page["deliveries"]:
            break
        pulled |= {str(d["message_id"]) for d in page["deliveries"]}
        after = page["next_cursor"]
    assert pulled == wanted
