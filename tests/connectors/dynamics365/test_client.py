"""Dynamics365 / AsyncDynamics365 against the Dataverse simulator: reads and writes."""

from __future__ import annotations

import asyncio
from urllib.parse import unquote

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from erpsa_dynamics365 import AsyncDynamics365, Dynamics365, bearer
from erpsa_dynamics365.simulator import DataverseSimulator, SimulatorConfig
from erpsa_sdk.clock import SimClock
from erpsa_sdk.errors import (
    ConflictError,
    NotFoundError,
    ResponseFormatError,
    SecurityError,
    ValidationFailed,
)
from erpsa_sdk.http.odata import ODataQuery
from erpsa_sdk.models import Customer, Expense, Project, Rejected, Resource, TimeEntry
from tests.connectors.dynamics365._helpers import make

# -- reads -----------------------------------------------------------------------------------


def test_pages_follow_the_next_link_unchanged_with_the_same_page_size() -> None:
    _sim, d365, rec = make(page_size=2)
    pager = d365.query("accounts", ODataQuery(select=("name",), filter="statecode eq 0"))
    pages = list(pager.iter_pages())
    assert [len(p.items) for p in pages] == [2, 2, 1]
    targets = rec.targets()
    assert all("$skip=" not in unquote(t) for t in targets)
    assert all("$skiptoken=" in t for t in targets[1:])
    assert {h["prefer"] for _, _, h in rec.log} == {"odata.maxpagesize=2"}


def test_next_link_is_sent_byte_for_byte() -> None:
    sim, d365, rec = make(page_size=2)
    raw = d365.http.request_json("GET", "accounts?$select=name")
    link = raw["@odata.nextLink"]
    list(d365.query("accounts", ODataQuery(select=("name",))))
    sent = rec.targets()[2]
    assert sim.environment_url + sent == link


def test_preference_applied_is_echoed_and_capped_at_5000() -> None:
    _sim, d365, _ = make()
    r = d365.http.request("GET", "accounts", headers={"Prefer": "odata.maxpagesize=9000"})
    assert r.headers["Preference-Applied"] == "odata.maxpagesize=5000"


def test_a_modified_next_link_is_refused() -> None:
    _sim, d365, _ = make(page_size=2)
    link = d365.http.request_json("GET", "accounts?$select=name")["@odata.nextLink"]
    with pytest.raises(ValidationFailed, match="paging cookie"):
        d365.http.request("GET", link + "&$filter=statecode%20eq%200")
    with pytest.raises(ValidationFailed, match="paging cookie"):
        d365.http.request("GET", link, headers={"Prefer": "odata.maxpagesize=3"})


@pytest.mark.parametrize(
    "evil",
    ["https://evil.example/api/data/v9.2/accounts?$skiptoken=x", "http://{host}/api/data/v9.2/x"],
)
def test_a_next_link_off_the_environment_origin_raises_and_sends_nothing(evil: str) -> None:
    sim = DataverseSimulator(clock=SimClock(autojump=True))
    host = httpx2.URL(sim.environment_url).host
    sent: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        response = sim(request)
        body = response.json()
        if "@odata.nextLink" in body:  # a tampered or hostile server's next link
            body["@odata.nextLink"] = evil.format(host=host)
            return httpx2.Response(response.status_code, json=body, headers=response.headers)
        return response

    d365 = Dynamics365(
        sim.environment_url,
        auth=bearer(sim.api_token),
        transport=httpx2.MockTransport(handler),
        clock=sim.clock,
        page_size=2,
    )
    pager = d365.query("accounts", ODataQuery(select=("name",)))
    with pytest.raises(SecurityError):
        list(pager)
    assert [r.url.host for r in sent] == [host]
    assert all(r.url.scheme == "https" for r in sent)


def _paged_handler(pages: dict[str, bytes], sent: list[str]) -> httpx2.MockTransport:
    def handler(request: httpx2.Request) -> httpx2.Response:
        key = request.url.params.get("$skiptoken", "")
        sent.append(key)
        return httpx2.Response(
            200, content=pages[key], headers={"content-type": "application/json"}
        )

    return httpx2.MockTransport(handler)


