"""In-memory tables with sorted indexes that stay sorted as rows change.

An index is a sorted list of keys ``(sort_key(c1), …, sort_key(id))`` built on first use for
a sort order and kept up to date on every insert, update and delete (a binary search and one
``list`` insert or delete each), so a keyset page over 250,000 rows costs a binary search and
a short scan, never a sort.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator
from typing import Any

from erpsa_netsuite.simulator._schema import RecordType
from erpsa_netsuite.simulator._suiteql import sort_key

__all__ = ["Table"]

Row = dict[str, Any]
IndexKey = tuple[Any, ...]


class Table:
    """Rows of one record type, by internal id and by external id, with sort indexes."""

    def __init__(self, rtype: RecordType) -> None:
        self.rtype = rtype
        self.rows: dict[int, Row] = {}
        self.by_eid: dict[str, int] = {}
        self.indexes: dict[tuple[str, ...], list[IndexKey]] = {}
        self.next_id = 1

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows.values())

    @staticmethod
    def _key(cols: tuple[str, ...], row: Row) -> IndexKey:
        return (*(sort_key(row.get(c)) for c in cols), sort_key(row["id"]))

    def index(self, cols: tuple[str, ...]) -> list[IndexKey]:
        """The sorted index for ``cols`` (built once, then maintained)."""
        found = self.indexes.get(cols)
        if found is None:
            found = sorted(self._key(cols, row) for row in self.rows.values())
            self.indexes[cols] = found
        return found

    def get(self, rid: int) -> Row | None:
        return self.rows.get(rid)

    def by_external_id(self, eid: str) -> Row | None:
        rid = self.by_eid.get(eid)
        return None if rid is None else self.rows.get(rid)

    def allocate_id(self) -> int:
        rid = self.next_id
        self.next_id += 1
        return rid

    def insert(self, row: Row) -> Row:
        rid = row.get("id")
        if rid is None:
            rid = self.allocate_id()
            row["id"] = rid
        else:
            self.next_id = max(self.next_id, rid + 1)
        self.rows[rid] = row
        eid = row.get("externalid")
        if eid is not None:
            self.by_eid[eid] = rid
        for cols, index in self.indexes.items():
            insort(index, self._key(cols, row))
        return row

    def update(self, rid: int, changes: Row) -> Row:
        row = self.rows[rid]
        touched = [cols for cols in self.indexes if any(c in changes for c in cols)]
        for cols in touched:
            index = self.indexes[cols]
            del index[bisect_left(index, self._key(cols, row))]
        old_eid = row.get("externalid")
        row.update(changes)
        new_eid = row.get("externalid")
        if old_eid != new_eid:
            if old_eid is not None:
                self.by_eid.pop(old_eid, None)
            if new_eid is not None:
                self.by_eid[new_eid] = rid
        for cols in touched:
            insort(self.indexes[cols], self._key(cols, row))
        return row

    def delete(self, rid: int) -> Row | None:
        row = self.rows.pop(rid, None)
        if row is None:
            return None
        for cols, index in self.indexes.items():
            del index[bisect_left(index, self._key(cols, row))]
        eid = row.get("externalid")
        if eid is not None:
            self.by_eid.pop(eid, None)
        return row
