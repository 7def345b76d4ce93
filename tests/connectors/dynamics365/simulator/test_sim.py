"""The Dataverse simulator: service protection, the Entra token endpoint, schedule entities,
conditional requests, posted rows."""

from __future__ import annotations

import httpx2
import pytest

from erpsa_dynamics365._core import parse_error
from erpsa_dynamics365.simulator import DataverseSimulator, SimulatorConfig
from erpsa_sdk.clock import SimClock
from erpsa_sdk.errors import ForbiddenError, RateLimited, ValidationFailed
from tests.connectors.dynamics365._helpers import make


def _client(sim: DataverseSimulator) -> httpx2.Client:
    return httpx2.Client(
        transport=httpx2.MockTransport(sim),
        base_url=sim.api_root,
        headers={"Authorization": sim.credentials()["authorization"]},
    )


def test_request_window_answers_429_with_its_code_and_retry_after() -> None:
    sim = DataverseSimulator(config=SimulatorConfig(requests=3, window=10))
    http = _client(sim)
    assert [http.get("WhoAmI").status_code for _ in range(3)] == [200, 200, 200]
    r = http.get("WhoAmI")
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "0x80072322"
    assert "6000" not in r.json()["error"]["message"]
    assert int(r.headers["Retry-After"]) == 10
    err = parse_error(r)
    assert isinstance(err, RateLimited)
    assert err.context["limit"] == "requests"
    sim.admin.advance(10)
    assert http.get("WhoAmI").status_code == 200


def test_execution_time_and_concurrency_limits_have_their_own_codes() -> None:
    sim = DataverseSimulator(
        config=SimulatorConfig(service_time=1.0, execution_ms=2000, window=300)
    )
    http = _client(sim)
    http.get("WhoAmI")
    http.get("WhoAmI")
    r = http.get("WhoAmI")
    assert (r.status_code, r.json()["error"]["code"]) == (429, "0x80072321")
    assert parse_error(r).context["limit"] == "execution_time"  # type: ignore[union-attr]
    busy = DataverseSimulator(config=SimulatorConfig(concurrency=1))
    busy._in_flight = 1  # one request is being served
    r = _client(busy).get("WhoAmI")
    assert (r.status_code, r.json()["error"]["code"]) == (429, "0x80072326")
    assert r.json()["error"]["message"] == "Number of concurrent requests exceeded the limit of 1."


def test_the_client_waits_retry_after_in_full() -> None:
    sim, d365, _rec = make(config=SimulatorConfig(requests=2, window=30))
    d365.get("accounts", "00000000-0000-0000-0000-000000000001")
    d365.get("accounts", "00000000-0000-0000-0000-000000000001")
    start = sim.clock.monotonic()
    assert d365.get("accounts", "00000000-0000-0000-0000-000000000001") is None
    assert sim.clock.monotonic() - start >= 30
    assert sim.stats.limit_violations == 1


def test_schedule_entities_and_apis_refuse_application_users() -> None:
    sim, d365, _ = make()
    task = sim.admin.rows("msdyn_projecttask")[0]["id"]
    with pytest.raises(ForbiddenError, match="Project licence") as exc:
        d365.upsert("msdyn_projecttasks", task, {"msdyn_subject": "x"})
    assert exc.value.vendor_code == "0x80040220"
    with pytest.raises(ForbiddenError):
        d365.http.request("POST", "msdyn_PssCreateV1", json={"Entity": {}})
    with pytest.raises(ForbiddenError):
        d365.create("msdyn_resourceassignments", {"msdyn_name": "x"})


def test_project_scheduling_fields_refuse_a_plain_update() -> None:
    sim, d365, _ = make()
    project = sim.admin.rows("msdyn_project")[0]["id"]
    with pytest.raises(ForbiddenError, match="msdyn_finish"):
        d365.upsert("msdyn_projects", project, {"msdyn_finish": "2026-12-31"})
    ok = d365.upsert("msdyn_projects", project, {"msdyn_subject": "Renamed"})
    assert ok.created is False
    narrow = DataverseSimulator(config=SimulatorConfig(scheduling_fields=frozenset()))
    r = _client(narrow).patch(
        f"msdyn_projects({narrow.admin.rows('msdyn_project')[0]['id']})",
        json={"msdyn_finish": "2026-12-31"},
    )
    assert r.status_code == 204


def test_posted_rows_refuse_changes_with_a_plugin_error() -> None:
    sim, d365, _ = make()
    entry = sim.admin.rows("msdyn_timeentry")[0]["id"]
    sim.admin.post("msdyn_timeentry", entry)
    with pytest.raises(ValidationFailed) as exc:
        d365.upsert("msdyn_timeentries", entry, {"msdyn_duration": 5})
    assert exc.value.vendor_code == "0x80040265"
    assert d365.get("msdyn_timeentries", entry)["msdyn_entrystatus"] == 192350002  # type: ignore[index]


def test_conditional_get_answers_304_unless_expanded() -> None:
    sim = DataverseSimulator()
    http = _client(sim)
    account = sim.admin.rows("account")[0]["id"]
    first = http.get(f"accounts({account})")
    etag = first.headers["ETag"]
    assert first.json()["@odata.etag"] == etag
    assert http.get(f"accounts({account})", headers={"If-None-Match": etag}).status_code == 304
    expanded = http.get(
        f"accounts({account})?$expand=transactioncurrencyid($select=isocurrencycode)",
        headers={"If-None-Match": etag},
    )
    assert expanded.status_code == 200
    assert expanded.json()["transactioncurrencyid"]["isocurrencycode"] == "USD"


def test_create_answers_204_with_odata_entity_id() -> None:
    sim = DataverseSimulator()
    r = _client(sim).post("accounts", json={"name": "New"})
    assert r.status_code == 204
    assert r.headers["OData-EntityId"].startswith(f"{sim.api_root}accounts(")


def test_churn_and_admin_speak_guids() -> None:
    sim = DataverseSimulator(clock=SimClock())
    import random

    changed = sim.admin.churn("account", 0.2, random.Random(1))
    live = {r["id"] for r in sim.admin.rows("account")}
    assert set(changed["inserted"]) <= live
    assert not set(changed["deleted"]) & live


def test_debug_headers_tell_what_is_left_of_the_window() -> None:
    sim = DataverseSimulator(config=SimulatorConfig(requests=10, service_time=0.5))
    http = _client(sim)
    http.get("WhoAmI")
    r = http.get("WhoAmI")
    assert r.headers["x-ms-ratelimit-burst-remaining-xrm-requests"] == "8"
    assert r.headers["x-ms-ratelimit-time-remaining-xrm-requests"] == str(1_200_000 - 1000)
