"""Retry decisions: pure functions and constants, driven by tenacity in both client shells.

Nothing here sends, sleeps or locks. :func:`decide` turns one failed attempt into a
:class:`Verdict` (retry or not, how long to wait, whether to look the record up first, which
error to raise when giving up); :class:`RetryController` adapts it to tenacity's ``retry`` /
``wait`` / ``stop`` hooks so the sync and async clients share every decision.

What is retried: connect errors, timeouts, 408 / 425 / 429, 5xx except 501, and whatever the
connector's error parser marks ``retryable=True``. Writes follow the
:class:`~erpsa_sdk.http.safety.WriteSafety` declared for the operation, never a header.

Example:
    >>> from datetime import UTC, datetime
    >>> now = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
    >>> parse_retry_after("7", now=now)
    7.0
    >>> parse_retry_after("Thu, 26 Nov 2026 12:00:30 GMT", now=now)
    30.0
    >>> parse_retry_after("86400", now=now, cap=120.0)
    120.0
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, NoReturn

from erpsa_sdk.errors import (
    ApiError,
    ConfigurationError,
    ErpsaError,
    IndeterminateWrite,
    QuotaExhausted,
    RateLimited,
    TransportError,
)
from erpsa_sdk.http.safety import WriteSafety

__all__ = [
    "DEFAULT_MAX_ATTEMPTS",
    "INITIAL_RETRY_DELAY",
    "MAX_RETRY_AFTER",
    "MAX_RETRY_DELAY",
    "RETRY_BUDGET",
    "RetryController",
    "RetryPolicy",
    "Verdict",
    "backoff_delay",
    "decide",
    "is_response_lost",
    "is_retryable",
    "needs_lookup",
    "parse_retry_after",
    "retry_after_hint",
]

_LOG = logging.getLogger("erpsa_sdk.http")

DEFAULT_MAX_ATTEMPTS = 4
"""First attempt plus three retries."""
INITIAL_RETRY_DELAY = 0.5
"""Seconds before the first retry (before jitter)."""
MAX_RETRY_DELAY = 8.0
"""Ceiling of the exponential backoff, in seconds."""
MAX_RETRY_AFTER = 120.0
"""A vendor ``Retry-After`` longer than this is capped to it."""
RETRY_BUDGET = 300.0
"""Maximum total seconds one logical request may spend waiting between attempts."""

_RETRYABLE_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How often and how long to retry one logical request.

    Parameters:
        max_attempts: attempts in total, the first included (``1`` disables retries).
        initial_delay: backoff before the first retry, in seconds.
        max_delay: ceiling of the exponential backoff.
        max_retry_after: cap applied to a vendor ``Retry-After``.
        budget: maximum total wait across all retries; a retry that would exceed it is not made.
        jitter: fraction (0..1) of each backoff delay removed at random, to spread retry storms.

    Example:
        >>> RetryPolicy(max_attempts=2).max_attempts
        2
        >>> RetryPolicy(max_attempts=0)
        Traceback (most recent call last):
        ...
        erpsa_sdk.errors.ConfigurationError: max_attempts must be >= 1, got 0
    """

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    initial_delay: float = INITIAL_RETRY_DELAY
    max_delay: float = MAX_RETRY_DELAY
    max_retry_after: float = MAX_RETRY_AFTER
    budget: float = RETRY_BUDGET
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigurationError(f"max_attempts must be >= 1, got {self.max_attempts}")
        for name in ("initial_delay", "max_delay", "max_retry_after", "budget"):
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                raise ConfigurationError(f"{name} must be a finite number >= 0, got {value}")
        if not 0 <= self.jitter <= 1:
            raise ConfigurationError(f"jitter must be within 0..1, got {self.jitter}")


def parse_retry_after(
    value: str | None, *, now: datetime, cap: float = MAX_RETRY_AFTER
) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP-date), capped.

    Returns ``None`` when the header is missing or unreadable; a date in the past gives ``0``.

    Example:
        >>> from datetime import UTC, datetime
        >>> now = datetime(2026, 1, 1, tzinfo=UTC)
        >>> parse_retry_after(None, now=now) is None, parse_retry_after("soon", now=now) is None
        (True, True)
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT
            from datetime import UTC

            when = when.replace(tzinfo=UTC)
        seconds = (when - now).total_seconds()
    if not math.isfinite(seconds):
        return cap if seconds > 0 else None
    return min(max(seconds, 0.0), cap)


