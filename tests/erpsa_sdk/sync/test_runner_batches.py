"""One key several times in one page: acknowledgements held for the batch commit stay in order.

A page may hold several versions of one record (a busy record, a lagging replica). Their
outcomes are stored with the page's checkpoint, so the run must count them itself until then:
an older version is never sent over a newer one, a write is never sent twice, and whatever the
run stores at once for that key (a parked record, a reversal) comes after them.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from erpsa_sdk.clock import SimClock
from erpsa_sdk.connector import Problem
from erpsa_sdk.models import Customer, SourceRef
from erpsa_sdk.sync import Pipeline, RunStatus, SourceVersion, SQLiteStateStore, SyncRunner

from .fakes import T0, FakePager, FakeSource, FakeTarget, Page, iso

NS = "test-ns"
TGT = "fakeerp:erp1"
EK = f"ek1:{NS}:fakepsa:psa1:customer:C1"


class ListSource(FakeSource):
    """A source that returns exactly the pages the test gives (same record several times)."""

    def __init__(self, pages: list[list[Any]]) -> None:
        super().__init__()
        self.pages = pages

    def read(self, model: type[Any], *, since: Any = None, **filters: Any) -> Any:
        return FakePager(iter([Page(items, {"n": i}) for i, items in enumerate(self.pages)]))


def cust(minute: int, name: str, sid: str = "C1") -> Customer:
    ref = SourceRef(
        system="fakepsa", tenant="psa1", id=sid, version=iso(T0 + timedelta(minutes=minute))
    )
    return Customer.model_validate(
        {"key": sid, "name": name, "currency": "USD", "source_refs": [ref.model_dump()]}
    )


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStateStore:
    return SQLiteStateStore(tmp_path / "s.db", clock=SimClock(start=T0))


def runner(source: Any, target: Any, store: Any) -> SyncRunner:
    p = Pipeline("psa->erp", source=source, target=target, namespace=NS, types=(Customer,))
    return SyncRunner(p, store=store, workers=4, handle_signals=False, retention=None)


class RejectingTarget(FakeTarget):
    """validate() refuses names starting with 'bad' (the record is parked)."""

    def validate(self, obj: Any, *, refs: Any) -> list[Problem]:
        if str(obj.name).startswith("bad"):
            return [Problem(code="bad_name", message="bad name", field="name")]
        return []


def test_older_version_never_overwrites_newer_after_a_park_in_the_same_page(
    store: SQLiteStateStore,
) -> None:
    # Page: v2 (written, ack deferred), v3 (parked by validate -> view.forget drops the
    # unsaved head), v1 (older than v2: must be superseded, never sent).
    source = ListSource([[cust(2, "two"), cust(3, "bad three"), cust(1, "one")]])
    target = RejectingTarget()
    report = runner(source, target, store).run_once()
    assert report.status is RunStatus.COMPLETED, report.error
    rec = target.records[EK]
    assert rec.values["name"] == "two", f"older v1 overwrote v2 at the target: {rec.history}"
    head = store.ledger_head(TGT, EK)
    assert head is not None
    assert head.version == SourceVersion.parse(iso(T0 + timedelta(minutes=2)))


def test_a_write_acknowledged_in_the_page_is_not_sent_again_after_a_park(
    store: SQLiteStateStore,
) -> None:
    # An existing record (head v0), then a page: v1, v2 (parked), v1 again (same WriteKey).
    target = RejectingTarget()
    runner(ListSource([[cust(0, "zero")]]), target, store).run_once()
    source = ListSource([[cust(1, "one"), cust(2, "bad two"), cust(1, "one")]])
    report = runner(source, target, store).run_once()
    assert report.status is RunStatus.COMPLETED, report.error
    wk1 = [w for w in target.records[EK].history if w != target.records[EK].history[0]]
    assert len(wk1) == 1, f"the same WriteKey was sent twice: {target.records[EK].history}"


def test_two_versions_of_one_key_in_a_page_need_no_lookup(store: SQLiteStateStore) -> None:
    # A fresh key, written twice in one page (v1 then v2): nothing was ever in doubt.
    source = ListSource([[cust(1, "one"), cust(2, "two")]])
    target = FakeTarget()
    report = runner(source, target, store).run_once()
    assert report.status is RunStatus.COMPLETED, report.error
    assert report.counts.get("lookups", 0) == 0, report.counts


def test_reverse_in_the_same_batch_as_a_held_ack_keeps_the_crosswalk_removed(
    store: SQLiteStateStore,
) -> None:
    # v1 creates the record and the ERP posts it at once; v2 (same page) meets a posted
    # record and is reversed (stored at once). v1's deferred ack is stored at the commit, after.
    class PostingTarget(FakeTarget):
        def upsert(self, obj: Any, **kw: Any) -> Any:
            result = super().upsert(obj, **kw)
            self.records[kw["entity_key"].canonical].posted = True
            return result

    target = PostingTarget(reverse=(Customer,))
    source = ListSource([[cust(1, "one"), cust(2, "two")]])
    report = runner(source, target, store).run_once()
    assert report.status is RunStatus.COMPLETED, report.error
    assert report.counts.get("reversed") == 1, report.counts
    assert target.records[EK].reversed
    head = store.ledger_head(TGT, EK)
    assert head is not None
    assert head.removed
    row = store.crosswalk_get(TGT, EK)
    assert row is not None
    assert row.removed, f"crosswalk says the reversed record is live: {row}"
