"""Fault storms: 20 % of vendor requests meet a fault (throttling, 5xx, timeouts, resets,
answers lost after the commit, truncated JSON, HTML pages, unknown fields), on every
first-party connector. Nothing is lost and nothing is duplicated.

The checker is independent of the SDK: it reads the simulator's stored rows (by EntityKey, in
whichever form the vendor keeps it) and its table, never the runner's state or the connector.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx2
import pytest

from erpsa_sdk.clock import SimClock
from erpsa_sdk.connector import Capabilities, Connector, Health, TypeCapabilities
from erpsa_sdk.errors import ErpsaError, LeaseLost
from erpsa_sdk.http import Page
from erpsa_sdk.models import Customer, Rejected, SourceRef
from erpsa_sdk.sync import Pipeline, SQLiteStateStore, SyncRunner
from erpsa_sdk.testing import FaultPlan
from tests.reliability._vendors import NAMESPACE, READERS, WRITERS, Vendor, customer, stored_rows
from tests.reliability.conftest import scale

pytestmark = pytest.mark.reliability

RECORDS = scale(24, 400)
MAX_RUNS = 12
#: Simulated seconds. Under a storm one write may back off for minutes (Kantata sends no
#: Retry-After); a lease shorter than that stops the run (LeaseLost) and the next run resumes.
LEASE_TTL = 900.0
STORM = {
    "rate_limit": 0.04,
    "server_error": 0.04,
    "timeout": 0.02,
    "connection_reset": 0.02,
    "commit_then_drop": 0.04,
    "truncated_json": 0.02,
    "html_error": 0.01,
    "unknown_fields": 0.01,
}


def test_the_storm_is_twenty_percent() -> None:
    assert round(sum(STORM.values()), 6) == 0.20


class _Pager:
    def __init__(self, rows: list[Customer], cursor: dict[str, int]) -> None:
        self.rows = rows
        self.cursor = cursor

    def iter_pages(self) -> Iterator[Page[Any]]:
        for lo in range(self.cursor["next"], len(self.rows), 10):
            items = self.rows[lo : lo + 10]
            cursor = {"next": lo + len(items)}
            yield Page(
                number=lo // 10 + 1,
                items=list(items),
                raw_count=len(items),
                rejected=0,
                cursor=cursor,
            )
            self.cursor = cursor


class Psa(Connector):
    """An in-memory PSA listing customers in pages of 10 with a resumable cursor."""

    name, tenant = "reliabilitypsa", "t1"
    capabilities = Capabilities(types={"Customer": TypeCapabilities(read=True)})

    def __init__(self, rows: list[Customer]) -> None:
        self.rows = rows

    def read(self, model: type[Any], *, since: Any = None, **filters: Any) -> Any:
        return _Pager(self.rows, dict(since or {"next": 0}))

    def lookup(self, model: type[Any], *, entity_key: Any) -> SourceRef | None:
        return None

    def upsert(self, obj: Any, **kw: Any) -> Any:
        raise NotImplementedError

    def delete(self, model: type[Any], **kw: Any) -> Any:
        raise NotImplementedError

    def validate(self, obj: Any, *, refs: Any) -> list[Any]:
        return []

    def health(self) -> Health:
        return Health(ok=True)


class Witness:
    """Counts, on the wire, the answers that visibly went wrong (proof the storm blew)."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.requests = 0
        self.faulted = 0

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests += 1
        try:
            response = self.sim(request)
            response.read()
        except Exception:
            self.faulted += 1
            raise
        bad_json = False
        if response.content and "json" in response.headers.get("content-type", ""):
            try:
                json.loads(response.content)
            except ValueError:
                bad_json = True
        if (
            response.status_code in (429, 500, 502, 503, 504)
            or bad_json
            or ("html" in response.headers.get("content-type", ""))
        ):
            self.faulted += 1
        return response


def _storm(
    vendor: Vendor, seed: int, page_size: int = 20
) -> tuple[Any, Connector, SimClock, Witness]:
    clock = SimClock(autojump=True)
    sim = vendor.simulator(seed=seed, faults=FaultPlan(seed=seed, rates=STORM), clock=clock)
    witness = Witness(sim)
    conn = vendor.connect(sim, httpx2.MockTransport(witness), clock, page_size=page_size)
    return sim, conn, clock, witness


