"""The run's view of the ledger: prefetched per batch, never staler than the store."""

from __future__ import annotations

from datetime import UTC, datetime

from erpsa_sdk.sync import (
    Acknowledgement,
    LedgerEntry,
    LedgerStatus,
    SourceVersion,
    SQLiteStateStore,
)
from erpsa_sdk.sync._ledgerview import LedgerView

T = "erp:e1"


def _entry(wk: str, status: LedgerStatus, minute: int, target_id: str | None = None) -> LedgerEntry:
    v = SourceVersion(datetime(2026, 11, 1, 9, minute, tzinfo=UTC))
    return LedgerEntry(T, wk, "ek-1", "upsert", v, status, target_id)


def test_prefetched_state_answers_without_the_store_and_unsaved_acks_count() -> None:
    store = SQLiteStateStore(":memory:")
    lease = store.acquire_lease("p", holder="a", ttl=30)
    store.record_write(lease, _entry("wk-1", LedgerStatus.CREATED, 1, "7"))
    store.begin_write(lease, _entry("wk-2", LedgerStatus.PENDING, 2))
    view = LedgerView(store, T)
    view.prefetch(["ek-1", "ek-2"])
    head = view.head("ek-1")
    assert head is not None
    assert head.write_key == "wk-1"
    assert view.in_doubt("ek-1") == {"wk-2"}
    assert view.head("ek-2") is None
    # The store changes behind the view's back only through the run, which tells the view.
    view.sent("ek-1", "wk-3")
    assert view.in_doubt("ek-1") == {"wk-2", "wk-3"}
    view.acknowledged(Acknowledgement(_entry("wk-3", LedgerStatus.UPDATED, 3)))
    after = view.head("ek-1")
    assert after is not None
    assert (after.write_key, after.target_id) == ("wk-3", "7")  # the id carries over
    assert view.in_doubt("ek-1") == {"wk-2"}
    # Forgotten: the store is asked again, and the held acknowledgement still counts.
    view.forget("ek-1")
    again = view.head("ek-1")
    assert again is not None
    assert again.write_key == "wk-3"
    assert view.in_doubt("ek-1") == {"wk-2"}
    assert [a.entry.write_key for a in view.unsaved()] == ["wk-3"]
    assert [a.entry.write_key for a in view.take_unsaved("ek-1")] == ["wk-3"]
    assert view.unsaved() == []
    view.clear()
    assert view.in_doubt("ek-1") == {"wk-2"}
