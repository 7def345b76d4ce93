"""The run's view of its target's ledger during one batch: the store, read once for the batch,
plus what the run sent and what the target acknowledged that is not committed yet.

Only the lease holder writes a pipeline's ledger, and one EntityKey's writes run one after
another, so a page's heads and in-doubt writes can be read in two queries instead of two per
record. Whatever the run stores outside the batch commit makes the view forget that key (the
store is asked again), so the view is never staler than the store.

Examples:
    >>> from erpsa_sdk.sync import SQLiteStateStore
    >>> view = LedgerView(SQLiteStateStore(":memory:"), "erp:e1")
    >>> view.prefetch(["ek-1"])
    >>> view.head("ek-1") is None, view.in_doubt("ek-1")
    (True, set())
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from erpsa_sdk.sync._outcomes import advance_head
from erpsa_sdk.sync._records import Acknowledgement, LedgerHead, LedgerStatus
from erpsa_sdk.sync._store import StateStore

__all__ = ["LedgerView"]


class LedgerView:
    """Heads and in-doubt writes by EntityKey, for the batch in flight (thread-safe).

    Examples:
        >>> from erpsa_sdk.sync import SQLiteStateStore
        >>> view = LedgerView(SQLiteStateStore(":memory:"), "erp:e1")
        >>> view.sent("ek-1", "wk-1")
        >>> view.in_doubt("ek-1")  # not prefetched: the store is asked (it holds nothing)
        set()
    """

    def __init__(self, store: StateStore, target: str) -> None:
        self._store = store
        self._target = target
        self._lock = threading.Lock()
        self._heads: dict[str, LedgerHead | None] = {}
        self._pending: dict[str, set[str]] = {}
        # Acknowledgements held for the batch commit, in arrival order (per key: write order).
        self._unsaved: dict[str, list[Acknowledgement]] = {}
        self._unsaved_writes: set[str] = set()

    def prefetch(self, entity_keys: Iterable[str]) -> None:
        """Read the heads and pending writes of ``entity_keys`` (two queries)."""
        with self._lock:
            keys = [k for k in dict.fromkeys(entity_keys) if k not in self._heads]
        if not keys:
            return
        heads = self._store.ledger_heads(self._target, keys)
        pending = self._store.pending_writes(self._target, keys)
        with self._lock:
            for key in keys:
                self._heads[key] = heads.get(key)
                self._pending[key] = set(pending.get(key, ()))

    def head(self, entity_key: str) -> LedgerHead | None:
        """The head, counting acknowledgements not committed yet (as the commit will)."""
        with self._lock:
            known = entity_key in self._heads
            head = self._heads.get(entity_key)
            acks = list(self._unsaved.get(entity_key, ()))
        if not known:
            head = self._store.ledger_head(self._target, entity_key)
        for ack in acks:
            head = advance_head(head, ack)
        return head

    def in_doubt(self, entity_key: str) -> set[str]:
        """Write keys sent before whose outcome is unknown (neither stored nor acknowledged)."""
        with self._lock:
            known = self._pending.get(entity_key)
            pending = None if known is None else set(known)
        if pending is None:
            pending = {
                e.write_key
                for e in self._store.ledger_entries(self._target, entity_key=entity_key)
                if e.status is LedgerStatus.PENDING
            }
        with self._lock:
            return pending - self._unsaved_writes

    def sent(self, entity_key: str, write_key: str) -> None:
        """``write_key`` is stored ``pending`` and about to be sent."""
        with self._lock:
            if entity_key in self._pending:
                self._pending[entity_key].add(write_key)

    def acknowledged(self, ack: Acknowledgement) -> None:
        """The target acknowledged ``ack``; it is stored with the batch (:meth:`unsaved`)."""
        with self._lock:
            self._unsaved.setdefault(ack.entry.entity_key, []).append(ack)
            self._unsaved_writes.add(ack.entry.write_key)

    def take_unsaved(self, entity_key: str) -> list[Acknowledgement]:
        """Hand over ``entity_key``'s held acknowledgements, to be stored before anything
        else the run stores for that key (they came first)."""
        with self._lock:
            return self._unsaved.pop(entity_key, [])

    def unsaved(self) -> list[Acknowledgement]:
        """Every held acknowledgement, each key's in the order its writes were acknowledged."""
        with self._lock:
            return [ack for acks in self._unsaved.values() for ack in acks]

    def forget(self, entity_key: str) -> None:
        """The run stored something for ``entity_key`` itself: ask the store next time."""
        with self._lock:
            self._heads.pop(entity_key, None)
            self._pending.pop(entity_key, None)

    def clear(self) -> None:
        """The batch is committed (or abandoned): the store is the truth again."""
        with self._lock:
            self._heads.clear()
            self._pending.clear()
            self._unsaved.clear()
            self._unsaved_writes.clear()
