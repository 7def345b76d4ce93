"""What a connector declares about a vendor's limits: kinds, scopes, and the user's share."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import quote

from erpsa_sdk.errors import ConfigurationError

__all__ = [
    "Concurrency",
    "Limit",
    "LimitKind",
    "Reactive",
    "Scope",
    "ScopeKind",
    "SlidingWindow",
    "share_of",
]


@dataclass(frozen=True)
class SlidingWindow:
    """At most ``requests`` admissions in *any* window of ``seconds`` (exact, not a token bucket).

    A token bucket of the same size lets a full bucket through at the end of one window and a
    refilled one at the start of the next, close to twice the limit in one window. The governor
    keeps the log of admission times instead, so no window of ``seconds`` at any offset ever
    holds more than ``requests``.

    Examples:
        >>> SlidingWindow(6000, 300)  # Dataverse: 6000 requests per 5-minute sliding window
        SlidingWindow(requests=6000, seconds=300)
    """

    requests: int
    seconds: float

    def __post_init__(self) -> None:
        if self.requests < 1:
            raise ConfigurationError("a sliding window needs requests >= 1")
        if not self.seconds > 0 or math.isinf(self.seconds):
            raise ConfigurationError("a sliding window needs a finite seconds > 0")

    @property
    def label(self) -> str:
        """A short stable name, used in backend keys and messages.

        Examples:
            >>> SlidingWindow(100, 10).label
            'window-100-per-10s'
        """
        return f"window-{self.requests}-per-{self.seconds:g}s"


@dataclass(frozen=True)
class Concurrency:
    """At most ``limit`` requests in flight at once.

    Examples:
        >>> Concurrency(5)  # NetSuite Standard tier, shared by every integration on the account
        Concurrency(limit=5)
    """

    limit: int

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ConfigurationError("a concurrency limit needs limit >= 1")

    @property
    def label(self) -> str:
        """A short stable name, used in backend keys and messages.

        Examples:
            >>> Concurrency(5).label
            'concurrency-5'
        """
        return f"concurrency-{self.limit}"


@dataclass(frozen=True)
class Reactive:
    """The vendor publishes no numbers and only answers 429: learn the budget from throttles.

    The governor starts at ``start_concurrency`` requests in flight (times the share), halves
    on each throttle signal and grows back slowly after clean periods.

    Examples:
        >>> Reactive()  # Kantata: "general rate limits", numbers not public
        Reactive(start_concurrency=4)
    """

    start_concurrency: int = 4

    def __post_init__(self) -> None:
        if self.start_concurrency < 1:
            raise ConfigurationError("a reactive limit needs start_concurrency >= 1")

    @property
    def label(self) -> str:
        """A short stable name, used in backend keys and messages.

        Examples:
            >>> Reactive().label
            'reactive'
        """
        return "reactive"


#: One of the three limit kinds.
LimitKind = SlidingWindow | Concurrency | Reactive


class ScopeKind(StrEnum):
    """Who shares a limit.

    - ``ACCOUNT``: the whole vendor account, shared with every other integration
      (NetSuite's concurrency limit).
    - ``ENVIRONMENT_USER``: one environment and the calling user (Dataverse service protection,
      counted per user and per web server).
    - ``TOKEN_ENDPOINT``: one access token and one class of endpoints (Kantata's general limit
      and the extra limits on a few endpoints).

    Examples:
        >>> ScopeKind.ACCOUNT.value
        'account'
    """

    ACCOUNT = "account"
    ENVIRONMENT_USER = "environment_user"
    TOKEN_ENDPOINT = "token_endpoint"  # noqa: S105 - a scope name, not a secret


_ARITY = {ScopeKind.ACCOUNT: 1, ScopeKind.ENVIRONMENT_USER: 2, ScopeKind.TOKEN_ENDPOINT: 2}


@dataclass(frozen=True)
class Scope:
    """A concrete scope value: *which* account, environment and user, or token and endpoint class.

    Build one with :meth:`account`, :meth:`environment_user` or :meth:`token_endpoint`. A token
    is never kept: only a short SHA-256 fingerprint of it is, so scopes are safe in keys, logs
    and reprs.

    Examples:
        >>> Scope.account("TSTDRV1").key
        'account/TSTDRV1'
        >>> Scope.environment_user("contoso.crm.dynamics.com", "app-user-1").key
        'environment_user/contoso.crm.dynamics.com/app-user-1'
        >>> "s3cr3t" in repr(Scope.token_endpoint("s3cr3t", "workspaces"))
        False
    """

    kind: ScopeKind
    parts: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.parts) != _ARITY[self.kind] or not all(self.parts):
            raise ConfigurationError(
                f"a {self.kind.value} scope needs {_ARITY[self.kind]} non-empty part(s)"
            )

    @classmethod
    def account(cls, account: str) -> Scope:
        """The scope of a whole vendor account (e.g. a NetSuite account id).

        Examples:
            >>> Scope.account("TSTDRV1").parts
            ('TSTDRV1',)
        """
        return cls(ScopeKind.ACCOUNT, (account,))

    @classmethod
    def environment_user(cls, environment: str, user: str) -> Scope:
        """The scope of one environment and calling user (e.g. a Dataverse org and app user).

        Examples:
            >>> Scope.environment_user("org1", "user-1").kind
            <ScopeKind.ENVIRONMENT_USER: 'environment_user'>
        """
        return cls(ScopeKind.ENVIRONMENT_USER, (environment, user))

    @classmethod
    def token_endpoint(cls, token: str, endpoint_class: str) -> Scope:
        """The scope of one access token and endpoint class; the token is fingerprinted.

        Examples:
            >>> Scope.token_endpoint("abc", "general").parts[0].startswith("sha256:")
            True
        """
        digest = hashlib.sha256(token.encode()).hexdigest()[:16]
        return cls(ScopeKind.TOKEN_ENDPOINT, (f"sha256:{digest}", endpoint_class))

    @property
    def key(self) -> str:
        """A stable string naming this scope, safe to use in a backend key.

        Examples:
            >>> Scope.account("a/b c").key
            'account/a%2Fb%20c'
        """
        return "/".join([self.kind.value, *(quote(part, safe="") for part in self.parts)])


@dataclass(frozen=True)
class Limit:
    """One limit a connector declares: its kind and the kind of scope it is counted in.

    Parameters:
        kind: a :class:`SlidingWindow`, :class:`Concurrency` or :class:`Reactive`.
        scope: who shares it (:class:`ScopeKind`).
        note: where the numbers come from, shown in docs and messages.

    Examples:
        >>> NETSUITE = Limit(Concurrency(5), ScopeKind.ACCOUNT, note="Standard tier; +10/SC+")
        >>> NETSUITE.name
        'account:concurrency-5'
    """

    kind: LimitKind
    scope: ScopeKind
    note: str = field(default="", compare=False)

    @property
    def name(self) -> str:
        """A stable name: the scope kind and the kind's label.

        Examples:
            >>> Limit(SlidingWindow(6000, 300), ScopeKind.ENVIRONMENT_USER).name
            'environment_user:window-6000-per-300s'
        """
        return f"{self.scope.value}:{self.kind.label}"


def share_of(kind: LimitKind, share: float) -> int:
    """The number the SDK may use of a declared limit: ``floor(number × share)``, at least 1.

    For a window that is a request count, for the other kinds a concurrency.

    Examples:
        >>> share_of(Concurrency(20), 0.5), share_of(SlidingWindow(6000, 300), 0.25)
        (10, 1500)
        >>> share_of(Concurrency(5), 0.1)  # never zero: the SDK must be able to send
        1
    """
    if not 0 < share <= 1:
        raise ConfigurationError(f"share must be in (0, 1], got {share!r}")
    match kind:
        case SlidingWindow(requests=number) | Concurrency(limit=number):
            pass
        case Reactive(start_concurrency=number):
            pass
    return max(1, math.floor(number * share))
