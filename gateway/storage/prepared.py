"""Statements compiled once per dialect and run on the driver's own cursor.

The intake path runs ten statements a message. Through SQLAlchemy's execution
layer (events, execution context, parameter and result objects) each costs
40-120 µs on the 2-core reference machine, four to ten times what SQLite
itself spends on it, and together they were a third of a message's cost.
Here SQLAlchemy still writes the SQL for each dialect and supplies every
type's bind and result processor, so values are stored and read exactly as
Core stores and reads them; only the per-call machinery is skipped.

What callers see stays Core's: a driver error comes out as SQLAlchemy's
DBAPIError subclass of it (IntegrityError, OperationalError …, parameters
hidden), and a lost connection is invalidated, so ``translate_busy`` and the
pool behave as they do for ``Connection.execute``. Expanding (``IN``)
parameters are not supported: their SQL changes with the list's length.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import ClauseElement

Params = Mapping[str, Any]
_MISSING = object()


@dataclass(frozen=True, slots=True)
class _Bind:
    name: str  # as in the SQL
    key: str  # as in the caller's parameters
    default: Any  # a literal's value, or _MISSING for a parameter the caller must give
    process: Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Plan:
    sql: str
    binds: tuple[_Bind, ...]  # in the order the driver takes them (SQL order for ?-style)
    named: bool  # the driver takes a mapping of names, not a sequence
    row: Any  # a namedtuple type, for statements that return rows
    results: tuple[Callable[[Any], Any] | None, ...]

    def values(self, params: Params) -> Any:
        get = params.get
        values = []
        for bind in self.binds:
            value = get(bind.key, bind.default)
            if value is _MISSING:
                raise KeyError(f"statement parameter {bind.key!r} not given")
            values.append(value if bind.process is None else bind.process(value))
        if self.named:
            return {bind.name: value for bind, value in zip(self.binds, values, strict=True)}
        return values

    def make_rows(self, raw: Sequence[Sequence[Any]]) -> list[Any]:
        make, procs = self.row._make, self.results
        if not any(procs):
            return [make(r) for r in raw]
        return [make(v if p is None else p(v) for v, p in zip(r, procs, strict=True)) for r in raw]


class Prepared:
    """One Core statement, compiled on first use for each dialect (and insert shape)."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._plans: dict[tuple[str, tuple[str, ...]], _Plan] = {}

    def rows(self, conn: Connection, params: Params | None = None) -> list[Any]:
        """The statement's result rows (named tuples with the columns' keys)."""
        plan = self._plan(conn.dialect, ())
        return self._run(conn, plan, params or {}, fetch=True)

    def first(self, conn: Connection, params: Params | None = None) -> Any | None:
        found = self.rows(conn, params)
        return found[0] if found else None

    def run(self, conn: Connection, params: Params | None = None) -> None:
        """Execute for its effect; for an insert, ``params`` names the columns given."""
        params = params or {}
        self._run(conn, self._plan(conn.dialect, tuple(params)), params, fetch=False)

    def run_many(self, conn: Connection, rows: Sequence[Params]) -> None:
        """Execute once per row (driver executemany); rows share their keys."""
        if not rows:
            return
        plan = self._plan(conn.dialect, tuple(rows[0]))
        values = [plan.values(row) for row in rows]
        driver = _driver(conn)
        try:
            driver.cursor().executemany(plan.sql, values)
        except conn.dialect.loaded_dbapi.Error as error:
            raise _translated(conn, plan.sql, error) from error

    def _run(self, conn: Connection, plan: _Plan, params: Params, *, fetch: bool) -> list[Any]:
        driver = _driver(conn)
        cursor = None
        try:
            cursor = driver.cursor()
            cursor.execute(plan.sql, plan.values(params))
            raw = cursor.fetchall() if fetch else []
        except conn.dialect.loaded_dbapi.Error as error:
            raise _translated(conn, plan.sql, error, cursor) from error
        finally:
            if cursor is not None:
                cursor.close()
        return plan.make_rows(raw) if fetch else []

    def _plan(self, dialect: Dialect, column_keys: tuple[str, ...]) -> _Plan:
        cache_key = (dialect.name, column_keys)
        plan = self._plans.get(cache_key)
        if plan is None:
            plan = self._plans[cache_key] = _compile(self.statement, dialect, column_keys)
        return plan


def _driver(conn: Connection) -> Any:
    driver = conn.connection.driver_connection
    assert driver is not None
    return driver


def _compile(statement: Executable, dialect: Dialect, column_keys: tuple[str, ...]) -> _Plan:
    assert isinstance(statement, ClauseElement)
    compiled: Any = statement.compile(
        dialect=dialect, column_keys=list(column_keys) if column_keys else None
    )
    binds = []
    for bind, name in compiled.bind_names.items():  # each parameter once, as the SQL names it
        if bind.expanding:
            raise TypeError("Prepared does not take expanding (IN) parameters")
        binds.append(
            _Bind(
                name=name,
                key=str(bind.key),
                default=_MISSING if bind.required else bind.effective_value,
                process=bind.type.dialect_impl(dialect).bind_processor(dialect),
            )
        )
    if compiled.positional:  # each occurrence in the SQL takes its value in turn
        by_name = {bind.name: bind for bind in binds}
        binds = [by_name[name] for name in compiled.positiontup]
    columns = list(getattr(statement, "selected_columns", ()) or ())
    names = [str(column.key) for column in columns] or ["value"]
    return _Plan(
        sql=compiled.string,
        binds=tuple(binds),
        named=not compiled.positional,
        row=collections.namedtuple("Row", names, rename=True),
        results=tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ),
    )


def _translated(conn: Connection, sql: str, error: Any, cursor: Any | None = None) -> DBAPIError:
    """The driver's error as Core would raise it; a lost connection is invalidated."""
    dialect = conn.dialect
    lost = bool(dialect.is_disconnect(error, _driver(conn), cursor))
    if lost:
        conn.invalidate(error)
    translated = DBAPIError.instance(
        sql,
        None,
        error,
        dialect.loaded_dbapi.Error,
        hide_parameters=True,
        connection_invalidated=lost,
        dialect=dialect,
    )
    assert isinstance(translated, DBAPIError)
    return translated
