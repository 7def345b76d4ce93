"""The sync and async clients: record service helpers, ad-hoc SuiteQL, the async twin."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx2
import pytest

from erpsa_netsuite import AsyncNetSuite, NetSuite, bearer
from erpsa_netsuite.client import record_path
from erpsa_netsuite.simulator import NetSuiteSimulator, SimConfig
from erpsa_sdk.clock import SimClock
from erpsa_sdk.errors import ConfigurationError, ResponseFormatError
from erpsa_sdk.models import Project, Rejected


@pytest.fixture
def sim() -> NetSuiteSimulator:
    return NetSuiteSimulator(seed=1, clock=SimClock(autojump=True))


def _ns(sim: NetSuiteSimulator, **kw: object) -> NetSuite:
    return NetSuite(
        sim.tenant,
        auth=bearer(sim.api_token),
        transport=httpx2.MockTransport(sim),
        clock=sim.clock,
        **kw,
    )  # type: ignore[arg-type]


def test_external_ids_are_quoted_in_the_url() -> None:
    assert record_path("customer", "eid:a b/c") == "/services/rest/record/v1/customer/eid:a%20b%2Fc"
    assert record_path("customer", "42") == "/services/rest/record/v1/customer/42"


def test_record_helpers_round_trip(sim: NetSuiteSimulator) -> None:
    ns = _ns(sim)
    rid = ns.put_by_external_id(
        "customer", "C-1", {"companyName": "Initech", "subsidiary": {"id": "1"}}
    )
    assert ns.get_record("customer", "eid:C-1", fields=["companyName"]) == {
        "links": [
            {"rel": "self", "href": f"{sim.base_url}/services/rest/record/v1/customer/{rid}"}
        ],
        "companyName": "Initech",
    }
    ns.patch_record("customer", rid, {"email": "ap@initech.example"})
    assert [r["email"] for r in ns.expand_records("customer", [rid])] == ["ap@initech.example"]
    assert ns.delete_record("customer", "eid:C-1") is True
    assert ns.delete_record("customer", "eid:C-1") is False
    assert ns.get_record("customer", "eid:C-1") is None


def test_adhoc_suiteql_pages_by_offset(sim: NetSuiteSimulator) -> None:
    rows = list(_ns(sim).suiteql("SELECT id FROM timebill ORDER BY id", limit=7))
    assert [r["id"] for r in rows] == [str(i) for i in range(1, 21)]  # type: ignore[index]


def test_records_get_by_internal_id(sim: NetSuiteSimulator) -> None:
    sim.clock.advance(1)  # type: ignore[attr-defined]
    ns = _ns(sim)
    project = ns.projects.get("2")
    assert isinstance(project, Project)
    assert project.customer_key == "2"
    assert project.currency == "GBP"
    assert ns.projects.get("999") is None


@pytest.mark.parametrize("timezone", ["UTC", "Pacific/Auckland", "America/Los_Angeles"])
def test_get_finds_a_record_changed_a_moment_ago(timezone: str) -> None:
    # A keyset walk stops `lag` seconds before now; a look-up by id must not.
    from erpsa_netsuite import TenantMapping

    # The user's time zone preference, which SuiteQL renders timestamps in, set on both sides.
    config = SimConfig(timezone=timezone)
    sim = NetSuiteSimulator(seed=1, clock=SimClock(autojump=True), config=config)
    ns = _ns(sim, mapping=TenantMapping(account_id=sim.tenant, timezone=timezone))
    body = {"companyName": "Fresh Co", "subsidiary": {"id": "1"}, "currency": {"id": "1"}}
    rid = ns.put_by_external_id("customer", "fresh-1", body)
    found = ns.customers.get(rid)
    assert found is not None
    assert found.name == "Fresh Co"
    ns.patch_record("customer", rid, {"companyName": "Fresher Co"})
    again = ns.customers.get(rid)
    assert again is not None
    assert again.name == "Fresher Co"
    assert [c.name for c in ns.customers.list() if c.key == rid] == []  # inside the lag

    async def async_get() -> object:
        async with AsyncNetSuite(
            sim.tenant,
            auth=bearer(sim.api_token),
            mapping=TenantMapping(account_id=sim.tenant, timezone=timezone),
            transport=httpx2.MockTransport(sim),
            clock=sim.clock,
        ) as ans:
            assert await ans.customers.get("999999") is None
            return await ans.customers.get(rid)

    found_async = asyncio.run(async_get())
    assert found_async == again


def test_since_must_be_aware_or_a_cursor(sim: NetSuiteSimulator) -> None:
    from datetime import datetime

    with pytest.raises(ConfigurationError):
        _ns(sim).time_entries.list(since=datetime(2026, 1, 1))


def test_a_page_size_over_1000_is_refused(sim: NetSuiteSimulator) -> None:
    with pytest.raises(ConfigurationError):
        _ns(sim, page_size=1001).time_entries.list()


def test_a_2xx_with_an_error_body_is_an_error(sim: NetSuiteSimulator) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            200,
            json={
                "status": 400,
                "o:errorDetails": [{"detail": "x", "o:errorCode": "INVALID_PARAMETER"}],
            },
        )

    ns = NetSuite(sim.tenant, auth=bearer("t"), transport=httpx2.MockTransport(handler))
    with pytest.raises(ResponseFormatError):
        list(ns.time_entries.list())


def test_the_async_twin_reads_and_writes() -> None:
    clock = SimClock(autojump=True)
    sim = NetSuiteSimulator(seed=1, clock=clock)

    async def main() -> tuple[list[object], str, object, object]:
        async with AsyncNetSuite(
            sim.tenant, auth=bearer(sim.api_token), clock=clock, transport=httpx2.MockTransport(sim)
        ) as ns:
            pager = await ns.time_entries.list(since=clock.now() - timedelta(days=2))
            entries = [e async for e in pager]
            rid = await ns.put_by_external_id(
                "customer", "A-1", {"companyName": "Async Co", "subsidiary": {"id": "1"}}
            )
            got = await ns.get_record("customer", rid, fields=["companyName"])
            frame = await (await ns.legal_entities.list()).to_pandas()
            await ns.patch_record("customer", rid, {"email": "a@async.example"})
            expanded = await ns.expand_records("customer", [rid])
            assert expanded[0]["email"] == "a@async.example"
            assert await ns.delete_record("customer", rid) is True
            assert await ns.delete_record("customer", rid) is False
            assert [t.name async for t in await ns.records("ProjectTask").list()][:1] == [
                "Discovery"
            ]
            return entries, rid, (got or {}).get("companyName"), frame

    entries, rid, name, frame = asyncio.run(main())
    assert len(entries) == 20
    assert not any(isinstance(e, Rejected) for e in entries)
    assert rid.isdigit()
    assert name == "Async Co"
    assert list(frame["base_currency"]) == ["USD", "GBP", "EUR"]  # type: ignore[index]
