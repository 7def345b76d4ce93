"""The SQL stores' transaction handle and JSON column helpers, shared by their modules.

Examples:
    >>> _load(_dump({"b": 1, "a": [2]}))
    {'a': [2], 'b': 1}
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: Values per ``IN (...)`` list: far below SQLite's and PostgreSQL's parameter limits.
_IN_CHUNK = 400


@dataclass(frozen=True, slots=True)
class _Dialect:
    placeholder: str
    serial: str
    real: str
    begin_write: str
    lock_share: str
    lock_update: str
    #: Whether many rows go as one statement with one array parameter per column (PostgreSQL:
    #: one plan and one round trip instead of one execution per row).
    arrays: bool = False


@dataclass(frozen=True, slots=True)
class Bulk:
    """One statement for many rows in two forms: once per row (``many``), or with one array
    parameter per column of the rows (``arrays``). ``many_params`` reshapes a row for
    ``many`` where its placeholders differ from the row's columns."""

    many: str
    arrays: str
    many_params: Callable[[Sequence[Any]], Sequence[Any]] | None = None


class _Tx:
    """A running transaction: ``q`` returns rows, ``x`` returns the affected row count."""

    __slots__ = ("_conn", "_dialect", "_names")

    def __init__(self, conn: Any, dialect: _Dialect, names: dict[str, str]) -> None:
        self._conn = conn
        self._dialect = dialect
        self._names = names

    def _sql(self, sql: str) -> str:
        sql = sql.format(**self._names)
        return (
            sql.replace("?", self._dialect.placeholder) if self._dialect.placeholder != "?" else sql
        )

    def q(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self._conn.execute(self._sql(sql), tuple(params))
        rows = cur.fetchall() if cur.description else []
        return [tuple(r) for r in rows]

    def x(self, sql: str, params: Sequence[Any] = ()) -> int:
        cur = self._conn.execute(self._sql(sql), tuple(params))
        return int(cur.rowcount)

    def xm(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """One statement for many parameter rows, in order; the total affected row count."""
        if not rows:
            return 0
        cur = self._conn.cursor()
        cur.executemany(self._sql(sql), [tuple(r) for r in rows])
        return int(cur.rowcount)

    def bulk(self, write: Bulk, rows: Sequence[Sequence[Any]]) -> int:
        """Write ``rows`` (each in ``write``'s column order) in the dialect's fastest form.

        The arrays form treats the rows as a set: callers pass rows with distinct keys.
        """
        if not rows:
            return 0
        if self._dialect.arrays:
            return self.x(write.arrays, [list(column) for column in zip(*rows, strict=True)])
        shape = write.many_params
        return self.xm(write.many, rows if shape is None else [shape(r) for r in rows])


def unnest(*types: str) -> str:
    """``unnest(?::t1[], ?::t2[], ...)``: rows from one array parameter per column."""
    return "unnest(" + ", ".join(f"?::{t}[]" for t in types) + ")"


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
