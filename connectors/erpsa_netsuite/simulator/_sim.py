"""The NetSuite REST simulator: a sans-IO handler over in-memory tables.

``NetSuiteSimulator(...)`` is callable as ``httpx2.Request -> httpx2.Response``, so it mounts on
``httpx2.MockTransport`` as is. Everything it does is written from the fact sheet
(``vendor-apis-erp.md`` §1); behaviour the sheet marks unverified is a field of
:class:`SimConfig`.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import parse_qsl, quote, unquote
from zoneinfo import ZoneInfo

import httpx2
from joserfc.jwk import ECKey

from erpsa_netsuite.simulator._auth import (
    AuthFailure,
    M2MClient,
    TbaCredentials,
    verify_assertion,
    verify_tba,
)
from erpsa_netsuite.simulator._schema import RECORD_TYPES, TABLES, FieldSpec, RecordType
from erpsa_netsuite.simulator._store import Row, Table
from erpsa_netsuite.simulator._suiteql import (
    Col,
    Context,
    Func,
    Query,
    SuiteQLError,
    compile_where,
    leading_range,
    parse,
    scan,
    to_char,
)
from erpsa_sdk.clock import Clock, SystemClock

__all__ = ["CustomField", "NetSuiteSimulator", "SimConfig"]

RFC_TYPE = "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html"
ERROR_CT = "application/vnd.oracle.resource+json; type=error"
SINGULAR_CT = "application/vnd.oracle.resource+json; type=singular"
COLLECTION_CT = "application/vnd.oracle.resource+json; type=collection"
MAX_LIMIT = 1000
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Bad Request",  # sic: the documented 429 body says "Bad Request"
    500: "Internal Server Error",
}


@dataclass(frozen=True)
class CustomField:
    """A tenant custom field on one record type (``custcol_workstream`` on ``timebill``).

    Example:
        >>> CustomField(kind="str", required=True).required
        True
    """

    kind: Literal["str", "int", "decimal", "bool", "date"] = "str"
    required: bool = False
    label: str = ""


@dataclass
class SimConfig:
    """Simulator behaviour; every unverified vendor behaviour is a field here.

    Example:
        >>> SimConfig(account_id="1234567_SB1").host
        '1234567-sb1.suitetalk.api.netsuite.com'
    """

    account_id: str = "1234567"
    #: Account concurrency limit (5 for Standard and development accounts).
    concurrency_limit: int = 5
    #: Retry-After on the 429 (undocumented; omitted by default).
    retry_after_on_429: int | None = None
    #: Emit the 429 body exactly as published (invalid JSON: a comma is missing).
    verbatim_429_body: bool = False
    #: Over-concurrency sometimes surfaces as 401 "Invalid login attempt" [3P]; off by default.
    invalid_login_on_overload: bool = False
    #: What X-NetSuite-Idempotency-Key does on a synchronous request (undocumented).
    idempotency_on_sync: Literal["ignore", "deduplicate"] = "ignore"
    #: SuiteQL: re-evaluate every page (default) or keep the first page's result set.
    suiteql_snapshot: bool = False
    #: The user's preferences that SuiteQL uses to render bare dates and timestamps.
    timezone: str = "UTC"
    date_format: str = "MM/DD/YYYY"
    #: Results a query can reach (100,000 without SuiteAnalytics Connect).
    query_cap: int = 100_000
    #: Error codes the fact sheet does not give (configurable, unverified).
    closed_period_code: str = "ACCOUNTING_PERIOD_CLOSED"
    posted_record_code: str = "RECORD_LOCKED"
    missing_field_code: str = "USER_ERROR"
    #: Tenant custom fields per record type (REST record id, lower case).
    custom_fields: dict[str, dict[str, CustomField]] = field(default_factory=dict)
    #: Seconds each request holds its concurrency slot (advances the clock).
    latency: float = 0.0
    #: Access-token lifetime for M2M.
    token_lifetime: int = 3600

    @property
    def host(self) -> str:
        return f"{self.account_id.lower().replace('_', '-')}.suitetalk.api.netsuite.com"

    @property
    def base_url(self) -> str:
        return f"https://{self.host}"


class _ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        path: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.path = status, code, detail, path
        self.headers = dict(headers or {})


def error_body(status: int, code: str, detail: str, path: str | None = None) -> dict[str, Any]:
    """The documented error shape: type, title, status and ``o:errorDetails``."""
    item: dict[str, Any] = {"detail": detail, "o:errorCode": code}
    if path is not None:
        item["o:errorPath"] = path
    return {
        "type": RFC_TYPE,
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "o:errorDetails": [item],
    }


def _json_response(
    status: int,
    body: Any,
    content_type: str,
    headers: Mapping[str, str] | None = None,
) -> httpx2.Response:
    hdrs = {"Content-Type": content_type, **(headers or {})}
    return httpx2.Response(status, headers=hdrs, content=json.dumps(body).encode())


def _trunc(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(microsecond=0)


def minutes_from_hours(value: Any) -> int:
    """NetSuite durations: ``"H:MM"`` or decimal hours, rounded to the minute."""
    if isinstance(value, str) and ":" in value:
        hours, _, minutes = value.partition(":")
        if not hours.strip().isdigit() or not minutes.isdigit() or int(minutes) >= 60:
            raise ValueError(value)
        return int(hours) * 60 + int(minutes)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(value)
    try:
        dec = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(value) from exc
    return int((dec * 60).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def hours_text(minutes: int) -> str:
    """``"H:MM"``, as NetSuite shows a duration."""
    return f"{minutes // 60}:{minutes % 60:02d}"


def decimal_hours(minutes: int) -> str:
    """Decimal hours as a string: exact where it terminates, else 10 fractional digits."""
    value = (Decimal(minutes) / Decimal(60)).quantize(Decimal("1e-10"))
    text = format(value.normalize(), "f")
    return text


class NetSuiteSimulator:
    """A stateful NetSuite REST account in memory, answering like the real one.

    Mount it on ``httpx2.MockTransport`` or serve it over loopback. Credentials for all three
    auth methods are ready in :attr:`credentials`.

    Example:
        >>> import httpx2
        >>> sim = NetSuiteSimulator(seed=1)
        >>> client = httpx2.Client(transport=httpx2.MockTransport(sim), base_url=sim.base_url)
        >>> r = client.post("/services/rest/query/v1/suiteql", json={
        ...     "q": "SELECT id, name FROM subsidiary ORDER BY id"},
        ...     headers={"Prefer": "transient", "Authorization": sim.bearer_header})
        >>> r.status_code, r.json()["items"][0]["name"]
        (200, 'Parent Company')
    """

    def __init__(
        self,
        seed: int = 0,
        config: SimConfig | None = None,
        clock: Clock | None = None,
        *,
        seed_data: bool = True,
    ) -> None:
        self.seed = seed
        self.config = config or SimConfig()
        self.clock: Clock = clock or SystemClock()
        self.tz = ZoneInfo(self.config.timezone)
        self.lock = threading.RLock()
        self.tables: dict[str, Table] = {t.rest.lower(): Table(t) for t in RECORD_TYPES.values()}
        self.inflight = 0
        self.background = 0
        self.requests: list[tuple[str, str, int]] = []
        self.counters: dict[str, int] = {}
        self._idem: dict[str, httpx2.Response] = {}
        self._nonces: set[tuple[str, str]] = set()
        self._tokens: dict[str, float] = {}
        self._snapshots: dict[tuple[str, tuple[str, ...]], list[int]] = {}
        self._parsed: dict[str, Query] = {}
        rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
        hexs = [f"{rng.getrandbits(256):064x}" for _ in range(4)]
        self.tba = TbaCredentials(hexs[0], hexs[1], hexs[2], hexs[3])
        self.m2m_key = ECKey.generate_key("P-256")
        self.m2m_client = M2MClient(
            client_id=f"{rng.getrandbits(256):064x}",
            certificate_id=f"{rng.getrandbits(128):032x}"[:43],
            public_key=ECKey.import_key(self.m2m_key.as_pem(private=False)),
        )
        self.static_token = "sim-" + secrets.token_hex(16)
        self.faults: Callable[[httpx2.Request], httpx2.Response | None] | None = None
        if seed_data:
            self._seed(rng)

    # ------------------------------------------------------------------ public helpers

    @property
    def base_url(self) -> str:
        """``https://<account>.suitetalk.api.netsuite.com``."""
        return self.config.base_url

    @property
    def token_url(self) -> str:
        """The OAuth 2.0 token endpoint (M2M)."""
        return f"{self.base_url}/services/rest/auth/oauth2/v1/token"

    @property
    def bearer_header(self) -> str:
        """A ready ``Authorization`` value (a simulator convenience that does not expire)."""
        return f"Bearer {self.static_token}"

    @property
    def credentials(self) -> dict[str, Any]:
        """Everything a client needs: the ready header, TBA keys, the M2M client and its key."""
        return {
            "authorization": self.bearer_header,
            "account_id": self.config.account_id,
            "token_url": self.token_url,
            "tba": {
                "consumer_key": self.tba.consumer_key,
                "consumer_secret": self.tba.consumer_secret,
                "token_id": self.tba.token_id,
                "token_secret": self.tba.token_secret,
            },
            "m2m": {
                "client_id": self.m2m_client.client_id,
                "certificate_id": self.m2m_client.certificate_id,
                "private_key_pem": self.m2m_key.as_pem(private=True).decode(),
                "algorithm": "ES256",
            },
        }

    def table(self, record_type: str) -> Table:
        """The table of a record type (REST id, case-insensitive)."""
        try:
            return self.tables[record_type.lower()]
        except KeyError:
            raise KeyError(f"unknown record type {record_type!r}") from None

    def now(self) -> datetime:
        return _trunc(self.clock.now())

    # ------------------------------------------------------------------ admin (tests)

    def insert(self, record_type: str, **values: Any) -> Row:
        """Insert a row given SuiteQL column names; stamps created / modified times."""
        with self.lock:
            table = self.table(record_type)
            now = self.now()
            row: Row = {"isinactive": False, **values}
            row.setdefault("datecreated", now)
            row.setdefault("createddate", now)
            row.setdefault("lastmodifieddate", now)
            return table.insert(row)

    def modify(self, record_type: str, rid: int, **values: Any) -> Row:
        """Change a row (SuiteQL column names); its ``lastmodifieddate`` becomes now."""
        with self.lock:
            return self.table(record_type).update(
                rid, {**values, "lastmodifieddate": values.get("lastmodifieddate", self.now())}
            )

    def remove(self, record_type: str, rid: int) -> Row | None:
        """Delete a row outright (as a user in the UI would)."""
        with self.lock:
            return self.table(record_type).delete(rid)

    def post(self, record_type: str, rid: int) -> None:
        """Mark a record posted / locked: later edits and deletes are refused."""
        with self.lock:
            self.table(record_type).rows[rid]["_posted"] = True

    def set_period(
        self,
        on: date,
        state: Literal["open", "closed", "ar_locked", "ap_locked", "all_locked"],
    ) -> Row:
        """Open, close or lock the accounting period that contains ``on``."""
        with self.lock:
            period = self.period_for(on)
            if period is None:
                raise KeyError(f"no accounting period contains {on}")
            flags = {
                "closed": state == "closed",
                "arlocked": state == "ar_locked",
                "aplocked": state == "ap_locked",
                "alllocked": state == "all_locked",
            }
            return self.table("accountingPeriod").update(period["id"], flags)

    def period_for(self, on: date) -> Row | None:
        """The base (non-adjustment) accounting period containing ``on``."""
        for row in self.table("accountingPeriod"):
            if not row.get("isadjust") and row["startdate"] <= on <= row["enddate"]:
                return row
        return None

    def set_background_load(self, slots: int) -> None:
        """Requests other integrations hold on the account's concurrency limit."""
        with self.lock:
            self.background = slots

    # ------------------------------------------------------------------ handler

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        return self.handle(request)

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        """Answer one request (thread-safe)."""
        path = request.url.path
        if path == "/services/rest/auth/oauth2/v1/token":
            return self._answer(request, self._token_endpoint)
        with self.lock:
            over = self.inflight + self.background >= self.config.concurrency_limit
            if not over:
                self.inflight += 1
        if over:
            self._count("429")
            return self._record(request, self._throttled())
        try:
            if self.config.latency:
                self.clock.sleep(self.config.latency)
            return self._answer(request, self._route)
        finally:
            with self.lock:
                self.inflight -= 1

    def _count(self, name: str) -> None:
        with self.lock:
            self.counters[name] = self.counters.get(name, 0) + 1

    def _record(self, request: httpx2.Request, response: httpx2.Response) -> httpx2.Response:
        with self.lock:
            self.requests.append((request.method, request.url.path, response.status_code))
        return response

    def _answer(
        self, request: httpx2.Request, fn: Callable[[httpx2.Request], httpx2.Response]
    ) -> httpx2.Response:
        try:
            response = fn(request)
        except _ApiError as exc:
            response = _json_response(
                exc.status,
                error_body(exc.status, exc.code, exc.detail, exc.path),
                ERROR_CT,
                exc.headers,
            )
        return self._record(request, response)

    def _throttled(self) -> httpx2.Response:
        headers = {"Content-Type": ERROR_CT}
        if self.config.retry_after_on_429 is not None:
            headers["Retry-After"] = str(self.config.retry_after_on_429)
        detail = {
            "detail": "Concurrent request limit exceeded. Request blocked.",
            "o:errorCode": "CONCURRENCY_LIMIT_EXCEEDED",
        }
        if self.config.verbatim_429_body:
            # As published: a comma is missing after "USER_ERROR".
            text = (
                f'{{"type": "{RFC_TYPE}", "title": "Bad Request", "status": 429, '
                f'"o:errorCode": "USER_ERROR" "o:errorDetails": [{json.dumps(detail)}]}}'
            )
            return httpx2.Response(429, headers=headers, content=text.encode())
        if self.config.invalid_login_on_overload:
            body = error_body(
                401,
                "INVALID_LOGIN",
                "Invalid login attempt. For more details, see the Login Audit Trail in the "
                "NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail.",
            )
            return httpx2.Response(401, headers=headers, content=json.dumps(body).encode())
        body = {
            "type": RFC_TYPE,
            "title": "Bad Request",
            "status": 429,
            "o:errorCode": "USER_ERROR",
            "o:errorDetails": [detail],
        }
        return httpx2.Response(429, headers=headers, content=json.dumps(body).encode())

    # ------------------------------------------------------------------ auth

    def _authenticate(self, request: httpx2.Request) -> None:
        header = request.headers.get("Authorization", "")
        try:
            if header.startswith("Bearer "):
                token = header[7:]
                with self.lock:
                    expiry = self._tokens.get(token)
                if token == self.static_token:
                    return
                if expiry is None or expiry <= self.clock.time():
                    raise AuthFailure("unknown or expired bearer token")
                return
            if header.lower().startswith("oauth "):
                url = str(request.url)
                with self.lock:
                    verify_tba(
                        header,
                        request.method,
                        url,
                        {self.tba.consumer_key: self.tba},
                        self.config.account_id,
                        self._nonces,
                    )
                return
            raise AuthFailure("no credentials")
        except AuthFailure as exc:
            self._count("auth_failure:" + exc.reason)
            raise _ApiError(
                401,
                "INVALID_LOGIN",
                "Invalid login attempt. For more details, see the Login Audit Trail in the "
                "NetSuite UI at Setup > Users/Roles > User Management > View Login Audit Trail.",
            ) from None

    def _token_endpoint(self, request: httpx2.Request) -> httpx2.Response:
        if request.method != "POST":
            raise _ApiError(405, "INVALID_REQUEST", "Use POST.")
        form = dict(parse_qsl(request.content.decode(), keep_blank_values=True))
        # The audience is the token URL as the client addressed it (loopback included).
        url = str(request.url).split("?")[0]
        try:
            _, scopes = verify_assertion(
                form,
                {self.m2m_client.client_id: self.m2m_client},
                url,
                self.clock.time(),
            )
        except AuthFailure as exc:
            self._count("token_refused:" + exc.reason)
            return _json_response(400, {"error": "invalid_grant"}, "application/json")
        token = "sim." + secrets.token_urlsafe(24)
        with self.lock:
            self._tokens[token] = self.clock.time() + self.config.token_lifetime
        body = {
            "access_token": token,
            "expires_in": self.config.token_lifetime,
            "token_type": "Bearer",
        }
        del scopes
        return _json_response(200, body, "application/json")

    # ------------------------------------------------------------------ routing

    _RECORD = re.compile(r"^/services/rest/record/v1/([A-Za-z]+)(?:/([^/]+))?/?$")

    def _route(self, request: httpx2.Request) -> httpx2.Response:
        self._authenticate(request)
        path = request.url.path
        if path == "/services/rest/query/v1/suiteql":
            if request.method != "POST":
                raise _ApiError(405, "INVALID_REQUEST", "Use POST for SuiteQL.")
            return self._suiteql(request)
        match = self._RECORD.match(path)
        if match is None:
            raise _ApiError(404, "INVALID_REQUEST", f"The resource {path} was not found.")
        rtype_name, ident = match.group(1), match.group(2)
        rtype = RECORD_TYPES.get(rtype_name.lower())
        if rtype is None:
            raise _ApiError(404, "INVALID_REQUEST", f"Record type {rtype_name} does not exist.")
        if "respond-async" in request.headers.get("Prefer", ""):
            raise _ApiError(
                400,
                "INVALID_REQUEST",
                "Asynchronous requests are not simulated (erpsa_netsuite does not use them).",
            )
        with self.lock:
            if ident is None:
                if request.method == "GET":
                    return self._collection(request, rtype)
                if request.method == "POST":
                    return self._idempotent(request, lambda: self._create(request, rtype))
                raise _ApiError(
                    400,
                    "INVALID_REQUEST",
                    "Collection writes need Prefer: respond-async (not simulated).",
                )
            ident = unquote(ident)
            if request.method == "GET":
                return self._get(request, rtype, ident)
            if request.method == "PUT":
                return self._idempotent(request, lambda: self._upsert(request, rtype, ident))
            if request.method == "PATCH":
                return self._idempotent(request, lambda: self._patch(request, rtype, ident))
            if request.method == "DELETE":
                return self._idempotent(request, lambda: self._delete(request, rtype, ident))
        raise _ApiError(405, "INVALID_REQUEST", f"{request.method} is not allowed here.")

    def _idempotent(
        self, request: httpx2.Request, fn: Callable[[], httpx2.Response]
    ) -> httpx2.Response:
        key = request.headers.get("X-NetSuite-Idempotency-Key")
        if key is None or self.config.idempotency_on_sync == "ignore":
            return fn()
        if key in self._idem:
            return self._idem[key]
        response = fn()
        if response.status_code < 400:
            self._idem[key] = response
        return response

    # ------------------------------------------------------------------ rendering

    def _href(self, request: httpx2.Request, rtype: RecordType, rid: int) -> str:
        base = f"{request.url.scheme}://{request.url.netloc.decode()}"
        return f"{base}/services/rest/record/v1/{rtype.rest}/{rid}"

    def _ref_name(self, target: str, rid: Any) -> str | None:
        table = self.tables.get(target.lower())
        row = None if table is None else table.get(int(rid))
        if row is None:
            return None
        value = row.get(table.rtype.name_field) if table is not None else None
        return None if value is None else str(value)

    def _rest_value(self, request: httpx2.Request, spec: FieldSpec, value: Any) -> Any:
        if spec.kind == "ref":
            assert spec.ref is not None
            target = RECORD_TYPES[spec.ref.lower()]
            out: dict[str, Any] = {
                "links": [{"rel": "self", "href": self._href(request, target, int(value))}],
                "id": str(value),
            }
            name = self._ref_name(spec.ref, value)
            if name is not None:
                out["refName"] = name
            return out
        if spec.kind == "datetime":
            return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if spec.kind == "date":
            return value.isoformat()
        if spec.kind == "decimal":
            return float(value)  # JSON numbers, as the record service sends them
        if spec.kind == "duration":
            return hours_text(int(value))
        return value

    def render(
        self, request: httpx2.Request, rtype: RecordType, row: Row, only: set[str] | None = None
    ) -> dict[str, Any]:
        """A row as the record service returns it (REST names, references with links)."""
        out: dict[str, Any] = {
            "links": [{"rel": "self", "href": self._href(request, rtype, row["id"])}]
        }
        for spec in rtype.fields:
            if only is not None and spec.rest.lower() not in only:
                continue
            value = row.get(spec.sql)
            if value is None:
                continue
            out[spec.rest] = (
                str(value) if spec.rest == "id" else self._rest_value(request, spec, value)
            )
        for name, cf in self.config.custom_fields.get(rtype.rest.lower(), {}).items():
            if only is not None and name not in only:
                continue
            value = row.get(name)
            if value is not None:
                out[name] = (
                    value.isoformat()
                    if cf.kind == "date"
                    else (float(value) if cf.kind == "decimal" else value)
                )
        return out

    def _sql_value(self, kind: str, value: Any) -> str:
        if kind == "bool":
            return "T" if value else "F"
        if kind == "datetime":
            return to_char(value, self.config.date_format, self.tz)
        if kind == "date":
            return to_char(value, self.config.date_format, self.tz)
        if kind == "duration":
            return decimal_hours(int(value))
        if kind == "decimal":
            return format(Decimal(value).normalize(), "f")
        return str(value)

    # ------------------------------------------------------------------ record service

    def _find(self, rtype: RecordType, ident: str) -> Row | None:
        table = self.tables[rtype.rest.lower()]
        if ident.startswith("eid:"):
            return table.by_external_id(ident[4:])
        if not ident.isdigit():
            raise _ApiError(400, "INVALID_PARAMETER", f"Invalid record id {ident}.")
        return table.get(int(ident))

    def _not_found(self) -> _ApiError:
        return _ApiError(404, "NONEXISTENT_ID", "Record does not exist.")

    def _get(self, request: httpx2.Request, rtype: RecordType, ident: str) -> httpx2.Response:
        row = self._find(rtype, ident)
        if row is None:
            raise self._not_found()
        fields = request.url.params.get("fields")
        only = {f.strip().lower() for f in fields.split(",")} if fields else None
        return _json_response(200, self.render(request, rtype, row, only), SINGULAR_CT)

    def _page_params(self, request: httpx2.Request, default: int) -> tuple[int, int]:
        params = request.url.params
        try:
            limit = int(params.get("limit", default))
            offset = int(params.get("offset", 0))
        except ValueError:
            raise _ApiError(
                400, "INVALID_PARAMETER", "limit and offset must be integers."
            ) from None
        if not 1 <= limit <= MAX_LIMIT:
            raise _ApiError(
                400, "INVALID_PARAMETER", f"Invalid limit {limit}: it must be 1 to {MAX_LIMIT}."
            )
        if offset < 0 or offset % limit:
            raise _ApiError(
                400,
                "INVALID_PARAMETER",
                f"Invalid offset {offset}: it must be a multiple of the limit {limit}.",
            )
        if offset >= self.config.query_cap:
            raise _ApiError(
                400,
                "INVALID_PARAMETER",
                f"Offset {offset} is beyond the {self.config.query_cap} results a query returns.",
            )
        return limit, offset

    def _links(
        self, request: httpx2.Request, limit: int, offset: int, has_more: bool, total: int
    ) -> list[dict[str, str]]:
        base = str(request.url).split("?")[0]
        keep = [(k, v) for k, v in request.url.params.multi_items() if k not in {"limit", "offset"}]

        def href(off: int) -> str:
            query = "&".join(f"{k}={quote(v, safe=',:')}" for k, v in keep)
            query = (query + "&" if query else "") + f"limit={limit}&offset={off}"
            return f"{base}?{query}"

        last = max(0, (min(total, self.config.query_cap) - 1) // limit * limit)
        links = [{"rel": "first", "href": href(0)}]
        if offset > 0:
            links.append({"rel": "prev", "href": href(max(0, offset - limit))})
        if has_more:
            links.append({"rel": "next", "href": href(offset + limit)})
        links.append({"rel": "last", "href": href(last)})
        links.append({"rel": "self", "href": str(request.url)})
        return links

    def _collection(self, request: httpx2.Request, rtype: RecordType) -> httpx2.Response:
        params = request.url.params
        table = self.tables[rtype.rest.lower()]
        if params.get("q"):
            raise _ApiError(
                400, "INVALID_PARAMETER", "q filters are not simulated; use SuiteQL instead."
            )
        if params.get("expandRecords", "false").lower() == "true" and params.get("ids"):
            rows = []
            for ident in params["ids"].split(","):
                ident = ident.strip()
                if ident.startswith("eid:"):
                    ident = "eid:" + ident[4:].strip("'")
                row = self._find(rtype, ident)
                if row is not None:
                    rows.append(row)
            items = [self.render(request, rtype, row) for row in rows]
            body = {
                "links": [{"rel": "self", "href": str(request.url)}],
                "count": len(items),
                "hasMore": False,
                "items": items,
                "offset": 0,
                "totalResults": len(items),
            }
            return _json_response(200, body, COLLECTION_CT)
        limit, offset = self._page_params(request, MAX_LIMIT)
        ids = sorted(table.rows)
        page = ids[offset : offset + limit]
        total = len(ids)
        has_more = offset + len(page) < min(total, self.config.query_cap)
        body = {
            "links": self._links(request, limit, offset, has_more, total),
            "count": len(page),
            "hasMore": has_more,
            "items": [
                {
                    "links": [{"rel": "self", "href": self._href(request, rtype, rid)}],
                    "id": str(rid),
                }
                for rid in page
            ],
            "offset": offset,
            "totalResults": total,
        }
        return _json_response(200, body, COLLECTION_CT)

    def _body(self, request: httpx2.Request) -> dict[str, Any]:
        try:
            body = json.loads(request.content or b"{}")
        except json.JSONDecodeError:
            raise _ApiError(400, "INVALID_CONTENT", "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise _ApiError(400, "INVALID_CONTENT", "The request body must be a JSON object.")
        return body

    def _coerce_field(self, spec: FieldSpec, value: Any) -> Any:
        if value is None:
            return None
        bad = _ApiError(
            400,
            "INVALID_CONTENT",
            "Error while accessing resource: You have entered an Invalid Field Value "
            f"{json.dumps(value) if not isinstance(value, str) else value} for the following "
            f"field: {spec.rest}",
            spec.rest,
        )
        try:
            if spec.kind == "ref":
                assert spec.ref is not None
                target = self.tables[spec.ref.lower()]
                if isinstance(value, dict):
                    if "id" in value:
                        row = target.get(int(value["id"]))
                    elif "externalId" in value:
                        row = target.by_external_id(str(value["externalId"]))
                    else:
                        row = None
                else:
                    row = target.get(int(value))
                if row is None:
                    raise bad
                return row["id"]
            if spec.kind == "str":
                if not isinstance(value, str):
                    raise bad
                return value
            if spec.kind == "int":
                return int(value)
            if spec.kind == "decimal":
                if isinstance(value, bool):
                    raise bad
                return Decimal(str(value))
            if spec.kind == "bool":
                if not isinstance(value, bool):
                    raise bad
                return value
            if spec.kind == "date":
                return date.fromisoformat(str(value))
            if spec.kind == "duration":
                return minutes_from_hours(value)
        except (ValueError, TypeError, InvalidOperation):
            raise bad from None
        raise bad

    def _coerce_custom(self, name: str, cf: CustomField, value: Any) -> Any:
        spec = FieldSpec(name, name, "str" if cf.kind == "str" else cf.kind)
        return self._coerce_field(spec, value)

    def _changes(self, request: httpx2.Request, rtype: RecordType) -> Row:
        body = self._body(request)
        strict = request.headers.get("X-NetSuite-PropertyNameValidation", "warning") == "error"
        customs = self.config.custom_fields.get(rtype.rest.lower(), {})
        changes: Row = {}
        for name, value in body.items():
            spec = rtype.by_rest.get(name.lower())
            if spec is not None and not spec.readonly:
                changes[spec.sql] = self._coerce_field(spec, value)
                continue
            if name in customs:
                changes[name] = self._coerce_custom(name, customs[name], value)
                continue
            if strict:
                raise _ApiError(
                    400,
                    "INVALID_CONTENT",
                    f"Invalid field name: {name} is not a writable field of {rtype.rest}.",
                    name,
                )
        return changes

    def _require(self, rtype: RecordType, row: Row) -> None:
        missing = [s.rest for s in rtype.fields if s.required and row.get(s.sql) is None]
        customs = self.config.custom_fields.get(rtype.rest.lower(), {})
        missing += [n for n, cf in customs.items() if cf.required and row.get(n) in (None, "")]
        if missing:
            raise _ApiError(
                400,
                self.config.missing_field_code,
                f"Please enter value(s) for: {', '.join(missing)}",
                missing[0],
            )

    def _period_check(self, rtype: RecordType, row: Row, *, existing: bool) -> None:
        if rtype.period_ledger is None:
            return
        if row.get("_posted"):
            raise _ApiError(
                400, self.config.posted_record_code, "The record is posted and cannot be changed."
            )
        on = row.get("trandate")
        if not isinstance(on, date):
            return
        period = self.period_for(on)
        if period is None:
            return
        locked = (
            period.get("closed")
            or period.get("alllocked")
            or (rtype.period_ledger == "ar" and period.get("arlocked"))
            or (rtype.period_ledger == "ap" and period.get("aplocked"))
        )
        if locked:
            if existing:
                raise _ApiError(
                    400,
                    self.config.posted_record_code,
                    f"The record lies in the closed or locked period {period['periodname']}.",
                )
            raise _ApiError(
                400,
                self.config.closed_period_code,
                f"The accounting period {period['periodname']} is closed or locked.",
                "tranDate",
            )

    def _write_new(self, request: httpx2.Request, rtype: RecordType, changes: Row) -> Row:
        candidate = {"isinactive": False, **changes}
        self._require(rtype, candidate)
        self._period_check(rtype, candidate, existing=False)
        now = self.now()
        candidate.update(datecreated=now, createddate=now, lastmodifieddate=now)
        self._count("created")
        return self.tables[rtype.rest.lower()].insert(candidate)

    def _write_existing(self, rtype: RecordType, row: Row, changes: Row) -> Row:
        self._period_check(rtype, row, existing=True)
        self._period_check(rtype, {**row, **changes}, existing=False)
        candidate = {**row, **changes}
        self._require(rtype, candidate)
        changes["lastmodifieddate"] = self.now()
        self._count("updated")
        return self.tables[rtype.rest.lower()].update(row["id"], changes)

    def _created(self, request: httpx2.Request, rtype: RecordType, row: Row) -> httpx2.Response:
        return httpx2.Response(204, headers={"Location": self._href(request, rtype, row["id"])})

    def _create(self, request: httpx2.Request, rtype: RecordType) -> httpx2.Response:
        changes = self._changes(request, rtype)
        eid = changes.get("externalid")
        if eid is not None and self.tables[rtype.rest.lower()].by_external_id(eid) is not None:
            raise _ApiError(
                400,
                "USER_ERROR",
                "Error while accessing a resource. This entity already exists.",
            )
        return self._created(request, rtype, self._write_new(request, rtype, changes))

    def _upsert(self, request: httpx2.Request, rtype: RecordType, ident: str) -> httpx2.Response:
        if not ident.startswith("eid:"):
            raise _ApiError(
                400, "INVALID_REQUEST", "PUT is supported only with an external id (eid:...)."
            )
        changes = self._changes(request, rtype)
        changes["externalid"] = ident[4:]
        row = self._find(rtype, ident)
        if row is None:
            row = self._write_new(request, rtype, changes)
        else:
            row = self._write_existing(rtype, row, changes)
        return self._created(request, rtype, row)

    def _patch(self, request: httpx2.Request, rtype: RecordType, ident: str) -> httpx2.Response:
        row = self._find(rtype, ident)
        if row is None:
            raise self._not_found()
        changes = self._changes(request, rtype)
        self._write_existing(rtype, row, changes)
        return httpx2.Response(204)

    def _delete(self, request: httpx2.Request, rtype: RecordType, ident: str) -> httpx2.Response:
        row = self._find(rtype, ident)
        if row is None:
            raise self._not_found()
        self._period_check(rtype, row, existing=True)
        self.tables[rtype.rest.lower()].delete(row["id"])
        self._count("deleted")
        return httpx2.Response(204)

    # ------------------------------------------------------------------ SuiteQL

    def _suiteql(self, request: httpx2.Request) -> httpx2.Response:
        if request.headers.get("Prefer", "").lower() != "transient":
            raise _ApiError(
                400, "INVALID_PARAMETER", "The Prefer: transient header is required for SuiteQL."
            )
        limit, offset = self._page_params(request, MAX_LIMIT)
        body = self._body(request)
        text = body.get("q")
        params = body.get("params", [])
        if not isinstance(text, str) or not isinstance(params, list):
            raise _ApiError(400, "INVALID_PARAMETER", "The body needs q (text) and params (list).")
        try:
            with self.lock:
                items, total = self._evaluate(text, params, limit, offset)
        except SuiteQLError as exc:
            raise _ApiError(400, "INVALID_PARAMETER", f"Invalid search query: {exc}") from None
        reachable = min(total, self.config.query_cap)
        has_more = offset + len(items) < reachable
        out = {
            "links": self._links(request, limit, offset, has_more, total),
            "count": len(items),
            "hasMore": has_more,
            "items": items,
            "offset": offset,
            "totalResults": total,
        }
        self._count("suiteql")
        return _json_response(200, out, COLLECTION_CT)

    def _evaluate(
        self, text: str, params: list[Any], limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        query = self._parsed.get(text)
        if query is None:
            query = parse(text)
            if len(self._parsed) > 256:
                self._parsed.clear()
            self._parsed[text] = query
        rtype = TABLES.get(query.table)
        if rtype is None:
            raise SuiteQLError(f"unknown table {query.table!r}")
        table = self.tables[rtype.rest.lower()]
        kinds: dict[str, str] = {s.sql: s.kind for s in rtype.fields}
        for name, cf in self.config.custom_fields.get(rtype.rest.lower(), {}).items():
            kinds[name] = cf.kind
        ctx = Context(
            kinds,
            [str(p) if p is not None else None for p in params],
            self.tz,
            self.config.date_format,
            self._ref_name,
        )
        for item in query.columns:
            col = item.expr if isinstance(item.expr, Col) else item.expr.args[0]
            if not isinstance(col, Col) or col.name not in kinds:
                raise SuiteQLError(f"unknown column in select list: {item.alias!r}")
        for name, _ in query.order:
            if name not in kinds:
                raise SuiteQLError(f"unknown column in ORDER BY: {name!r}")
        pred = compile_where(query.where, ctx)
        cap_end = min(offset + limit, self.config.query_cap)
        snap_key = (text, tuple(str(p) for p in params))
        if self.config.suiteql_snapshot and offset > 0 and snap_key in self._snapshots:
            ids = self._snapshots[snap_key]
            rows = [table.rows[i] for i in ids[offset:cap_end] if i in table.rows]
            return [self._sql_row(query, rtype, kinds, r) for r in rows], len(ids)
        order = tuple(name for name, _ in query.order) or ("id",)
        descending = bool(query.order) and all(desc for _, desc in query.order)
        if any(desc for _, desc in query.order) and not descending:
            raise SuiteQLError("mixed ASC/DESC ordering is not simulated")
        index = table.index(order)
        rng = leading_range(query.where, order, ctx)
        entries, in_range = scan(index, rng, descending)
        rows_by_id = table.rows
        matched: list[Row] = []
        seen = 0
        exact = query.where is None or (rng is not None and rng.exact)
        snapshot = self.config.suiteql_snapshot and offset == 0
        all_ids: list[int] = []
        for entry in entries:
            row = rows_by_id[entry[-1][1]]
            if not pred(row):
                continue
            if snapshot:
                all_ids.append(row["id"])
            if offset <= seen < cap_end:
                matched.append(row)
            seen += 1
            if seen >= cap_end and exact and not snapshot:
                break
        total = in_range if exact else seen
        if snapshot:
            self._snapshots[snap_key] = all_ids[: self.config.query_cap]
        return [self._sql_row(query, rtype, kinds, r) for r in matched], total

    def _sql_row(
        self, query: Query, rtype: RecordType, kinds: dict[str, str], row: Row
    ) -> dict[str, Any]:
        out: dict[str, Any] = {"links": []}
        for item in query.columns:
            expr = item.expr
            if isinstance(expr, Col):
                value = row.get(expr.name)
                if value is not None:
                    out[item.alias] = self._sql_value(kinds[expr.name], value)
                continue
            assert isinstance(expr, Func)
            col = expr.args[0]
            value = row.get(col.name)
            if value is None:
                continue
            if expr.name == "builtin.df":
                spec = rtype.by_sql.get(col.name)
                if spec is not None and spec.kind == "ref" and spec.ref is not None:
                    name = self._ref_name(spec.ref, value)
                    if name is not None:
                        out[item.alias] = name
                else:
                    out[item.alias] = self._sql_value(kinds[col.name], value)
                continue
            fmt = expr.args[1].value if len(expr.args) > 1 else self.config.date_format
            if kinds[col.name] in {"date", "datetime"}:
                out[item.alias] = to_char(value, str(fmt), self.tz)
            else:
                out[item.alias] = self._sql_value(kinds[col.name], value)
        return out

    # ------------------------------------------------------------------ seed data

    def _seed(self, rng: random.Random) -> None:
        t0 = datetime(2026, 1, 1, tzinfo=UTC)
        stamp = {"datecreated": t0, "createddate": t0, "lastmodifieddate": t0, "isinactive": False}

        def put(rtype: str, **values: Any) -> Row:
            return self.table(rtype).insert({**stamp, **values})

        for code, name in (("USD", "US Dollar"), ("EUR", "Euro"), ("GBP", "British pound")):
            put("currency", name=name, symbol=code)
        put(
            "subsidiary",
            name="Parent Company",
            legalname="Acme Holdings Inc.",
            country="US",
            currency=1,
        )
        put(
            "subsidiary",
            name="Acme UK",
            legalname="Acme Consulting Ltd",
            country="GB",
            currency=3,
            parent=1,
        )
        put(
            "subsidiary",
            name="Acme DE",
            legalname="Acme Beratung GmbH",
            country="DE",
            currency=2,
            parent=1,
        )
        for item in ("Consulting", "Project Management", "Training"):
            put("serviceItem", itemid=item, displayname=item)
        first = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John"]
        last = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus"]
        for i, (fn, ln) in enumerate(zip(first, last, strict=True)):
            put(
                "employee",
                entityid=f"{fn} {ln}",
                firstname=fn,
                lastname=ln,
                email=f"{fn.lower()}.{ln.lower()}@example.com",
                subsidiary=1 + i % 3,
                laborcost=Decimal(60 + 5 * rng.randrange(8)),
            )
        customers = [
            "Glenrock General Hospital",
            "Northwind Traders",
            "Contoso Ltd",
            "Fabrikam Inc",
            "Tailspin Toys",
        ]
        for i, name in enumerate(customers):
            put(
                "customer",
                entityid=f"CUST{100 + i}",
                companyname=name,
                email=f"ap@{name.split()[0].lower()}.example.com",
                subsidiary=1 + i % 3,
                currency=[1, 3, 2][i % 3],
            )
        for i in range(5):
            job = put(
                "job",
                entityid=f"PRJ{1000 + i}",
                companyname=f"Implementation {i + 1}",
                parent=1 + i,
                subsidiary=1 + i % 3,
                currency=[1, 3, 2][i % 3],
                startdate=date(2026, 1, 5),
                projectedenddate=date(2026, 12, 18),
                entitystatus="In Progress",
            )
            for j, title in enumerate(("Discovery", "Build", "Go-live")):
                put(
                    "projectTask",
                    title=title,
                    project=job["id"],
                    startdatetime=date(2026, 1 + 3 * j, 5),
                    plannedwork=60 * 40 * (j + 1),
                    status="In Progress",
                )
        for month in range(1, 13):
            start = date(2026, month, 1)
            end = (date(2026 + month // 12, month % 12 + 1, 1)) - timedelta(days=1)
            put(
                "accountingPeriod",
                periodname=start.strftime("%b %Y"),
                startdate=start,
                enddate=end,
                closed=False,
                arlocked=False,
                aplocked=False,
                alllocked=False,
                isadjust=False,
            )
        for i in range(20):
            put(
                "timebill",
                employee=1 + i % 8,
                customer=1 + i % 5,
                casetaskevent=1 + i % 15,
                item=1 + i % 3,
                subsidiary=1 + i % 3,
                trandate=date(2026, 1, 5) + timedelta(i),
                hours=15 * (1 + rng.randrange(32)),
                memo=f"Work item {i + 1}",
                isbillable=True,
                approvalstatus="Approved",
            )

    def bulk_insert(self, record_type: str, rows: Iterable[Row]) -> int:
        """Insert many rows fast (no stamping beyond what each row carries)."""
        with self.lock:
            table = self.table(record_type)
            n = 0
            for row in rows:
                table.insert(row)
                n += 1
            return n
