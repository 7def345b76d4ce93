"""Origins: a request or next link may only go where the client was configured to go.

Example:
    >>> origin_of("https://API.example.com/v1/items?page=2")
    'https://api.example.com:443'
    >>> check_origin("https://evil.example/steal", allowed=["https://api.example.com"])
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    erpsa_sdk.errors.SecurityError: https://evil.example/steal leaves the configured origin ...
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx2

from erpsa_sdk.errors import SecurityError
from erpsa_sdk.http.redaction import redact_url

__all__ = ["check_origin", "origin_of"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str | httpx2.URL) -> str:
    """The ``scheme://host:port`` origin of a URL, with the default port made explicit.

    Example:
        >>> origin_of("http://localhost:8080/x")
        'http://localhost:8080'
    """
    parsed = httpx2.URL(url) if isinstance(url, str) else url
    port = parsed.port or _DEFAULT_PORTS.get(parsed.scheme, 0)
    return f"{parsed.scheme}://{parsed.host.lower()}:{port}"


def check_origin(url: str | httpx2.URL, *, allowed: Iterable[str | httpx2.URL]) -> None:
    """Raise :class:`SecurityError` unless ``url`` is on one of the ``allowed`` origins.

    Example:
        >>> check_origin("https://api.example.com/next?page=3", allowed=["https://api.example.com/v1"])
    """
    allowed_origins = sorted({origin_of(a) for a in allowed})
    if origin_of(url) not in allowed_origins:
        raise SecurityError(
            f"{redact_url(url)} leaves the configured origin ({', '.join(allowed_origins)}); "
            "refusing to send a request or credential there",
        )
