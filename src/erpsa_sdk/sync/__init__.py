"""The sync runner and its state: exactly-once effects between a source and a target.

The state lives in a :class:`StateStore` (SQLite by default, PostgreSQL for several workers):
checkpoints, the ledger of writes per target connection, the crosswalk, waiting records, dead
letters, lineage, run history, leases and tokens.

Examples:
    >>> from erpsa_sdk.sync import SQLiteStateStore
    >>> store = SQLiteStateStore(":memory:")
    >>> lease = store.acquire_lease("kantata->netsuite", holder="worker-1", ttl=30)
    >>> lease.fence
    1
"""

from __future__ import annotations

from erpsa_sdk.sync._guard import FencedTransport, lease_guard
from erpsa_sdk.sync._open import open_state_store
from erpsa_sdk.sync._pipeline import (
    DEFAULT_TYPES,
    PIPELINE_ORDER,
    REFERENCE_FIELDS,
    Pipeline,
    ordered_types,
    source_version,
)
from erpsa_sdk.sync._postgres import PostgresStateStore
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
    target_connection,
)
from erpsa_sdk.sync._runner import Progress, RunReport, RunStatus, SyncRunner
from erpsa_sdk.sync._sqlite import SQLiteStateStore
from erpsa_sdk.sync._store import StateStore

__all__ = [
    "DEFAULT_TYPES",
    "PIPELINE_ORDER",
    "REFERENCE_FIELDS",
    "Acknowledgement",
    "BatchCommit",
    "Checkpoint",
    "CrosswalkEntry",
    "DeadLetter",
    "FencedTransport",
    "Lease",
    "LedgerEntry",
    "LedgerHead",
    "LedgerStatus",
    "LineageRecord",
    "MatchIndexEntry",
    "Pipeline",
    "PostgresStateStore",
    "Progress",
    "RunRecord",
    "RunReport",
    "RunStatus",
    "SQLiteStateStore",
    "SourceVersion",
    "StateStore",
    "SyncRunner",
    "WaitingRecord",
    "lease_guard",
    "open_state_store",
    "ordered_types",
    "source_version",
    "target_connection",
]
