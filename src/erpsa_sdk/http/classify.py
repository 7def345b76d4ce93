"""Error classification: turn an HTTP answer or a transport failure into the SDK's error tree.

Pure functions over :class:`httpx2.Response` objects that both client shells call. Vendor
behaviour enters through one hook, an :data:`ErrorParser` supplied by the connector: it looks
at any response (a 200 included, since some vendors answer errors with 200) and returns an
error, or ``None`` to let the status-based defaults decide. A connector may also supply a
:data:`ThrottleClassifier` telling the governor which errors are throttle signals.

Status defaults: 401 ``AuthError``, 403 ``ForbiddenError``, 404 ``NotFoundError``, 409 / 412
``ConflictError``, 400 / 422 ``ValidationFailed``, 429 ``RateLimited`` (with ``retry_at``),
5xx ``ServerError``, any other 4xx ``ApiError``. Bodies in errors are redacted excerpts.

Example:
    >>> import httpx2
    >>> req = httpx2.Request("GET", "https://api.example/items")
    >>> err = classify_response(httpx2.Response(404, json={"message": "no such item"}, request=req),
    ...                         tenant="acme")
    >>> type(err).__name__, str(err)
    ('NotFoundError', 'no such item [status=404 tenant=acme]')
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pydantic_core

from erpsa_sdk.errors import (
    ApiError,
    AuthError,
    ConflictError,
    ConnectError,
    ForbiddenError,
    NotFoundError,
    RateLimited,
    ResponseFormatError,
    ServerError,
    Timeout,
    TransportError,
    ValidationFailed,
)
from erpsa_sdk.http.redaction import body_excerpt, redact_text, redact_url
from erpsa_sdk.http.retry import MAX_RETRY_AFTER, parse_retry_after

__all__ = [
    "DEFAULT_REQUEST_ID_HEADERS",
    "ErrorParser",
    "ThrottleClassifier",
    "classify_response",
    "default_throttle",
    "lenient_json",
    "map_transport_error",
    "parse_json",
    "request_id_of",
]

ErrorParser = Callable[[httpx2.Response], ApiError | ResponseFormatError | None]
"""A connector's hook: ``response -> error`` (or ``None`` for "use the status defaults")."""

ThrottleClassifier = Callable[[BaseException], bool]
"""A connector's hook: is this error a throttle signal the governor must hear about?"""

#: Generic request-id headers; a connector passes its vendor's own names (``request_id_headers``).
DEFAULT_REQUEST_ID_HEADERS: tuple[str, ...] = ("x-request-id", "request-id", "x-correlation-id")

_BY_STATUS: dict[int, type[ApiError]] = {
    400: ValidationFailed,
    401: AuthError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    412: ConflictError,
    422: ValidationFailed,
    429: RateLimited,
}


def default_throttle(error: BaseException) -> bool:
    """The default throttle classifier: a :class:`RateLimited` error is a throttle signal.

    Example:
        >>> default_throttle(RateLimited("slow", status=429)), default_throttle(ServerError("x"))
        (True, False)
    """
    return isinstance(error, RateLimited)


