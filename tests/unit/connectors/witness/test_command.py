"""``gateway connect auditor witness``: its folder, its key, and one line and exit 2 for
every mistake."""

from __future__ import annotations

import socket
import stat
from pathlib import Path

from click.testing import CliRunner, Result

from connectors.cli import connect
from gateway.client.witness import (
    ED25519_COSIGNATURE,
    MLDSA44_COSIGNATURE,
    NOTE,
    CosigningKey,
    parse_vkey,
)
from tests.unit.connectors.witness.logside import Log


def _run(*args: str) -> Result:
    return CliRunner().invoke(connect, ["auditor", "witness", *args])


def _refused(result: Result, words: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_init_makes_a_private_folder_and_key_and_prints_the_vkey(tmp_path: Path) -> None:
    data = tmp_path / "witness"
    made = _run("init", "--data", str(data), "--name", "inspectie.example/witness")
    assert made.exit_code == 0, made.output
    vkey = parse_vkey(made.stdout.strip())
    assert (vkey.name, vkey.kind) == ("inspectie.example/witness", MLDSA44_COSIGNATURE)
    assert "give the verifier key" in made.stderr
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "witness.key").stat().st_mode) == 0o600
    assert CosigningKey.parse((data / "witness.key").read_text()).verifier == vkey
    assert _run("vkey", "--data", str(data)).stdout.strip() == vkey.vkey
    again = _run("init", "--data", str(data), "--name", "inspectie.example/witness")
    _refused(again, "exists")
    assert parse_vkey(_run("vkey", "--data", str(data)).stdout.strip()) == vkey


def test_init_takes_ed25519_and_refuses_a_bad_name(tmp_path: Path) -> None:
    made = _run("init", "--data", str(tmp_path / "w"), "--name", "w.example/e",
                "--algorithm", "ed25519")  # fmt: skip
    assert parse_vkey(made.stdout.strip()).kind == ED25519_COSIGNATURE
    _refused(_run("init", "--data", str(tmp_path / "x"), "--name", "a b"), "no spaces")
    assert not (tmp_path / "x").exists()


def test_add_log_takes_only_a_logs_note_key(tmp_path: Path) -> None:
    data = str(tmp_path / "w")
    _refused(_run("add-log", "--data", data, "--vkey", Log().verifier.vkey), "no witness in")
    _run("init", "--data", data, "--name", "w.example/w", "--algorithm", "ed25519")
    log = Log()
    added = _run("add-log", "--data", data, "--vkey", log.verifier.vkey)
    assert added.exit_code == 0 and "trusted: log gemeente.example/audit" in added.stdout
    assert "already trusted" in _run("add-log", "--data", data, "--vkey", log.verifier.vkey).stdout
    cosigner = CosigningKey.generate("other.example/w", ED25519_COSIGNATURE).verifier.vkey
    _refused(_run("add-log", "--data", data, "--vkey", cosigner), "type 0x04")
    _refused(_run("add-log", "--data", data, "--vkey", "nonsense"), "malformed")
    listed = _run("logs", "--data", data).stdout
    assert listed == (f"gemeente.example/audit  keys {log.verifier.key_id.hex()}  "
                      "nothing cosigned yet\n")  # fmt: skip
    assert parse_vkey(log.verifier.vkey, (NOTE,)) == log.verifier


def test_serve_refuses_to_start_without_a_key_a_log_or_an_address(tmp_path: Path) -> None:
    data = str(tmp_path / "w")
    _refused(_run("serve", "--data", data, "--listen", "127.0.0.1:0"), "no witness in")
    _run("init", "--data", data, "--name", "w.example/w", "--algorithm", "ed25519")
    _refused(_run("serve", "--data", data, "--listen", "127.0.0.1:0"), "no log to witness")
    _run("add-log", "--data", data, "--vkey", Log().verifier.vkey)
    _refused(_run("serve", "--data", data, "--listen", "7380"), "give HOST:PORT")
    _refused(_run("serve", "--data", data, "--listen", "127.0.0.1:99999"), "give HOST:PORT")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        _refused(_run("serve", "--data", data, "--listen", f"127.0.0.1:{port}"), "cannot listen")


def test_a_broken_key_file_is_one_line(tmp_path: Path) -> None:
    data = tmp_path / "w"
    _run("init", "--data", str(data), "--name", "w.example/w", "--algorithm", "ed25519")
    (data / "witness.key").write_text("PRIVATE+KEY+w.example/w+00000000+AAAA\n")
    _refused(_run("vkey", "--data", str(data)), "witness.key")
