"""lease_scope / lease_guard: the lease of the run in progress, per context."""

from __future__ import annotations

import contextvars

import pytest

from erpsa_sdk.clock import SimClock
from erpsa_sdk.errors import LeaseLost
from erpsa_sdk.sync._guard import LeaseState, current_lease_state, lease_guard, lease_scope
from erpsa_sdk.sync._records import Lease


def state(clock: SimClock, fence: int, ttl: float) -> LeaseState:
    return LeaseState(Lease("p", "me", fence, clock.time() + ttl), clock, margin=1.0)


def test_a_scope_guards_writes_inside_and_restores_the_outer_lease() -> None:
    clock = SimClock()
    outer, inner = state(clock, 1, 100), state(clock, 2, 10)

    def failing_run() -> None:
        with lease_scope(inner):
            assert current_lease_state() is inner
            clock.advance(20)
            with pytest.raises(LeaseLost, match="fence 2"):
                lease_guard()
            raise RuntimeError("the run failed")

    with lease_scope(outer):
        with pytest.raises(RuntimeError):
            failing_run()
        assert current_lease_state() is outer
        lease_guard()  # the outer lease still has 80 s
    assert current_lease_state() is None
    lease_guard()  # outside a run: nothing to check


def test_a_copied_context_carries_the_scope_to_a_writer_thread() -> None:
    clock = SimClock()
    run = state(clock, 3, 5)
    with lease_scope(run):
        context = contextvars.copy_context()
    clock.advance(10)
    with pytest.raises(LeaseLost, match="fence 3"):
        context.run(lease_guard)
    lease_guard()


def test_a_lapsed_lease_is_settled_by_the_renew_hook_before_refusing() -> None:
    clock = SimClock()
    run = state(clock, 4, 10)
    calls: list[float] = []

    def renew() -> None:
        calls.append(clock.time())
        run.lease = Lease("p", "me", 4, clock.time() + 10)

    run.renew = renew
    with lease_scope(run):
        lease_guard()  # still alive: the store is not asked
        assert calls == []
        clock.advance(60)
        lease_guard()  # lapsed by this clock, but the store renewed it: the write may go
        assert len(calls) == 1
        lease_guard()  # the renewed lease is alive again
        assert len(calls) == 1


def test_a_lease_taken_over_is_refused_even_with_a_renew_hook() -> None:
    clock = SimClock()
    run = state(clock, 5, 10)

    def renew() -> None:
        raise LeaseLost("lease 'p' was taken over", lease="p", fence=5, current_fence=6)

    run.renew = renew
    clock.advance(60)
    with lease_scope(run), pytest.raises(LeaseLost, match="taken over"):
        lease_guard()


def test_a_store_that_cannot_renew_refuses_the_write_with_a_typed_error() -> None:
    clock = SimClock()
    run = state(clock, 6, 10)

    def renew() -> None:
        raise OSError("database is locked: password=hunter2")

    run.renew = renew
    clock.advance(60)
    with lease_scope(run), pytest.raises(LeaseLost, match="could not renew it") as info:
        lease_guard()
    assert "hunter2" not in str(info.value)
    assert isinstance(info.value.__cause__, OSError)
