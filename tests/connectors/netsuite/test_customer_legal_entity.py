"""A customer's legal entity reaches NetSuite as its subsidiary, through a sync run."""

from __future__ import annotations

from pathlib import Path

import httpx2

from erpsa_netsuite import NetSuiteConnector, connector
from erpsa_netsuite.simulator import NetSuiteSimulator
from erpsa_sdk.clock import SimClock
from erpsa_sdk.connector import Capabilities, TypeCapabilities
from erpsa_sdk.models import Customer, LegalEntity
from erpsa_sdk.sync import Pipeline, RunStatus, SQLiteStateStore, SyncRunner
from tests.erpsa_sdk.sync.fakes import FakeSource


class PsaWithEntities(FakeSource):
    """A source that also reads its legal entities."""

    def __init__(self) -> None:
        super().__init__()
        self._caps = Capabilities(
            types={**self._caps.types, "LegalEntity": TypeCapabilities(read=True)}
        )


def _netsuite(sim: NetSuiteSimulator, clock: SimClock, **extra: str) -> NetSuiteConnector:
    settings = {"account_id": sim.tenant, "token": sim.api_token, "lag_seconds": 0}
    settings.update(max_concurrency=2, **extra)
    conn = connector.create(settings, transport=httpx2.MockTransport(sim), clock=clock)
    assert isinstance(conn, NetSuiteConnector)
    return conn


def _subsidiary_of(sim: NetSuiteSimulator, name: str) -> str | None:
    row = next(r for r in sim.admin.rows("customer") if r["data"].get("companyname") == name)
    return str(row["data"].get("subsidiary"))


def test_each_customer_is_created_in_its_own_subsidiary(tmp_path: Path) -> None:
    clock = SimClock(autojump=True)
    sim = NetSuiteSimulator(seed=1, clock=clock)
    source = PsaWithEntities()
    source.put(LegalEntity, "LE-UK", name="Contoso UK Ltd", base_currency="GBP", country="GB")
    source.put(LegalEntity, "LE-DE", name="Contoso GmbH", base_currency="EUR", country="DE")
    source.put(Customer, "C1", name="Fabrikam London", currency="GBP", legal_entity_key="LE-UK")
    source.put(Customer, "C2", name="Fabrikam Berlin", currency="EUR", legal_entity_key="LE-DE")
    # No legal entity at the source: the connector's configured default subsidiary is used.
    source.put(Customer, "C3", name="Fabrikam Anywhere", currency="USD")
    target = _netsuite(sim, clock, default_subsidiary="1")
    pipeline = Pipeline(
        "psa->ns", source=source, target=target, namespace="le", types=(LegalEntity, Customer)
    )
    store = SQLiteStateStore(tmp_path / "state.db", clock=clock)
    report = SyncRunner(pipeline, store=store, handle_signals=False, clock=clock).run_once()
    assert report.status is RunStatus.COMPLETED, report.error
    assert report.counts["upserted"] == 5
    subsidiaries = {str(r["data"]["name"]): str(r["id"]) for r in sim.admin.rows("subsidiary")}
    assert _subsidiary_of(sim, "Fabrikam London") == subsidiaries["Contoso UK Ltd"]
    assert _subsidiary_of(sim, "Fabrikam Berlin") == subsidiaries["Contoso GmbH"]
    assert _subsidiary_of(sim, "Fabrikam Anywhere") == "1"
    # Read back, the customer names its subsidiary as its legal entity.
    clock.advance(1)  # past the keyset horizon
    read = {c.name: c for c in target.read(Customer) if isinstance(c, Customer)}
    assert read["Fabrikam London"].legal_entity_key == subsidiaries["Contoso UK Ltd"]
