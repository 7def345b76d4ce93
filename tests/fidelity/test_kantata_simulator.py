"""The Kantata simulator's answers against recorded Kantata (Mavenlink) API responses.

The recordings are read from the vendor-data folder (``ERPSA_VENDOR_DATA``, default
``<repo>/../shared/vendor-data``): VCR cassettes of 2021 (current envelope with ``meta``) and
2013 (form-encoded writes, error bodies). Each test skips when its file is absent. Nothing is
copied: the tests compare status codes, headers, keys and JSON types, and the error texts
Kantata fixes.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest

from erpsa_kantata import KantataSimulator
from erpsa_sdk.clock import SimClock

ROOT = Path(__file__).resolve().parents[2]
VENDOR_DATA = Path(os.environ.get("ERPSA_VENDOR_DATA", ROOT.parent / "shared" / "vendor-data"))
KANTATA = VENDOR_DATA / "kantata"
V2021 = "mavenlink-ruby_vcr_2021"
V2013 = "mavenlink_ruby_vcr_2013"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _interactions(relative: str) -> list[dict[str, Any]]:
    yaml = pytest.importorskip("yaml")
    path = KANTATA / relative
    if not path.is_file():
        pytest.skip(f"vendor data not found at {path}")
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    return list(loaded["http_interactions"])


def _body(interaction: dict[str, Any]) -> Any:
    text = interaction["response"]["body"].get("string") or ""
    return json.loads(text) if text else None


def _status(interaction: dict[str, Any]) -> int:
    return int(interaction["response"]["status"]["code"])


def _headers(interaction: dict[str, Any]) -> dict[str, str]:
    return {k.lower(): v[0] for k, v in interaction["response"]["headers"].items()}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    return type(value).__name__


@pytest.fixture
def sim() -> KantataSimulator:
    return KantataSimulator(seed=1, clock=SimClock(autojump=True))


def _client(sim: KantataSimulator) -> httpx2.Client:
    return httpx2.Client(
        transport=httpx2.MockTransport(sim), base_url=sim.base_url, headers=sim.auth_headers()
    )


def _first(body: dict[str, Any]) -> dict[str, Any]:
    item = body["results"][0]
    record: dict[str, Any] = body[item["key"]][item["id"]]
    return record


def _compare_record(recorded: dict[str, Any], simulated: dict[str, Any], what: str) -> None:
    """Every field both carry has the same JSON type (``null`` matches anything)."""
    shared = set(recorded) & set(simulated)
    assert shared, f"{what}: no field in common"
    for key in sorted(shared):
        a, b = recorded[key], simulated[key]
        if a is None or b is None:
            continue
        assert _kind(a) == _kind(b), f"{what}.{key}: recorded {_kind(a)}, simulated {_kind(b)}"


# Fields a record of each type must carry, as the recordings show them.
_CORE = {
    "workspaces": {
        "id",
        "title",
        "archived",
        "description",
        "due_date",
        "start_date",
        "currency",
        "currency_symbol",
        "currency_base_unit",
        "created_at",
        "updated_at",
        "status",
        "price_in_cents",
        "account_id",
        "budgeted",
        "creator_id",
    },
    "workspace_groups": {
        "id",
        "name",
        "company",
        "contact_name",
        "email",
        "phone_number",
        "address",
        "website",
        "notes",
        "created_at",
        "updated_at",
    },
    "stories": {
        "id",
        "title",
        "description",
        "story_type",
        "state",
        "archived",
        "due_date",
        "start_date",
        "workspace_id",
        "parent_id",
        "creator_id",
        "created_at",
        "updated_at",
        "percentage_complete",
        "billable",
        "time_estimate_in_minutes",
    },
    "time_entries": {
        "id",
        "created_at",
        "updated_at",
        "date_performed",
        "time_in_minutes",
        "billable",
        "notes",
        "rate_in_cents",
        "cost_rate_in_cents",
        "currency",
        "currency_symbol",
        "currency_base_unit",
        "user_can_edit",
        "approved",
        "taxable",
        "is_invoiced",
        "story_id",
        "workspace_id",
        "user_id",
        "active_submission_id",
        "recent_submission_id",
        "location",
    },
    "expenses": {
        "id",
        "date",
        "notes",
        "category",
        "amount_in_cents",
        "currency",
        "currency_symbol",
        "currency_base_unit",
        "user_can_edit",
        "is_invoiced",
        "is_billable",
        "taxable",
        "reimbursable",
        "created_at",
        "updated_at",
        "foreign_exchange_amount",
        "story_id",
        "workspace_id",
        "user_id",
        "active_submission_id",
        "recent_submission_id",
    },
    "invoices": {
        "id",
        "created_at",
        "updated_at",
        "invoice_date",
        "due_date",
        "status",
        "title",
        "tax_rate",
        "purchase_order",
        "message",
        "draft",
        "payment_schedule",
        "balance_in_cents",
        "currency",
        "currency_symbol",
        "currency_base_unit",
        "user_id",
        "recipient_id",
    },
    "custom_field_values": {
        "id",
        "subject_type",
        "subject_id",
        "value",
        "account_id",
        "custom_field_name",
        "type",
        "display_value",
        "can_edit",
        "created_at",
        "updated_at",
        "custom_field_id",
        "setter_id",
    },
}


def _recorded_records() -> dict[str, dict[str, Any]]:
    """One recorded record per type, from the 2021 cassettes (the current shapes)."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted((KANTATA / V2021).rglob("*.yml")):
        for interaction in _interactions(str(path.relative_to(KANTATA))):
            body = _body(interaction)
            if not isinstance(body, dict):
                continue
            for key, value in body.items():
                if key in _CORE and isinstance(value, dict) and value and key not in found:
                    found[key] = next(iter(value.values()))
    if not found:
        pytest.skip("no 2021 Kantata recordings found")
    return found


