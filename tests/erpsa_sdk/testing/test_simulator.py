"""The simulator base: routing, auth, admin, clock stamping, limits, every fault kind."""

from __future__ import annotations

import random
from datetime import timedelta

import httpx2
import pytest

from erpsa_sdk.clock import SimClock
from erpsa_sdk.testing import (
    FaultKind,
    FaultPlan,
    SimError,
    SimRequest,
    SimResponse,
    Simulator,
    route,
)
from erpsa_sdk.testing.store import iso


class Shop(Simulator):
    vendor = "shop"
    base_path = "/v1"
    tables = ("items",)
    concurrency_limit = 2
    window_limit = (5, 10.0)

    def seed_data(self, rng: random.Random) -> None:
        for i in range(3):
            self.table("items").insert({"name": f"item {i}", "price": rng.randrange(100)})

    def sample_row(self, table: str, rng: random.Random) -> dict[str, object]:
        return {"name": f"new {rng.randrange(1000)}", "price": 1}

    def mutate_row(self, table: str, data: object, rng: random.Random) -> dict[str, object]:
        return {"price": rng.randrange(1000)}

    @route("GET", "/items")
    def list_items(self, req: SimRequest) -> SimResponse:
        return SimResponse.json({"items": [{"id": r.id, **r.data} for r in
                                           self.table("items").live_rows()]})  # fmt: skip

    @route("GET", "/items/{id}")
    def get_item(self, req: SimRequest) -> SimResponse:
        row = self.table("items").get(req.params["id"])
        if row is None:
            raise SimError(404, "NOT_FOUND", "no such item")
        return SimResponse.json({"id": row.id, **row.data})

    @route("POST", "/items")
    def create(self, req: SimRequest) -> SimResponse:
        row = self.table("items").insert(req.json())
        return SimResponse.json({"id": row.id}, status=201)


def client_for(sim: Simulator, token: str | None = None) -> httpx2.Client:
    auth = token or sim.credentials()["authorization"]
    return httpx2.Client(transport=httpx2.MockTransport(sim), base_url="https://shop.test/v1",
                         headers={"authorization": auth})  # fmt: skip


def test_routes_auth_and_vendor_errors() -> None:
    sim = Shop(seed=1, clock=SimClock())
    c = client_for(sim)
    assert len(c.get("/items").json()["items"]) == 3
    assert c.get("/items/2").json()["name"] == "item 1"
    missing = c.get("/items/99")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "NOT_FOUND", "message": "no such item"}}
    assert c.delete("/items/1").status_code == 405
    assert c.get("/nope").status_code == 404
    assert client_for(sim, "Bearer wrong").get("/items").status_code == 401


def test_token_endpoint_issues_tokens_that_expire_on_the_clock() -> None:
    clock = SimClock()
    sim = Shop(clock=clock)
    creds = sim.credentials("https://shop.test")
    raw = httpx2.Client(transport=httpx2.MockTransport(sim))
    bad = raw.post(creds["token_url"], data={"grant_type": "client_credentials",
                                             "client_id": "x", "client_secret": "y"})  # fmt: skip
    assert bad.status_code == 401
    good = raw.post(creds["token_url"], data={"grant_type": "client_credentials",
                                              "client_id": creds["client_id"],
                                              "client_secret": creds["client_secret"]})  # fmt: skip
    token = good.json()["access_token"]
    assert client_for(sim, f"Bearer {token}").get("/items").status_code == 200
    clock.advance(sim.token_ttl + 1)
    assert client_for(sim, f"Bearer {token}").get("/items").status_code == 401


def test_mutations_stamp_the_clock_now_and_keep_tombstones() -> None:
    clock = SimClock()
    sim = Shop(clock=clock)
    clock.advance(120)
    updated = sim.admin.update("items", 1, {"price": 7})
    assert updated["modified_at"] == iso(clock.now())
    assert updated["row_version"] == 2
    clock.advance(5)
    deleted = sim.admin.delete("items", 2)
    assert deleted["deleted_at"] == iso(clock.now())
    clock.advance(5)
    posted = sim.admin.post("items", 3)
    assert posted["posted"] is True
    assert posted["modified_at"] == iso(clock.now())
    assert [r["id"] for r in sim.admin.rows("items")] == [1, 3]
    assert len(sim.admin.rows("items", include_deleted=True)) == 3
    tomb = sim.table("items").tombstones(None, 10)
    assert [r.id for r in tomb] == [2]
    with pytest.raises(KeyError, match="items/2"):
        sim.admin.update("items", 2, {"price": 1})


def test_churn_changes_about_the_fraction_and_reports_ids() -> None:
    clock = SimClock()
    sim = Shop(clock=clock)
    for _ in range(97):
        sim.admin.insert("items", {"name": "x", "price": 1})
    clock.advance(1)
    changed = sim.admin.churn("items", 0.01, random.Random(3))
    assert [len(v) for v in changed.values()] == [1, 1, 1]
    for row_id in changed["updated"] + changed["inserted"]:
        assert sim.table("items").get(row_id).modified_at == clock.now()  # type: ignore[union-attr]
    assert sim.table("items").get(changed["deleted"][0]) is None


def test_keyset_orders_by_timestamp_then_id_after_the_cursor() -> None:
    clock = SimClock()
    sim = Shop(clock=clock)
    t = sim.table("items")
    first = t.keyset(None, 2)
    assert [r.id for r in first] == [1, 2]
    rest = t.keyset((first[-1].modified_at, first[-1].id), 10)
    assert [r.id for r in rest] == [3]
    clock.advance(timedelta(seconds=1).total_seconds())
    t.update(1, {"price": 9})
    assert [r.id for r in t.keyset((first[-1].modified_at, first[-1].id), 10)] == [3, 1]


