"""One SQL implementation of the state store, shared by SQLite and PostgreSQL.

The backends differ only in how they connect, name tables, open a write transaction and lock
the lease row; the statements and every rule (fencing, heads, the checkpoint guard) are here.

Examples:
    >>> from erpsa_sdk.sync import SQLiteStateStore
    >>> SQLiteStateStore(":memory:").schema_version()
    3
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from erpsa_sdk.clock import Clock, SystemClock
from erpsa_sdk.errors import LeaseHeld, LeaseLost, StateError
from erpsa_sdk.sync._migrations import MIGRATIONS, TABLES
from erpsa_sdk.sync._outcomes import (
    CROSSWALK_UPSERT,
    LEDGER_INSERT,
    LEDGER_INSERTS,
    LEDGER_UPDATE,
    LEDGER_UPDATES,
    by_target,
    crosswalk_values,
    ledger_update_values,
    ledger_values,
    read_heads,
    select_in,
    store_outcomes,
    write_crosswalk,
)
from erpsa_sdk.sync._records import (
    Acknowledgement,
    BatchCommit,
    Checkpoint,
    CrosswalkEntry,
    DeadLetter,
    Lease,
    LedgerEntry,
    LedgerHead,
    LedgerStatus,
    LineageRecord,
    MatchIndexEntry,
    RunRecord,
    SourceVersion,
    WaitingRecord,
)
from erpsa_sdk.sync._sqltx import _IN_CHUNK, _Dialect, _dt, _dump, _load, _Tx

if TYPE_CHECKING:
    from erpsa_sdk.auth._tokens import StoredToken, TokenKey, TokenSet

__all__ = ["DEFAULT_MAX_CHECKPOINT_BYTES", "SqlStateStore"]

T = TypeVar("T")

#: Checkpoints are cursors, not dedupe sets (state bloat broke whole deployments elsewhere).
DEFAULT_MAX_CHECKPOINT_BYTES = 64 * 1024
_HEAD_SQL = (
    "SELECT version_us, version_etag, write_key, target_id, removed, payload "
    "FROM {ledger_heads} WHERE target = ? AND entity_key = ?"
)
_LEDGER_COLS = (
    "target, write_key, entity_key, operation, version_us, version_etag, status, target_id, "
    "attempts, detail, updated_at"
)


def _unwritten_seen(batch: BatchCommit) -> list[CrosswalkEntry]:
    """``batch.seen`` without rows identical to the last one its writes just stored."""
    last = {(r.system, r.entity_key): r for a in batch.acknowledged for r in a.crosswalk}
    rows: list[CrosswalkEntry] = []
    for row in batch.seen:
        key = (row.system, row.entity_key)
        if last.get(key) != row:
            rows.append(row)
            last[key] = row
    return rows


def _entry(row: Sequence[Any]) -> LedgerEntry:
    return LedgerEntry(
        target=row[0],
        write_key=row[1],
        entity_key=row[2],
        operation=row[3],
        version=SourceVersion.from_micros(int(row[4]), row[5]),
        status=LedgerStatus(row[6]),
        target_id=row[7],
        attempts=int(row[8]),
        detail=row[9],
        updated_at=_dt(row[10]),
    )


class SqlStateStore:
    """Shared engine of the SQL state stores; use a concrete backend class.

    An embedded backend uses one connection under a lock (its database has one writer anyway,
    and transactions are short: no network call happens inside one). A server backend keeps a
    small pool, one connection per transaction in flight, so writer threads' round trips and
    commits overlap instead of queueing behind each other; fencing and row locks keep them safe.

    Examples:
        >>> from erpsa_sdk.sync import SQLiteStateStore
        >>> store = SQLiteStateStore(":memory:")
        >>> store.current_lease("p") is None
        True
    """

    _dialect: _Dialect
    #: Whether concurrent transactions get their own connections (a server backend).
    _pooled: bool = False
    #: Idle pooled connections kept open; more are opened while more threads are in flight.
    _max_idle: int = 16

    def __init__(
        self,
        *,
        table_prefix: str = "",
        clock: Clock | None = None,
        max_checkpoint_bytes: int = DEFAULT_MAX_CHECKPOINT_BYTES,
    ) -> None:
        if table_prefix and not table_prefix.replace("_", "").isalnum():
            raise ValueError("table_prefix may only hold letters, digits and underscores")
        self._prefix = table_prefix
        self._clock: Clock = clock or SystemClock()
        self._max_checkpoint_bytes = max_checkpoint_bytes
        self._lock = threading.RLock()
        self._conn: Any = None
        self._idle: list[Any] = []
        self._closed = False
        self._names = {name: self._qualify(table_prefix + name) for name in TABLES}
        self._names["migrations"] = self._qualify(table_prefix + "schema_migrations")
        self._names["prefix"] = table_prefix
        self._names["serial"] = self._dialect.serial
        self._names["real"] = self._dialect.real

    @property
    def clock(self) -> Clock:
        """The clock lease expiries are measured on (the runner's lease guard uses it too)."""
        return self._clock

    # -- backend hooks ------------------------------------------------------------------------
    def _qualify(self, table: str) -> str:
        return table

    def _connect(self) -> Any:  # pragma: no cover - backends override
        raise NotImplementedError

    def _prepare_migration(self, tx: _Tx) -> None:
        return None

    def _is_disconnect(self, exc: BaseException, conn: Any) -> bool:
        return False

    # -- transactions -------------------------------------------------------------------------
    def _connection(self) -> Any:
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with suppress(Exception):  # the connection is already unusable
                conn.close()

    def _checkout(self) -> Any:
        if not self._pooled:
            self._lock.acquire()
            try:
                return self._connection()
            except BaseException:
                self._lock.release()
                raise
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._connect()

    def _checkin(self, conn: Any, *, broken: bool = False) -> None:
        if not self._pooled:
            try:
                if broken:
                    self._drop_connection()
            finally:
                self._lock.release()
            return
        with self._lock:
            if not broken and not self._closed and len(self._idle) < self._max_idle:
                self._idle.append(conn)
                return
        with suppress(Exception):  # unusable, surplus, or the store was closed meanwhile
            conn.close()

    @contextmanager
    def _tx(self, conn: Any, *, write: bool) -> Iterator[_Tx]:
        conn.execute(self._dialect.begin_write if write else "BEGIN")
        try:
            yield _Tx(conn, self._dialect, self._names)
        except BaseException:
            with suppress(Exception):  # a broken connection rolls back by itself
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _run(self, fn: Callable[[_Tx], T], *, write: bool = True) -> T:
        for attempt in (1, 2):
            conn = self._checkout()
            try:
                with self._tx(conn, write=write) as tx:
                    result = fn(tx)
            except Exception as exc:
                lost = self._is_disconnect(exc, conn)
                self._checkin(conn, broken=lost)
                # A lost connection (server restart, a session killed while this process was
                # stopped) is retried once on a new one; fencing makes the retry safe.
                if attempt == 1 and lost:
                    continue
                raise
            except BaseException:
                self._checkin(conn, broken=True)  # interrupted mid-transaction: state unknown
                raise
            self._checkin(conn)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """One SELECT outside an explicit transaction (it is its own): two round trips fewer."""
        return self._reads(lambda tx: tx.q(sql, params))

    def _reads(self, fn: Callable[[_Tx], T]) -> T:
        """SELECTs outside an explicit transaction, each its own (for reads that need no
        snapshot shared between them: only the lease holder writes what they read)."""
        for attempt in (1, 2):
            conn = self._checkout()
            try:
                result = fn(_Tx(conn, self._dialect, self._names))
            except Exception as exc:
                lost = self._is_disconnect(exc, conn)
                self._checkin(conn, broken=lost)
                if attempt == 1 and lost:
                    continue
                raise
            except BaseException:
                self._checkin(conn, broken=True)
                raise
            self._checkin(conn)
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def _now(self) -> str:
        return self._clock.now().astimezone(UTC).isoformat(timespec="microseconds")

    def _migrate(self) -> None:
        def apply(tx: _Tx) -> None:
            self._prepare_migration(tx)
            tx.x(
                "CREATE TABLE IF NOT EXISTS {migrations} "
                "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            current = int(tx.q("SELECT COALESCE(MAX(version), 0) FROM {migrations}")[0][0])
            latest = MIGRATIONS[-1][0]
            if current > latest:
                raise StateError(
                    f"the state store is at schema version {current}, newer than this "
                    f"erpsa-sdk supports ({latest}); upgrade erpsa-sdk",
                    version=current,
                )
            for version, statements in MIGRATIONS:
                if version <= current:
                    continue
                for statement in statements:
                    tx.x(statement)
                tx.x(
                    "INSERT INTO {migrations} (version, applied_at) VALUES (?, ?)",
                    (version, self._now()),
                )

        self._run(apply)

    def schema_version(self) -> int:
        return self._run(
            lambda tx: int(tx.q("SELECT COALESCE(MAX(version), 0) FROM {migrations}")[0][0]),
            write=False,
        )

    def close(self) -> None:
        with self._lock:
            self._drop_connection()
            idle, self._idle = self._idle, []
            if self._pooled:
                self._closed = True
        for conn in idle:
            with suppress(Exception):
                conn.close()

    # -- leases -------------------------------------------------------------------------------
    def _check_fence(self, tx: _Tx, lease: Lease, *, for_update: bool = False) -> None:
        rows = tx.q(
            "SELECT fence, holder FROM {leases} WHERE name = ?"  # noqa: S608 - fixed lock clause
            + (self._dialect.lock_update if for_update else self._dialect.lock_share),
            (lease.name,),
        )
        current = int(rows[0][0]) if rows else None
        if current != lease.fence:
            raise LeaseLost(
                f"lease {lease.name!r} was taken over by {rows[0][1] if rows else 'nobody'!r} "
                f"(this worker's fence {lease.fence}, current fence {current}); "
                "nothing was committed, this worker must stop",
                lease=lease.name,
                fence=lease.fence,
                current_fence=current,
            )

    def acquire_lease(self, name: str, *, holder: str, ttl: float) -> Lease:
        if ttl <= 0:
            raise ValueError("a lease needs a positive ttl")

        def take(tx: _Tx) -> Lease:
            tx.x(
                "INSERT INTO {leases} (name, holder, fence, expires_at) VALUES (?, '', 0, 0) "
                "ON CONFLICT (name) DO NOTHING",
                (name,),
            )
            row = tx.q(
                "SELECT holder, fence, expires_at FROM {leases} WHERE name = ?"  # noqa: S608
                + self._dialect.lock_update,
                (name,),
            )[0]
            now = self._clock.time()
            if row[0] and row[0] != holder and float(row[2]) > now:
                raise LeaseHeld(
                    f"lease {name!r} is held by {row[0]!r} for {float(row[2]) - now:.1f}s more",
                    lease=name,
                    holder=row[0],
                )
            lease = Lease(name, holder, int(row[1]) + 1, now + ttl)
            tx.x(
                "UPDATE {leases} SET holder = ?, fence = ?, expires_at = ? WHERE name = ?",
                (holder, lease.fence, lease.expires_at, name),
            )
            return lease

        return self._run(take)

    def renew_lease(self, lease: Lease, *, ttl: float) -> Lease:
        def renew(tx: _Tx) -> Lease:
            # Locked for update up front: two threads renewing at once would each hold a share
            # lock and wait for the other's to update the row (a deadlock).
            self._check_fence(tx, lease, for_update=True)
            renewed = Lease(lease.name, lease.holder, lease.fence, self._clock.time() + ttl)
            tx.x(
                "UPDATE {leases} SET expires_at = ? WHERE name = ? AND fence = ?",
                (renewed.expires_at, lease.name, lease.fence),
            )
            return renewed

        return self._run(renew)

    def release_lease(self, lease: Lease) -> None:
        self._run(
            lambda tx: tx.x(
                "UPDATE {leases} SET holder = '', expires_at = 0 WHERE name = ? AND fence = ?",
                (lease.name, lease.fence),
            )
        )

    def current_lease(self, name: str) -> Lease | None:
        rows = self._read("SELECT holder, fence, expires_at FROM {leases} WHERE name = ?", (name,))
        if not rows or int(rows[0][1]) == 0:
            return None
        return Lease(name, rows[0][0], int(rows[0][1]), float(rows[0][2]))

    # -- checkpoints --------------------------------------------------------------------------
    def get_checkpoint(self, pipeline: str, stream: str) -> Checkpoint | None:
        rows = self._read(
            "SELECT cursor, generation, complete FROM {checkpoints} "
            "WHERE pipeline = ? AND stream = ?",
            (pipeline, stream),
        )
        if not rows:
            return None
        return Checkpoint(pipeline, stream, _load(rows[0][0]), int(rows[0][1]), bool(rows[0][2]))

    def commit_batch(self, lease: Lease, batch: BatchCommit) -> None:
        cursor_text = _dump(batch.cursor)
        size = len(cursor_text.encode())
        if size > self._max_checkpoint_bytes:
            raise StateError(
                f"checkpoint of {batch.pipeline}/{batch.stream} is {size} bytes; the limit is "
                f"{self._max_checkpoint_bytes} (a cursor must not carry dedupe sets)",
                size=size,
            )

        def commit(tx: _Tx) -> None:
            self._check_fence(tx, lease)
            now = self._now()
            store_outcomes(tx, batch.acknowledged, fence=lease.fence, now=now)
            target = batch.target
            # The outcomes just stored are settled by construction; the rest are checked.
            stored = {a.entry.write_key for a in batch.acknowledged if a.entry.target == target}
            self._require_settled(tx, target, [k for k in batch.write_keys if k not in stored])
            for entry in batch.ledger:
                rows = tx.q(
                    "SELECT status FROM {ledger} WHERE target = ? AND write_key = ?",
                    (entry.target, entry.write_key),
                )
                if rows and LedgerStatus(rows[0][0]).settled:
                    continue
                self._put_entry(tx, entry, lease, now, exists=bool(rows))
            for waiting in batch.waiting:
                self._put_waiting(tx, waiting, now)
            self._resolve_waiting(tx, batch)
            for letter in batch.dead_letters:
                self._put_dead_letter(tx, letter, now)
            write_crosswalk(tx, _unwritten_seen(batch))
            rows = tx.q(
                "SELECT generation FROM {checkpoints} WHERE pipeline = ? AND stream = ?",
                (batch.pipeline, batch.stream),
            )
            generation = (
                batch.generation
                if batch.generation is not None
                else (int(rows[0][0]) if rows else 0)
            )
            params = (cursor_text, generation, int(batch.complete), lease.fence, now)
            if rows:
                tx.x(
                    "UPDATE {checkpoints} SET cursor = ?, generation = ?, complete = ?, fence = ?, "
                    "updated_at = ? WHERE pipeline = ? AND stream = ?",
                    (*params, batch.pipeline, batch.stream),
                )
            else:
                tx.x(
                    "INSERT INTO {checkpoints} (cursor, generation, complete, fence, updated_at, "
                    "pipeline, stream) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (*params, batch.pipeline, batch.stream),
                )

        self._run(commit)

    @staticmethod
    def _resolve_waiting(tx: _Tx, batch: BatchCommit) -> None:
        """Delete the batch's resolved keys from its stream's waiting records (if any wait)."""
        if not batch.resolved_waiting:
            return
        # Most batches resolve keys that never waited: one read instead of a delete per key.
        waiting = {
            row[0]
            for row in tx.q(
                "SELECT entity_key FROM {waiting} WHERE pipeline = ? AND stream = ?",
                (batch.pipeline, batch.stream),
            )
        }
        tx.xm(
            "DELETE FROM {waiting} WHERE pipeline = ? AND stream = ? AND entity_key = ?",
            [(batch.pipeline, batch.stream, k) for k in batch.resolved_waiting if k in waiting],
        )

    def _require_settled(self, tx: _Tx, target: str, write_keys: Sequence[str]) -> None:
        keys = sorted(set(write_keys))
        for start in range(0, len(keys), _IN_CHUNK):
            chunk = keys[start : start + _IN_CHUNK]
            marks = ", ".join("?" * len(chunk))
            settled = {
                row[0]
                for row in tx.q(
                    f"SELECT write_key FROM {{ledger}} WHERE target = ? AND status != 'pending' "  # noqa: S608 - only placeholders are interpolated
                    f"AND write_key IN ({marks})",
                    (target, *chunk),
                )
            }
            missing = [key for key in chunk if key not in settled]
            if missing:
                raise StateError(
                    f"refusing to advance the checkpoint: {len(missing)} write(s) of this batch "
                    f"are not acknowledged at {target!r} (first: {missing[0]!r})",
                    missing=missing[:10],
                )

    # -- ledger -------------------------------------------------------------------------------
    def ledger_entry(self, target: str, write_key: str) -> LedgerEntry | None:
        rows = self._read(
            f"SELECT {_LEDGER_COLS} FROM {{ledger}} WHERE target = ? AND write_key = ?",  # noqa: S608
            (target, write_key),
        )
        return _entry(rows[0]) if rows else None

    def ledger_head(self, target: str, entity_key: str) -> LedgerHead | None:
        rows = self._read(_HEAD_SQL, (target, entity_key))
        return self._head(target, entity_key, rows)

    @staticmethod
    def _head_rows(tx: _Tx, target: str, entity_key: str) -> list[tuple[Any, ...]]:
        return tx.q(_HEAD_SQL, (target, entity_key))

    @staticmethod
    def _head(target: str, entity_key: str, rows: list[tuple[Any, ...]]) -> LedgerHead | None:
        if not rows:
            return None
        row = rows[0]
        return LedgerHead(
            target,
            entity_key,
            SourceVersion.from_micros(int(row[0]), row[1]),
            row[2],
            row[3],
            bool(row[4]),
            _load(row[5]),
        )

    def ledger_heads(self, target: str, entity_keys: Sequence[str]) -> dict[str, LedgerHead]:
        pairs = [(target, key) for key in entity_keys]
        heads = self._reads(lambda tx: read_heads(tx, pairs))
        return {key: head for (_, key), head in heads.items()}

    def pending_writes(self, target: str, entity_keys: Sequence[str]) -> dict[str, set[str]]:
        rows = self._reads(
            lambda tx: select_in(
                tx,
                "SELECT entity_key, write_key FROM {ledger} WHERE target = ? "
                "AND status = 'pending' AND entity_key IN (?*)",
                target,
                list(dict.fromkeys(entity_keys)),
            )
        )
        pending: dict[str, set[str]] = {}
        for entity_key, write_key in rows:
            pending.setdefault(entity_key, set()).add(write_key)
        return pending

    def ledger_entries(self, target: str, *, entity_key: str | None = None) -> list[LedgerEntry]:
        where, params = "target = ?", [target]
        if entity_key is not None:
            where, params = "target = ? AND entity_key = ?", [target, entity_key]
        rows = self._read(
            f"SELECT {_LEDGER_COLS} FROM {{ledger}} WHERE {where} "  # noqa: S608
            "ORDER BY version_us, updated_at, write_key",
            params,
        )
        return [_entry(row) for row in rows]

    def _put_entry(
        self, tx: _Tx, entry: LedgerEntry, lease: Lease, now: str, *, exists: bool | None
    ) -> None:
        """Insert or update ``entry``; ``exists=None`` tries the update and inserts if no row."""
        if exists is not False:
            updated = tx.x(LEDGER_UPDATE, ledger_update_values(entry, lease.fence, now))
            if exists or updated:
                return
        tx.x(LEDGER_INSERT, ledger_values(entry, lease.fence, now))

    def begin_write(self, lease: Lease, entry: LedgerEntry) -> LedgerEntry | None:
        return self.begin_writes(lease, [entry]).get(entry.write_key)

    def begin_writes(self, lease: Lease, entries: Sequence[LedgerEntry]) -> dict[str, LedgerEntry]:
        def begin(tx: _Tx) -> dict[str, LedgerEntry]:
            self._check_fence(tx, lease)
            now = self._now()
            priors: dict[str, LedgerEntry] = {}
            for target, keys in by_target([(e.target, e.write_key) for e in entries]).items():
                for row in select_in(
                    tx,
                    f"SELECT {_LEDGER_COLS} FROM {{ledger}} "  # noqa: S608 - fixed column list
                    "WHERE target = ? AND write_key IN (?*)",
                    target,
                    keys,
                ):
                    priors[row[1]] = _entry(row)
            inserts: list[tuple[Any, ...]] = []
            updates: list[tuple[Any, ...]] = []
            done: set[str] = set()
            for entry in entries:
                if entry.write_key in done:
                    continue
                done.add(entry.write_key)
                prior = priors.get(entry.write_key)
                if prior is not None and prior.status.settled:
                    continue  # the write already happened: nothing changes
                pending = LedgerEntry(
                    entry.target,
                    entry.write_key,
                    entry.entity_key,
                    entry.operation,
                    entry.version,
                    LedgerStatus.PENDING,
                    prior.target_id if prior else entry.target_id,
                    (prior.attempts if prior else 0) + 1,
                    entry.detail,
                )
                if prior is None:
                    inserts.append(ledger_values(pending, lease.fence, now))
                else:
                    updates.append(ledger_values(pending, lease.fence, now))
            tx.bulk(LEDGER_INSERTS, inserts)
            tx.bulk(LEDGER_UPDATES, updates)  # one per write key
            return priors

        return self._run(begin)

    def record_write(
        self,
        lease: Lease,
        entry: LedgerEntry,
        *,
        crosswalk: CrosswalkEntry | Sequence[CrosswalkEntry] | None = None,
        lineage: LineageRecord | None = None,
        dead_letter: DeadLetter | None = None,
        payload: Any = None,
    ) -> LedgerHead | None:
        if entry.status is LedgerStatus.PENDING:
            raise ValueError("record_write stores an outcome; use begin_write for pending")
        rows_cross: Sequence[CrosswalkEntry]
        if crosswalk is None:
            rows_cross = ()
        elif isinstance(crosswalk, CrosswalkEntry):
            rows_cross = (crosswalk,)
        else:
            rows_cross = crosswalk

        ack = Acknowledgement(entry, tuple(rows_cross), lineage, payload)

        def record(tx: _Tx) -> LedgerHead | None:
            self._check_fence(tx, lease)
            now = self._now()
            heads = store_outcomes(tx, [ack], fence=lease.fence, now=now)
            if dead_letter is not None:
                self._put_dead_letter(tx, dead_letter, now)
            return heads[(entry.target, entry.entity_key)]

        return self._run(record)

    # -- crosswalk ----------------------------------------------------------------------------
    @staticmethod
    def _put_crosswalk(tx: _Tx, row: CrosswalkEntry) -> None:
        tx.x(CROSSWALK_UPSERT, crosswalk_values(row))

    @staticmethod
    def _crosswalk(row: Sequence[Any]) -> CrosswalkEntry:
        return CrosswalkEntry(row[0], row[1], row[2], row[3], int(row[4]), bool(row[5]))

    def crosswalk_get(self, system: str, entity_key: str) -> CrosswalkEntry | None:
        rows = self._read(
            "SELECT system, entity_key, object_type, record_id, generation, removed "
            "FROM {crosswalk} WHERE system = ? AND entity_key = ?",
            (system, entity_key),
        )
        return self._crosswalk(rows[0]) if rows else None

    def crosswalk_find(
        self, system: str, object_type: str, record_id: str
    ) -> CrosswalkEntry | None:
        rows = self._read(
            "SELECT system, entity_key, object_type, record_id, generation, removed "
            "FROM {crosswalk} WHERE system = ? AND object_type = ? AND record_id = ? "
            "ORDER BY removed LIMIT 1",
            (system, object_type, record_id),
        )
        return self._crosswalk(rows[0]) if rows else None

    def crosswalk_put(self, lease: Lease, entry: CrosswalkEntry) -> None:
        def put(tx: _Tx) -> None:
            self._check_fence(tx, lease)
            self._put_crosswalk(tx, entry)

        self._run(put)

    def match_index_put(self, lease: Lease, entries: Sequence[MatchIndexEntry]) -> None:
        def put(tx: _Tx) -> None:
            self._check_fence(tx, lease)
            for e in entries:
                values = (e.entity_key, _dump(e.natural_key), e.system, e.object_type, e.record_id)
                updated = tx.x(
                    "UPDATE {match_index} SET entity_key = ?, natural_key = ? "
                    "WHERE system = ? AND object_type = ? AND record_id = ?",
                    values,
                )
                if not updated:
                    tx.x(
                        "INSERT INTO {match_index} (entity_key, natural_key, system, "
                        "object_type, record_id) VALUES (?, ?, ?, ?, ?)",
                        values,
                    )

        if entries:
            self._run(put)

    def match_index_get(
        self, system: str, object_type: str, record_id: str
    ) -> MatchIndexEntry | None:
        rows = self._run(
            lambda tx: tx.q(
                "SELECT entity_key, natural_key FROM {match_index} "
                "WHERE system = ? AND object_type = ? AND record_id = ?",
                (system, object_type, record_id),
            ),
            write=False,
        )
        if not rows:
            return None
        return MatchIndexEntry(system, object_type, record_id, rows[0][0], _load(rows[0][1]))

    def crosswalk_unseen(
        self, system: str, object_type: str, generation: int
    ) -> list[CrosswalkEntry]:
        rows = self._run(
            lambda tx: tx.q(
                "SELECT system, entity_key, object_type, record_id, generation, removed "
                "FROM {crosswalk} WHERE system = ? AND object_type = ? AND removed = 0 "
                "AND generation < ? ORDER BY entity_key",
                (system, object_type, generation),
            ),
            write=False,
        )
        return [self._crosswalk(row) for row in rows]

    # -- waiting, dead letters, lineage, runs ------------------------------------------------
    @staticmethod
    def _put_waiting(tx: _Tx, row: WaitingRecord, now: str) -> None:
        updated = tx.x(
            "UPDATE {waiting} SET payload = ?, missing = ?, attempts = attempts + 1 "
            "WHERE pipeline = ? AND stream = ? AND entity_key = ?",
            (_dump(row.payload), _dump(row.missing), row.pipeline, row.stream, row.entity_key),
        )
        if not updated:
            tx.x(
                "INSERT INTO {waiting} (payload, missing, attempts, first_seen, pipeline, stream, "
                "entity_key) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    _dump(row.payload),
                    _dump(row.missing),
                    row.attempts,
                    now,
                    row.pipeline,
                    row.stream,
                    row.entity_key,
                ),
            )

    def waiting(self, pipeline: str, stream: str) -> list[WaitingRecord]:
        rows = self._run(
            lambda tx: tx.q(
                "SELECT entity_key, payload, missing, attempts, first_seen FROM {waiting} "
                "WHERE pipeline = ? AND stream = ? ORDER BY first_seen, entity_key",
                (pipeline, stream),
            ),
            write=False,
        )
        return [
            WaitingRecord(pipeline, stream, r[0], _load(r[1]), _load(r[2]), int(r[3]), _dt(r[4]))
            for r in rows
        ]

    @staticmethod
    def _put_dead_letter(tx: _Tx, row: DeadLetter, now: str) -> None:
        payload = _dump(row.payload)
        # A record dead-lettered again for the same reason (re-read every run, a newer
        # version) updates its open letter: one letter per problem, not one row per run.
        # Without an EntityKey ("-") the payload is all that names the record.
        if row.entity_key == "-":
            match = "entity_key = '-' AND payload = ?"
            ident: tuple[Any, ...] = (payload,)
        else:
            match = "entity_key = ?"
            ident = (row.entity_key,)
        open_rows = tx.q(
            f"SELECT id FROM {{dead_letters}} WHERE pipeline = ? AND {match} "  # noqa: S608
            "AND reason = ? AND status = 'open' ORDER BY id DESC LIMIT 1",
            (row.pipeline, *ident, row.reason),
        )
        if open_rows:
            tx.x(
                "UPDATE {dead_letters} SET attempts = attempts + 1, last_seen = ?, owner = ?, "
                "payload = ?, error = ?, write_key = COALESCE(?, write_key) WHERE id = ?",
                (now, row.owner, payload, row.error, row.write_key, open_rows[0][0]),
            )
            return
        tx.x(
            "INSERT INTO {dead_letters} (pipeline, entity_key, write_key, reason, owner, payload, "
            "error, created_at, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.pipeline,
                row.entity_key,
                row.write_key,
                row.reason,
                row.owner,
                payload,
                row.error,
                now,
                now,
            ),
        )

    def dead_letters(self, pipeline: str, *, limit: int = 1000) -> list[DeadLetter]:
        rows = self._run(
            lambda tx: tx.q(
                "SELECT id, entity_key, write_key, reason, owner, payload, error, created_at "
                "FROM {dead_letters} WHERE pipeline = ? ORDER BY id LIMIT ?",
                (pipeline, limit),
            ),
            write=False,
        )
        return [
            DeadLetter(
                pipeline,
                r[1],
                r[3],
                owner=r[4],
                payload=_load(r[5]),
                error=r[6],
                write_key=r[2],
                id=int(r[0]),
                created_at=_dt(r[7]),
            )
            for r in rows
        ]

    def lineage(self, entity_key: str, *, limit: int = 1000) -> list[LineageRecord]:
        rows = self._run(
            lambda tx: tx.q(
                "SELECT pipeline, run_id, entity_key, write_key, operation, status, source_id, "
                "target_id, correlation_id, at FROM {lineage} WHERE entity_key = ? "
                "ORDER BY id LIMIT ?",
                (entity_key, limit),
            ),
            write=False,
        )
        return [
            LineageRecord(
                r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], correlation_id=r[8], at=_dt(r[9])
            )
            for r in rows
        ]

    def start_run(self, lease: Lease, run: RunRecord) -> None:
        def start(tx: _Tx) -> None:
            self._check_fence(tx, lease)
            tx.x(
                "INSERT INTO {runs} (run_id, pipeline, holder, status, correlation_id, stats, "
                "message, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run.run_id,
                    run.pipeline,
                    run.holder,
                    run.status,
                    run.correlation_id,
                    _dump(run.stats),
                    run.message,
                    self._now(),
                ),
            )

        self._run(start)

    def finish_run(
        self, run_id: str, *, status: str, stats: dict[str, int], message: str | None = None
    ) -> None:
        self._run(
            lambda tx: tx.x(
                "UPDATE {runs} SET status = ?, stats = ?, message = ?, finished_at = ? "
                "WHERE run_id = ?",
                (status, _dump(stats), message, self._now(), run_id),
            )
        )

    def runs(self, pipeline: str, *, limit: int = 50) -> list[RunRecord]:
        rows = self._run(
            lambda tx: tx.q(
                "SELECT run_id, holder, status, correlation_id, stats, message, started_at, "
                "finished_at FROM {runs} WHERE pipeline = ? ORDER BY started_at DESC, run_id "
                "LIMIT ?",
                (pipeline, limit),
            ),
            write=False,
        )
        return [
            RunRecord(
                r[0],
                pipeline,
                r[1],
                r[2],
                r[3],
                _load(r[4]),
                r[5],
                _dt(r[6]),
                _dt(r[7]),
            )
            for r in rows
        ]

    # -- tokens (the erpsa_sdk.auth TokenStore protocol) -------------------------------------
    @staticmethod
    def _token_key(key: TokenKey) -> str:
        return _dump([key.tenant, key.credential_id])

    def get(self, key: TokenKey) -> StoredToken | None:
        """The stored token for ``key`` (:class:`~erpsa_sdk.auth.TokenStore`), or ``None``."""
        # The token module only, not erpsa_sdk.auth with its flows: `import erpsa_sdk.sync`
        # stays light.
        from erpsa_sdk.auth._tokens import StoredToken, TokenSet

        rows = self._run(
            lambda tx: tx.q(
                "SELECT value, version FROM {tokens} WHERE key = ?", (self._token_key(key),)
            ),
            write=False,
        )
        if not rows:
            return None
        return StoredToken(TokenSet.from_storage(_load(rows[0][0])), int(rows[0][1]))

    def compare_and_swap(
        self, key: TokenKey, expected_version: int | None, token: TokenSet
    ) -> StoredToken | None:
        """Store ``token`` if the stored version is ``expected_version`` (``None``: absent).

        Returns the stored token with its new version, or ``None`` when another writer won.
        """
        from erpsa_sdk.auth._tokens import StoredToken

        text, name = _dump(token.to_storage()), self._token_key(key)

        def swap(tx: _Tx) -> StoredToken | None:
            now = self._now()
            if expected_version is None:
                inserted = tx.x(
                    "INSERT INTO {tokens} (key, value, version, updated_at) VALUES (?, ?, 1, ?) "
                    "ON CONFLICT (key) DO NOTHING",
                    (name, text, now),
                )
                return StoredToken(token, 1) if inserted == 1 else None
            updated = tx.x(
                "UPDATE {tokens} SET value = ?, version = version + 1, updated_at = ? "
                "WHERE key = ? AND version = ?",
                (text, now, name, expected_version),
            )
            return StoredToken(token, expected_version + 1) if updated == 1 else None

        return self._run(swap)

    # -- maintenance --------------------------------------------------------------------------
    def prune(self, *, before: datetime, keep_runs: int = 100) -> int:
        cutoff = before.astimezone(UTC).isoformat(timespec="microseconds")

        def prune(tx: _Tx) -> int:
            # Pending and parked writes are open work (a parked deletion is replayed from its
            # ledger row, however long finance takes); only settled history goes.
            removed = tx.x(
                "DELETE FROM {ledger} WHERE updated_at < ? AND status NOT IN ('pending', 'parked') "
                "AND NOT EXISTS (SELECT 1 FROM {ledger_heads} h WHERE h.target = {ledger}.target "
                "AND h.write_key = {ledger}.write_key)",
                (cutoff,),
            )
            removed += tx.x("DELETE FROM {lineage} WHERE at < ?", (cutoff,))
            # Open letters wait for a person however long it takes; closed ones are history.
            removed += tx.x(
                "DELETE FROM {dead_letters} WHERE status IN ('replayed', 'superseded', "
                "'discarded') AND COALESCE(resolved_at, last_seen, created_at) < ?",
                (cutoff,),
            )
            for (pipeline,) in tx.q("SELECT DISTINCT pipeline FROM {runs}"):
                removed += tx.x(
                    "DELETE FROM {runs} WHERE pipeline = ? AND run_id NOT IN (SELECT run_id "
                    "FROM {runs} WHERE pipeline = ? ORDER BY started_at DESC LIMIT ?)",
                    (pipeline, pipeline, keep_runs),
                )
            return removed

        return self._run(prune)
