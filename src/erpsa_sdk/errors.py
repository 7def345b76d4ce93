"""The one error tree of erpsa-sdk.

Every exception the SDK raises on purpose derives from :class:`ErpsaError`, so
``except ErpsaError`` catches them all and nothing else::

    ErpsaError
    ├── ConfigurationError          settings or configuration refused before anything runs
    ├── CurrencyMismatch            two currencies combined (erpsa_sdk.models; also a ValueError)
    ├── DeletionFeedExpired         a change feed's cursor is older than the vendor keeps events
    ├── TransportError              the request never got a complete answer
    │   ├── Timeout
    │   └── ConnectError
    ├── ApiError                    the vendor answered with an error (status, vendor code, ...)
    │   ├── AuthError               401, or a token that cannot be refreshed
    │   ├── ForbiddenError          403
    │   ├── NotFoundError           404
    │   ├── ConflictError           409 / 412
    │   ├── ValidationFailed        400 / 422: the vendor refused the payload
    │   ├── RateLimited             429 or a vendor throttle code; carries ``retry_at``
    │   ├── QuotaExhausted          a daily / monthly budget is spent; retrying now will not help
    │   ├── ServerError             5xx
    │   └── PostedRecordError       the target holds the record as posted / locked
    ├── ResponseFormatError         malformed JSON, an HTML error page, a 200 whose body is an error
    ├── IndeterminateWrite          a write whose outcome is unknown (resolve by look-up)
    ├── SecurityError               e.g. a next link that leaves the configured origin
    └── StateError                  the state store refused an operation (schema, size, invariant)
        ├── LeaseHeld               another worker holds the pipeline lease
        └── LeaseLost               the lease was taken over; a fenced commit was refused

Every error carries what an operator needs (status, vendor code, request id, tenant, a
redacted body excerpt) and never a secret: messages are built from redacted parts only.

Example:
    >>> from erpsa_sdk.errors import RateLimited, ErpsaError
    >>> err = RateLimited("throttled", status=429, retry_after=2.0)
    >>> isinstance(err, ErpsaError), err.retry_after
    (True, 2.0)
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

__all__ = [
    "ApiError",
    "AuthError",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "DeletionFeedExpired",
    "ErpsaError",
    "ForbiddenError",
    "IndeterminateWrite",
    "LeaseHeld",
    "LeaseLost",
    "NotFoundError",
    "PostedRecordError",
    "QuotaExhausted",
    "RateLimited",
    "ResponseFormatError",
    "SecurityError",
    "ServerError",
    "StateError",
    "Timeout",
    "TransportError",
    "ValidationFailed",
]


class ErpsaError(Exception):
    """Base class of every error the SDK raises on purpose.

    Example:
        >>> try:
        ...     raise ErpsaError("something went wrong")
        ... except ErpsaError as exc:
        ...     str(exc)
        'something went wrong'
    """

    def __init__(self, message: str = "", **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context: dict[str, Any] = context


class ConfigurationError(ErpsaError):
    """Settings or a configuration file were refused before anything ran.

    Example:
        >>> ConfigurationError("max_concurrency is required").message
        'max_concurrency is required'
    """


class DeletionFeedExpired(ErpsaError):
    """A deletion feed's cursor is older than the vendor's event retention: events may be lost.

    The runner answers it with a complete enumeration of the type (deletion detection by
    what the enumeration no longer sees), then restarts the feed.

    Examples:
        >>> DeletionFeedExpired("cursor older than 9 days").message
        'cursor older than 9 days'
    """


class TransportError(ErpsaError):
    """The request did not get a complete answer (network, timeout).

    Example:
        >>> issubclass(Timeout, TransportError)
        True
    """


class Timeout(TransportError):
    """The request timed out (connect, read, write or pool).

    Example:
        >>> Timeout("read timed out").message
        'read timed out'
    """


class ConnectError(TransportError):
    """The connection could not be opened or was reset.

    Example:
        >>> ConnectError("connection reset").message
        'connection reset'
    """


class ApiError(ErpsaError):
    """The vendor answered with an error.

    Parameters:
        message: a short human description (never contains a secret).
        status: the HTTP status code, when there was one.
        vendor_code: the vendor's own error code (``CONCURRENCY_LIMIT_EXCEEDED``, ...).
        request_id: the vendor's request / correlation id, for support tickets.
        tenant: the tenant (account, environment) the request was for.
        body_excerpt: a short, redacted excerpt of the response body.
        retryable: the classifier's verdict; ``None`` means "use the default for the status".

    Example:
        >>> err = ApiError("bad request", status=400, vendor_code="INVALID_FIELD", tenant="TSTDRV1")
        >>> str(err)
        'bad request [status=400 vendor_code=INVALID_FIELD tenant=TSTDRV1]'
    """

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        vendor_code: str | None = None,
        request_id: str | None = None,
        tenant: str | None = None,
        body_excerpt: str | None = None,
        retryable: bool | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.vendor_code = vendor_code
        self.request_id = request_id
        self.tenant = tenant
        self.body_excerpt = body_excerpt
        self.retryable = retryable
        self.details: list[dict[str, Any]] = details or []

    def __str__(self) -> str:
        parts = [
            f"{name}={value}"
            for name, value in (
                ("status", self.status),
                ("vendor_code", self.vendor_code),
                ("request_id", self.request_id),
                ("tenant", self.tenant),
            )
            if value is not None
        ]
        return f"{self.message} [{' '.join(parts)}]" if parts else self.message


class AuthError(ApiError):
    """Authentication failed (401), or a token cannot be obtained or refreshed.

    Example:
        >>> AuthError("token rejected", status=401).status
        401
    """


class ForbiddenError(ApiError):
    """The caller is authenticated but not allowed (403).

    Example:
        >>> ForbiddenError("no role", status=403).status
        403
    """


class NotFoundError(ApiError):
    """The addressed record does not exist (404).

    Example:
        >>> NotFoundError("no such record", status=404).status
        404
    """


class ConflictError(ApiError):
    """The write conflicts with the record's current state (409, 412).

    Example:
        >>> ConflictError("etag mismatch", status=412).status
        412
    """


class ValidationFailed(ApiError):
    """The vendor refused the payload (400, 422); retrying the same request will not help.

    Example:
        >>> ValidationFailed("field missing", status=400, vendor_code="USER_ERROR").vendor_code
        'USER_ERROR'
    """


class RateLimited(ApiError):
    """Throttled by the vendor, or by the SDK's own governor for a caller that must not sleep.

    ``retry_after`` is in seconds from when the error was raised; ``retry_at`` is the aware
    UTC time at which a retry may be admitted, when known.

    Example:
        >>> RateLimited("slow down", status=429, retry_after=1.5).retry_after
        1.5
    """

    def __init__(
        self,
        message: str = "",
        *,
        retry_after: float | None = None,
        retry_at: datetime | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.retry_at = retry_at


class QuotaExhausted(ApiError):
    """A longer budget (daily, monthly, execution time) is spent; retry much later.

    Example:
        >>> QuotaExhausted("daily quota", status=429).status
        429
    """


class ServerError(ApiError):
    """The vendor failed (5xx).

    Example:
        >>> ServerError("bad gateway", status=502).status
        502
    """


class PostedRecordError(ApiError):
    """The target holds the record as posted or locked; it must be reversed, not changed.

    Example:
        >>> PostedRecordError("invoice is posted", status=400).message
        'invoice is posted'
    """


class ResponseFormatError(ErpsaError):
    """The answer could not be understood: malformed JSON, an HTML page, a 200 with an error body.

    Example:
        >>> ResponseFormatError("expected JSON, got text/html").message
        'expected JSON, got text/html'
    """


class IndeterminateWrite(ErpsaError):
    """A write may or may not have taken effect (its response was lost).

    Resolve it by looking the record up by its EntityKey before any new attempt.

    Example:
        >>> IndeterminateWrite("response lost after send", entity_key="k").context
        {'entity_key': 'k'}
    """


class SecurityError(ErpsaError):
    """A security rule refused the operation (for example a next link to another origin).

    Example:
        >>> SecurityError("next link leaves the configured origin").message
        'next link leaves the configured origin'
    """


class StateError(ErpsaError):
    """The state store refused an operation: an unknown schema version, an oversized checkpoint,
    or a commit that would break an invariant (a checkpoint past unacknowledged work).

    Example:
        >>> StateError("checkpoint is 2 MB; the limit is 64 KiB").message
        'checkpoint is 2 MB; the limit is 64 KiB'
    """


class LeaseHeld(StateError):
    """Another worker holds the pipeline lease; this one must not run the pipeline now.

    Example:
        >>> LeaseHeld("lease 'kantata->netsuite' is held", holder="host-b:412").context
        {'holder': 'host-b:412'}
    """


class LeaseLost(StateError):
    """The lease was taken over by another worker, so a fenced commit was refused.

    Nothing of the refused commit was stored; the worker must stop. The new holder re-reads
    from the last committed checkpoint, so no work is lost.

    Example:
        >>> err = LeaseLost("lease taken over", fence=3, current_fence=4)
        >>> err.context["current_fence"]
        4
    """
