"""The simulated record service: URL shapes, bodies, status codes, limits, idempotency, periods."""

from __future__ import annotations

import json
from datetime import date

import httpx2
import pytest

from erpsa_netsuite.simulator import CustomField, NetSuiteSimulator, SimConfig
from erpsa_sdk.clock import SimClock

RECORD = "/services/rest/record/v1"


def _client(sim: NetSuiteSimulator, **headers: str) -> httpx2.Client:
    return httpx2.Client(
        transport=httpx2.MockTransport(sim),
        base_url=sim.base_url,
        headers={"Authorization": sim.bearer_header, **headers},
    )


def _code(r: httpx2.Response) -> str:
    return str(r.json()["o:errorDetails"][0]["o:errorCode"])


@pytest.fixture
def sim() -> NetSuiteSimulator:
    return NetSuiteSimulator(seed=1, clock=SimClock(autojump=True))


def test_create_answers_204_with_location_and_no_body(sim: NetSuiteSimulator) -> None:
    r = _client(sim).post(
        f"{RECORD}/customer", json={"companyName": "X", "subsidiary": {"id": "1"}}
    )
    assert r.status_code == 204
    assert r.content == b""
    assert r.headers["location"].startswith(f"{sim.base_url}{RECORD}/customer/")


def test_a_blind_re_post_creates_a_duplicate(sim: NetSuiteSimulator) -> None:
    body = {"companyName": "Twice", "subsidiary": {"id": "1"}}
    client = _client(sim, **{"X-NetSuite-Idempotency-Key": "k-1"})
    first = client.post(f"{RECORD}/customer", json=body)
    second = client.post(f"{RECORD}/customer", json=body)
    assert first.headers["location"] != second.headers["location"]
    names = [r["companyname"] for r in sim.table("customer").live_data()]
    assert names.count("Twice") == 2  # the key is ignored on synchronous requests (default)


def test_idempotency_on_sync_requests_is_configurable() -> None:
    sim = NetSuiteSimulator(seed=1, config=SimConfig(idempotency_on_sync="deduplicate"))
    client = _client(sim, **{"X-NetSuite-Idempotency-Key": "k-1"})
    body = {"companyName": "Once", "subsidiary": {"id": "1"}}
    a = client.post(f"{RECORD}/customer", json=body)
    b = client.post(f"{RECORD}/customer", json=body)
    assert a.headers["location"] == b.headers["location"]


def test_put_by_external_id_creates_then_updates(sim: NetSuiteSimulator) -> None:
    client = _client(sim)
    url = f"{RECORD}/customer/eid:ACME-1"
    first = client.put(url, json={"companyName": "Acme", "subsidiary": {"id": "1"}})
    second = client.put(url, json={"companyName": "Acme II"})
    assert first.status_code == second.status_code == 204
    assert first.headers["location"] == second.headers["location"]
    got = client.get(url).json()
    assert got["companyName"] == "Acme II"
    assert got["externalId"] == "ACME-1"
    assert got["subsidiary"]["id"] == "1"
    assert got["subsidiary"]["refName"] == "Parent Company"
    assert client.put(f"{RECORD}/customer/7", json={}).status_code == 400  # PUT needs eid:


def test_get_patch_delete_and_the_documented_404(sim: NetSuiteSimulator) -> None:
    client = _client(sim)
    r = client.get(f"{RECORD}/customer/1", params={"fields": "companyName,email"})
    assert r.headers["content-type"].startswith("application/vnd.oracle.resource+json")
    assert set(r.json()) == {"links", "companyName", "email"}
    assert client.patch(f"{RECORD}/customer/1", json={"email": "x@y.z"}).status_code == 204
    assert client.get(f"{RECORD}/customer/1").json()["email"] == "x@y.z"
    assert client.delete(f"{RECORD}/customer/1").status_code == 204
    gone = client.delete(f"{RECORD}/customer/1")
    assert gone.status_code == 404
    assert _code(gone) == "NONEXISTENT_ID"
    assert gone.json()["o:errorDetails"][0]["detail"] == "Record does not exist."


