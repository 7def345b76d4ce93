"""The pure AIMD state machine."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erpsa_sdk.errors import ConfigurationError
from erpsa_sdk.limits import AdaptiveLimit, AimdPolicy

POLICY = AimdPolicy(clean_period=2.0, clean_requests=10, recovery_period=0.1, max_backoff=4.0)


def _clean_use(level: AdaptiveLimit, *, start: float, seconds: float, per_second: int) -> float:
    """Feed saturated, clean answers; return the time reached."""
    t = start
    step = 1 / per_second
    for _ in range(round(seconds * per_second)):
        level.admitted(in_use=level.cap)
        t += step
        level.succeeded(now=t)
    return t


def test_a_throttle_halves_and_a_burst_from_the_same_event_does_not_cut_again() -> None:
    level = AdaptiveLimit(8, step=1, policy=POLICY, now=0.0)
    before = level.epoch
    assert level.throttled(now=1.0, admitted_epoch=before, in_flight=7)
    assert level.cap == 4
    for _ in range(3):  # answers to requests admitted before the cut
        assert not level.throttled(now=1.0, admitted_epoch=before, in_flight=6)
    assert level.cap == 4
    assert level.throttled(now=1.5, admitted_epoch=level.epoch, in_flight=3)  # new information
    assert level.cap == 2


def test_never_below_one() -> None:
    level = AdaptiveLimit(2, step=1, policy=POLICY, now=0.0)
    for i in range(10):
        level.throttled(now=float(i + 1), admitted_epoch=level.epoch, in_flight=0)
    assert level.cap == 1


def test_recovery_to_the_safe_cap_is_fast_and_probing_beyond_it_is_slow() -> None:
    level = AdaptiveLimit(5, step=1, policy=POLICY, now=0.0)
    level.throttled(now=10.0, admitted_epoch=level.epoch, in_flight=3)  # cap 5 -> 2, safe 3
    assert (level.cap, level.safe) == (2, 3)
    t = _clean_use(level, start=10.0, seconds=0.3, per_second=100)
    assert level.cap == 3  # climbed back to the safe cap within recovery periods
    t = _clean_use(level, start=t, seconds=1.5, per_second=100)
    assert level.cap == 3  # probing past the safe cap needs clean_period (2 s)
    t = _clean_use(level, start=t, seconds=0.6, per_second=100)
    assert level.cap == 4
    _clean_use(level, start=t, seconds=2.1, per_second=100)
    assert level.cap == 5
    assert level.safe == 4  # the probe at 4 survived a whole period


def test_probing_needs_enough_clean_answers_as_well_as_time() -> None:
    level = AdaptiveLimit(3, step=1, policy=POLICY, now=0.0)
    level.throttled(now=0.0, admitted_epoch=level.epoch, in_flight=2)  # cap 1, safe 2
    t = _clean_use(level, start=0.0, seconds=1.0, per_second=2)  # back to cap 2 (recovery)
    assert level.cap == 2
    t = _clean_use(level, start=t, seconds=4.0, per_second=2)  # 8 answers < 10 requested
    assert level.cap == 2
    _clean_use(level, start=t, seconds=1.5, per_second=2)
    assert level.cap == 3


def test_no_growth_without_saturation() -> None:
    level = AdaptiveLimit(4, step=1, policy=POLICY, now=0.0)
    level.throttled(now=0.0, admitted_epoch=level.epoch, in_flight=3)
    for i in range(1000):
        level.admitted(in_use=1)  # demand never fills the cap: growing would learn nothing
        level.succeeded(now=i * 0.1)
    assert level.cap == 2


def test_failed_probes_back_off_and_a_surviving_probe_resets() -> None:
    level = AdaptiveLimit(6, step=1, policy=POLICY, now=0.0)
    level.throttled(
        now=0.0, admitted_epoch=level.epoch, in_flight=2
    )  # cap 3 is above safe 2: a probe
    t = _clean_use(level, start=0.0, seconds=2.5, per_second=100)
    assert (level.cap, level.safe) == (4, 3)  # cap 3 survived a period; now probing 4
    level.throttled(now=t, admitted_epoch=level.epoch, in_flight=3)  # the probe at 4 failed
    assert (level.cap, level.safe, level.backoff) == (2, 3, 2.0)
    t = _clean_use(level, start=t, seconds=3.0, per_second=100)
    assert level.cap == 3  # recovered fast, but the next probe waits 2 × 2 s
    t = _clean_use(level, start=t, seconds=1.5, per_second=100)
    assert level.cap == 4
    _clean_use(level, start=t, seconds=4.5, per_second=100)
    assert (level.cap, level.safe, level.backoff) == (5, 4, 1.0)


def test_policy_refuses_nonsense() -> None:
    with pytest.raises(ConfigurationError):
        AimdPolicy(decrease=1.0)
    with pytest.raises(ConfigurationError):
        AimdPolicy(recovery_period=3.0, clean_period=1.0)
    with pytest.raises(ConfigurationError):
        AimdPolicy(max_backoff=0.5)
    with pytest.raises(ConfigurationError):
        AdaptiveLimit(0, step=1, policy=POLICY, now=0.0)


@settings(max_examples=60, deadline=None)
@given(
    ceiling=st.integers(1, 60),
    events=st.lists(st.tuples(st.booleans(), st.floats(0, 3), st.integers(0, 60)), max_size=300),
)
def test_cap_always_between_one_and_the_share(
    ceiling: int, events: list[tuple[bool, float, int]]
) -> None:
    level = AdaptiveLimit(ceiling, step=1, policy=POLICY, now=0.0)
    t = 0.0
    for throttled, gap, used in events:
        t += gap
        level.admitted(in_use=used)
        if throttled:
            level.throttled(now=t, admitted_epoch=level.epoch, in_flight=used)
        else:
            level.succeeded(now=t)
        assert 1 <= level.cap <= ceiling
