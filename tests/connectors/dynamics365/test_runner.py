"""End to end: AcmePSA (example plugin) -> Dynamics 365 through the SyncRunner.

Time entries whose PSA task cannot be written to Dataverse (tasks are schedule entities) land
without the task and are counted as ``reference_dropped:msdyn_projecttask`` (the runner uses
the name the connector declares for ``task_key``), noted once per run; none waits or is
dead-lettered for it. Bookable resources are matched by e-mail and name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from erpsa_dynamics365 import connector
from erpsa_dynamics365.simulator import DataverseSimulator
from erpsa_sdk.clock import SimClock
from erpsa_sdk.models import Customer, Project, TimeEntry
from erpsa_sdk.sync import Pipeline, RunStatus, SQLiteStateStore, SyncRunner

acme = pytest.importorskip("acme_psa_erp", reason="install examples/third_party_connector")
from acme_psa_erp.simulators import AcmePsaSimulator  # noqa: E402
from acme_psa_erp.simulators._shared import PEOPLE  # noqa: E402


@pytest.fixture
def wired(tmp_path: Path) -> Iterator[tuple[Any, ...]]:
    clock = SimClock(autojump=True)
    psa_sim = AcmePsaSimulator(seed=11, clock=clock)
    psa = acme.ACMEPSA.create(
        acme.settings_for(psa_sim, page_size=20),
        transport=httpx2.MockTransport(psa_sim),
        clock=clock,
    )
    dv = DataverseSimulator(seed=11, clock=clock)
    for name, email, _ in PEOPLE:  # the PSA's people already exist as bookable resources
        dv.admin.insert(
            "bookableresource",
            {"name": name, "msdyn_primaryemail": email, "resourcetype": 3, "statecode": 0},
        )
    d365 = connector.create(
        {"environment_url": dv.environment_url, "token": dv.api_token},
        transport=httpx2.MockTransport(dv),
        clock=clock,
    )
    store = SQLiteStateStore(tmp_path / "state.db", clock=clock)
    yield clock, psa_sim, psa, dv, d365, store
    store.close()
    d365.close()


def test_time_entries_land_without_their_task_counted_once_per_run(wired: Any) -> None:
    clock, psa_sim, psa, dv, d365, store = wired
    pipeline = Pipeline(
        "psa-to-d365",
        source=psa,
        target=d365,
        namespace="e2e",
        types=(Customer, Project, TimeEntry),
    )
    runner = SyncRunner(pipeline, store=store, handle_signals=False, workers=4)
    clock.advance(5)
    report = runner.run_once()
    assert report.status is RunStatus.COMPLETED, report.error
    with_task = [r for r in psa_sim.admin.rows("time_entries") if r["data"].get("task_id")]
    assert with_task, "the PSA seed must hold time entries with tasks"
    assert report.counts["reference_dropped:msdyn_projecttask"] == len(with_task)
    notes = [n for n in report.notes if n.startswith("reference_dropped:msdyn_projecttask")]
    assert len(notes) == 1
    assert not report.counts.get("waiting")
    assert not report.counts.get("dead_lettered"), report.counts
    psa_entries = psa_sim.admin.rows("time_entries")
    for row in psa_entries:
        entry = next(e for e in psa.read(TimeEntry) if e.source_refs[0].id == str(row["id"]))
        ek = entry.entity_key("e2e")
        stored = dv.rows_with_entity_key("TimeEntry", ek.canonical)
        assert len(stored) == 1
        assert stored[0]["data"]["_msdyn_projecttask_value"] is None
        assert stored[0]["data"]["msdyn_duration"] == entry.duration_minutes
    clock.advance(5)
    again = runner.run_once()
    assert again.status is RunStatus.COMPLETED, again.error
    assert dv.admin.count("msdyn_timeentry") == 8 + len(psa_entries)
