"""The two client shells: :class:`ApiClient` (sync) and :class:`AsyncApiClient` (async).

Both only build the request, send or await it, sleep through the injected clock and lock;
every decision (error class, throttle, retry verdict, backoff, look-up before a retry, origin)
comes from :mod:`erpsa_sdk.http.classify`, :mod:`erpsa_sdk.http.retry` and
:mod:`erpsa_sdk.http.origin`, which both shells import.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx2
import tenacity

from erpsa_sdk.clock import Clock, SystemClock
from erpsa_sdk.correlation import get_correlation_id, new_correlation_id
from erpsa_sdk.errors import ConfigurationError, RateLimited
from erpsa_sdk.http._pager import DEFAULT_MAX_PAGES, AsyncPager, Pager
from erpsa_sdk.http.classify import (
    DEFAULT_REQUEST_ID_HEADERS,
    ErrorParser,
    ThrottleClassifier,
    classify_response,
    default_throttle,
    map_transport_error,
    parse_json,
)
from erpsa_sdk.http.hooks import GovernorHook, NoGovernor
from erpsa_sdk.http.origin import check_origin, origin_of
from erpsa_sdk.http.pagination import Cursor, PageStrategy
from erpsa_sdk.http.redaction import install_log_filters, redact_url
from erpsa_sdk.http.retry import RetryController, RetryPolicy, needs_lookup, retry_after_hint
from erpsa_sdk.http.safety import WriteSafety

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_TIMEOUT",
    "ApiClient",
    "AsyncApiClient",
    "AsyncMiddleware",
    "Middleware",
]

T = TypeVar("T")

_LOG = logging.getLogger("erpsa_sdk.http")
# Our own records and httpx2's (it logs request URLs) are redacted at the source logger.
for _name in ("erpsa_sdk.http", "httpx2"):
    install_log_filters(logging.getLogger(_name))

DEFAULT_TIMEOUT = httpx2.Timeout(30.0, connect=10.0)
"""30 s to read / write / wait for a pooled connection, 10 s to connect."""
DEFAULT_LIMITS = httpx2.Limits(max_connections=20, max_keepalive_connections=10)
"""One client per tenant connection; raise ``max_connections`` with the vendor's concurrency."""

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Middleware = Callable[
    [httpx2.Request, Callable[[httpx2.Request], httpx2.Response]], httpx2.Response
]
"""``(request, call_next) -> response``, run once per attempt inside the retry loop."""
AsyncMiddleware = Callable[
    [httpx2.Request, Callable[[httpx2.Request], Awaitable[httpx2.Response]]],
    Awaitable[httpx2.Response],
]
"""Async twin of :data:`Middleware`."""


def _user_agent() -> str:
    from erpsa_sdk import __version__

    return f"erpsa-sdk/{__version__} httpx2/{httpx2.__version__}"


@dataclass(frozen=True)
class _Call:
    """One logical request: built once, sent unchanged on every attempt."""

    request: httpx2.Request
    safety: WriteSafety | None
    lookup: Callable[[], Any] | None
    url: httpx2.URL

    @cached_property
    def what(self) -> str:
        """``METHOD <redacted URL>`` for logs and errors: redacted only when one needs it."""
        return f"{self.request.method} {redact_url(self.url)}"


