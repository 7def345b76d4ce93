"""Reconciliation: the pure comparison (with a property test) and a Kantata -> Dynamics 365
pipeline on in-process simulators, tampered with at both ends."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from erpsa_sdk.clock import SimClock
from erpsa_sdk.models import Customer, Project, Resource, TimeEntry
from erpsa_sdk.sync import Pipeline, RunStatus, SQLiteStateStore, SyncRunner
from erpsa_sdk.sync.deadletters import RecordPolicy
from erpsa_sdk.sync.reconcile import Line, compare, reconcile

G = ("US", "P1", "USD")


def line(ek: str, minutes: int | None = 60, amount: str | None = None, rid: str = "") -> Line:
    return Line(
        ek, "time_entry", rid or ek, G, minutes, None if amount is None else Decimal(amount)
    )


def test_every_kind_of_difference_is_named() -> None:
    source = [line("a"), line("b"), line("c", 30), line("d", None, "10.00"), line("p")]
    target = [
        line("a", rid="T-a"),
        line("c", 45, rid="T-c"),
        line("d", None, "12.00", rid="T-d"),
        line("gone", rid="T-gone"),
        line("stray", rid="T-stray"),
        line("a", rid="T-a2"),
    ]
    result = compare(source, target, pipeline="p", parked={"p"}, written={"a", "c", "d", "gone"})
    named = sorted((m.kind, m.source_id, m.target_id) for m in result.mismatches)
    assert named == [
        ("amount_differs", "d", "T-d"),
        ("deleted_at_source", None, "T-gone"),
        ("duplicate_at_target", None, "T-a2"),
        ("minutes_differ", "c", "T-c"),
        ("missing_at_target", "b", None),
        ("unexpected_at_target", None, "T-stray"),
    ]
    assert result.parked == 1
    assert not result.ok
    [group] = result.groups
    assert (group.source_count, group.target_count) == (4, 5)
    assert group.source_minutes == 60 + 60 + 30
    assert group.mismatches == 6


def test_parked_records_are_counted_never_mismatched() -> None:
    # A record parked for finance after its source was deleted stays at the target.
    result = compare([line("a")], [line("a"), line("posted")], pipeline="p", parked={"posted"})
    assert result.ok
    assert result.parked == 1
    assert result.to_dict()["mismatches"] == 0


def test_rolled_up_by_legal_entity() -> None:
    uk = ("UK", "P9", "GBP")
    src = [line("a"), Line("b", "expense", "b", uk, None, Decimal("5.50"))]
    tgt = [line("a"), Line("b", "expense", "b", uk, None, Decimal("5.50"))]
    totals = compare(src, tgt, pipeline="p").by_legal_entity()
    assert sorted(totals) == ["UK GBP", "US USD"]
    assert totals["UK GBP"].source_amount == totals["UK GBP"].target_amount == Decimal("5.50")


keys = st.lists(st.text("abcdef", min_size=1, max_size=4), unique=True, max_size=20)


@given(keys, st.data())
def test_property_mismatches_are_exactly_the_perturbations(names: list[str], data: Any) -> None:
    source = [line(n, 60) for n in names]
    dropped = set(data.draw(st.sets(st.sampled_from(names))) if names else set())
    changed = set(data.draw(st.sets(st.sampled_from(names))) if names else set()) - dropped
    target = [line(n, 61 if n in changed else 60) for n in names if n not in dropped]
    result = compare(source, target, pipeline="p")
    kinds = {(m.kind, m.entity_key) for m in result.mismatches}
    assert kinds == {("missing_at_target", n) for n in dropped} | {
        ("minutes_differ", n) for n in changed
    }
    assert result.ok == (not dropped and not changed)


@dataclass
class Wired:
    clock: SimClock
    kantata: Any
    dataverse: Any
    runner: SyncRunner
    store: SQLiteStateStore

    def run(self) -> None:
        self.clock.advance(5)
        report = self.runner.run_once()
        assert report.status is RunStatus.COMPLETED, report.error
        self.clock.advance(5)


@pytest.fixture
def wired(tmp_path: Path) -> Iterator[Wired]:
    # Reconciliation reads back at once; the default 5 s read lag would hide the writes.
    yield from _wire(tmp_path, lag_seconds=0)


@pytest.fixture
def lagging(tmp_path: Path) -> Iterator[Wired]:
    yield from _wire(tmp_path, lag_seconds=5)


def _wire(tmp_path: Path, *, lag_seconds: float) -> Iterator[Wired]:
    pytest.importorskip("erpsa_kantata")
    pytest.importorskip("erpsa_dynamics365")
    from erpsa_sdk.registry import get_plugin

    clock = SimClock(autojump=True)
    k_plugin, d_plugin = get_plugin("kantata"), get_plugin("dynamics365")
    kantata = k_plugin.simulator(seed=2, clock=clock)
    dataverse = d_plugin.simulator(seed=2, clock=clock)
    for user in kantata.records("users").values():
        dataverse.admin.insert(
            "bookableresource",
            {"name": user["full_name"], "msdyn_primaryemail": user["email_address"],
             "resourcetype": 3, "statecode": 0},
        )  # fmt: skip
    source = k_plugin.create(
        {"token": kantata.api_token}, transport=httpx2.MockTransport(kantata), clock=clock
    )
    target = d_plugin.create(
        {"environment_url": dataverse.environment_url, "token": dataverse.api_token,
         "lag_seconds": lag_seconds},
        transport=httpx2.MockTransport(dataverse), clock=clock,
    )  # fmt: skip
    store = SQLiteStateStore(tmp_path / "state.db", clock=clock)
    pipeline = Pipeline("k->d", source=source, target=target, namespace="rec",
                        types=(Resource, Customer, Project, TimeEntry))  # fmt: skip
    runner = SyncRunner(
        pipeline, store=store, handle_signals=False, workers=4, clock=clock,
        policy=RecordPolicy(natural_keys={"Resource": ("email",)}), lease_ttl=86400,
    )  # fmt: skip
    yield Wired(clock, kantata, dataverse, runner, store)
    store.close()


def _ours(w: Wired) -> dict[str, dict[str, Any]]:
    """Kantata time entry id -> its row at Dataverse (found by the EntityKey's UUIDv5)."""
    from erpsa_sdk.demo.checker import rows_for
    from erpsa_sdk.models import EntityKey

    rows = {}
    for tid in w.kantata.records("time_entries"):
        ek = EntityKey(namespace="rec", system="kantata", tenant="default", source_id=tid,
                       object_type="time_entry")  # fmt: skip
        for row in rows_for(w.dataverse, "TimeEntry", ek):
            rows[tid] = row
    return rows


def test_a_synced_pipeline_balances_per_project(wired: Wired) -> None:
    wired.run()
    result = reconcile(wired.runner.pipeline, wired.store)
    assert result.ok, [m.to_dict() for m in result.mismatches]
    assert result.compared == ["TimeEntry"]
    visible = list(wired.kantata.records("time_entries").values())
    assert sum(g.source_count for g in result.groups) == len(visible)
    assert sum(g.target_minutes for g in result.groups) == sum(
        e["time_in_minutes"] for e in visible
    )


def test_tampering_at_the_target_and_a_deletion_after_the_feed_expired(wired: Wired) -> None:
    wired.run()
    entries = wired.kantata.records("time_entries")
    gone = next(i for i, e in entries.items() if not e.get("approved"))
    rows = _ours(wired)
    deleted, changed = [i for i in rows if i != gone][:2]
    wired.dataverse.admin.delete("msdyn_timeentry", rows[deleted]["id"])
    wired.dataverse.admin.update("msdyn_timeentry", rows[changed]["id"], {"msdyn_duration": 1})
    wired.kantata.delete("time_entries", gone)
    wired.clock.advance(10 * 86400)  # the *:deleted event is no longer in the feed
    result = reconcile(wired.runner.pipeline, wired.store)
    named = sorted((m.kind, m.entity_key.rsplit(":", 1)[1], m.target_id) for m in result.mismatches)
    assert named == sorted(
        [
            ("missing_at_target", deleted, None),
            ("minutes_differ", changed, rows[changed]["id"]),
            ("deleted_at_source", gone, rows[gone]["id"]),
        ]
    )


def test_period_limits_what_is_compared(wired: Wired) -> None:
    wired.run()
    entries = list(wired.kantata.records("time_entries").values())
    days = sorted({date.fromisoformat(e["date_performed"]) for e in entries})
    first = days[0]
    result = reconcile(wired.runner.pipeline, wired.store, period=(first, first))
    expected = sum(1 for e in entries if e["date_performed"] == first.isoformat())
    assert sum(g.source_count for g in result.groups) == expected
    assert result.period == (first, first)
    none = reconcile(
        wired.runner.pipeline, wired.store,
        period=(days[-1] + timedelta(days=1), days[-1] + timedelta(days=2)),
    )  # fmt: skip
    assert none.groups == []


def test_records_written_within_the_read_lag_are_not_reported_missing(lagging: Wired) -> None:
    lagging.clock.advance(5)
    report = lagging.runner.run_once()
    assert report.status is RunStatus.COMPLETED, report.error
    rows = _ours(lagging)
    # At once: the target's keyset read stops 5 s behind now, so it shows none of the writes.
    early = reconcile(lagging.runner.pipeline, lagging.store)
    assert not early.ok
    kinds = {m.kind for m in early.mismatches}
    assert kinds == {"not_yet_readable"}, [m.to_dict() for m in early.mismatches]
    named = {m.entity_key.rsplit(":", 1)[1]: m.target_id for m in early.mismatches}
    assert named == {tid: row["id"] for tid, row in rows.items()}
    # Past the lag everything is compared, and it balances.
    lagging.clock.advance(10)
    later = reconcile(lagging.runner.pipeline, lagging.store)
    assert later.ok, [m.to_dict() for m in later.mismatches]


def test_a_record_deleted_at_the_target_within_the_read_lag_is_still_missing(
    lagging: Wired,
) -> None:
    lagging.clock.advance(5)
    assert lagging.runner.run_once().status is RunStatus.COMPLETED
    rows = _ours(lagging)
    deleted = next(iter(rows))
    lagging.dataverse.admin.delete("msdyn_timeentry", rows[deleted]["id"])
    result = reconcile(lagging.runner.pipeline, lagging.store)
    missing = [
        m.entity_key.rsplit(":", 1)[1] for m in result.mismatches if m.kind == "missing_at_target"
    ]
    assert missing == [deleted]


def test_a_failing_confirmation_look_up_leaves_the_record_missing_and_says_so(
    lagging: Wired, monkeypatch: pytest.MonkeyPatch
) -> None:
    from erpsa_sdk.errors import ServerError

    lagging.clock.advance(5)
    assert lagging.runner.run_once().status is RunStatus.COMPLETED
    target = lagging.runner.pipeline.target

    def broken(model: Any, *, entity_key: Any) -> None:
        raise ServerError("unavailable", status=503)

    monkeypatch.setattr(target, "lookup", broken)
    result = reconcile(lagging.runner.pipeline, lagging.store)
    assert result.mismatches
    assert {m.kind for m in result.mismatches} == {"missing_at_target"}
    assert all("look-up to confirm it failed: ServerError" in m.detail for m in result.mismatches)


def test_a_record_moved_out_of_the_period_at_the_target_is_missing_not_lagging(
    wired: Wired,
) -> None:
    # Review finding: only a record the full read did not return at all can be read lag.
    wired.run()
    rows = _ours(wired)
    moved = next(iter(rows))
    day = date.fromisoformat(wired.kantata.records("time_entries")[moved]["date_performed"])
    later = (day + timedelta(days=400)).isoformat()
    wired.dataverse.admin.update("msdyn_timeentry", rows[moved]["id"], {"msdyn_date": later})
    wired.clock.advance(10)
    result = reconcile(wired.runner.pipeline, wired.store, period=(day, day))
    mine = [m for m in result.mismatches if m.entity_key.endswith(":" + moved)]
    assert [m.kind for m in mine] == ["missing_at_target"]
    assert rows[moved]["id"] in mine[0].detail
