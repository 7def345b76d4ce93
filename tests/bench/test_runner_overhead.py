"""The runner-overhead benchmark's pipeline completes on every store it compares."""

from __future__ import annotations

import pytest
from bench._nullstore import NullStateStore

from bench import _runner_overhead
from erpsa_sdk.sync import StateStore


def test_the_null_store_satisfies_the_protocol() -> None:
    assert isinstance(NullStateStore(), StateStore)


@pytest.mark.parametrize("target", ["memory", "netsuite"])
@pytest.mark.parametrize("store", ["null", "sqlite"])
def test_the_same_pipeline_completes_on_each_store(store: str, target: str) -> None:
    res = _runner_overhead.one(store, 45, target)
    assert res["ok"], res
    assert res["written"] == 45


def test_postgres_row_is_skipped_with_a_note_when_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_runner_overhead, "postgres_available", lambda: False)
    monkeypatch.setattr(
        "bench._proc.run_json_line",
        lambda args, **kw: {"ok": True, "records_per_s": 100.0 if "null" in args else 80.0},
    )
    res = _runner_overhead.run_all(records=10, reps=1, gate=0.7)
    assert any("PostgreSQL" in note for note in res["notes"])
    assert {r["store"] for r in res["rows"]} == {"null", "sqlite"}
    gated = [r for r in res["rows"] if r.get("gate") in ("pass", "FAIL")]
    assert [r["ratio"] for r in gated] == [0.8]