def test_declared_limits_are_enforced_and_counted() -> None:
    clock = SimClock()
    sim = Shop(clock=clock)
    c = client_for(sim)
    statuses = [c.get("/items").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    assert sim.stats.limit_violations == 1
    throttled = c.get("/items")
    assert throttled.headers["retry-after"] == "10"
    clock.advance(10)
    assert c.get("/items").status_code == 200


@pytest.mark.parametrize(
    ("kind", "expect"),
    [
        (FaultKind.RATE_LIMIT, (429, "1")),
        (FaultKind.RATE_LIMIT_NO_RETRY_AFTER, (429, None)),
        (FaultKind.SERVER_ERROR, (503, None)),
        (FaultKind.HTML_ERROR, (502, None)),
        (FaultKind.ERROR_200, (200, None)),
    ],
)
def test_error_faults_answer_without_committing(
    kind: FaultKind, expect: tuple[int, object]
) -> None:
    sim = Shop(clock=SimClock(), faults=FaultPlan.always(kind))
    resp = client_for(sim).post("/items", json={"name": "z"})
    assert (resp.status_code, resp.headers.get("retry-after")) == expect
    assert sim.admin.count("items") == 3  # nothing was created
    if kind is FaultKind.HTML_ERROR:
        assert resp.headers["content-type"] == "text/html"
    if kind is FaultKind.ERROR_200:
        assert "error" in resp.json()
    assert [e.kind for e in sim.fault_log] == [kind]


@pytest.mark.parametrize(
    ("kind", "exc", "committed"),
    [
        (FaultKind.TIMEOUT, httpx2.ReadTimeout, False),
        (FaultKind.CONNECTION_RESET, httpx2.ConnectError, False),
        (FaultKind.COMMIT_THEN_DROP, httpx2.RemoteProtocolError, True),
    ],
)
def test_dropping_faults_raise_transport_errors(
    kind: FaultKind, exc: type[Exception], committed: bool
) -> None:
    sim = Shop(clock=SimClock(), faults=FaultPlan.always(kind))
    with pytest.raises(exc):
        client_for(sim).post("/items", json={"name": "z"})
    assert sim.admin.count("items") == (4 if committed else 3)


def test_truncated_json_unknown_fields_and_latency_commit() -> None:
    clock = SimClock(autojump=True)
    sim = Shop(clock=clock, faults=FaultPlan.always("truncated_json"))
    resp = client_for(sim).get("/items/1")
    with pytest.raises(ValueError):
        resp.json()
    sim.set_faults("unknown_fields")
    assert client_for(sim).get("/items/1").json()["x_new_vendor_field"] == "drift"
    sim.set_faults(FaultPlan(rates={"latency": 1.0}, latency=3.0))
    before = clock.monotonic()
    assert client_for(sim).post("/items", json={"name": "slow"}).status_code == 201
    assert clock.monotonic() - before == 3.0


def test_retry_of_the_same_request_is_a_new_draw() -> None:
    sim = Shop(clock=SimClock(), faults=FaultPlan.always("server_error", max_attempt=1))
    c = client_for(sim)
    assert c.post("/items", json={"name": "a"}).status_code == 503
    assert c.post("/items", json={"name": "a"}).status_code == 201
    assert c.post("/items", json={"name": "b"}).status_code == 503  # another body: attempt 0
    assert [(e.attempt, e.kind.value) for e in sim.fault_log] == [(0, "server_error")] * 2


def test_admin_over_http_needs_the_admin_key() -> None:
    sim = Shop(clock=SimClock())
    creds = sim.credentials()
    c = httpx2.Client(transport=httpx2.MockTransport(sim), base_url="https://shop.test")
    assert c.get("/_admin/tables").status_code == 401
    c.headers[creds["admin_header"]] = creds["admin_key"]
    assert c.get("/_admin/tables").json() == {"items": 3}
    assert c.post("/_admin/tables/items", json={"name": "n"}).status_code == 201
    assert c.patch("/_admin/tables/items/4", json={"price": 2}).json()["row_version"] == 2
    assert c.post("/_admin/tables/items/4/post").json()["posted"] is True
    assert c.post("/_admin/tables/items/4/archive").json()["archived"] is True
    assert c.delete("/_admin/tables/items/4").json()["deleted_at"] is not None
    assert c.post("/_admin/periods/2026-10/close").json() == {"closed_periods": ["2026-10"]}
    assert c.post("/_admin/clock/advance", json={"seconds": 60}).status_code == 200
    assert (
        c.post("/_admin/faults", json={"plan": "timeout=0.5"}).json()["plan"].startswith("timeout")
    )
    assert c.get("/_admin/tables/nope").status_code == 404
    state = c.get("/_admin/state").json()
    assert state["vendor"] == "shop"
    assert state["closed_periods"] == ["2026-10"]


def test_async_clients_use_the_same_handler() -> None:
    import asyncio

    sim = Shop(clock=SimClock())

    async def main() -> list[int]:
        async with httpx2.AsyncClient(
            transport=httpx2.MockTransport(sim),
            base_url="https://shop.test/v1",
            headers={"authorization": sim.credentials()["authorization"]},
        ) as client:
            created = await client.post("/items", json={"name": "async"})
            listed = await client.get("/items")
            return [created.status_code, len(listed.json()["items"])]

    assert asyncio.run(main()) == [201, 4]
