"""The demo's guarantees hold for other seeds too (other firms, other fault draws).

Small by default (two seeds, two weeks); ``ERPSA_SOAK=1`` runs twelve seeds of six weeks.
"""

from __future__ import annotations

import os

import pytest

from erpsa_sdk.demo import run_drills, run_scenario, summarize

pytestmark = pytest.mark.reliability

SOAK = os.environ.get("ERPSA_SOAK", "").lower() in {"1", "true", "yes"}
SEEDS = range(1, 13) if SOAK else range(1, 3)
WEEKS = 6 if SOAK else 2


@pytest.mark.parametrize("seed", SEEDS)
def test_every_seed_lands_exactly_the_expected_records(seed: int) -> None:
    run = run_scenario(seed=seed, weeks=WEEKS)
    try:
        summary = summarize(run)
        drills = run_drills(run)
    finally:
        run.store.close()
    for key in ("missing_at_target", "duplicates_at_target", "unexpected_at_target",
                "values_differ_at_target"):  # fmt: skip
        assert summary[key] == 0, (key, summary[key])
    assert summary["reconciliation"]["mismatches"] == 0
    for pipeline in summary["pipelines"].values():
        reasons = sorted(d["reason"] for d in pipeline["dead_letters"])
        planted = ["invalid_source_record", "posted_record_changed", "unresolved_reference"]
        if pipeline["target"] == "netsuite":
            planted.append("validation_failed:period_closed")
        assert reasons == sorted(planted)
        assert pipeline["faults_injected"] >= 0.05 * pipeline["requests"]
    assert sorted(drills["kinds"]) == ["amount_differs", "deleted_at_source", "missing_at_target"]