def retry_after_hint(error: BaseException) -> float | None:
    """The vendor's wait hint carried by an error (``RateLimited.retry_after`` or a 503's header).

    Example:
        >>> retry_after_hint(RateLimited("slow", status=429, retry_after=3.0))
        3.0
    """
    if isinstance(error, RateLimited) and error.retry_after is not None:
        return error.retry_after
    if isinstance(error, ErpsaError):
        hint = error.context.get("retry_after")
        return float(hint) if isinstance(hint, int | float) else None
    return None


def is_response_lost(error: BaseException) -> bool:
    """Whether the request may have reached the server but its answer never came back.

    True for a read / write timeout or a connection dropped after sending, and for a 504 from a
    gateway (the backend may have committed). A refused connection is not lost: nothing was sent.

    Example:
        >>> from erpsa_sdk.errors import Timeout
        >>> is_response_lost(Timeout("read timed out", response_lost=True))
        True
        >>> is_response_lost(Timeout("connect timed out", response_lost=False))
        False
    """
    if isinstance(error, TransportError):
        return bool(error.context.get("response_lost", False))
    return isinstance(error, ApiError) and error.status == 504


def is_retryable(error: BaseException) -> bool:
    """Whether an attempt that failed with ``error`` may be sent again (ignoring write safety).

    Example:
        >>> from erpsa_sdk.errors import ServerError, ValidationFailed
        >>> is_retryable(ServerError("x", status=503)), is_retryable(ServerError("x", status=501))
        (True, False)
        >>> is_retryable(ValidationFailed("x", status=400, retryable=True))
        True
    """
    if isinstance(error, TransportError):
        return True
    if isinstance(error, ApiError):
        if error.retryable is not None:
            return error.retryable
        if isinstance(error, QuotaExhausted):
            return False
        if isinstance(error, RateLimited):
            return True
        status = error.status
        return status is not None and (
            status in _RETRYABLE_STATUSES or (500 <= status < 600 and status != 501)
        )
    return False


def backoff_delay(policy: RetryPolicy, attempt: int, rand: float) -> float:
    """Jittered exponential backoff after failed attempt number ``attempt`` (1-based).

    ``rand`` is a number in [0, 1) from the caller's random source, so tests are deterministic.

    Example:
        >>> p = RetryPolicy(initial_delay=0.5, max_delay=8.0, jitter=0.0)
        >>> tuple(backoff_delay(p, n, 0.0) for n in (1, 2, 3, 6))
        (0.5, 1.0, 2.0, 8.0)
    """
    base = min(policy.max_delay, policy.initial_delay * 2.0 ** (attempt - 1))
    return base * (1.0 - policy.jitter * rand)


def needs_lookup(safety: WriteSafety | None, attempt: int) -> bool:
    """Whether attempt number ``attempt`` must first run the connector's look-up.

    Example:
        >>> tuple(needs_lookup(WriteSafety.LOOKUP_THEN_CREATE, n) for n in (1, 2))
        (False, True)
    """
    return safety is WriteSafety.LOOKUP_THEN_CREATE and attempt > 1


@dataclass(frozen=True)
class Verdict:
    """The decision after one failed attempt.

    Example:
        >>> Verdict(retry=False, delay=0.0, reason="not retryable").retry
        False
    """

    retry: bool
    delay: float
    reason: str
    final: BaseException | None = None
    """What to raise when ``retry`` is false (``None``: the attempt's own error)."""


