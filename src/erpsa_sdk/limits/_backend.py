"""Where admissions are counted: the :class:`LimitBackend` protocol and the in-process backend."""

from __future__ import annotations

import bisect
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "InProcessBackend",
    "LimitBackend",
    "LimitSpec",
    "Verdict",
    "window_retry_at",
]


@dataclass(frozen=True)
class LimitSpec:
    """One counter the backend checks and records atomically with the others of a request.

    Parameters:
        key: the backend key (prefix, scope key and limit name).
        kind: ``"window"`` (a log of admissions, each expiring ``seconds`` after it) or
            ``"concurrency"`` (leases, each expiring ``seconds`` after it unless released).
        cap: how many entries may be live at once (the governor's current, adapted number).
        seconds: the window length, or the lease time of a concurrency slot.

    Examples:
        >>> LimitSpec("erpsa:account/TSTDRV1:concurrency-5", "concurrency", 5, 300.0).cap
        5
    """

    key: str
    kind: Literal["window", "concurrency"]
    cap: int
    seconds: float


@dataclass(frozen=True)
class Verdict:
    """The backend's answer to one admission attempt.

    Parameters:
        admitted: whether the request was admitted (and recorded under every spec).
        used: per spec, how many entries are live after this attempt.
        retry_at: when refused, the earliest POSIX time a retry can succeed, if known
            (``None`` when only a concurrency release can free a slot).
        reason: ``""``, ``"window"``, ``"concurrency"`` or ``"blocked"`` (``Retry-After``).

    Examples:
        >>> Verdict(admitted=False, used=(5,), retry_at=None, reason="concurrency").admitted
        False
    """

    admitted: bool
    used: tuple[int, ...] = ()
    retry_at: float | None = None
    reason: str = ""


@runtime_checkable
class LimitBackend(Protocol):
    """Counts admissions for a scope, atomically over all the limits of one request.

    Time always comes from the caller (``now`` is POSIX seconds from the caller's clock), so a
    backend never reads its own clock and tests can drive it with a ``SimClock``. Window
    entries expire at ``now + seconds``; a request is refused when ``cap`` entries with an
    expiry later than ``now`` are live. Concurrency leases expire the same way, so a crashed
    process does not hold its slots forever.

    ``poll_interval`` is how often a waiting governor must re-check on its own: ``None`` when
    the backend calls the callbacks given to :meth:`subscribe` whenever a slot is released.

    Examples:
        >>> isinstance(InProcessBackend(), LimitBackend)
        True
    """

    poll_interval: float | None

    def acquire(
        self, specs: Sequence[LimitSpec], *, now: float, member: str, block_key: str
    ) -> Verdict:
        """Admit and record ``member`` under every spec, or refuse without recording anything."""
        ...

    def release(self, specs: Sequence[LimitSpec], *, now: float, member: str) -> None:
        """Free ``member``'s concurrency leases (window entries stay until they expire)."""
        ...

    def block(self, block_key: str, *, until: float, now: float) -> None:
        """Refuse every admission under ``block_key`` until ``until`` (a ``Retry-After``)."""
        ...

    async def aacquire(
        self, specs: Sequence[LimitSpec], *, now: float, member: str, block_key: str
    ) -> Verdict:
        """Async twin of :meth:`acquire`."""
        ...

    async def arelease(self, specs: Sequence[LimitSpec], *, now: float, member: str) -> None:
        """Async twin of :meth:`release`."""
        ...

    async def ablock(self, block_key: str, *, until: float, now: float) -> None:
        """Async twin of :meth:`block`."""
        ...

    def subscribe(self, callback: Callable[[], None]) -> None:
        """Ask to be called (from any thread) after each release; a no-op for polled backends."""
        ...


def window_retry_at(expiries: Sequence[float], *, cap: int, now: float) -> tuple[int, float | None]:
    """Live entries of a window log and, when full, the time a new entry fits.

    ``expiries`` is sorted; an entry is live while ``expiry > now``. A window holding ``m``
    live entries and a cap of ``n`` admits again when the oldest ``m - n + 1`` have expired,
    that is at entry ``m - n`` (0-based among the live ones).

    Examples:
        >>> window_retry_at([10.0, 11.0, 12.0], cap=3, now=9.0)
        (3, 10.0)
        >>> window_retry_at([10.0, 11.0, 12.0], cap=3, now=10.0)  # 10.0 just expired
        (2, None)
        >>> window_retry_at([10.0, 11.0, 12.0], cap=1, now=9.0)
        (3, 12.0)
    """
    first_live = bisect.bisect_right(expiries, now)
    live = len(expiries) - first_live
    if live < cap:
        return live, None
    return live, expiries[first_live + live - cap]


@dataclass
class _Key:
    expiries: list[float] = field(default_factory=list)  # window log, sorted
    leases: dict[str, float] = field(default_factory=dict)  # concurrency: member -> expiry


