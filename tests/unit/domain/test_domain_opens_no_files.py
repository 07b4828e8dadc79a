"""The domain opens no file: the schemas, the catalogues, the report's page and key
files are read by the adapter (``gateway.files``) and handed in as values.

Two ways: the domain's source names no file access, and the domain's work, watched by
an audit hook in a fresh interpreter, opens nothing but the installed libraries' own
data (Babel's locale data, the time zones).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DOMAIN = ROOT / "gateway" / "domain"
CALLS = frozenset({"open", "read_text", "read_bytes", "write_text", "write_bytes", "glob",
                   "iterdir", "listdir", "scandir", "FileSystemLoader", "PackageLoader",
                   "ModuleLoader"})  # fmt: skip
MODULES = ("importlib.resources", "pkgutil", "glob", "shutil", "tempfile")
"""Modules to read files with (``os`` stays: ``os.urandom``; its ``open`` is a call above)"""


def _accesses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in CALLS:
                found.append(f"{name}() at line {node.lineno}")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                f"{node.module}.{a.name}" for a in node.names]  # fmt: skip
            found += [f"import {n}" for n in names if n.startswith(MODULES)]
    return found


def test_the_domain_source_names_no_file_access() -> None:
    found = {
        f"{path.relative_to(ROOT)}: {access}"
        for path in DOMAIN.rglob("*.py")
        for access in _accesses(path)
    }
    assert found == set()


WATCHED = r"""
import json, os, pkgutil, importlib, random, sys, zoneinfo
from datetime import UTC, datetime

import gateway.domain
from gateway.devtools import synthetic
from gateway.files import report as report_files, schemas as schema_files

# Read by the adapter before the watch: every file the domain's work below needs.
folder = schema_files.schema_dir()
documents = schema_files.documents(folder)
policy = schema_files.read_document(folder / "policy.v1.json")
report = importlib.import_module("gateway.domain.report")
template = (report_files.folder() / report.TEMPLATE).read_text(encoding="utf-8")
found = {l: report_files.catalogue(l) for l in report.LANGUAGES if l != "en"}
po = (report_files.folder() / report.catalogue_file("nl")).read_bytes()
for info in pkgutil.walk_packages(gateway.domain.__path__, "gateway.domain."):
    importlib.import_module(info.name)
from gateway.domain import catalogues, schemas
from gateway.domain.message import Message
from gateway.domain.wire import envelope, jwk, strictjson

rng = random.Random(1)
person = synthetic.Newcomer.make(rng)
a, b = "00000001003214345000", "00000001002220647000"
body = synthetic.handover_profile(person, "GM0546", rng)
payload = synthetic.payload("handover-profile", body, sender=a, recipient=b,
                            newcomer=person, issued_at=datetime(2026, 11, 23, tzinfo=UTC))

allowed = tuple(os.path.realpath(p) + os.sep
                for p in (sys.prefix, sys.base_prefix, *zoneinfo.TZPATH))
opened = []

def watch(event, args):
    if event in ("open", "os.listdir", "os.scandir", "glob.glob") and args:
        path = args[0]
        if isinstance(path, (str, bytes, os.PathLike)):
            real = os.path.realpath(os.fsdecode(path))
            if not real.startswith(allowed):
                opened.append(f"{event} {real}")

sys.addaudithook(watch)
catalog = schemas.Catalog.from_documents(documents, policy)
key = jwk.generate()
public = jwk.import_jwk(jwk.public_jwk(key))
token = envelope.sign(payload, key, typ=envelope.MESSAGE_TYP).encode()
verified = envelope.verify(envelope.parse(token, typ=envelope.MESSAGE_TYP), public)
message = Message.from_verified(verified, catalog)
strictjson.loads_object(b'{"a": 1}')
catalogues.needs_review(catalogues.parse(po, "nl"))
renderer = report.Renderer(template, found)
entry = {"entry": {"event": "message.accepted", "actor": a, "type": "handover-profile",
                   "time": "2026-11-23T10:15:00.000000Z"}}
for language in report.LANGUAGES:
    renderer.render("1234567890", [entry], {a: "COA"}, datetime(2026, 11, 24, tzinfo=UTC),
                    language)
print(json.dumps({"opened": opened, "type": message.type}))
"""


def test_the_domains_work_opens_no_file() -> None:
    out = subprocess.run([sys.executable, "-c", WATCHED], capture_output=True, text=True,
                         check=False, cwd=ROOT)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found == {"opened": [], "type": "handover-profile"}
