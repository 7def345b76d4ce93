"""The window arithmetic and the in-process backend."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from erpsa_sdk.limits import InProcessBackend, LimitBackend, LimitSpec, window_retry_at


@given(
    expiries=st.lists(st.integers(0, 100), max_size=40).map(sorted),
    cap=st.integers(1, 10),
    now=st.integers(0, 100),
)
def test_window_retry_at_is_the_first_time_a_new_entry_fits(
    expiries: list[int], cap: int, now: int
) -> None:
    floats = [float(e) for e in expiries]
    live, retry_at = window_retry_at(floats, cap=cap, now=float(now))
    assert live == sum(1 for e in floats if e > now)
    if live < cap:
        assert retry_at is None
        return
    assert retry_at is not None
    # At retry_at fewer than `cap` entries are live; an instant before, `cap` or more were.
    assert sum(1 for e in floats if e > retry_at) < cap
    assert sum(1 for e in floats if e > retry_at - 0.5) >= cap


def test_refusal_records_nothing_under_any_spec() -> None:
    backend = InProcessBackend()
    window = LimitSpec("w", "window", 10, 60.0)
    slots = LimitSpec("c", "concurrency", 1, 60.0)
    assert backend.acquire([window, slots], now=0.0, member="a", block_key="b").admitted
    refused = backend.acquire([window, slots], now=0.0, member="b", block_key="b")
    assert (refused.admitted, refused.reason, refused.used) == (False, "concurrency", (1, 1))
    backend.release([window, slots], now=0.0, member="a")
    assert backend.acquire([window, slots], now=0.0, member="c", block_key="b").used == (2, 1)


def test_concurrency_leases_expire_so_a_dead_holder_frees_its_slot() -> None:
    backend = InProcessBackend()
    slot = LimitSpec("c", "concurrency", 1, 30.0)
    assert backend.acquire([slot], now=0.0, member="crashed", block_key="b").admitted
    assert not backend.acquire([slot], now=29.9, member="x", block_key="b").admitted
    assert backend.acquire([slot], now=30.0, member="x", block_key="b").admitted


def test_window_refusal_reports_when_the_oldest_entry_expires() -> None:
    backend = InProcessBackend()
    window = LimitSpec("w", "window", 2, 10.0)
    for t in (1.0, 4.0):
        assert backend.acquire([window], now=t, member=str(t), block_key="b").admitted
    refused = backend.acquire([window], now=5.0, member="x", block_key="b")
    assert (refused.reason, refused.retry_at) == ("window", 11.0)
    assert backend.acquire([window], now=11.0, member="x", block_key="b").admitted


def test_a_slightly_older_now_still_counts_recent_entries() -> None:
    # Two processes read their clocks, then reach the backend in the other order.
    backend = InProcessBackend()
    window = LimitSpec("w", "window", 1, 10.0)
    assert backend.acquire([window], now=100.0, member="late", block_key="b").admitted
    assert not backend.acquire([window], now=99.99, member="early", block_key="b").admitted


def test_block_refuses_until_its_time_and_only_moves_later() -> None:
    backend = InProcessBackend()
    spec = LimitSpec("c", "concurrency", 5, 60.0)
    backend.block("b", until=50.0, now=0.0)
    backend.block("b", until=20.0, now=1.0)  # an earlier Retry-After never shortens a block
    refused = backend.acquire([spec], now=10.0, member="x", block_key="b")
    assert (refused.reason, refused.retry_at) == ("blocked", 50.0)
    assert backend.acquire([spec], now=10.0, member="x", block_key="other").admitted
    assert backend.acquire([spec], now=50.0, member="y", block_key="b").admitted


def test_release_calls_subscribers_and_drops_dead_bound_methods() -> None:
    backend = InProcessBackend()
    assert isinstance(backend, LimitBackend)
    calls: list[str] = []

    class Listener:
        def on_release(self) -> None:
            calls.append("method")

    listener = Listener()
    backend.subscribe(listener.on_release)
    backend.subscribe(lambda: calls.append("function"))
    backend.release([], now=0.0, member="x")
    del listener
    backend.release([], now=0.0, member="x")
    assert calls == ["method", "function", "function"]
    assert repr(backend) == "InProcessBackend(keys=0, listeners=1)"  # the dead one is gone
