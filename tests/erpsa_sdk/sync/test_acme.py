"""SyncRunner against the example plugin's simulators (AcmePSA -> AcmeERP), in process.

Edits during a run with commit-then-drop faults and 8 writer threads, two targets with separate
ledgers, and deletions of unposted and posted records. The checker is the same independent one
the crash test uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from erpsa_sdk.clock import SimClock
from erpsa_sdk.errors import DeletionFeedExpired
from erpsa_sdk.models import Customer, EntityKey, Expense, Project, TimeEntry, WriteKey
from erpsa_sdk.sync import LedgerStatus, Pipeline, RunStatus, SQLiteStateStore, SyncRunner
from erpsa_sdk.testing.faults import FaultPlan

from .checker import Checker

acme = pytest.importorskip("acme_psa_erp", reason="install examples/third_party_connector")
from acme_psa_erp.simulators import AcmeErpSimulator, AcmePsaSimulator  # noqa: E402

NS = "crash"  # the checker's namespace
TYPES = (Customer, Project, TimeEntry, Expense)
DROPS = FaultPlan.parse("commit_then_drop=0.1;seed=3;methods=POST|PUT|PATCH|DELETE")


@dataclass
class Env:
    clock: SimClock
    psa_sim: AcmePsaSimulator
    psa: Any
    store: SQLiteStateStore

    def target(self, *, tenant: str = "sim", faults: FaultPlan | None = None) -> tuple[Any, Any]:
        sim = AcmeErpSimulator(seed=11, tenant=tenant, faults=faults, clock=self.clock)
        conn = acme.ACMEERP.create(
            acme.settings_for(sim), transport=httpx2.MockTransport(sim), clock=self.clock
        )
        return sim, conn

    def runner(self, target: Any, *, name: str = "acme", **kwargs: Any) -> SyncRunner:
        pipeline = Pipeline(name, source=self.psa, target=target, namespace=NS, types=TYPES)
        kwargs.setdefault("handle_signals", False)
        return SyncRunner(pipeline, store=self.store, **kwargs)

    def checker(self, erp_sim: Any) -> Checker:
        return Checker(self.psa_sim, erp_sim, namespace=NS, tenant=self.psa_sim.tenant)

    def settle(self, runner: SyncRunner) -> list[Any]:
        """Run until a run reads nothing new (edits stamped during a run are read next time)."""
        reports = []
        for _ in range(5):
            self.clock.advance(5)
            report = runner.run_once()
            reports.append(report)
            assert report.status is RunStatus.COMPLETED, report.error
            if report.counts.get("read", 0) == 0 and not report.counts.get("deletions_seen"):
                return reports
        raise AssertionError(f"runs never settled: {[r.counts for r in reports]}")


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    clock = SimClock(autojump=True)
    psa_sim = AcmePsaSimulator(seed=11, clock=clock)
    psa = acme.ACMEPSA.create(
        acme.settings_for(psa_sim, page_size=10),
        transport=httpx2.MockTransport(psa_sim),
        clock=clock,
    )
    store = SQLiteStateStore(tmp_path / "state.db", clock=clock)
    yield Env(clock, psa_sim, psa, store)
    store.close()


def test_edited_three_times_during_a_run_with_8_writers_and_dropped_answers(env: Env) -> None:
    erp_sim, erp = env.target(faults=DROPS)
    edits: list[str] = []

    def edit_between_pages(req: Any) -> None:
        # Between page requests of the time-entry read, the source record changes three times.
        if req.method == "GET" and req.path.endswith("/time_entries") and len(edits) < 3:
            note = f"edit {len(edits) + 1}"
            env.psa_sim.table("time_entries").update(
                7, {"notes": note, "minutes": 60 + 15 * len(edits)}
            )
            edits.append(note)

    remove = env.psa_sim.before_request(edit_between_pages)
    try:
        first = env.runner(erp, workers=8).run_once()
    finally:
        remove()
    assert first.status is RunStatus.COMPLETED, first.error
    assert edits == ["edit 1", "edit 2", "edit 3"]
    reports = [first, *env.settle(env.runner(erp, workers=8))]
    dropped = sum(r.counts.get("indeterminate", 0) + r.counts.get("retried", 0) for r in reports)
    assert dropped > 0, "the fault plan should have dropped some answers"
    ek = str(EntityKey(namespace=NS, system="acmepsa", tenant=env.psa_sim.tenant,
                       source_id="7", object_type="time_entry"))  # fmt: skip
    [row] = [r for r in erp_sim.admin.rows("time_entries") if r["data"]["ext_ref"] == ek]
    assert (row["data"]["memo"], row["data"]["minutes"]) == ("edit 3", 90)
    assert env.checker(erp_sim).problems() == []


def test_two_targets_keep_separate_ledgers_and_both_get_everything(env: Env) -> None:
    erp_a_sim, erp_a = env.target(tenant="east")
    erp_b_sim, erp_b = env.target(tenant="west")
    env.settle(env.runner(erp_a, name="acme->east"))
    env.settle(env.runner(erp_b, name="acme->west"))
    assert env.checker(erp_a_sim).problems() == []
    assert env.checker(erp_b_sim).problems() == []
    east = env.store.ledger_entries("acmeerp:east")
    west = env.store.ledger_entries("acmeerp:west")
    assert len(east) == len(west) == 90
    assert {e.write_key for e in east} == {e.write_key for e in west}
    assert {e.target for e in east} == {"acmeerp:east"}


def test_deletions_unposted_deleted_posted_reversed_second_delete_quiet(env: Env) -> None:
    erp_sim, erp = env.target()
    env.settle(env.runner(erp))
    checker = env.checker(erp_sim)

    def erp_row(source_id: int) -> Any:
        key = checker.key("time_entry", source_id)
        [row] = [
            r
            for r in erp_sim.admin.rows("time_entries", include_deleted=True)
            if r["data"]["ext_ref"] == key
        ]
        return row

    erp_sim.admin.post("time_entries", erp_row(2)["id"])
    erp_sim.admin.post("time_entries", erp_row(3)["id"])
    env.psa_sim.admin.delete("time_entries", 1)  # unposted at the ERP: deleted there
    env.psa_sim.admin.delete("time_entries", 2)  # posted: reversed
    env.psa_sim.admin.update("time_entries", 3, {"minutes": 15})  # posted and edited: reversed
    reports = env.settle(env.runner(erp))
    counts = reports[0].counts
    assert (counts.get("deleted"), counts.get("reversed")) == (1, 2), counts
    assert erp_row(1)["deleted_at"] is not None
    for source_id in (2, 3):
        row = erp_row(source_id)
        assert row["deleted_at"] is None
        assert row["data"].get("reversed_by") is not None
    assert env.store.dead_letters("acme") == []

    # The same delete again (a replay, or a retry after a lost answer): not_found, no error.
    ek = EntityKey.parse(f"ek1:{NS}:acmepsa:{env.psa_sim.tenant}:time_entry:1")
    again = erp.delete(
        TimeEntry, entity_key=ek, write_key=WriteKey(entity_key=ek, version="x", operation="delete")
    )
    assert again.outcome.value == "not_found"
    heads = {
        source_id: env.store.ledger_head("acmeerp:sim", checker_key(ek, source_id))
        for source_id in ("1", "2")
    }
    assert all(head is not None and head.removed for head in heads.values())
    statuses = {e.status for e in env.store.ledger_entries("acmeerp:sim")}
    assert {LedgerStatus.DELETED, LedgerStatus.REVERSED} <= statuses


def checker_key(ek: EntityKey, source_id: str) -> str:
    return ek.model_copy(update={"source_id": source_id}).canonical


def test_the_checker_sees_lost_duplicated_stale_and_stray_rows(env: Env) -> None:
    erp_sim, erp = env.target()
    env.settle(env.runner(erp))
    checker = env.checker(erp_sim)
    assert checker.problems() == []
    rows = erp_sim.admin.rows("time_entries")
    erp_sim.admin.insert("time_entries", dict(rows[0]["data"]))  # a duplicate
    erp_sim.admin.delete("time_entries", rows[1]["id"])  # a lost record
    erp_sim.admin.update("time_entries", rows[2]["id"], {"minutes": 1})  # stale values
    erp_sim.admin.insert("time_entries", {**rows[3]["data"], "ext_ref": "crash_stray"})
    found = " | ".join(checker.problems())
    for word in ("duplicated 2 times", "lost", "stale", "stray"):
        assert word in found, found


class _ExpiredFeed:
    """The Acme PSA, but its deletion feed says the cursor outlived the vendor's retention."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def read_deletions(self, model: Any, *, since: Any = None) -> Any:
        raise DeletionFeedExpired("cursor older than the retention")


def test_an_expired_deletion_feed_falls_back_to_a_complete_enumeration(env: Env) -> None:
    erp_sim, erp = env.target()
    env.settle(env.runner(erp))
    checker = env.checker(erp_sim)
    key = checker.key("time_entry", 1)
    env.psa_sim.admin.delete("time_entries", 1)

    expired = _ExpiredFeed(env.psa)
    pipeline = Pipeline("acme", source=expired, target=erp, namespace=NS, types=TYPES)
    env.clock.advance(5)
    report = SyncRunner(pipeline, store=env.store, handle_signals=False).run_once()

    assert report.status is RunStatus.COMPLETED, report.error
    assert report.counts.get("deletion_feed_expired", 0) >= 1
    assert any(n.startswith("deletion_feed_expired:TimeEntry") for n in report.notes)
    [row] = [
        r
        for r in erp_sim.admin.rows("time_entries", include_deleted=True)
        if r["data"]["ext_ref"] == key
    ]
    assert row["deleted_at"] is not None  # found by the enumeration, not by the lost events
    live = [r for r in erp_sim.admin.rows("time_entries") if r["deleted_at"] is None]
    assert len(live) == len(env.psa_sim.admin.rows("time_entries"))  # nothing else deleted
