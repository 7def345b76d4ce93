"""Store acknowledged writes (ledger rows, heads, crosswalk, lineage) in bulk in one transaction.

A batch of a hundred acknowledged writes costs a handful of statements, not a hundred
transactions: rows are read with ``IN`` lists, the rules are applied in Python in the batch's
order, and each kind of row is written by one statement (on PostgreSQL with one array
parameter per column, on SQLite with ``executemany``). The result is exactly what storing the
acknowledgements one by one, in order, would leave (a property test checks it).

Examples:
    A page's write stored ``pending``, then its outcome committed with the checkpoint:

    >>> from datetime import UTC, datetime
    >>> from erpsa_sdk.sync import (Acknowledgement, BatchCommit, LedgerEntry, LedgerStatus,
    ...                             SourceVersion, SQLiteStateStore)
    >>> store = SQLiteStateStore(":memory:")
    >>> lease = store.acquire_lease("p", holder="me", ttl=30)
    >>> v = SourceVersion(datetime(2026, 11, 1, tzinfo=UTC))
    >>> sent = LedgerEntry("erp:e1", "wk-1", "ek-1", "upsert", v, LedgerStatus.PENDING)
    >>> store.begin_writes(lease, [sent])
    {}
    >>> done = LedgerEntry("erp:e1", "wk-1", "ek-1", "upsert", v, LedgerStatus.CREATED, "42")
    >>> store.commit_batch(lease, BatchCommit("p", "customer", {"page": 2}, "erp:e1",
    ...                    write_keys=("wk-1",), acknowledged=(Acknowledgement(done),)))
    >>> store.ledger_head("erp:e1", "ek-1").target_id
    '42'
"""

# ruff: noqa: S608 - every statement here is assembled from this module's constants only

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from erpsa_sdk.sync._records import (
    Acknowledgement,
    CrosswalkEntry,
    LedgerEntry,
    LedgerHead,
    LineageRecord,
    SourceVersion,
)
from erpsa_sdk.sync._sqltx import _IN_CHUNK, Bulk, _dump, _load, _Tx, unnest

__all__ = [
    "HeadKey",
    "advance_head",
    "by_target",
    "read_heads",
    "select_in",
    "store_outcomes",
    "write_crosswalk",
]

HeadKey = tuple[str, str]  # (target connection, EntityKey)

