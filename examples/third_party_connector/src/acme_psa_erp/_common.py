"""What both Acme connectors share: settings, the error parser, the HTTP client."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx2

from erpsa_sdk.auth import ClientCredentialsAuth, StaticBearerAuth
from erpsa_sdk.clock import Clock, SystemClock
from erpsa_sdk.connector import ConnectorSettings, SecretStr
from erpsa_sdk.errors import (
    ApiError,
    AuthError,
    ConfigurationError,
    NotFoundError,
    PostedRecordError,
    RateLimited,
    ResponseFormatError,
    ServerError,
    ValidationFailed,
)
from erpsa_sdk.http import ApiClient
from erpsa_sdk.limits import Governor, Limit, Scope
from erpsa_sdk.models.refs import SourceRef

__all__ = ["AcmeSettings", "acme_error", "make_client"]

# Vendor error codes that name their error class better than the HTTP status does.
_BY_CODE: dict[str, type[ApiError]] = {
    "RECORD_POSTED": PostedRecordError,
    "PERIOD_CLOSED": ValidationFailed,
    "REQUIRED_FIELD": ValidationFailed,
    "INVALID_REFERENCE": ValidationFailed,
    "INVALID": ValidationFailed,
    "NOT_POSTED": ValidationFailed,
    "RATE_LIMITED": RateLimited,
    "UNAUTHORIZED": AuthError,
    "NOT_FOUND": NotFoundError,
    "UNAVAILABLE": ServerError,
}


class AcmeSettings(ConnectorSettings):
    """Settings shared by both Acme connectors.

    Authenticate with ``api_token`` (a static bearer token), or with ``client_id`` +
    ``client_secret`` against ``token_url`` (OAuth 2.0 client credentials).

    Example:
        >>> AcmeSettings(base_url="https://api.acme.example/v2", api_token="t").page_size
        100
    """

    tenant: str = "acme"
    base_url: str
    api_token: SecretStr | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    token_url: str | None = None
    page_size: int = 100
    #: The share of the vendor's declared limits this connector may use.
    share: float = 1.0
    timeout: float = 30.0


def acme_error(response: httpx2.Response) -> ApiError | ResponseFormatError | None:
    """The Acme error parser: ``{"error": {"code", "message"}}`` on any status, 200 included.

    Example:
        >>> req = httpx2.Request("PATCH", "https://erp.example/api/time-entries/1")
        >>> err = acme_error(httpx2.Response(409, json={"error": {"code": "RECORD_POSTED",
        ...                                  "message": "posted"}}, request=req))
        >>> type(err).__name__, err.vendor_code
        ('PostedRecordError', 'RECORD_POSTED')
    """
    if "json" not in response.headers.get("content-type", ""):
        return None
    try:
        body: Any = response.json()
    except (ValueError, RecursionError):
        return None  # the transport reports malformed (or too deeply nested) JSON itself
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    code = str(error.get("code", "UNKNOWN"))
    message = str(error.get("message", "vendor error"))
    if response.status_code < 400:
        return ResponseFormatError(
            f"{code}: {message} (answered with status {response.status_code})"
        )
    cls = _BY_CODE.get(code)
    if cls is None:
        return None  # let the status decide
    if cls is RateLimited and response.status_code != 429:
        cls = ServerError
    return cls(message, vendor_code=code)


def make_client(
    settings: AcmeSettings,
    *,
    limits: Sequence[Limit],
    transport: httpx2.BaseTransport | None,
    clock: Clock | None,
    write_key_header: str | None = None,
) -> ApiClient:
    """The tenant's :class:`~erpsa_sdk.http.ApiClient`, governed by the declared limits."""
    clock = clock or SystemClock()
    auth: httpx2.Auth
    if settings.api_token is not None:
        auth = StaticBearerAuth(settings.api_token, tenant=settings.tenant)
    elif settings.client_id and settings.client_secret and settings.token_url:
        auth = ClientCredentialsAuth(
            token_url=settings.token_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            tenant=settings.tenant,
            clock=clock,
        )
    else:
        raise ConfigurationError(
            "give api_token, or client_id + client_secret + token_url, in the Acme settings"
        )
    governor = Governor(
        limits, scopes=Scope.account(settings.tenant), share=settings.share, clock=clock
    )
    return ApiClient(
        base_url=settings.base_url,
        tenant=settings.tenant,
        auth=auth,
        governor=governor,
        clock=clock,
        error_parser=acme_error,
        write_key_header=write_key_header,
        transport=transport,
        timeout=settings.timeout,
    )


def ref(system: str, tenant: str, row: dict[str, Any], version_field: str) -> SourceRef:
    """The :class:`SourceRef` of a vendor row."""
    return SourceRef(
        system=system,
        tenant=tenant,
        id=str(row["id"]),
        version=str(row.get(version_field)) if row.get(version_field) else None,
    )
