"""AcmePSA -> AcmeERP on in-process simulators and a SimClock (lineage and dry-run tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from erpsa_sdk.clock import SimClock
from erpsa_sdk.models import Customer, Expense, Project, TimeEntry
from erpsa_sdk.sync import Pipeline, RunReport, RunStatus, SQLiteStateStore, SyncRunner

acme = pytest.importorskip("acme_psa_erp", reason="install examples/third_party_connector")

NS = "ops"
TYPES = (Customer, Project, TimeEntry, Expense)


@dataclass
class AcmeOps:
    clock: SimClock
    psa_sim: Any
    erp_sim: Any
    psa: Any
    erp: Any
    store: SQLiteStateStore

    def pipeline(self, target: Any = None, *, name: str = "acme-ops") -> Pipeline:
        return Pipeline(name, source=self.psa, target=target or self.erp, namespace=NS,
                        types=TYPES)  # fmt: skip

    def run(self, runner: SyncRunner) -> RunReport:
        self.clock.advance(5)
        report = runner.run_once()
        assert report.status is RunStatus.COMPLETED, report.error
        return report


def make(tmp_path: Path) -> AcmeOps:
    clock = SimClock(autojump=True)
    psa_sim = acme.ACMEPSA.simulator(seed=4, clock=clock)
    erp_sim = acme.ACMEERP.simulator(seed=4, clock=clock)
    psa = acme.ACMEPSA.create(
        acme.settings_for(psa_sim), transport=httpx2.MockTransport(psa_sim), clock=clock
    )
    erp = acme.ACMEERP.create(
        acme.settings_for(erp_sim), transport=httpx2.MockTransport(erp_sim), clock=clock
    )
    store = SQLiteStateStore(tmp_path / "state.db", clock=clock)
    return AcmeOps(clock, psa_sim, erp_sim, psa, erp, store)
