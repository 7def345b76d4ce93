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
