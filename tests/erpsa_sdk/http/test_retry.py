"""Retry decisions: Retry-After parsing, retryable classes, write safety, budget."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
import tenacity
from hypothesis import given
from hypothesis import strategies as st

from erpsa_sdk.errors import (
    ApiError,
    ConfigurationError,
    ConnectError,
    IndeterminateWrite,
    NotFoundError,
    QuotaExhausted,
    RateLimited,
    ResponseFormatError,
    ServerError,
    Timeout,
    ValidationFailed,
)
from erpsa_sdk.http.retry import (
    RetryController,
    RetryPolicy,
    backoff_delay,
    decide,
    is_retryable,
    parse_retry_after,
)
from erpsa_sdk.http.safety import WriteSafety

NOW = datetime(2023, 9, 29, 16, 26, 27, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3", 3.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("  20  ", 20.0),
        ("Fri, 29 Sep 2023 16:26:57 GMT", 30.0),  # HTTP-date, 30 s ahead
        ("Fri, 29 Sep 2023 16:26:00 GMT", 0.0),  # HTTP-date in the past
        (None, None),  # missing
        ("", None),
        ("soon", None),  # garbage
        ("Fri, 99 Foo 2023", None),
        ("-5", 0.0),
        ("86400", 120.0),  # huge: capped
        ("Sat, 30 Sep 2023 16:26:27 GMT", 120.0),  # a day ahead: capped
        ("1e400", 120.0),  # infinity: capped
        ("nan", None),
    ],
)
def test_retry_after_table(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, now=NOW, cap=120.0) == expected


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (Timeout("t", response_lost=True), True),
        (ConnectError("c", response_lost=False), True),
        (ApiError("x", status=408), True),
        (ApiError("x", status=425), True),
        (RateLimited("x", status=429), True),
        (ServerError("x", status=500), True),
        (ServerError("x", status=501), False),
        (ServerError("x", status=503), True),
        (ServerError("x", status=599), True),
        (ValidationFailed("x", status=400), False),
        (NotFoundError("x", status=404), False),
        (QuotaExhausted("x", status=429), False),
        (ValidationFailed("x", status=400, retryable=True), True),  # the connector says transient
        (ServerError("x", status=503, retryable=False), False),
        (ResponseFormatError("html"), False),
        (ValueError("not ours"), False),
    ],
)
def test_retryable_classes(error: BaseException, retryable: bool) -> None:
    assert is_retryable(error) is retryable


@given(attempt=st.integers(1, 30), rand=st.floats(0, 1, exclude_max=True))
def test_backoff_is_bounded_and_jittered_down(attempt: int, rand: float) -> None:
    policy = RetryPolicy(initial_delay=0.5, max_delay=8.0, jitter=0.25)
    delay = backoff_delay(policy, attempt, rand)
    ceiling = min(8.0, 0.5 * 2 ** (attempt - 1))
    assert 0.75 * ceiling <= delay <= ceiling


def _decide(error: BaseException, **kw: object) -> object:
    args: dict[str, object] = {
        "policy": RetryPolicy(jitter=0.0),
        "error": error,
        "attempt": 1,
        "waited": 0.0,
        "safety": None,
        "rand": 0.0,
    }
    args.update(kw)
    return decide(**args)  # type: ignore[arg-type]


def test_retry_after_wins_over_backoff_and_is_capped() -> None:
    v = _decide(RateLimited("x", status=429, retry_after=7.0))
    assert v.retry
    assert v.delay == 7.0
    v = _decide(RateLimited("x", status=429, retry_after=10_000.0))
    assert v.retry
    assert v.delay == 120.0


def test_budget_stops_retrying_and_raises_the_last_error() -> None:
    policy = RetryPolicy(budget=10.0, jitter=0.0)
    error = RateLimited("x", status=429, retry_after=8.0)
    v = _decide(error, policy=policy, waited=5.0)
    assert not v.retry
    assert v.final is error
    assert "budget" in v.reason


def test_attempts_exhausted() -> None:
    v = _decide(ServerError("x", status=503), attempt=4)
    assert not v.retry
    assert "exhausted" in v.reason


@pytest.mark.parametrize("safety", list(WriteSafety))
def test_lost_write_after_giving_up_is_indeterminate(safety: WriteSafety) -> None:
    lost = Timeout("read timeout", response_lost=True)
    v = _decide(lost, safety=safety, attempt=4)
    assert not v.retry
    assert isinstance(v.final, IndeterminateWrite)


def test_unsafe_never_retries_and_a_refused_connection_is_not_indeterminate() -> None:
    refused = ConnectError("refused", response_lost=False)
    v = _decide(refused, safety=WriteSafety.UNSAFE)
    assert not v.retry
    assert v.final is refused
    v = _decide(ServerError("gateway timeout", status=504), safety=WriteSafety.UNSAFE)
    assert isinstance(v.final, IndeterminateWrite)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "safety", [WriteSafety.NATURAL_UPSERT, WriteSafety.SERVER_DEDUP, WriteSafety.LOOKUP_THEN_CREATE]
)
def test_declared_safe_writes_retry(safety: WriteSafety) -> None:
    assert _decide(Timeout("read", response_lost=True), safety=safety).retry  # type: ignore[attr-defined]


def test_policy_validation() -> None:
    with pytest.raises(ConfigurationError):
        RetryPolicy(jitter=2.0)
    with pytest.raises(ConfigurationError):
        RetryPolicy(budget=float("inf"))


def test_controller_logs_every_decision(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG", logger="erpsa_sdk.http")
    ctl = RetryController(
        policy=RetryPolicy(max_attempts=3, jitter=0.0), what="GET /x", rng=random.Random(1)
    )
    slept: list[float] = []

    def always_fails() -> None:
        raise ServerError("down", status=503)

    with pytest.raises(ServerError):
        tenacity.Retrying(sleep=slept.append, **ctl.tenacity_kwargs())(always_fails)
    assert slept == [0.5, 1.0]
    verdicts = [r.getMessage() for r in caplog.records if "GET /x attempt" in r.getMessage()]
    assert len(verdicts) == 3
    assert verdicts[-1].endswith("give up")
    assert "exhausted" in verdicts[-1]
    assert ctl.waited == 1.5
