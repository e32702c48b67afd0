"""Prepared statements for the hot path: compiled once per dialect, run on the driver cursor."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Table, bindparam, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

M = TypeVar("M")


class Prepared:
    """A statement compiled once per dialect and run on the driver's cursor.

    SQLAlchemy rebuilds a cache key and parameters for every `execute`, which costs more than
    SQLite itself on the hot path; this keeps its compilation and type conversions and skips
    the rest. Parameters are named by the statement's `bindparam`s (or column names).
    """

    def __init__(self, statement: ClauseElement, result_types: tuple[Any, ...] = ()) -> None:
        self.statement = statement
        self.result_types = result_types  # column types whose values need converting back
        self._compiled: dict[str, tuple[str, list[tuple[str, Any, Any]], list[Any]]] = {}

    def _compile(self, dialect: Dialect) -> tuple[str, list[tuple[str, Any, Any]], list[Any]]:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = cast(SQLCompiler, self.statement.compile(dialect=dialect))
            names = list(compiled.positiontup or ())
            # (name, converter, value when not given: literals such as LIMIT 1)
            binds = [
                (
                    n,
                    compiled.binds[n].type.dialect_impl(dialect).bind_processor(dialect),
                    compiled.binds[n].value,
                )
                for n in names
            ]
            results = [
                t.dialect_impl(dialect).result_processor(dialect, None) if t is not None else None
                for t in self.result_types
            ]
            found = self._compiled[dialect.name] = (compiled.string, binds, results)
        return found

    def rows(self, conn: Connection, **params: Any) -> list[tuple[Any, ...]]:
        """Run the statement; its rows (none for a write without RETURNING)."""
        sql, binds, results = self._compile(conn.dialect)
        values = []
        for name, process, default in binds:
            value = params.get(name, default)
            values.append(process(value) if process else value)
        dbapi = conn.dialect.loaded_dbapi
        cursor = conn.connection.cursor()
        try:
            cursor.execute(sql, tuple(values))
            rows: list[tuple[Any, ...]] = list(cursor.fetchall()) if cursor.description else []
        except dbapi.Error as exc:
            # The same exception types SQLAlchemy raises (IntegrityError, OperationalError...),
            # so retries and the web layer's 503 treat both paths alike.
            raise DBAPIError.instance(sql, values, exc, dbapi.Error, dialect=conn.dialect) from exc
        finally:
            cursor.close()
        if any(results):
            rows = [
                tuple(p(v) if p else v for p, v in zip(results, row, strict=False)) for row in rows
            ]
        return rows

    def one(self, conn: Connection, **params: Any) -> tuple[Any, ...] | None:
        """The first row, or None."""
        rows = self.rows(conn, **params)
        return rows[0] if rows else None

    def scalar(self, conn: Connection, **params: Any) -> Any:
        """The first column of the first row, or None."""
        row = self.one(conn, **params)
        return None if row is None else row[0]


def prepared_insert(table: Table, returning: str | None = None) -> Prepared:
    """INSERT of every column but the key, parameters named by column."""
    columns = [c.name for c in table.columns if not c.primary_key]
    statement = insert(table).values({name: bindparam(name) for name in columns})
    if returning:
        statement = statement.returning(table.c[returning])  # type: ignore[assignment]
    return Prepared(statement)


def row_record(model: type[M], values: dict[str, Any] | None = None, **more: Any) -> M:
    """A plain record with a table model's attributes, typed as the model.

    Building a SQLModel instance costs a fifth of a millisecond of instrumentation; the hot
    path only reads and sets attributes on what it wrote with plain statements, so a
    namespace does. Never hand one to an ORM session.
    """
    return cast(M, SimpleNamespace(**(values or {}), **more))
