"""The governor: admits, delays or refuses each attempt, and adapts to throttle signals."""

from __future__ import annotations

import itertools
import logging
import threading
import uuid
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from erpsa_sdk.clock import Clock, SystemClock
from erpsa_sdk.errors import ConfigurationError, RateLimited, TransportError
from erpsa_sdk.limits._aimd import AdaptiveLimit, AimdPolicy
from erpsa_sdk.limits._backend import InProcessBackend, LimitBackend, LimitSpec, Verdict
from erpsa_sdk.limits._declarations import Limit, Scope, SlidingWindow, share_of

__all__ = ["Governor", "Permit"]

logger = logging.getLogger("erpsa_sdk.limits")


@dataclass(frozen=True)
class Permit:
    """Proof that one attempt was admitted; hand it back to :meth:`Governor.release`.

    Attributes:
        id: a random id (the lease member in the backend).
        admitted_at: the POSIX time (governor's clock) the backend recorded the admission at.

    Examples:
        >>> from erpsa_sdk.clock import SimClock
        >>> from erpsa_sdk.limits import Concurrency, Governor, Limit, Scope, ScopeKind
        >>> gov = Governor([Limit(Concurrency(2), ScopeKind.ACCOUNT)],
        ...                scopes=Scope.account("A1"), clock=SimClock())
        >>> permit = gov.acquire()
        >>> permit.admitted_at == gov.clock.time()
        True
        >>> gov.release(permit, throttled=False, retry_after=None)
    """

    id: str
    admitted_at: float
    epochs: tuple[int, ...] = field(default=(), repr=False, compare=False)


class _Ticket:
    """A place in the governor's queue; ``go`` is set when its holder should try again."""

    __slots__ = ("go",)

    def __init__(self) -> None:
        self.go = False


@dataclass
class _Bound:
    limit: Limit
    scope: Scope
    spec_kind: Literal["window", "concurrency"]
    seconds: float
    adaptive: AdaptiveLimit | None


