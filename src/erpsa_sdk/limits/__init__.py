"""Vendor limits, governed: sliding windows, concurrency, adaptive share, shared backends.

A connector declares its vendor's limits (:class:`Limit`: a :class:`SlidingWindow`,
:class:`Concurrency` or :class:`Reactive` kind, counted per :class:`ScopeKind`); the user binds
them to concrete :class:`Scope` values and picks the SDK's ``share``; the :class:`Governor`
wraps every attempt. Several processes share one budget through a :class:`RedisBackend`.

Examples:
    >>> from erpsa_sdk.clock import SimClock
    >>> from erpsa_sdk.limits import Concurrency, Governor, Limit, Scope, ScopeKind
    >>> NETSUITE = [Limit(Concurrency(15), ScopeKind.ACCOUNT, note="Premium tier")]
    >>> gov = Governor(NETSUITE, scopes=Scope.account("1234567"), share=0.4, clock=SimClock())
    >>> gov.caps
    {'account:concurrency-15': 6}
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from erpsa_sdk.limits._aimd import AdaptiveLimit, AimdPolicy
from erpsa_sdk.limits._backend import (
    InProcessBackend,
    LimitBackend,
    LimitSpec,
    Verdict,
    window_retry_at,
)
from erpsa_sdk.limits._declarations import (
    Concurrency,
    Limit,
    LimitKind,
    Reactive,
    Scope,
    ScopeKind,
    SlidingWindow,
    share_of,
)
from erpsa_sdk.limits._governor import Governor, Permit

if TYPE_CHECKING:
    from erpsa_sdk.limits._redis import RedisBackend

__all__ = [
    "AdaptiveLimit",
    "AimdPolicy",
    "Concurrency",
    "Governor",
    "InProcessBackend",
    "Limit",
    "LimitBackend",
    "LimitKind",
    "LimitSpec",
    "Permit",
    "Reactive",
    "RedisBackend",
    "Scope",
    "ScopeKind",
    "SlidingWindow",
    "Verdict",
    "share_of",
    "window_retry_at",
]


def __getattr__(name: str) -> Any:
    # The Redis backend is imported on first use, so `redis` stays an optional extra.
    if name == "RedisBackend":
        from erpsa_sdk.limits._redis import RedisBackend

        return RedisBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
