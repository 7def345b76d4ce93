"""The last line of fencing: refuse to *send* a write once this worker's lease may be gone.

The fence makes the state store refuse a stale worker's commits, but a target API knows nothing
of fences. A worker frozen (SIGSTOP, a paused VM, a long GC) in the middle of a write resumes
and would finish it while another worker already holds the lease. :func:`lease_guard` checks,
right before a request leaves, that the running lease has not lapsed by this worker's own clock
(its renewals stopped while it was frozen). A lapsed lease is not the end by itself: when the
run gave its :class:`LeaseState` a ``renew`` hook, the guard asks the state store, which renews
only if nobody took the lease over (the fence decides); otherwise the write is refused.
:class:`FencedTransport` calls the guard before every write request of a connector. The window
that remains is the instant between that check and the bytes leaving the socket.

Examples:
    >>> from erpsa_sdk.sync import lease_guard
    >>> lease_guard()  # outside a run: nothing to check
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import httpx2

from erpsa_sdk.clock import Clock
from erpsa_sdk.errors import LeaseLost
from erpsa_sdk.sync._records import Lease

__all__ = ["FencedTransport", "LeaseState", "lease_guard", "lease_scope"]

_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class LeaseState:
    """The lease of the run in progress, as its heartbeat last renewed it.

    ``margin`` is how long before the stored expiry the worker stops sending (room for clock
    skew between workers). ``renew``, when set, asks the state store to renew the lease: it
    updates ``lease`` or raises :class:`~erpsa_sdk.errors.LeaseLost` when the lease was taken
    over. The guard calls it before refusing a write because of time alone.

    Examples:
        >>> from erpsa_sdk.clock import SimClock
        >>> state = LeaseState(Lease("p", "me", 1, expires_at=100.0), SimClock(), margin=10.0)
        >>> state.lapsed_by(now=95.0)
        5.0
    """

    lease: Lease
    clock: Clock
    margin: float
    lost: LeaseLost | None = field(default=None)
    renew: Callable[[], None] | None = field(default=None, repr=False)

    def lapsed_by(self, *, now: float) -> float:
        """Seconds past the point where sending must stop (``<= 0``: still safe)."""
        return now - (self.lease.expires_at - self.margin)


_STATE: ContextVar[LeaseState | None] = ContextVar("erpsa_sync_lease", default=None)


def current_lease_state() -> LeaseState | None:
    """The running lease of this context (writer threads inherit it), or ``None``.

    Examples:
        >>> current_lease_state() is None
        True
    """
    return _STATE.get()


def set_lease_state(state: LeaseState | None) -> None:
    """Attach a run's lease to the current context (the runner does this).

    Examples:
        >>> set_lease_state(None)
    """
    _STATE.set(state)


@contextmanager
def lease_scope(state: LeaseState | None) -> Iterator[None]:
    """Attach a run's lease to the current context for a block, then restore the previous one.

    Writer threads started with a copy of this context inherit it (the runner does this).

    Examples:
        >>> from erpsa_sdk.clock import SimClock
        >>> state = LeaseState(Lease("p", "me", 1, expires_at=100.0), SimClock(), margin=10.0)
        >>> with lease_scope(state):
        ...     current_lease_state() is state
        True
        >>> current_lease_state() is None
        True
    """
    token = _STATE.set(state)
    try:
        yield
    finally:
        _STATE.reset(token)


def lease_guard() -> None:
    """Raise :class:`~erpsa_sdk.errors.LeaseLost` if the current run may no longer write.

    Call it immediately before sending a write. Outside a run it does nothing.

    Examples:
        >>> from erpsa_sdk.clock import SimClock
        >>> clock = SimClock()
        >>> set_lease_state(LeaseState(Lease("p", "me", 3, clock.time() + 30), clock, 10.0))
        >>> lease_guard()
        >>> clock.advance(25)
        >>> lease_guard()
        Traceback (most recent call last):
        ...
        erpsa_sdk.errors.LeaseLost: lease 'p' (fence 3) lapsed 5.0s ago by this worker's clock; the write was not sent
        >>> set_lease_state(None)
    """  # noqa: E501
    state = _STATE.get()
    if state is None:
        return
    if state.lost is not None:
        raise state.lost
    late = state.lapsed_by(now=state.clock.time())
    if late <= 0:
        return
    where = f"lease {state.lease.name!r} (fence {state.lease.fence}) lapsed {late:.1f}s ago by "
    if state.renew is not None:
        # Time alone proves nothing: the worker may have been frozen, or a simulated clock
        # jumped. The store decides by fence whether the lease is still this worker's.
        try:
            state.renew()
        except LeaseLost:
            raise
        except Exception as exc:
            raise LeaseLost(
                f"{where}this worker's clock and the state store could not renew it "
                f"({type(exc).__name__}); the write was not sent",
                lease=state.lease.name,
                fence=state.lease.fence,
            ) from exc
        return
    raise LeaseLost(
        f"{where}this worker's clock; the write was not sent",
        lease=state.lease.name,
        fence=state.lease.fence,
    )


class FencedTransport(httpx2.BaseTransport):
    """An ``httpx2`` transport that calls :func:`lease_guard` before every write request.

    Give it to a target connector (``plugin.create(settings, transport=FencedTransport())``)
    so that a worker that was frozen and lost its lease cannot finish a write it had begun.

    Parameters:
        inner: the transport that really sends (default ``httpx2.HTTPTransport()``).

    Examples:
        >>> def handler(request):
        ...     return httpx2.Response(200, json={"ok": True})
        >>> client = httpx2.Client(transport=FencedTransport(httpx2.MockTransport(handler)))
        >>> client.post("https://erp.example/x").json()
        {'ok': True}
    """

    def __init__(self, inner: httpx2.BaseTransport | None = None) -> None:
        self._inner = inner if inner is not None else httpx2.HTTPTransport()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if request.method.upper() in _WRITES:
            lease_guard()
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()

    def __repr__(self) -> str:
        return f"FencedTransport({self._inner!r})"
