"""Seams the transport calls on every attempt: the governor hook.

The limits governor (``erpsa_sdk.limits``) implements :class:`GovernorHook`; the transport only
knows this protocol, so it never imports the governor and a test can pass a fake.

Example:
    >>> from erpsa_sdk.http.hooks import NoGovernor
    >>> gov = NoGovernor()
    >>> permit = gov.acquire()
    >>> gov.release(permit, throttled=False, retry_after=None)
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["GovernorHook", "NoGovernor"]


@runtime_checkable
class GovernorHook(Protocol):
    """Admits each attempt and hears how it ended.

    ``acquire`` blocks (on the governor's clock) until the attempt may be sent, or, with
    ``wait=False``, raises ``RateLimited(retry_at=...)`` at once. ``release`` (``arelease``
    from the async client) is called exactly once per acquired permit, with ``throttled=True``
    when the connector classified the answer as a throttle signal (a 429, a vendor throttle
    code), and the vendor's ``Retry-After`` when it sent one.

    Example:
        >>> isinstance(NoGovernor(), GovernorHook)
        True
    """

    def acquire(self, *, wait: bool = True) -> Any:
        """Block until admitted (or raise ``RateLimited`` when ``wait`` is false)."""
        ...

    async def aacquire(self, *, wait: bool = True) -> Any:
        """Async twin of :meth:`acquire`."""
        ...

    def release(self, permit: Any, *, throttled: bool, retry_after: float | None) -> None:
        """Return the permit and report whether the attempt was throttled."""
        ...

    async def arelease(self, permit: Any, *, throttled: bool, retry_after: float | None) -> None:
        """Async twin of :meth:`release`; a shared backend's call must not block the loop."""
        ...


class NoGovernor:
    """A governor that admits everything at once (the default when none is configured).

    Example:
        >>> NoGovernor().acquire() is None
        True
    """

    def acquire(self, *, wait: bool = True) -> None:
        return None

    async def aacquire(self, *, wait: bool = True) -> None:
        return None

    def release(self, permit: Any, *, throttled: bool, retry_after: float | None) -> None:
        return None

    async def arelease(self, permit: Any, *, throttled: bool, retry_after: float | None) -> None:
        return None
