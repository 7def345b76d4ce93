"""``NullStateStore``: the runner's state in plain dicts, for the overhead benchmark only.

It keeps exactly what the runner reads back within one run (lease, checkpoints, ledger and its
heads, crosswalk) and nothing else, with no I/O, no durability and no transactions, so the
same pipeline run on it and on a real store differs only by what persisting costs. It is NOT
a state store to use: a crash loses everything, and fences are checked but not made atomic.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from erpsa_sdk.clock import Clock, SystemClock
from erpsa_sdk.errors import LeaseLost, StateError
from erpsa_sdk.sync import (
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
    WaitingRecord,
)


class NullStateStore:
    """The :class:`~erpsa_sdk.sync.StateStore` protocol over dicts (benchmark baseline)."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._leases: dict[str, Lease] = {}
        self._checkpoints: dict[tuple[str, str], Checkpoint] = {}
        self._ledger: dict[tuple[str, str], LedgerEntry] = {}
        self._by_entity: dict[tuple[str, str], dict[str, LedgerEntry]] = {}
        self._heads: dict[tuple[str, str], LedgerHead] = {}
        self._crosswalk: dict[tuple[str, str], CrosswalkEntry] = {}
        self._by_record: dict[tuple[str, str, str], CrosswalkEntry] = {}
        self._match_index: dict[tuple[str, str, str], MatchIndexEntry] = {}
        self._waiting: dict[tuple[str, str, str], WaitingRecord] = {}
        self.dead: list[DeadLetter] = []

    # -- leases ---------------------------------------------------------------------------------

    def _fenced(self, lease: Lease) -> None:
        current = self._leases.get(lease.name)
        if current is None or current.fence != lease.fence:
            raise LeaseLost(f"lease {lease.name} was taken over")

    def acquire_lease(self, name: str, *, holder: str, ttl: float) -> Lease:
        with self._lock:
            old = self._leases.get(name)
            lease = Lease(name, holder, (old.fence if old else 0) + 1, self.clock.time() + ttl)
            self._leases[name] = lease
            return lease

    def renew_lease(self, lease: Lease, *, ttl: float) -> Lease:
        with self._lock:
            self._fenced(lease)
            renewed = replace(lease, expires_at=self.clock.time() + ttl)
            self._leases[lease.name] = renewed
            return renewed

    def release_lease(self, lease: Lease) -> None:
        with self._lock:
            if self._leases.get(lease.name) == lease:
                self._leases[lease.name] = replace(lease, expires_at=0.0)

    def current_lease(self, name: str) -> Lease | None:
        return self._leases.get(name)

    # -- checkpoints ----------------------------------------------------------------------------

    def get_checkpoint(self, pipeline: str, stream: str) -> Checkpoint | None:
        return self._checkpoints.get((pipeline, stream))

    def commit_batch(self, lease: Lease, batch: BatchCommit) -> None:
        for ack in batch.acknowledged:
            self.record_write(
                lease, ack.entry, crosswalk=ack.crosswalk, lineage=ack.lineage, payload=ack.payload
            )
        with self._lock:
            self._fenced(lease)
            for key in batch.write_keys:
                entry = self._ledger.get((batch.target, key))
                if entry is None or not entry.status.settled:
                    raise StateError(f"write {key} is not settled")
            for entry in batch.ledger:
                self._set(entry)
            for w in batch.waiting:
                self._waiting[(w.pipeline, w.stream, w.entity_key)] = w
            for ek in batch.resolved_waiting:
                self._waiting.pop((batch.pipeline, batch.stream, ek), None)
            self.dead.extend(batch.dead_letters)
            for seen in batch.seen:
                self._put(seen)
            old = self._checkpoints.get((batch.pipeline, batch.stream))
            self._checkpoints[(batch.pipeline, batch.stream)] = Checkpoint(
                batch.pipeline, batch.stream, batch.cursor, generation=old.generation if old else 0
            )

    # -- ledger ---------------------------------------------------------------------------------

    def ledger_entry(self, target: str, write_key: str) -> LedgerEntry | None:
        return self._ledger.get((target, write_key))

    def ledger_head(self, target: str, entity_key: str) -> LedgerHead | None:
        return self._heads.get((target, entity_key))

    def ledger_heads(self, target: str, entity_keys: Sequence[str]) -> dict[str, LedgerHead]:
        return {k: h for k in entity_keys if (h := self._heads.get((target, k))) is not None}

    def pending_writes(self, target: str, entity_keys: Sequence[str]) -> dict[str, set[str]]:
        with self._lock:
            found = {
                k: {
                    wk
                    for wk, e in self._by_entity.get((target, k), {}).items()
                    if e.status is LedgerStatus.PENDING
                }
                for k in entity_keys
            }
        return {k: wks for k, wks in found.items() if wks}

    def _set(self, entry: LedgerEntry) -> None:
        self._ledger[(entry.target, entry.write_key)] = entry
        self._by_entity.setdefault((entry.target, entry.entity_key), {})[entry.write_key] = entry

    def ledger_entries(self, target: str, *, entity_key: str | None = None) -> list[LedgerEntry]:
        with self._lock:
            if entity_key is not None:
                found = list(self._by_entity.get((target, entity_key), {}).values())
            else:
                found = [e for (t, _), e in self._ledger.items() if t == target]
        return sorted(found, key=lambda e: e.version.micros)

    def begin_write(self, lease: Lease, entry: LedgerEntry) -> LedgerEntry | None:
        with self._lock:
            self._fenced(lease)
            old = self._ledger.get((entry.target, entry.write_key))
            if old is not None and old.status.settled:
                return old
            attempts = (old.attempts if old else 0) + 1
            self._set(replace(entry, status=LedgerStatus.PENDING, attempts=attempts))
            return old

    def begin_writes(self, lease: Lease, entries: Sequence[LedgerEntry]) -> dict[str, LedgerEntry]:
        priors = {}
        for entry in entries:
            prior = self.begin_write(lease, entry)
            if prior is not None:
                priors[entry.write_key] = prior
        return priors

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
        with self._lock:
            self._fenced(lease)
            self._set(entry)
            rows = [crosswalk] if isinstance(crosswalk, CrosswalkEntry) else list(crosswalk or ())
            for row in rows:
                self._put(row)
            if dead_letter is not None:
                self.dead.append(dead_letter)
            head = self._heads.get((entry.target, entry.entity_key))
            if entry.status.acknowledged and (
                head is None or entry.version.is_newer_than(head.version)
            ):
                head = LedgerHead(
                    entry.target,
                    entry.entity_key,
                    entry.version,
                    entry.write_key,
                    entry.target_id,
                    removed=entry.status == LedgerStatus.DELETED,
                    payload=payload,
                )
                self._heads[(entry.target, entry.entity_key)] = head
            return head

    # -- crosswalk ------------------------------------------------------------------------------

    def _put(self, entry: CrosswalkEntry) -> None:
        self._crosswalk[(entry.system, entry.entity_key)] = entry
        self._by_record[(entry.system, entry.object_type, entry.record_id)] = entry

    def crosswalk_get(self, system: str, entity_key: str) -> CrosswalkEntry | None:
        return self._crosswalk.get((system, entity_key))

    def crosswalk_find(
        self, system: str, object_type: str, record_id: str
    ) -> CrosswalkEntry | None:
        return self._by_record.get((system, object_type, record_id))

    def match_index_put(self, lease: Lease, entries: Sequence[MatchIndexEntry]) -> None:
        with self._lock:
            self._fenced(lease)
            for e in entries:
                self._match_index[(e.system, e.object_type, e.record_id)] = e

    def match_index_get(
        self, system: str, object_type: str, record_id: str
    ) -> MatchIndexEntry | None:
        return self._match_index.get((system, object_type, record_id))

    def crosswalk_put(self, lease: Lease, entry: CrosswalkEntry) -> None:
        with self._lock:
            self._fenced(lease)
            self._put(entry)

    def crosswalk_unseen(
        self, system: str, object_type: str, generation: int
    ) -> list[CrosswalkEntry]:
        with self._lock:
            rows = list(self._crosswalk.values())
        return [
            e
            for e in rows
            if e.system == system
            and e.object_type == object_type
            and not e.removed
            and e.generation < generation
        ]

    # -- the rest: nothing kept -----------------------------------------------------------------

    def waiting(self, pipeline: str, stream: str) -> list[WaitingRecord]:
        return [w for (p, s, _), w in self._waiting.items() if (p, s) == (pipeline, stream)]

    def dead_letters(self, pipeline: str, *, limit: int = 1000) -> list[DeadLetter]:
        return [d for d in self.dead if d.pipeline == pipeline][:limit]

    def lineage(self, entity_key: str, *, limit: int = 1000) -> list[LineageRecord]:
        return []

    def start_run(self, lease: Lease, run: RunRecord) -> None:
        self._fenced(lease)

    def finish_run(
        self, run_id: str, *, status: str, stats: dict[str, int], message: str | None = None
    ) -> None:
        return None

    def runs(self, pipeline: str, *, limit: int = 50) -> list[RunRecord]:
        return []

    def get(self, key: Any) -> Any:
        return None

    def compare_and_swap(self, key: Any, expected_version: int | None, token: Any) -> Any:
        return None

    def prune(self, *, before: datetime, keep_runs: int = 100) -> int:
        return 0

    def schema_version(self) -> int:
        return 0

    def close(self) -> None:
        return None
