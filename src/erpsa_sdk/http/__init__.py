"""Vendor-neutral HTTP transport: clients, errors, retries, pagination, redaction.

Connectors build on :class:`ApiClient` / :class:`AsyncApiClient` and plug vendor behaviour in
through small hooks: an error parser, a throttle classifier, pagination strategies and a
:class:`WriteSafety` per write operation.

Example:
    >>> import httpx2
    >>> from erpsa_sdk.http import ApiClient
    >>> client = ApiClient(base_url="https://api.example",
    ...                    transport=httpx2.MockTransport(lambda r: httpx2.Response(200, json=[])))
    >>> client.request_json("GET", "/things")
    []
"""

from erpsa_sdk.http._client import (
    DEFAULT_LIMITS,
    DEFAULT_TIMEOUT,
    ApiClient,
    AsyncApiClient,
    AsyncMiddleware,
    Middleware,
)
from erpsa_sdk.http._pager import DEFAULT_MAX_PAGES, AsyncPager, Page, Pager
from erpsa_sdk.http.classify import ErrorParser, ThrottleClassifier, classify_response, parse_json
from erpsa_sdk.http.hooks import GovernorHook, NoGovernor
from erpsa_sdk.http.origin import check_origin, origin_of
from erpsa_sdk.http.pagination import (
    Cursor,
    KeysetSeek,
    KeysetWindow,
    NextLink,
    OffsetLimit,
    PageNumber,
    PageRequest,
    PageStrategy,
    Step,
)
from erpsa_sdk.http.redaction import RedactingFilter, assert_no_secrets
from erpsa_sdk.http.retry import RetryPolicy, parse_retry_after
from erpsa_sdk.http.safety import WriteSafety

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_PAGES",
    "DEFAULT_TIMEOUT",
    "ApiClient",
    "AsyncApiClient",
    "AsyncMiddleware",
    "AsyncPager",
    "Cursor",
    "ErrorParser",
    "GovernorHook",
    "KeysetSeek",
    "KeysetWindow",
    "Middleware",
    "NextLink",
    "NoGovernor",
    "OffsetLimit",
    "Page",
    "PageNumber",
    "PageRequest",
    "PageStrategy",
    "Pager",
    "RedactingFilter",
    "RetryPolicy",
    "Step",
    "ThrottleClassifier",
    "WriteSafety",
    "assert_no_secrets",
    "check_origin",
    "classify_response",
    "origin_of",
    "parse_json",
    "parse_retry_after",
]
