"""The Kantata simulator over HTTP: envelope, paging, side-loading, filters, errors, events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx2
import pytest

from erpsa_kantata import KantataSimulator
from erpsa_kantata.simulator import RateLimit
from tests.connectors.kantata._helpers import START, make_sim


def http(sim: KantataSimulator) -> httpx2.Client:
    return httpx2.Client(
        transport=httpx2.MockTransport(sim), base_url=sim.base_url, headers=sim.auth_headers()
    )


def a_workspace(sim: KantataSimulator, currency: str = "USD") -> str:
    return next(
        w["id"]
        for w in sim.records("workspaces").values()
        if w["currency"] == currency and not w["archived"]
    )


def test_envelope_and_meta_as_recorded() -> None:
    sim = make_sim()
    body = http(sim).get("time_entries", params={"per_page": 5}).json()
    assert list(body) == ["count", "results", "time_entries", "meta"]
    assert body["meta"] == {"count": 8, "page_count": 2, "page_number": 1, "page_size": 5}
    for item in body["results"]:
        assert item["key"] == "time_entries"
        assert isinstance(item["id"], str)
        assert body["time_entries"][item["id"]]["id"] == item["id"]


def test_per_page_is_capped_at_200_and_count_is_the_query_total() -> None:
    sim = make_sim()
    ws = a_workspace(sim)
    for _ in range(250):
        sim.create("time_entries", workspace_id=ws, date_performed="2026-01-05", time_in_minutes=5)
    body = http(sim).get("time_entries", params={"per_page": 500}).json()
    assert body["meta"]["page_size"] == 200
    assert len(body["results"]) == 200
    assert body["count"] == body["meta"]["count"] == 258
    last = http(sim).get("time_entries", params={"per_page": 500, "page": 2}).json()
    assert last["meta"]["page_number"] >= last["meta"]["page_count"]
    assert len(last["results"]) == 58


def test_include_side_loads_related_records_under_their_own_keys() -> None:
    sim = make_sim()
    body = http(sim).get("time_entries", params={"include": "user,workspace,story"}).json()
    assert {"users", "workspaces", "stories"} <= set(body)
    for item in body["results"]:
        entry = body["time_entries"][item["id"]]
        assert entry["user_id"] in body["users"]
        assert entry["workspace_id"] in body["workspaces"]


def test_unknown_include_is_an_error_body() -> None:
    resp = http(make_sim()).get("time_entries", params={"include": "nope"})
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["type"] == "system"


def test_only_returns_the_named_ids_and_does_not_404_on_a_miss() -> None:
    sim = make_sim()
    some = sorted(sim.records("users"))[:2]
    body = http(sim).get("users", params={"only": ",".join([*some, "999"])}).json()
    assert sorted(r["id"] for r in body["results"]) == some


def test_ties_come_back_in_a_different_seeded_order_on_each_request() -> None:
    sim = make_sim()
    ws = a_workspace(sim)
    for _ in range(30):
        sim.create("time_entries", workspace_id=ws, date_performed="2026-01-05", time_in_minutes=5)
    params = {"order": "updated_at:asc", "per_page": 50}
    orders = [
        [r["id"] for r in http(sim).get("time_entries", params=params).json()["results"]]
        for _ in range(3)
    ]
    assert len({tuple(o) for o in orders}) == 3
    again = make_sim()
    ws2 = a_workspace(again)
    for _ in range(30):
        again.create(
            "time_entries", workspace_id=ws2, date_performed="2026-01-05", time_in_minutes=5
        )
    first = [r["id"] for r in http(again).get("time_entries", params=params).json()["results"]]
    assert first == orders[0]  # same seed, same request number: same order


def test_updated_at_order_and_mutations_stamp_the_clock() -> None:
    sim = make_sim()
    entry = next(iter(sim.records("time_entries")))
    sim.clock.advance(3600)  # type: ignore[attr-defined]
    sim.update("time_entries", entry, notes="changed")
    stamped = sim.records("time_entries")[entry]["updated_at"]
    assert stamped == (START + timedelta(hours=1)).isoformat(timespec="seconds")
    body = http(sim).get("time_entries", params={"order": "updated_at:desc"}).json()
    assert body["results"][0]["id"] == entry


@pytest.mark.parametrize("inclusive", [True, False])
def test_updated_after_bound_is_configurable(inclusive: bool) -> None:
    sim = make_sim(updated_after_inclusive=inclusive)
    body = http(sim).get("time_entries", params={"updated_after": START.isoformat()}).json()
    assert (body["count"] == 8) is inclusive


def test_archived_workspaces_and_their_entries_are_hidden_unless_asked() -> None:
    sim = make_sim()
    c = http(sim)
    assert c.get("workspaces").json()["count"] == 2
    assert c.get("workspaces", params={"include_archived": "true"}).json()["count"] == 3
    assert c.get("time_entries").json()["count"] == 8
    assert c.get("time_entries", params={"from_archived_workspaces": "true"}).json()["count"] == 12
    assert c.get("expenses", params={"from_archived_workspaces": "true"}).json()["count"] == 3
    archived = next(w for w in sim.records("workspaces").values() if w["archived"])
    assert c.get(f"workspaces/{archived['id']}").status_code == 200  # shown by id, as recorded


@pytest.mark.parametrize("hide", [True, False])
def test_external_references_hiding_archived_subjects_is_configurable(hide: bool) -> None:
    sim = make_sim(external_references_hide_archived=hide)
    archived = next(w for w in sim.records("workspaces").values() if w["archived"])
    entry = next(
        e for e in sim.records("time_entries").values() if e["workspace_id"] == archived["id"]
    )
    c = http(sim)
    ref = {
        "subject_type": "TimeEntry",
        "subject_id": entry["id"],
        "service_name": "erpsa",
        "service_model": "TimeEntry",
        "service_model_ref": "K-1",
    }
    assert (
        c.post("external_references/create_or_update", json={"external_reference": ref}).status_code
        == 200
    )
    found = c.get(
        "external_references", params={"subject_type": "TimeEntry", "service_model_ref": "K-1"}
    ).json()
    assert found["count"] == (0 if hide else 1)
    # The per-type filter with from_archived_workspaces finds it either way.
    entries = c.get(
        "time_entries",
        params={"external_reference_service_model_ref": "K-1", "from_archived_workspaces": "true"},
    ).json()
    assert entries["count"] == 1


def test_filters_date_range_approved_workspace() -> None:
    sim = make_sim()
    ws = a_workspace(sim, "JPY")
    c = http(sim)
    body = c.get("time_entries", params={"workspace_id": ws}).json()
    assert body["count"] == 4
    ranged = c.get("time_entries", params={"date_performed_between": "2026-01-06:2026-01-07"})
    assert ranged.json()["count"] == 4  # two days in each of the two visible workspaces
    one = next(iter(body["time_entries"]))
    sim.approve(one)
    assert [
        r["id"] for r in c.get("time_entries", params={"approved": "true"}).json()["results"]
    ] == [one]


def test_errors_match_the_vendor_shapes() -> None:
    sim = make_sim()
    anon = httpx2.Client(transport=httpx2.MockTransport(sim), base_url=sim.base_url)
    unauthorized = anon.get("workspaces")
    assert unauthorized.status_code == 401
    assert unauthorized.json() == {
        "errors": [{"type": "oauth", "message": "Invalid OAuth 2 Request"}]
    }
    missing = http(sim).put("time_entries/999999", json={"time_entry": {"notes": "x"}})
    assert missing.status_code == 404
    assert missing.json() == {"errors": [{"type": "system", "message": "Not found"}]}
    invalid = http(sim).post("workspaces", json={"workspace": {"description": "no title"}})
    assert invalid.status_code == 422
    fields = {e["field"] for e in invalid.json()["errors"]}
    assert fields == {"title", "creator_role"}
    assert all(e["type"] == "validation" for e in invalid.json()["errors"])


def test_revoked_token_gets_401() -> None:
    sim = make_sim()
    c = http(sim)
    assert c.get("users").status_code == 200
    sim.revoke()
    assert c.get("users").status_code == 401


def test_throttle_is_429_with_an_error_body_and_no_headers() -> None:
    sim = make_sim(rate_limit=RateLimit(requests=3, window_seconds=10))
    c = http(sim)
    codes = [c.get("users").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    throttled = c.get("users")
    assert throttled.json()["errors"][0]["type"] == "system"
    assert not any(h.lower().startswith(("retry-after", "x-ratelimit")) for h in throttled.headers)
    sim.clock.advance(10)  # type: ignore[attr-defined]
    assert c.get("users").status_code == 200


def test_extra_limited_operations_have_their_own_budget() -> None:
    sim = make_sim(extra_rate_limit=RateLimit(requests=2, window_seconds=60))
    c = http(sim)
    assert [c.get("workspaces").status_code for _ in range(3)] == [200, 200, 429]
    assert c.get("users").status_code == 200  # another endpoint class


def test_a_blind_re_post_creates_a_duplicate() -> None:
    sim = make_sim()
    ws = a_workspace(sim)
    body = {
        "time_entry": {
            "workspace_id": ws,
            "date_performed": "2026-01-05",
            "time_in_minutes": 60,
            "notes": "same",
        }
    }
    c = http(sim)
    ids = {c.post("time_entries", json=body).json()["results"][0]["id"] for _ in range(2)}
    assert len(ids) == 2


def test_create_returns_200_with_the_envelope_and_delete_204() -> None:
    sim = make_sim()
    c = http(sim)
    created = c.post("workspace_groups", json={"workspace_group": {"name": "Initech"}})
    assert created.status_code == 200
    gid = created.json()["results"][0]["id"]
    deleted = c.delete(f"workspace_groups/{gid}")
    assert deleted.status_code == 204
    assert deleted.content == b""


def test_rails_form_bodies_are_accepted() -> None:
    sim = make_sim()
    ws = a_workspace(sim)
    resp = http(sim).post(
        "time_entries.json",
        content=f"time_entry[workspace_id]={ws}&time_entry[date_performed]=2013-07-04"
        "&time_entry[time_in_minutes]=34",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert resp.status_code == 200
    entry = next(iter(resp.json()["time_entries"].values()))
    assert entry["time_in_minutes"] == 34


def test_inline_external_reference_and_create_or_update() -> None:
    sim = make_sim()
    ws = a_workspace(sim)
    c = http(sim)
    ref: dict[str, Any] = {
        "service_name": "erpsa",
        "service_model": "TimeEntry",
        "service_model_ref": "EK-1",
    }
    created = c.post(
        "time_entries",
        json={
            "time_entry": {
                "workspace_id": ws,
                "date_performed": "2026-01-05",
                "time_in_minutes": 15,
                "external_reference": ref,
            }
        },
    ).json()
    entry_id = created["results"][0]["id"]
    refs = c.get(
        "external_references", params={"subject_type": "TimeEntry", "service_name": "erpsa"}
    ).json()
    assert [r["subject_id"] for r in refs["external_references"].values()] == [int(entry_id)]
    upd = c.post(
        "external_references/create_or_update",
        json={
            "external_reference": {
                **ref,
                "subject_type": "TimeEntry",
                "subject_id": entry_id,
                "status": "failed",
            }
        },
    )
    assert upd.status_code == 200
    again = c.get("external_references", params={"subject_type": "TimeEntry"}).json()
    assert again["count"] == 1
    assert next(iter(again["external_references"].values()))["status"] == "failed"
    assert c.get("external_references").status_code == 422  # subject_type is required
    with_refs = c.get(f"time_entries/{entry_id}", params={"include": "external_references"})
    assert with_refs.json()["time_entries"][entry_id]["external_reference_ids"]


def test_deleted_events_are_kept_nine_days_on_the_clock() -> None:
    sim = make_sim()
    entry = next(iter(sim.records("time_entries")))
    sim.delete("time_entries", entry)
    c = http(sim)
    params = {"event_type": "time_entry:deleted"}
    events = c.get("subscribed_events", params=params).json()
    assert [e["subject_id"] for e in events["subscribed_events"].values()] == [int(entry)]
    sim.clock.advance(timedelta(days=8).total_seconds())  # type: ignore[attr-defined]
    assert c.get("subscribed_events", params=params).json()["count"] == 1
    sim.clock.advance(timedelta(days=2).total_seconds())  # type: ignore[attr-defined]
    assert c.get("subscribed_events", params=params).json()["count"] == 0


def test_invoiced_time_is_locked() -> None:
    sim = make_sim()
    ws = a_workspace(sim)
    entry = next(e["id"] for e in sim.records("time_entries").values() if e["workspace_id"] == ws)
    c = http(sim)
    inv = c.post("invoices", json={"invoice": {"workspace_id": ws, "time_entry_ids": [entry]}})
    assert inv.status_code == 200
    refused = c.put(f"time_entries/{entry}", json={"time_entry": {"notes": "late edit"}})
    assert refused.status_code == 422
    assert c.delete(f"time_entries/{entry}").status_code == 422


def test_the_3_minute_timeout_is_simulated_for_unbounded_scans() -> None:
    sim = make_sim(scan_limit=5)
    c = http(sim)
    assert c.get("time_entries").status_code == 504
    bounded = c.get("time_entries", params={"date_performed_between": "2026-01-05:2026-01-05"})
    assert bounded.status_code == 200


def test_served_over_loopback_a_plain_client_pages_through() -> None:
    from erpsa_sdk.testing import serve

    sim = make_sim()
    with serve(sim) as served:
        auth = {"authorization": served.credentials["authorization"]}
        with httpx2.Client(base_url=served.base_url.rstrip("/") + "/", headers=auth) as c:
            ids: list[str] = []
            page = 1
            while True:
                body = c.get(
                    "time_entries.json",
                    params={"per_page": 5, "page": page, "from_archived_workspaces": "true"},
                )
                meta = body.json()["meta"]
                ids += [r["id"] for r in body.json()["results"]]
                if meta["page_number"] >= meta["page_count"]:
                    break
                page += 1
    assert sorted(ids, key=int) == sorted(sim.records("time_entries"), key=int)