def test_collections_list_ids_only_and_expand_records_on_known_ids(sim: NetSuiteSimulator) -> None:
    client = _client(sim)
    page = client.get(f"{RECORD}/employee", params={"limit": 3}).json()
    assert page["count"] == 3
    assert page["hasMore"] is True
    assert page["totalResults"] == 8
    assert all(set(item) == {"links", "id"} for item in page["items"])
    assert [link["rel"] for link in page["links"]] == ["first", "next", "last", "self"]
    assert client.get(f"{RECORD}/employee", params={"limit": 3, "offset": 4}).status_code == 400
    client.put(
        f"{RECORD}/employee/eid:E-9",
        json={"firstName": "A", "lastName": "B", "subsidiary": {"id": "1"}},
    )
    full = client.get(
        f"{RECORD}/employee", params={"expandRecords": "true", "ids": "2,eid:'E-9'"}
    ).json()
    assert [item["firstName"] for item in full["items"]] == ["Grace", "A"]


def test_invalid_values_name_the_field_in_o_error_path(sim: NetSuiteSimulator) -> None:
    r = _client(sim).post(
        f"{RECORD}/timebill",
        json={"employee": {"id": "9999"}, "tranDate": "2026-03-02", "hours": "1:00"},
    )
    assert r.status_code == 400
    detail = r.json()["o:errorDetails"][0]
    assert detail["o:errorCode"] == "INVALID_CONTENT"
    assert detail["o:errorPath"] == "employee"
    assert "Invalid Field Value 9999" in detail["detail"]


def test_property_name_validation_error_refuses_unknown_fields(sim: NetSuiteSimulator) -> None:
    body = {"companyName": "X", "subsidiary": {"id": "1"}, "custentity_typo": "y"}
    assert _client(sim).post(f"{RECORD}/customer", json=body).status_code == 204  # warning
    strict = _client(sim, **{"X-NetSuite-PropertyNameValidation": "error"})
    r = strict.post(f"{RECORD}/customer", json=body)
    assert r.status_code == 400
    assert r.json()["o:errorDetails"][0]["o:errorPath"] == "custentity_typo"


def test_hours_accept_h_mm_and_decimals(sim: NetSuiteSimulator) -> None:
    client = _client(sim)
    for i, hours in enumerate(("2:15", 2.25, "2.25")):
        client.put(
            f"{RECORD}/timebill/eid:T{i}",
            json={"employee": {"id": "1"}, "tranDate": "2026-03-02", "hours": hours},
        )
        assert client.get(f"{RECORD}/timebill/eid:T{i}").json()["hours"] == "2:15"


def test_tenant_required_custom_field_is_enforced() -> None:
    config = SimConfig(
        custom_fields={"timebill": {"custcol_workstream": CustomField(required=True)}}
    )
    sim = NetSuiteSimulator(seed=1, config=config)
    body = {"employee": {"id": "1"}, "tranDate": "2026-03-02", "hours": "1:00"}
    r = _client(sim).put(f"{RECORD}/timebill/eid:W1", json=body)
    assert r.status_code == 400
    assert r.json()["o:errorDetails"][0]["o:errorPath"] == "custcol_workstream"
    ok = _client(sim).put(f"{RECORD}/timebill/eid:W1", json={**body, "custcol_workstream": "X"})
    assert ok.status_code == 204


@pytest.mark.parametrize(
    ("state", "record", "refused"),
    [
        ("closed", "timebill", True),
        ("ap_locked", "expenseReport", True),
        ("ap_locked", "timebill", False),
        ("ar_locked", "expenseReport", False),
        ("all_locked", "expenseReport", True),
    ],
)
def test_periods_are_enforced_on_write(state: str, record: str, refused: bool) -> None:
    sim = NetSuiteSimulator(seed=1)
    sim.set_period(date(2026, 8, 1), state)  # type: ignore[arg-type]
    bodies = {
        "timebill": {"employee": {"id": "1"}, "tranDate": "2026-08-03", "hours": "1:00"},
        "expenseReport": {"entity": {"id": "1"}, "tranDate": "2026-08-03", "total": 10.5},
    }
    r = _client(sim).put(f"{RECORD}/{record}/eid:P1", json=bodies[record])
    assert (r.status_code == 400) is refused
    if refused:
        assert _code(r) == "ACCOUNTING_PERIOD_CLOSED"
        assert r.json()["o:errorDetails"][0]["o:errorPath"] == "tranDate"