class _Config:
    """Settings and pure request preparation shared by both shells."""

    def __init__(
        self,
        *,
        base_url: str,
        tenant: str | None,
        governor: GovernorHook | None,
        clock: Clock | None,
        retry: RetryPolicy | None,
        error_parser: ErrorParser | None,
        throttle_classifier: ThrottleClassifier | None,
        write_key_header: str | None,
        correlation_header: str,
        request_id_headers: Sequence[str],
        allowed_origins: Iterable[str],
        rng: random.Random | None,
        wait: bool,
    ) -> None:
        if not base_url:
            raise ConfigurationError("base_url is required")
        url = httpx2.URL(base_url)
        if url.scheme not in ("https", "http") or not url.host:
            raise ConfigurationError(f"base_url must be an absolute http(s) URL, got {base_url!r}")
        self.base_url = base_url
        self.tenant = tenant
        self.governor: GovernorHook = governor if governor is not None else NoGovernor()
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.retry = retry if retry is not None else RetryPolicy()
        self.error_parser = error_parser
        self.is_throttle = throttle_classifier or default_throttle
        self.write_key_header = write_key_header
        self.correlation_header = correlation_header
        self.request_id_headers = tuple(request_id_headers)
        self.origins = [origin_of(base_url), *(origin_of(o) for o in allowed_origins)]
        # The set check_origin compares against, built once (it is the same every request).
        self._allowed = frozenset(origin_of(o) for o in self.origins)
        # Jitter only spreads retries; it needs no cryptographic randomness.
        self.rng = rng if rng is not None else random.Random()  # noqa: S311
        self.wait = wait

    def prepare(
        self,
        http: httpx2.Client | httpx2.AsyncClient,
        method: str,
        url: str | httpx2.URL,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
        content: bytes | str | None,
        headers: Mapping[str, str] | None,
        timeout: float | httpx2.Timeout | None,
        safety: WriteSafety | None,
        read_only: bool,
        write_key: str | None,
        lookup: Callable[[], Any] | None,
    ) -> _Call:
        method = method.upper()
        if method in _READ_METHODS or read_only:
            if safety is not None:
                raise ConfigurationError(f"safety= applies to writes, not to a read ({method})")
        elif safety is None:
            safety = WriteSafety.UNSAFE  # an undeclared write is never retried
        extra: dict[str, str] = {}
        if safety is WriteSafety.SERVER_DEDUP:
            if not write_key or not self.write_key_header:
                raise ConfigurationError(
                    "SERVER_DEDUP needs write_key= and a client write_key_header= "
                    "(the header the vendor de-duplicates on)"
                )
            extra[self.write_key_header] = write_key
        if safety is WriteSafety.LOOKUP_THEN_CREATE and lookup is None:
            raise ConfigurationError("LOOKUP_THEN_CREATE needs lookup= (the look-up by key)")
        extra[self.correlation_header] = get_correlation_id() or new_correlation_id()
        request = http.build_request(
            method,
            url,
            params=params,
            json=json,
            content=content,
            headers={**(headers or {}), **extra},
            timeout=timeout if timeout is not None else httpx2.USE_CLIENT_DEFAULT,
        )
        # No request (and so no credential) ever leaves the configured origin(s); a URL off
        # them goes through check_origin itself, which raises.
        if origin_of(request.url) not in self._allowed:
            check_origin(request.url, allowed=self.origins)
        return _Call(request=request, safety=safety, lookup=lookup, url=request.url)

    def controller(self, call: _Call) -> RetryController:
        return RetryController(
            policy=self.retry, describe=lambda: call.what, safety=call.safety, rng=self.rng
        )

    def verdict_on(
        self, response: httpx2.Response
    ) -> tuple[BaseException | None, bool, float | None]:
        """(error or None, throttled?, vendor retry-after) for one answered attempt."""
        error = classify_response(
            response,
            parser=self.error_parser,
            tenant=self.tenant,
            request_id_headers=self.request_id_headers,
            now=self.clock.now(),
        )
        if error is None:
            return None, False, None
        return error, self.is_throttle(error), retry_after_hint(error)

    def repr(self, cls: str) -> str:
        tenant = f", tenant={self.tenant!r}" if self.tenant else ""
        return f"{cls}(base_url={redact_url(self.base_url)!r}{tenant})"