def classify_response(
    response: httpx2.Response,
    *,
    parser: ErrorParser | None = None,
    tenant: str | None = None,
    request_id_headers: Sequence[str] = DEFAULT_REQUEST_ID_HEADERS,
    now: datetime | None = None,
) -> ApiError | ResponseFormatError | None:
    """Return the error this response stands for, or ``None`` when it is a success.

    The connector's ``parser`` runs first, on every response; the fields it leaves empty
    (status, tenant, request id, body excerpt) are filled in here.

    Example:
        >>> import httpx2
        >>> req = httpx2.Request("GET", "https://api.example/x")
        >>> def parser(r):  # a vendor that answers errors with 200
        ...     body = r.json()
        ...     return ValidationFailed(body["fault"]) if "fault" in body else None
        >>> err = classify_response(httpx2.Response(200, json={"fault": "bad"}, request=req),
        ...                         parser=parser)
        >>> type(err).__name__, err.status
        ('ValidationFailed', 200)
        >>> classify_response(httpx2.Response(200, json={"ok": 1}, request=req)) is None
        True
    """
    now = now or datetime.now(UTC)
    request_id = request_id_of(response, request_id_headers)
    try:
        error = parser(response) if parser is not None else None
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        # A parser that trips over an unexpected body (HTML where JSON was expected, a missing
        # key) must not crash the client with a bare KeyError: the answer is malformed.
        raise ResponseFormatError(
            f"the connector's error parser could not read the answer to "
            f"{response.request.method} {redact_url(response.request.url)} "
            f"(status {response.status_code}, {type(exc).__name__}): "
            f"{body_excerpt(response.content, limit=200)}",
            status=response.status_code,
        ) from None
    if isinstance(error, ApiError):
        if error.status is None:
            error.status = response.status_code
        if error.tenant is None:
            error.tenant = tenant
        if error.request_id is None:
            error.request_id = request_id
        if error.body_excerpt is None:
            error.body_excerpt = body_excerpt(response.content)
        _attach_retry_after(error, response, now)
        return error
    if error is not None:
        return error
    status = response.status_code
    if status < 400:
        return None
    message, vendor_code = _generic_message(response)
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    fields: dict[str, Any] = {
        "status": status,
        "vendor_code": vendor_code,
        "request_id": request_id,
        "tenant": tenant,
        "body_excerpt": body_excerpt(response.content),
    }
    if cls is RateLimited:
        retry_after = parse_retry_after(
            response.headers.get("retry-after"), now=now, cap=float("inf")
        )
        retry_at = now + timedelta(seconds=retry_after) if retry_after is not None else None
        return RateLimited(message, retry_after=retry_after, retry_at=retry_at, **fields)
    api_error = cls(message, **fields)
    _attach_retry_after(api_error, response, now)
    return api_error


def _attach_retry_after(error: ApiError, response: httpx2.Response, now: datetime) -> None:
    # A 503 (or a vendor throttle code) may carry Retry-After too; the retry verdict reads it.
    header = response.headers.get("retry-after")
    if header is None:
        return
    hint = parse_retry_after(header, now=now, cap=MAX_RETRY_AFTER * 1000)
    if isinstance(error, RateLimited):
        if error.retry_after is None and hint is not None:
            error.retry_after = hint
            error.retry_at = now + timedelta(seconds=hint)
    elif hint is not None:
        error.context["retry_after"] = hint


def request_id_of(
    response: httpx2.Response, names: Sequence[str] = DEFAULT_REQUEST_ID_HEADERS
) -> str | None:
    """The request id the server sent in the first of ``names`` present (redacted, bounded).

    Examples:
        >>> r = httpx2.Response(500, headers={"x-ms-request-id": "abc"})
        >>> request_id_of(r) is None, request_id_of(r, ("x-ms-request-id",))
        (True, 'abc')
    """
    for name in names:
        value = response.headers.get(name)
        if value:
            return redact_text(value)[:200]
    return None


def _generic_message(response: httpx2.Response) -> tuple[str, str | None]:
    """A best-effort message and code from common error-body shapes; never the raw body."""
    default = f"HTTP {response.status_code} {response.reason_phrase}".strip()
    if _looks_html(response):
        return f"{default} (an HTML error page)", None
    body = lenient_json(response.content)
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]
    if not isinstance(body, dict):
        return default, None
    inner = body.get("error")
    if isinstance(inner, dict):
        body = {**body, **inner}
    message = next(
        (
            body[k]
            for k in ("message", "error_description", "detail", "title", "error")
            if isinstance(body.get(k), str) and body[k]
        ),
        None,
    )
    code = next(
        (str(body[k]) for k in ("code", "errorCode", "error_code") if body.get(k) is not None),
        None,
    )
    if code is None and isinstance(body.get("error"), str) and message != body["error"]:
        code = body["error"]
    text = redact_text(" ".join(message.split()))[:300] if message else default
    return text, (redact_text(code)[:100] if code else None)


