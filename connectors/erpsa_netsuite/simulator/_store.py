"""The kit's tables with sorted indexes that stay sorted as rows change.

Each row's ``data`` holds SuiteQL columns; ``id``, ``lastmodifieddate`` (the kit's
``modified_at`` at NetSuite's one-second granularity) and ``datecreated`` / ``createddate`` are
kept in step with the row's bookkeeping. An index is a sorted list of keys
``(sort_key(c1), …, sort_key(id))`` over live rows, built on first use and maintained on every
insert, update, touch and delete (a binary search and one list insert or delete each), so a
keyset page over 250,000 rows costs a binary search and a short scan, never a sort.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from erpsa_netsuite.simulator._suiteql import sort_key
from erpsa_sdk.clock import Clock
from erpsa_sdk.testing.store import Row, Table

__all__ = ["IndexedTable", "second"]

Data = dict[str, Any]
IndexKey = tuple[Any, ...]


def second(ts: datetime) -> datetime:
    """A timestamp at NetSuite's granularity (whole seconds, UTC)."""
    return ts.astimezone(UTC).replace(microsecond=0)


class IndexedTable(Table):
    """A kit :class:`~erpsa_sdk.testing.store.Table` with external ids and sort indexes."""

    def __init__(self, name: str, clock: Clock) -> None:
        super().__init__(name, clock)
        self.indexes: dict[tuple[str, ...], list[IndexKey]] = {}
        self.by_eid: dict[str, int] = {}

    @staticmethod
    def _key(cols: tuple[str, ...], data: Data) -> IndexKey:
        return (*(sort_key(data.get(c)) for c in cols), sort_key(data["id"]))

    def _sync(self, row: Row) -> None:
        data = row.data
        data["id"] = row.id
        data["lastmodifieddate"] = second(row.modified_at)
        data.setdefault("datecreated", second(row.created_at))
        data.setdefault("createddate", second(row.created_at))

    def _index(self, row: Row) -> None:
        if not row.live:
            return
        eid = row.data.get("externalid")
        if eid is not None:
            self.by_eid[eid] = row.id
        for cols, index in self.indexes.items():
            insort(index, self._key(cols, row.data))

    def _unindex(self, row: Row) -> None:
        if not row.live:
            return
        eid = row.data.get("externalid")
        if eid is not None and self.by_eid.get(eid) == row.id:
            del self.by_eid[eid]
        for cols, index in self.indexes.items():
            pos = bisect_left(index, self._key(cols, row.data))
            del index[pos]

    def index_key(self, cols: tuple[str, ...], data: Data) -> IndexKey:
        """The key ``data`` has in the index for ``cols``."""
        return self._key(cols, data)

    def index(self, cols: tuple[str, ...]) -> list[IndexKey]:
        """The sorted index for ``cols`` over live rows (built once, then maintained)."""
        found = self.indexes.get(cols)
        if found is None:
            found = sorted(self._key(cols, r.data) for r in self._rows.values() if r.live)
            self.indexes[cols] = found
        return found

    def data(self, row_id: int) -> Data:
        """The columns of a row known to be indexed (live)."""
        return self._rows[row_id].data

    def row(self, row_id: int) -> Row | None:
        """The live row, or ``None``."""
        return self.get(row_id)

    def by_external_id(self, eid: str) -> Row | None:
        """The live row carrying ``externalid`` = ``eid``."""
        rid = self.by_eid.get(eid)
        return None if rid is None else self.get(rid)

    def live_data(self) -> Iterator[Data]:
        """Columns of every live row, in id order."""
        return (r.data for r in self._rows.values() if r.live)

    # -- the kit's mutations, kept in step with the indexes ----------------------------------

    def insert(self, data: Mapping[str, Any], *, at: datetime | None = None) -> Row:
        row = super().insert({k: v for k, v in data.items() if k != "id"}, at=at)
        self._sync(row)
        self._index(row)
        return row

    def update(self, row_id: int | str, changes: Mapping[str, Any]) -> Row:
        row = self.get(row_id)
        if row is None:
            raise KeyError(f"{self.name}/{row_id}")
        self._unindex(row)
        row.data.update({k: v for k, v in changes.items() if k != "id"})
        Table.touch(self, row)
        self._sync(row)
        self._index(row)
        return row

    def touch(self, row: Row) -> None:
        self._unindex(row)
        super().touch(row)
        self._sync(row)
        self._index(row)

    def delete(self, row_id: int | str) -> Row:
        row = self.get(row_id)
        if row is None:
            raise KeyError(f"{self.name}/{row_id}")
        self._unindex(row)
        row.deleted_at = self.clock.now()
        Table.touch(self, row)
        self._sync(row)
        return row
