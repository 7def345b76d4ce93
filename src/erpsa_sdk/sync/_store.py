"""The :class:`StateStore` protocol: everything the runner must remember between runs.

Checkpoints, the ledger (with its per-EntityKey heads), the crosswalk, waiting records, dead
letters, lineage, run history, leases and tokens (it is also an
:class:`erpsa_sdk.auth.TokenStore`) live in one store, so the runner can commit a
batch's outcome and its checkpoint in one transaction. Two implementations pass the same
conformance suite: :class:`~erpsa_sdk.sync.SQLiteStateStore` (embedded default) and
:class:`~erpsa_sdk.sync.PostgresStateStore`.

Examples:
    >>> from erpsa_sdk.sync import SQLiteStateStore, StateStore
    >>> isinstance(SQLiteStateStore(":memory:"), StateStore)
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from erpsa_sdk.sync._records import (
    BatchCommit,
    Checkpoint,
    CrosswalkEntry,
    DeadLetter,
    Lease,
    LedgerEntry,
    LedgerHead,
    LineageRecord,
    MatchIndexEntry,
    RunRecord,
    WaitingRecord,
)

if TYPE_CHECKING:
    from erpsa_sdk.auth._tokens import StoredToken, TokenKey, TokenSet

__all__ = ["StateStore"]


@runtime_checkable
class StateStore(Protocol):
    """What the sync runner persists, with fenced, transactional commits.

    Every method whose first argument is a :class:`Lease` is *fenced*: it runs in one
    transaction that first checks that the lease's fence is still the current one, and raises
    :class:`~erpsa_sdk.errors.LeaseLost` (changing nothing) otherwise.

    Examples:
        >>> from erpsa_sdk.sync import SQLiteStateStore
        >>> store = SQLiteStateStore(":memory:")
        >>> lease = store.acquire_lease("demo", holder="me", ttl=30)
        >>> store.get_checkpoint("demo", "customer") is None
        True
        >>> store.close()
    """

    # -- leases -------------------------------------------------------------------------------
    def acquire_lease(self, name: str, *, holder: str, ttl: float) -> Lease:
        """Take the lease ``name`` for ``ttl`` seconds with a new, higher fence.

        Raises :class:`~erpsa_sdk.errors.LeaseHeld` while another holder's lease is unexpired.
        """
        ...

    def renew_lease(self, lease: Lease, *, ttl: float) -> Lease:
        """Extend a held lease; raises :class:`~erpsa_sdk.errors.LeaseLost` if it was taken."""
        ...

    def release_lease(self, lease: Lease) -> None:
        """Give the lease up (a no-op when it was already taken over)."""
        ...

    def current_lease(self, name: str) -> Lease | None:
        """The lease as stored now (possibly expired), or ``None`` if never taken."""
        ...

    # -- checkpoints --------------------------------------------------------------------------
    def get_checkpoint(self, pipeline: str, stream: str) -> Checkpoint | None:
        """The last committed checkpoint of a stream, or ``None`` before the first commit."""
        ...

    def commit_batch(self, lease: Lease, batch: BatchCommit) -> None:
        """Fenced: store the batch's outcomes and advance its checkpoint atomically.

        ``batch.acknowledged`` is stored first, exactly as one :meth:`record_write` per
        acknowledgement in order would store it; then the other outcomes and the cursor.

        Refused with :class:`~erpsa_sdk.errors.StateError` when one of ``batch.write_keys``
        is not settled in the target's ledger, or when the cursor exceeds the size limit.
        """
        ...

    # -- ledger -------------------------------------------------------------------------------
    def ledger_entry(self, target: str, write_key: str) -> LedgerEntry | None:
        """The ledger entry of one logical write, or ``None``."""
        ...

    def ledger_head(self, target: str, entity_key: str) -> LedgerHead | None:
        """The highest acknowledged version of an EntityKey at a target connection."""
        ...

    def ledger_heads(self, target: str, entity_keys: Sequence[str]) -> dict[str, LedgerHead]:
        """The heads of several EntityKeys at once (keys never written are absent)."""
        ...

    def pending_writes(self, target: str, entity_keys: Sequence[str]) -> dict[str, set[str]]:
        """Write keys left ``pending`` (in doubt), by EntityKey, for several EntityKeys at once."""
        ...

    def ledger_entries(self, target: str, *, entity_key: str | None = None) -> list[LedgerEntry]:
        """A target connection's ledger entries (optionally of one EntityKey), by source version."""
        ...

    def begin_write(self, lease: Lease, entry: LedgerEntry) -> LedgerEntry | None:
        """Fenced: record that a write is about to be sent; return the entry as it was before.

        A new or ``pending`` entry becomes ``pending`` with one more attempt. A settled entry is
        returned unchanged and nothing is stored (the write already happened).
        """
        ...

    def begin_writes(self, lease: Lease, entries: Sequence[LedgerEntry]) -> dict[str, LedgerEntry]:
        """Fenced: :meth:`begin_write` for several writes in one transaction.

        Returns the prior entries that existed, by write key (settled ones are unchanged).
        """
        ...

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
        """Fenced: store a write's outcome, its crosswalk rows, lineage and dead letter together.

        An acknowledged outcome newer than the head advances the head (keeping ``payload``
        with it when given) and settles older ``pending`` entries of the same EntityKey as
        ``superseded``. Returns the head.
        """
        ...

    # -- crosswalk ----------------------------------------------------------------------------
    def crosswalk_get(self, system: str, entity_key: str) -> CrosswalkEntry | None:
        """The record id an EntityKey has in ``system``."""
        ...

    def crosswalk_find(
        self, system: str, object_type: str, record_id: str
    ) -> CrosswalkEntry | None:
        """The crosswalk row of a record id in ``system``."""
        ...

    def match_index_put(self, lease: Lease, entries: Sequence[MatchIndexEntry]) -> None:
        """Fenced: insert or replace the natural keys of source records (one page at a time)."""
        ...

    def match_index_get(
        self, system: str, object_type: str, record_id: str
    ) -> MatchIndexEntry | None:
        """The stored natural key of a source record, or ``None``."""
        ...

    def crosswalk_put(self, lease: Lease, entry: CrosswalkEntry) -> None:
        """Fenced: insert or replace one crosswalk row (for example from the initial match)."""
        ...

    def crosswalk_unseen(
        self, system: str, object_type: str, generation: int
    ) -> list[CrosswalkEntry]:
        """Rows of ``system``/``object_type`` not removed and last seen before ``generation``."""
        ...

    # -- waiting, dead letters, lineage, runs ------------------------------------------------
    def waiting(self, pipeline: str, stream: str) -> list[WaitingRecord]:
        """Records of a stream waiting for a reference, oldest first."""
        ...

    def dead_letters(self, pipeline: str, *, limit: int = 1000) -> list[DeadLetter]:
        """Dead letters of a pipeline, oldest first.

        A record dead-lettered again for the same reason while its letter is open updates
        that letter (attempts, last seen, latest payload and error) instead of adding one.
        """
        ...

    def lineage(self, entity_key: str, *, limit: int = 1000) -> list[LineageRecord]:
        """Lineage rows of one EntityKey, oldest first."""
        ...

    def start_run(self, lease: Lease, run: RunRecord) -> None:
        """Fenced: record the start of a run."""
        ...

    def finish_run(
        self, run_id: str, *, status: str, stats: dict[str, int], message: str | None = None
    ) -> None:
        """Record how a run ended (not fenced: a run that lost its lease still says so)."""
        ...

    def runs(self, pipeline: str, *, limit: int = 50) -> list[RunRecord]:
        """The most recent runs of a pipeline, newest first."""
        ...

    # -- tokens: the erpsa_sdk.auth TokenStore protocol, so tokens share the store -----------
    def get(self, key: TokenKey) -> StoredToken | None:
        """The stored token for ``key``, or ``None``."""
        ...

    def compare_and_swap(
        self, key: TokenKey, expected_version: int | None, token: TokenSet
    ) -> StoredToken | None:
        """Store ``token`` if the stored version is ``expected_version`` (``None``: absent).

        Returns the stored token with its new version, or ``None`` when another writer won.
        """
        ...

    # -- maintenance --------------------------------------------------------------------------
    def prune(self, *, before: datetime, keep_runs: int = 100) -> int:
        """Drop settled ledger rows that are not heads, lineage, and resolved or discarded
        dead letters older than ``before``.

        Returns the number of rows removed; heads, pending and parked writes, open dead
        letters, checkpoints and crosswalk rows stay.
        """
        ...

    def schema_version(self) -> int:
        """The applied migration version."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
