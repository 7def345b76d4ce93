"""The governor's adaptive-share scenario against this simulator's documented 429.

The simulated account allows 5 requests in flight across all integrations and answers the
documented 429 ``CONCURRENCY_LIMIT_EXCEEDED`` (no ``Retry-After``) above that. Another
integration holds 2-4 slots, redrawn every 5 simulated seconds. Twenty writer threads upsert
time entries through one connector whose governor knows only "5 concurrent, account-wide".
After a 10 s warm-up, at most 1 % of the SDK's requests may be answered 429, and every record
must land exactly once.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import date
from queue import Empty, Queue

import httpx2
import pytest

from erpsa_netsuite import connector
from erpsa_netsuite.simulator import NetSuiteSimulator, SimConfig
from erpsa_sdk.clock import SimClock
from erpsa_sdk.models import SourceRef, TimeEntry, WriteKey

pytestmark = pytest.mark.timeout(300)

WRITERS = 20
RECORDS = 3000
REDRAW_EVERY = 5.0
WARM_UP = 10.0


def test_adaptive_share_against_the_documented_429(record_property: Callable[..., None]) -> None:
    clock = SimClock(autojump=True)
    sim = NetSuiteSimulator(
        seed=9, clock=clock, config=SimConfig(concurrency_limit=5, latency=0.02)
    )
    rng = random.Random(20261126)
    draws = [rng.choice((2, 3, 4)) for _ in range(10_000)]
    start = clock.monotonic()
    sim.set_background_load(lambda t: draws[int((t - start) // REDRAW_EVERY)])
    log: list[tuple[float, int]] = []
    lock = threading.Lock()

    def transport(request: httpx2.Request) -> httpx2.Response:
        sent = clock.monotonic() - start
        response = sim(request)
        with lock:
            log.append((sent, response.status_code))
        return response

    conn = connector.create(
        {"account_id": sim.tenant, "max_concurrency": 5, "token": sim.api_token},
        transport=httpx2.MockTransport(transport),
        clock=clock,
    )
    refs = {
        "resource_key": SourceRef(system="netsuite", tenant=sim.tenant, id="1"),
        "project_key": SourceRef(system="netsuite", tenant=sim.tenant, id="1"),
    }
    work: Queue[int] = Queue()
    for i in range(RECORDS):
        work.put(i)
    keys: list[str] = []
    failures: list[BaseException] = []

    def writer() -> None:
        while True:
            try:
                i = work.get_nowait()
            except Empty:
                return
            entry = TimeEntry(
                key=str(i),
                resource_key="r",
                project_key="p",
                work_date=date(2026, 3, 2),
                duration_minutes=30,
                source_refs=[SourceRef(system="psa", tenant="t", id=str(i))],
            )
            ek = entry.entity_key("acme-prod")
            try:
                conn.upsert(
                    entry,
                    entity_key=ek,
                    write_key=WriteKey(entity_key=ek, version="1", operation="upsert"),
                    refs=refs,
                )
            except BaseException as exc:
                failures.append(exc)
            with lock:
                keys.append(str(ek))

    with clock.participant():
        threads = [clock.start_thread(writer) for _ in range(WRITERS)]
    for thread in threads:
        thread.join(280)
    assert not any(t.is_alive() for t in threads)
    assert failures == []

    counted = [status for sent, status in log if sent >= WARM_UP]
    throttled = sum(1 for status in counted if status == 429)
    all_throttled = sum(1 for _, status in log if status == 429)
    report = (
        f"netsuite adaptive share: {RECORDS} upserts by {WRITERS} writers in "
        f"{clock.monotonic() - start:.1f} simulated s; {len(log)} requests, 429s {all_throttled} "
        f"in all, {throttled} of {len(counted)} after warm-up ({throttled / len(counted):.3%})"
    )
    print("\n" + report)
    record_property("netsuite_adaptive_report", report)
    assert throttled / len(counted) <= 0.01
    assert len(set(keys)) == RECORDS
    stored = [r["externalid"] for r in sim.table("timebill").live_data() if r.get("externalid")]
    assert len(stored) == RECORDS
    assert set(stored) == set(keys)  # every record exactly once