def _page(rows: list[str], skiptoken: str | None) -> bytes:
    link = (
        f', "@odata.nextLink": "https://org.crm.dynamics.com/api/data/v9.2/accounts'
        f'?$skiptoken={skiptoken}"'
        if skiptoken
        else ""
    )
    values = ", ".join(f'{{"accountid": "{r}", "name": "n{r}"}}' for r in rows)
    return f'{{"value": [{values}]{link}}}'.encode()


def test_a_server_answering_the_next_link_with_the_same_page_raises_instead_of_looping() -> None:
    same = _page(["a1", "a2"], "2")
    sent: list[str] = []
    d365 = Dynamics365(
        "https://org.crm.dynamics.com",
        auth=bearer("t"),
        transport=_paged_handler({"": same, "2": same}, sent),
    )
    with pytest.raises(ResponseFormatError, match="same page twice"):
        list(d365.query("accounts"))
    assert sent == ["", "2"]


def test_pages_of_the_same_length_that_differ_are_all_read() -> None:
    # Equal lengths make the same-page guard compare the bodies byte by byte.
    pages = {"": _page(["a1", "a2"], "2"), "2": _page(["a3", "a4"], "4"), "4": _page(["a5"], None)}
    assert len(pages[""]) == len(pages["2"])
    sent: list[str] = []
    d365 = Dynamics365(
        "https://org.crm.dynamics.com",
        auth=bearer("t"),
        transport=_paged_handler(pages, sent),
    )
    assert [r["accountid"] for r in d365.query("accounts")] == ["a1", "a2", "a3", "a4", "a5"]
    assert sent == ["", "2", "4"]


def test_skip_is_not_supported() -> None:
    _sim, d365, _ = make()
    with pytest.raises(ValidationFailed, match=r"\$skip"):
        d365.http.request("GET", "accounts?$skip=2")


def test_count_says_when_it_stopped_at_the_cap() -> None:
    _sim, d365, _ = make(config=SimulatorConfig(count_cap=3))
    capped = d365.count("accounts")
    assert (capped.value, capped.capped, capped.exact) == (3, True, False)
    exact = d365.count("accounts", "startswith(name,'Fourth')")
    assert (exact.value, exact.capped) == (1, False)
    text = d365.http.request("GET", "accounts/$count")
    assert text.text == "3"


def test_read_maps_lookups_and_the_expanded_currency() -> None:
    sim, d365, _ = make()
    project = next(iter(d365.read(Project)))
    assert isinstance(project, Project)
    assert project.currency == "USD"
    accounts = {r["data"]["name"]: r["id"] for r in sim.admin.rows("account")}
    assert project.customer_key == accounts["Fourth Coffee"]
    entries = [e for e in d365.read(TimeEntry) if isinstance(e, TimeEntry)]
    assert len(entries) == 8
    assert {e.project_key for e in entries} == {project.key}
    assert sum(e.task_key is None for e in entries) == 4
    expenses = [e for e in d365.read(Expense) if isinstance(e, Expense)]
    assert {e.category for e in expenses} == {"Travel", "Meals", "Hotel", "Mileage"}
    assert all(e.amount.currency == "USD" for e in expenses)


def test_incremental_read_resumes_after_the_cursor() -> None:
    sim, d365, _ = make(page_size=2)
    first = d365.read(Resource)
    names = [r.name for r in first if isinstance(r, Resource)]
    assert len(names) == 5
    cursor = first.cursor
    sim.clock.advance(5)  # type: ignore[attr-defined]
    grace = next(
        r for r in sim.admin.rows("bookableresource") if r["data"]["name"] == "Grace Hopper"
    )
    sim.admin.update("bookableresource", grace["id"], {"name": "Grace B. Hopper"})
    sim.clock.advance(6)  # type: ignore[attr-defined]  # past the default 5 s read lag
    again = [r.name for r in d365.read(Resource, since=cursor) if isinstance(r, Resource)]
    assert again == ["Grace B. Hopper"]


def test_a_row_that_cannot_be_mapped_is_rejected_with_its_raw_row() -> None:
    sim, d365, _ = make()
    bad = sim.admin.insert("msdyn_timeentry", sim.bad_row("msdyn_timeentry"))
    sim.clock.advance(6)  # type: ignore[attr-defined]  # past the default 5 s read lag
    items = list(d365.read(TimeEntry))
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert len(rejected) == 1
    assert rejected[0].raw["msdyn_timeentryid"] == bad["id"]
    assert rejected[0].source_ref is not None
    assert rejected[0].source_ref.id == bad["id"]
    assert len(items) == 9


