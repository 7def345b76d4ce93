"""The sans-IO core shared by :class:`Dynamics365` and :class:`AsyncDynamics365`.

Pure decisions only: the environment's URLs, the row id of an EntityKey, the reading of a
Dataverse error body into the SDK's error tree (the three service-protection codes told
apart), and the limits with their scope.

Examples:
    >>> environment_url("contoso", "crm4")
    'https://contoso.crm4.dynamics.com'
    >>> api_root("https://contoso.crm4.dynamics.com")
    'https://contoso.crm4.dynamics.com/api/data/v9.2/'
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx2

from erpsa_sdk.errors import (
    ApiError,
    AuthError,
    ConfigurationError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PostedRecordError,
    RateLimited,
    ServerError,
    ValidationFailed,
)
from erpsa_sdk.http.classify import lenient_json
from erpsa_sdk.limits import Concurrency, Limit, ScopeKind, SlidingWindow
from erpsa_sdk.models import EntityKey

__all__ = [
    "API_PATH",
    "SERVICE_PROTECTION",
    "ErrorCodes",
    "ThrottleKind",
    "api_root",
    "environment_url",
    "parse_error",
    "row_id",
    "service_protection_limits",
]

API_PATH = "/api/data/v9.2/"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def environment_url(environment: str, region: str = "crm") -> str:
    """``https://<env>.<region>.dynamics.com`` (``crm`` North America, ``crm4`` EMEA, ...).

    Examples:
        >>> environment_url("Contoso")
        'https://contoso.crm.dynamics.com'
        >>> environment_url("bad/name")
        Traceback (most recent call last):
        ...
        erpsa_sdk.errors.ConfigurationError: not a Dataverse environment name: 'bad/name'
    """
    env, reg = environment.strip().lower(), region.strip().lower()
    if not _NAME.match(env):
        raise ConfigurationError(f"not a Dataverse environment name: {environment!r}")
    if not _NAME.match(reg):
        raise ConfigurationError(f"not a Dataverse region: {region!r}")
    return f"https://{env}.{reg}.dynamics.com"


def api_root(environment_url: str) -> str:
    """The Web API root (``.../api/data/v9.2/``) of an environment URL.

    Examples:
        >>> api_root("https://org.crm.dynamics.com/")
        'https://org.crm.dynamics.com/api/data/v9.2/'
    """
    return environment_url.rstrip("/") + API_PATH


def row_id(entity_key: EntityKey) -> uuid.UUID:
    """The Dataverse row id of an EntityKey: UUIDv5, so the same key always names one row.

    Examples:
        >>> ek = EntityKey.parse("ek1:demo:kantata:acme:customer:77")
        >>> row_id(ek) == row_id(ek), row_id(ek).version
        (True, 5)
    """
    return entity_key.uuid5()


class ThrottleKind:
    """The three service-protection limits, by their documented error codes.

    Examples:
        >>> ThrottleKind.of("0x80072321")
        'execution_time'
    """

    REQUESTS = "requests"
    EXECUTION_TIME = "execution_time"
    CONCURRENCY = "concurrency"

    _BY_CODE: ClassVar[dict[str, str]] = {
        "-2147015902": REQUESTS,
        "0x80072322": REQUESTS,
        "-2147015903": EXECUTION_TIME,
        "0x80072321": EXECUTION_TIME,
        "-2147015898": CONCURRENCY,
        "0x80072326": CONCURRENCY,
    }

    @classmethod
    def of(cls, code: str | None) -> str | None:
        """Which limit a vendor code names, or ``None``.

        Examples:
            >>> ThrottleKind.of("-2147015902"), ThrottleKind.of("0x80040265")
            ('requests', None)
        """
        return cls._BY_CODE.get((code or "").lower()) if code else None


@dataclass(frozen=True)
class ErrorCodes:
    """Vendor error codes the connector gives meaning to; unverified ones are configuration.

    ``posted`` codes mark a plug-in's refusal to change a posted (approved) record; the
    published docs give no specific code, so none is assumed unless configured.

    Examples:
        >>> "0x80040220" in ErrorCodes().privilege
        True
    """

    privilege: frozenset[str] = frozenset({"0x80040220"})
    posted: frozenset[str] = frozenset()


def parse_error(response: httpx2.Response, codes: ErrorCodes | None = None) -> ApiError | None:
    """The Dataverse error body ``{"error": {"code", "message", "@Microsoft.PowerApps.CDS.*"}}``
    as an error of the SDK's tree; ``None`` for a success (or a body the transport should
    describe itself).

    The three service-protection codes come out as :class:`RateLimited` with
    ``context["limit"]`` naming which limit was hit; annotations land in ``details``.

    Examples:
        >>> r = httpx2.Response(429, headers={"Retry-After": "42"}, json={"error": {
        ...     "code": "0x80072326",
        ...     "message": "Number of concurrent requests exceeded the limit of 52."}})
        >>> err = parse_error(r)
        >>> type(err).__name__, err.vendor_code, err.context["limit"]
        ('RateLimited', '0x80072326', 'concurrency')
        >>> type(parse_error(httpx2.Response(412, json={"error": {"code": "",
        ...     "message": "A record with matching key values already exists."}}))).__name__
        'ConflictError'
    """
    status = response.status_code
    if status < 400:
        return None
    codes = codes or ErrorCodes()
    body = lenient_json(response.content)
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping):
        if status == 429:
            return RateLimited(f"HTTP 429 {response.reason_phrase}".strip(), status=429)
        return None
    code = str(error.get("code") or "") or None
    message = str(error.get("message") or f"HTTP {status}")
    details = (
        [{k: v for k, v in error.items() if k.startswith("@")}]
        if any(k.startswith("@") for k in error)
        else []
    )
    fields: dict[str, Any] = {"status": status, "vendor_code": code, "details": details}
    limit = ThrottleKind.of(code)
    if status == 429 or limit is not None:
        err = RateLimited(message, **fields)
        err.context["limit"] = limit or "unknown"
        return err
    if code in codes.posted:
        return PostedRecordError(message, **fields)
    if status == 401:
        return AuthError(message, **fields)
    if status == 403:
        return ForbiddenError(message, **fields)
    if status == 404:
        return NotFoundError(message, **fields)
    if status in (409, 412):
        return ConflictError(message, **fields)
    if status in (400, 422):
        return ValidationFailed(message, **fields)
    if status >= 500:
        return ServerError(message, **fields)
    return ApiError(message, **fields)


def service_protection_limits(
    requests: int = 6000, seconds: float = 300, concurrent: int = 52
) -> tuple[Limit, ...]:
    """The service-protection limits, counted per environment and calling user on each web
    server (the execution-time limit is reactive: only the 429 tells).

    Examples:
        >>> [lim.name for lim in service_protection_limits()]
        ['environment_user:window-6000-per-300s', 'environment_user:concurrency-52']
    """
    return (
        Limit(
            SlidingWindow(requests, seconds),
            ScopeKind.ENVIRONMENT_USER,
            note="Dataverse service protection: 6,000 requests per 300 s per user and server",
        ),
        Limit(
            Concurrency(concurrent),
            ScopeKind.ENVIRONMENT_USER,
            note="Dataverse service protection: 52 concurrent requests per user and server",
        ),
    )


#: The documented defaults ("subject to change"); the SDK uses the configured share of them.
SERVICE_PROTECTION = service_protection_limits()
