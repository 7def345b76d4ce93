"""Read completeness of SuiteQL keyset reads over a large, changing timebill table."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx2
import pytest

from erpsa_netsuite import NetSuite, bearer
from erpsa_netsuite.simulator import NetSuiteSimulator
from erpsa_sdk.clock import SimClock
from erpsa_sdk.models import Rejected, TimeEntry

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TIE_SECOND = datetime(2026, 2, 14, 9, 30, 0, tzinfo=UTC)


def _load(sim: NetSuiteSimulator, n: int, tie: int) -> None:
    base = datetime(2026, 2, 1, tzinfo=UTC)

    def rows() -> Any:
        for i in range(n):
            # `tie` rows share one second; the rest spread over February.
            ts = (
                TIE_SECOND if i % (n // tie) == 0 else base + timedelta(seconds=(i * 7) % 2_000_000)
            )
            yield {
                "employee": 1 + i % 8,
                "customer": 1 + i % 5,
                "trandate": date(2026, 2, 2),
                "hours": 15 * (1 + i % 32),
                "isbillable": True,
                "isinactive": False,
                "approvalstatus": "Approved",
                "datecreated": ts,
                "lastmodifieddate": ts,
            }

    sim.bulk_insert("timebill", rows())


class ChangingTable:
    """Wraps the simulator: before every SuiteQL page, time passes and rows change."""

    def __init__(self, sim: NetSuiteSimulator, clock: SimClock, per_page: tuple[int, int]):
        self.sim, self.clock = sim, clock
        self.modify, self.insert = per_page
        self.rng = random.Random(7)
        self.suiteql_requests = 0
        self.active = True
        self.ids = [r.id for r in sim.table("timebill").live_rows()]

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/suiteql"):
            self.suiteql_requests += 1
            if self.active:
                self.clock.advance(1)
                ids = self.ids
                for rid in self.rng.sample(ids, self.modify):
                    self.sim.modify("timebill", rid, memo=f"edited {self.suiteql_requests}")
                for _ in range(self.insert):
                    self.sim.insert(
                        "timebill",
                        employee=1,
                        customer=1,
                        trandate=date(2026, 2, 3),
                        hours=30,
                        approvalstatus="Approved",
                        isbillable=True,
                    )
        return self.sim(request)


def _walk(ns: NetSuite, since: Any) -> tuple[list[TimeEntry], Any]:
    pager = ns.time_entries.list(since=since)
    out: list[TimeEntry] = []
    for item in pager:
        assert not isinstance(item, Rejected), item
        out.append(item)
    return out, pager.cursor


@pytest.mark.parametrize(
    ("n", "tie", "changes", "max_requests"),
    [
        pytest.param(20_000, 3_000, (2, 1), 40, id="20k"),
        pytest.param(250_000, 3_000, (10, 1), 260, id="250k", marks=pytest.mark.slow),
    ],
)
def test_read_completeness_while_rows_change(
    n: int,
    tie: int,
    changes: tuple[int, int],
    max_requests: int,
    record_property: Callable[..., None],
) -> None:
    clock = SimClock(start=START)
    sim = NetSuiteSimulator(seed=3, clock=clock)
    _load(sim, n, tie)
    existed = {str(r.id) for r in sim.table("timebill").live_rows()}
    tie_rows = sum(
        1 for r in sim.table("timebill").live_data() if r["lastmodifieddate"] == TIE_SECOND
    )
    assert tie_rows >= tie
    wrapper = ChangingTable(sim, clock, changes)
    ns = NetSuite(
        sim.config.account_id,
        auth=bearer(sim.static_token),
        clock=clock,
        transport=httpx2.MockTransport(wrapper),
    )

    first, cursor = _walk(ns, None)
    wrapper.active = False
    clock.advance(60)  # the next scheduled run, past the walk's horizon
    second, final_cursor = _walk(ns, cursor)

    seen = [(e.key, e.source_refs[0].version) for e in first + second]
    assert len(seen) == len(set(seen)), "an (id, version) was yielded twice"
    ids = {key for key, _ in seen}
    assert existed <= ids, f"{len(existed - ids)} rows that existed throughout were missed"
    current = {
        str(r["id"]): r["lastmodifieddate"].isoformat() for r in sim.table("timebill").live_data()
    }
    assert set(current) == ids  # inserted rows too
    last_version: dict[str, str | None] = {}
    for key, version in seen:
        last_version[key] = version
    assert last_version == current, "the last version yielded is not the current one"
    report = (
        f"netsuite keyset read: {n} rows ({tie_rows} in one second), {len(first)} + "
        f"{len(second)} yielded in {wrapper.suiteql_requests} SuiteQL requests"
    )
    print("\n" + report)
    record_property("netsuite_read_report", report)
    assert wrapper.suiteql_requests <= max_requests
    # Bounded reader state: the cursor is one (timestamp, id) pair, whatever the tie size.
    assert set(final_cursor) == {"after", "horizon"}
    assert len(final_cursor["after"]) == 2
    modified = sum(1 for key, _ in seen if key in existed) - len(existed)
    assert modified > 0


def test_pager_resumes_from_a_saved_cursor() -> None:
    sim = NetSuiteSimulator(seed=1)
    ns = NetSuite(
        sim.config.account_id,
        auth=bearer(sim.static_token),
        page_size=7,
        transport=httpx2.MockTransport(sim),
    )
    pager = ns.time_entries.list()
    pages = pager.iter_pages()
    first = next(pages)
    assert pager.cursor == {"after": None, "horizon": None} or pager.pages_read == 0
    saved = first.cursor  # the position after the page that was handed over
    rest = [e.key for e in ns.time_entries.list(since=saved)]
    everything = [e.key for e in ns.time_entries.list()]
    assert [e.key for e in first.items] + rest == everything  # type: ignore[union-attr]


def test_since_datetime_reads_rows_modified_at_or_after_it() -> None:
    clock = SimClock(start=START)
    sim = NetSuiteSimulator(seed=1, clock=clock)
    clock.advance(3600)
    sim.modify("timebill", 5, memo="changed")
    ns = NetSuite(
        sim.config.account_id,
        auth=bearer(sim.static_token),
        clock=clock,
        transport=httpx2.MockTransport(sim),
        lag=timedelta(0),
    )
    clock.advance(10)
    changed = list(ns.time_entries.list(since=START + timedelta(seconds=3600)))
    assert [e.key for e in changed] == ["5"]  # type: ignore[union-attr]


def test_to_pandas_and_repr_in_a_notebook() -> None:
    pandas = pytest.importorskip("pandas")
    sim = NetSuiteSimulator(seed=1)
    ns = NetSuite(
        sim.config.account_id, auth=bearer(sim.static_token), transport=httpx2.MockTransport(sim)
    )
    pager = ns.time_entries.list(since=datetime(2025, 12, 1, tzinfo=UTC))
    assert repr(pager).startswith("<Pager SuiteQLKeyset suiteql:timebill pages_read=0")
    frame = pager.to_pandas()
    assert isinstance(frame, pandas.DataFrame)
    assert len(frame) == 20
    assert "duration_minutes" in frame.columns
    assert "done" in repr(pager)


def test_a_row_that_cannot_be_mapped_is_rejected_not_dropped() -> None:
    clock = SimClock(start=START)
    sim = NetSuiteSimulator(seed=1, clock=clock)
    sim.modify("timebill", 3, hours=None)  # a timebill without hours
    clock.advance(60)  # past the walk's horizon
    ns = NetSuite(
        sim.config.account_id,
        auth=bearer(sim.static_token),
        clock=clock,
        transport=httpx2.MockTransport(sim),
    )
    items = list(ns.time_entries.list())
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert len(items) == 20
    assert len(rejected) == 1
    assert rejected[0].source_ref is not None
    assert rejected[0].source_ref.id == "3"
    assert "hours" in rejected[0].errors[0]["msg"]


def test_a_timestamp_format_that_does_not_sort_as_text_still_reads_in_order() -> None:
    clock = SimClock(start=START)
    sim = NetSuiteSimulator(seed=1, clock=clock)
    # Stamp rows on different days and months so "DD.MM.YYYY" text order is wrong.
    for i, rid in enumerate(range(1, 21)):
        clock.advance(86400 * (1 + i % 3) + 3600)
        sim.modify("timebill", rid, memo=f"edit {i}")
    clock.advance(60)
    from erpsa_netsuite import TenantMapping

    mapping = TenantMapping(account_id=sim.tenant, timestamp_format="DD.MM.YYYY HH24:MI:SS")
    ns = NetSuite(sim.tenant, auth=bearer(sim.api_token), clock=clock, page_size=3,
                  mapping=mapping, transport=httpx2.MockTransport(sim))  # fmt: skip
    entries = [e for e in ns.time_entries.list() if isinstance(e, TimeEntry)]
    assert len(entries) == 20
    versions = [e.source_refs[0].version or "" for e in entries]
    assert versions == sorted(versions)


def test_timestamps_in_the_users_time_zone_come_back_as_utc_versions() -> None:
    from erpsa_netsuite import TenantMapping
    from erpsa_netsuite.simulator import SimConfig

    clock = SimClock(start=START)
    sim = NetSuiteSimulator(seed=1, clock=clock, config=SimConfig(timezone="America/Los_Angeles"))
    clock.advance(60)
    mapping = TenantMapping(account_id=sim.tenant, timezone="America/Los_Angeles")
    ns = NetSuite(sim.tenant, auth=bearer(sim.api_token), clock=clock, mapping=mapping,
                  transport=httpx2.MockTransport(sim))  # fmt: skip
    versions = {e.key: e.source_refs[0].version for e in ns.time_entries.list()}  # type: ignore[union-attr]
    stored = {str(r["id"]): r["lastmodifieddate"].isoformat()
              for r in sim.table("timebill").live_data()}  # fmt: skip
    assert versions == stored
