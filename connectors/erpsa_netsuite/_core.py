"""The sans-IO core shared by :class:`NetSuite` and :class:`AsyncNetSuite`.

Pure decisions only: URLs for an account, the SuiteQL keyset page step, the reading of
NetSuite's error body into the SDK's error tree, and which errors are throttle signals.

Examples:
    >>> base_url("1234567_SB1")
    'https://1234567-sb1.suitetalk.api.netsuite.com'
    >>> realm("1234567-sb1")
    '1234567_SB1'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx2

from erpsa_netsuite.mapping import MappingError, format_timestamp, parse_timestamp
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
from erpsa_sdk.http.classify import lenient_json
from erpsa_sdk.http.pagination import Cursor, PageRequest, Step

__all__ = [
    "QUERY_PATH",
    "RECORD_PATH",
    "ErrorCodes",
    "SuiteQLKeyset",
    "base_url",
    "invalid_login_as_throttle",
    "parse_error",
    "realm",
]

QUERY_PATH = "/services/rest/query/v1/suiteql"
RECORD_PATH = "/services/rest/record/v1"
TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"  # noqa: S105 - a URL path
MAX_PAGE = 1000


def _host_id(account_id: str) -> str:
    account = account_id.strip()
    if not account or not account.replace("_", "").replace("-", "").isalnum():
        raise ConfigurationError(f"not a NetSuite account id: {account_id!r}")
    return account.lower().replace("_", "-")


def realm(account_id: str) -> str:
    """The account id as TBA's ``realm`` and as the tenant name (``_SB1`` form).

    Examples:
        >>> realm("tstdrv1")
        'TSTDRV1'
    """
    _host_id(account_id)
    return account_id.strip().upper().replace("-", "_")


def base_url(account_id: str) -> str:
    """The account's SuiteTalk REST origin (``-sb1`` form in the host name).

    Examples:
        >>> base_url("TSTDRV1")
        'https://tstdrv1.suitetalk.api.netsuite.com'
    """
    return f"https://{_host_id(account_id)}.suitetalk.api.netsuite.com"


@dataclass(frozen=True)
class ErrorCodes:
    """Vendor error codes the connector gives meaning to (unverified ones are configurable).

    Examples:
        >>> "CONCURRENCY_LIMIT_EXCEEDED" in ErrorCodes().throttle
        True
    """

    throttle: frozenset[str] = frozenset({"CONCURRENCY_LIMIT_EXCEEDED"})
    posted: frozenset[str] = frozenset({"RECORD_LOCKED"})
    closed_period: frozenset[str] = frozenset({"ACCOUNTING_PERIOD_CLOSED"})
    not_found: frozenset[str] = frozenset({"NONEXISTENT_ID"})


def _details(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, Mapping):
        return []
    items = body.get("o:errorDetails")
    if not isinstance(items, list):
        return []
    return [dict(item) for item in items if isinstance(item, Mapping)]


def parse_error(
    response: httpx2.Response, codes: ErrorCodes | None = None
) -> ApiError | ResponseFormatError | None:
    """NetSuite's error body (``o:errorDetails`` with ``o:errorCode``, ``o:errorPath``) as an
    error of the SDK's tree; ``None`` for a success.

    A 429 is a throttle even when its body is the published, invalid JSON. A 400 with a
    posted-record code is :class:`PostedRecordError`; with a closed-period code it is
    :class:`ValidationFailed` carrying that code.

    Examples:
        >>> r = httpx2.Response(404, json={"status": 404, "o:errorDetails": [
        ...     {"detail": "Record does not exist.", "o:errorCode": "NONEXISTENT_ID"}]})
        >>> err = parse_error(r)
        >>> type(err).__name__, err.vendor_code, err.message
        ('NotFoundError', 'NONEXISTENT_ID', 'Record does not exist.')
    """
    status = response.status_code
    if status < 400:
        if b'"o:errorDetails"' in response.content[:4096]:
            # A 2xx whose body is NetSuite's error envelope is an error, not a page.
            return ResponseFormatError(f"HTTP {status} carried an error body")
        return None
    codes = codes or ErrorCodes()
    body = lenient_json(response.content)
    details = _details(body)
    first = details[0] if details else {}
    code = first.get("o:errorCode")
    if code is None and isinstance(body, Mapping):
        code = body.get("o:errorCode") or body.get("error")
    message = str(first.get("detail") or (body or {}).get("title", "") or f"HTTP {status}")
    if "o:errorPath" in first:
        message = f"{message} (at {first['o:errorPath']})"
    fields: dict[str, Any] = {
        "status": status,
        "vendor_code": None if code is None else str(code),
        "details": details,
    }
    if (
        status == 429
        or code in codes.throttle
        or (body is None and b"CONCURRENCY_LIMIT_EXCEEDED" in response.content)
    ):
        fields["vendor_code"] = "CONCURRENCY_LIMIT_EXCEEDED"
        return RateLimited(message or "concurrency limit exceeded", **fields)
    if code in codes.posted:
        return PostedRecordError(message, **fields)
    if status == 401:
        return AuthError(message, **fields)
    if status == 404 or code in codes.not_found:
        return NotFoundError(message, **fields)
    if status in (400, 422):
        return ValidationFailed(message, **fields)
    if status >= 500:
        return ServerError(message, **fields)
    if body is None and status >= 400:
        return None  # let the transport's generic classification describe it
    return ApiError(message, **fields)


#: A 401 "Invalid login attempt" counts as throttling at most this often per request.
MAX_LOGIN_THROTTLES = 2
_LOGIN_THROTTLES = "erpsa_netsuite.login_throttles"


def invalid_login_as_throttle(
    error: ApiError | ResponseFormatError | None,
    request: httpx2.Request,
    *,
    saturated: bool,
) -> ApiError | ResponseFormatError | None:
    """NetSuite sometimes answers over-concurrency with a slow 401 "Invalid login attempt".

    Such a 401 counts as a throttle signal (a :class:`RateLimited` the governor hears) only
    while the governor is at its in-flight limit, and at most :data:`MAX_LOGIN_THROTTLES`
    times per request; otherwise it stays an :class:`AuthError`.

    Examples:
        >>> req = httpx2.Request("GET", "https://a.example/x")
        >>> login = AuthError("Invalid login attempt.", status=401, vendor_code="INVALID_LOGIN")
        >>> [type(invalid_login_as_throttle(login, req, saturated=True)).__name__
        ...  for _ in range(3)]
        ['RateLimited', 'RateLimited', 'AuthError']
        >>> type(invalid_login_as_throttle(login, httpx2.Request("GET", "https://a.example/y"),
        ...                                saturated=False)).__name__
        'AuthError'
    """
    if not (isinstance(error, AuthError) and error.vendor_code == "INVALID_LOGIN"):
        return error
    seen = int(request.extensions.get(_LOGIN_THROTTLES, 0))
    if not saturated or seen >= MAX_LOGIN_THROTTLES:
        return error
    request.extensions[_LOGIN_THROTTLES] = seen + 1
    return RateLimited(
        "401 Invalid login attempt at the concurrency limit: treated as throttling "
        f"({seen + 1} of {MAX_LOGIN_THROTTLES})",
        status=401,
        vendor_code="INVALID_LOGIN",
        details=error.details,
    )


def _sql_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class SuiteQLKeyset:
    """Keyset reads through SuiteQL: every page a fresh query after the last (timestamp, id).

    Every page is ``offset=0`` with ``limit`` rows, ordered by ``lastmodifieddate, id``,
    strictly after the last (timestamp, id) read and strictly before the walk's horizon (fixed
    when the walk starts, ``now - lag``). So no page depends on the server keeping a result
    set stable, the 100,000-row cap never applies, and a row changed during the walk is read
    by the next run. Ids compare as numbers. Stop when ``hasMore`` is false (NetSuite's rule).

    Examples:
        >>> from datetime import UTC, datetime
        >>> s = SuiteQLKeyset(table="timebill", select="id AS id", limit=2)
        >>> c = s.start(None, now=datetime(2026, 3, 1, 12, tzinfo=UTC))
        >>> c
        {'after': None, 'horizon': '2026-03-01 11:59:55'}
        >>> s.request(c).json["params"]
        ['1970-01-01 00:00:00', '1970-01-01 00:00:00', '0', '2026-03-01 11:59:55']
        >>> s.step(c, {"items": [{"id": "9", "lastmodified": "2026-02-01 00:00:00"}],
        ...            "hasMore": False}).cursor
        {'after': ['2026-02-01 00:00:00', '9'], 'horizon': None}
    """

    table: str
    select: str
    limit: int = MAX_PAGE
    timestamp_column: str = "lastmodifieddate"
    timestamp_alias: str = "lastmodified"
    timestamp_format: str = "YYYY-MM-DD HH24:MI:SS"
    timezone: str = "UTC"
    lag: timedelta = timedelta(seconds=5)
    extra_where: str = ""
    extra_params: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE:
            raise ConfigurationError(f"SuiteQL limit must be 1 to {MAX_PAGE}, got {self.limit}")

    def _order(self, key: Any) -> tuple[datetime, int]:
        # Compare as (time, number): the configured format need not sort as text.
        try:
            ts = parse_timestamp(str(key[0]), self.timestamp_format, ZoneInfo(self.timezone))
            return ts, int(key[1])
        except (MappingError, ValueError) as exc:
            raise ResponseFormatError(f"keyset position {list(key)!r} is malformed") from exc

    @property
    def path(self) -> str:
        """What the pager's repr shows: the query service and the table."""
        return f"suiteql:{self.table}"

    def _fmt(self, when: datetime) -> str:
        return format_timestamp(when, self.timestamp_format, ZoneInfo(self.timezone))

    def start(self, cursor: Cursor | None, *, now: datetime) -> Cursor:
        after = (cursor or {}).get("after")
        horizon = (cursor or {}).get("horizon")
        if horizon is None:
            horizon = self._fmt(now.replace(microsecond=0) - self.lag)
        return {"after": after, "horizon": horizon}

    def query(self) -> str:
        ts, fmt = self.timestamp_column, _sql_quote(self.timestamp_format)
        where = (
            f"({ts} > TO_TIMESTAMP(?, {fmt}) OR ({ts} = TO_TIMESTAMP(?, {fmt}) AND id > ?)) "
            f"AND {ts} < TO_TIMESTAMP(?, {fmt})"
        )
        if self.extra_where:
            where += f" AND ({self.extra_where})"
        # Values are bound parameters; only configured column lists are spliced in.
        return f"SELECT {self.select} FROM {self.table} WHERE {where} ORDER BY {ts}, id"  # noqa: S608

    def request(self, cursor: Cursor | None) -> PageRequest:
        if not cursor or cursor.get("horizon") is None:
            raise ConfigurationError("call start() first: a keyset walk needs its horizon")
        after = cursor.get("after") or [self._fmt(datetime(1970, 1, 1, tzinfo=UTC)), "0"]
        params = [str(after[0]), str(after[0]), str(after[1]), str(cursor["horizon"])]
        return PageRequest(
            url=QUERY_PATH,
            params={"limit": self.limit, "offset": 0},
            method="POST",
            json={"q": self.query(), "params": [*params, *self.extra_params]},
        )

    def step(self, cursor: Cursor, page: Any, *, page_url: str = "") -> Step:
        if not isinstance(page, Mapping) or not isinstance(page.get("items"), list):
            raise ResponseFormatError("SuiteQL page has no items list")
        items: list[Any] = page["items"]
        has_more = page.get("hasMore")
        if not isinstance(has_more, bool):
            raise ResponseFormatError(f"SuiteQL hasMore is {has_more!r}, expected a boolean")
        after = cursor.get("after")
        if not items:
            if has_more:
                raise ResponseFormatError("SuiteQL says there are more rows but sent none")
            return Step(items, {"after": after, "horizon": None}, False)
        last = items[-1]
        if not isinstance(last, Mapping) or "id" not in last or self.timestamp_alias not in last:
            raise ResponseFormatError("keyset rows need id and the timestamp column")
        key = [str(last[self.timestamp_alias]), str(last["id"])]
        if after is not None and self._order(key) <= self._order(after):
            raise ResponseFormatError(
                f"keyset did not advance (last row {key!r} is not after {list(after)!r})"
            )
        if not has_more:
            return Step(items, {"after": key, "horizon": None}, False)
        return Step(items, {"after": key, "horizon": cursor["horizon"]}, True)
