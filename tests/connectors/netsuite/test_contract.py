"""The NetSuite connector passes the contract suite against its simulator, negative controls
included, in-process (``MockTransport``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from typing import Any

import pytest
from pydantic import BaseModel

from erpsa_netsuite import connector
from erpsa_sdk.clock import SimClock
from erpsa_sdk.models import (
    Customer,
    Expense,
    LegalEntity,
    Money,
    Project,
    ProjectTask,
    Resource,
    SourceRef,
    TimeEntry,
)
from erpsa_sdk.testing import ContractSuite, SimRequest, Simulator, serve
from erpsa_sdk.testing.contract import Harness


def _src(index: int) -> list[SourceRef]:
    return [SourceRef(system="psa", tenant="acme", id=str(index))]


def reads_as_queries(sim: Any) -> None:
    """Let the suite's between-pages hooks see SuiteQL pages: NetSuite reads are POSTed
    queries, and the kit's read-completeness hook counts GET requests only."""
    original: Callable[[Callable[[SimRequest], None]], Callable[[], None]] = sim.before_request

    def before_request(hook: Callable[[SimRequest], None]) -> Callable[[], None]:
        def adapted(req: SimRequest) -> None:
            if req.path.endswith("/query/v1/suiteql"):
                req = dataclasses.replace(req, method="GET")
            hook(req)

        return original(adapted)

    sim.before_request = before_request


class NetSuiteSuite(ContractSuite):
    plugin = connector

    def settings(self, sim: Simulator, *, page_size: int) -> Any:
        return {
            "account_id": sim.tenant,
            "max_concurrency": 3,
            "token": sim.api_token,
            "page_size": page_size,
            "lag_seconds": 0,
        }

    def harness(self, *, faults: Any = None) -> Harness:
        h = super().harness(faults=faults)
        reads_as_queries(h.sim)
        return h

    def sample(self, type_name: str, index: int, revision: int) -> BaseModel:
        mark = self.marker(index, revision)
        src = _src(index)
        if type_name == "Customer":
            return Customer(
                key=str(index), name=f"Customer {mark}", currency="USD", source_refs=src
            )
        if type_name == "LegalEntity":
            return LegalEntity(
                key=str(index),
                name=f"Entity {mark}",
                base_currency="EUR",
                country="DE",
                source_refs=src,
            )
        if type_name == "Resource":
            return Resource(
                key=str(index),
                name=f"{mark} Tester",
                email=f"r{index}@example.com",
                source_refs=src,
            )
        if type_name == "Project":
            return Project(
                key=str(index),
                name=f"Project {mark}",
                code=f"P-{index}",
                currency="USD",
                source_refs=src,
            )
        if type_name == "ProjectTask":
            return ProjectTask(
                key=str(index), project_key="1", name=f"Task {mark}", source_refs=src
            )
        if type_name == "TimeEntry":
            return TimeEntry(
                key=str(index),
                resource_key="r",
                project_key="p",
                work_date=date(2026, 3, 2),
                duration_minutes=95,
                description=mark,
                status="approved",
                source_refs=src,
            )
        if type_name == "Expense":
            return Expense(
                key=str(index),
                resource_key="r",
                project_key="p",
                expense_date=date(2026, 4, 7),
                category="Travel",
                amount=Money("412.50", "USD"),
                description=mark,
                source_refs=src,
            )
        raise KeyError(type_name)

    def prepare_refs(self, harness: Harness, type_name: str) -> Mapping[str, SourceRef]:
        conn = harness.connector
        parent = conn.match(LegalEntity, name="Parent Company")[0]
        if type_name in {"Customer", "Project", "Resource"}:
            return {"legal_entity_key": parent}
        project = conn.match(Project, code="PRJ1000")[0]
        if type_name == "ProjectTask":
            return {"project_key": project}
        if type_name in {"TimeEntry", "Expense"}:
            ada = conn.match(Resource, email="ada.lovelace@example.com")[0]
            return {"resource_key": ada, "project_key": project}
        return {}


class TestNetSuiteContract(NetSuiteSuite):
    pass


@pytest.mark.slow
class TestNetSuiteContractOverLoopback(NetSuiteSuite):
    """The same suite with the simulator served on 127.0.0.1 and a real HTTP client."""

    @pytest.fixture
    def harness_(self) -> Iterator[Harness]:
        clock = SimClock(autojump=True)
        sim = self.plugin.simulator(seed=self.seed, clock=clock)
        with serve(sim) as served:
            settings = {**self.settings(sim, page_size=self.page_size), "base_url": served.origin}
            conn = self.plugin.create(settings, clock=clock)
            reads_as_queries(sim)
            yield Harness(suite=self, plugin=self.plugin, sim=sim, clock=clock, connector=conn)
            conn.close()

    def test_limits_are_respected(self, harness_: Harness) -> None:
        pytest.skip(
            "the limits check needs the SimClock to see every thread that sleeps on it; a "
            "uvicorn server thread across a real socket is invisible to it (proven in-process)"
        )

    def test_vendor_errors_map_onto_the_error_tree(
        self, harness_: Harness, type_name: str | None
    ) -> None:
        if type_name != "TimeEntry":
            pytest.skip("one type suffices over loopback: every type reads through one path")
        super().test_vendor_errors_map_onto_the_error_tree(harness_, type_name)