def test_async_twin_reads_and_counts() -> None:
    clock = SimClock(autojump=True)
    sim = DataverseSimulator(seed=2, clock=clock)

    async def main() -> tuple[list[str], int]:
        async with AsyncDynamics365(
            sim.environment_url,
            auth=bearer(sim.api_token),
            transport=httpx2.MockTransport(sim),
            clock=clock,
            page_size=2,
        ) as d365:
            names = [c.name async for c in d365.read(Customer) if isinstance(c, Customer)]
            count = await d365.count("accounts")
            return names, count.value

    names, count = asyncio.run(main())
    assert len(names) == count == 5


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.integers(min_value=0, max_value=40), page=st.integers(min_value=1, max_value=7))
def test_keyset_paging_yields_every_row_once(rows: int, page: int) -> None:
    sim, d365, _ = make(seed=rows, page_size=page)
    table = "msdyn_expensecategory"
    for i in range(rows):
        sim.admin.insert(table, {"msdyn_name": f"c{i}", "statecode": 0})
    sim.clock.advance(1)  # type: ignore[attr-defined]
    seen = [r["msdyn_expensecategoryid"] for r in d365.query("msdyn_expensecategories")]
    assert len(seen) == len(set(seen)) == rows + 4


# -- writes ----------------------------------------------------------------------------------


def test_upsert_status_codes_with_and_without_representation() -> None:
    _sim, d365, _ = make()
    rid = "0b0d0c57-1b8e-5f4e-9d1a-6a1f2d1c0e01"
    created = d365.upsert("accounts", rid, {"name": "A"})
    assert (created.status, created.created) == (201, True)
    assert created.row is not None
    assert created.row["name"] == "A"
    updated = d365.upsert("accounts", rid, {"name": "B"})
    assert (updated.status, updated.created) == (200, False)
    bare = d365.upsert("accounts", rid, {"name": "C"}, representation=False)
    assert (bare.status, bare.created, bare.row) == (204, None, None)
    assert d365.get("accounts", rid, select=("name",))["name"] == "C"  # type: ignore[index]


def test_conditional_writes_give_404_and_412() -> None:
    _sim, d365, _ = make()
    rid = "0b0d0c57-1b8e-5f4e-9d1a-6a1f2d1c0e02"
    with pytest.raises(NotFoundError, match="Does Not Exist"):
        d365.upsert("accounts", rid, {"name": "A"}, mode="update")
    first = d365.upsert("accounts", rid, {"name": "A"}, mode="create")
    with pytest.raises(ConflictError, match="matching key values already exists"):
        d365.upsert("accounts", rid, {"name": "A"}, mode="create")
    d365.upsert("accounts", rid, {"name": "B"}, mode="update", if_match=first.etag)
    with pytest.raises(ConflictError, match="RowVersion"):
        d365.upsert("accounts", rid, {"name": "C"}, mode="update", if_match=first.etag)


def test_alternate_key_upsert_needs_a_defined_active_key() -> None:
    _sim, d365, _ = make()
    made = d365.upsert_by_key("accounts", {"accountnumber": "ALT-1"}, {"name": "Alt"})
    again = d365.upsert_by_key("accounts", {"accountnumber": "ALT-1"}, {"name": "Alt 2"})
    assert made.created is True
    assert again.created is False
    assert again.row_id == made.row_id
    with pytest.raises(ValidationFailed, match="not defined"):
        d365.upsert_by_key("accounts", {"emailaddress1": "x@y"}, {"name": "No key"})
    keys = d365.alternate_keys("account")
    assert keys[0]["KeyAttributes"] == ["accountnumber"]
    assert keys[0]["EntityKeyIndexStatus"] == "Active"


def test_delete_and_delete_again() -> None:
    _sim, d365, _ = make()
    made = d365.create("accounts", {"name": "Temp"})
    assert d365.delete("accounts", made.row_id) is True
    assert d365.delete("accounts", made.row_id) is False


def test_unknown_columns_are_refused_in_dataverse_shape() -> None:
    _sim, d365, _ = make()
    with pytest.raises(ValidationFailed, match="Could not find a property named 'nmae'") as exc:
        d365.create("accounts", {"nmae": "typo"})
    assert exc.value.vendor_code == "0x80060888"
