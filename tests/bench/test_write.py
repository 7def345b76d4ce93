"""The write benchmarks run end to end at a tiny size (simulated time: nothing is timed)."""

from __future__ import annotations

from bench import _write_netsuite, write_limits


def test_netsuite_writes_under_a_shared_concurrency_limit() -> None:
    res = _write_netsuite.run(writes=80, threads=4)
    assert res["failures"] == 0
    assert res["accepted"] == 80
    assert res["requests"] == res["accepted"] + res["answered_429"]
    assert res["peak_in_flight"] <= _write_netsuite.LIMIT
    phase = _write_netsuite.PHASE
    profile = [_write_netsuite.background_at(k * phase) for k in range(5)]
    assert profile == [2, 3, 4, 3, 2]


def test_dataverse_write_limits_benchmark_is_wired() -> None:
    res = write_limits.run(writes=40, threads=8)
    assert res["failures"] == 0
    assert res["accepted"] == 40