_LEDGER_COLS = (
    "entity_key, operation, version_us, version_etag, status, target_id, attempts, detail, "
    "fence, updated_at, target, write_key"
)
_LEDGER_ARRAYS = unnest(
    "text",
    "text",
    "bigint",
    "text",
    "text",
    "text",
    "int",
    "text",
    "bigint",
    "text",
    "text",
    "text",
)
LEDGER_UPDATE = (
    "UPDATE {ledger} SET entity_key = ?, operation = ?, version_us = ?, "
    "version_etag = ?, status = ?, target_id = COALESCE(?, target_id), "
    "attempts = CASE WHEN ? > attempts THEN ? ELSE attempts END, detail = ?, "
    "fence = ?, updated_at = ? WHERE target = ? AND write_key = ?"
)
LEDGER_INSERT = (
    f"INSERT INTO {{ledger}} ({_LEDGER_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
#: Rows in :func:`ledger_values` order.
LEDGER_INSERTS = Bulk(
    LEDGER_INSERT, f"INSERT INTO {{ledger}} ({_LEDGER_COLS}) SELECT * FROM {_LEDGER_ARRAYS}"
)
#: Rows in :func:`ledger_values` order, one per write key.
LEDGER_UPDATES = Bulk(
    LEDGER_UPDATE,
    "UPDATE {ledger} AS l SET entity_key = v.entity_key, operation = v.operation, "
    "version_us = v.version_us, version_etag = v.version_etag, status = v.status, "
    "target_id = COALESCE(v.target_id, l.target_id), "
    "attempts = CASE WHEN v.attempts > l.attempts THEN v.attempts ELSE l.attempts END, "
    "detail = v.detail, fence = v.fence, updated_at = v.updated_at "
    f"FROM {_LEDGER_ARRAYS} AS v({_LEDGER_COLS}) "
    "WHERE l.target = v.target AND l.write_key = v.write_key",
    lambda v: (*v[:7], *v[6:]),  # ``attempts`` appears twice in the CASE
)
# The generation is the last enumeration that saw the row: it only moves forward. A write
# outside the enumeration (a waiting record, the incremental stream beside a scan) must not
# undo a mark, or closing that enumeration deletes a live record.
_CROSSWALK_COLS = "object_type, record_id, generation, removed, system, entity_key"
_CROSSWALK_CONFLICT = (
    "ON CONFLICT (system, entity_key) DO UPDATE "
    "SET object_type = excluded.object_type, record_id = excluded.record_id, "
    "generation = CASE WHEN excluded.generation > c.generation "
    "THEN excluded.generation ELSE c.generation END, removed = excluded.removed"
)
CROSSWALK_UPSERT = (
    f"INSERT INTO {{crosswalk}} AS c ({_CROSSWALK_COLS}) VALUES (?, ?, ?, ?, ?, ?) "
    + _CROSSWALK_CONFLICT
)
_CROSSWALK_UPSERTS = Bulk(
    CROSSWALK_UPSERT,
    f"INSERT INTO {{crosswalk}} AS c ({_CROSSWALK_COLS}) SELECT * FROM "
    f"{unnest('text', 'text', 'bigint', 'int', 'text', 'text')} " + _CROSSWALK_CONFLICT,
)
_HEAD_COLS = "version_us, version_etag, write_key, target_id, removed, payload, target, entity_key"
_HEAD_ARRAYS = unnest("bigint", "text", "text", "text", "int", "text", "text", "text")
_HEAD_INSERTS = Bulk(
    f"INSERT INTO {{ledger_heads}} ({_HEAD_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    f"INSERT INTO {{ledger_heads}} ({_HEAD_COLS}) SELECT * FROM {_HEAD_ARRAYS}",
)
_HEAD_UPDATES = Bulk(
    "UPDATE {ledger_heads} SET version_us = ?, version_etag = ?, write_key = ?, "
    "target_id = ?, removed = ?, payload = ? WHERE target = ? AND entity_key = ?",
    "UPDATE {ledger_heads} AS h SET version_us = v.version_us, "
    "version_etag = v.version_etag, write_key = v.write_key, target_id = v.target_id, "
    f"removed = v.removed, payload = v.payload FROM {_HEAD_ARRAYS} AS v({_HEAD_COLS}) "
    "WHERE h.target = v.target AND h.entity_key = v.entity_key",
)
_LINEAGE_COLS = (
    "pipeline, run_id, entity_key, write_key, operation, status, source_id, target_id, "
    "correlation_id, at"
)
_LINEAGE_INSERTS = Bulk(
    f"INSERT INTO {{lineage}} ({_LINEAGE_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    f"INSERT INTO {{lineage}} ({_LINEAGE_COLS}) SELECT * FROM {unnest(*['text'] * 10)}",
)
_SUPERSEDE = (
    "UPDATE {ledger} SET status = 'superseded', updated_at = ? "
    "WHERE target = ? AND write_key = ? AND status = 'pending'"
)


def ledger_values(entry: LedgerEntry, fence: int, now: str) -> tuple[Any, ...]:
    """The parameters of :data:`LEDGER_INSERT` (and, reordered, :data:`LEDGER_UPDATE`)."""
    return (
        entry.entity_key,
        entry.operation,
        entry.version.micros,
        entry.version.etag,
        entry.status.value,
        entry.target_id,
        entry.attempts,
        entry.detail,
        fence,
        now,
        entry.target,
        entry.write_key,
    )


def ledger_update_values(entry: LedgerEntry, fence: int, now: str) -> tuple[Any, ...]:
    """The parameters of :data:`LEDGER_UPDATE` (``attempts`` appears twice in its CASE)."""
    v = ledger_values(entry, fence, now)
    return (*v[:7], *v[6:])


def crosswalk_values(row: CrosswalkEntry) -> tuple[Any, ...]:
    """The parameters of :data:`CROSSWALK_UPSERT`."""
    return (
        row.object_type,
        row.record_id,
        row.generation,
        int(row.removed),
        row.system,
        row.entity_key,
    )


def write_crosswalk(tx: _Tx, rows: Sequence[CrosswalkEntry]) -> None:
    """Upsert crosswalk rows as if one after another: a key written twice keeps its last
    row, with the highest generation of all (the upsert's own rule)."""
    last: dict[tuple[str, str], CrosswalkEntry] = {}
    for row in rows:
        key = (row.system, row.entity_key)
        before = last.pop(key, None)  # re-inserted: a dict keeps the order of last writes
        if before is not None and before.generation > row.generation:
            row = CrosswalkEntry(
                row.system,
                row.entity_key,
                row.object_type,
                row.record_id,
                before.generation,
                row.removed,
            )
        last[key] = row
    tx.bulk(_CROSSWALK_UPSERTS, [crosswalk_values(r) for r in last.values()])


def _lineage_values(row: LineageRecord, now: str) -> tuple[Any, ...]:
    return (
        row.pipeline,
        row.run_id,
        row.entity_key,
        row.write_key,
        row.operation,
        row.status,
        row.source_id,
        row.target_id,
        row.correlation_id,
        now,
    )


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


def by_target(pairs: Sequence[HeadKey]) -> dict[str, list[str]]:
    """Keys by target connection, each once, in first-seen order."""
    grouped: dict[str, list[str]] = {}
    for target, key in dict.fromkeys(pairs):
        grouped.setdefault(target, []).append(key)
    return grouped


def select_in(tx: _Tx, sql: str, target: str, values: Sequence[str]) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` (``target = ?`` then ``IN (?*)``) for ``values``, chunked."""
    rows: list[tuple[Any, ...]] = []
    for chunk in _chunks(values):
        marks = ", ".join("?" * len(chunk))
        rows += tx.q(sql.replace("(?*)", f"({marks})"), (target, *chunk))
    return rows


def read_heads(tx: _Tx, pairs: Sequence[HeadKey]) -> dict[HeadKey, LedgerHead]:
    """The current heads of ``pairs`` (missing ones are absent from the answer)."""
    heads: dict[HeadKey, LedgerHead] = {}
    for target, keys in by_target(pairs).items():
        for row in select_in(
            tx,
            "SELECT entity_key, version_us, version_etag, write_key, target_id, removed, "
            "payload FROM {ledger_heads} WHERE target = ? AND entity_key IN (?*)",
            target,
            keys,
        ):
            heads[(target, row[0])] = LedgerHead(
                target,
                row[0],
                SourceVersion.from_micros(int(row[1]), row[2]),
                row[3],
                row[4],
                bool(row[5]),
                _load(row[6]),
            )
    return heads


def _existing_write_keys(tx: _Tx, entries: Sequence[LedgerEntry]) -> set[HeadKey]:
    found: set[HeadKey] = set()
    for target, keys in by_target([(e.target, e.write_key) for e in entries]).items():
        sql = "SELECT write_key FROM {ledger} WHERE target = ? AND write_key IN (?*)"
        rows = select_in(tx, sql, target, keys)
        found |= {(target, row[0]) for row in rows}
    return found


def _put_entries(tx: _Tx, entries: Sequence[LedgerEntry], fence: int, now: str) -> None:
    """Insert or update each entry, in order, as :meth:`SqlStateStore._put_entry` does."""
    # A write's outcome replaces its pending row, so the updates usually find every row.
    if len({(e.target, e.write_key) for e in entries}) == len(entries) and tx.bulk(
        LEDGER_UPDATES, [ledger_values(e, fence, now) for e in entries]
    ) == len(entries):
        return
    existing = _existing_write_keys(tx, entries)
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    for entry in entries:
        pair = (entry.target, entry.write_key)
        if pair in existing:
            updates.append(ledger_update_values(entry, fence, now))
        else:
            existing.add(pair)  # a repeat later in the batch updates the row inserted here
            inserts.append(ledger_values(entry, fence, now))
    tx.bulk(LEDGER_INSERTS, inserts)  # inserts first: a repeat's update must find its row
    tx.xm(LEDGER_UPDATE, updates)  # in order: a write key may repeat


def advance_head(head: LedgerHead | None, ack: Acknowledgement) -> LedgerHead | None:
    """The head after ``ack``: advanced by an acknowledged newer version, else ``head`` itself.

    Examples:
        >>> from datetime import UTC, datetime
        >>> from erpsa_sdk.sync import LedgerStatus
        >>> v = SourceVersion(datetime(2026, 11, 1, tzinfo=UTC))
        >>> e = LedgerEntry("erp:e1", "wk-1", "ek-1", "upsert", v, LedgerStatus.CREATED, "42")
        >>> advance_head(None, Acknowledgement(e)).target_id
        '42'
    """
    entry = ack.entry
    if not entry.status.acknowledged or not entry.version.is_newer_than(
        head.version if head else None
    ):
        return head
    return LedgerHead(
        entry.target,
        entry.entity_key,
        entry.version,
        entry.write_key,
        entry.target_id or (head.target_id if head else None),
        entry.status.removes,
        ack.payload if ack.payload is not None else (head.payload if head else None),
    )


def _advance_heads(tx: _Tx, acks: Sequence[Acknowledgement]) -> dict[HeadKey, LedgerHead | None]:
    pairs = [(a.entry.target, a.entry.entity_key) for a in acks]
    before = read_heads(tx, pairs)
    heads: dict[HeadKey, LedgerHead | None] = {p: before.get(p) for p in pairs}
    changed: set[HeadKey] = set()
    for ack in acks:
        pair = (ack.entry.target, ack.entry.entity_key)
        head = advance_head(heads[pair], ack)
        if head is not heads[pair]:
            heads[pair] = head
            changed.add(pair)
    rows: dict[bool, list[tuple[Any, ...]]] = {True: [], False: []}
    for pair in sorted(changed):
        new = heads[pair]
        assert new is not None
        rows[pair in before].append(
            (
                new.version.micros,
                new.version.etag,
                new.write_key,
                new.target_id,
                int(new.removed),
                None if new.payload is None else _dump(new.payload),
                new.target,
                new.entity_key,
            )
        )
    tx.bulk(_HEAD_INSERTS, rows[False])
    tx.bulk(_HEAD_UPDATES, rows[True])
    return heads


def _supersede_pending(tx: _Tx, acks: Sequence[Acknowledgement], now: str) -> None:
    """Older writes left in doubt (a crash after sending) are settled by a newer outcome."""
    newest: dict[HeadKey, list[LedgerEntry]] = {}
    for ack in acks:
        if ack.entry.status.acknowledged:
            newest.setdefault((ack.entry.target, ack.entry.entity_key), []).append(ack.entry)
    if not newest:
        return
    settle: list[tuple[Any, ...]] = []
    for target, keys in by_target(list(newest)).items():
        pending = select_in(
            tx,
            "SELECT write_key, entity_key, version_us FROM {ledger} WHERE target = ? "
            "AND status = 'pending' AND entity_key IN (?*)",
            target,
            keys,
        )
        for write_key, entity_key, version_us in pending:
            if any(
                e.write_key != write_key and e.version.micros >= int(version_us)
                for e in newest[(target, entity_key)]
            ):
                settle.append((now, target, write_key))
    tx.xm(_SUPERSEDE, settle)


def store_outcomes(
    tx: _Tx, acks: Sequence[Acknowledgement], *, fence: int, now: str
) -> dict[HeadKey, LedgerHead | None]:
    """Store ``acks`` in ``tx`` (already fenced); return each EntityKey's head afterwards.

    Rules, as for one :meth:`~erpsa_sdk.sync.StateStore.record_write` after another: the
    outcome replaces the entry's ``pending`` row; an acknowledged outcome newer than the head
    advances it (keeping its payload unless a new one is given) and settles older ``pending``
    entries of its EntityKey as ``superseded``; crosswalk rows and lineage are written in order.
    """
    if not acks:
        return {}
    for ack in acks:
        if not ack.entry.status.settled:
            raise ValueError("an acknowledgement stores an outcome, never a pending write")
    _put_entries(tx, [a.entry for a in acks], fence, now)
    heads = _advance_heads(tx, acks)
    _supersede_pending(tx, acks, now)
    write_crosswalk(tx, [r for a in acks for r in a.crosswalk])
    tx.bulk(_LINEAGE_INSERTS, [_lineage_values(a.lineage, now) for a in acks if a.lineage])
    return heads
