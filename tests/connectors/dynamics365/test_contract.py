"""The Dynamics 365 connector passes the contract suite against the Dataverse simulator.

Dataverse rows are keyed by GUID in a ``<table>id`` column, not by an ``id`` field: the
bad-row check is restated for that shape (same proof: one ``Rejected`` carrying the raw row,
every other row read). The suite's negative control is skipped by the suite itself for
natural upserts; :func:`test_naive_post_duplicates_after_a_lost_answer` proves the simulator
does not de-duplicate a keyless create.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

import httpx2
import pytest
from pydantic import BaseModel

from erpsa_dynamics365 import connector
from erpsa_dynamics365._schema import TABLES
from erpsa_dynamics365.mapping import TYPE_TABLES
from erpsa_sdk.clock import SimClock
from erpsa_sdk.models import (
    Customer,
    EntityKey,
    Expense,
    LegalEntity,
    Money,
    Project,
    Resource,
    SourceRef,
    TimeEntry,
)
from erpsa_sdk.models.refs import Rejected
from erpsa_sdk.testing import ContractSuite, FaultKind, FaultPlan, Simulator, serve
from erpsa_sdk.testing.contract import ContractViolation, Harness


def _src(index: int) -> list[SourceRef]:
    return [SourceRef(system="psa", tenant="acme", id=str(index))]


class DataverseHarness(Harness):
    def rows(self, type_name: str, entity_key: EntityKey) -> list[dict[str, Any]]:
        # The row id is UUIDv5 of the canonical key; the kit's default passes the hashed str().
        return self.sim.rows_with_entity_key(type_name, entity_key.canonical)


class DataverseSuite(ContractSuite):
    plugin = connector

    def harness(self, *, faults: FaultPlan | None = None) -> Harness:
        h = super().harness(faults=faults)
        return DataverseHarness(
            suite=self, plugin=h.plugin, sim=h.sim, clock=h.clock, connector=h.connector
        )

    def settings(self, sim: Simulator, *, page_size: int) -> Any:
        return {
            "environment_url": sim.environment_url,  # type: ignore[attr-defined]
            "token": sim.api_token,
            "page_size": page_size,
            # The suite's checks advance the SimClock 1 s before reading back what they wrote;
            # the default 5 s lag is proven in test_connector.py.
            "lag_seconds": 0,
        }

    def sample(self, type_name: str, index: int, revision: int) -> BaseModel:
        mark = self.marker(index, revision)
        src = _src(index)
        if type_name == "Customer":
            return Customer(
                key=str(index),
                name=f"Customer {mark}",
                currency="USD",
                email=f"c{index}@example.com",
                source_refs=src,
            )
        if type_name == "Project":
            return Project(
                key=str(index),
                name=f"Project {mark}",
                code=f"P-{index}",
                currency="USD",
                start_date=date(2026, 3, 1),
                source_refs=src,
            )
        if type_name == "TimeEntry":
            return TimeEntry(
                key=str(index),
                resource_key="r",
                project_key="p",
                work_date=date(2026, 3, 2),
                duration_minutes=95,
                description=mark,
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
        if type_name == "Resource":
            return Resource(key=str(index), name=f"{mark} Tester", source_refs=src)
        if type_name == "LegalEntity":
            return LegalEntity(
                key=str(index), name=f"Entity {mark}", base_currency="USD", source_refs=src
            )
        raise KeyError(type_name)

    def prepare_refs(self, harness: Harness, type_name: str) -> Mapping[str, SourceRef]:
        conn = harness.connector
        if type_name in {"TimeEntry", "Expense"}:
            ada = conn.match(Resource, email="ada@contoso.example")[0]
            project = conn.match(Project, name="Contoso ERP rollout")[0]
            return {"resource_key": ada, "project_key": project}
        if type_name == "Project":
            return {"legal_entity_key": conn.match(LegalEntity, name="Contoso US")[0]}
        return {}

    def test_rejects_bad_rows(self, harness_: Harness, type_name: str | None) -> None:
        name = self._need(type_name)
        h = harness_
        table = h.table_of(name, source=True)
        bad = h.sim.admin.insert(table, h.sim.bad_row(table))
        h.clock.advance(1)
        items = list(h.connector.read(h.model(name)))
        rejected = [i for i in items if isinstance(i, Rejected)]
        good = [i for i in items if not isinstance(i, Rejected)]
        pk = TABLES[TYPE_TABLES[name]].pk
        if len(rejected) != 1 or rejected[0].raw.get(pk) != bad["id"]:
            raise ContractViolation(
                f"rejects ({name}): expected one Rejected for {bad['id']}, "
                f"got {[r.raw.get(pk) for r in rejected]}"
            )
        if len(good) != h.sim.admin.count(table) - 1:
            raise ContractViolation(f"rejects ({name}): one bad row dropped good rows")
        ref = rejected[0].source_ref
        assert ref is not None
        assert ref.id == bad["id"]


class TestDynamics365Contract(DataverseSuite):
    pass


def test_naive_post_duplicates_after_a_lost_answer() -> None:
    """A keyless POST re-sent after a lost answer leaves two rows: the simulator does not
    de-duplicate creates (Dataverse has no idempotency key)."""
    sim = connector.simulator(seed=3)
    for type_name in ("Customer", "Project", "TimeEntry", "Expense"):
        method, path, body = sim.naive_create(type_name, 1)
        table = TYPE_TABLES[type_name]
        before = sim.admin.count(table)
        client = httpx2.Client(
            transport=httpx2.MockTransport(sim),
            base_url=sim.environment_url,
            headers={"authorization": sim.credentials()["authorization"]},
        )
        sim.set_faults(
            FaultPlan.always(FaultKind.COMMIT_THEN_DROP, methods={method}, max_attempt=1)
        )
        try:
            lost = False
            try:
                client.request(method, path, json=body)
            except httpx2.TransportError:
                lost = True
            retry = client.request(method, path, json=body)
        finally:
            sim.set_faults(None)
            client.close()
        assert lost, type_name
        assert retry.status_code == 204, (type_name, retry.text)
        assert sim.admin.count(table) - before == 2, type_name


class TestDynamics365ContractOverLoopback(DataverseSuite):
    """The same suite with the simulator served on 127.0.0.1 and a real HTTP client; the
    application user authenticates with a client secret against the served Entra endpoint."""

    read_rows = 60

    @pytest.fixture
    def harness_(self) -> Iterator[Harness]:
        clock = SimClock(autojump=True)
        sim = self.plugin.simulator(seed=self.seed, clock=clock)
        served = serve(sim, 0)
        try:
            creds = sim.credentials(served.base_url)
            settings = {
                "environment_url": served.base_url,
                "entra_tenant": creds["entra_tenant"],
                "client_id": creds["client_id"],
                "client_secret": creds["client_secret"],
                "token_url": creds["token_url"],
                "page_size": self.page_size,
                "lag_seconds": 0,  # as in-process: the checks advance the clock 1 s
            }
            conn = self.plugin.create(settings, clock=clock)
            h = DataverseHarness(
                suite=self, plugin=self.plugin, sim=sim, clock=clock, connector=conn
            )
            yield h
            conn.close()
        finally:
            served.stop()

    def test_vendor_errors_map_onto_the_error_tree(
        self, harness_: Harness, type_name: str | None
    ) -> None:
        pytest.skip(
            "the check revokes the simulator's static token, which a client-credentials "
            "connector does not use (proven in process)"
        )

    def test_limits_are_respected(self, harness_: Harness) -> None:
        pytest.skip(
            "the limits check needs the SimClock to see every thread that sleeps on it; a "
            "uvicorn server thread across a real socket is invisible to it (proven in process)"
        )
