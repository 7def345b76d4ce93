"""The adaptive part of the governor, as pure state machines (no clock, no I/O, no locks)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from erpsa_sdk.errors import ConfigurationError

__all__ = ["AdaptiveLimit", "AimdPolicy"]


@dataclass(frozen=True)
class AimdPolicy:
    """How the governor adapts to throttle signals (additive increase, multiplicative decrease).

    On a throttle signal the admitted number (concurrency, or requests per window) is multiplied
    by ``decrease``. Throttles of requests admitted before that cut belong to the same
    congestion event and do not cut again. The cap just below the throttled one is remembered
    as *safe*: climbing back to it takes ``recovery_period`` per step. Growing past it is a
    *probe*, allowed only after ``clean_period`` seconds **and** ``clean_requests`` clean
    answers at full use; counting answers as well as seconds keeps failed probes to about one
    per ``clean_requests`` requests whether a call takes 20 ms or 2 s. Each failed probe
    doubles both, up to ``max_backoff`` times (off by default: with co-tenants whose use
    changes every few seconds, slower probing costs more throughput than it saves 429s; raise
    it when the others' use is steady for hours); a probe that survives resets them. The level
    never exceeds the configured share.

    Parameters:
        decrease: factor applied on a throttle signal (0.5 halves).
        clean_period: minimum seconds of clean use before probing one step higher.
        clean_requests: minimum clean answers at full use before probing one step higher.
        recovery_period: seconds per step while climbing back to the last safe cap.
        max_backoff: how far repeated failed probes may stretch the probe period.

    Examples:
        >>> AimdPolicy().decrease
        0.5
    """

    decrease: float = 0.5
    clean_period: float = 2.0
    clean_requests: int = 150
    recovery_period: float = 0.1
    max_backoff: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.decrease < 1:
            raise ConfigurationError("AimdPolicy.decrease must be in (0, 1)")
        if not 0 <= self.recovery_period <= self.clean_period:
            raise ConfigurationError("AimdPolicy needs 0 <= recovery_period <= clean_period")
        if self.clean_requests < 0 or self.max_backoff < 1:
            raise ConfigurationError("AimdPolicy needs clean_requests >= 0 and max_backoff >= 1")


class AdaptiveLimit:
    """AIMD state for one number the governor admits (a concurrency or a window's request count).

    Feed it events with the time they happened; read :attr:`cap`. Pure and single-threaded:
    the governor calls it under its lock.

    Parameters:
        ceiling: the configured share; the level never goes above it.
        step: how much one additive increase adds (1 for concurrency).
        policy: the :class:`AimdPolicy`.
        now: the monotonic time the state starts at.

    Examples:
        >>> level = AdaptiveLimit(4, step=1, policy=AimdPolicy(), now=0.0)
        >>> level.cap
        4
        >>> level.throttled(now=1.0, admitted_epoch=level.epoch, in_flight=3)
        True
        >>> level.cap
        2
        >>> level.throttled(now=1.01, admitted_epoch=0, in_flight=1)  # same congestion event
        False
        >>> for t in (1.1, 1.2, 1.3):
        ...     level.admitted(in_use=2)
        ...     _ = level.succeeded(now=t)
        >>> level.cap  # climbed back to the safe level (3) after recovery_period
        3
    """

    def __init__(self, ceiling: float, *, step: float, policy: AimdPolicy, now: float) -> None:
        if ceiling < 1 or step <= 0:
            raise ConfigurationError("AdaptiveLimit needs ceiling >= 1 and step > 0")
        self.ceiling = float(ceiling)
        self.step = float(step)
        self.policy = policy
        self.level = float(ceiling)
        self.safe: int | None = None
        self.backoff = 1.0
        self._changed_at = now
        self.epoch = 0  # number of cuts so far; a permit remembers the epoch it was admitted in
        self._saturated = False
        self._clean = 0

    @property
    def cap(self) -> int:
        """The number admitted right now: the level rounded down, at least 1.

        Examples:
            >>> AdaptiveLimit(5, step=1, policy=AimdPolicy(), now=0.0).cap
            5
        """
        return max(1, math.floor(self.level))

    def admitted(self, *, in_use: int) -> None:
        """Record an admission that left ``in_use`` of the cap in use (saturation tracking).

        Only a level that was used in full can prove it is safe to grow.

        Examples:
            >>> AdaptiveLimit(5, step=1, policy=AimdPolicy(), now=0.0).admitted(in_use=5)
        """
        if in_use >= self.cap:
            self._saturated = True

    def succeeded(self, *, now: float) -> bool:
        """Record a clean answer; grow one step if a clean, saturated period has passed.

        Returns whether the cap may have grown.

        Examples:
            >>> level = AdaptiveLimit(5, step=1, policy=AimdPolicy(), now=0.0)
            >>> level.succeeded(now=1.0)  # already at the share: nothing to grow
            False
        """
        self._clean += 1
        if self.level >= self.ceiling or not self._saturated or self._clean < self.cap:
            return False
        # Compare whole caps: a level of 1.6 with a safe cap of 2 is climbing back, not probing.
        next_cap = max(1, math.floor(min(self.ceiling, self.level + self.step)))
        probing = self.safe is not None and next_cap > self.safe
        if probing:
            period = self.policy.clean_period * self.backoff
            if self._clean < self.policy.clean_requests * self.backoff:
                return False
        else:
            period = self.policy.recovery_period
        if now - self._changed_at < period:
            return False
        if self.safe is not None and self.cap > self.safe:
            # The current cap survived a whole probe period: it is safe now.
            self.safe = self.cap
            self.backoff = 1.0
        self.level = min(self.ceiling, self.level + self.step)
        self._mark_change(now)
        return True

    def throttled(self, *, now: float, admitted_epoch: int, in_flight: int | None) -> bool:
        """Record a throttle signal for a request admitted during epoch ``admitted_epoch``.

        ``in_flight`` is how many other requests under this limit were in flight (accepted)
        when the signal came, when known. Returns whether the level was cut.

        Examples:
            >>> level = AdaptiveLimit(6, step=1, policy=AimdPolicy(), now=0.0)
            >>> level.throttled(now=1.0, admitted_epoch=level.epoch, in_flight=5)
            True
            >>> level.cap, level.safe
            (3, 5)
        """
        if admitted_epoch < self.epoch:
            return False  # admitted before the last cut: same congestion event
        if self.safe is not None and self.cap > self.safe:
            self.backoff = min(self.policy.max_backoff, self.backoff * 2)
        safe = self.cap - max(1, math.floor(self.step))
        if in_flight is not None:
            safe = min(safe, in_flight)
        self.safe = max(1, safe)
        self.level = max(1.0, self.level * self.policy.decrease)
        self.epoch += 1
        self._mark_change(now)
        return True

    def _mark_change(self, now: float) -> None:
        self._changed_at = now
        self._saturated = False
        self._clean = 0

    def __repr__(self) -> str:
        return (
            f"AdaptiveLimit(cap={self.cap}, level={self.level:g}, safe={self.safe}, "
            f"ceiling={self.ceiling:g})"
        )
