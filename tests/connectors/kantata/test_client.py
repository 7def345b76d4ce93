"""Kantata clients against the simulator: typed reads, includes, auth, quarantine, async."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import httpx2
import pytest

from erpsa_kantata import AsyncKantata, DeletionFeedExpired, KantataSimulator
from erpsa_kantata.simulator import RateLimit
from erpsa_sdk.errors import AuthError, NotFoundError, RateLimited
from erpsa_sdk.http import RetryPolicy
from erpsa_sdk.models import (
    Customer,
    Expense,
    Milestone,
    Money,
    Project,
    ProjectTask,
    Rejected,
    Resource,
    TimeEntry,
)
from tests.connectors.kantata._helpers import client, make_sim


class Counting(httpx2.BaseTransport):
    def __init__(self, sim: KantataSimulator) -> None:
        self.sim = sim
        self.paths: list[str] = []

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        request.read()
        self.paths.append(request.url.path)
        return self.sim(request)


def test_every_type_reads_into_canonical_objects() -> None:
    sim = make_sim()
    k = client(sim)
    assert sorted(c.name for c in k.read(Customer)) == ["Contoso Japan KK", "Northwind Traders"]
    assert len(list(k.read(Resource))) == 5
    assert len(list(k.read(ProjectTask))) == 6
    assert [type(m) for m in k.read(Milestone)] == [Milestone] * 3
    assert len(list(k.read(TimeEntry))) == 12  # archived workspaces included
    assert len(list(k.read(Expense))) == 3


def test_jpy_workspace_yields_whole_yen_and_usd_dollars_and_cents() -> None:
    sim = make_sim()
    entries = list(client(sim).read(TimeEntry))
    rates = {e.bill_rate.currency: e.bill_rate for e in entries if e.bill_rate is not None}
    assert rates["JPY"] == Money("18000", "JPY")
    assert rates["USD"] == Money("150.00", "USD")
    expenses = {x.amount.currency: x.amount for x in client(sim).read(Expense)}
    assert expenses["JPY"] == Money("4800", "JPY")
    assert expenses["USD"] == Money("123.45", "USD")


def test_projects_carry_their_customer_and_custom_fields() -> None:
    sim = make_sim()
    groups = {g["name"]: g["id"] for g in sim.records("workspace_groups").values()}
    projects = {p.name: p for p in client(sim).read(Project)}
    assert projects["Tokyo office move"].customer_key == groups["Contoso Japan KK"]
    assert projects["Legacy audit"].status == "completed"  # archived
    customers = {c.name: c for c in client(sim).read(Customer)}
    assert customers["Northwind Traders"].extensions == {
        "Stripe ID": f"cus_{groups['Northwind Traders']}"
    }


def test_side_loaded_includes_are_typed_with_one_request_per_page() -> None:
    sim = make_sim()
    ws = next(w["id"] for w in sim.records("workspaces").values() if w["currency"] == "USD")
    for _ in range(450):
        sim.create("time_entries", workspace_id=ws, date_performed="2026-01-09", time_in_minutes=30)
        sim.clock.advance(1)  # type: ignore[attr-defined]
    counting = Counting(sim)
    pager = client(sim, transport=counting).read_related(TimeEntry, include=("user", "workspace"))
    rows = list(pager)
    assert len(rows) == 462
    for row in rows:
        assert isinstance(row.item, TimeEntry)
        user, workspace = row.one("user"), row.one("workspace")
        assert isinstance(user, Resource)
        assert user.key == row.item.resource_key
        assert isinstance(workspace, Project)
        assert workspace.key == row.item.project_key
    assert counting.paths == ["/api/v1/time_entries"] * 3  # 462 rows, 200 a page


def test_a_bad_record_is_rejected_and_the_rest_of_the_page_kept() -> None:
    sim = make_sim()
    bad = next(iter(sim.records("time_entries")))
    row = sim.table("time_entries").get(bad)
    assert row is not None
    row.data["time_in_minutes"] = 12.5
    counting = Counting(sim)
    items = list(client(sim, transport=counting).read(TimeEntry))
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert len(items) == 12
    assert len(rejected) == 1
    assert rejected[0].source_ref is not None
    assert rejected[0].source_ref.id == bad
    assert rejected[0].raw["time_in_minutes"] == 12.5
    assert len(counting.paths) == 1


def test_a_401_raises_auth_error_at_once_and_the_token_never_leaks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = make_sim()
    counting = Counting(sim)
    k = client(sim, transport=counting)
    secret = sim.token
    sim.revoke()
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthError) as info:
        list(k.read(Customer))
    assert info.value.status == 401
    assert len(counting.paths) == 1  # no refresh, no retry
    assert secret not in str(info.value) + repr(k) + caplog.text


def test_429_is_retried_after_a_backoff_on_the_clock() -> None:
    sim = make_sim(rate_limit=RateLimit(requests=2, window_seconds=30))
    k = client(sim)
    k.http._cfg.retry = RetryPolicy(initial_delay=20.0, max_delay=40.0, jitter=0.0)
    names = [list(k.read(Customer)) for _ in range(2)]
    assert all(len(n) == 2 for n in names)
    never = client(make_sim(rate_limit=RateLimit(requests=1, window_seconds=3600)))
    list(never.read(Customer))
    with pytest.raises(RateLimited):
        list(never.read(Customer))


def test_get_missing_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        client(make_sim()).get("workspaces", "999999")


def test_deletions_come_from_subscribed_events_and_expire_after_nine_days() -> None:
    sim = make_sim()
    k = client(sim)
    entries = sorted(sim.records("time_entries"))
    sim.delete("time_entries", entries[0])
    pager = k.read_deletions(TimeEntry)
    assert [d.ref.id for d in pager] == [entries[0]]
    sim.clock.advance(60)  # type: ignore[attr-defined]
    sim.delete("time_entries", entries[1])
    again = k.read_deletions(TimeEntry, since=pager.cursor)
    assert [d.ref.id for d in again] == [entries[1]]
    sim.clock.advance(timedelta(days=10).total_seconds())  # type: ignore[attr-defined]
    with pytest.raises(DeletionFeedExpired):
        k.read_deletions(TimeEntry, since=again.cursor)


def test_async_client_reads_the_same() -> None:
    sim = make_sim()

    async def main() -> tuple[list[str], list[str]]:
        async with AsyncKantata(
            token=sim.token, tenant="acme", transport=httpx2.MockTransport(sim)
        ) as k:
            entries = [e.key async for e in k.read(TimeEntry)]
            pager = k.read_related(TimeEntry, include=("user",))
            users = []
            async for page in pager.aiter_pages():
                users += [type(r.one("user")).__name__ for r in page.items]
            return entries, users

    entries, users = asyncio.run(main())
    assert sorted(entries) == sorted(e.key for e in client(sim).read(TimeEntry))
    assert set(users) == {"Resource"}


def test_pager_repr_and_pandas() -> None:
    sim = make_sim()
    pager = client(sim).read(Expense)
    df = pager.to_pandas()
    assert sorted(df["amount_currency"]) == ["EUR", "JPY", "USD"]
    assert "expenses" in repr(pager)
    assert "cursor=" in repr(pager)


def test_async_writes_look_up_before_a_retried_create() -> None:
    from erpsa_sdk.models import EntityKey

    sim = make_sim()
    ek = EntityKey(
        namespace="acme-prod", system="crm", tenant="t", source_id="9", object_type="customer"
    )
    posts = 0

    def lose_first_post(request: httpx2.Request) -> httpx2.Response:
        nonlocal posts
        response = sim(request)
        if request.method == "POST":
            posts += 1
            if posts == 1:
                raise httpx2.ReadTimeout("lost after commit", request=request)
        return response

    async def main() -> tuple[str, str, bool, bool]:
        async with AsyncKantata(
            token=sim.token,
            transport=httpx2.MockTransport(lose_first_post),
            clock=sim.clock,
            retry=RetryPolicy(initial_delay=0.0, max_delay=0.0),
        ) as k:
            created = await k.create(Customer, {"name": "Initech"}, entity_key=ek)
            found = await k.find(Customer, ek)
            assert found is not None
            updated = await k.update(
                "workspace_groups", found["id"], {"name": "Initech AG"}, singular="workspace_group"
            )
            return (
                created["id"],
                updated["name"],
                await k.delete("workspace_groups", found["id"]),
                await k.delete("workspace_groups", found["id"]),
            )

    created_id, name, first, second = asyncio.run(main())
    assert posts == 1  # the retry looked the record up and found the committed create
    assert name == "Initech AG"
    assert (first, second) == (True, False)
    assert created_id not in sim.records("workspace_groups")
