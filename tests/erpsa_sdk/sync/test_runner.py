"""SyncRunner against in-process fake connectors: ordering, references, keys, ledger, leases."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from erpsa_sdk.clock import SimClock
from erpsa_sdk.connector import Capabilities, DeletionMode, TypeCapabilities
from erpsa_sdk.correlation import CorrelationFilter
from erpsa_sdk.errors import LeaseHeld, LeaseLost
from erpsa_sdk.models import (
    Customer,
    Invoice,
    Money,
    Project,
    ProjectTask,
    Rejected,
    SourceRef,
    TimeEntry,
)
from erpsa_sdk.sync import (
    Lease,
    LedgerEntry,
    LedgerStatus,
    Pipeline,
    Progress,
    RunStatus,
    SourceVersion,
    SQLiteStateStore,
    SyncRunner,
)

from .fakes import T0, FakeSource, FakeTarget

NS = "test-ns"


@pytest.fixture
def clock() -> SimClock:
    return SimClock(start=T0)


@pytest.fixture
def store(tmp_path: Path, clock: SimClock) -> Iterator[SQLiteStateStore]:
    s = SQLiteStateStore(tmp_path / "state.db", clock=clock)
    yield s
    s.close()


def make_runner(
    source: FakeSource,
    target: FakeTarget,
    store: SQLiteStateStore,
    *,
    name: str = "psa->erp",
    types: Any = (Customer, Project, ProjectTask, TimeEntry, Invoice),
    **kwargs: Any,
) -> SyncRunner:
    pipeline = Pipeline(name, source=source, target=target, namespace=NS, types=types)
    kwargs.setdefault("workers", 4)
    kwargs.setdefault("handle_signals", False)
    return SyncRunner(pipeline, store=store, **kwargs)


def seed(source: FakeSource, customers: int = 4) -> None:
    for n in range(customers):
        source.put(Customer, f"C{n}", name=f"Customer {n}", currency="USD")
    source.put(Project, "P1", name="Apollo", currency="USD", customer_key="C1")
    source.put(ProjectTask, "T1", name="Design", project_key="P1")
    source.put(
        TimeEntry,
        "E1",
        resource_key="R1",
        project_key="P1",
        task_key="T1",
        work_date="2026-11-02",
        duration_minutes=90,
    )


def target_of(target: FakeTarget, model: Any, source_id: str) -> Any:
    key = f"ek1:{NS}:fakepsa:psa1:{model.object_type}:{source_id}"
    return target.records.get(key)


def test_first_run_writes_everything_once_in_dependency_order(
    source: FakeSource, target: FakeTarget, store: SQLiteStateStore
) -> None:
    seed(source)
    report = make_runner(source, target, store).run_once()
    assert report.status is RunStatus.COMPLETED, report.error
    assert report.counts["created"] == 7
    assert len(target.records) == 7
    customer = target_of(target, Customer, "C1")
    project = target_of(target, Project, "P1")
    task = target_of(target, ProjectTask, "T1")
    entry = target_of(target, TimeEntry, "E1")
    assert project.refs == {"customer_key": customer.id}
    assert task.refs == {"project_key": project.id}
    assert entry.refs == {"project_key": project.id, "task_key": task.id}
    order = [key.split(":")[4] for op, key in target.calls if op == "upsert"]
    assert order.index("project") > max(i for i, t in enumerate(order) if t == "customer")
    assert order.index("time_entry") > order.index("project_task") > order.index("project")

    again = make_runner(source, target, store).run_once()
    assert again.status is RunStatus.COMPLETED
    assert again.counts.get("read", 0) == 0
    assert len(target.records) == 7


def test_an_edit_updates_the_same_record(
    source: FakeSource, target: FakeTarget, store: SQLiteStateStore
) -> None:
    seed(source)
    make_runner(source, target, store).run_once()
    source.put(Customer, "C2", name="Renamed Ltd")
    report = make_runner(source, target, store).run_once()
    assert report.counts == {**report.counts, "read": 1, "updated": 1}
    assert target_of(target, Customer, "C2").values["name"] == "Renamed Ltd"
    assert len(target.live("customer")) == 4
    entries = store.ledger_entries("fakeerp:erp1", entity_key=f"ek1:{NS}:fakepsa:psa1:customer:C2")
    assert [e.status for e in entries] == [LedgerStatus.CREATED, LedgerStatus.UPDATED]


def test_an_older_version_is_superseded_not_written(
    source: FakeSource, target: FakeTarget, store: SQLiteStateStore
) -> None:
    seed(source, customers=1)
    runner = make_runner(source, target, store, types=(Customer,))
    old = source.obj(Customer, "C0")
    source.put(Customer, "C0", name="New name")
    runner.run_once()
    # The old version arrives late (as a lagging replica's page would bring it).
    from erpsa_sdk.sync._ledgerview import LedgerView
    from erpsa_sdk.sync._partition import PartitionedExecutor
    from erpsa_sdk.sync._runner import _Run

    lease = store.acquire_lease("psa->erp", holder="test", ttl=60)
    run = _Run("r", "c", lease, LedgerView(store, "fakeerp:erp1"))
    with PartitionedExecutor(workers=1) as pool:
        batch = runner._batch(run, pool, Customer, [old], generation=None, write=True, mark=False)
        runner._commit(run, Customer, "Customer", batch, None, generation=None)
    assert run.counts["superseded"] == 1
    assert target_of(target, Customer, "C0").values["name"] == "New name"
    statuses = {e.status for e in store.ledger_entries("fakeerp:erp1")}
    assert LedgerStatus.SUPERSEDED in statuses


def test_a_missing_reference_waits_then_resolves(
    source: FakeSource, target: FakeTarget, store: SQLiteStateStore
) -> None:
    source.put(Project, "P9", name="Orphan", currency="USD", customer_key="C9")
    first = make_runner(source, target, store).run_once()
    assert first.counts["waiting"] == 1
    assert target_of(target, Project, "P9") is None
    assert [w.missing for w in store.waiting("psa->erp", "Project")] == [["customer_key"]]
    source.put(Customer, "C9", name="Late Customer", currency="USD")
    second = make_runner(source, target, store).run_once()
    assert second.status is RunStatus.COMPLETED
    project = target_of(target, Project, "P9")
    assert project.refs == {"customer_key": target_of(target, Customer, "C9").id}
    assert store.waiting("psa->erp", "Project") == []


def test_a_reference_that_never_arrives_is_dead_lettered(
    source: FakeSource, target: FakeTarget, store: SQLiteStateStore
) -> None:
    source.put(Project, "P9", name="Orphan", currency="USD", customer_key="C9")
    for _ in range(3):
        make_runner(source, target, store, max_wait_runs=2).run_once()
    letters = store.dead_letters("psa->erp")
    assert [(d.reason, d.owner) for d in letters] == [("unresolved_reference", "pmo")]
    assert store.waiting("psa->erp", "Project") == []


def test_unwritable_reference_follows_optional_rule_and_step_is_skipped(
    source: FakeSource, store: SQLiteStateStore
) -> None:
    target = FakeTarget(
        writable=(Customer, Project, TimeEntry),
        references={"TimeEntry": {"task_key": "optional"}},
    )
    seed(source)
    source.put(
        TimeEntry,
        "E2",
        resource_key="R1",
        project_key="P1",
        task_key="T1",
        work_date="2026-11-03",
        duration_minutes=30,
    )
    report = make_runner(source, target, store).run_once()
    assert report.status is RunStatus.COMPLETED
    assert report.counts["reference_dropped:task_key"] == 2
    assert sum(n.startswith("reference_dropped:task_key") for n in report.notes) == 1
    assert sum(n.startswith("step_skipped:ProjectTask") for n in report.notes) == 1
    assert sum(n.startswith("step_skipped:Invoice") for n in report.notes) == 1
    assert target_of(target, TimeEntry, "E1").refs == {
        "project_key": target_of(target, Project, "P1").id
    }


def test_indeterminate_write_is_looked_up_before_any_new_attempt(
    source: FakeSource, store: SQLiteStateStore
) -> None:
    target = FakeTarget(drop=lambda wk, attempt: attempt == 1)
    seed(source, customers=3)
    report = make_runner(source, target, store, types=(Customer,)).run_once()
    assert report.status is RunStatus.COMPLETED
    assert report.counts["indeterminate"] == 3
    assert len(target.records) == 3
    for key in {k for _, k in target.calls}:
        ops = [op for op, k in target.calls if k == key]
        assert ops == ["upsert", "lookup"], ops
    assert all(len(r.history) == 1 for r in target.records.values())


def test_a_write_left_pending_by_a_crash_is_looked_up_first(
    source: FakeSource, target: FakeTarget, store: SQLiteStateStore
) -> None:
    seed(source, customers=1)
    obj = source.obj(Customer, "C0")
    ek = obj.entity_key(NS)
    version = SourceVersion.parse(obj.source_refs[0].version)
    from erpsa_sdk.models.keys import WriteKey

    wk = WriteKey(entity_key=ek, version=str(version), operation="upsert")
    # A previous process sent the write (it landed) and died before recording it.
    target.upsert(obj, entity_key=ek, write_key=wk, refs={})
    lease = store.acquire_lease("psa->erp", holder="dead", ttl=1)
    store.begin_write(
        lease,
        LedgerEntry("fakeerp:erp1", str(wk), ek.canonical, "upsert", version, LedgerStatus.PENDING),
    )
    store.release_lease(lease)
    report = make_runner(source, target, store, types=(Customer,)).run_once()
    assert report.counts["lookups"] == 1
    assert report.counts["created"] == 1
    assert [op for op, _ in target.calls] == ["upsert", "lookup"]
    assert len(target.records) == 1


def test_retryable_failure_keeps_the_checkpoint_before_the_batch(
    source: FakeSource, store: SQLiteStateStore
) -> None:
    failing = {"on": True}
    seed(source, customers=6)
    bad = {"C4"}
    target = FakeTarget()
    original = target.upsert

    def upsert(obj: Any, **kw: Any) -> Any:
        if failing["on"] and obj.key in bad:
            from erpsa_sdk.errors import ServerError

            raise ServerError("down", status=503)
        return original(obj, **kw)

    target.upsert = upsert  # type: ignore[method-assign]
    report = make_runner(source, target, store, types=(Customer,)).run_once()
    assert report.status is RunStatus.FAILED
    assert "still failed after 3 attempts (down [status=503])" in (report.error or "")
    checkpoint = store.get_checkpoint("psa->erp", "Customer")
    assert checkpoint is not None
    assert checkpoint.cursor["after"][1] == "C2"  # pages of 3: the first page committed
    failing["on"] = False
    again = make_runner(source, target, store, types=(Customer,)).run_once()
    assert again.status is RunStatus.COMPLETED
    assert len(target.live("customer")) == 6
    assert all(len(r.history) == 1 for r in target.records.values())


def test_a_failed_batch_still_stores_what_the_target_acknowledged(
    source: FakeSource, store: SQLiteStateStore
) -> None:
    seed(source, customers=6)
    failing = {"on": True}
    target = FakeTarget()
    original = target.upsert

    def upsert(obj: Any, **kw: Any) -> Any:
        if failing["on"] and obj.key == "C4":
            from erpsa_sdk.errors import ServerError

            raise ServerError("down", status=503)
        return original(obj, **kw)

    target.upsert = upsert  # type: ignore[method-assign]
    report = make_runner(source, target, store, types=(Customer,)).run_once()
    assert report.status is RunStatus.FAILED
    # C3 and C5 shared the failed page with C4: their outcomes are stored all the same.
    for key in ("C3", "C5"):
        head = store.ledger_head("fakeerp:erp1", f"ek1:{NS}:fakepsa:psa1:customer:{key}")
        assert head is not None, key
    failing["on"] = False
    target.calls.clear()
    again = make_runner(source, target, store, types=(Customer,)).run_once()
    assert again.status is RunStatus.COMPLETED
    assert again.counts["already_written"] == 2
    assert [k.rsplit(":", 1)[1] for op, k in target.calls if op == "upsert"] == ["C4"]
    assert all(len(r.history) == 1 for r in target.records.values())


def test_writes_of_a_batch_whose_commit_failed_are_looked_up_not_doubled(
    source: FakeSource, target: FakeTarget, store: SQLiteStateStore
) -> None:
    seed(source, customers=3)
    original = store.commit_batch
    calls = {"n": 0}

    def commit_batch(lease: Any, batch: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:  # the database goes away as the first page commits
            from erpsa_sdk.errors import StateError

            raise StateError("database unavailable")
        original(lease, batch)

    store.commit_batch = commit_batch  # type: ignore[method-assign]
    first = make_runner(source, target, store, types=(Customer,)).run_once()
    assert first.status is RunStatus.FAILED
    assert len(target.records) == 3
    pending = [e for e in store.ledger_entries("fakeerp:erp1") if e.status.value == "pending"]
    assert len(pending) == 3  # sent, acknowledged, never stored: in doubt
    target.calls.clear()
    again = make_runner(source, target, store, types=(Customer,)).run_once()
    assert again.status is RunStatus.COMPLETED, again.error
    assert again.counts["lookups"] == 3
    assert len(target.records) == 3
    assert all(len(r.history) == 1 for r in target.records.values())  # nothing sent twice
    assert {e.status.value for e in store.ledger_entries("fakeerp:erp1")} == {"created"}


def test_tombstone_deletion_deletes_unposted_and_a_second_delete_is_quiet(
    source: FakeSource, target: FakeTarget, store: SQLiteStateStore
) -> None:
    seed(source, customers=3)
    make_runner(source, target, store, types=(Customer,)).run_once()
    source.remove(Customer, "C1")
    report = make_runner(source, target, store, types=(Customer,)).run_once()
    assert report.counts["deleted"] == 1
    assert target_of(target, Customer, "C1").id in target.deleted
    # Deleted at the target too, then reported again by the source: not_found, quietly.
    head = store.ledger_head("fakeerp:erp1", f"ek1:{NS}:fakepsa:psa1:customer:C1")
    assert head is not None
    assert head.removed
    from erpsa_sdk.models.keys import WriteKey

    ek = source.obj(Customer, "C0").entity_key(NS)
    target.deleted.add(target_of(target, Customer, "C0").id)
    source.remove(Customer, "C0")
    quiet = make_runner(source, target, store, types=(Customer,)).run_once()
    assert quiet.status is RunStatus.COMPLETED
    assert quiet.counts["not_found"] == 1
    result = target.delete(
        Customer, entity_key=ek, write_key=WriteKey(entity_key=ek, version="x", operation="delete")
    )
    assert result.outcome.value == "not_found"


def _invoice(source: FakeSource, source_id: str, total: str = "100.00") -> None:
    source.put(
        Invoice,
        source_id,
        customer_key="C0",
        currency="USD",
        invoice_date=date(2026, 11, 30).isoformat(),
        subtotal=Money(total, "USD").model_dump(mode="json"),
        tax_total=Money("0", "USD").model_dump(mode="json"),
        discount_total=Money("0", "USD").model_dump(mode="json"),
        total=Money(total, "USD").model_dump(mode="json"),
    )


def test_posted_record_is_reversed_when_the_target_can(
    source: FakeSource, store: SQLiteStateStore
) -> None:
    target = FakeTarget(reverse=(Invoice,))
    seed(source, customers=1)
    _invoice(source, "I1")
    _invoice(source, "I2")
    make_runner(source, target, store).run_once()
    for sid in ("I1", "I2"):
        target.post(target_of(target, Invoice, sid).entity_key)
    source.remove(Invoice, "I1")  # deleted at the source
    _invoice(source, "I2", total="120.00")  # edited at the source
    report = make_runner(source, target, store).run_once()
    assert report.counts["reversed"] == 2
    assert target_of(target, Invoice, "I1").reversed
    assert target_of(target, Invoice, "I2").reversed
    assert store.dead_letters("psa->erp") == []


def test_posted_record_is_parked_for_finance_when_it_cannot_be_reversed(
    source: FakeSource, target: FakeTarget, store: SQLiteStateStore
) -> None:
    seed(source, customers=1)
    _invoice(source, "I1")
    _invoice(source, "I2")
    make_runner(source, target, store).run_once()
    for sid in ("I1", "I2"):
        target.post(target_of(target, Invoice, sid).entity_key)
    source.remove(Invoice, "I1")
    _invoice(source, "I2", total="120.00")
    report = make_runner(source, target, store).run_once()
    assert report.status is RunStatus.COMPLETED
    assert report.counts["parked"] == 2
    letters = store.dead_letters("psa->erp")
    assert sorted((d.reason, d.owner) for d in letters) == [
        ("posted_record_changed", "finance"),
        ("posted_record_changed", "finance"),
    ]
    assert target_of(target, Invoice, "I2").values["total"]["amount"] == "100.00"


def test_full_scan_deletions_close_only_after_a_complete_enumeration(
    store: SQLiteStateStore, target: FakeTarget
) -> None:
    source = FakeSource(deletions=DeletionMode.FULL_SCAN_ONLY, incremental=False)
    seed(source, customers=7)
    make_runner(source, target, store, types=(Customer,)).run_once()
    source.remove(Customer, "C0")
    runner = make_runner(source, target, store, types=(Customer,))
    runner.on_progress = lambda progress: runner.stop()
    stopped = runner.run_once()
    assert stopped.status is RunStatus.STOPPED
    assert stopped.counts.get("deleted", 0) == 0
    assert not target.deleted
    resumed = make_runner(source, target, store, types=(Customer,)).run_once()
    assert resumed.status is RunStatus.COMPLETED
    assert resumed.counts["deleted"] == 1
    assert target.deleted == {target_of(target, Customer, "C0").id}
    again = make_runner(source, target, store, types=(Customer,)).run_once()
    assert again.counts.get("deleted", 0) == 0


def test_stop_ends_cleanly_between_batches_and_the_next_run_resumes(
    source: FakeSource, target: FakeTarget, store: SQLiteStateStore, clock: SimClock
) -> None:
    seed(source, customers=9)
    progress: list[Progress] = []
    runner = make_runner(source, target, store, types=(Customer,))

    def on_progress(p: Progress) -> None:
        progress.append(p)
        runner.stop()

    runner.on_progress = on_progress
    report = runner.run_once()
    assert report.status is RunStatus.STOPPED
    assert [p.batch for p in progress] == [1]
    assert len(target.records) == 3
    clock.advance(1)
    rest = make_runner(source, target, store, types=(Customer,)).run_once()
    assert rest.counts["created"] == 6
    assert store.runs("psa->erp")[1].status == "stopped"


def test_edited_three_times_during_the_run_with_8_writers_and_dropped_answers(
    store: SQLiteStateStore,
) -> None:
    def dropped(write_key: str, attempt: int) -> bool:
        digest = hashlib.sha256(f"{write_key}:{attempt}".encode()).digest()
        return digest[0] < 26  # about 10 % of attempts

    target = FakeTarget(drop=dropped)
    edits = iter(range(1, 4))

    psa = FakeSource()

    def edit(model: Any, page: int) -> None:
        if model is Customer and page in (2, 4, 6):
            psa.put(Customer, "C5", name=f"C5 edit {next(edits)}")

    psa.on_page = edit
    seed(psa, customers=40)
    report = make_runner(psa, target, store, types=(Customer,), workers=8).run_once()
    assert report.status is RunStatus.COMPLETED, report.error
    assert report.counts["indeterminate"] > 0
    assert target_of(target, Customer, "C5").values["name"] == "C5 edit 3"
    assert len(target.live("customer")) == 40
    assert len(target.records) == 40


def test_two_pipelines_to_two_targets_keep_separate_ledgers(
    source: FakeSource, store: SQLiteStateStore
) -> None:
    seed(source)
    erp_a, erp_b = FakeTarget(name="erp-a"), FakeTarget(name="erp-b")
    make_runner(source, erp_a, store, name="psa->a").run_once()
    make_runner(source, erp_b, store, name="psa->b").run_once()
    assert len(erp_a.records) == len(erp_b.records) == 7
    ledger_a = store.ledger_entries("erp-a:erp1")
    ledger_b = store.ledger_entries("erp-b:erp1")
    assert len(ledger_a) == len(ledger_b) == 7
    assert {e.write_key for e in ledger_a} == {e.write_key for e in ledger_b}
    assert {e.target for e in ledger_a} == {"erp-a:erp1"}


def test_lease_is_exclusive_and_a_takeover_refuses_the_old_runner(
    tmp_path: Path, clock: SimClock, source: FakeSource, target: FakeTarget
) -> None:
    seed(source, customers=9)
    mine = SQLiteStateStore(tmp_path / "s.db", clock=clock)
    theirs = SQLiteStateStore(tmp_path / "s.db", clock=clock)
    held = theirs.acquire_lease("psa->erp", holder="other", ttl=30)
    with pytest.raises(LeaseHeld):
        make_runner(source, target, mine, types=(Customer,)).run_once()
    theirs.release_lease(held)

    runner = make_runner(source, target, mine, types=(Customer,), lease_ttl=30)

    def take_over(progress: Progress) -> None:
        clock.advance(31)
        theirs.acquire_lease("psa->erp", holder="other", ttl=30)

    runner.on_progress = take_over
    with pytest.raises(LeaseLost, match="taken over") as info:
        runner.run_once()
    assert info.value.context["report"].status is RunStatus.LEASE_LOST
    assert mine.runs("psa->erp")[0].status == "lease_lost"
    checkpoint = mine.get_checkpoint("psa->erp", "Customer")
    assert checkpoint is not None
    assert checkpoint.cursor["after"][1] == "C2"
    clock.advance(31)
    final = make_runner(source, target, theirs, types=(Customer,)).run_once()
    assert final.status is RunStatus.COMPLETED
    assert len(target.records) == 9
    assert all(len(r.history) == 1 for r in target.records.values())


def test_every_write_log_carries_its_batch_correlation_id(
    source: FakeSource, target: FakeTarget, store: SQLiteStateStore
) -> None:
    seed(source, customers=30)
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    handler.addFilter(CorrelationFilter())
    log = logging.getLogger("erpsa_sdk.sync")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        report = make_runner(source, target, store, types=(Customer,), workers=8).run_once()
    finally:
        log.removeHandler(handler)
    writes = [r for r in records if r.getMessage() == "write acknowledged"]
    assert len(writes) == 30
    assert len({r.threadName for r in writes}) > 1
    order = sorted(range(30), key=lambda n: source.rows[("Customer", f"C{n}")].modified)
    for record in writes:
        source_id = record.entity_key.rsplit(":", 1)[1]  # type: ignore[attr-defined]
        batch = order.index(int(source_id[1:])) // 3 + 1
        assert record.correlation_id == f"{report.correlation_id}.{batch}"  # type: ignore[attr-defined]
    commits = [r for r in records if r.getMessage() == "batch committed"]
    assert {r.correlation_id for r in commits} == {r.correlation_id for r in writes}  # type: ignore[attr-defined]


@pytest.fixture
def source() -> FakeSource:
    return FakeSource()


@pytest.fixture
def target() -> FakeTarget:
    return FakeTarget()


def test_a_connector_without_a_tenant_needs_one_given(target: FakeTarget) -> None:
    from erpsa_sdk.errors import ConfigurationError

    source = FakeSource()
    del source.tenant
    with pytest.raises(ConfigurationError, match=r"source connector 'fakepsa'.*source_tenant"):
        Pipeline("p", source=source, target=target, namespace=NS)
    pipeline = Pipeline("p", source=source, target=target, namespace=NS, source_tenant="psa9")
    assert (pipeline.source_connection, pipeline.target_connection) == (
        "fakepsa:psa9",
        "fakeerp:erp1",
    )


def test_a_run_longer_than_its_lease_ttl_keeps_renewing_it(
    source: FakeSource, target: FakeTarget, store: SQLiteStateStore, clock: SimClock
) -> None:
    seed(source, customers=12)
    runner = make_runner(source, target, store, types=(Customer,), lease_ttl=30)
    runner.on_progress = lambda progress: clock.advance(25)  # slow batches, by the store's clock
    report = runner.run_once()
    assert report.status is RunStatus.COMPLETED, report.error
    assert report.counts["created"] == 12
    lease = store.current_lease("psa->erp")
    assert lease is not None
    assert lease.fence == 1


def test_a_clock_jump_between_renewal_and_send_is_settled_by_the_store(
    tmp_path: Path, source: FakeSource, target: FakeTarget, clock: SimClock
) -> None:
    # CI regression: under an autojump SimClock another thread's 300 s wait jumped time right
    # after a writer renewed, and the guard refused a lease nobody had taken over.
    seed(source, customers=12)
    jumps: list[float] = []

    class JumpAfterWriterRenewal(SQLiteStateStore):
        def renew_lease(self, lease: Lease, *, ttl: float) -> Lease:
            renewed = super().renew_lease(lease, ttl=ttl)
            if not jumps and threading.current_thread().name.startswith("erpsa-writer"):
                jumps.append(ttl)
                clock.advance(5 * ttl)
            return renewed

    jumpy = JumpAfterWriterRenewal(tmp_path / "jumpy.db", clock=clock)
    runner = make_runner(source, target, jumpy, types=(Customer,), lease_ttl=30)
    runner.on_progress = lambda progress: clock.advance(25)  # renewals fall due mid-run
    report = runner.run_once()
    assert report.status is RunStatus.COMPLETED, report.error
    assert jumps == [30]
    assert len(target.records) == 12
    assert all(len(r.history) == 1 for r in target.records.values())
    lease = jumpy.current_lease("psa->erp")
    assert lease is not None
    assert lease.fence == 1


def test_completed_runs_keep_state_bounded(
    source: FakeSource, target: FakeTarget, store: SQLiteStateStore, clock: SimClock
) -> None:
    seed(source, customers=2)
    runner = make_runner(source, target, store, types=(Customer,))
    runner.run_once()
    for n in range(3):
        source.put(Customer, "C0", name=f"edit {n}")
        clock.advance(3600)
        runner.run_once()
    key = f"ek1:{NS}:fakepsa:psa1:customer:C0"
    assert len(store.ledger_entries("fakeerp:erp1", entity_key=key)) == 4
    clock.advance(31 * 86400)
    runner.run_once()
    [head_entry] = store.ledger_entries("fakeerp:erp1", entity_key=key)
    head = store.ledger_head("fakeerp:erp1", key)
    assert head is not None
    assert head_entry.write_key == head.write_key
    assert store.lineage(key) == []  # older than the retention
    assert target_of(target, Customer, "C0").values["name"] == "edit 2"


def test_a_waiting_record_written_mid_enumeration_is_not_taken_for_deleted(
    store: SQLiteStateStore, target: FakeTarget
) -> None:
    # A full-scan source: deletions are what a complete enumeration did not see. A record
    # that waited for its customer is written at the start of a run whose enumeration resumes
    # past the page it was seen on; that write must not undo the enumeration's mark.
    source = FakeSource(deletions=DeletionMode.FULL_SCAN_ONLY, incremental=False)
    source.put(Customer, "C0", name="Customer 0", currency="USD")
    source.put(Project, "P1", name="Waits", currency="USD", customer_key="C9")
    for n in range(2, 7):
        source.put(Project, f"P{n}", name=f"Project {n}", currency="USD", customer_key="C0")
    types = (Customer, Project)
    first = make_runner(source, target, store, types=types).run_once()
    assert first.counts["waiting"] == 1
    runner = make_runner(source, target, store, types=types)
    runner.on_progress = lambda progress: runner.stop() if progress.step == "Project" else None
    assert runner.run_once().status is RunStatus.STOPPED  # P1 seen again, enumeration cut
    source.put(Customer, "C9", name="Customer 9", currency="USD")  # the reference arrives
    resumed = make_runner(source, target, store, types=types).run_once()
    assert resumed.status is RunStatus.COMPLETED, resumed.error
    assert target_of(target, Project, "P1") is not None
    assert resumed.counts.get("deleted", 0) == 0
    assert not target.deleted


def test_a_deletion_scan_does_not_dead_letter_a_rejected_record_again(
    store: SQLiteStateStore, target: FakeTarget
) -> None:
    class RejectingSource(FakeSource):
        def obj(self, model: Any, source_id: str) -> Any:
            if source_id != "C2":
                return super().obj(model, source_id)
            ref = SourceRef(system=self.name, tenant=self.tenant, id=source_id)
            return Rejected(source_ref=ref, raw={"id": "C2"}, errors=[{"type": "missing"}])

    source = RejectingSource(deletions=DeletionMode.FULL_SCAN_ONLY, incremental=True)
    seed(source, customers=4)
    for _ in range(2):  # each run reads incrementally, then scans everything for deletions
        report = make_runner(source, target, store, types=(Customer,)).run_once()
        assert report.status is RunStatus.COMPLETED, report.error
    letters = store.dead_letters("psa->erp")
    assert [(d.reason, d.entity_key.rsplit(":", 1)[1]) for d in letters] == [
        ("invalid_source_record", "C2")
    ]
    assert len(target.records) == 3


class MatchingTarget(FakeTarget):
    """An ERP that cannot write tasks but finds its own by name (the ``match`` rule)."""

    def __init__(self, tasks: set[str]) -> None:
        super().__init__(
            writable=(Customer, Project, TimeEntry),
            references={"TimeEntry": {"task_key": "match"}},
        )
        self._caps = Capabilities(
            types={
                **self._caps.types,
                "ProjectTask": TypeCapabilities(natural_keys=("name",)),
            }
        )
        self.tasks = tasks
        self.matched: list[dict[str, Any]] = []

    def match(self, model: type[Any], **natural_key: Any) -> list[SourceRef]:
        self.matched.append(natural_key)
        name = natural_key["name"]
        if name not in self.tasks:
            return []
        return [SourceRef(system=self.name, tenant=self.tenant, id=f"erp-{name}")]


def test_initial_match_streams_the_reference_type_and_rereads_only_changes(
    store: SQLiteStateStore,
) -> None:
    pages: list[tuple[str, int, int]] = []

    def on_page(model: type[Any], number: int) -> None:
        indexed = store._run(lambda tx: tx.q("SELECT COUNT(*) FROM {match_index}"), write=False)
        pages.append((model.__name__, number, int(indexed[0][0])))

    source = FakeSource(on_page=on_page)
    target = MatchingTarget({f"Task {n}" for n in range(60)})
    source.put(Project, "P1", name="Apollo", currency="USD")
    for n in range(30):
        source.put(ProjectTask, f"T{n}", name=f"Task {n}", project_key="P1")

    def entry(key: str, task: str) -> None:
        source.put(
            TimeEntry,
            key,
            resource_key="R1",
            project_key="P1",
            task_key=task,
            work_date="2026-11-02",
            duration_minutes=30,
        )

    entry("E1", "T1")
    entry("E2", "T2")
    types = (Project, ProjectTask, TimeEntry)
    report = make_runner(source, target, store, types=types).run_once()
    assert report.status is RunStatus.COMPLETED, report.error

    task_pages = [(n, indexed) for name, n, indexed in pages if name == "ProjectTask"]
    assert len(task_pages) == 10  # 30 tasks, 3 a page, read once
    # Processed as read: when page n is produced, the pages before it are already stored.
    assert [indexed for _, indexed in task_pages] == [3 * (n - 1) for n, _ in task_pages]
    # Only the referenced tasks are matched at the target.
    assert target.matched == [{"name": "Task 1"}, {"name": "Task 2"}]
    assert target_of(target, TimeEntry, "E2").refs["task_key"] == "erp-Task 2"

    pages.clear()
    entry("E3", "T3")  # a task never matched before, nothing changed among the tasks
    make_runner(source, target, store, types=types).run_once()
    assert [p for p in pages if p[0] == "ProjectTask"] == []
    assert target_of(target, TimeEntry, "E3").refs["task_key"] == "erp-Task 3"

    pages.clear()
    source.put(ProjectTask, "T30", name="Task 30", project_key="P1")  # a new task
    entry("E4", "T30")
    make_runner(source, target, store, types=types).run_once()
    assert [n for name, n, _ in pages if name == "ProjectTask"] == [1]  # only what changed
    assert target_of(target, TimeEntry, "E4").refs["task_key"] == "erp-Task 30"
