"""Write benchmark: parallel single-record upserts against Dataverse service protection.

The Dataverse simulator enforces 300 requests per 10 s and 52 concurrent requests, each
request taking 20 ms; 52 writer threads send 2,000 single-record upserts (``PATCH
accounts(<uuid5>)``) through ``Dynamics365`` and its governor, configured with the same
limits. Everything runs on one autojumping ``SimClock``, so the run takes seconds of real time
and its numbers do not depend on the machine.

Reported: accepted requests per full 10-second window divided by the limit (how much of the
budget the governor uses) and the share of requests answered 429 (how often it overshoots).

Run: ``.venv/bin/python bench/write_limits.py`` (prints one JSON object, then a table).
"""

from __future__ import annotations

import json
import queue
import threading
import uuid
from collections import Counter
from typing import Any

import httpx2

from erpsa_dynamics365 import Dynamics365, bearer
from erpsa_dynamics365._core import service_protection_limits
from erpsa_dynamics365.simulator import DataverseSimulator, SimulatorConfig
from erpsa_sdk.clock import SimClock

LIMIT = 300
WINDOW = 10.0
CONCURRENT = 52
SERVICE_TIME = 0.020
WRITES = 2000
THREADS = 52


def run(*, writes: int = WRITES, threads: int = THREADS, share: float = 1.0) -> dict[str, Any]:
    """Run the benchmark once; returns the measured numbers."""
    clock = SimClock(autojump=True)
    config = SimulatorConfig(
        requests=LIMIT, window=WINDOW, concurrency=CONCURRENT, service_time=SERVICE_TIME
    )
    sim = DataverseSimulator(seed=0, clock=clock, config=config)
    answers: list[tuple[float, int]] = []
    lock = threading.Lock()

    def handler(request: httpx2.Request) -> httpx2.Response:
        at = clock.monotonic()
        response = sim(request)
        with lock:
            answers.append((at, response.status_code))
        return response

    d365 = Dynamics365(
        sim.environment_url,
        auth=bearer(sim.api_token),
        transport=httpx2.MockTransport(handler),
        clock=clock,
        limits=service_protection_limits(LIMIT, WINDOW, CONCURRENT),
        share=share,
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
                row = str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench:{i}"))
                d365.upsert("accounts", row, {"name": f"Bench {i}"}, representation=False)
            except BaseException as exc:
                failures.append(exc)

    start = clock.monotonic()
    with clock.participant():
        pool = [clock.start_thread(writer) for _ in range(threads)]
    for t in pool:
        t.join()
    elapsed = clock.monotonic() - start
    d365.close()
    accepted = [at for at, status in answers if status < 400]
    throttled = sum(status == 429 for _, status in answers)
    # Buckets tolerate the microsecond by which float clocks may land early at a window edge.
    per_window = Counter(int((at - start + 1e-6) // WINDOW) for at in accepted)
    full = [per_window[k] for k in range(int(elapsed // WINDOW))]
    return {
        "writes": writes,
        "threads": threads,
        "limit_per_window": LIMIT,
        "window_seconds": WINDOW,
        "concurrency_limit": CONCURRENT,
        "service_time_ms": SERVICE_TIME * 1000,
        "simulated_seconds": round(elapsed, 3),
        "requests": len(answers),
        "accepted": len(accepted),
        "answered_429": throttled,
        "share_429": round(throttled / len(answers), 4) if answers else 0.0,
        "full_windows": len(full),
        "accepted_per_window_over_limit": round(sum(full) / len(full) / LIMIT, 4) if full else 0.0,
        "min_window_over_limit": round(min(full) / LIMIT, 4) if full else 0.0,
        "max_window_over_limit": round(max(full) / LIMIT, 4) if full else 0.0,
        "accepted_per_window": full,
        "peak_in_flight": sim.stats.max_in_flight,
        "failures": len(failures),
        "rows": sim.admin.count("account") - 5,
    }


def main() -> None:
    result = run()
    print(json.dumps(result))
    print()
    print(f"{'metric':<34}{'value':>12}")
    for key, value in result.items():
        print(f"{key:<34}{value!s:>12}")


if __name__ == "__main__":
    main()