class Governor:
    """Wraps every attempt to a vendor: admits it, delays it, or refuses it with ``retry_at``.

    The connector declares its vendor's limits (:class:`Limit`) and the caller binds them to
    concrete scopes (:class:`Scope`). The SDK uses only ``share`` of each declared number; a
    throttle signal (a 429, a vendor throttle code, a misleading error the connector
    classified as throttling) halves the admitted concurrency and rate, and clean periods grow
    them back slowly (:class:`AimdPolicy`), never above the share. A ``Retry-After`` blocks all
    admissions in the scope until it has passed. Waiting happens on the clock, so a
    :class:`~erpsa_sdk.clock.SimClock` drives the whole thing in tests.

    Implements the transport's :class:`~erpsa_sdk.http.hooks.GovernorHook`: ``acquire`` /
    ``aacquire`` before each attempt, ``release`` (or ``arelease``) after it, exactly once.

    Parameters:
        limits: the connector's declared limits.
        scopes: the scope values; one per scope kind the limits use.
        share: the fraction (0, 1] of every declared number this SDK instance may use.
        clock: the clock to wait on (default: the system clock).
        backend: where admissions are counted (default: a private in-process backend).
            Governors that share a backend and scopes share one budget.
        policy: the AIMD tuning.
        prefix: the backend key prefix (one per deployment, or per test).
        lease_seconds: a concurrency slot is freed by itself this long after admission, in
            case its process died; keep it above your longest request timeout.
        max_block: cap on how long one ``Retry-After`` may block admissions.
        max_wait: the most a waiting caller waits in total (a retry budget); when admission
            would come later, ``acquire`` raises ``RateLimited`` instead. ``None``: no limit.

    Examples:
        >>> from erpsa_sdk.clock import SimClock
        >>> from erpsa_sdk.errors import RateLimited
        >>> from erpsa_sdk.limits import Governor, Limit, Scope, ScopeKind, SlidingWindow
        >>> clock = SimClock()
        >>> gov = Governor([Limit(SlidingWindow(2, 10), ScopeKind.ACCOUNT)],
        ...                scopes=[Scope.account("TSTDRV1")], clock=clock)
        >>> for _ in range(2):
        ...     gov.release(gov.acquire(), throttled=False, retry_after=None)
        >>> try:
        ...     gov.acquire(wait=False)
        ... except RateLimited as exc:
        ...     print(exc.retry_after, exc.retry_at.isoformat())
        10.0 2026-01-01T00:00:10+00:00
    """

    def __init__(
        self,
        limits: Sequence[Limit],
        *,
        scopes: Scope | Iterable[Scope],
        share: float = 1.0,
        clock: Clock | None = None,
        backend: LimitBackend | None = None,
        policy: AimdPolicy | None = None,
        prefix: str = "erpsa:limits:",
        lease_seconds: float = 300.0,
        max_block: float = 900.0,
        max_wait: float | None = None,
    ) -> None:
        if not limits:
            raise ConfigurationError("a Governor needs at least one Limit")
        if lease_seconds <= 0 or max_block <= 0 or (max_wait is not None and max_wait < 0):
            raise ConfigurationError("lease_seconds and max_block must be > 0, max_wait >= 0")
        by_kind = {s.kind: s for s in ([scopes] if isinstance(scopes, Scope) else scopes)}
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.backend: LimitBackend = backend if backend is not None else InProcessBackend()
        self.policy = policy if policy is not None else AimdPolicy()
        self.share = share
        self._max_block = max_block
        self._lease_seconds = float(lease_seconds)
        self._max_wait = max_wait
        now = self.clock.monotonic()
        self._bound: list[_Bound] = []
        for limit in limits:
            scope = by_kind.get(limit.scope)
            if scope is None:
                raise ConfigurationError(
                    f"limit {limit.name} is counted per {limit.scope.value}: pass a Scope of "
                    "that kind in scopes="
                )
            ceiling = share_of(limit.kind, share)
            kind: Literal["window", "concurrency"]
            if isinstance(limit.kind, SlidingWindow):
                step = max(1.0, ceiling / 20)
                kind, seconds = "window", float(limit.kind.seconds)
            else:  # Concurrency and Reactive both bound requests in flight
                step = 1.0
                kind, seconds = "concurrency", float(lease_seconds)
            adaptive = AdaptiveLimit(ceiling, step=step, policy=self.policy, now=now)
            self._bound.append(_Bound(limit, scope, kind, seconds, adaptive))
        scope_keys = sorted({b.scope.key for b in self._bound})
        self._key_base = [f"{prefix}{b.scope.key}:{b.limit.kind.label}" for b in self._bound]
        self._block_key = f"{prefix}{'|'.join(scope_keys)}:retry-after"
        # Lease members must be unique across processes: a random id per governor + a counter.
        self._id = uuid.uuid4().hex[:16]
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self._queue: deque[_Ticket] = deque()
        self._in_flight: dict[str, Permit] = {}
        self.backend.subscribe(self._on_backend_release)

    # -- inspection --------------------------------------------------------------------------

    @property
    def caps(self) -> dict[str, int]:
        """The number currently admitted per limit (after share and adaptation).

        Examples:
            >>> from erpsa_sdk.limits import Concurrency, Governor, Limit, Scope, ScopeKind
            >>> gov = Governor([Limit(Concurrency(10), ScopeKind.ACCOUNT)],
            ...                scopes=Scope.account("A"), share=0.5)
            >>> gov.caps
            {'account:concurrency-10': 5}
        """
        with self._lock:
            return {b.limit.name: self._cap(b) for b in self._bound}

    @property
    def in_flight(self) -> int:
        """Permits this governor handed out and has not had back yet.

        Examples:
            >>> from erpsa_sdk.limits import Concurrency, Governor, Limit, Scope, ScopeKind
            >>> limits = [Limit(Concurrency(3), ScopeKind.ACCOUNT)]
            >>> gov = Governor(limits, scopes=Scope.account("A"))
            >>> permit = gov.acquire()
            >>> gov.in_flight
            1
        """
        return len(self._in_flight)

    def _cap(self, bound: _Bound) -> int:
        assert bound.adaptive is not None
        return bound.adaptive.cap

    def _member(self) -> str:
        return f"{self._id}-{next(self._counter)}"

    def _specs(self) -> list[LimitSpec]:
        with self._lock:
            return [
                LimitSpec(key, b.spec_kind, self._cap(b), b.seconds)
                for key, b in zip(self._key_base, self._bound, strict=True)
            ]

    # -- the pure part of one attempt --------------------------------------------------------

    def _timeout(self, verdict: Verdict, now: float) -> float | None:
        waits = [self.backend.poll_interval] if self.backend.poll_interval is not None else []
        if verdict.reason == "concurrency":
            # A release wakes us; a leaked permit only frees its slot when its lease expires.
            waits.append(self._lease_seconds)
        if verdict.retry_at is not None:
            # At least 1 µs: POSIX floats near 2026 step by ~0.24 µs, so a wait shorter than
            # that could leave `now` unchanged and ask again forever.
            waits.append(max(verdict.retry_at - now, 1e-6))
        return min(waits) if waits else None

    def _deadline(self) -> float | None:
        return None if self._max_wait is None else self.clock.time() + self._max_wait

    def _left(self, deadline: float | None) -> float | None:
        return None if deadline is None else max(deadline - self.clock.time(), 0.0)

    def _plan(self, verdict: Verdict, now: float, deadline: float | None) -> float | None:
        """How long the head waits after a refusal; raise when that breaks ``max_wait``."""
        timeout = self._timeout(verdict, now)
        if deadline is None:
            return timeout
        if now >= deadline or (verdict.retry_at is not None and verdict.retry_at > deadline):
            raise self._refusal(verdict, now, note=f" (max_wait={self._max_wait:g}s)")
        return deadline - now if timeout is None else min(timeout, deadline - now)

    def _refusal(self, verdict: Verdict, now: float, note: str = "") -> RateLimited:
        names = ", ".join(b.limit.name for b in self._bound)
        scopes = ", ".join(sorted({b.scope.key for b in self._bound}))
        what = {
            "blocked": "the vendor asked to wait (Retry-After)",
            "window": "the request window is full",
            "concurrency": "every concurrency slot is in use",
            "max_wait": f"no admission within max_wait={self._max_wait}s",
        }.get(verdict.reason, "no capacity")
        retry_at = verdict.retry_at
        return RateLimited(
            f"governor refused the attempt: {what}{note} [{names}] for {scopes}",
            retry_after=None if retry_at is None else max(retry_at - now, 0.0),
            retry_at=None if retry_at is None else datetime.fromtimestamp(retry_at, UTC),
            retryable=True,
        )

    def _leave_queue(self, ticket: _Ticket) -> None:
        with self._lock:
            was_head = bool(self._queue) and self._queue[0] is ticket
            if ticket in self._queue:
                self._queue.remove(ticket)
            if was_head and self._queue:
                self._queue[0].go = True

    def _join_queue(self) -> _Ticket:
        ticket = _Ticket()
        with self._lock:
            self._queue.append(ticket)
            if self._queue[0] is ticket:
                ticket.go = True
        return ticket

    def _is_head(self, ticket: _Ticket) -> bool:
        with self._lock:
            return self._queue[0] is ticket

    def _pass_on(self, ticket: _Ticket, verdict: Verdict) -> None:
        """After an admission: leave the queue and let the next waiter try, if it can succeed.

        When only concurrency limits are full and the backend announces releases, the next
        waiter would just be refused: leave it asleep until a release wakes it.
        """
        with self._lock:
            self._queue.remove(ticket)
            if not self._queue:
                return
            hopeless = self.backend.poll_interval is None and any(
                b.spec_kind == "concurrency" and used >= b.adaptive.cap  # type: ignore[union-attr]
                for b, used in zip(self._bound, verdict.used, strict=True)
            )
            if hopeless:
                return
            self._queue[0].go = True
        self.clock.notify()

    def _wake_head(self) -> None:
        with self._lock:
            if self._queue:
                self._queue[0].go = True
        self.clock.notify()

    def _on_backend_release(self) -> None:
        self._wake_head()

    # -- sync ------------------------------------------------------------------------------

    def acquire(self, *, wait: bool = True) -> Permit:
        """Block until the attempt may be sent and return its :class:`Permit`.

        With ``wait=False`` it never sleeps: it admits at once or raises
        :class:`~erpsa_sdk.errors.RateLimited` whose ``retry_at`` is the earliest time a retry
        can be admitted (``None`` when only a running request finishing can free a slot).
        Waiters are admitted first come, first served; with ``max_wait`` set, a waiter that
        would be admitted later than that raises ``RateLimited`` as soon as that is known.

        Examples:
            >>> from erpsa_sdk.clock import SimClock
            >>> from erpsa_sdk.limits import Governor, Limit, Scope, ScopeKind, SlidingWindow
            >>> clock = SimClock(autojump=True)
            >>> gov = Governor([Limit(SlidingWindow(1, 30), ScopeKind.ACCOUNT)],
            ...                scopes=Scope.account("A"), clock=clock)
            >>> first, second = gov.acquire(), gov.acquire()  # the second waits 30 s
            >>> second.admitted_at - first.admitted_at
            30.0
        """
        if not wait:
            now, member = self.clock.time(), self._member()
            verdict = self.backend.acquire(
                self._specs(), now=now, member=member, block_key=self._block_key
            )
            if verdict.admitted:
                return self._admitted_as(verdict, now, member)
            raise self._refusal(verdict, now)
        deadline = self._deadline()
        ticket = self._join_queue()
        try:
            while True:
                if not self.clock.wait(lambda: ticket.go, self._left(deadline)):
                    now = self.clock.time()
                    raise self._refusal(Verdict(False, reason="max_wait"), now)
                ticket.go = False
                if not self._is_head(ticket):
                    continue
                now = self.clock.time()
                member = self._member()
                verdict = self.backend.acquire(
                    self._specs(), now=now, member=member, block_key=self._block_key
                )
                if verdict.admitted:
                    self._pass_on(ticket, verdict)
                    return self._admitted_as(verdict, now, member)
                timeout = self._plan(verdict, now, deadline)
                if not self.clock.wait(lambda: ticket.go, timeout):
                    ticket.go = True  # timed out: time to look again
        except BaseException:
            self._leave_queue(ticket)
            self.clock.notify()
            raise

    def release(self, permit: Permit, *, throttled: bool, retry_after: float | None) -> None:
        """Hand back a permit; report whether the attempt was throttled and any Retry-After.

        Releasing the same permit twice does nothing the second time. If the backend cannot be
        reached, the failure is logged, not raised: the slot's lease expires by itself.

        Examples:
            >>> from erpsa_sdk.clock import SimClock
            >>> from erpsa_sdk.limits import Concurrency, Governor, Limit, Scope, ScopeKind
            >>> gov = Governor([Limit(Concurrency(4), ScopeKind.ACCOUNT)],
            ...                scopes=Scope.account("A"), clock=SimClock())
            >>> gov.release(gov.acquire(), throttled=True, retry_after=None)  # a 429
            >>> gov.caps
            {'account:concurrency-4': 2}
        """
        if not self._forget(permit):
            return
        now = self.clock.time()
        until = self._block_until(retry_after, now)
        try:
            self.backend.release(self._specs(), now=now, member=permit.id)
            if until is not None:
                self.backend.block(self._block_key, until=until, now=now)
        except TransportError as exc:
            # Never hide the vendor's answer behind a backend failure: the lease expires anyway.
            logger.warning("limits: backend release failed (%s); the lease will expire", exc)
        self._adapt(permit, throttled=throttled)

    # -- async -----------------------------------------------------------------------------

    async def aacquire(self, *, wait: bool = True) -> Permit:
        """Async twin of :meth:`acquire`.

        Examples:
            >>> import asyncio
            >>> from erpsa_sdk.limits import Concurrency, Governor, Limit, Scope, ScopeKind
            >>> limits = [Limit(Concurrency(1), ScopeKind.ACCOUNT)]
            >>> gov = Governor(limits, scopes=Scope.account("A"))
            >>> permit = asyncio.run(gov.aacquire())
            >>> gov.in_flight
            1
        """
        if not wait:
            now, member = self.clock.time(), self._member()
            verdict = await self.backend.aacquire(
                self._specs(), now=now, member=member, block_key=self._block_key
            )
            if verdict.admitted:
                return self._admitted_as(verdict, now, member)
            raise self._refusal(verdict, now)
        deadline = self._deadline()
        ticket = self._join_queue()
        try:
            while True:
                if not await self.clock.await_for(lambda: ticket.go, self._left(deadline)):
                    now = self.clock.time()
                    raise self._refusal(Verdict(False, reason="max_wait"), now)
                ticket.go = False
                if not self._is_head(ticket):
                    continue
                now = self.clock.time()
                member = self._member()
                verdict = await self.backend.aacquire(
                    self._specs(), now=now, member=member, block_key=self._block_key
                )
                if verdict.admitted:
                    self._pass_on(ticket, verdict)
                    return self._admitted_as(verdict, now, member)
                timeout = self._plan(verdict, now, deadline)
                if not await self.clock.await_for(lambda: ticket.go, timeout):
                    ticket.go = True
        except BaseException:
            self._leave_queue(ticket)
            self.clock.notify()
            raise

    async def arelease(self, permit: Permit, *, throttled: bool, retry_after: float | None) -> None:
        """Async twin of :meth:`release` (the backend call does not block the event loop).

        Examples:
            >>> import asyncio
            >>> from erpsa_sdk.limits import Concurrency, Governor, Limit, Scope, ScopeKind
            >>> limits = [Limit(Concurrency(1), ScopeKind.ACCOUNT)]
            >>> gov = Governor(limits, scopes=Scope.account("A"))
            >>> async def call() -> int:
            ...     permit = await gov.aacquire()
            ...     await gov.arelease(permit, throttled=False, retry_after=None)
            ...     return gov.in_flight
            >>> asyncio.run(call())
            0
        """
        if not self._forget(permit):
            return
        now = self.clock.time()
        until = self._block_until(retry_after, now)
        try:
            await self.backend.arelease(self._specs(), now=now, member=permit.id)
            if until is not None:
                await self.backend.ablock(self._block_key, until=until, now=now)
        except TransportError as exc:
            logger.warning("limits: backend release failed (%s); the lease will expire", exc)
        self._adapt(permit, throttled=throttled)

    # -- shared steps ------------------------------------------------------------------------

    def _admitted_as(self, verdict: Verdict, now: float, member: str) -> Permit:
        with self._lock:
            epochs = []
            for bound, used in zip(self._bound, verdict.used, strict=True):
                assert bound.adaptive is not None
                bound.adaptive.admitted(in_use=used)
                epochs.append(bound.adaptive.epoch)
            permit = Permit(member, now, tuple(epochs))
            self._in_flight[permit.id] = permit
        return permit

    def _forget(self, permit: Permit) -> bool:
        with self._lock:
            return self._in_flight.pop(permit.id, None) is not None

    def _block_until(self, retry_after: float | None, now: float) -> float | None:
        if retry_after is None or retry_after <= 0:
            return None
        wait = min(retry_after, self._max_block)
        logger.debug("limits: honouring Retry-After of %.3fs (asked %.3fs)", wait, retry_after)
        return now + wait

    def _adapt(self, permit: Permit, *, throttled: bool) -> None:
        mono = self.clock.monotonic()
        with self._lock:
            others = len(self._in_flight)
            for bound, epoch in zip(self._bound, permit.epochs, strict=True):
                assert bound.adaptive is not None
                if throttled:
                    in_flight = others if bound.spec_kind == "concurrency" else None
                    before = bound.adaptive.cap
                    if bound.adaptive.throttled(
                        now=mono, admitted_epoch=epoch, in_flight=in_flight
                    ):
                        logger.debug(
                            "limits: throttle signal on %s, cap %d -> %d",
                            bound.limit.name,
                            before,
                            bound.adaptive.cap,
                        )
                else:
                    bound.adaptive.succeeded(now=mono)
            if self._queue:
                self._queue[0].go = True
        self.clock.notify()

    def __repr__(self) -> str:
        caps = ", ".join(f"{name}={cap}" for name, cap in self.caps.items())
        return f"Governor({caps}, share={self.share:g}, in_flight={self.in_flight})"
