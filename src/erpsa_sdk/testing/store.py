"""The in-memory store behind every simulator: tables of rows with timestamps and tombstones.

Every mutation stamps the row's ``modified_at`` with the clock's ``now`` and bumps its
``row_version``; deletions leave a tombstone (``deleted_at``) that tombstone queries can read.
The store is not thread-safe on its own: the simulator serialises access with its lock.

Example:
    >>> from erpsa_sdk.clock import SimClock
    >>> clock = SimClock()
    >>> table = Table("projects", clock)
    >>> row = table.insert({"name": "Apollo"})
    >>> clock.advance(60)
    >>> table.update(row.id, {"name": "Apollo II"}).modified_at == clock.now()
    True
    >>> table.get(row.id).row_version
    2
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from erpsa_sdk.clock import Clock

__all__ = ["Row", "Table", "iso"]


def iso(ts: datetime) -> str:
    """A fixed-width UTC ISO-8601 text with microseconds and ``Z`` (sorts like the time).

    Example:
        >>> from datetime import UTC, datetime
        >>> iso(datetime(2026, 11, 2, 9, 30, tzinfo=UTC))
        '2026-11-02T09:30:00.000000Z'
    """
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Row:
    """One stored record and its bookkeeping.

    Example:
        >>> from datetime import UTC, datetime
        >>> t = datetime(2026, 1, 1, tzinfo=UTC)
        >>> Row(id=1, data={"a": 1}, created_at=t, modified_at=t).live
        True
    """

    id: int
    data: dict[str, Any]
    created_at: datetime
    modified_at: datetime
    row_version: int = 1
    deleted_at: datetime | None = None
    archived: bool = False
    posted: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def live(self) -> bool:
        """Not deleted."""
        return self.deleted_at is None

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able copy of the row with its bookkeeping (for the admin API and checkers).

        Example:
            >>> from datetime import UTC, datetime
            >>> t = datetime(2026, 1, 1, tzinfo=UTC)
            >>> Row(id=3, data={"a": 1}, created_at=t, modified_at=t).snapshot()["id"]
            3
        """
        return {
            "id": self.id,
            "data": copy.deepcopy(self.data),
            "created_at": iso(self.created_at),
            "modified_at": iso(self.modified_at),
            "row_version": self.row_version,
            "deleted_at": iso(self.deleted_at) if self.deleted_at else None,
            "archived": self.archived,
            "posted": self.posted,
            "meta": copy.deepcopy(self.meta),
        }


class Table:
    """Rows of one record type, addressed by an integer id that is never reused.

    Example:
        >>> from erpsa_sdk.clock import SimClock
        >>> t = Table("customers", SimClock())
        >>> [t.insert({"name": n}).id for n in "abc"] == [1, 2, 3]
        True
        >>> t.delete(2).deleted_at is not None, len(t.live_rows())
        (True, 2)
    """

    def __init__(self, name: str, clock: Clock) -> None:
        self.name = name
        self.clock = clock
        self._rows: dict[int, Row] = {}
        self._next_id = 1

    def __len__(self) -> int:
        return sum(1 for r in self._rows.values() if r.live)

    def __iter__(self) -> Iterator[Row]:
        return iter(list(self._rows.values()))

    def insert(self, data: Mapping[str, Any], *, at: datetime | None = None) -> Row:
        """Add a row stamped ``at`` (default: the clock's now)."""
        now = at or self.clock.now()
        row = Row(id=self._next_id, data=dict(data), created_at=now, modified_at=now)
        self._rows[row.id] = row
        self._next_id += 1
        return row

    def get(self, row_id: int | str) -> Row | None:
        """The live row ``row_id`` or ``None`` (also for a malformed id)."""
        try:
            row = self._rows.get(int(row_id))
        except (TypeError, ValueError):
            return None
        return row if row is not None and row.live else None

    def get_any(self, row_id: int | str) -> Row | None:
        """Row ``row_id`` even when deleted."""
        try:
            return self._rows.get(int(row_id))
        except (TypeError, ValueError):
            return None

    def update(self, row_id: int | str, changes: Mapping[str, Any]) -> Row:
        """Apply ``changes`` to a live row; ``KeyError`` when there is none."""
        row = self.get(row_id)
        if row is None:
            raise KeyError(f"{self.name}/{row_id}")
        row.data.update(changes)
        self.touch(row)
        return row

    def touch(self, row: Row) -> None:
        """Stamp a mutation: ``modified_at`` = now, ``row_version`` + 1."""
        row.modified_at = self.clock.now()
        row.row_version += 1

    def delete(self, row_id: int | str) -> Row:
        """Delete a live row, leaving a tombstone; ``KeyError`` when there is none."""
        row = self.get(row_id)
        if row is None:
            raise KeyError(f"{self.name}/{row_id}")
        row.deleted_at = self.clock.now()
        self.touch(row)
        return row

    def live_rows(self) -> list[Row]:
        """Live rows in id order."""
        return [r for r in self._rows.values() if r.live]

    def find(self, predicate: Callable[[Row], bool]) -> list[Row]:
        """Live rows matching ``predicate``, in id order."""
        return [r for r in self._rows.values() if r.live and predicate(r)]

    def keyset(
        self,
        after: tuple[datetime, int] | None,
        limit: int,
        predicate: Callable[[Row], bool] | None = None,
    ) -> list[Row]:
        """Up to ``limit`` live rows ordered by ``(modified_at, id)`` strictly after ``after``.

        Every page is a fresh query, so rows changed between pages move behind the cursor and
        are found by a later page or the next run.
        """
        rows = [
            r
            for r in self._rows.values()
            if r.live
            and (after is None or (r.modified_at, r.id) > after)
            and (predicate is None or predicate(r))
        ]
        rows.sort(key=lambda r: (r.modified_at, r.id))
        return rows[:limit]

    def tombstones(self, after: tuple[datetime, int] | None, limit: int) -> list[Row]:
        """Up to ``limit`` deleted rows ordered by ``(deleted_at, id)`` strictly after ``after``."""
        rows = [
            r
            for r in self._rows.values()
            if r.deleted_at is not None and (after is None or (r.deleted_at, r.id) > after)
        ]
        rows.sort(key=lambda r: (r.deleted_at or r.modified_at, r.id))
        return rows[:limit]
