"""The simulator base: a stateful vendor API as a sans-IO handler, with faults, limits and admin.

A vendor simulator subclasses :class:`Simulator`, declares its tables, seeds a small data set
and writes its routes with :func:`route`. The base class gives it:

* a sans-IO core, :meth:`Simulator.handle` (method, target, headers, body -> :class:`SimReply`),
  and a ``httpx2`` handler, so ``httpx2.MockTransport(sim)`` works for sync and async clients;
  :func:`erpsa_sdk.testing.serve` puts the same object on loopback HTTP;
* an in-memory :class:`~erpsa_sdk.testing.store.Table` per record type, stamped by the
  simulator's clock (a :class:`~erpsa_sdk.clock.SimClock` unless told otherwise);
* bearer-token auth (a static test token, and a client-credentials token endpoint);
* the vendor's declared limits (a concurrency limit and a sliding window), answered with 429
  and counted in :attr:`SimStats.limit_violations`;
* reproducible faults from a :class:`~erpsa_sdk.testing.faults.FaultPlan`;
* an admin API (:class:`Admin`, also over HTTP under ``/_admin``) to mutate, delete, archive
  and post rows, close periods and churn a table while a reader pages through it.

Example:
    >>> import httpx2
    >>> class Tiny(Simulator):
    ...     vendor = "tiny"
    ...     tables = ("notes",)
    ...     def seed_data(self, rng):
    ...         self.table("notes").insert({"text": "hello"})
    ...     @route("GET", "/notes/{id}")
    ...     def get_note(self, req):
    ...         row = self.table("notes").get(req.params["id"])
    ...         if row is None:
    ...             raise SimError(404, "NOT_FOUND", "no such note")
    ...         return SimResponse.json({"id": row.id, **row.data})
    >>> sim = Tiny(seed=1)
    >>> client = httpx2.Client(transport=httpx2.MockTransport(sim), base_url="https://tiny.test",
    ...                        headers={"authorization": sim.credentials()["authorization"]})
    >>> client.get("/notes/1").json()
    {'id': 1, 'text': 'hello'}
    >>> client.get("/notes/9").status_code
    404
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import threading
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, TypeVar
from urllib.parse import parse_qs

import httpx2

from erpsa_sdk.clock import Clock, SimClock
from erpsa_sdk.testing.faults import FaultKind, FaultPlan
from erpsa_sdk.testing.store import Row, Table, iso

__all__ = [
    "Admin",
    "Drop",
    "FaultEvent",
    "SimError",
    "SimReply",
    "SimRequest",
    "SimResponse",
    "SimStats",
    "Simulator",
    "route",
]

ADMIN_PREFIX = "/_admin"
ADMIN_HEADER = "x-erpsa-admin"

Handler = Callable[[Any, "SimRequest"], "SimResponse"]
F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class SimRequest:
    """One request as a simulator route sees it.

    Example:
        >>> req = SimRequest(method="GET", path="/a", query={"limit": "5"}, headers={}, body=b"")
        >>> req.int_arg("limit", 100), req.int_arg("offset", 0)
        (5, 0)
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The body as JSON; a 400 :class:`SimError` when it is not."""
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            raise SimError(400, "INVALID_JSON", "request body is not valid JSON") from None

    def form(self) -> dict[str, str]:
        """The body as an URL-encoded form (last value wins)."""
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[-1] for k, v in parsed.items()}

    def int_arg(self, name: str, default: int, *, maximum: int | None = None) -> int:
        """An integer query argument; a 400 :class:`SimError` when it is malformed."""
        raw = self.query.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise SimError(400, "INVALID_ARGUMENT", f"{name} must be an integer") from None
        if value < 0:
            raise SimError(400, "INVALID_ARGUMENT", f"{name} must not be negative")
        return min(value, maximum) if maximum is not None else value


@dataclass
class SimResponse:
    """What a route answers.

    Example:
        >>> SimResponse.json({"ok": True}, status=201).status
        201
    """

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(
        cls, payload: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> SimResponse:
        """A JSON response."""
        hdrs = {"content-type": "application/json", **(headers or {})}
        return cls(status=status, body=json.dumps(payload, default=str).encode(), headers=hdrs)

    @classmethod
    def empty(cls, status: int = 204) -> SimResponse:
        """A response without a body."""
        return cls(status=status)


class SimError(Exception):
    """Raised by a route to answer with a vendor error (rendered by :meth:`Simulator.error_body`).

    Example:
        >>> SimError(409, "RECORD_POSTED", "entry 7 is posted").code
        'RECORD_POSTED'
    """

    def __init__(
        self, status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


class Drop(StrEnum):
    """How an answer fails to reach the client.

    Example:
        >>> Drop.LOST.value
        'lost'
    """

    TIMEOUT = "timeout"  # the server never answers in time
    RESET = "reset"  # the connection is reset before anything is processed
    LOST = "lost"  # processed (committed), then the connection drops before the answer


@dataclass
class SimReply:
    """The outcome of :meth:`Simulator.handle`: a response, or a dropped connection.

    Example:
        >>> SimReply(response=None, drop=Drop.LOST).drop is Drop.LOST
        True
    """

    response: SimResponse | None
    drop: Drop | None = None
    fault: FaultKind | None = None
    timeout_after: float = 0.0


@dataclass(frozen=True)
class FaultEvent:
    """One injected fault: which request (method, path, body digest, attempt) and which kind.

    Example:
        >>> FaultEvent("POST", "/x", "ab12", 0, FaultKind.TIMEOUT).kind.value
        'timeout'
    """

    method: str
    path: str
    body_digest: str
    attempt: int
    kind: FaultKind


@dataclass
class SimStats:
    """Counters a test reads: requests, faults, limit violations, peak concurrency.

    Example:
        >>> SimStats().limit_violations
        0
    """

    requests: int = 0
    limit_violations: int = 0
    max_in_flight: int = 0
    by_route: Counter[str] = field(default_factory=Counter)


def route(method: str, pattern: str, *, auth: bool = True) -> Callable[[F], F]:
    """Mark a simulator method as the handler of ``method`` + ``pattern`` (``/items/{id}``).

    Patterns are relative to the class's :attr:`Simulator.base_path`. ``auth=False`` serves
    the route without a bearer token (token endpoints).

    Example:
        >>> @route("GET", "/ping", auth=False)
        ... def ping(self, req): return SimResponse.json("pong")
        >>> ping.__sim_route__
        ('GET', '/ping', False)
    """

    def mark(fn: F) -> F:
        fn.__sim_route__ = (method.upper(), pattern, auth)  # type: ignore[attr-defined]
        return fn

    return mark


@dataclass(frozen=True)
class _Route:
    method: str
    regex: re.Pattern[str]
    pattern: str
    auth: bool
    handler: Handler


def _compile(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[a-z_]+\})", path)
    out = "".join(
        f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts if p
    )
    return re.compile(f"^{out}$")


class Simulator:
    """Base class of vendor simulators (see the module docstring).

    Parameters:
        seed: seeds the data set, the credentials' suffix and the fault plan.
        faults: the fault plan (or its text form); ``None`` injects nothing.
        clock: the clock that stamps rows and times tokens and limits; a
            :class:`~erpsa_sdk.clock.SimClock` in autojump mode by default.
        tenant: the tenant (account) the simulator plays.

    Subclasses set :attr:`vendor`, :attr:`tables`, optionally :attr:`base_path`,
    :attr:`concurrency_limit`, :attr:`window_limit`, and implement :meth:`seed_data`.

    Example:
        >>> class Empty(Simulator):
        ...     vendor = "empty"
        >>> sim = Empty(seed=3)
        >>> sim.credentials("http://127.0.0.1:1")["authorization"].startswith("Bearer ")
        True
    """

    vendor: ClassVar[str] = "sim"
    base_path: ClassVar[str] = ""
    tables: ClassVar[tuple[str, ...]] = ()
    #: Requests in flight the vendor accepts per tenant (``None``: unlimited).
    concurrency_limit: ClassVar[int | None] = None
    #: ``(requests, seconds)`` the vendor accepts in any window (``None``: unlimited).
    window_limit: ClassVar[tuple[int, float] | None] = None
    #: Whether the vendor's 429 carries ``Retry-After``.
    sends_retry_after: ClassVar[bool] = True
    #: Lifetime of issued access tokens, in seconds.
    token_ttl: ClassVar[float] = 3600.0
    #: Simulated service time of every vendor request (on the clock).
    service_time: ClassVar[float] = 0.0

    #: Canonical types written to this vendor -> (table, field holding the EntityKey); lets
    #: checkers and the contract suite count records per EntityKey without the connector.
    entity_key_fields: ClassVar[dict[str, tuple[str, str]]] = {}
    #: Canonical types read from this vendor -> the table they come from.
    source_tables: ClassVar[dict[str, str]] = {}

    _routes: ClassVar[list[_Route]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found: dict[tuple[str, str], _Route] = {}
        for klass in reversed(cls.__mro__):
            for value in vars(klass).values():
                spec = getattr(value, "__sim_route__", None)
                if spec is None:
                    continue
                method, pattern, auth = spec
                full = cls.base_path + pattern
                found[(method, full)] = _Route(method, _compile(full), full, auth, value)
        # Literal segments win over parameters: /deleted/{c} before /{c}/{id}.
        cls._routes = sorted(found.values(), key=lambda r: r.pattern.count("{"))

    def __init__(
        self,
        *,
        seed: int = 0,
        faults: FaultPlan | str | None = None,
        clock: Clock | None = None,
        tenant: str = "sim",
    ) -> None:
        self.seed = seed
        self.tenant = tenant
        self.clock: Clock = clock if clock is not None else SimClock(autojump=True)
        self.faults = FaultPlan.parse(faults, seed=seed) if isinstance(faults, str) else (
            faults or FaultPlan(seed=seed)
        )  # fmt: skip
        self.stats = SimStats()
        self.fault_log: list[FaultEvent] = []
        self.closed_periods: set[str] = set()
        self._lock = threading.RLock()
        self._seen: Counter[bytes] = Counter()
        self._in_flight = 0
        self._window: deque[float] = deque()
        self._tokens: dict[str, float] = {}
        self._tables = {name: Table(name, self.clock) for name in self.tables}
        self._before_hooks: list[Callable[[SimRequest], None]] = []
        self.admin = Admin(self)
        secret = hashlib.sha256(f"{self.vendor}:{seed}".encode()).hexdigest()[:16]
        self.client_id = f"{self.vendor}-client"
        self.client_secret = f"{self.vendor}-secret-{secret}"
        self.api_token = f"{self.vendor}-test-token-{secret}"
        self.admin_key = f"{self.vendor}-admin-{secret}"
        with self._lock:
            self.seed_data(random.Random(seed))  # noqa: S311 - test data, not crypto

    # -- what subclasses provide -------------------------------------------------------------

    def seed_data(self, rng: random.Random) -> None:
        """Fill the tables with the small seeded data set (default: nothing)."""

    def error_body(self, status: int, code: str, message: str) -> Any:
        """The vendor's error envelope (default ``{"error": {"code", "message"}}``)."""
        return {"error": {"code": code, "message": message}}

    def sample_row(self, table: str, rng: random.Random) -> dict[str, Any]:
        """A new, valid row for ``table`` (used by :meth:`Admin.churn` to insert)."""
        raise NotImplementedError(f"{type(self).__name__} cannot invent rows for {table!r}")

    def mutate_row(self, table: str, data: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
        """Changes for an existing row (used by :meth:`Admin.churn` to update)."""
        raise NotImplementedError(f"{type(self).__name__} cannot mutate rows of {table!r}")

    def on_post(self, table: str, row: Row) -> None:
        """Vendor bookkeeping when :meth:`Admin.post` posts a row (e.g. a status field)."""

    def naive_create(self, type_name: str, index: int) -> tuple[str, str, Any]:
        """``(method, path, json)`` of a plain, keyless create of a new ``type_name`` record, as
        a naive integrator would send it (the contract suite's negative control)."""
        raise NotImplementedError(f"{type(self).__name__} has no naive create for {type_name}")

    def bad_row(self, table: str) -> dict[str, Any]:
        """A stored row the connector must turn into ``Rejected`` when it reads it."""
        raise NotImplementedError(f"{type(self).__name__} cannot invent a bad {table!r} row")

    def rows_with_entity_key(self, type_name: str, entity_key: str) -> list[dict[str, Any]]:
        """Live rows of ``type_name`` whose EntityKey field holds ``entity_key`` (snapshots).

        Example:
            >>> class V(Simulator):
            ...     vendor = "v"
            ...     tables = ("orders",)
            ...     entity_key_fields = {"Order": ("orders", "ext")}
            >>> sim = V()
            >>> _ = sim.admin.insert("orders", {"ext": "k1"})
            >>> [r["id"] for r in sim.rows_with_entity_key("Order", "k1")] == [1]
            True
        """
        if type_name not in self.entity_key_fields:
            raise KeyError(f"{self.vendor} declares no EntityKey field for {type_name}")
        table, field = self.entity_key_fields[type_name]
        with self._lock:
            return [
                r.snapshot()
                for r in self.table(table).find(lambda row: row.data.get(field) == entity_key)
            ]

    # -- public API ---------------------------------------------------------------------------

    def table(self, name: str) -> Table:
        """The table ``name`` (``KeyError`` names the known tables)."""
        try:
            return self._tables[name]
        except KeyError:
            known = sorted(self._tables)
            raise KeyError(f"{self.vendor} has no table {name!r}; it has {known}") from None

    def credentials(self, base_url: str = "http://127.0.0.1") -> dict[str, Any]:
        """What a client needs at once: a ready ``authorization`` value, the token endpoint and
        test keys, and the admin key for the admin API.

        Example:
            >>> class V(Simulator):
            ...     vendor = "v"
            >>> sorted(V().credentials("http://h"))  # doctest: +NORMALIZE_WHITESPACE
            ['admin_header', 'admin_key', 'api_token', 'authorization', 'client_id',
             'client_secret', 'grant_type', 'token_url']
        """
        return {
            "authorization": f"Bearer {self.api_token}",
            "api_token": self.api_token,
            "token_url": f"{base_url.rstrip('/')}{self.base_path}/oauth/token",
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "admin_header": ADMIN_HEADER,
            "admin_key": self.admin_key,
        }

    def before_request(self, hook: Callable[[SimRequest], None]) -> Callable[[], None]:
        """Run ``hook`` (under the simulator's lock) before each vendor request is served;
        returns a function that removes it. The contract suite churns tables this way.
        """
        self._before_hooks.append(hook)
        return lambda: self._before_hooks.remove(hook)

    def set_faults(self, plan: FaultPlan | str | None) -> None:
        """Replace the fault plan (text is parsed with this simulator's seed)."""
        if isinstance(plan, str):
            plan = FaultPlan.parse(plan, seed=self.seed)
        self.faults = plan or FaultPlan(seed=self.seed)

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        """The ``httpx2.MockTransport`` handler: dropped answers become httpx2 errors."""
        body = request.read()
        target = request.url.raw_path.decode("ascii")
        reply = self.handle(request.method, target, dict(request.headers), body)
        if reply.drop is Drop.TIMEOUT:
            raise httpx2.ReadTimeout("simulated: no answer in time", request=request)
        if reply.drop is Drop.RESET:
            raise httpx2.ConnectError("simulated: connection reset by peer", request=request)
        if reply.drop is Drop.LOST:
            raise httpx2.RemoteProtocolError(
                "simulated: server disconnected without sending a response", request=request
            )
        assert reply.response is not None
        resp = reply.response
        return httpx2.Response(resp.status, headers=resp.headers, content=resp.body)

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> SimReply:
        """The sans-IO core: one request in, one :class:`SimReply` out."""
        path, _, qs = target.partition("?")
        query = {k: v[-1] for k, v in parse_qs(qs, keep_blank_values=True).items()}
        req = SimRequest(
            method=method.upper(),
            path=path,
            query=query,
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
        )
        if path.startswith(ADMIN_PREFIX):
            return SimReply(self._admin_http(req))
        found = self._match(req)
        if found is None:
            return SimReply(self._error(404, "NOT_FOUND", f"no route for {req.method} {path}"))
        route_, params = found
        req.params = params
        if not route_.auth:
            return SimReply(self._dispatch(route_, req))
        return self._vendor_request(route_, req, target)

    # -- internals ----------------------------------------------------------------------------

    def _match(self, req: SimRequest) -> tuple[_Route, dict[str, str]] | None:
        allowed = False
        for r in self._routes:
            m = r.regex.match(req.path)
            if m is None:
                continue
            if r.method == req.method:
                return r, m.groupdict()
            allowed = True
        if allowed:
            raise_405 = _Route(req.method, re.compile(""), "", False, _method_not_allowed)
            return raise_405, {}
        return None

    def _error(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> SimResponse:
        return SimResponse.json(self.error_body(status, code, message), status=status,
                                headers=headers)  # fmt: skip

    def _dispatch(self, r: _Route, req: SimRequest) -> SimResponse:
        try:
            with self._lock:
                return r.handler(self, req)
        except SimError as exc:
            return self._error(exc.status, exc.code, exc.message, exc.headers)

    def _vendor_request(self, r: _Route, req: SimRequest, target: str) -> SimReply:
        digest = hashlib.sha256(
            b"\x00".join([req.method.encode(), target.encode(), req.body])
        ).digest()
        with self._lock:
            attempt = self._seen[digest]
            self._seen[digest] += 1
            self.stats.requests += 1
            self.stats.by_route[f"{r.method} {r.pattern}"] += 1
        fault = self.faults.decide(req.method, target, req.body, attempt)
        if fault is not None:
            with self._lock:
                self.fault_log.append(
                    FaultEvent(req.method, target, digest.hex()[:16], attempt, fault)
                )
        if fault is not None and not fault.commits:
            return self._fault_reply(fault)
        limited = self._admit()
        if limited is not None:
            return SimReply(limited)
        try:
            if not self._authorized(req):
                return SimReply(self._error(401, "UNAUTHORIZED", "missing or invalid token"))
            if self.service_time:
                self.clock.sleep(self.service_time)
            if fault is FaultKind.LATENCY:
                self.clock.sleep(self.faults.latency)
            with self._lock:
                for hook in list(self._before_hooks):
                    hook(req)
            resp = self._dispatch(r, req)
        finally:
            with self._lock:
                self._in_flight -= 1
        if fault is FaultKind.COMMIT_THEN_DROP:
            return SimReply(None, Drop.LOST, fault)
        if fault is FaultKind.TRUNCATED_JSON:
            cut = SimResponse(resp.status, resp.body[: max(1, len(resp.body) // 2)], resp.headers)
            return SimReply(cut, fault=fault)
        if fault is FaultKind.UNKNOWN_FIELDS:
            return SimReply(_with_unknown_fields(resp), fault=fault)
        return SimReply(resp, fault=fault)

    def _fault_reply(self, fault: FaultKind) -> SimReply:
        plan = self.faults
        if fault is FaultKind.RATE_LIMIT:
            hdrs = {"retry-after": f"{plan.retry_after:g}"}
            return SimReply(
                self._error(429, "RATE_LIMITED", "too many requests", hdrs), None, fault
            )
        if fault is FaultKind.RATE_LIMIT_NO_RETRY_AFTER:
            return SimReply(self._error(429, "RATE_LIMITED", "too many requests"), None, fault)
        if fault is FaultKind.SERVER_ERROR:
            return SimReply(self._error(503, "UNAVAILABLE", "service unavailable"), None, fault)
        if fault is FaultKind.HTML_ERROR:
            page = (
                b"<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"
            )
            html = SimResponse(502, page, {"content-type": "text/html"})
            return SimReply(html, None, fault)
        if fault is FaultKind.ERROR_200:
            return SimReply(
                SimResponse.json(self.error_body(200, "INTERNAL", "query failed")), None, fault
            )
        if fault is FaultKind.TIMEOUT:
            return SimReply(None, Drop.TIMEOUT, fault, timeout_after=plan.timeout_after)
        return SimReply(None, Drop.RESET, fault)

    def _admit(self) -> SimResponse | None:
        with self._lock:
            # POSIX time, as governors count windows (they may share them across processes).
            now = self.clock.time()
            if self.window_limit is not None:
                count, seconds = self.window_limit
                # Entries are expiry times (admission + window), live while expiry > now: the
                # same arithmetic a governor uses, so float rounding cannot split a boundary.
                while self._window and self._window[0] <= now:
                    self._window.popleft()
                if len(self._window) >= count:
                    self.stats.limit_violations += 1
                    return self._throttled("request rate limit exceeded", self._window[0] - now)
                self._window.append(now + seconds)
            if self.concurrency_limit is not None and self._in_flight >= self.concurrency_limit:
                self.stats.limit_violations += 1
                return self._throttled("concurrency limit exceeded", 1.0)
            self._in_flight += 1
            self.stats.max_in_flight = max(self.stats.max_in_flight, self._in_flight)
            return None

    def _throttled(self, message: str, wait: float) -> SimResponse:
        hdrs = {"retry-after": f"{max(1, math.ceil(wait))}"} if self.sends_retry_after else {}
        return self._error(429, "RATE_LIMITED", message, hdrs)

    def _authorized(self, req: SimRequest) -> bool:
        value = req.headers.get("authorization", "")
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        if token == self.api_token:
            return True
        with self._lock:
            expires = self._tokens.get(token)
        return expires is not None and self.clock.monotonic() < expires

    @route("POST", "/oauth/token", auth=False)
    def _token_endpoint(self, req: SimRequest) -> SimResponse:
        ctype = req.headers.get("content-type", "")
        data = req.json() if "json" in ctype else req.form()
        if not isinstance(data, dict) or data.get("grant_type") != "client_credentials":
            return SimResponse.json({"error": "unsupported_grant_type"}, status=400)
        if (
            data.get("client_id") != self.client_id
            or data.get("client_secret") != self.client_secret
        ):
            return SimResponse.json({"error": "invalid_client"}, status=401)
        with self._lock:
            token = hashlib.sha256(
                f"{self.api_token}:{len(self._tokens)}:{self.clock.time()}".encode()
            ).hexdigest()
            self._tokens[token] = self.clock.monotonic() + self.token_ttl
        return SimResponse.json(
            {"access_token": token, "token_type": "Bearer", "expires_in": int(self.token_ttl)}
        )

    def _admin_http(self, req: SimRequest) -> SimResponse:
        if req.headers.get(ADMIN_HEADER) != self.admin_key:
            return SimResponse.json({"error": "admin key required"}, status=401)
        parts = [p for p in req.path[len(ADMIN_PREFIX) :].split("/") if p]
        try:
            with self._lock:
                return self.admin.http(req, parts)
        except KeyError as exc:
            return SimResponse.json({"error": f"not found: {exc.args[0]}"}, status=404)
        except (ValueError, TypeError) as exc:
            return SimResponse.json({"error": str(exc)}, status=400)


def _method_not_allowed(self: Any, req: SimRequest) -> SimResponse:
    raise SimError(405, "METHOD_NOT_ALLOWED", f"{req.method} is not allowed on {req.path}")


def _with_unknown_fields(resp: SimResponse) -> SimResponse:
    # Vendor drift: new fields appear on every object of the answer.
    try:
        payload = json.loads(resp.body)
    except ValueError:
        return resp

    def enrich(node: Any) -> Any:
        if isinstance(node, dict):
            return {**{k: enrich(v) for k, v in node.items()}, "x_new_vendor_field": "drift"}
        if isinstance(node, list):
            return [enrich(v) for v in node]
        return node

    return SimResponse.json(enrich(payload), status=resp.status, headers=resp.headers)


class Admin:
    """Test-side control of a simulator's state (also served under ``/_admin`` over HTTP).

    Every mutation stamps rows with the simulator clock's ``now``.

    Example:
        >>> class Notes(Simulator):
        ...     vendor = "notes"
        ...     tables = ("notes",)
        >>> sim = Notes()
        >>> row = sim.admin.insert("notes", {"text": "a"})
        >>> sim.admin.post("notes", row["id"])["posted"]
        True
        >>> sim.admin.close_period("2026-10")
        >>> sorted(sim.closed_periods)
        ['2026-10']
    """

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim

    def insert(
        self, table: str, data: Mapping[str, Any], *, at: datetime | None = None
    ) -> dict[str, Any]:
        """Insert a row; returns its snapshot."""
        with self._sim._lock:
            return self._sim.table(table).insert(data, at=at).snapshot()

    def update(self, table: str, row_id: int | str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change a live row (``KeyError`` if none)."""
        with self._sim._lock:
            return self._sim.table(table).update(row_id, changes).snapshot()

    def delete(self, table: str, row_id: int | str) -> dict[str, Any]:
        """Delete a live row, leaving a tombstone."""
        with self._sim._lock:
            return self._sim.table(table).delete(row_id).snapshot()

    def archive(self, table: str, row_id: int | str) -> dict[str, Any]:
        """Mark a row archived (still readable, no longer active)."""
        with self._sim._lock:
            t = self._sim.table(table)
            row = _live(t, row_id)
            row.archived = True
            t.touch(row)
            return row.snapshot()

    def post(self, table: str, row_id: int | str) -> dict[str, Any]:
        """Post (lock) a row: the vendor refuses to change or delete it afterwards."""
        with self._sim._lock:
            t = self._sim.table(table)
            row = _live(t, row_id)
            row.posted = True
            self._sim.on_post(table, row)
            t.touch(row)
            return row.snapshot()

    def close_period(self, period: str) -> None:
        """Close an accounting period (``YYYY-MM``)."""
        if not re.fullmatch(r"\d{4}-\d{2}", period):
            raise ValueError(f"period must look like YYYY-MM, not {period!r}")
        with self._sim._lock:
            self._sim.closed_periods.add(period)

    def open_period(self, period: str) -> None:
        """Re-open a period."""
        with self._sim._lock:
            self._sim.closed_periods.discard(period)

    def rows(self, table: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Snapshots of the rows of ``table`` in id order."""
        with self._sim._lock:
            return [r.snapshot() for r in self._sim.table(table) if include_deleted or r.live]

    def count(self, table: str) -> int:
        """Live rows in ``table``."""
        with self._sim._lock:
            return len(self._sim.table(table))

    def churn(self, table: str, fraction: float, rng: random.Random) -> dict[str, list[int]]:
        """Insert, update and delete about ``fraction`` of the rows each (at least one each).

        Returns the ids touched per kind, so a test knows what changed.
        """
        with self._sim._lock:
            t = self._sim.table(table)
            live = t.live_rows()
            n = max(1, round(len(live) * fraction))
            changed: dict[str, list[int]] = {"inserted": [], "updated": [], "deleted": []}
            for row in rng.sample(live, min(n, len(live))):
                t.update(row.id, self._sim.mutate_row(table, row.data, rng))
                changed["updated"].append(row.id)
            remaining = [r for r in t.live_rows() if r.id not in changed["updated"]]
            for row in rng.sample(remaining, min(n, len(remaining))):
                t.delete(row.id)
                changed["deleted"].append(row.id)
            for _ in range(n):
                changed["inserted"].append(t.insert(self._sim.sample_row(table, rng)).id)
            return changed

    def advance(self, seconds: float) -> None:
        """Move a :class:`~erpsa_sdk.clock.SimClock` forward (``TypeError`` on a real clock)."""
        clock = self._sim.clock
        if not isinstance(clock, SimClock):
            raise TypeError("the simulator runs on a real clock; it cannot be advanced")
        clock.advance(seconds)

    def http(self, req: SimRequest, parts: list[str]) -> SimResponse:
        """Serve the admin API over HTTP (routes listed in the test-kit docs)."""
        m = req.method
        body = req.json() if req.body else {}
        if parts == ["tables"] and m == "GET":
            return SimResponse.json({name: len(t) for name, t in self._sim._tables.items()})
        if parts == ["state"] and m == "GET":
            return SimResponse.json(
                {
                    "vendor": self._sim.vendor,
                    "now": iso(self._sim.clock.now()),
                    "closed_periods": sorted(self._sim.closed_periods),
                    "requests": self._sim.stats.requests,
                    "limit_violations": self._sim.stats.limit_violations,
                    "max_in_flight": self._sim.stats.max_in_flight,
                    "faults": [
                        [e.method, e.path, e.body_digest, e.attempt, e.kind.value]
                        for e in self._sim.fault_log
                    ],
                }
            )
        if parts == ["faults"] and m == "POST":
            self._sim.set_faults(str(body.get("plan", "none")))
            return SimResponse.json({"plan": self._sim.faults.describe()})
        if parts == ["clock", "advance"] and m == "POST":
            self.advance(float(body["seconds"]))
            return SimResponse.json({"now": iso(self._sim.clock.now())})
        if len(parts) == 3 and parts[0] == "periods" and m == "POST":
            (self.close_period if parts[2] == "close" else self.open_period)(parts[1])
            return SimResponse.json({"closed_periods": sorted(self._sim.closed_periods)})
        if len(parts) == 2 and parts[0] == "tables":
            if m == "GET":
                deleted = req.query.get("include_deleted") in {"1", "true"}
                return SimResponse.json(self.rows(parts[1], include_deleted=deleted))
            if m == "POST":
                return SimResponse.json(self.insert(parts[1], body), status=201)
        if len(parts) == 3 and parts[0] == "tables":
            if m == "PATCH":
                return SimResponse.json(self.update(parts[1], parts[2], body))
            if m == "DELETE":
                return SimResponse.json(self.delete(parts[1], parts[2]))
        if len(parts) == 4 and parts[0] == "tables" and m == "POST":
            if parts[3] == "archive":
                return SimResponse.json(self.archive(parts[1], parts[2]))
            if parts[3] == "post":
                return SimResponse.json(self.post(parts[1], parts[2]))
        return SimResponse.json({"error": f"no admin route {m} /{'/'.join(parts)}"}, status=404)


def _live(table: Table, row_id: int | str) -> Row:
    row = table.get(row_id)
    if row is None:
        raise KeyError(f"{table.name}/{row_id}")
    return row
