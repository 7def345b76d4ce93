"""Dry-run (intended writes, nothing sent) and the record-by-record diff of two runs."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erpsa_sdk.sync import Pipeline, SQLiteStateStore, SyncRunner
from erpsa_sdk.sync.dryrun import DryRunTarget, RecordState, diff

from .acme_env import NS, TYPES, AcmeOps, make


@pytest.fixture
def env(tmp_path: Path) -> Iterator[AcmeOps]:
    ops = make(tmp_path)
    yield ops
    ops.store.close()


def _tables(sim: Any) -> dict[str, int]:
    return {t: sim.admin.count(t) for t in sim.tables}


def test_a_dry_run_records_every_intended_write_and_sends_none(env: AcmeOps) -> None:
    before = _tables(env.erp_sim)
    dry = DryRunTarget(env.erp)
    pipeline = Pipeline("dry", source=env.psa, target=cast(Any, dry), namespace=NS, types=TYPES)
    store = SQLiteStateStore(":memory:", clock=env.clock)
    report = env.run(SyncRunner(pipeline, store=store, handle_signals=False, validate=False))
    assert _tables(env.erp_sim) == before
    upserts = [w for w in dry.intended if w.operation == "upsert"]
    assert len(upserts) == report.counts.get("created", 0) + report.counts.get("updated", 0)
    psa_rows = sum(env.psa_sim.admin.count(t) for t in ("customers", "projects",
                                                        "time_entries", "expenses"))  # fmt: skip
    assert len(upserts) == psa_rows
    assert all(w.entity_key.startswith(f"ek1:{NS}:") for w in upserts)
    assert {w.type_name for w in upserts} == {"Customer", "Project", "TimeEntry", "Expense"}
    # The dry run's own ledger says everything is written: a second dry run intends nothing.
    env.run(SyncRunner(pipeline, store=store, handle_signals=False, validate=False))
    assert len([w for w in dry.intended if w.operation == "upsert"]) == psa_rows


def test_a_dry_run_intends_the_same_writes_a_real_run_then_makes(env: AcmeOps) -> None:
    dry = DryRunTarget(env.erp)
    dry_pipeline = Pipeline("dry", source=env.psa, target=cast(Any, dry), namespace=NS,
                            types=TYPES)  # fmt: skip
    env.run(SyncRunner(dry_pipeline, store=SQLiteStateStore(":memory:", clock=env.clock),
                       handle_signals=False, validate=False))  # fmt: skip
    env.run(SyncRunner(env.pipeline(), store=env.store, handle_signals=False))
    real = {e.entity_key for e in env.store.ledger_entries(env.pipeline().target_connection)}
    intended = {w.entity_key for w in dry.intended}
    assert intended == real


def test_diff_names_each_kind() -> None:
    a = {
        "same": RecordState("time_entry", "1", 60, None),
        "minutes": RecordState("time_entry", "2", 60, None),
        "amount": RecordState("expense", "3", None, Decimal("10.00")),
        "parked": RecordState("expense", None, None, None, "parked"),
        "only_a": RecordState("expense", "5", None, Decimal("1")),
    }
    b = {
        "same": RecordState("time_entry", "x1", 60, None),
        "minutes": RecordState("time_entry", "x2", 75, None),
        "amount": RecordState("expense", "x3", None, Decimal("10.50")),
        "parked": RecordState("expense", "x4", None, Decimal("4.00")),
        "only_b": RecordState("time_entry", "x6", 30, None),
    }
    rows = {r.entity_key: r for r in diff(a, b)}
    assert set(rows) == {"minutes", "amount", "parked", "only_a", "only_b"}
    assert rows["minutes"].fields == {"minutes": (60, 75)}
    assert rows["amount"].fields == {"amount": (Decimal("10.00"), Decimal("10.50"))}
    assert rows["parked"].fields["status"] == ("parked", "present")
    assert (rows["only_a"].kind, rows["only_b"].kind) == ("only_in_a", "only_in_b")
    assert rows["minutes"].to_dict()["fields"] == {"minutes": ["60", "75"]}


states = st.dictionaries(
    st.text("abc", min_size=1, max_size=3),
    st.builds(RecordState, st.just("time_entry"), st.none(), st.integers(0, 3), st.none()),
    max_size=8,
)


@given(states, states)
def test_property_diff_is_empty_on_itself_and_mirrors_when_swapped(
    a: dict[str, RecordState], b: dict[str, RecordState]
) -> None:
    assert diff(a, a) == []
    swap = {"only_in_a": "only_in_b", "only_in_b": "only_in_a", "differs": "differs"}
    forward = {(r.entity_key, r.kind) for r in diff(a, b)}
    backward = {(r.entity_key, swap[r.kind]) for r in diff(b, a)}
    assert forward == backward