def test_period_error_code_is_configurable() -> None:
    sim = NetSuiteSimulator(seed=1, config=SimConfig(closed_period_code="USER_ERROR"))
    sim.admin.close_period("2026-08")
    r = _client(sim).put(
        f"{RECORD}/timebill/eid:P1",
        json={"employee": {"id": "1"}, "tranDate": "2026-08-03", "hours": "1:00"},
    )
    assert _code(r) == "USER_ERROR"


def test_a_posted_record_refuses_edits_and_deletes(sim: NetSuiteSimulator) -> None:
    client = _client(sim)
    client.put(
        f"{RECORD}/timebill/eid:X",
        json={"employee": {"id": "1"}, "tranDate": "2026-03-02", "hours": "1:00"},
    )
    row = sim.table("timebill").by_external_id("X")
    assert row is not None
    sim.admin.post("timebill", row.id)
    assert _code(client.patch(f"{RECORD}/timebill/eid:X", json={"memo": "m"})) == "RECORD_LOCKED"
    assert _code(client.delete(f"{RECORD}/timebill/eid:X")) == "RECORD_LOCKED"


def test_over_the_account_limit_the_documented_429_without_retry_after() -> None:
    sim = NetSuiteSimulator(seed=1, config=SimConfig(concurrency_limit=5))
    sim.set_background_load(5)
    r = _client(sim).get(f"{RECORD}/customer/1")
    assert r.status_code == 429
    assert "retry-after" not in r.headers
    body = r.json()
    assert body["title"] == "Bad Request"
    assert body["o:errorCode"] == "USER_ERROR"
    assert body["o:errorDetails"][0]["o:errorCode"] == "CONCURRENCY_LIMIT_EXCEEDED"
    assert sim.stats.limit_violations == 1
    sim.set_background_load(4)
    assert _client(sim).get(f"{RECORD}/customer/1").status_code == 200


def test_the_published_429_body_is_available_verbatim() -> None:
    sim = NetSuiteSimulator(seed=1, config=SimConfig(verbatim_429_body=True, retry_after_on_429=3))
    sim.set_background_load(5)
    r = _client(sim).get(f"{RECORD}/customer/1")
    assert r.status_code == 429
    assert r.headers["retry-after"] == "3"
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.content)
    assert b"CONCURRENCY_LIMIT_EXCEEDED" in r.content


def test_overload_can_surface_as_invalid_login() -> None:
    sim = NetSuiteSimulator(seed=1, config=SimConfig(invalid_login_on_overload=True))
    sim.set_background_load(5)
    r = _client(sim).get(f"{RECORD}/customer/1")
    assert r.status_code == 401
    assert _code(r) == "INVALID_LOGIN"


def test_requests_without_credentials_get_invalid_login(sim: NetSuiteSimulator) -> None:
    r = httpx2.Client(transport=httpx2.MockTransport(sim), base_url=sim.base_url).get(
        f"{RECORD}/customer/1"
    )
    assert r.status_code == 401
    assert _code(r) == "INVALID_LOGIN"
    assert r.json()["o:errorDetails"][0]["detail"].startswith("Invalid login attempt.")


def test_async_and_collection_writes_are_refused_not_guessed(sim: NetSuiteSimulator) -> None:
    client = _client(sim, Prefer="respond-async")
    r = client.post(f"{RECORD}/customer", json={"companyName": "X", "subsidiary": {"id": "1"}})
    assert r.status_code == 400


def test_sandbox_account_hosts() -> None:
    sim = NetSuiteSimulator(seed=1, config=SimConfig(account_id="1234567_SB1"))
    assert sim.base_url == "https://1234567-sb1.suitetalk.api.netsuite.com"
    assert sim.credentials(sim.base_url)["tba"]["realm"] == "1234567_SB1"
