"""Export files: one row per newcomer, as CSV or JSON Lines, read against a schema.

Both encodings carry the same row object: the members of the message body
(the schema's top-level sections) plus two reserved members, ``subject``
(``v_number``, ``bsn``) and ``recipient`` (a municipality's OIN or its CBS
code). In JSON Lines each line is that object. In CSV each column is a
dotted path into it (``identity.given_names``, ``subject.v_number``), and the
schema says how a cell is read: a string as is, an integer or number as
such, a boolean as ``true``/``false``, a list of plain values separated by
``;``, and a list of objects or an object as JSON. An empty cell is an
absent member. Because the reading is driven by the schema, a new optional
field in a schema needs no code here.

A row that cannot be read raises RowError naming the row and the field,
never the value: these messages end up in terminal output and job logs.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectors.common.rows import read_csv
from gateway.client import wire
from gateway.client.schemas import schema
from gateway.errors import GatewayError

RESERVED = ("subject", "recipient")
SUBJECT_FIELDS = ("v_number", "bsn")


class RowError(GatewayError):
    """One row of an export cannot be turned into a message."""

    code = "bad-row"
    title = "Row cannot be sent"

    def __init__(
        self, row: int, field: str, reason: str, more: list[tuple[str, str]] | None = None
    ) -> None:
        """``field`` empty: the row as a whole. ``more``: further (field, rule) problems of
        the same row, each said too."""
        super().__init__(f"row {row}: {field + ': ' if field else ''}{reason}")
        self.row = row
        self.field = field
        self.reason = reason
        self.problems = [(field, reason), *(more or [])]


class ExportFileError(GatewayError):
    """The file as a whole cannot be read (unknown format, unknown column)."""

    code = "bad-export-file"
    title = "Export file cannot be read"


@dataclass(frozen=True)
class Row:
    number: int
    """1-based data row number (the CSV header is not counted): the key of the receipts"""
    data: dict[str, Any] | None
    error: RowError | None = None
    line: int = 0
    """where a person finds it: the spreadsheet's row (the header is 1), the file's line"""


def body_schema(type_: str, version: int = 1) -> dict[str, Any]:
    return schema(type_, version)


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_rows(
    path: Path, schema: Mapping[str, Any], aliases: Mapping[str, str] | None = None
) -> Iterator[Row]:
    """The rows of an export file; a row that cannot be read comes with its error.

    ``aliases``: CSV column names a sender's own system uses, each with the
    dotted path it stands for (COA's ``koppelingsdatum`` is
    ``placement.linked_on``), so its export needs no renaming by hand.
    """
    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield from _csv_rows(path, schema, aliases or {})
    elif suffix in (".jsonl", ".ndjson"):
        yield from _jsonl_rows(path)
    else:
        raise ExportFileError("export files are .csv or .jsonl (JSON Lines)")


def _jsonl_rows(path: Path) -> Iterator[Row]:
    with open(path, "rb") as fh:
        number = 0
        for at, line in enumerate(fh, 1):
            if not line.strip():
                continue
            number += 1
            try:
                yield Row(number, wire.loads_object(line), line=at)
            except GatewayError:
                error = RowError(number, "(line)", "not a strict JSON object")
                yield Row(number, None, error, line=at)


def _csv_rows(path: Path, schema: Mapping[str, Any], aliases: Mapping[str, str]) -> Iterator[Row]:
    header, rows = read_csv(path)
    if not header:
        return
    columns = [_column(aliases.get(name, name), schema) for name in header]
    for row in rows:
        try:
            if row.problem is not None:
                raise RowError(row.number, "", row.problem)
            data = _row_object(row.number, header, columns, row.cells)
        except RowError as error:
            yield Row(row.number, None, error, line=row.line)
        else:
            yield Row(row.number, data, line=row.line)


@dataclass(frozen=True)
class _Column:
    path: tuple[str, ...]
    node: Mapping[str, Any]
    plain_list: bool = False
    """an array of plain values, which a cell may give separated by ';'"""


def _column(name: str, schema: Mapping[str, Any]) -> _Column:
    path = tuple(name.split("."))
    if path[0] == "subject":
        if len(path) != 2 or path[1] not in SUBJECT_FIELDS:
            raise ExportFileError(f"unknown column {name!r}: subject.v_number or subject.bsn")
        return _Column(path, {"type": "string"})
    if path == ("recipient",):
        return _Column(path, {"type": "string"})
    node: Mapping[str, Any] = schema
    for part in path:
        properties = _resolve(node, schema).get("properties", {})
        if part not in properties:
            raise ExportFileError(f"unknown column {name!r}: not a member of the schema")
        node = properties[part]
    node = _resolve(node, schema)
    items = _resolve(node.get("items", {}), schema)
    plain = node.get("type") == "array" and items.get("type") not in ("object", "array")
    return _Column(path, node, plain)


def _resolve(node: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/$defs/"):
            raise ExportFileError(f"schema reference {ref} is not supported")
        node = root["$defs"][ref.removeprefix("#/$defs/")]
    return node


def _row_object(
    number: int, header: list[str], columns: list[_Column], cells: list[str]
) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name, column, cell in zip(header, columns, cells, strict=True):
        if cell.strip() == "":
            continue
        value = _cell_value(number, name, column, cell.strip())
        target = row
        for part in column.path[:-1]:
            target = target.setdefault(part, {})
        target[column.path[-1]] = value
    return row


def _enum_type(node: Mapping[str, Any]) -> str | None:
    """The JSON type of an enum's (or const's) values, when they share one."""
    values = node.get("enum", [node["const"]] if "const" in node else [])
    kinds = {
        "boolean" if isinstance(v, bool) else "integer" if isinstance(v, int) else "string"
        for v in values
    }
    return kinds.pop() if len(kinds) == 1 else None


def _cell_value(number: int, name: str, column: _Column, cell: str) -> Any:
    node = column.node
    kind = node.get("type") or _enum_type(node)
    if kind == "integer":
        if not cell.lstrip("-").isdigit():
            raise RowError(number, name, "not an integer")
        return int(cell)
    if kind == "number":
        try:
            value = float(cell)
        except ValueError:
            raise RowError(number, name, "not a number") from None
        return int(value) if value.is_integer() and "." not in cell else value
    if kind == "boolean":
        lowered = cell.lower()
        if lowered not in ("true", "false"):
            raise RowError(number, name, "not true or false")
        return lowered == "true"
    if column.plain_list and not cell.startswith("["):
        return [part.strip() for part in cell.split(";") if part.strip()]
    if kind in ("array", "object"):
        try:
            return wire.loads(cell.encode("utf-8"))
        except GatewayError:
            raise RowError(number, name, "not valid JSON") from None
    return cell


def flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """A row object as CSV cells: the inverse of how ``read_rows`` reads a CSV row."""
    cells: dict[str, str] = {}
    for key, value in row.items():
        name = prefix + key
        if isinstance(value, dict):
            cells.update(flatten(value, name + "."))
        elif isinstance(value, bool):
            cells[name] = "true" if value else "false"
        elif isinstance(value, list):
            plain = all(isinstance(v, str) and v.strip() == v and ";" not in v and v for v in value)
            if plain and value and not value[0].startswith("["):
                cells[name] = ";".join(value)
            else:
                cells[name] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        else:
            cells[name] = str(value)
    return cells


def csv_text(rows: list[dict[str, Any]]) -> str:
    """Row objects as a CSV export: one column per dotted path any row has."""
    flat = [flatten(row) for row in rows]
    columns = list(dict.fromkeys(name for cells in flat for name in cells))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(flat)
    return out.getvalue()


def jsonl_text(rows: list[dict[str, Any]]) -> str:
    """Row objects as a JSON Lines export."""
    return "".join(
        json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n" for row in rows
    )