def decide(
    *,
    policy: RetryPolicy,
    error: BaseException,
    attempt: int,
    waited: float,
    safety: WriteSafety | None,
    rand: float,
    what: str = "request",
) -> Verdict:
    """Decide whether to retry after attempt number ``attempt`` failed with ``error``.

    ``safety`` is ``None`` for reads (always retry-safe) and the declared
    :class:`WriteSafety` for writes. ``waited`` is the total already slept for this request.

    Example:
        >>> from erpsa_sdk.errors import ServerError, Timeout
        >>> p = RetryPolicy(jitter=0.0)
        >>> decide(policy=p, error=ServerError("x", status=503), attempt=1, waited=0.0,
        ...        safety=None, rand=0.0)
        Verdict(retry=True, delay=0.5, reason='status 503; backoff 0.50s', final=None)
        >>> v = decide(policy=p, error=Timeout("read", response_lost=True), attempt=1, waited=0.0,
        ...            safety=WriteSafety.UNSAFE, rand=0.0)
        >>> v.retry, type(v.final).__name__
        (False, 'IndeterminateWrite')
    """
    lost = is_response_lost(error)
    cause = _describe(error)

    def give_up(reason: str) -> Verdict:
        final: BaseException = error
        if safety is not None and lost:
            final = IndeterminateWrite(
                f"{what}: the response was lost after sending ({cause}); the write may or may "
                "not have taken effect - look the record up by its key before any new attempt",
                safety=safety.value,
            )
        return Verdict(retry=False, delay=0.0, reason=f"{cause}; {reason}", final=final)

    if safety is WriteSafety.UNSAFE:
        return give_up("the write is declared UNSAFE: never retried")
    if not is_retryable(error):
        return give_up("not retryable")
    if attempt >= policy.max_attempts:
        return give_up(f"attempts exhausted ({attempt}/{policy.max_attempts})")
    hint = retry_after_hint(error)
    if hint is not None:
        delay = min(hint, policy.max_retry_after)
        how = f"Retry-After {delay:.2f}s"
    else:
        delay = backoff_delay(policy, attempt, rand)
        how = f"backoff {delay:.2f}s"
    if waited + delay > policy.budget:
        return give_up(f"retry budget spent ({waited:.2f}s + {delay:.2f}s > {policy.budget}s)")
    return Verdict(retry=True, delay=delay, reason=f"{cause}; {how}")


def _describe(error: BaseException) -> str:
    if isinstance(error, ApiError) and error.status is not None:
        return f"status {error.status}"
    return type(error).__name__


@dataclass
class RetryController:
    """Adapts :func:`decide` to tenacity for one logical request (its state lives here).

    Use :meth:`tenacity_kwargs` with ``tenacity.Retrying`` or ``tenacity.AsyncRetrying`` and
    pass the client's clock sleep; every verdict is logged at debug on ``erpsa_sdk.http``.

    Example:
        >>> import tenacity
        >>> from erpsa_sdk.errors import ServerError
        >>> calls, slept = [], []
        >>> ctl = RetryController(policy=RetryPolicy(max_attempts=3), what="GET /x")
        >>> def attempt():
        ...     calls.append(1)
        ...     if len(calls) < 3:
        ...         raise ServerError("down", status=503)
        ...     return "ok"
        >>> tenacity.Retrying(sleep=slept.append, **ctl.tenacity_kwargs())(attempt)
        'ok'
        >>> len(calls), len(slept)
        (3, 2)
    """

    policy: RetryPolicy
    what: str = "request"
    safety: WriteSafety | None = None
    rng: random.Random = field(default_factory=random.Random)
    waited: float = 0.0
    last: Verdict | None = None
    describe: Callable[[], str] | None = None
    """Builds the request's description when a failure first needs it (instead of ``what``):
    a request that succeeds at once never pays for it."""

    def _what(self) -> str:
        if self.describe is not None:
            self.what = self.describe()
            self.describe = None
        return self.what

    def tenacity_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``tenacity.Retrying`` / ``AsyncRetrying`` (all but ``sleep``)."""
        return {
            "retry": self._retry,
            "wait": self._wait,
            "stop": self._stop,
            "retry_error_callback": self._give_up,
        }

    def _retry(self, state: Any) -> bool:
        outcome = state.outcome
        if outcome is None or not outcome.failed:
            return False
        error = outcome.exception()
        self.last = decide(
            policy=self.policy,
            error=error,
            attempt=state.attempt_number,
            waited=self.waited,
            safety=self.safety,
            rand=self.rng.random(),
            what=self._what(),
        )
        _LOG.debug(
            "%s attempt %d: %s -> %s",
            self.what,
            state.attempt_number,
            self.last.reason,
            "retry" if self.last.retry else "give up",
        )
        # Always "retry" from tenacity's point of view so that giving up goes through
        # _give_up, which raises the verdict's final error (e.g. IndeterminateWrite).
        return True

    def _wait(self, state: Any) -> float:
        return self.last.delay if self.last is not None else 0.0

    def _stop(self, state: Any) -> bool:
        if self.last is None or not self.last.retry:
            return True
        self.waited += self.last.delay
        return False

    def _give_up(self, state: Any) -> NoReturn:
        error = state.outcome.exception()
        final = self.last.final if self.last is not None else None
        if final is None or final is error:
            raise error
        raise final from error
