"""Acceptance: the adaptive share learns the capacity another client leaves free.

A fake vendor allows 5 requests in flight across *all* its clients and answers 429 at once
above that (NetSuite's account-wide concurrency). A background client holds k of the 5 slots,
k redrawn uniformly from {2, 3, 4} every 5 simulated seconds. Twenty SDK threads send
requests of 20 ms for 300 simulated seconds through one governor that only knows "5
concurrent, account-wide". Over [10 s, 300 s] the SDK must keep its 429s at or below 1 % of
its requests and complete at least 80 % of what the free capacity allowed.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

import pytest

from erpsa_sdk.clock import SimClock
from erpsa_sdk.limits import Concurrency, Governor, Limit, Scope, ScopeKind

# A deadlock under SimClock would otherwise hang until the global timeout.
pytestmark = pytest.mark.timeout(120)

VENDOR_LIMIT = 5
SERVICE_TIME = 0.02
REDRAW_EVERY = 5.0
DURATION = 300.0
WARM_UP = 10.0
SDK_THREADS = 20


class SharedVendor:
    """The fake vendor: a plain handler driven by the SimClock."""

    def __init__(self, clock: SimClock, background: Callable[[float], int]) -> None:
        self.clock = clock
        self.background = background
        self.lock = threading.Lock()
        self.in_flight = 0
        self.log: list[tuple[float, int, float]] = []  # (sent at, status, answered at)

    def handle(self) -> int:
        sent = self.clock.monotonic()
        with self.lock:
            if self.in_flight + self.background(sent) >= VENDOR_LIMIT:
                self.log.append((sent, 429, sent))
                return 429
            self.in_flight += 1
        self.clock.sleep(SERVICE_TIME)
        with self.lock:
            self.in_flight -= 1
            self.log.append((sent, 200, self.clock.monotonic()))
        return 200


def test_adaptive_share_learns_the_free_capacity(record_property: Callable[..., None]) -> None:
    clock = SimClock(autojump=True)
    rng = random.Random(20261126)
    draws = [rng.choice((2, 3, 4)) for _ in range(int(DURATION / REDRAW_EVERY) + 1)]

    def background(t: float) -> int:
        return draws[int(t // REDRAW_EVERY)]

    vendor = SharedVendor(clock, background)
    gov = Governor(
        [Limit(Concurrency(VENDOR_LIMIT), ScopeKind.ACCOUNT)],
        scopes=Scope.account("shared-account"),
        clock=clock,
    )

    def sdk_thread() -> None:
        while True:
            permit = gov.acquire()
            if clock.monotonic() >= DURATION:
                gov.release(permit, throttled=False, retry_after=None)
                return
            status = vendor.handle()
            # A 429 comes back at once, so the slot is released at once too.
            gov.release(permit, throttled=status == 429, retry_after=None)

    wall_start = time.perf_counter()
    with clock.participant():
        threads = [clock.start_thread(sdk_thread) for _ in range(SDK_THREADS)]
    for thread in threads:
        thread.join(120)
    wall = time.perf_counter() - wall_start
    assert not any(thread.is_alive() for thread in threads)

    sent = [entry for entry in vendor.log if WARM_UP <= entry[0] < DURATION]
    throttled = sum(1 for entry in sent if entry[1] == 429)
    completed = sum(
        1 for s, status, done in vendor.log if status == 200 and WARM_UP <= done <= DURATION
    )
    free_slot_seconds = sum(
        (VENDOR_LIMIT - draws[i]) * REDRAW_EVERY
        for i in range(int(WARM_UP / REDRAW_EVERY), int(DURATION / REDRAW_EVERY))
    )
    possible = free_slot_seconds / SERVICE_TIME
    simulated = clock.monotonic()

    report = (
        f"adaptive share: {simulated:.1f} simulated s in {wall:.2f} wall s; "
        f"SDK requests {len(sent)}, 429s {throttled} ({throttled / len(sent):.3%}), "
        f"completed {completed} of {possible:.0f} possible ({completed / possible:.1%})"
    )
    print("\n" + report)
    record_property("simulated_seconds", round(simulated, 3))
    record_property("adaptive_report", report)

    assert simulated >= DURATION
    assert throttled / len(sent) <= 0.01
    assert completed >= 0.8 * possible
    assert vendor.in_flight == 0
    assert gov.in_flight == 0


@pytest.mark.parametrize("share", [0.4, 0.6])
def test_adaptation_never_goes_above_the_share(share: float) -> None:
    clock = SimClock(autojump=True)
    vendor = SharedVendor(clock, background=lambda t: 0)  # plenty of room: no 429 ever
    gov = Governor(
        [Limit(Concurrency(VENDOR_LIMIT), ScopeKind.ACCOUNT)],
        scopes=Scope.account("A"),
        share=share,
        clock=clock,
    )
    peak = 0
    lock = threading.Lock()

    def sdk_thread() -> None:
        nonlocal peak
        while clock.monotonic() < 20:
            permit = gov.acquire()
            with lock:
                peak = max(peak, gov.in_flight)
            status = vendor.handle()
            gov.release(permit, throttled=status == 429, retry_after=None)

    with clock.participant():
        threads = [clock.start_thread(sdk_thread) for _ in range(10)]
    for thread in threads:
        thread.join(60)
    assert peak == int(VENDOR_LIMIT * share)
    assert all(status == 200 for _, status, _ in vendor.log)
