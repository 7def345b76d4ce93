"""The Kantata connector passes the contract suite against its own simulator."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from pydantic import BaseModel

from erpsa_kantata import connector
from erpsa_sdk.models import (
    Customer,
    Expense,
    Milestone,
    Money,
    Project,
    ProjectTask,
    SourceRef,
    TimeEntry,
)
from erpsa_sdk.testing.contract import ContractSuite, Harness
from erpsa_sdk.testing.simulator import Simulator


def _src(index: int) -> list[SourceRef]:
    return [SourceRef(system="netsuite", tenant="TSTDRV1", id=str(index))]


def _kantata(harness: Harness, collection: str, **where: Any) -> SourceRef:
    rows = [r for r in harness.sim.admin.rows(collection) if not r["archived"]]
    for key, value in where.items():
        rows = [r for r in rows if r["data"].get(key) == value]
    return SourceRef(system="kantata", tenant="default", id=str(rows[0]["id"]))


class TestKantataContract(ContractSuite):
    plugin = connector
    read_rows = 150
    page_size = 10
    writes = 30

    def settings(self, sim: Simulator, *, page_size: int) -> Mapping[str, Any]:
        return {"token": sim.api_token, "page_size": page_size}

    def sample(self, type_name: str, index: int, revision: int) -> BaseModel:
        mark = self.marker(index, revision)
        refs = _src(index)
        if type_name == "Customer":
            return Customer(key=f"c{index}", name=mark, source_refs=refs)
        if type_name == "Project":
            return Project(key=f"p{index}", name=mark, currency="USD", source_refs=refs)
        if type_name == "ProjectTask":
            return ProjectTask(key=f"t{index}", project_key="p", name=mark, source_refs=refs)
        if type_name == "Milestone":
            return Milestone(
                key=f"m{index}",
                project_key="p",
                name=mark,
                source_refs=refs,
                due_date=date(2026, 3, 31),
            )
        if type_name == "TimeEntry":
            return TimeEntry(
                key=f"te{index}",
                resource_key="r",
                project_key="p",
                work_date=date(2026, 1, 5),
                duration_minutes=60,
                bill_rate=Money("150.00", "USD"),
                description=mark,
                source_refs=refs,
            )
        if type_name == "Expense":
            return Expense(
                key=f"x{index}",
                resource_key="r",
                project_key="p",
                expense_date=date(2026, 1, 5),
                category="Travel",
                amount=Money("12.34", "USD"),
                description=mark,
                source_refs=refs,
            )
        raise AssertionError(f"no sample for {type_name}")

    def prepare_refs(self, harness: Harness, type_name: str) -> Mapping[str, SourceRef]:
        if type_name in {"TimeEntry", "Expense"}:
            return {
                "project_key": _kantata(harness, "workspaces", currency="USD"),
                "resource_key": _kantata(harness, "users"),
            }
        if type_name in {"ProjectTask", "Milestone"}:
            return {"project_key": _kantata(harness, "workspaces", currency="USD")}
        return {}
