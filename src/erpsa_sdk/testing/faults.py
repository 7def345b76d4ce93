"""Reproducible fault plans for simulators.

Whether a request meets a fault is decided by ``hash(seed, method, path, body, attempt)``, never
by arrival order: the same seed gives the same faults on the same requests however many threads
or processes send them, in whatever order. ``attempt`` is how many identical requests (same
method, path with query, body) the simulator has seen before this one, so a retry is a new
draw and a retried write does not fail forever.

Fault kinds (:class:`FaultKind`): latency, 429 with and without ``Retry-After``, 5xx, timeouts,
connection resets, commit-then-drop-the-response, truncated JSON, HTML error pages, a 200 with an
error body, unknown extra fields. Kinds marked :attr:`FaultKind.commits` let the request take
effect first, as a real server that fails while answering does.

Example:
    >>> plan = FaultPlan(seed=7, rates={"commit_then_drop": 0.1})
    >>> first = plan.decide("POST", "/api/time-entries", b'{"minutes": 30}', attempt=0)
    >>> first == plan.decide("POST", "/api/time-entries", b'{"minutes": 30}', attempt=0)
    True
    >>> FaultPlan.parse("rate_limit=0.05,server_error=0.02;seed=3").seed
    3
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from erpsa_sdk.errors import ConfigurationError

__all__ = ["PRESETS", "FaultKind", "FaultPlan"]

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class FaultKind(StrEnum):
    """One kind of injected fault.

    Example:
        >>> FaultKind.COMMIT_THEN_DROP.commits, FaultKind.SERVER_ERROR.commits
        (True, False)
    """

    LATENCY = "latency"
    RATE_LIMIT = "rate_limit"
    RATE_LIMIT_NO_RETRY_AFTER = "rate_limit_no_retry_after"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    CONNECTION_RESET = "connection_reset"
    COMMIT_THEN_DROP = "commit_then_drop"
    TRUNCATED_JSON = "truncated_json"
    HTML_ERROR = "html_error"
    ERROR_200 = "error_200"
    UNKNOWN_FIELDS = "unknown_fields"

    @property
    def commits(self) -> bool:
        """Whether the request takes effect before the fault (its answer is what fails)."""
        return self in _COMMITTING


_COMMITTING = frozenset(
    {
        FaultKind.LATENCY,
        FaultKind.COMMIT_THEN_DROP,
        FaultKind.TRUNCATED_JSON,
        FaultKind.UNKNOWN_FIELDS,
    }
)


@dataclass(frozen=True)
class FaultPlan:
    """Which faults a simulator injects, and how often.

    Parameters:
        seed: the seed of every decision.
        rates: probability of each :class:`FaultKind` per request (their sum is at most 1).
        methods: only requests with these methods may meet a fault (``None``: all).
        path_prefix: only paths starting with it may meet a fault (``None``: all vendor paths;
            token and admin endpoints never do).
        max_attempt: only attempts ``< max_attempt`` may meet a fault (``1``: first tries only).
        latency: seconds added by a ``latency`` fault (on the simulator's clock).
        retry_after: seconds sent in ``Retry-After`` by a ``rate_limit`` fault.
        timeout_after: seconds a served simulator holds a ``timeout`` request before closing.

    Example:
        >>> plan = FaultPlan.always("commit_then_drop", methods={"POST"}, max_attempt=1)
        >>> plan.decide("POST", "/x", b"{}", attempt=0), plan.decide("POST", "/x", b"{}", 1)
        (<FaultKind.COMMIT_THEN_DROP: 'commit_then_drop'>, None)
    """

    seed: int = 0
    rates: Mapping[FaultKind, float] = field(default_factory=dict)
    methods: frozenset[str] | None = None
    path_prefix: str | None = None
    max_attempt: int | None = None
    latency: float = 0.2
    retry_after: float = 1.0
    timeout_after: float = 2.0

    def __post_init__(self) -> None:
        rates = {FaultKind(k): float(v) for k, v in self.rates.items()}
        if any(not 0.0 <= v <= 1.0 for v in rates.values()):
            raise ConfigurationError(f"fault rates must lie in [0, 1]: {rates}")
        if sum(rates.values()) > 1.0 + 1e-9:
            raise ConfigurationError(f"fault rates add up to more than 1: {rates}")
        # Enum order, not the caller's order, so equal plans decide equally.
        ordered = {k: rates[k] for k in FaultKind if rates.get(k, 0.0) > 0.0}
        object.__setattr__(self, "rates", ordered)
        if self.methods is not None:
            object.__setattr__(self, "methods", frozenset(m.upper() for m in self.methods))

    @classmethod
    def none(cls) -> FaultPlan:
        """A plan that injects nothing.

        Example:
            >>> FaultPlan.none().decide("GET", "/", b"", 0) is None
            True
        """
        return cls()

    @classmethod
    def always(
        cls,
        kind: FaultKind | str,
        *,
        methods: set[str] | frozenset[str] | None = None,
        path_prefix: str | None = None,
        max_attempt: int | None = None,
        seed: int = 0,
    ) -> FaultPlan:
        """A plan that injects ``kind`` on every matching request.

        Example:
            >>> FaultPlan.always("server_error").decide("GET", "/a", b"", 5).value
            'server_error'
        """
        return cls(
            seed=seed,
            rates={FaultKind(kind): 1.0},
            methods=frozenset(methods) if methods is not None else None,
            path_prefix=path_prefix,
            max_attempt=max_attempt,
        )

    @classmethod
    def writes(cls, *, seed: int = 0, **rates: float) -> FaultPlan:
        """A plan that only touches write requests (POST, PUT, PATCH, DELETE).

        Example:
            >>> FaultPlan.writes(commit_then_drop=0.1).methods == WRITE_METHODS
            True
        """
        return cls(seed=seed, rates={FaultKind(k): v for k, v in rates.items()},
                   methods=WRITE_METHODS)  # fmt: skip

    @classmethod
    def parse(cls, text: str, *, seed: int | None = None) -> FaultPlan:
        """Read a plan from text: a preset name (``none``, ``flaky``, ``chaos``, ``writes``) or
        ``kind=rate`` pairs separated by commas, with options after ``;``
        (``seed=3;methods=POST|PUT;max_attempt=2;latency=0.1;retry_after=2``).

        Example:
            >>> plan = FaultPlan.parse("flaky;seed=9")
            >>> plan.seed, plan.rates[FaultKind.RATE_LIMIT]
            (9, 0.05)
            >>> FaultPlan.parse("explode=0.1")
            Traceback (most recent call last):
            ...
            erpsa_sdk.errors.ConfigurationError: unknown fault kind 'explode'; known: latency, ...
        """
        head, _, tail = text.strip().partition(";")
        options: dict[str, Any] = {}
        rates: dict[FaultKind, float] = {}
        head = head.strip()
        if head in PRESETS:
            base = PRESETS[head]
            rates = dict(base.rates)
            options["methods"] = base.methods
        elif head:
            for pair in head.split(","):
                name, sep, value = pair.partition("=")
                name = name.strip()
                if name not in FaultKind._value2member_map_:
                    known = ", ".join(k.value for k in FaultKind)
                    raise ConfigurationError(f"unknown fault kind {name!r}; known: {known}")
                try:
                    rates[FaultKind(name)] = float(value) if sep else 1.0
                except ValueError:
                    raise ConfigurationError(f"fault rate for {name!r} is not a number") from None
        for opt in filter(None, (p.strip() for p in tail.split(";"))):
            key, _, value = opt.partition("=")
            key = key.strip()
            try:
                if key == "seed" or key == "max_attempt":
                    options[key] = int(value)
                elif key in {"latency", "retry_after", "timeout_after"}:
                    options[key] = float(value)
                elif key == "methods":
                    options[key] = frozenset(m.strip().upper() for m in value.split("|") if m)
                elif key == "path_prefix":
                    options[key] = value.strip()
                else:
                    raise ConfigurationError(f"unknown fault plan option {key!r}")
            except ValueError:
                raise ConfigurationError(f"fault plan option {key!r} has a bad value") from None
        if seed is not None:
            options["seed"] = seed
        return cls(rates=rates, **options)

    def applies_to(self, method: str, path: str, attempt: int) -> bool:
        """Whether a request may meet a fault at all under this plan."""
        if not self.rates:
            return False
        if self.methods is not None and method.upper() not in self.methods:
            return False
        if self.path_prefix is not None and not path.startswith(self.path_prefix):
            return False
        return self.max_attempt is None or attempt < self.max_attempt

    def decide(self, method: str, path: str, body: bytes, attempt: int) -> FaultKind | None:
        """The fault for this request, or ``None``: a pure function of its arguments and the plan.

        ``path`` includes the query string.

        Example:
            >>> plan = FaultPlan(seed=1, rates={"server_error": 0.5})
            >>> hits = [plan.decide("GET", f"/items?page={i}", b"", 0) for i in range(1000)]
            >>> 400 < sum(h is not None for h in hits) < 600
            True
        """
        if not self.applies_to(method, path, attempt):
            return None
        digest = hashlib.sha256()
        for part in (str(self.seed), method.upper(), path):
            digest.update(part.encode("utf-8"))
            digest.update(b"\x00")
        digest.update(body)
        digest.update(b"\x00" + str(attempt).encode("ascii"))
        draw = int.from_bytes(digest.digest()[:8], "big") / 2.0**64
        cumulative = 0.0
        for kind, rate in self.rates.items():
            cumulative += rate
            if draw < cumulative:
                return kind
        return None

    def describe(self) -> str:
        """A compact text form that :meth:`parse` reads back.

        Example:
            >>> sorted(FaultPlan.parse(FaultPlan.writes(seed=2, timeout=0.1).describe()).methods)
            ['DELETE', 'PATCH', 'POST', 'PUT']
        """
        head = ",".join(f"{k.value}={v:g}" for k, v in self.rates.items())
        opts = [f"seed={self.seed}"]
        if self.methods is not None:
            opts.append("methods=" + "|".join(sorted(self.methods)))
        if self.path_prefix is not None:
            opts.append(f"path_prefix={self.path_prefix}")
        if self.max_attempt is not None:
            opts.append(f"max_attempt={self.max_attempt}")
        return ";".join([head, *opts])


#: Named plans for ``erpsa simulate --faults NAME``.
PRESETS: dict[str, FaultPlan] = {
    "none": FaultPlan(),
    "flaky": FaultPlan(
        rates={
            FaultKind.LATENCY: 0.1,
            FaultKind.RATE_LIMIT: 0.05,
            FaultKind.SERVER_ERROR: 0.03,
            FaultKind.TIMEOUT: 0.02,
            FaultKind.CONNECTION_RESET: 0.02,
        }
    ),
    "writes": FaultPlan(rates={FaultKind.COMMIT_THEN_DROP: 0.1}, methods=WRITE_METHODS),
    "chaos": FaultPlan(rates=dict.fromkeys(FaultKind, 0.03)),
}
