"""Small fakes shared by the transport tests: a clock that records sleeps, a counting governor."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from erpsa_sdk.errors import RateLimited


class StepClock:
    """A clock that never really sleeps: sleeping just moves its time forward."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
        self._mono = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self._now

    def time(self) -> float:
        return self._now.timestamp()

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._mono += seconds

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    async def asleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)


@dataclass
class CountingGovernor:
    """Implements GovernorHook; records every acquire / release."""

    acquired: int = 0
    released: list[tuple[bool, float | None]] = field(default_factory=list)
    refuse: bool = False

    def acquire(self, *, wait: bool = True) -> Any:
        if self.refuse:
            raise RateLimited("governor refused", retry_after=1.0)
        self.acquired += 1
        return self.acquired

    async def aacquire(self, *, wait: bool = True) -> Any:
        return self.acquire(wait=wait)

    def release(self, permit: Any, *, throttled: bool, retry_after: float | None) -> None:
        self.released.append((throttled, retry_after))

    async def arelease(self, permit: Any, *, throttled: bool, retry_after: float | None) -> None:
        self.release(permit, throttled=throttled, retry_after=retry_after)
