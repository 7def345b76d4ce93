"""Time for everything: the :class:`Clock` protocol and :class:`SystemClock`.

Simulators, the limits governor, token expiry, ``Retry-After`` sleeps and the runner all take
a clock, so tests can run minutes of vendor time in milliseconds with a simulated clock.

Example:
    >>> from erpsa_sdk.clock import SystemClock
    >>> clock = SystemClock()
    >>> clock.now().tzinfo is not None
    True
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """What the SDK needs to know about time.

    Example:
        >>> isinstance(SystemClock(), Clock)
        True
    """

    def now(self) -> datetime:
        """The current time as an aware UTC datetime."""
        ...

    def time(self) -> float:
        """The current time as POSIX seconds."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds``."""
        ...

    async def asleep(self, seconds: float) -> None:
        """Suspend the calling task for ``seconds``."""
        ...


class SystemClock:
    """The real clock.

    Example:
        >>> SystemClock().monotonic() > 0
        True
    """

    def now(self) -> datetime:
        return datetime.now(UTC)

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))

    def __repr__(self) -> str:
        return "SystemClock()"