def test_envelope_keys_and_meta_types_match_the_2021_recording(sim: KantataSimulator) -> None:
    [recorded] = _interactions(f"{V2021}/Mavenlink_Workspace/_retrieve/should_be_retrievable.yml")
    body = _body(recorded)
    ws = next(iter(sim.records("workspaces")))
    resp = _client(sim).get(f"workspaces/{ws}")
    assert resp.status_code == _status(recorded) == 200
    mine = resp.json()
    assert list(mine) == list(body)  # count, results, workspaces, meta - in that order
    assert {k: _kind(v) for k, v in mine["meta"].items()} == {
        k: _kind(v) for k, v in body["meta"].items()
    }
    assert [sorted(r) for r in mine["results"]] == [sorted(r) for r in body["results"]]
    assert all(isinstance(r["id"], str) for r in mine["results"])
    assert mine["meta"]["page_size"] == body["meta"]["page_size"] == 20


def test_response_headers_match_the_recording(sim: KantataSimulator) -> None:
    [recorded] = _interactions(f"{V2021}/Mavenlink_Workspace/_retrieve/should_be_retrievable.yml")
    theirs = _headers(recorded)
    resp = _client(sim).get("workspaces")
    assert resp.headers["content-type"] == theirs["content-type"]
    assert resp.headers["cache-control"] == theirs["cache-control"]
    assert UUID.match(theirs["x-request-id"])
    assert UUID.match(resp.headers["x-request-id"])
    assert "x-runtime" in resp.headers
    assert resp.headers["etag"].startswith('W/"')
    assert theirs["etag"].startswith('W/"')
    for headers in (theirs, {k.lower(): v for k, v in resp.headers.items()}):
        assert not any(k.startswith(("x-ratelimit", "retry-after")) for k in headers)


@pytest.mark.parametrize("collection", sorted(_CORE))
def test_record_fields_and_types_match_the_recordings(
    sim: KantataSimulator, collection: str
) -> None:
    recorded = _recorded_records().get(collection)
    if recorded is None:
        pytest.skip(f"no recorded {collection} record")
    c = _client(sim)
    if collection == "invoices":
        ws = next(w for w in sim.records("workspaces").values() if not w["archived"])
        entries = [
            e["id"] for e in sim.records("time_entries").values() if e["workspace_id"] == ws["id"]
        ]
        created = c.post(
            "invoices", json={"invoice": {"workspace_id": ws["id"], "time_entry_ids": entries[:2]}}
        )
        assert created.status_code == 200
    params = {"subject_type": "workspace_group"} if collection == "custom_field_values" else {}
    body = c.get(collection, params={**params, "from_archived_workspaces": "true"}).json()
    simulated = _first(body)
    missing = _CORE[collection] - set(simulated)
    assert not missing, f"{collection}: simulated records lack {sorted(missing)}"
    assert _CORE[collection] <= set(recorded), "the core list names a field not recorded"
    _compare_record(recorded, simulated, collection)


def test_paging_meta_follows_the_recorded_walk(sim: KantataSimulator) -> None:
    walk = _interactions(
        f"{V2021}/Mavenlink_CustomFieldValue/_list/a_subject_type_is_provided/"
        "should_paginate_automatically.yml"
    )
    metas = [_body(i)["meta"] for i in walk]
    first = metas[0]
    assert first["page_count"] == math.ceil(first["count"] / first["page_size"])
    assert [m["page_number"] for m in metas] == list(range(1, first["page_count"] + 1))
    assert metas[-1]["page_number"] >= metas[-1]["page_count"]  # the documented stop rule
    for n in range(45):
        sim.store.create(
            "custom_field_values",
            {
                "subject_type": "workspace_group",
                "subject_id": 1,
                "custom_field_id": "602325",
                "value": f"v{n}",
            },
        )
    c = _client(sim)
    pages = []
    page = 1
    while True:
        body = c.get(
            "custom_field_values", params={"subject_type": "workspace_group", "page": page}
        ).json()
        pages.append(body)
        if body["meta"]["page_number"] >= body["meta"]["page_count"]:
            break
        page += 1
    mine = pages[0]["meta"]
    assert set(mine) == set(first)
    assert mine["page_count"] == math.ceil(mine["count"] / mine["page_size"]) == len(pages)
    assert sum(len(p["results"]) for p in pages) == mine["count"] == 47
    # count is the query total on every page, not the page size (as recorded).
    assert {p["count"] for p in pages} == {47}