class InProcessBackend:
    """Counts admissions in this process (threads and tasks of one interpreter).

    Share one instance between governors that must share a budget in the same process.
    Releases wake waiting governors at once, so nobody polls.

    Examples:
        >>> backend = InProcessBackend()
        >>> spec = LimitSpec("k", "concurrency", 1, 60.0)
        >>> backend.acquire([spec], now=0.0, member="a", block_key="b").admitted
        True
        >>> backend.acquire([spec], now=0.0, member="b", block_key="b").reason
        'concurrency'
        >>> backend.release([spec], now=1.0, member="a")
        >>> backend.acquire([spec], now=1.0, member="b", block_key="b").used
        (1,)
    """

    poll_interval: float | None = None

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[str, _Key] = {}
        self._blocks: dict[str, float] = {}
        self._listeners: list[weakref.WeakMethod[Callable[[], None]] | Callable[[], None]] = []

    def acquire(
        self, specs: Sequence[LimitSpec], *, now: float, member: str, block_key: str
    ) -> Verdict:
        """Admit and record ``member`` under every spec, or refuse without recording anything.

        Examples:
            >>> backend, spec = InProcessBackend(), LimitSpec("k", "window", 1, 10.0)
            >>> backend.acquire([spec], now=0.0, member="a", block_key="b").admitted
            True
            >>> backend.acquire([spec], now=5.0, member="b", block_key="b").retry_at
            10.0
        """
        with self._lock:
            until = self._blocks.get(block_key)
            if until is not None and until > now:
                return Verdict(False, (), until, "blocked")
            used: list[int] = []
            retry_at: float | None = None
            reason = ""
            for spec in specs:
                state = self._keys.setdefault(spec.key, _Key())
                if spec.kind == "window":
                    # Keep entries for one extra window: a caller whose `now` is a little older
                    # than the last one seen must still count them.
                    del state.expiries[: bisect.bisect_right(state.expiries, now - spec.seconds)]
                    live, at = window_retry_at(state.expiries, cap=spec.cap, now=now)
                    if at is not None:
                        reason = reason or "window"
                        retry_at = at if retry_at is None else max(retry_at, at)
                else:
                    for name in [m for m, exp in state.leases.items() if exp <= now]:
                        del state.leases[name]
                    live = len(state.leases)
                    if live >= spec.cap:
                        reason = "concurrency"
                used.append(live)
            if reason:
                return Verdict(
                    False, tuple(used), None if reason == "concurrency" else retry_at, reason
                )
            for spec in specs:
                state = self._keys[spec.key]
                if spec.kind == "window":
                    bisect.insort(state.expiries, now + spec.seconds)
                else:
                    state.leases[member] = now + spec.seconds
            return Verdict(True, tuple(n + 1 for n in used))

    def release(self, specs: Sequence[LimitSpec], *, now: float, member: str) -> None:
        """Free ``member``'s concurrency leases and wake subscribed governors.

        Examples:
            >>> backend, spec = InProcessBackend(), LimitSpec("k", "concurrency", 1, 60.0)
            >>> _ = backend.acquire([spec], now=0.0, member="a", block_key="b")
            >>> backend.release([spec], now=1.0, member="a")
            >>> backend.acquire([spec], now=1.0, member="c", block_key="b").admitted
            True
        """
        with self._lock:
            for spec in specs:
                if spec.kind == "concurrency" and spec.key in self._keys:
                    self._keys[spec.key].leases.pop(member, None)
            self._drop_dead_listeners()
            listeners = list(self._listeners)
        for ref in listeners:
            callback = ref() if isinstance(ref, weakref.WeakMethod) else ref
            if callback is not None:
                callback()

    def _drop_dead_listeners(self) -> None:
        # Governors come and go over one shared backend: forget those garbage-collected.
        self._listeners = [
            ref
            for ref in self._listeners
            if not isinstance(ref, weakref.WeakMethod) or ref() is not None
        ]

    def block(self, block_key: str, *, until: float, now: float) -> None:
        """Refuse every admission under ``block_key`` until ``until``.

        Examples:
            >>> backend, spec = InProcessBackend(), LimitSpec("k", "concurrency", 5, 60.0)
            >>> backend.block("b", until=30.0, now=0.0)
            >>> backend.acquire([spec], now=10.0, member="a", block_key="b").reason
            'blocked'
        """
        with self._lock:
            if self._blocks.get(block_key, -1.0) < until:
                self._blocks[block_key] = until

    async def aacquire(
        self, specs: Sequence[LimitSpec], *, now: float, member: str, block_key: str
    ) -> Verdict:
        """Async twin of :meth:`acquire` (never blocks: the lock is only held to count).

        Examples:
            >>> import asyncio
            >>> backend, spec = InProcessBackend(), LimitSpec("k", "concurrency", 1, 60.0)
            >>> asyncio.run(backend.aacquire([spec], now=0, member="a", block_key="b")).used
            (1,)
        """
        return self.acquire(specs, now=now, member=member, block_key=block_key)

    async def arelease(self, specs: Sequence[LimitSpec], *, now: float, member: str) -> None:
        """Async twin of :meth:`release`.

        Examples:
            >>> import asyncio
            >>> asyncio.run(InProcessBackend().arelease([], now=0.0, member="a"))
        """
        self.release(specs, now=now, member=member)

    async def ablock(self, block_key: str, *, until: float, now: float) -> None:
        """Async twin of :meth:`block`.

        Examples:
            >>> import asyncio
            >>> asyncio.run(InProcessBackend().ablock("b", until=5.0, now=0.0))
        """
        self.block(block_key, until=until, now=now)

    def subscribe(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after each release (held weakly when it is a bound method).

        Examples:
            >>> backend, seen = InProcessBackend(), []
            >>> backend.subscribe(lambda: seen.append("released"))
            >>> backend.release([], now=0.0, member="a")
            >>> seen
            ['released']
        """
        with self._lock:
            self._drop_dead_listeners()
            if hasattr(callback, "__self__"):
                self._listeners.append(weakref.WeakMethod(callback))
            else:
                self._listeners.append(callback)

    def __repr__(self) -> str:
        return f"InProcessBackend(keys={len(self._keys)}, listeners={len(self._listeners)})"
