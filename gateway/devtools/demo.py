"""``gateway demo``: the scenario on a throw-away SQLite database, over real HTTP.

Starts the real server on 127.0.0.1, registers synthetic parties with fresh
keys, sends valid and invalid messages as the parties would, and prints what
happened. Exits non-zero if anything turned out other than the contract says,
so the demo doubles as a smoke test of a fresh install.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import textwrap
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from connectors.auditor.verify import check_once, verify_log
from connectors.common.tls import Tls
from gateway import config
from gateway.bootstrap import build_services, note_vkey, storage_of
from gateway.devtools import synthetic
from gateway.devtools.cast import (
    AUDITOR,
    COA,
    DUO,
    KEY_NAMES,
    LEIDEN,
    PARTIES,
    PROVIDER,
    UTRECHT,
    Cast,
    keep_keys,
    profile,
    register_cast,
    trajectory,
)
from gateway.devtools.duo_scene import duo_at_work
from gateway.devtools.scenario import PROBLEM_CODES, Step, scenario
from gateway.devtools.sdjwt_scene import coa_signs_at_work
from gateway.devtools.serverproc import ServerProcess
from gateway.devtools.witness_scene import DemoWitness, auditor_witness, witnesses_at_work
from gateway.service.services import Services

__all__ = [
    "AUDITOR",
    "COA",
    "DUO",
    "LEIDEN",
    "PARTIES",
    "PROVIDER",
    "UTRECHT",
    "Cast",
    "command",
    "parties_at_work",
    "profile",
    "register_cast",
    "run_demo",
    "scenario",
    "trajectory",
]


def parties_at_work(
    cast: Cast, folder: Path, now: datetime
) -> tuple[list[str], bool, list[dict[str, str]]]:
    """Part one: the four connectors on the sample files, as each party runs them.

    Returns the lines to print, whether every count came out as it must, and
    the newcomers the provider reported on.
    """
    from connectors import municipality
    from connectors.coa import handover as coa
    from connectors.provider import reports as provider
    from gateway.devtools import samplefiles

    samples = samplefiles.SAMPLES
    leiden, utrecht = cast.client(LEIDEN), cast.client(UTRECHT)
    people = samplefiles.newcomers()
    in_leiden = sum(1 for _, place, _ in people if place == samplefiles.LEIDEN)
    reported = [
        json.loads(line)["subject"]
        for line in (samples / "progress-reports.jsonl").read_text().splitlines()
    ]
    lines: list[str] = []
    sent = coa.send_export(
        cast.client(COA),
        samples / "coa-export.csv",
        receipts=folder / "coa.receipts.jsonl",
        progress=False,
    )
    lines.append(
        f"COA        sends its export (coa-export.csv, {sent.rows} newcomers): "
        f"{sent.outcomes['accepted']} accepted, {sent.failed} refused"
    )
    for subject in reported:
        municipality.assign(
            leiden, PROVIDER, subject, route="b1-route", valid_from=now - timedelta(days=1)
        )
    declaration = json.loads((samples / "consent-declaration.json").read_text())
    declaration.update(
        sources=[COA, PROVIDER],
        valid_from=synthetic.utc(now - timedelta(hours=1)),
        valid_until=synthetic.utc(now + timedelta(days=365)),
    )
    consenting = reported[: len(reported) // 2]
    for subject in consenting:
        municipality.declare(leiden, declaration, subject, samples / "consent-form-scan.txt")
    lines.append(
        f"Leiden     assigns {len(reported)} newcomers to the provider; records "
        f"{len(consenting)} consent declarations (scan hashed, not sent)"
    )
    reports = provider.send_reports(
        cast.client(PROVIDER),
        samples / "progress-reports.csv",
        receipts=folder / "reports.receipts.jsonl",
        progress=False,
    )
    lines.append(
        f"Provider   sends {reports.rows} progress reports: {reports.outcomes['accepted']} accepted"
    )
    pulled = {}
    for name, client in (("Leiden", leiden), ("Utrecht", utrecht)):
        out = folder / f"{name.lower()}-inbox"
        result = municipality.pull_once(client, municipality.folder_sink(out))
        pulled[name] = result
        withheld = ", ".join(f"{k} {v}x" for k, v in sorted(result.withheld.items()))
        lines.append(
            f"{name:<10} pulls {result.written} deliveries into {out.name}/, verified and "
            f"acknowledged; withheld for lack of consent: {withheld or 'nothing'}"
        )
    briefs, planned = _plans_at_work(cast, folder, reported[0], samples / "plan.json")
    lines += planned
    ok = (
        briefs == 2
        and sent.outcomes["accepted"] == len(people)
        and reports.outcomes["accepted"] == len(reported)
        and pulled["Leiden"].written == in_leiden + len(reported)
        and pulled["Utrecht"].written == len(people) - in_leiden
    )
    return lines, ok, reported


def _plans_at_work(
    cast: Cast, folder: Path, subject: dict[str, str], plan_file: Path
) -> tuple[int, list[str]]:
    """Leiden plans for an assigned newcomer, then switches the route; the provider pulls briefs."""
    from connectors import municipality

    leiden, provider = cast.client(LEIDEN), cast.client(PROVIDER)
    plan = json.loads(plan_file.read_text())
    plan_id, _ = municipality.send_plan(leiden, plan, subject)
    switched = {
        **plan, "plan_id": plan_id, "plan_version": 2, "change_reason": "schakelen",
        "dated": "2026-11-27", "route": "z-route", "level": "A2",
    }  # fmt: skip
    del switched["estimated_hours_b1"]  # estimated for the b1-route only
    municipality.send_plan(leiden, switched, subject)
    out = folder / "provider-briefs"
    pulled = municipality.pull_once(
        provider, municipality.folder_sink(out, municipality.brief_file)
    )
    names = ", ".join(sorted(p.name for p in out.glob("*.json")))
    return pulled.written, [
        "Leiden     plans (PIP) for one of them, b1-route, then switches to the z-route "
        "(version 2, schakelen)",
        f"Provider   pulls {pulled.written} briefs into {out.name}/ (route, level, hours; "
        f"never the blue folder, nor the goals): {names}",
    ]


def _fit(line: str) -> str:
    """A line of the demo within 100 columns, continued under its text."""
    if "\n" in line:
        return "\n".join(_fit(part) for part in line.split("\n"))
    if len(line) <= 100 or line.startswith(" "):
        return line
    return textwrap.fill(line, width=100, subsequent_indent=" " * 11, break_on_hyphens=False)


def _carry_on(folder: Path) -> None:
    print(
        f"\nkept {folder}: the gateway's instance and each party's key. To carry on:\n"
        f"  GATEWAY_INSTANCE={folder}/instance gateway serve --port 8080 &\n"
        "  export GATEWAY_URL=http://127.0.0.1:8080\n"
        f"  export GATEWAY_OIN={LEIDEN}   # Leiden\n"
        f"  export GATEWAY_KEY={folder}/keys/leiden.jwk\n"
        "  gateway connect municipality signals --all\n"
        f"(keys: {', '.join(f'{n}.jwk' for n in KEY_NAMES.values())})"
    )


def regie_at_work(cast: Cast, reported: list[dict[str, str]], now: datetime) -> list[str]:
    """Part four: a second plan with few hours followed, then Leiden's signals, today and
    as a forecast (what will hold in 100 days if nothing changes)."""
    from connectors import municipality
    from connectors.municipality.regie_cli import table

    leiden, provider = cast.client(LEIDEN), cast.client(PROVIDER)
    behind, switched, unplanned = reported[1], reported[0], reported[-1]
    plan = synthetic.integration_plan(str(uuid.uuid4()), 1, dated=now.date().isoformat())
    municipality.send_plan(leiden, plan, behind)
    report = {
        "message_id": str(uuid.uuid4()), "type": "progress-report", "version": 1,
        "sender": PROVIDER, "recipient": LEIDEN, "subject": behind,
        "issued_at": synthetic.utc(now),
        "body": {**synthetic.progress_report(PROVIDER), "hours": {"language_and_knm": 20}},
    }  # fmt: skip
    provider.submit(provider.sign(report))
    ahead = synthetic.utc(now + timedelta(days=100))
    today = list(municipality.placed_newcomers(leiden))
    forecast = list(municipality.placed_newcomers(leiden, at=ahead))
    shown = [r for r in forecast if r["v_number"] in {behind["v_number"], switched["v_number"],
                                                       unplanned["v_number"]}]  # fmt: skip
    return [
        "Leiden     plans for a second newcomer (b1-route, about 600 hours); the provider "
        "reports 20 hours followed",
        "",
        "$ gateway connect municipality signals",
        table(today, show_all=False).split("\n\n")[0],
        "",
        f"$ gateway connect municipality signals --at {ahead}   # a forecast",
        table(forecast, show_all=False).split("\n\n")[0],
        "",
        *table(shown, show_all=True).split("\n\n", 1)[1].splitlines(),
        "(three of them: the first planned, then switched to the z-route; the second, 20 of",
        " about 55 hours by then; one not yet planned. Every newcomer listed is a regie.read",
        " audit entry, in the newcomer's access report too.)",
    ]


def print_steps(steps: list[Step]) -> None:
    """One row per step (at most 100 columns): who, what, the outcome and the rule that
    decided it; an outcome too long for its column (a pull's sections) on a line below."""
    print(f"{'':3}{'party':<9}{'message':<43}{'outcome':<23}ok")
    for n, s in enumerate(steps, 1):
        mark = "ok" if s.ok else "!!"
        short = s.got if len(s.got) <= 22 else "sections below"
        print(f"{n:<3}{s.who:<9}{s.what:<43}{short:<23}{mark}")
        if len(s.got) > 22:
            print(f"{'':12}got: {s.got}")
        if not s.ok:
            print(f"{'':12}expected: {s.expected}")
        print(f"{'':12}why: {s.why}")


@contextmanager
def _serving(
    folder: Path, instance: Path, digikoppeling: bool
) -> Iterator[tuple[str, dict[str, Tls] | None]]:
    """The gateway's URL, and each party's TLS certificate when it runs behind nginx with
    mutual TLS (Digikoppeling: the documented config, a test PKI in PKIoverheid's shape)."""
    if not digikoppeling:
        with ServerProcess(instance) as server:
            yield server.url, None
        return
    from gateway.devtools.front import fronted_server

    parties = {oin: (KEY_NAMES[oin], name) for oin, _, name, _ in PARTIES}
    with fronted_server(folder, instance, parties) as (url, files):
        print(f"nginx with mutual TLS in front ({files.folder}: a test PKI; every party "
              "connects with its certificate, its OIN in the subject's serialNumber)")  # fmt: skip
        yield url, {oin: files.tls(oin) for oin in parties}


def _later_parts(
    cast: Cast,
    services: Services,
    seen: DemoWitness,
    folder: Path,
    reported: list[dict[str, str]],
    now: datetime,
) -> bool:
    """Parts 5 to 7, printed: DUO, the witness, COA's own signature; whether each went as
    the contract says."""
    parts: list[tuple[str, Callable[[], tuple[list[str], bool]]]] = [
        ("5. DUO's clock: notifications in, facts, a move",
         lambda: duo_at_work(cast, reported, now)),
        ("6. The witness: the auditor cosigns what it saw the log append",
         lambda: witnesses_at_work(cast.client(AUDITOR), seen, folder)),
        ("7. COA's own signature: the blue folder as an SD-JWT (version 2)",
         lambda: coa_signs_at_work(cast, services, folder, now)),
    ]  # fmt: skip
    ok = True
    for title, part in parts:
        print(f"\n{title}\n")
        lines, went = part()
        print("\n".join(_fit(line) for line in lines))
        ok = ok and went
    return ok


def run_demo(*, keep: bool = False, digikoppeling: bool = False) -> int:
    folder = Path(tempfile.mkdtemp(prefix="gateway-demo-"))
    instance = folder / "instance"
    log_vkey = note_vkey(config.from_env({"GATEWAY_INSTANCE": str(instance)}))
    try:
        with (auditor_witness(folder, log_vkey) as seen,
              _serving(folder, instance, digikoppeling) as (url, tls)):  # fmt: skip
            services = build_services(config.from_env({"GATEWAY_INSTANCE": str(instance)}))
            store = storage_of(services)
            now = datetime.now(UTC)
            print(f"gateway running at {url} (instance {instance})\n")
            cast = register_cast(services, url, now, tls)
            if keep:
                keep_keys(cast, folder / "keys")
            print("1. The parties at work, each with its connector\n")
            lines, worked, reported = parties_at_work(cast, folder, now)
            print("\n".join(_fit(line) for line in lines))
            before = store.count("audit_entries")
            print("\n2. The contract, message by message\n")
            steps = scenario(cast, services, now)
            print_steps(steps)
            entries = store.count("audit_entries")
            refused = sum(1 for s in steps if s.expected in PROBLEM_CODES)
            print(
                f"\nmessages stored: {store.count('messages')}, each sealed with its receipt"
                f"\naudit log: {entries} entries; part 2 added {entries - before}: {refused} "
                "refusals, 1 key revocation,\n  and every acceptance, consent record and pull "
                "(the retry added none)"
            )
            # The idempotent retry (200) adds no entry; every other step adds its own.
            expected_entries = before + 1 + sum(s.entries for s in steps if s.expected != "200")
            ok = worked and all(s.ok for s in steps) and entries == expected_entries
            print("\n3. The auditor, trusting nothing but the gateway's published key\n")
            auditor = cast.client(AUDITOR)
            verified = verify_log(auditor, folder / "auditor.state")
            print(
                f"verify: {verified.entries} entries up to the newest checkpoint, each "
                f"rehashed; {verified.checkpoints} checkpoint(s) checked,\n  root "
                f"{verified.root_hash[:16]}… ({verified.entries - entries} more than above: "
                "the reads since, audited too)"
            )
            watched = check_once(auditor, folder / "auditor.state")
            print(
                f"watch:  a newer checkpoint (tree size {watched.tree_size}) is consistent "
                f"with the one verified;\n  {watched.sampled} of the entries since sampled "
                "and proven included"
            )
            print("\n4. Regie: what Leiden's client managers see\n")
            print("\n".join(_fit(line) for line in regie_at_work(cast, reported, now)))
            ok = _later_parts(cast, services, seen, folder, reported, now) and ok
            print("\nall outcomes as the contract says" if ok else "\nUNEXPECTED OUTCOMES")
            return 0 if ok else 1
    finally:
        if keep:
            _carry_on(folder)
        else:
            shutil.rmtree(folder, ignore_errors=True)


@click.command("demo")
@click.option("--keep", is_flag=True, help="keep the temporary folder")
@click.option(
    "--digikoppeling",
    is_flag=True,
    help="run behind nginx with mutual TLS (Digikoppeling), every party with a test "
    "PKIoverheid-shaped certificate; needs nginx",
)
@click.option(
    "--console",
    "console_port",
    type=click.IntRange(0, 65535),
    default=None,
    help="instead: seed a fresh gateway with Leiden's newcomers and serve Leiden's console "
    "on this port (0: any free one) until Ctrl-C",
)
def command(keep: bool, digikoppeling: bool, console_port: int | None) -> None:
    """Run the whole scenario against a real server on a throw-away database."""
    if console_port is not None:
        from gateway.devtools.console_demo import run_console_demo

        sys.exit(run_console_demo(console_port))
    sys.exit(run_demo(keep=keep, digikoppeling=digikoppeling))
