"""Behaviour of SystemClock and SimClock (manual and autojump), sync and async."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erpsa_sdk.clock import Clock, SimClock, SystemClock

# A deadlock under SimClock would otherwise hang until the global timeout.
pytestmark = pytest.mark.timeout(120)


def _spin_until(predicate: object, limit: float = 10.0) -> None:
    """Real-time helper: wait until a background thread reached a state (never a timing check)."""
    end = time.monotonic() + limit
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > end:
            raise AssertionError("background thread never reached the expected state")
        time.sleep(0.001)


# -- SystemClock -------------------------------------------------------------------------------


def test_system_clock_tells_aware_utc_time() -> None:
    clock = SystemClock()
    assert isinstance(clock, Clock)
    assert clock.now().tzinfo is not None
    assert abs(clock.time() - clock.now().timestamp()) < 60


def test_system_clock_wait_returns_condition_value() -> None:
    clock = SystemClock()
    assert clock.wait(lambda: True, timeout=None) is True
    assert clock.wait(lambda: False, timeout=0) is False
    assert clock.wait(lambda: False, timeout=0.001) is False


def test_system_clock_notify_wakes_a_waiting_thread() -> None:
    clock = SystemClock()
    flag = {"set": False}
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(clock.wait(lambda: flag["set"])))
    thread.start()
    _spin_until(lambda: bool(clock._cond_waiters))
    flag["set"] = True
    clock.notify()
    thread.join(10)
    assert result == [True]


def test_system_clock_await_for_is_woken_by_notify() -> None:
    clock = SystemClock()
    flag = {"set": False}

    async def main() -> bool:
        async def setter() -> None:
            await asyncio.sleep(0)
            flag["set"] = True
            clock.notify()

        task = asyncio.create_task(setter())
        ok = await clock.await_for(lambda: flag["set"], timeout=30)
        await task
        return ok

    assert asyncio.run(main()) is True
    assert asyncio.run(clock.await_for(lambda: False, timeout=0.001)) is False


# -- SimClock, manual mode ---------------------------------------------------------------------


def test_sim_clock_moves_only_when_advanced() -> None:
    start = datetime(2030, 5, 1, 12, tzinfo=UTC)
    clock = SimClock(start)
    assert isinstance(clock, Clock)
    assert clock.now() == start
    assert clock.monotonic() == 0.0
    clock.advance(2.5)
    assert clock.now() == start + timedelta(seconds=2.5)
    assert clock.time() == start.timestamp() + 2.5
    assert clock.monotonic() == 2.5


def test_sim_clock_refuses_naive_start_and_negative_advance() -> None:
    with pytest.raises(ValueError, match="aware"):
        SimClock(datetime(2030, 1, 1))
    with pytest.raises(ValueError, match="backwards"):
        SimClock().advance(-1)


def test_manual_sleep_wakes_at_the_advance_that_reaches_its_deadline() -> None:
    clock = SimClock()
    woke_at: list[float] = []
    thread = threading.Thread(target=lambda: (clock.sleep(5), woke_at.append(clock.monotonic())))
    thread.start()
    _spin_until(lambda: clock._timers)
    clock.advance(4)
    assert thread.is_alive()
    assert woke_at == []
    clock.advance(1)
    thread.join(10)
    assert woke_at == [5.0]


def test_zero_and_negative_sleeps_return_at_once() -> None:
    clock = SimClock()
    clock.sleep(0)
    clock.sleep(-3)
    asyncio.run(clock.asleep(0))
    assert clock.monotonic() == 0.0


# -- SimClock, autojump ------------------------------------------------------------------------


def test_autojump_single_thread_needs_no_registration() -> None:
    clock = SimClock(autojump=True)
    clock.sleep(3600)
    assert clock.monotonic() == 3600.0


def test_autojump_interleaves_threads_in_simulated_time_order() -> None:
    clock = SimClock(autojump=True)
    events: list[tuple[float, str]] = []
    lock = threading.Lock()

    def worker(name: str, step: float, count: int) -> None:
        for _ in range(count):
            clock.sleep(step)
            with lock:
                events.append((clock.monotonic(), name))

    with clock.participant():
        threads = [
            clock.start_thread(worker, "a", 0.3, 10),
            clock.start_thread(worker, "b", 0.7, 4),
        ]
    for thread in threads:
        thread.join(30)
    times = [t for t, _ in events]
    assert times == sorted(times)
    assert [round(t, 9) for t, n in events if n == "b"] == [0.7, 1.4, 2.1, 2.8]
    assert round(clock.monotonic(), 9) == 3.0


def test_a_thread_blocked_outside_the_clock_holds_time_still() -> None:
    clock = SimClock(autojump=True)
    gate = threading.Event()
    seen: dict[str, float] = {}

    def blocked_elsewhere() -> None:
        gate.wait(30)  # not a clock wait: this thread is busy
        seen["released"] = clock.monotonic()

    def sleeper() -> None:
        clock.sleep(10)
        seen["slept"] = clock.monotonic()

    with clock.participant():
        a = clock.start_thread(blocked_elsewhere)
        b = clock.start_thread(sleeper)
    _spin_until(lambda: clock._timers)
    time.sleep(0.05)  # give a wrong implementation the chance to jump
    assert clock.monotonic() == 0.0
    gate.set()
    a.join(10)
    b.join(10)
    assert seen == {"released": 0.0, "slept": 10.0}


def test_wait_is_woken_by_notify_at_the_simulated_time_of_the_change() -> None:
    clock = SimClock(autojump=True)
    state = {"ready": False}
    result: dict[str, object] = {}

    def waiter() -> None:
        result["ok"] = clock.wait(lambda: state["ready"], timeout=100)
        result["at"] = clock.monotonic()

    def producer() -> None:
        clock.sleep(3)
        state["ready"] = True
        clock.notify()

    with clock.participant():
        threads = [clock.start_thread(waiter), clock.start_thread(producer)]
    for thread in threads:
        thread.join(10)
    assert result == {"ok": True, "at": 3.0}


def test_wait_times_out_at_its_deadline() -> None:
    clock = SimClock(autojump=True)
    assert clock.wait(lambda: False, timeout=12.5) is False
    assert clock.monotonic() == 12.5
    assert clock.wait(lambda: False, timeout=0) is False


def test_a_condition_that_raises_wakes_its_waiter_with_the_error() -> None:
    clock = SimClock(autojump=True)
    armed = {"boom": False}
    errors: list[BaseException] = []

    def condition() -> bool:
        if armed["boom"]:
            raise RuntimeError("broken condition")
        return False

    def waiter() -> None:
        try:
            clock.wait(condition)
        except RuntimeError as exc:
            errors.append(exc)

    def trigger() -> None:
        clock.sleep(1)
        armed["boom"] = True
        clock.notify()  # must not raise in the notifier

    with clock.participant():
        threads = [clock.start_thread(waiter), clock.start_thread(trigger)]
    for thread in threads:
        thread.join(10)
    assert [str(e) for e in errors] == ["broken condition"]


def test_manual_mode_can_switch_to_autojump() -> None:
    clock = SimClock()
    thread = threading.Thread(target=clock.sleep, args=(8,))
    thread.start()
    _spin_until(lambda: clock._timers)
    clock.autojump = True
    thread.join(10)
    assert clock.monotonic() == 8.0


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.integers(1, 50), min_size=1, max_size=8), min_size=1, max_size=5))
def test_every_thread_wakes_exactly_at_its_cumulative_deadlines(plans: list[list[int]]) -> None:
    clock = SimClock(autojump=True)
    observed: dict[int, list[float]] = {}

    def run(index: int, steps: list[int]) -> None:
        seen = observed.setdefault(index, [])
        for step in steps:
            clock.sleep(step / 100)
            seen.append(clock.monotonic())

    with clock.participant():
        threads = [clock.start_thread(run, i, plan) for i, plan in enumerate(plans)]
    for thread in threads:
        thread.join(30)
    for index, plan in enumerate(plans):
        expected = list(itertools.accumulate(step / 100 for step in plan))
        assert observed[index] == pytest.approx(expected, abs=1e-9)
    assert clock.monotonic() == pytest.approx(max(sum(p) for p in plans) / 100, abs=1e-9)


# -- SimClock with asyncio ---------------------------------------------------------------------


def test_autojump_with_registered_tasks() -> None:
    clock = SimClock(autojump=True)
    order: list[tuple[float, str]] = []

    async def worker(name: str, step: float) -> None:
        for _ in range(3):
            await clock.asleep(step)
            order.append((clock.monotonic(), name))

    async def main() -> None:
        await asyncio.gather(clock.create_task(worker("x", 2)), clock.create_task(worker("y", 5)))

    asyncio.run(main())
    assert order == [
        (2.0, "x"),
        (4.0, "x"),
        (5.0, "y"),
        (6.0, "x"),
        (10.0, "y"),
        (15.0, "y"),
    ]


def test_a_task_awaiting_something_else_is_busy() -> None:
    clock = SimClock(autojump=True)
    seen: dict[str, float] = {}

    async def main() -> None:
        gate = asyncio.Event()

        async def blocked() -> None:
            await gate.wait()
            seen["released"] = clock.monotonic()

        async def sleeper() -> None:
            await clock.asleep(10)
            seen["slept"] = clock.monotonic()

        tasks = [clock.create_task(blocked()), clock.create_task(sleeper())]
        for _ in range(5):
            await asyncio.sleep(0)
        seen["before"] = clock.monotonic()
        gate.set()
        await asyncio.gather(*tasks)

    asyncio.run(main())
    assert seen == {"before": 0.0, "released": 0.0, "slept": 10.0}


def test_await_for_is_woken_by_a_thread_notify() -> None:
    clock = SimClock(autojump=True)
    state = {"ready": False}

    def producer() -> None:
        clock.sleep(4)
        state["ready"] = True
        clock.notify()

    async def main() -> tuple[bool, float]:
        with clock.participant():
            thread = clock.start_thread(producer)
        ok = await clock.create_task(clock.await_for(lambda: state["ready"], timeout=60))
        at = clock.monotonic()
        thread.join(10)
        return ok, at

    assert asyncio.run(main()) == (True, 4.0)


def test_cancelled_sleep_leaves_the_clock_consistent() -> None:
    clock = SimClock(autojump=True)

    async def main() -> float:
        gate = asyncio.Event()

        async def long_sleep() -> None:
            await clock.asleep(1000)

        async def canceller(victim: asyncio.Task[None]) -> None:
            await gate.wait()
            victim.cancel()

        victim = clock.create_task(long_sleep())
        other = clock.create_task(canceller(victim))
        await asyncio.sleep(0)
        gate.set()
        with pytest.raises(asyncio.CancelledError):
            await victim
        await other
        await clock.create_task(clock.asleep(2))
        return clock.monotonic()

    assert asyncio.run(main()) == 2.0


def test_repr_shows_time_and_mode() -> None:
    assert repr(SimClock(autojump=True)) == (
        "SimClock(now=2026-01-01T00:00:00+00:00, autojump=True)"
    )
    assert repr(SystemClock()) == "SystemClock()"