def _runner(pipeline: Pipeline, store: SQLiteStateStore, clock: SimClock) -> SyncRunner:
    return SyncRunner(pipeline, store=store, handle_signals=False, clock=clock, lease_ttl=LEASE_TTL)


def _sync_until_settled(pipeline: Pipeline, store: SQLiteStateStore, clock: SimClock) -> int:
    """Run as an operator would: again after a partial run, and again after a run that stopped
    because a storm outlasted its lease (a stopped run re-reads; it never loses), until a
    complete run finds everything already written. Returns the runs it took."""
    for run in range(1, MAX_RUNS + 1):
        try:
            report = _runner(pipeline, store, clock).run_once()
        except LeaseLost:
            continue
        counts = report.counts
        if report.status.value == "completed" and counts.get("read", 0) == counts.get(
            "already_written", 0
        ):
            return run
    return MAX_RUNS


@pytest.mark.parametrize("vendor", WRITERS, ids=[v.name for v in WRITERS])
def test_writes_under_a_fault_storm_lose_nothing_and_duplicate_nothing(
    vendor: Vendor, tmp_path: Any
) -> None:
    sim, conn, clock, witness = _storm(vendor, seed=11)
    table = sim.entity_key_fields["Customer"][0]
    before = sim.admin.count(table)
    source = [customer(i, revision=1) for i in range(RECORDS)]
    psa = Psa(source)
    pipeline = Pipeline("psa->erp", source=psa, target=conn, namespace=NAMESPACE, types=[Customer])
    store = SQLiteStateStore(tmp_path / "state.sqlite", clock=clock)
    assert _sync_until_settled(pipeline, store, clock) < MAX_RUNS
    # A second wave edits a third of the records (the source still lists every record: one
    # it stopped listing would be a deletion): still one row each, now the new revision.
    edited = set(range(0, RECORDS, 3))
    psa.rows = [customer(i, revision=2 if i in edited else 1) for i in range(RECORDS)]
    assert _sync_until_settled(pipeline, store, clock) < MAX_RUNS
    letters = store.dead_letters("psa->erp")
    store.close()
    conn.close()

    lost, duplicated, stale = [], [], []
    for i in range(RECORDS):
        rows = stored_rows(sim, "Customer", customer(i).entity_key(NAMESPACE))
        text = repr(rows)
        if not rows:
            lost.append(i)
        elif len(rows) > 1:
            duplicated.append(i)
        elif f"Customer {i} rev{2 if i in edited else 1}" not in text:
            stale.append(i)
    assert not letters, letters[:3]
    assert (lost, duplicated, stale) == ([], [], [])
    assert sim.admin.count(table) - before == RECORDS  # and no stray rows under other keys
    assert witness.faulted >= 0.08 * witness.requests, (witness.faulted, witness.requests)


@pytest.mark.parametrize("vendor", READERS, ids=[v.name for v in READERS])
def test_reads_under_a_fault_storm_yield_every_row_once(vendor: Vendor) -> None:
    sim, conn, clock, witness = _storm(vendor, seed=5, page_size=4)
    table = sim.source_tables["Customer"]
    rng = random.Random(3)
    now = clock.now()
    for i in range(RECORDS):  # in the past, two rows per second (keyset ties); admin: no faults
        sim.admin.insert(
            table, sim.sample_row(table, rng), at=now - timedelta(seconds=RECORDS - i // 2)
        )
    clock.advance(1)
    expected = {str(r["id"]) for r in sim.admin.rows(table)}
    seen: Counter[tuple[str, str | None]] = Counter()
    rejected = 0
    cursor: Any = None
    failures = 0
    while True:
        pager = conn.read(Customer, since=cursor)
        try:
            for page in pager.iter_pages():
                for item in page.items:
                    if isinstance(item, Rejected):
                        rejected += 1
                    else:
                        ref = item.source_refs[0]
                        seen[(ref.id, ref.version)] += 1
            break
        except ErpsaError:
            # What the runner does after a failed page: resume from the last handed-over cursor.
            failures += 1
            cursor = pager.cursor
            assert failures < 200, "the read never got through the storm"
    conn.close()
    ids = {rid for rid, _ in seen}
    assert expected - ids == set(), "rows never yielded"
    assert [k for k, n in seen.items() if n > 1] == [], "an (id, version) yielded twice"
    assert rejected == 0
    assert witness.faulted >= 0.08 * witness.requests, (witness.faulted, witness.requests)
