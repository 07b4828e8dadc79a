"""The connectors as subprocesses, over HTTP, where something is wrong: bad rows named
by line, field and rule; a delivery its token does not sign; a receipts file of another
gateway; a URL that is not one, or no gateway; a forked or truncated log; and the
party directory with its refused role. The whole scenario is in ``test_connectors``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.auditor.verify import check_once
from connectors.common import exportfile
from gateway.bootstrap import storage_of
from gateway.devtools import demo, samplefiles
from gateway.devtools.serverproc import ServerProcess
from gateway.domain.wire import jwk
from tests.conftest import services_for
from tests.e2e.connector_world import SAMPLES, World, own_gateway
from tests.helpers import connector, write_keys

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with own_gateway(tmp_path) as built:
        yield built


def test_bad_rows_are_named_by_line_field_and_rule_and_do_not_stop_the_batch(
    world: World,
) -> None:
    rows = [json.loads(line) for line in (SAMPLES / "coa-export.jsonl").read_text().splitlines()]
    rows = rows[:6]
    rows[1]["identity"]["bsn"] = "123456789"  # fails the 11-test
    rows[1]["identity"]["birth_date"] = "30-08-1976"  # and a second problem in the same row
    rows[3]["placement"]["municipality_code"] = "GM9999"  # no such municipality registered
    del rows[4]["identity"]["birth_date"]
    export = world.tmp / "export.csv"
    export.write_text(exportfile.csv_text(rows))
    result = world.run(demo.COA, "coa", str(export))
    assert result.returncode == 1
    assert "accepted (202): 3" in result.stdout
    # Lines as a spreadsheet shows them (the header is line 1), every problem in words.
    assert "line 3: identity.bsn: a BSN of 9 digits that passes the 11-test" in result.stdout
    assert "line 3: identity.birth_date: a date as YYYY-MM-DD" in result.stdout
    assert (
        "line 5: placement.municipality_code: no municipality with this code or OIN is "
        "registered at the gateway" in result.stdout
    )
    assert "line 6: identity: birth_date is required" in result.stdout
    assert "30-08-1976" not in result.stdout + result.stderr
    for row in rows:  # no value of a bad row in the output
        assert row["identity"]["family_name"] + "," not in result.stdout + result.stderr
    assert "123456789" not in result.stdout + result.stderr
    lines = (world.tmp / "export.csv.receipts.jsonl").read_text().splitlines()
    receipts = [json.loads(line) for line in lines]
    assert [r["row"] for r in receipts if r.get("error")] == [2, 4, 5]


def test_auditor_check_names_a_forked_or_truncated_log(world: World, tmp_path: Path) -> None:
    auditor = world.cast.client(demo.AUDITOR)
    state = tmp_path / "state.json"
    seen = check_once(auditor, state)
    assert seen.tree_size > 0 and state.exists()
    good = json.loads(state.read_text())
    from connectors.auditor.leaves import LogMismatch

    state.write_text(json.dumps({**good, "root_hash": "00" * 32}))
    with pytest.raises(LogMismatch, match="forked"):
        check_once(auditor, state)
    state.write_text(json.dumps({**good, "tree_size": good["tree_size"] + 1000}))
    with pytest.raises(LogMismatch, match="truncated"):
        check_once(auditor, state)
    state.write_text(json.dumps({**good, "tree_size": good["tree_size"] - 1}))
    with pytest.raises(LogMismatch, match="not consistent"):
        check_once(auditor, state)


def test_the_directory_lists_parties_for_any_registered_party(world: World) -> None:
    listed = world.cast.client(demo.PROVIDER).get_json("/v1/parties", role="municipality")
    assert {p["municipality_code"]: p["oin"] for p in listed["parties"]} == {
        "GM0546": demo.LEIDEN,
        "GM0344": demo.UTRECHT,
    }
    assert all(set(p) == {"oin", "role", "name", "municipality_code"} for p in listed["parties"])
    from gateway.errors import BadRequest

    with pytest.raises(BadRequest):
        world.cast.client(demo.COA).get_json("/v1/parties", role="admin")


def test_a_delivery_its_token_does_not_sign_is_refused_before_anything_is_kept(
    world: World, tmp_path: Path
) -> None:
    from connectors import municipality
    from gateway.errors import InvalidSignature

    sent = world.run(
        demo.COA, "coa", str(SAMPLES / "coa-export.jsonl"), "--receipts", str(tmp_path / "r.jsonl")
    )
    assert sent.returncode == 0, sent.stderr
    leiden = world.cast.client(demo.LEIDEN)
    delivery = leiden.get_json("/v1/inbox", limit=1)["deliveries"][0]
    assert municipality.verified(leiden, delivery) == delivery
    changed = {**delivery, "withheld_categories": []}
    with pytest.raises(InvalidSignature, match="does not sign this delivery"):
        municipality.verified(leiden, changed)
    with pytest.raises(InvalidSignature):
        municipality.verified(leiden, {k: v for k, v in delivery.items() if k != "delivery_token"})


def test_a_receipts_file_of_one_gateway_is_refused_by_another(world: World) -> None:
    receipts = world.tmp / "coa-export.csv.receipts.jsonl"  # the default, in the working folder
    first = world.run(demo.COA, "coa", str(SAMPLES / "coa-export.csv"))
    assert first.returncode == 0 and receipts.exists(), first.stdout + first.stderr
    assert not (SAMPLES / "coa-export.csv.receipts.jsonl").exists()  # never beside the sample
    with ServerProcess(world.tmp / "other-instance", workers=1, threads=2) as other:
        services = services_for(other.instance)
        cast = demo.register_cast(services, other.url, datetime.now(UTC))
        keys = write_keys(cast, world.tmp / "other-keys")
        again = connector(other.url, demo.COA, keys[demo.COA], "coa",
                          str(SAMPLES / "coa-export.csv"), cwd=world.tmp)  # fmt: skip
        storage_of(services).engine.dispose()
    assert again.returncode == 2, again.stdout + again.stderr
    assert f"holds receipts of gateway {world.server.url}" in again.stderr
    assert f"this is {other.url}" in again.stderr and "--receipts a new file" in again.stderr
    assert "skipped" not in again.stdout


def test_assign_takes_a_csv_and_names_each_refused_line(world: World) -> None:
    sent = world.run(demo.COA, "coa", str(SAMPLES / "coa-export.csv"))
    assert sent.returncode == 0, sent.stdout + sent.stderr
    many = world.run(demo.LEIDEN, "municipality", "assign", "--file",
                     str(SAMPLES / "assignments.csv"))  # fmt: skip
    assert many.returncode == 0, many.stdout + many.stderr
    assert (
        "line 2: assignment " in many.stdout
        and "assignments: 20 recorded, 0 refused" in many.stdout
    )
    rows = (SAMPLES / "assignments.csv").read_text().splitlines()
    in_utrecht = next(p for p, place, _ in samplefiles.newcomers() if place != samplefiles.LEIDEN)
    bad = world.tmp / "bad-assignments.csv"
    bad.write_text(
        "\n".join(
            [
                rows[0],
                rows[1].replace("b1-route", "fast-route"),
                f"{in_utrecht.v_number},,{demo.PROVIDER},b1-route,,",
                rows[2],
            ]
        )
    )
    mixed = world.run(demo.LEIDEN, "municipality", "assign", "--file", str(bad))
    assert mixed.returncode == 1, mixed.stdout + mixed.stderr
    assert "line 2: refused: schema-violation:" in mixed.stdout
    assert "line 3: refused: not-authorised:" in mixed.stdout
    # The first run assigned line 4's newcomer already: receipted, not a second assignment.
    assert "line 4: assignment " in mixed.stdout and "already receipted" in mixed.stdout
    assert "0 recorded, 2 refused, 1 already receipted (nothing sent)" in mixed.stdout


def _one_line_error(result: Any) -> str:
    """The connector's whole complaint: exit 2, one line on stderr, no traceback."""
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return str(lines[0])


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("127.0.0.1:8080", "no http:// or https:// in front"),
        ("gateway.example", "no http:// or https:// in front"),
        ("ftp://gateway.example", "ftp:// is not http:// or https://"),
        ("http://", "no host name in it"),
        ("http://127.0.0.1:80808", "the port is not a number"),
    ],
)
def test_a_url_that_is_not_one_is_one_line_naming_it(url: str, says: str, tmp_path: Path) -> None:
    key = tmp_path / "k.jwk"
    key.write_text(json.dumps(jwk.private_jwk(jwk.generate())))
    key.chmod(0o600)
    said = _one_line_error(connector(url, demo.LEIDEN, key, "municipality", "signals"))
    assert said.startswith(f"error: bad-url: --url {url} (GATEWAY_URL): {says}")
    assert "https://gateway.example" in said


def test_a_wrong_base_path_or_a_server_that_is_no_gateway_is_one_line(world: World) -> None:
    wrong = world.server.url + "/v1"
    said = _one_line_error(connector(wrong, demo.LEIDEN, world.keys[demo.LEIDEN],
                                     "municipality", "signals"))  # fmt: skip
    assert said.startswith(f"error: bad-url: no gateway answers at {wrong}: GET /.well-known/")
    assert said.endswith("the gateway's base URL, without the path /v1")

    import functools
    import http.server
    import threading

    (world.tmp / "site").mkdir()
    pages = functools.partial(http.server.SimpleHTTPRequestHandler, directory=world.tmp / "site")
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), pages)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        other = f"http://127.0.0.1:{site.server_address[1]}"
        said = _one_line_error(world.run(demo.COA, "coa", str(SAMPLES / "coa-export.csv"),
                                         "--url", other))  # fmt: skip
    finally:
        site.shutdown()
        site.server_close()
    assert said.startswith(f"error: bad-url: no gateway answers at {other}: GET /.well-known/")
    assert "HTTP 404 (text/html)" in said
    assert not (world.tmp / "coa-export.csv.receipts.jsonl").exists()  # nothing begun
