"""The contract suites of the example plugin (imported by the test modules)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from acme_psa_erp import ACMEERP, ACMEPSA, settings_for
from pydantic import BaseModel

from erpsa_sdk.models import Customer, Expense, Money, Project, Resource, SourceRef, TimeEntry
from erpsa_sdk.testing import ContractSuite, Simulator
from erpsa_sdk.testing.contract import Harness


def _src(index: int) -> list[SourceRef]:
    return [SourceRef(system="acmepsa", tenant="acme", id=str(index))]


class AcmePsaSuite(ContractSuite):
    plugin = ACMEPSA

    def settings(self, sim: Simulator, *, page_size: int) -> Any:
        return settings_for(sim, page_size=page_size)


class AcmeErpSuite(ContractSuite):
    plugin = ACMEERP

    def settings(self, sim: Simulator, *, page_size: int) -> Any:
        return settings_for(sim, page_size=page_size)

    def sample(self, type_name: str, index: int, revision: int) -> BaseModel:
        mark = self.marker(index, revision)
        if type_name == "Customer":
            return Customer(
                key=str(index), name=f"Customer {mark}", currency="USD", source_refs=_src(index)
            )
        if type_name == "Project":
            return Project(
                key=str(index),
                name=f"Project {mark}",
                code=f"C-{index}",
                currency="USD",
                source_refs=_src(index),
            )
        if type_name == "TimeEntry":
            return TimeEntry(
                key=str(index),
                resource_key="1",
                project_key="1",
                work_date=date(2026, 11, 2),
                duration_minutes=60,
                description=mark,
                bill_rate=Money("150.00", "USD"),
                source_refs=_src(index),
            )
        if type_name == "Expense":
            return Expense(
                key=str(index),
                resource_key="1",
                project_key="1",
                expense_date=date(2026, 11, 3),
                category="meals",
                amount=Money("12.50", "USD"),
                description=mark,
                source_refs=_src(index),
            )
        raise KeyError(type_name)

    def prepare_refs(self, harness: Harness, type_name: str) -> Mapping[str, SourceRef]:
        if type_name not in {"TimeEntry", "Expense"}:
            return {}
        project = Project(
            key="9999", name="Bench", code="BENCH", currency="USD", source_refs=_src(9999)
        )
        written = harness.write(project, "1", {})
        assert written is not None
        assert written.ref is not None
        employee = harness.connector.match(Resource, email="ada@acme.example")[0]
        return {"project_key": written.ref, "resource_key": employee}
