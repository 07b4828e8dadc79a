"""The operator's first commands on a machine where nothing exists yet."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_db_upgrade_makes_the_instance_folder_of_a_new_deployment(tmp_path: Path) -> None:
    instance = tmp_path / "not" / "there" / "yet"
    env = {**os.environ, "GATEWAY_INSTANCE": str(instance)}
    env.pop("GATEWAY_DATABASE_URL", None)
    out = subprocess.run(
        [sys.executable, "-m", "gateway", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert (instance / "gateway.db").exists()


def _gateway(instance: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GATEWAY_INSTANCE": str(instance)}
    env.pop("GATEWAY_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args], env=env, capture_output=True, text=True,
        timeout=60, check=False, cwd=instance.parent,
    )  # fmt: skip


def test_the_walkthrough_s_operator_steps_run_twice_change_nothing(tmp_path: Path) -> None:
    from gateway import instance as instances

    instance = tmp_path / "instance"
    instances.load_secrets(instance, {})
    add = ("parties", "add", "--oin", "00000001002220647000", "--role", "municipality",
           "--name", "Gemeente Leiden", "--municipality-code", "GM0546")  # fmt: skip
    assert _gateway(instance, *add).returncode == 0
    again = _gateway(instance, *add)
    assert again.returncode == 0, again.stderr
    assert "is registered already, as given; nothing changed" in again.stdout
    other = _gateway(instance, *add[:-3], "Gemeente Elders", *add[-2:])
    assert other.returncode == 1 and "already registered" in other.stderr

    made = _gateway(instance, "keys", "generate", "--out", str(tmp_path / "leiden.jwk"))
    remade = _gateway(instance, "keys", "generate", "--out", str(tmp_path / "leiden.jwk"))
    assert remade.returncode == 0 and remade.stdout == made.stdout  # the same public JWK
    assert "exists: its public JWK (no new key made)" in remade.stderr
    public = tmp_path / "leiden.public.jwk"
    public.write_text(made.stdout)
    key = ("keys", "add", "--oin", "00000001002220647000", "--jwk", str(public))
    assert _gateway(instance, *key).returncode == 0
    twice = _gateway(instance, *key)
    assert twice.returncode == 0 and "is registered already for" in twice.stdout, twice.stderr
    listed = _gateway(instance, "parties", "list").stdout.splitlines()
    assert len(listed) == 2 and listed[1].split()[3] == "1"  # one party, one key
