"""The governor: exact windows, concurrency, retry_at for callers that must not sleep, Retry-After,
adaptation, sync and async twins."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Sequence
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erpsa_sdk.clock import SimClock, SystemClock
from erpsa_sdk.errors import ConfigurationError, RateLimited, TransportError
from erpsa_sdk.http.hooks import GovernorHook
from erpsa_sdk.limits import (
    Concurrency,
    Governor,
    InProcessBackend,
    Limit,
    LimitSpec,
    Reactive,
    Scope,
    ScopeKind,
    SlidingWindow,
)
from tests.erpsa_sdk.limits._windows import most_in_any_window

# A deadlock under SimClock would otherwise hang until the global timeout.
pytestmark = pytest.mark.timeout(120)

ACCOUNT = Scope.account("TSTDRV1")


def test_most_in_any_window_helper() -> None:
    assert most_in_any_window([0.0, 9.5, 10.0, 19.5], 10.0) == 2
    assert most_in_any_window([0.0, 5.0, 9.75, 10.0], 10.0) == 3
    assert most_in_any_window([], 10.0) == 0


class InFlight:
    """A fake vendor handler that counts requests in flight."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0
        self.served = 0

    def enter(self) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        with self.lock:
            self.now -= 1
            self.served += 1


# -- acceptance: a window of 100 per 10 s is never exceeded at any offset ----------------------


def test_window_100_per_10s_never_exceeded_at_any_offset_on_simclock() -> None:
    clock = SimClock(autojump=True)
    gov = Governor([Limit(SlidingWindow(100, 10), ScopeKind.ACCOUNT)], scopes=ACCOUNT, clock=clock)
    admitted: list[float] = []
    lock = threading.Lock()

    def caller(seed: int) -> None:
        rng = random.Random(seed)
        while clock.monotonic() < 60:
            clock.sleep(rng.uniform(0, 0.5))  # callers arrive at ragged offsets
            permit = gov.acquire()
            with lock:
                admitted.append(permit.admitted_at)
            clock.sleep(rng.uniform(0.01, 0.3))  # service time
            gov.release(permit, throttled=False, retry_after=None)

    with clock.participant():
        threads = [clock.start_thread(caller, seed) for seed in range(30)]
    for thread in threads:
        thread.join(60)
    assert most_in_any_window(admitted, 10.0) == 100
    # The budget was really used, so the bound above is not trivially met.
    assert len(admitted) >= 600
    print(f"\nwindow 100/10s: {len(admitted)} admissions over {clock.monotonic():.1f} simulated s")


@settings(max_examples=50, deadline=None)
@given(
    gaps=st.lists(st.floats(0, 4, allow_nan=False), min_size=1, max_size=120),
    cap=st.integers(1, 8),
)
def test_window_is_exact_not_a_bucket(gaps: list[float], cap: int) -> None:
    """Refused only when the last `window` seconds really hold `cap` admissions."""
    clock = SimClock()
    gov = Governor([Limit(SlidingWindow(cap, 10), ScopeKind.ACCOUNT)], scopes=ACCOUNT, clock=clock)
    admitted: list[float] = []
    for gap in gaps:
        clock.advance(gap)
        now = clock.time()
        refusal: RateLimited | None = None
        try:
            permit = gov.acquire(wait=False)
        except RateLimited as exc:
            refusal = exc
        if refusal is not None:
            live = sorted(t for t in admitted if t + 10 > now)
            assert len(live) == cap
            assert refusal.retry_at is not None
            assert refusal.retry_at.timestamp() == pytest.approx(live[0] + 10)
            continue
        admitted.append(permit.admitted_at)
        gov.release(permit, throttled=False, retry_after=None)
    assert most_in_any_window(admitted, 10.0) <= cap


# -- acceptance: concurrency 5 with 50 parallel calls ------------------------------------------


def test_concurrency_5_with_50_parallel_calls_on_simclock() -> None:
    clock = SimClock(autojump=True)
    gov = Governor([Limit(Concurrency(5), ScopeKind.ACCOUNT)], scopes=ACCOUNT, clock=clock)
    vendor = InFlight()

    def call() -> None:
        permit = gov.acquire()
        vendor.enter()
        clock.sleep(0.02)
        vendor.leave()
        gov.release(permit, throttled=False, retry_after=None)

    with clock.participant():
        threads = [clock.start_thread(call) for _ in range(50)]
    for thread in threads:
        thread.join(30)
    assert (vendor.peak, vendor.served) == (5, 50)
    assert clock.monotonic() == pytest.approx(10 * 0.02)  # 50 calls, 5 at a time, no idle slot
    assert gov.in_flight == 0


