"""Lineage on the example plugin's simulators: a record's writes, versions, runs and outcomes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from erpsa_sdk.models import EntityKey
from erpsa_sdk.sync import SyncRunner
from erpsa_sdk.sync.lineage import resolve_key, trace

from .acme_env import NS, AcmeOps, make


@pytest.fixture
def env(tmp_path: Path) -> Iterator[AcmeOps]:
    ops = make(tmp_path)
    yield ops
    ops.store.close()


def _ek(env: AcmeOps, row_id: int) -> str:
    return EntityKey(namespace=NS, system="acmepsa", tenant=env.psa_sim.tenant,
                     source_id=str(row_id), object_type="time_entry").canonical  # fmt: skip


def test_an_edited_record_shows_both_writes_in_order_with_runs_and_correlation(
    env: AcmeOps,
) -> None:
    runner = SyncRunner(env.pipeline(), store=env.store, handle_signals=False, workers=2)
    first = env.run(runner)
    row = env.psa_sim.admin.rows("time_entries")[0]
    env.psa_sim.admin.update("time_entries", row["id"], {"minutes": row["data"]["minutes"] + 15})
    second = env.run(runner)
    target = runner.pipeline.target_connection
    result = trace(env.store, _ek(env, row["id"]), targets=[target], pipeline="acme-ops")
    ledger = [s for s in result.steps if s.kind == "ledger"]
    lineage = [s for s in result.steps if s.kind == "lineage"]
    assert [s.operation for s in ledger] == ["upsert", "upsert"]
    assert ledger[0].version is not None
    assert ledger[1].version is not None
    assert ledger[0].version < ledger[1].version
    assert ledger[0].write_key != ledger[1].write_key  # a new version is a new logical write
    assert {s.target_id for s in ledger} == {result.targets[target]}  # updated in place
    assert [s.run_id for s in lineage] == [first.run_id, second.run_id]
    assert all(s.correlation_id and s.correlation_id.startswith(r.correlation_id)
               for s, r in zip(lineage, (first, second), strict=True))  # fmt: skip
    assert result.source_id == str(row["id"])
    assert result.to_dict()["steps"][0]["kind"] in {"ledger", "lineage"}


def test_a_dead_lettered_record_shows_its_dead_letter(env: AcmeOps) -> None:
    env.erp_sim.admin.close_period("2026-10")
    runner = SyncRunner(env.pipeline(), store=env.store, handle_signals=False, workers=2)
    env.run(runner)
    [letter, *_] = env.store.dead_letters("acme-ops")
    result = trace(env.store, letter.entity_key,
                   targets=[runner.pipeline.target_connection], pipeline="acme-ops")  # fmt: skip
    [step] = [s for s in result.steps if s.kind == "dead_letter"]
    assert step.status == "validation_failed:period_closed"
    assert step.detail is not None
    assert step.detail.startswith("owner finance")


def test_resolve_a_source_id_through_the_crosswalk(env: AcmeOps) -> None:
    runner = SyncRunner(env.pipeline(), store=env.store, handle_signals=False, workers=2)
    env.run(runner)
    row = env.psa_sim.admin.rows("time_entries")[1]
    source = runner.pipeline.source_connection
    types = ["customer", "project", "time_entry", "expense"]
    assert resolve_key(env.store, f"time_entry:{row['id']}", source_system=source,
                       object_types=types) == _ek(env, row["id"])  # fmt: skip
    with pytest.raises(LookupError, match="no record"):
        resolve_key(env.store, "time_entry:99999", source_system=source, object_types=types)
    with pytest.raises(ValueError, match="EntityKey"):
        resolve_key(env.store, "ek1:broken", source_system=source, object_types=types)
