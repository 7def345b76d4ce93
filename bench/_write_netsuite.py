"""Write benchmark: upserts by external id against NetSuite's shared account concurrency limit.

The NetSuite simulator enforces the account limit of 5 concurrent requests, each holding its
slot for 20 ms, while *other integrations* hold 2 to 4 of those slots (a background load
that changes every 5 simulated seconds, the governor issue's scenario; ``BENCH_NS_PHASE``
sets another period). Writer threads send ``PUT customer/eid:<key>``
through ``NetSuite`` and a governor declared with the account's whole limit of 5: only its
throttle signals (``CONCURRENCY_LIMIT_EXCEEDED`` 429s) tell it how much is really free.
Everything runs on one autojumping ``SimClock``: seconds of real time, machine-independent.

Reported: accepted requests per 1-second window divided by what the free slots permitted
there (``(5 - background) x 1 s / 20 ms``), and the share of requests answered 429.
"""

from __future__ import annotations

import os
import queue
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx2

from erpsa_netsuite import NetSuite, bearer
from erpsa_netsuite.simulator import NetSuiteSimulator, SimConfig
from erpsa_sdk.clock import SimClock
from erpsa_sdk.errors import ErpsaError
from erpsa_sdk.limits import Concurrency, Governor, Limit, Scope, ScopeKind

LIMIT = 5
SERVICE_TIME = 0.020
WINDOW = 1.0
PHASE = float(os.environ.get("BENCH_NS_PHASE", "5.0"))
BACKGROUND = (2, 3, 4, 3)
WRITES = 3000
THREADS = 8


def background_at(t: float) -> int:
    """Slots other integrations hold at simulated second ``t`` (2, 3, 4, 3, ... every PHASE s)."""
    return BACKGROUND[int(t // PHASE) % len(BACKGROUND)]


def run(*, writes: int = WRITES, threads: int = THREADS) -> dict[str, Any]:
    """Run the benchmark once; returns the measured numbers."""
    clock = SimClock(autojump=True)
    sim = NetSuiteSimulator(
        seed=0, clock=clock, config=SimConfig(concurrency_limit=LIMIT, latency=SERVICE_TIME)
    )
    start = clock.monotonic()
    load: Callable[[float], int] = lambda now: background_at(now - start)  # noqa: E731
    sim.set_background_load(load)
    answers: list[tuple[float, int]] = []
    lock = threading.Lock()

    def handler(request: httpx2.Request) -> httpx2.Response:
        at = clock.monotonic()
        response = sim(request)
        with lock:
            answers.append((at, response.status_code))
        return response

    governor = Governor(
        [Limit(Concurrency(LIMIT), ScopeKind.ACCOUNT)],
        scopes=Scope.account(sim.config.account_id),
        clock=clock,
        prefix="bench:netsuite:",
    )
    ns = NetSuite(
        sim.config.account_id,
        auth=bearer(sim.static_token),
        governor=governor,
        transport=httpx2.MockTransport(handler),
        clock=clock,
    )
    work: queue.Queue[int] = queue.Queue()
    for i in range(writes):
        work.put(i)
    failures: list[BaseException] = []

    def writer() -> None:
        while True:
            try:
                i = work.get_nowait()
            except queue.Empty:
                return
            try:
                ns.put_by_external_id(
                    "customer",
                    f"bench-{i}",
                    {"companyName": f"Bench {i}", "subsidiary": {"id": "1"}},
                )
            except ErpsaError as exc:
                failures.append(exc)

    with clock.participant():
        pool = [clock.start_thread(writer) for _ in range(threads)]
    for t in pool:
        t.join()
    elapsed = clock.monotonic() - start
    ns.close()
    accepted = [at - start for at, status in answers if status < 400]
    throttled = sum(status == 429 for _, status in answers)
    per_window = Counter(int((at + 1e-6) // WINDOW) for at in accepted)
    full = range(int(elapsed // WINDOW))
    permitted = [(LIMIT - background_at(k * WINDOW)) * WINDOW / SERVICE_TIME for k in full]
    ratios = [per_window[k] / p for k, p in zip(full, permitted, strict=True)]
    return {
        "writes": writes,
        "threads": threads,
        "account_limit": LIMIT,
        "background_slots": "2-4",
        "service_time_ms": SERVICE_TIME * 1000,
        "simulated_seconds": round(elapsed, 3),
        "requests": len(answers),
        "accepted": len(accepted),
        "answered_429": throttled,
        "share_429": round(throttled / len(answers), 4) if answers else 0.0,
        "full_windows": len(ratios),
        "accepted_per_window_over_permitted": round(
            sum(per_window[k] for k in full) / sum(permitted), 4
        )
        if permitted
        else 0.0,
        "min_window_over_permitted": round(min(ratios), 4) if ratios else 0.0,
        "max_window_over_permitted": round(max(ratios), 4) if ratios else 0.0,
        "peak_in_flight": sim.stats.max_in_flight,
        "failures": len(failures),
    }
