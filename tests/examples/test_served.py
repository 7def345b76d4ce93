"""The example connectors over real loopback HTTP (how the runner's crash tests use them)."""

from __future__ import annotations

from datetime import date

from acme_psa_erp import ACMEERP, ACMEPSA, settings_for

from erpsa_sdk.clock import SystemClock
from erpsa_sdk.models import Customer, Resource, SourceRef, TimeEntry, WriteKey
from erpsa_sdk.testing import FaultPlan, serve


def test_psa_to_erp_over_loopback_with_dropped_answers() -> None:
    psa_sim = ACMEPSA.simulator(seed=5, clock=SystemClock())
    erp_sim = ACMEERP.simulator(seed=5, clock=SystemClock())
    with serve(psa_sim) as psa_served, serve(erp_sim) as erp_served:
        psa = ACMEPSA.create(settings_for(psa_sim, base_url=psa_served.base_url, page_size=25))
        erp = ACMEERP.create(settings_for(erp_sim, base_url=erp_served.base_url))
        entries = [e for e in psa.read(TimeEntry) if isinstance(e, TimeEntry)]
        assert len(entries) == 60
        people = {r.key: r for r in psa.read(Resource) if isinstance(r, Resource)}
        erp_sim.set_faults(FaultPlan.always("commit_then_drop", methods={"PUT"}, max_attempt=1))
        customer = Customer(
            key="1",
            name="Initech",
            currency="USD",
            source_refs=[SourceRef(system="acmepsa", tenant="sim", id="1")],
        )
        ek = customer.entity_key("served")
        erp.upsert(
            customer,
            entity_key=ek,
            refs={},
            write_key=WriteKey(entity_key=ek, version="1", operation="upsert"),
        )
        assert len(erp_sim.rows_with_entity_key("Customer", str(ek))) == 1
        erp_sim.set_faults(None)
        entry = entries[0]
        email = people[entry.resource_key].email
        employee = erp.match(Resource, email=email)[0]
        assert erp_sim.table("employees").get(employee.id).data["email"] == email  # type: ignore[union-attr]
        assert entry.work_date >= date(2026, 10, 1)
        psa.close()
        erp.close()