class ApiClient:
    """Synchronous HTTP client for one tenant connection: auth, governor, retries, errors.

    One instance per tenant connection, shared by every thread (httpx2 pools connections);
    close it, or use it as a context manager. Requests outside ``base_url``'s origin (or an
    ``allowed_origins`` entry) are refused with ``SecurityError`` before anything is sent.

    Parameters:
        base_url: the tenant's API root, e.g. ``https://acme.api.example/v1``.
        tenant: the tenant name put on every error.
        auth: an ``httpx2.Auth`` applied to every attempt (OAuth flows live in ``erpsa_sdk.auth``).
        governor: the limits governor; ``acquire`` before and ``release`` after each attempt.
        clock: the clock used for backoff sleeps and ``Retry-After`` dates.
        retry: the :class:`~erpsa_sdk.http.retry.RetryPolicy`.
        error_parser: the connector's ``response -> error | None`` hook.
        throttle_classifier: the connector's ``error -> bool`` throttle hook.
        write_key_header: the header a vendor de-duplicates on (for ``SERVER_DEDUP`` writes).
        correlation_header: header carrying the correlation id (from the contextvar).
        middleware: callables ``(request, call_next) -> response`` run once per attempt.
        transport: an ``httpx2.BaseTransport`` (``MockTransport`` in tests, a simulator).
        timeout: an ``httpx2.Timeout`` or seconds (default 30 s, 10 s to connect).
        limits: an ``httpx2.Limits`` (connection pool size).
        user_agent: the ``User-Agent`` header (default ``erpsa-sdk/<version> httpx2/<version>``).
        headers: extra headers sent on every request.
        rng: the random source of the backoff jitter (seed it in tests).
        wait: ``False`` for interactive callers: the governor raises ``RateLimited(retry_at=...)``
            at once instead of blocking (pair it with ``RetryPolicy(max_attempts=1)`` so a
            vendor 429 is not slept on either).

    Example:
        >>> import httpx2
        >>> def handler(request):
        ...     cid = request.headers["X-Correlation-ID"]
        ...     return httpx2.Response(200, json={"id": 7, "cid": cid})
        >>> with ApiClient(base_url="https://acme.api.example/v1", tenant="acme",
        ...                transport=httpx2.MockTransport(handler)) as client:
        ...     body = client.request_json("GET", "/items/7")
        >>> body["id"], len(body["cid"]) > 0
        (7, True)
        >>> client
        ApiClient(base_url='https://acme.api.example/v1', tenant='acme')
    """

    def __init__(
        self,
        *,
        base_url: str,
        tenant: str | None = None,
        auth: httpx2.Auth | None = None,
        governor: GovernorHook | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        error_parser: ErrorParser | None = None,
        throttle_classifier: ThrottleClassifier | None = None,
        write_key_header: str | None = None,
        correlation_header: str = "X-Correlation-ID",
        request_id_headers: Sequence[str] = DEFAULT_REQUEST_ID_HEADERS,
        allowed_origins: Iterable[str] = (),
        middleware: Sequence[Middleware] = (),
        transport: httpx2.BaseTransport | None = None,
        timeout: float | httpx2.Timeout = DEFAULT_TIMEOUT,
        limits: httpx2.Limits = DEFAULT_LIMITS,
        user_agent: str | None = None,
        headers: Mapping[str, str] | None = None,
        rng: random.Random | None = None,
        wait: bool = True,
    ) -> None:
        self._cfg = _Config(
            base_url=base_url,
            tenant=tenant,
            governor=governor,
            clock=clock,
            retry=retry,
            error_parser=error_parser,
            throttle_classifier=throttle_classifier,
            write_key_header=write_key_header,
            correlation_header=correlation_header,
            request_id_headers=request_id_headers,
            allowed_origins=allowed_origins,
            rng=rng,
            wait=wait,
        )
        self._http = httpx2.Client(
            base_url=base_url,
            auth=auth,
            timeout=timeout,
            limits=limits,
            transport=transport,
            headers={"User-Agent": user_agent or _user_agent(), **(headers or {})},
            follow_redirects=False,
        )
        send: Callable[[httpx2.Request], httpx2.Response] = self._http.send
        for mw in reversed(middleware):
            send = _bind(mw, send)
        self._send = send

    @property
    def base_url(self) -> str:
        """The configured API root."""
        return self._cfg.base_url

    @property
    def tenant(self) -> str | None:
        """The tenant put on every error."""
        return self._cfg.tenant

    @property
    def clock(self) -> Clock:
        """The clock this client sleeps on (pagers use it for keyset horizons)."""
        return self._cfg.clock

    def request(
        self,
        method: str,
        url: str | httpx2.URL,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | httpx2.Timeout | None = None,
        safety: WriteSafety | None = None,
        read_only: bool = False,
        write_key: str | None = None,
        lookup: Callable[[], httpx2.Response | None] | None = None,
    ) -> httpx2.Response:
        """Send one logical request with retries; return the successful response.

        Reads (GET / HEAD / OPTIONS, or ``read_only=True`` for a query sent as POST) are
        retried on transient failures. A write is retried only as its ``safety`` allows; an
        undeclared write is ``UNSAFE``. ``SERVER_DEDUP`` sends ``write_key`` in the client's
        ``write_key_header`` on every attempt; ``LOOKUP_THEN_CREATE`` calls ``lookup()`` before
        each retry and returns its response when it finds the record.

        Raises the error tree of :mod:`erpsa_sdk.errors` (``IndeterminateWrite`` for a write
        whose response was lost and that may not be retried).

        Example:
            >>> import httpx2
            >>> from erpsa_sdk.http import WriteSafety
            >>> seen = []
            >>> def handler(request):
            ...     seen.append(request.headers["Idempotency-Key"])
            ...     return httpx2.Response(503 if len(seen) == 1 else 201, json={})
            >>> from erpsa_sdk.http.retry import RetryPolicy
            >>> client = ApiClient(base_url="https://api.example",
            ...                    write_key_header="Idempotency-Key",
            ...                    retry=RetryPolicy(initial_delay=0),
            ...                    transport=httpx2.MockTransport(handler))
            >>> client.request("POST", "/invoices", json={"n": 1}, safety=WriteSafety.SERVER_DEDUP,
            ...                write_key="wk-1").status_code
            201
            >>> seen
            ['wk-1', 'wk-1']
        """
        call = self._cfg.prepare(
            self._http,
            method,
            url,
            params=params,
            json=json,
            content=content,
            headers=headers,
            timeout=timeout,
            safety=safety,
            read_only=read_only,
            write_key=write_key,
            lookup=lookup,
        )
        ctl = self._cfg.controller(call)
        for attempt in tenacity.Retrying(sleep=self._cfg.clock.sleep, **ctl.tenacity_kwargs()):
            with attempt:
                if call.lookup is not None and needs_lookup(
                    call.safety, attempt.retry_state.attempt_number
                ):
                    found = call.lookup()
                    _LOG.debug("%s: look-up before retry found=%s", call.what, found is not None)
                    if found is not None:
                        return found  # type: ignore[no-any-return]
                return self._attempt(call)
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    def get(
        self,
        url: str | httpx2.URL,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx2.Response:
        """``request("GET", url, ...)``.

        Example:
            >>> import httpx2
            >>> c = ApiClient(base_url="https://api.example",
            ...               transport=httpx2.MockTransport(lambda r: httpx2.Response(204)))
            >>> c.get("/ping").status_code
            204
        """
        return self.request("GET", url, params=params, headers=headers)

    def paginate(
        self,
        strategy: PageStrategy,
        *,
        model: type[T] | None = None,
        cursor: Cursor | None = None,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> Pager[T]:
        """A lazy :class:`~erpsa_sdk.http.Pager` over ``strategy`` (nothing is sent yet).

        Example:
            >>> import httpx2
            >>> from erpsa_sdk.http import PageNumber
            >>> body = {"items": [1], "meta": {"total_pages": 1}}
            >>> def handler(request):
            ...     return httpx2.Response(200, json=body)
            >>> c = ApiClient(base_url="https://api.example",
            ...               transport=httpx2.MockTransport(handler))
            >>> list(c.paginate(PageNumber("/things")))
            [1]
        """
        return Pager(self, strategy, model=model, cursor=cursor, max_pages=max_pages)

    def request_json(self, method: str, url: str | httpx2.URL, **kwargs: Any) -> Any:
        """:meth:`request`, then decode the JSON body (``ResponseFormatError`` if it is not JSON).

        Example:
            >>> import httpx2
            >>> c = ApiClient(base_url="https://api.example",
            ...               transport=httpx2.MockTransport(
            ...                   lambda r: httpx2.Response(200, json=[1])))
            >>> c.request_json("GET", "/x")
            [1]
        """
        return parse_json(self.request(method, url, **kwargs))

    def _attempt(self, call: _Call) -> httpx2.Response:
        cfg = self._cfg
        try:
            permit = cfg.governor.acquire(wait=cfg.wait)
        except RateLimited as exc:
            raise _refused(exc) from None
        throttled, hint = False, None
        try:
            try:
                response = self._send(call.request)
            except httpx2.TransportError as exc:
                # from None: the library's own message may quote what it was sent.
                raise map_transport_error(exc, call.request) from None
            error, throttled, hint = cfg.verdict_on(response)
            if error is not None:
                response.close()
                raise error
            return response
        finally:
            cfg.governor.release(permit, throttled=throttled, retry_after=hint)

    def close(self) -> None:
        """Close the connection pool.

        Example:
            >>> ApiClient(base_url="https://api.example").close()
        """
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return self._cfg.repr(type(self).__name__)


class AsyncApiClient:
    """Asynchronous twin of :class:`ApiClient` (same arguments, ``await`` the calls).

    It never starts a thread and never calls ``asyncio.run``: it works inside a running loop
    (Jupyter included). ``lookup`` and middleware are coroutines here.

    Example:
        >>> import asyncio, httpx2
        >>> async def handler(request):
        ...     return httpx2.Response(200, json={"ok": True})
        >>> async def main():
        ...     async with AsyncApiClient(base_url="https://api.example",
        ...                               transport=httpx2.MockTransport(handler)) as client:
        ...         return await client.request_json("GET", "/health")
        >>> asyncio.run(main())
        {'ok': True}
    """

    def __init__(
        self,
        *,
        base_url: str,
        tenant: str | None = None,
        auth: httpx2.Auth | None = None,
        governor: GovernorHook | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        error_parser: ErrorParser | None = None,
        throttle_classifier: ThrottleClassifier | None = None,
        write_key_header: str | None = None,
        correlation_header: str = "X-Correlation-ID",
        request_id_headers: Sequence[str] = DEFAULT_REQUEST_ID_HEADERS,
        allowed_origins: Iterable[str] = (),
        middleware: Sequence[AsyncMiddleware] = (),
        transport: httpx2.AsyncBaseTransport | None = None,
        timeout: float | httpx2.Timeout = DEFAULT_TIMEOUT,
        limits: httpx2.Limits = DEFAULT_LIMITS,
        user_agent: str | None = None,
        headers: Mapping[str, str] | None = None,
        rng: random.Random | None = None,
        wait: bool = True,
    ) -> None:
        self._cfg = _Config(
            base_url=base_url,
            tenant=tenant,
            governor=governor,
            clock=clock,
            retry=retry,
            error_parser=error_parser,
            throttle_classifier=throttle_classifier,
            write_key_header=write_key_header,
            correlation_header=correlation_header,
            request_id_headers=request_id_headers,
            allowed_origins=allowed_origins,
            rng=rng,
            wait=wait,
        )
        self._http = httpx2.AsyncClient(
            base_url=base_url,
            auth=auth,
            timeout=timeout,
            limits=limits,
            transport=transport,
            headers={"User-Agent": user_agent or _user_agent(), **(headers or {})},
            follow_redirects=False,
        )
        send: Callable[[httpx2.Request], Awaitable[httpx2.Response]] = self._http.send
        for mw in reversed(middleware):
            send = _abind(mw, send)
        self._send = send

    @property
    def base_url(self) -> str:
        """The configured API root."""
        return self._cfg.base_url

    @property
    def tenant(self) -> str | None:
        """The tenant put on every error."""
        return self._cfg.tenant

    @property
    def clock(self) -> Clock:
        """The clock this client sleeps on."""
        return self._cfg.clock

    async def request(
        self,
        method: str,
        url: str | httpx2.URL,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | httpx2.Timeout | None = None,
        safety: WriteSafety | None = None,
        read_only: bool = False,
        write_key: str | None = None,
        lookup: Callable[[], Awaitable[httpx2.Response | None]] | None = None,
    ) -> httpx2.Response:
        """Async twin of :meth:`ApiClient.request` (``lookup`` is a coroutine function).

        Example:
            >>> import asyncio, httpx2
            >>> async def handler(request):
            ...     return httpx2.Response(201, json={})
            >>> async def main():
            ...     async with AsyncApiClient(base_url="https://api.example",
            ...                               transport=httpx2.MockTransport(handler)) as c:
            ...         r = await c.request("PUT", "/items/eid:k1", json={},
            ...                             safety=WriteSafety.NATURAL_UPSERT)
            ...         return r.status_code
            >>> asyncio.run(main())
            201
        """
        call = self._cfg.prepare(
            self._http,
            method,
            url,
            params=params,
            json=json,
            content=content,
            headers=headers,
            timeout=timeout,
            safety=safety,
            read_only=read_only,
            write_key=write_key,
            lookup=lookup,
        )
        ctl = self._cfg.controller(call)
        async for attempt in tenacity.AsyncRetrying(
            sleep=self._cfg.clock.asleep, **ctl.tenacity_kwargs()
        ):
            with attempt:
                if call.lookup is not None and needs_lookup(
                    call.safety, attempt.retry_state.attempt_number
                ):
                    found = await call.lookup()
                    _LOG.debug("%s: look-up before retry found=%s", call.what, found is not None)
                    if found is not None:
                        return found  # type: ignore[no-any-return]
                return await self._attempt(call)
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    async def get(
        self,
        url: str | httpx2.URL,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx2.Response:
        """``await request("GET", url, ...)``."""
        return await self.request("GET", url, params=params, headers=headers)

    def paginate(
        self,
        strategy: PageStrategy,
        *,
        model: type[T] | None = None,
        cursor: Cursor | None = None,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> AsyncPager[T]:
        """A lazy :class:`~erpsa_sdk.http.AsyncPager` over ``strategy`` (nothing is sent yet)."""
        return AsyncPager(self, strategy, model=model, cursor=cursor, max_pages=max_pages)

    async def request_json(self, method: str, url: str | httpx2.URL, **kwargs: Any) -> Any:
        """:meth:`request`, then decode the JSON body (``ResponseFormatError`` if not JSON)."""
        return parse_json(await self.request(method, url, **kwargs))

    async def _attempt(self, call: _Call) -> httpx2.Response:
        cfg = self._cfg
        try:
            permit = await cfg.governor.aacquire(wait=cfg.wait)
        except RateLimited as exc:
            raise _refused(exc) from None
        throttled, hint = False, None
        try:
            try:
                response = await self._send(call.request)
            except httpx2.TransportError as exc:
                # from None: the library's own message may quote what it was sent.
                raise map_transport_error(exc, call.request) from None
            error, throttled, hint = cfg.verdict_on(response)
            if error is not None:
                await response.aclose()
                raise error
            return response
        finally:
            await cfg.governor.arelease(permit, throttled=throttled, retry_after=hint)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return self._cfg.repr(type(self).__name__)


def _refused(exc: RateLimited) -> RateLimited:
    # The governor's own refusal (wait=False): the caller chose not to wait, so no retry sleeps.
    exc.retryable = False
    return exc


def _bind(
    mw: Middleware, call_next: Callable[[httpx2.Request], httpx2.Response]
) -> Callable[[httpx2.Request], httpx2.Response]:
    return lambda request: mw(request, call_next)


def _abind(
    mw: AsyncMiddleware, call_next: Callable[[httpx2.Request], Awaitable[httpx2.Response]]
) -> Callable[[httpx2.Request], Awaitable[httpx2.Response]]:
    return lambda request: mw(request, call_next)