def test_concurrency_5_with_50_parallel_calls_on_the_system_clock() -> None:
    gov = Governor([Limit(Concurrency(5), ScopeKind.ACCOUNT)], scopes=ACCOUNT, clock=SystemClock())
    vendor = InFlight()
    gate = threading.Barrier(50)

    def call() -> None:
        gate.wait()
        permit = gov.acquire()
        vendor.enter()
        threading.Event().wait(0.002)
        vendor.leave()
        gov.release(permit, throttled=False, retry_after=None)

    threads = [threading.Thread(target=call) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert vendor.served == 50
    assert 1 <= vendor.peak <= 5


def test_concurrency_5_with_50_parallel_tasks() -> None:
    clock = SimClock(autojump=True)
    gov = Governor([Limit(Concurrency(5), ScopeKind.ACCOUNT)], scopes=ACCOUNT, clock=clock)
    vendor = InFlight()

    async def call() -> None:
        permit = await gov.aacquire()
        vendor.enter()
        await clock.asleep(0.02)
        vendor.leave()
        await gov.arelease(permit, throttled=False, retry_after=None)

    async def main() -> None:
        await asyncio.gather(*(clock.create_task(call()) for _ in range(50)))

    asyncio.run(main())
    assert (vendor.peak, vendor.served) == (5, 50)
    assert clock.monotonic() == pytest.approx(0.2)


# -- acceptance: RateLimited.retry_at for a caller that must not sleep -------------------------


def test_retry_at_for_a_full_window_is_when_the_oldest_admission_leaves_it() -> None:
    clock = SimClock()
    start = clock.now()
    gov = Governor([Limit(SlidingWindow(3, 10), ScopeKind.ACCOUNT)], scopes=ACCOUNT, clock=clock)
    for _ in range(3):
        gov.release(gov.acquire(wait=False), throttled=False, retry_after=None)
        clock.advance(1)
    clock.advance(2)  # t = 5
    with pytest.raises(RateLimited) as caught:
        gov.acquire(wait=False)
    assert caught.value.retry_at == start + timedelta(seconds=10)
    assert caught.value.retry_after == pytest.approx(5.0)
    assert caught.value.status is None  # refused by the SDK, not by the vendor
    clock.advance(4.999)
    with pytest.raises(RateLimited) as again:
        gov.acquire(wait=False)
    assert again.value.retry_at == start + timedelta(seconds=10)
    clock.advance(0.001)  # exactly retry_at: admitted
    assert clock.now() == start + timedelta(seconds=10)
    gov.acquire(wait=False)
    with pytest.raises(RateLimited) as next_one:
        gov.acquire(wait=False)
    assert next_one.value.retry_at == start + timedelta(seconds=11)


def test_retry_at_after_a_retry_after_is_the_vendors_time() -> None:
    clock = SimClock()
    gov = Governor([Limit(Concurrency(4), ScopeKind.ACCOUNT)], scopes=ACCOUNT, clock=clock)
    permit = gov.acquire(wait=False)
    clock.advance(1)
    gov.release(permit, throttled=True, retry_after=30)
    clock.advance(5)
    with pytest.raises(RateLimited) as caught:
        gov.acquire(wait=False)
    assert caught.value.retry_at == clock.now() + timedelta(seconds=25)
    assert caught.value.retry_after == pytest.approx(25)
    assert "Retry-After" in caught.value.message


def test_retry_at_is_unknown_when_only_a_release_can_free_a_slot() -> None:
    clock = SimClock()
    gov = Governor([Limit(Concurrency(1), ScopeKind.ACCOUNT)], scopes=ACCOUNT, clock=clock)
    held = gov.acquire(wait=False)
    with pytest.raises(RateLimited) as caught:
        gov.acquire(wait=False)
    assert (caught.value.retry_at, caught.value.retry_after) == (None, None)
    assert "concurrency" in caught.value.message
    gov.release(held, throttled=False, retry_after=None)
    gov.acquire(wait=False)


def test_async_caller_that_must_not_sleep_gets_the_same_retry_at() -> None:
    clock = SimClock()
    gov = Governor([Limit(SlidingWindow(1, 60), ScopeKind.ACCOUNT)], scopes=ACCOUNT, clock=clock)

    async def main() -> RateLimited:
        await gov.aacquire(wait=False)
        clock.advance(15)
        try:
            await gov.aacquire(wait=False)
        except RateLimited as exc:
            return exc
        raise AssertionError("expected RateLimited")

    exc = asyncio.run(main())
    assert exc.retry_after == pytest.approx(45)


# -- Retry-After, waiting ----------------------------------------------------------------------


def test_waiting_callers_are_held_until_retry_after_has_passed() -> None:
    clock = SimClock(autojump=True)
    gov = Governor([Limit(Concurrency(5), ScopeKind.ACCOUNT)], scopes=ACCOUNT, clock=clock)
    first = gov.acquire()
    clock.sleep(2)
    gov.release(first, throttled=True, retry_after=7.5)
    admitted_at: list[float] = []

    def caller() -> None:
        permit = gov.acquire()
        admitted_at.append(clock.monotonic())
        gov.release(permit, throttled=False, retry_after=None)

    with clock.participant():
        threads = [clock.start_thread(caller) for _ in range(3)]
    for thread in threads:
        thread.join(30)
    assert admitted_at == [9.5, 9.5, 9.5]


def test_retry_after_is_capped() -> None:
    clock = SimClock()
    gov = Governor(
        [Limit(Concurrency(2), ScopeKind.ACCOUNT)], scopes=ACCOUNT, clock=clock, max_block=60
    )
    gov.release(gov.acquire(), throttled=True, retry_after=86_400)
    with pytest.raises(RateLimited) as caught:
        gov.acquire(wait=False)
    assert caught.value.retry_after == pytest.approx(60)


def test_waiters_are_served_first_come_first_served() -> None:
    clock = SimClock(autojump=True)
    gov = Governor([Limit(Concurrency(1), ScopeKind.ACCOUNT)], scopes=ACCOUNT, clock=clock)
    order: list[int] = []

    def caller(index: int) -> None:
        clock.sleep(index * 0.001)  # queue up in index order
        permit = gov.acquire()
        order.append(index)
        clock.sleep(1)
        gov.release(permit, throttled=False, retry_after=None)

    with clock.participant():
        threads = [clock.start_thread(caller, i) for i in range(8)]
    for thread in threads:
        thread.join(30)
    assert order == list(range(8))


def test_a_cancelled_waiter_does_not_block_the_queue() -> None:
    clock = SimClock(autojump=True)
    gov = Governor([Limit(Concurrency(1), ScopeKind.ACCOUNT)], scopes=ACCOUNT, clock=clock)

    async def body() -> float:
        held = await gov.aacquire()
        first = clock.create_task(gov.aacquire())
        second = clock.create_task(gov.aacquire())
        await asyncio.sleep(0)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        await clock.asleep(1)
        await gov.arelease(held, throttled=False, retry_after=None)
        permit = await second
        await gov.arelease(permit, throttled=False, retry_after=None)
        return clock.monotonic()

    async def main() -> float:
        # The driving coroutine is a participant too, or time could jump while it runs.
        return await clock.create_task(body())

    assert asyncio.run(main()) == 1.0


# -- share, scopes, adaptation ------------------------------------------------------------------


def test_share_caps_every_declared_number() -> None:
    gov = Governor(
        [
            Limit(SlidingWindow(6000, 300), ScopeKind.ENVIRONMENT_USER),
            Limit(Concurrency(52), ScopeKind.ENVIRONMENT_USER),
        ],
        scopes=[Scope.environment_user("org1", "app-user")],
        share=0.5,
        clock=SimClock(),
    )
    assert gov.caps == {
        "environment_user:window-6000-per-300s": 3000,
        "environment_user:concurrency-52": 26,
    }


def test_each_limit_needs_a_scope_of_its_kind() -> None:
    with pytest.raises(ConfigurationError, match="environment_user"):
        Governor([Limit(Concurrency(52), ScopeKind.ENVIRONMENT_USER)], scopes=ACCOUNT)
    with pytest.raises(ConfigurationError):
        Governor([], scopes=ACCOUNT)


def test_throttle_halves_then_grows_back_but_never_above_the_share() -> None:
    clock = SimClock()
    gov = Governor(
        [Limit(Reactive(start_concurrency=8), ScopeKind.TOKEN_ENDPOINT)],
        scopes=Scope.token_endpoint("tok", "general"),
        share=0.5,
        clock=clock,
    )
    name = "token_endpoint:reactive"
    assert gov.caps == {name: 4}
    permits = [gov.acquire(wait=False) for _ in range(4)]
    gov.release(permits.pop(), throttled=True, retry_after=None)
    assert gov.caps == {name: 2}
    for permit in permits:  # same congestion event: no further cut
        gov.release(permit, throttled=True, retry_after=None)
    assert gov.caps == {name: 2}
    for _ in range(3000):  # long clean, saturated use
        held = [gov.acquire(wait=False) for _ in range(gov.caps[name])]
        clock.advance(0.02)
        for permit in held:
            gov.release(permit, throttled=False, retry_after=None)
    assert gov.caps == {name: 4}


def test_governors_sharing_a_backend_share_one_budget() -> None:
    clock = SimClock(autojump=True)
    backend = InProcessBackend()
    limits = [Limit(Concurrency(3), ScopeKind.ACCOUNT)]
    govs = [Governor(limits, scopes=ACCOUNT, clock=clock, backend=backend) for _ in range(3)]
    other_account = Governor(limits, scopes=Scope.account("OTHER"), clock=clock, backend=backend)
    vendor = InFlight()

    def call(gov: Governor) -> None:
        for _ in range(5):
            permit = gov.acquire()
            vendor.enter()
            clock.sleep(0.05)
            vendor.leave()
            gov.release(permit, throttled=False, retry_after=None)

    with clock.participant():
        threads = [clock.start_thread(call, govs[i % 3]) for i in range(12)]
    for thread in threads:
        thread.join(30)
    assert (vendor.peak, vendor.served) == (3, 60)
    assert other_account.acquire(wait=False).admitted_at == clock.time()


def test_the_governor_is_the_transports_hook_and_releases_once() -> None:
    clock = SimClock()
    gov = Governor([Limit(Concurrency(1), ScopeKind.ACCOUNT)], scopes=ACCOUNT, clock=clock)
    assert isinstance(gov, GovernorHook)
    permit = gov.acquire()
    gov.release(permit, throttled=False, retry_after=None)
    gov.release(permit, throttled=True, retry_after=100)  # a second release is ignored
    assert gov.caps == {"account:concurrency-1": 1}
    gov.acquire(wait=False)
    assert "in_flight=1" in repr(gov)


def test_a_leaked_permit_stops_blocking_waiters_when_its_lease_expires() -> None:
    clock = SimClock(autojump=True)
    gov = Governor(
        [Limit(Concurrency(1), ScopeKind.ACCOUNT)], scopes=ACCOUNT, clock=clock, lease_seconds=60
    )
    gov.acquire()  # never released (a bug in the caller)
    gov.acquire()  # waits for the lease to expire, instead of forever
    assert clock.monotonic() == pytest.approx(60)


class FailingBackend(InProcessBackend):
    def release(self, specs: Sequence[LimitSpec], *, now: float, member: str) -> None:
        raise TransportError("limits backend (Redis) failed: ConnectionError")


def test_a_backend_failure_on_release_does_not_hide_the_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gov = Governor(
        [Limit(Concurrency(2), ScopeKind.ACCOUNT)],
        scopes=ACCOUNT,
        clock=SimClock(),
        backend=FailingBackend(),
    )
    permit = gov.acquire(wait=False)
    with caplog.at_level("WARNING", logger="erpsa_sdk.limits"):
        gov.release(permit, throttled=True, retry_after=None)
    assert "lease will expire" in caplog.text
    assert gov.caps == {"account:concurrency-2": 1}  # the throttle signal still counted


def test_max_wait_is_a_retry_budget() -> None:
    clock = SimClock(autojump=True)
    gov = Governor(
        [Limit(Concurrency(1), ScopeKind.ACCOUNT)], scopes=ACCOUNT, clock=clock, max_wait=20
    )
    held = gov.acquire()
    gov.release(held, throttled=True, retry_after=600)  # a long Retry-After
    with pytest.raises(RateLimited) as caught:
        gov.acquire()
    assert clock.monotonic() == 0.0  # known at once: no point in waiting 20 s first
    assert caught.value.retry_after == pytest.approx(600)
    clock.sleep(600)
    held = gov.acquire()  # a slot held by someone else, release time unknown
    with pytest.raises(RateLimited, match="max_wait"):
        gov.acquire()
    assert clock.monotonic() == pytest.approx(620)


def test_max_wait_applies_to_async_waiters_queued_behind_others() -> None:
    clock = SimClock(autojump=True)
    gov = Governor(
        [Limit(Concurrency(1), ScopeKind.ACCOUNT)], scopes=ACCOUNT, clock=clock, max_wait=5
    )

    async def main() -> list[str]:
        # Not registered: it only gathers the waiters (a registered task awaiting anything
        # but the clock counts as busy and would hold time still).
        held = await gov.aacquire()
        results = await asyncio.gather(
            *(clock.create_task(gov.aacquire()) for _ in range(3)), return_exceptions=True
        )
        await gov.arelease(held, throttled=False, retry_after=None)
        return [type(r).__name__ for r in results]

    assert asyncio.run(main()) == ["RateLimited"] * 3
    assert clock.monotonic() == pytest.approx(5)


def test_a_refusal_never_carries_the_token() -> None:
    token = "eyJhbGciOiJSUzI1NiJ9.very-secret"
    gov = Governor(
        [Limit(Reactive(1), ScopeKind.TOKEN_ENDPOINT)],
        scopes=Scope.token_endpoint(token, "workspaces"),
        clock=SimClock(),
    )
    gov.acquire(wait=False)
    with pytest.raises(RateLimited) as caught:
        gov.acquire(wait=False)
    assert token not in str(caught.value)
    assert token not in repr(gov)
    assert "workspaces" in str(caught.value)