def test_include_side_loads_like_the_recording(sim: KantataSimulator) -> None:
    recorded = _interactions(
        f"{V2021}/Mavenlink_Workspace/_list_invoices/should_pass_other_options_to_the_invoices.yml"
    )[0]
    body = _body(recorded)
    uri = recorded["request"]["uri"]
    assert "include=time_entries,expenses" in uri
    c = _client(sim)
    ws = next(w for w in sim.records("workspaces").values() if not w["archived"])
    entries = [
        e["id"] for e in sim.records("time_entries").values() if e["workspace_id"] == ws["id"]
    ]
    expenses = [e["id"] for e in sim.records("expenses").values() if e["workspace_id"] == ws["id"]]
    c.post(
        "invoices",
        json={
            "invoice": {
                "workspace_id": ws["id"],
                "time_entry_ids": entries,
                "expense_ids": expenses,
            }
        },
    )
    mine = c.get(
        "invoices", params={"include": "time_entries,expenses", "workspace_id": ws["id"]}
    ).json()
    assert set(body) == set(mine)
    inv_theirs, inv_mine = _first(body), _first(mine)
    for linked, key in (("time_entry_ids", "time_entries"), ("expense_ids", "expenses")):
        assert isinstance(inv_theirs[linked], list)
        assert isinstance(inv_mine[linked], list)
        assert set(inv_theirs[linked]) <= set(body[key])
        assert set(inv_mine[linked]) == set(mine[key])
    _compare_record(inv_theirs, inv_mine, "invoice")


def test_error_bodies_are_the_recorded_ones(sim: KantataSimulator) -> None:
    interactions = _interactions(f"{V2013}/workspaces.yml")
    unauthorized = next(i for i in interactions if _status(i) == 401)
    anon = httpx2.Client(transport=httpx2.MockTransport(sim), base_url=sim.base_url)
    resp = anon.get("workspaces/1.json")
    assert resp.status_code == 401
    assert resp.json() == _body(unauthorized)
    time_entries = KANTATA / V2013 / "time_entries.yml"
    if time_entries.is_file():  # the 404 on PUT is recorded there when the file is present
        not_found = next(i for i in _interactions(f"{V2013}/time_entries.yml") if _status(i) == 404)
        assert _client(sim).put(
            "time_entries/999999.json", json={"time_entry": {"notes": "x"}}
        ).json() == _body(not_found)
    missing = _client(sim).put("time_entries/999999.json", json={"time_entry": {"notes": "x"}})
    assert missing.status_code == 404
    assert missing.json() == {"errors": [{"type": "system", "message": "Not found"}]}


def _replay_target(sim: KantataSimulator, collection: str) -> str:
    """A record of ``collection`` in the simulator to stand in for a recorded id."""
    if collection == "expenses":
        return next(iter(sim.records("expenses")))
    if collection == "stories":
        return next(iter(sim.records("stories")))
    return next(w["id"] for w in sim.records("workspaces").values() if not w["archived"])


@pytest.mark.parametrize("cassette", ["expenses.yml", "stories.yml", "workspaces.yml"])
def test_recorded_form_encoded_writes_replay(sim: KantataSimulator, cassette: str) -> None:
    """The 2013 writes (Rails form bodies) replayed with ids mapped to simulator records:
    same status, and the answer's records carry the recorded fields with the recorded types."""
    c = _client(sim)
    ws = _replay_target(sim, "workspaces")
    replayed = 0
    for interaction in _interactions(f"{V2013}/{cassette}"):
        request = interaction["request"]
        method = request["method"].upper()
        if method == "GET":
            continue
        path = urlsplit(request["uri"]).path.removeprefix("/api/v1/")
        collection = path.split("/")[0].removesuffix(".json")
        if "/" in path:
            target = _replay_target(sim, collection)
            if method == "DELETE":
                target = c.post(
                    collection,
                    json={
                        "story": {"workspace_id": ws, "title": "to delete", "story_type": "task"},
                        "expense": {
                            "workspace_id": ws,
                            "date": "2026-01-05",
                            "category": "Other",
                            "amount_in_cents": 1,
                        },
                    },
                ).json()["results"][0]["id"]
            path = f"{collection}/{target}.json"
        form = re.sub(
            r"\[workspace_id\]=\d+", f"[workspace_id]={ws}", request["body"].get("string") or ""
        )
        resp = c.request(
            method,
            path,
            content=form,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert resp.status_code == _status(interaction), (method, path, resp.text)
        replayed += 1
        recorded = _body(interaction)
        if recorded is None:
            assert resp.content == b""
            continue
        mine = resp.json()
        assert set(recorded) <= set(mine) | {"count"}
        _compare_record(_first(recorded), _first(mine), f"{method} {collection}")
    assert replayed