def lenient_json(content: bytes) -> Any:
    """Decode an error body as JSON, or ``None`` when it is not JSON (empty, HTML, truncated,
    not UTF-8, nested too deep).

    For error parsers, which must describe any answer and never fail on a malformed one;
    a success body goes through :func:`parse_json`, which raises instead.

    Examples:
        >>> lenient_json(b'{"error": {"code": "E1"}}')
        {'error': {'code': 'E1'}}
        >>> lenient_json(b"<html>busy</html>") is None, lenient_json(b"") is None
        (True, True)
    """
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        # JSONDecodeError and UnicodeDecodeError are both ValueErrors.
        return None


def _looks_html(response: httpx2.Response) -> bool:
    ctype = response.headers.get("content-type", "").lower()
    if "html" in ctype:
        return True
    head = response.content[:64].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def parse_json(response: httpx2.Response) -> Any:
    """Decode a JSON body, or raise :class:`ResponseFormatError` (HTML page, empty, malformed).

    Example:
        >>> import httpx2
        >>> req = httpx2.Request("GET", "https://api.example/x")
        >>> parse_json(httpx2.Response(200, json={"a": 1}, request=req))
        {'a': 1}
        >>> parse_json(httpx2.Response(200, text="<html>login</html>",  # doctest: +ELLIPSIS
        ...            headers={"content-type": "text/html"}, request=req))
        Traceback (most recent call last):
        ...
        erpsa_sdk.errors.ResponseFormatError: expected JSON from GET https://api.example/x, ...
    """
    where = f"{response.request.method} {redact_url(response.request.url)}"
    if _looks_html(response):
        excerpt = body_excerpt(response.content, limit=200)
        raise ResponseFormatError(
            f"expected JSON from {where}, got an HTML page (status {response.status_code}): "
            f"{excerpt}",
            status=response.status_code,
            body_excerpt=excerpt,
        )
    try:
        return pydantic_core.from_json(response.content)
    except ValueError as exc:
        excerpt = body_excerpt(response.content, limit=200)
        raise ResponseFormatError(
            f"malformed JSON from {where} (status {response.status_code}): {excerpt!r}",
            status=response.status_code,
            body_excerpt=excerpt,
        ) from exc


def map_transport_error(exc: httpx2.TransportError, request: httpx2.Request) -> TransportError:
    """Map an httpx2 transport failure to :class:`Timeout` or :class:`ConnectError`.

    ``response_lost`` (in ``error.context``) is true when the request may have reached the
    server: a read / write timeout, or a connection that broke after sending.

    Example:
        >>> import httpx2
        >>> req = httpx2.Request("POST", "https://api.example/items?token=abc")
        >>> err = map_transport_error(httpx2.ReadTimeout("timed out", request=req), req)
        >>> type(err).__name__, err.context["response_lost"], str(err)
        ('Timeout', True, 'read timeout on POST https://api.example/items?token=***')
    """
    where = f"{request.method} {redact_url(request.url)}"
    error: TransportError
    if isinstance(exc, httpx2.ConnectTimeout):
        error = Timeout(f"connect timeout on {where}", response_lost=False)
    elif isinstance(exc, httpx2.PoolTimeout):
        error = Timeout(f"connection pool timeout on {where}", response_lost=False)
    elif isinstance(exc, httpx2.ReadTimeout):
        error = Timeout(f"read timeout on {where}", response_lost=True)
    elif isinstance(exc, httpx2.WriteTimeout):
        error = Timeout(f"write timeout on {where}", response_lost=True)
    elif isinstance(exc, httpx2.TimeoutException):
        error = Timeout(f"timeout on {where}", response_lost=True)
    elif isinstance(exc, httpx2.ConnectError):
        error = ConnectError(f"could not connect for {where}", response_lost=False)
    elif isinstance(exc, httpx2.UnsupportedProtocol | httpx2.ProxyError):
        error = ConnectError(f"could not send {where}: {type(exc).__name__}", response_lost=False)
    else:
        # ReadError, WriteError, RemoteProtocolError, ...: the connection broke mid-exchange.
        error = ConnectError(
            f"connection broke during {where}: {type(exc).__name__}", response_lost=True
        )
    return error
