"""The NetSuite REST simulator on the kit's :class:`~erpsa_sdk.testing.Simulator` base.

``NetSuiteSimulator(...)`` is callable as ``httpx2.Request -> httpx2.Response`` (mount it on
``httpx2.MockTransport``) and serves over loopback with :func:`erpsa_sdk.testing.serve`. The
kit gives it routing, the admin API, fault plans, the clock and the limit bookkeeping; this
module adds what NetSuite does, written from the fact sheet (``vendor-apis-erp.md`` §1).
Behaviour the sheet marks unverified is a field of :class:`SimConfig`.
"""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import wraps
from typing import Any, ClassVar, Literal
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from joserfc.jwk import ECKey

from erpsa_netsuite.simulator._auth import (
    AuthFailure,
    M2MClient,
    TbaCredentials,
    verify_assertion,
    verify_tba,
)
from erpsa_netsuite.simulator._schema import RECORD_TYPES, TABLES, FieldSpec, RecordType
from erpsa_netsuite.simulator._store import IndexedTable
from erpsa_netsuite.simulator._suiteql import (
    Col,
    Context,
    Func,
    Query,
    SuiteQLError,
    compile_where,
    leading_range,
    parse,
    pinned_id,
    scan,
    to_char,
)
from erpsa_sdk.clock import Clock
from erpsa_sdk.testing import (
    Admin,
    FaultPlan,
    SimError,
    SimRequest,
    SimResponse,
    Simulator,
    route,
)
from erpsa_sdk.testing.store import Row

__all__ = ["CustomField", "NetSuiteSimulator", "SimConfig"]

RFC_TYPE = "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html"
SINGULAR_CT = "application/vnd.oracle.resource+json; type=singular"
COLLECTION_CT = "application/vnd.oracle.resource+json; type=collection"
MAX_LIMIT = 1000
INVALID_LOGIN = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at "
    "Setup > Users/Roles > User Management > View Login Audit Trail."
)
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Bad Request",  # sic: the documented 429 body says "Bad Request"
    500: "Internal Server Error",
    503: "Service Unavailable",
}
#: Kit error codes rendered with NetSuite's codes.
_KIT_CODES = {
    "UNAUTHORIZED": "INVALID_LOGIN",
    "NOT_FOUND": "INVALID_REQUEST",
    "METHOD_NOT_ALLOWED": "INVALID_REQUEST",
    "INVALID_JSON": "INVALID_CONTENT",
    "INVALID_ARGUMENT": "INVALID_PARAMETER",
    "UNAVAILABLE": "UNEXPECTED_ERROR",
    "INTERNAL": "UNEXPECTED_ERROR",
    "RATE_LIMITED": "CONCURRENCY_LIMIT_EXCEEDED",
}

#: Canonical types the connector writes -> (table, column holding the EntityKey).
ENTITY_KEY_FIELDS = {
    "Customer": ("customer", "externalid"),
    "LegalEntity": ("subsidiary", "externalid"),
    "Resource": ("employee", "externalid"),
    "Project": ("job", "externalid"),
    "ProjectTask": ("projecttask", "externalid"),
    "TimeEntry": ("timebill", "externalid"),
    "Expense": ("expensereport", "externalid"),
}
SOURCE_TABLES = {name: table for name, (table, _) in ENTITY_KEY_FIELDS.items()} | {
    "Invoice": "invoice"
}


@dataclass(frozen=True)
class CustomField:
    """A tenant custom field on one record type (``custcol_workstream`` on ``timebill``).

    Examples:
        >>> CustomField(kind="str", required=True).required
        True
    """

    kind: Literal["str", "int", "decimal", "bool", "date"] = "str"
    required: bool = False
    label: str = ""


@dataclass
class SimConfig:
    """Simulator behaviour; every unverified vendor behaviour is a field here.

    Examples:
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


class NsError(SimError):
    """A NetSuite error with an optional ``o:errorPath``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        path: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(status, code, message, headers=headers)
        self.path = path


def error_body(status: int, code: str, detail: str, path: str | None = None) -> dict[str, Any]:
    """The documented error shape: type, title, status and ``o:errorDetails``.

    Examples:
        >>> error_body(404, "NONEXISTENT_ID", "Record does not exist.")["o:errorDetails"]
        [{'detail': 'Record does not exist.', 'o:errorCode': 'NONEXISTENT_ID'}]
    """
    item: dict[str, Any] = {"detail": detail, "o:errorCode": code}
    if path is not None:
        item["o:errorPath"] = path
    return {
        "type": RFC_TYPE,
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "o:errorDetails": [item],
    }


def _ns(fn: Callable[..., SimResponse]) -> Callable[..., SimResponse]:
    """Render :class:`NsError` with its ``o:errorPath`` (the kit renders code and message)."""

    @wraps(fn)
    def wrapper(self: NetSuiteSimulator, req: SimRequest) -> SimResponse:
        try:
            return fn(self, req)
        except NsError as exc:
            body = error_body(exc.status, exc.code, exc.message, exc.path)
            return SimResponse.json(body, status=exc.status, headers=exc.headers)

    return wrapper


def minutes_from_hours(value: Any) -> int:
    """NetSuite durations: ``"H:MM"`` or decimal hours, rounded to the minute.

    Examples:
        >>> minutes_from_hours("4:00"), minutes_from_hours(1.5)
        (240, 90)
    """
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
    """``"H:MM"``, as NetSuite shows a duration.

    Examples:
        >>> hours_text(95)
        '1:35'
    """
    return f"{minutes // 60}:{minutes % 60:02d}"


def decimal_hours(minutes: int) -> str:
    """Decimal hours as a string: exact where it terminates, else 10 fractional digits.

    Examples:
        >>> decimal_hours(90), decimal_hours(20)
        ('1.5', '0.3333333333')
    """
    value = (Decimal(minutes) / Decimal(60)).quantize(Decimal("1e-10"))
    return format(value.normalize(), "f")


class NetSuiteSimulator(Simulator):
    """A stateful NetSuite REST account in memory, answering like the real one.

    Mount it on ``httpx2.MockTransport`` or serve it over loopback. Credentials for all three
    auth methods are ready in :meth:`credentials`.

    Examples:
        >>> import httpx2
        >>> sim = NetSuiteSimulator(seed=1)
        >>> client = httpx2.Client(transport=httpx2.MockTransport(sim), base_url=sim.base_url)
        >>> r = client.post("/services/rest/query/v1/suiteql", json={
        ...     "q": "SELECT id, name FROM subsidiary ORDER BY id"},
        ...     headers={"Prefer": "transient", "Authorization": sim.bearer_header})
        >>> r.status_code, r.json()["items"][0]["name"]
        (200, 'Parent Company')
    """

    vendor = "netsuite"
    base_path = "/services/rest"
    tables = tuple(RECORD_TYPES)
    concurrency_limit: ClassVar[int | None] = 5
    sends_retry_after = False
    token_ttl = 3600.0
    entity_key_fields = ENTITY_KEY_FIELDS
    source_tables = SOURCE_TABLES

    def __init__(
        self,
        seed: int = 0,
        faults: FaultPlan | str | None = None,
        clock: Clock | None = None,
        *,
        config: SimConfig | None = None,
        seed_data: bool = True,
    ) -> None:
        self.config = config or SimConfig()
        self.tz = ZoneInfo(self.config.timezone)
        self.background: int | Callable[[float], int] = 0
        self._seed_wanted = seed_data
        self._idem: dict[str, SimResponse] = {}
        self._nonces: set[tuple[str, str]] = set()
        self._snapshots: dict[tuple[str, tuple[str, ...]], list[int]] = {}
        self._parsed: dict[str, Query] = {}
        rng = random.Random(seed)  # noqa: S311 - reproducible test credentials, not secrets
        hexs = [f"{rng.getrandbits(256):064x}" for _ in range(4)]
        self.tba = TbaCredentials(hexs[0], hexs[1], hexs[2], hexs[3])
        self.m2m_key = ECKey.generate_key("P-256")
        self.m2m_client = M2MClient(
            client_id=f"{rng.getrandbits(256):064x}",
            certificate_id=f"{rng.getrandbits(128):032x}",
            public_key=ECKey.import_key(self.m2m_key.as_pem(private=False)),
        )
        super().__init__(seed=seed, faults=faults, clock=clock, tenant=self.config.account_id)
        # Instance settings shadow the kit's class defaults.
        self.concurrency_limit = self.config.concurrency_limit  # type: ignore[misc]
        self.service_time = self.config.latency  # type: ignore[misc]
        self.token_ttl = float(self.config.token_lifetime)  # type: ignore[misc]
        self.admin = NetSuiteAdmin(self)

    # ------------------------------------------------------------------ kit hooks

    def seed_data(self, rng: random.Random) -> None:
        """Master data for the runner's initial match plus a few timebills."""
        self._tables = {name: IndexedTable(name, self.clock) for name in self.tables}
        if self._seed_wanted:
            _seed(self, rng)

    def error_body(self, status: int, code: str, message: str) -> Any:
        """Kit-raised errors in NetSuite's documented shape."""
        code = _KIT_CODES.get(code, code)
        if code == "INVALID_LOGIN":
            message = INVALID_LOGIN
        if code == "CONCURRENCY_LIMIT_EXCEEDED":
            message = "Concurrent request limit exceeded. Request blocked."
        return error_body(status, code, message)

    def table(self, name: str) -> IndexedTable:
        """The table of a record type (REST id, case-insensitive)."""
        found = super().table(name.lower())
        assert isinstance(found, IndexedTable)
        return found

    def sample_row(self, table: str, rng: random.Random) -> dict[str, Any]:
        """A new, valid row (the kit's churn inserts these)."""
        n = rng.randrange(1_000_000)
        samples: dict[str, dict[str, Any]] = {
            "timebill": {
                "employee": 1 + n % 8,
                "customer": 1 + n % 5,
                "item": 1 + n % 3,
                "trandate": date(2026, 1, 5) + timedelta(days=n % 60),
                "hours": 15 * (1 + n % 32),
                "memo": f"work {n}",
                "isbillable": True,
                "approvalstatus": "Approved",
            },
            "customer": {
                "entityid": f"CUST{n}",
                "companyname": f"Customer {n}",
                "subsidiary": 1,
                "currency": 1,
            },
            "subsidiary": {"name": f"Subsidiary {n}", "country": "US", "currency": 1},
            "employee": {
                "entityid": f"Emp {n}",
                "firstname": "Emp",
                "lastname": str(n),
                "email": f"emp{n}@example.com",
                "subsidiary": 1,
            },
            "job": {
                "entityid": f"PRJ{n}",
                "companyname": f"Project {n}",
                "parent": 1,
                "subsidiary": 1,
                "currency": 1,
                "entitystatus": "In Progress",
            },
            "projecttask": {"title": f"Task {n}", "project": 1, "status": "Not Started"},
            "expensereport": {
                "entity": 1,
                "job": 1,
                "trandate": date(2026, 2, 1) + timedelta(days=n % 20),
                "currency": 1,
                "total": Decimal(n % 50_000) / 100,
                "category": "Travel",
                "memo": f"trip {n}",
            },
            "invoice": {
                "tranid": f"INV{n}",
                "entity": 1,
                "trandate": date(2026, 2, 1),
                "currency": 1,
                "subtotal": Decimal("100.00"),
                "taxtotal": Decimal("0"),
                "discounttotal": Decimal("0"),
                "total": Decimal("100.00"),
                "status": "Open",
            },
        }
        if table not in samples:
            raise NotImplementedError(f"no sample row for {table}")
        return {"isinactive": False, **samples[table]}

    def mutate_row(self, table: str, data: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
        """An edit of an existing row (the kit's churn applies these)."""
        if table in {"timebill", "expensereport", "invoice"}:
            field_name = "memo"
        else:
            field_name = table_type(table).name_field
        return {field_name: f"edited {rng.randrange(1_000_000)}"}

    def bad_row(self, table: str) -> dict[str, Any]:
        """A stored row the connector must read as ``Rejected`` (a required value missing)."""
        row = self.sample_row(table, random.Random(0))  # noqa: S311
        drop = {
            "timebill": "hours",
            "customer": "companyname",
            "subsidiary": "currency",
            "employee": "firstname",
            "job": "currency",
            "projecttask": "title",
            "expensereport": "currency",
            "invoice": "currency",
        }[table]
        row.pop(drop, None)
        if table == "customer":
            row.pop("entityid", None)
        if table == "employee":
            row.pop("lastname", None)
            row.pop("entityid", None)
        return row

    def naive_create(self, type_name: str, index: int) -> tuple[str, str, Any]:
        """A keyless ``POST`` create, as a naive integrator sends it."""
        bodies: dict[str, tuple[str, dict[str, Any]]] = {
            "Customer": ("customer", {"companyName": f"Naive {index}", "subsidiary": {"id": "1"}}),
            "TimeEntry": (
                "timebill",
                {
                    "employee": {"id": "1"},
                    "customer": {"id": "1"},
                    "tranDate": "2026-01-20",
                    "hours": "1:00",
                    "memo": f"naive {index}",
                },
            ),
            "Project": (
                "job",
                {"companyName": f"Naive project {index}", "subsidiary": {"id": "1"}},
            ),
            "ProjectTask": ("projectTask", {"title": f"Naive {index}", "company": {"id": "1"}}),
            "Resource": (
                "employee",
                {"firstName": "Naive", "lastName": str(index), "subsidiary": {"id": "1"}},
            ),
            "LegalEntity": ("subsidiary", {"name": f"Naive {index}", "currency": {"id": "1"}}),
            "Expense": (
                "expenseReport",
                {
                    "entity": {"id": "1"},
                    "tranDate": "2026-01-20",
                    "total": 10.5,
                    "currency": {"id": "1"},
                },
            ),
        }
        record, body = bodies[type_name]
        return "POST", f"{self.base_path}/record/v1/{record}", body

    def credentials(self, base_url: str = "http://127.0.0.1") -> dict[str, Any]:
        """A ready ``authorization`` header plus keys for M2M and TBA, and the admin key."""
        creds = super().credentials(base_url)
        for key in ("client_secret", "grant_type"):
            creds.pop(key, None)
        creds.update(
            account_id=self.config.account_id,
            token_url=f"{base_url.rstrip('/')}{self.base_path}/auth/oauth2/v1/token",
            m2m={
                "client_id": self.m2m_client.client_id,
                "certificate_id": self.m2m_client.certificate_id,
                "private_key_pem": self.m2m_key.as_pem(private=True).decode(),
                "algorithm": "ES256",
                "scope": ["rest_webservices"],
            },
            tba={
                "realm": self.config.account_id.upper().replace("-", "_"),
                "consumer_key": self.tba.consumer_key,
                "consumer_secret": self.tba.consumer_secret,
                "token_id": self.tba.token_id,
                "token_secret": self.tba.token_secret,
            },
        )
        creds["client_id"] = self.m2m_client.client_id
        return creds

    # ------------------------------------------------------------------ conveniences

    @property
    def base_url(self) -> str:
        """``https://<account>.suitetalk.api.netsuite.com``."""
        return self.config.base_url

    @property
    def token_url(self) -> str:
        """The OAuth 2.0 token endpoint (M2M) on the account's host."""
        return f"{self.base_url}{self.base_path}/auth/oauth2/v1/token"

    @property
    def static_token(self) -> str:
        """The ready bearer token (the kit's test token; it does not expire)."""
        return self.api_token

    @property
    def bearer_header(self) -> str:
        """A ready ``Authorization`` value."""
        return f"Bearer {self.api_token}"

    def insert(self, record_type: str, **values: Any) -> dict[str, Any]:
        """Insert a row given SuiteQL column names (stamped by the clock); returns its columns."""
        with self._lock:
            return self.table(record_type).insert({"isinactive": False, **values}).data

    def modify(self, record_type: str, rid: int, **values: Any) -> dict[str, Any]:
        """Change a row (SuiteQL column names); its ``lastmodifieddate`` becomes now."""
        with self._lock:
            return self.table(record_type).update(rid, values).data

    def remove(self, record_type: str, rid: int) -> None:
        """Delete a row outright (as a user in the UI would)."""
        with self._lock:
            self.table(record_type).delete(rid)

    def post(self, record_type: str, rid: int) -> None:
        """Mark a record posted / locked: later edits and deletes are refused."""
        self.admin.post(record_type.lower(), rid)

    def bulk_insert(self, record_type: str, rows: Iterable[Mapping[str, Any]]) -> int:
        """Insert many rows fast; a row's ``lastmodifieddate`` becomes its stamp."""
        with self._lock:
            table = self.table(record_type)
            n = 0
            for values in rows:
                data = dict(values)
                at = data.pop("lastmodifieddate", None)
                table.insert(data, at=at)
                n += 1
            return n

    def set_period(
        self,
        on: date,
        state: Literal["open", "closed", "ar_locked", "ap_locked", "all_locked"],
    ) -> None:
        """Open, close or lock the accounting period that contains ``on``."""
        with self._lock:
            period = self.period_for(on)
            if period is None:
                raise KeyError(f"no accounting period contains {on}")
            flags = {
                "closed": state == "closed",
                "arlocked": state == "ar_locked",
                "aplocked": state == "ap_locked",
                "alllocked": state == "all_locked",
            }
            self.table("accountingperiod").update(period["id"], flags)
            if state == "open":
                self.closed_periods.discard(on.isoformat()[:7])

    def period_for(self, on: date) -> dict[str, Any] | None:
        """The base (non-adjustment) accounting period containing ``on``."""
        for row in self.table("accountingperiod").live_data():
            if not row.get("isadjust") and row["startdate"] <= on <= row["enddate"]:
                return row
        return None

    def set_background_load(self, slots: int | Callable[[float], int]) -> None:
        """Requests other integrations hold on the account's concurrency limit: a number, or
        a function of the clock's ``monotonic()`` seconds (a load that changes over time)."""
        with self._lock:
            self.background = slots

    # ------------------------------------------------------------------ limits and auth

    def _admit(self) -> SimResponse | None:
        with self._lock:
            limit = self.concurrency_limit
            load = self.background
            others = load(self.clock.monotonic()) if callable(load) else load
            if limit is not None and self._in_flight + others >= limit:
                self.stats.limit_violations += 1
                return self._throttled("concurrency limit exceeded", 0.0)
            return super()._admit()

    def _throttled(self, message: str, wait: float) -> SimResponse:
        headers: dict[str, str] = {}
        if self.config.retry_after_on_429 is not None:
            headers["retry-after"] = str(self.config.retry_after_on_429)
        detail = {
            "detail": "Concurrent request limit exceeded. Request blocked.",
            "o:errorCode": "CONCURRENCY_LIMIT_EXCEEDED",
        }
        if self.config.invalid_login_on_overload:
            return SimResponse.json(
                error_body(401, "INVALID_LOGIN", INVALID_LOGIN), status=401, headers=headers
            )
        if self.config.verbatim_429_body:
            # As published: a comma is missing after "USER_ERROR".
            text = (
                f'{{"type": "{RFC_TYPE}", "title": "Bad Request", "status": 429, '
                f'"o:errorCode": "USER_ERROR" "o:errorDetails": [{json.dumps(detail)}]}}'
            )
            hdrs = {"content-type": "application/json", **headers}
            return SimResponse(429, text.encode(), hdrs)
        body = {
            "type": RFC_TYPE,
            "title": "Bad Request",
            "status": 429,
            "o:errorCode": "USER_ERROR",
            "o:errorDetails": [detail],
        }
        return SimResponse.json(body, status=429, headers=headers)

    def _origin(self, req: SimRequest) -> str:
        host = req.headers.get("host", self.config.host)
        local = host.startswith(("127.0.0.1", "localhost", "[::1]"))
        return f"{'http' if local else 'https'}://{host}"

    def _authorized(self, req: SimRequest) -> bool:
        header = req.headers.get("authorization", "")
        try:
            if header.lower().startswith("oauth "):
                query = f"?{urlencode(req.query)}" if req.query else ""
                url = f"{self._origin(req)}{req.path}{query}"
                with self._lock:
                    verify_tba(
                        header,
                        req.method,
                        url,
                        {self.tba.consumer_key: self.tba},
                        self.config.account_id,
                        self._nonces,
                    )
                return True
            if super()._authorized(req):
                return True
            raise AuthFailure("unknown or expired bearer token")
        except AuthFailure as exc:
            with self._lock:
                self.stats.by_route[f"auth refused: {exc.reason}"] += 1
            return False

    @route("POST", "/auth/oauth2/v1/token", auth=False)
    def m2m_token(self, req: SimRequest) -> SimResponse:
        """OAuth 2.0 client credentials with a JWT assertion (the M2M flow)."""
        url = f"{self._origin(req)}{req.path}"
        try:
            verify_assertion(
                req.form(), {self.m2m_client.client_id: self.m2m_client}, url, self.clock.time()
            )
        except AuthFailure as exc:
            self.stats.by_route[f"token refused: {exc.reason}"] += 1
            return SimResponse.json({"error": "invalid_grant"}, status=400)
        token = "sim." + secrets.token_urlsafe(24)
        self._tokens[token] = self.clock.monotonic() + self.token_ttl
        body = {"access_token": token, "expires_in": int(self.token_ttl), "token_type": "Bearer"}
        return SimResponse.json(body)

    # ------------------------------------------------------------------ record service

    def _rtype(self, req: SimRequest) -> RecordType:
        name = req.params["rtype"]
        rtype = RECORD_TYPES.get(name.lower())
        if rtype is None:
            raise NsError(404, "INVALID_REQUEST", f"Record type {name} does not exist.")
        if "respond-async" in req.headers.get("prefer", ""):
            raise NsError(
                400,
                "INVALID_REQUEST",
                "Asynchronous requests are not simulated (erpsa_netsuite does not use them).",
            )
        return rtype

    def _idempotent(self, req: SimRequest, fn: Callable[[], SimResponse]) -> SimResponse:
        key = req.headers.get("x-netsuite-idempotency-key")
        if key is None or self.config.idempotency_on_sync == "ignore":
            return fn()
        if key in self._idem:
            return self._idem[key]
        response = fn()
        if response.status < 400:
            self._idem[key] = response
        return response

    @route("GET", "/record/v1/{rtype}")
    @_ns
    def list_records(self, req: SimRequest) -> SimResponse:
        """Collection listing (``{links, id}`` items) or ``expandRecords`` for known ids."""
        rtype = self._rtype(req)
        table = self.table(rtype.rest)
        if req.query.get("q"):
            raise NsError(
                400, "INVALID_PARAMETER", "q filters are not simulated; use SuiteQL instead."
            )
        if req.query.get("expandRecords", "false").lower() == "true" and req.query.get("ids"):
            rows = []
            for ident in req.query["ids"].split(","):
                ident = ident.strip()
                if ident.startswith("eid:"):
                    ident = "eid:" + ident[4:].strip("'")
                row = self._find(rtype, ident)
                if row is not None:
                    rows.append(row)
            items = [self.render(req, rtype, row.data) for row in rows]
            body = {
                "links": [{"rel": "self", "href": self._self_href(req)}],
                "count": len(items),
                "hasMore": False,
                "items": items,
                "offset": 0,
                "totalResults": len(items),
            }
            return SimResponse.json(body, headers={"content-type": COLLECTION_CT})
        limit, offset = self._page_params(req)
        ids = [r.id for r in table.live_rows()]
        page = ids[offset : offset + limit]
        total = len(ids)
        has_more = offset + len(page) < min(total, self.config.query_cap)
        body = {
            "links": self._links(req, limit, offset, has_more, total),
            "count": len(page),
            "hasMore": has_more,
            "items": [
                {"links": [{"rel": "self", "href": self._href(req, rtype, rid)}], "id": str(rid)}
                for rid in page
            ],
            "offset": offset,
            "totalResults": total,
        }
        return SimResponse.json(body, headers={"content-type": COLLECTION_CT})

    @route("POST", "/record/v1/{rtype}")
    @_ns
    def create_record(self, req: SimRequest) -> SimResponse:
        """Create: 204 with ``Location``; nothing de-duplicates a re-sent create."""
        rtype = self._rtype(req)

        def create() -> SimResponse:
            changes = self._changes(req, rtype)
            eid = changes.get("externalid")
            if eid is not None and self.table(rtype.rest).by_external_id(eid) is not None:
                raise NsError(
                    400,
                    "USER_ERROR",
                    "Error while accessing a resource. This entity already exists.",
                )
            return self._created(req, rtype, self._write_new(rtype, changes))

        return self._idempotent(req, create)

    @route("GET", "/record/v1/{rtype}/{ident}")
    @_ns
    def get_record(self, req: SimRequest) -> SimResponse:
        """One record (``?fields=a,b`` selects fields)."""
        rtype = self._rtype(req)
        row = self._find(rtype, req.params["ident"])
        if row is None:
            raise self._not_found()
        fields = req.query.get("fields")
        only = {f.strip().lower() for f in fields.split(",")} if fields else None
        return SimResponse.json(
            self.render(req, rtype, row.data, only), headers={"content-type": SINGULAR_CT}
        )

    @route("PUT", "/record/v1/{rtype}/{ident}")
    @_ns
    def upsert_record(self, req: SimRequest) -> SimResponse:
        """Upsert by external id: creates when absent, updates when present."""
        rtype = self._rtype(req)
        ident = req.params["ident"]
        if not ident.startswith("eid:"):
            raise NsError(
                400, "INVALID_REQUEST", "PUT is supported only with an external id (eid:...)."
            )

        def upsert() -> SimResponse:
            changes = self._changes(req, rtype)
            changes["externalid"] = ident[4:]
            row = self._find(rtype, ident)
            if row is None:
                row = self._write_new(rtype, changes)
            else:
                row = self._write_existing(rtype, row, changes)
            return self._created(req, rtype, row)

        return self._idempotent(req, upsert)

    @route("PATCH", "/record/v1/{rtype}/{ident}")
    @_ns
    def patch_record(self, req: SimRequest) -> SimResponse:
        """Update an existing record by internal or external id."""
        rtype = self._rtype(req)

        def patch() -> SimResponse:
            row = self._find(rtype, req.params["ident"])
            if row is None:
                raise self._not_found()
            self._write_existing(rtype, row, self._changes(req, rtype))
            return SimResponse.empty(204)

        return self._idempotent(req, patch)

    @route("DELETE", "/record/v1/{rtype}/{ident}")
    @_ns
    def delete_record(self, req: SimRequest) -> SimResponse:
        """Delete: 204; a record that does not exist is 404 ``NONEXISTENT_ID``."""
        rtype = self._rtype(req)

        def delete() -> SimResponse:
            row = self._find(rtype, req.params["ident"])
            if row is None:
                raise self._not_found()
            self._period_check(rtype, row.data, posted=row.posted, existing=True)
            self.table(rtype.rest).delete(row.id)
            return SimResponse.empty(204)

        return self._idempotent(req, delete)

    # ------------------------------------------------------------------ rendering

    def _self_href(self, req: SimRequest) -> str:
        query = f"?{urlencode(req.query)}" if req.query else ""
        return f"{self._origin(req)}{req.path}{query}"

    def _href(self, req: SimRequest, rtype: RecordType, rid: int) -> str:
        return f"{self._origin(req)}{self.base_path}/record/v1/{rtype.rest}/{rid}"

    def _ref_name(self, target: str, rid: Any) -> str | None:
        table = self.table(target)
        row = table.get(int(rid))
        if row is None:
            return None
        value = row.data.get(table_type(target).name_field)
        return None if value is None else str(value)

    def _rest_value(self, req: SimRequest, spec: FieldSpec, value: Any) -> Any:
        if spec.kind == "ref":
            assert spec.ref is not None
            target = RECORD_TYPES[spec.ref.lower()]
            out: dict[str, Any] = {
                "links": [{"rel": "self", "href": self._href(req, target, int(value))}],
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
        self,
        req: SimRequest,
        rtype: RecordType,
        data: Mapping[str, Any],
        only: set[str] | None = None,
    ) -> dict[str, Any]:
        """A row as the record service returns it (REST names, references with links)."""
        out: dict[str, Any] = {
            "links": [{"rel": "self", "href": self._href(req, rtype, data["id"])}]
        }
        for spec in rtype.fields:
            if only is not None and spec.rest.lower() not in only:
                continue
            value = data.get(spec.sql)
            if value is None:
                continue
            out[spec.rest] = str(value) if spec.rest == "id" else self._rest_value(req, spec, value)
        for name, cf in self.config.custom_fields.get(rtype.rest.lower(), {}).items():
            if only is not None and name not in only:
                continue
            value = data.get(name)
            if value is not None:
                if cf.kind == "date":
                    value = value.isoformat()
                elif cf.kind == "decimal":
                    value = float(value)
                out[name] = value
        return out

    def _sql_value(self, kind: str, value: Any) -> str:
        if kind == "bool":
            return "T" if value else "F"
        if kind in {"datetime", "date"}:
            return to_char(value, self.config.date_format, self.tz)
        if kind == "duration":
            return decimal_hours(int(value))
        if kind == "decimal":
            return format(Decimal(value).normalize(), "f")
        return str(value)

    # ------------------------------------------------------------------ writes

    def _find(self, rtype: RecordType, ident: str) -> Row | None:
        table = self.table(rtype.rest)
        if ident.startswith("eid:"):
            return table.by_external_id(ident[4:])
        if not ident.isdigit():
            raise NsError(400, "INVALID_PARAMETER", f"Invalid record id {ident}.")
        return table.get(int(ident))

    @staticmethod
    def _not_found() -> NsError:
        return NsError(404, "NONEXISTENT_ID", "Record does not exist.")

    def _page_params(self, req: SimRequest) -> tuple[int, int]:
        try:
            limit = int(req.query.get("limit", MAX_LIMIT))
            offset = int(req.query.get("offset", 0))
        except ValueError:
            raise NsError(400, "INVALID_PARAMETER", "limit and offset must be integers.") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise NsError(
                400, "INVALID_PARAMETER", f"Invalid limit {limit}: it must be 1 to {MAX_LIMIT}."
            )
        if offset < 0 or offset % limit:
            raise NsError(
                400,
                "INVALID_PARAMETER",
                f"Invalid offset {offset}: it must be a multiple of the limit {limit}.",
            )
        if offset >= self.config.query_cap:
            raise NsError(
                400,
                "INVALID_PARAMETER",
                f"Offset {offset} is beyond the {self.config.query_cap} results a query returns.",
            )
        return limit, offset

    def _links(
        self, req: SimRequest, limit: int, offset: int, has_more: bool, total: int
    ) -> list[dict[str, str]]:
        base = f"{self._origin(req)}{req.path}"
        keep = [(k, v) for k, v in req.query.items() if k not in {"limit", "offset"}]

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
        links.append({"rel": "self", "href": self._self_href(req)})
        return links

    def _body(self, req: SimRequest) -> dict[str, Any]:
        try:
            body = json.loads(req.body or b"{}")
        except ValueError:
            raise NsError(400, "INVALID_CONTENT", "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise NsError(400, "INVALID_CONTENT", "The request body must be a JSON object.")
        return body

    def _coerce_field(self, spec: FieldSpec, value: Any) -> Any:
        if value is None:
            return None
        shown_value = value.get("id", value) if isinstance(value, dict) else value
        shown = shown_value if isinstance(shown_value, str) else json.dumps(shown_value)
        bad = NsError(
            400,
            "INVALID_CONTENT",
            "Error while accessing resource: You have entered an Invalid Field Value "
            f"{shown} for the following field: {spec.rest}",
            spec.rest,
        )
        try:
            if spec.kind == "ref":
                assert spec.ref is not None
                target = self.table(spec.ref)
                row: Row | None
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
                return row.id
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

    def _changes(self, req: SimRequest, rtype: RecordType) -> dict[str, Any]:
        body = self._body(req)
        strict = req.headers.get("x-netsuite-propertynamevalidation", "warning") == "error"
        customs = self.config.custom_fields.get(rtype.rest.lower(), {})
        changes: dict[str, Any] = {}
        for name, value in body.items():
            spec = rtype.by_rest.get(name.lower())
            if spec is not None and not spec.readonly:
                changes[spec.sql] = self._coerce_field(spec, value)
                continue
            if name in customs:
                kind = customs[name].kind
                changes[name] = self._coerce_field(FieldSpec(name, name, kind), value)
                continue
            if strict:
                raise NsError(
                    400,
                    "INVALID_CONTENT",
                    f"Invalid field name: {name} is not a writable field of {rtype.rest}.",
                    name,
                )
        return changes

    def _require(self, rtype: RecordType, data: Mapping[str, Any]) -> None:
        missing = [s.rest for s in rtype.fields if s.required and data.get(s.sql) is None]
        customs = self.config.custom_fields.get(rtype.rest.lower(), {})
        missing += [n for n, cf in customs.items() if cf.required and data.get(n) in (None, "")]
        if missing:
            raise NsError(
                400,
                self.config.missing_field_code,
                f"Please enter value(s) for: {', '.join(missing)}",
                missing[0],
            )

    def period_closed(self, rtype: RecordType, on: date) -> str | None:
        """The name of the closed or locked period ``on`` falls in for this record's ledger."""
        if rtype.period_ledger is None:
            return None
        if on.isoformat()[:7] in self.closed_periods:
            return on.isoformat()[:7]
        period = self.period_for(on)
        if period is None:
            return None
        locked = (
            period.get("closed")
            or period.get("alllocked")
            or (rtype.period_ledger == "ar" and period.get("arlocked"))
            or (rtype.period_ledger == "ap" and period.get("aplocked"))
        )
        return str(period["periodname"]) if locked else None

    def _period_check(
        self, rtype: RecordType, data: Mapping[str, Any], *, posted: bool, existing: bool
    ) -> None:
        if posted:
            raise NsError(
                400, self.config.posted_record_code, "The record is posted and cannot be changed."
            )
        on = data.get("trandate")
        if not isinstance(on, date):
            return
        closed = self.period_closed(rtype, on)
        if closed is None:
            return
        if existing:
            raise NsError(
                400,
                self.config.posted_record_code,
                f"The record lies in the closed or locked period {closed}.",
            )
        raise NsError(
            400,
            self.config.closed_period_code,
            f"The accounting period {closed} is closed or locked.",
            "tranDate",
        )

    def _write_new(self, rtype: RecordType, changes: dict[str, Any]) -> Row:
        candidate = {"isinactive": False, **changes}
        self._require(rtype, candidate)
        self._period_check(rtype, candidate, posted=False, existing=False)
        return self.table(rtype.rest).insert(candidate)

    def _write_existing(self, rtype: RecordType, row: Row, changes: dict[str, Any]) -> Row:
        self._period_check(rtype, row.data, posted=row.posted, existing=True)
        candidate = {**row.data, **changes}
        self._period_check(rtype, candidate, posted=False, existing=False)
        self._require(rtype, candidate)
        return self.table(rtype.rest).update(row.id, changes)

    def _created(self, req: SimRequest, rtype: RecordType, row: Row) -> SimResponse:
        return SimResponse(204, b"", {"location": self._href(req, rtype, row.id)})

    # ------------------------------------------------------------------ SuiteQL

    @route("POST", "/query/v1/suiteql")
    @_ns
    def suiteql(self, req: SimRequest) -> SimResponse:
        """SuiteQL over the tables; every page re-evaluated (unless configured otherwise)."""
        if req.headers.get("prefer", "").lower() != "transient":
            raise NsError(
                400, "INVALID_PARAMETER", "The Prefer: transient header is required for SuiteQL."
            )
        limit, offset = self._page_params(req)
        body = self._body(req)
        text = body.get("q")
        params = body.get("params", [])
        if not isinstance(text, str) or not isinstance(params, list):
            raise NsError(400, "INVALID_PARAMETER", "The body needs q (text) and params (list).")
        try:
            items, total = self._evaluate(text, params, limit, offset)
        except SuiteQLError as exc:
            raise NsError(400, "INVALID_PARAMETER", f"Invalid search query: {exc}") from None
        reachable = min(total, self.config.query_cap)
        has_more = offset + len(items) < reachable
        out = {
            "links": self._links(req, limit, offset, has_more, total),
            "count": len(items),
            "hasMore": has_more,
            "items": items,
            "offset": offset,
            "totalResults": total,
        }
        return SimResponse.json(out, headers={"content-type": COLLECTION_CT})

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
        table = self.table(rtype.rest)
        kinds: dict[str, str] = {s.sql: s.kind for s in rtype.fields}
        for name, cf in self.config.custom_fields.get(rtype.rest.lower(), {}).items():
            kinds[name] = cf.kind
        ctx = Context(
            kinds,
            [None if p is None else str(p) for p in params],
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
            rows = [r.data for i in ids[offset:cap_end] if (r := table.get(i)) is not None]
            return [self._sql_row(query, rtype, kinds, r) for r in rows], len(ids)
        order = tuple(name for name, _ in query.order) or ("id",)
        descending = bool(query.order) and all(desc for _, desc in query.order)
        if any(desc for _, desc in query.order) and not descending:
            raise SuiteQLError("mixed ASC/DESC ordering is not simulated")
        pinned = pinned_id(query.where, ctx)
        if pinned is not None:
            # `id = ?` names at most one row: no scan, whatever the table size.
            row = table.get(pinned)
            index = [table.index_key(order, row.data)] if row is not None else []
        else:
            index = table.index(order)
        rng = leading_range(query.where, order, ctx)
        entries, in_range = scan(index, rng, descending)
        matched: list[dict[str, Any]] = []
        seen = 0
        exact = query.where is None or (rng is not None and rng.exact)
        snapshot = self.config.suiteql_snapshot and offset == 0
        all_ids: list[int] = []
        for entry in entries:
            data = table.data(entry[-1][1])
            if not pred(data):
                continue
            if snapshot:
                all_ids.append(data["id"])
            if offset <= seen < cap_end:
                matched.append(data)
            seen += 1
            if seen >= cap_end and exact and not snapshot:
                break
        total = in_range if exact else seen
        if snapshot:
            self._snapshots[snap_key] = all_ids[: self.config.query_cap]
        return [self._sql_row(query, rtype, kinds, r) for r in matched], total

    def _sql_row(
        self, query: Query, rtype: RecordType, kinds: dict[str, str], row: Mapping[str, Any]
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


class NetSuiteAdmin(Admin):
    """The kit's admin API; closing a period (``YYYY-MM``) also closes its accounting period
    row, so SuiteQL readers (``validate()``) see it as NetSuite would show it.

    Examples:
        >>> sim = NetSuiteSimulator(seed=1)
        >>> sim.admin.close_period("2026-03")
        >>> sim.period_for(date(2026, 3, 9))["closed"]
        True
    """

    def __init__(self, sim: NetSuiteSimulator) -> None:
        super().__init__(sim)
        self._ns = sim

    def close_period(self, period: str) -> None:
        super().close_period(period)
        self._flag(period, closed=True)

    def open_period(self, period: str) -> None:
        super().open_period(period)
        self._flag(period, closed=False)

    def _flag(self, period: str, *, closed: bool) -> None:
        year, month = (int(p) for p in period.split("-"))
        with self._ns._lock:
            row = self._ns.period_for(date(year, month, 1))
            if row is not None:
                self._ns.table("accountingperiod").update(row["id"], {"closed": closed})


def table_type(name: str) -> RecordType:
    """The record type of a table (REST id, case-insensitive)."""
    return RECORD_TYPES[name.lower()]


def _seed(sim: NetSuiteSimulator, rng: random.Random) -> None:
    # Master data exists a day before the simulator starts, so the first read sees it.
    t0 = (sim.clock.now() - timedelta(days=1)).astimezone(UTC).replace(microsecond=0)

    def put(record_type: str, **values: Any) -> None:
        sim.table(record_type).insert({"isinactive": False, **values}, at=t0)

    for code, name in (("USD", "US Dollar"), ("EUR", "Euro"), ("GBP", "British pound")):
        put("currency", name=name, symbol=code)
    put("subsidiary", name="Parent Company", legalname="Acme Holdings Inc.", country="US",
        currency=1)  # fmt: skip
    put("subsidiary", name="Acme UK", legalname="Acme Consulting Ltd", country="GB", currency=3,
        parent=1)  # fmt: skip
    put("subsidiary", name="Acme DE", legalname="Acme Beratung GmbH", country="DE", currency=2,
        parent=1)  # fmt: skip
    for item in ("Consulting", "Project Management", "Training"):
        put("serviceitem", itemid=item, displayname=item)
    first = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John"]
    last = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus"]
    for i, (fn, ln) in enumerate(zip(first, last, strict=True)):
        put("employee", entityid=f"{fn} {ln}", firstname=fn, lastname=ln,
            email=f"{fn.lower()}.{ln.lower()}@example.com", subsidiary=1 + i % 3,
            laborcost=Decimal(60 + 5 * rng.randrange(8)), hiredate=date(2020 + i % 5, 1 + i, 1),
            supervisor=None if i == 0 else 1)  # fmt: skip
    customers = ["Glenrock General Hospital", "Northwind Traders", "Contoso Ltd", "Fabrikam Inc",
                 "Tailspin Toys"]  # fmt: skip
    for i, name in enumerate(customers):
        put("customer", entityid=f"CUST{100 + i}", companyname=name,
            email=f"ap@{name.split()[0].lower()}.example.com", subsidiary=1 + i % 3,
            currency=[1, 3, 2][i % 3])  # fmt: skip
    for i in range(5):
        put("job", entityid=f"PRJ{1000 + i}", companyname=f"Implementation {i + 1}", parent=1 + i,
            subsidiary=1 + i % 3, currency=[1, 3, 2][i % 3], startdate=date(2026, 1, 5),
            projectedenddate=date(2026, 12, 18), entitystatus="In Progress",
            projectmanager=1 + i % 8)  # fmt: skip
        for j, title in enumerate(("Discovery", "Build", "Go-live")):
            put("projecttask", title=title, project=i + 1, startdatetime=date(2026, 1 + 3 * j, 5),
                plannedwork=60 * 40 * (j + 1), status="In Progress")  # fmt: skip
    for month in range(1, 13):
        start = date(2026, month, 1)
        end = date(2026 + month // 12, month % 12 + 1, 1) - timedelta(days=1)
        put("accountingperiod", periodname=start.strftime("%b %Y"), startdate=start,
            enddate=end, closed=False, arlocked=False, aplocked=False, alllocked=False,
            isadjust=False)  # fmt: skip
    for i in range(20):
        put("timebill", employee=1 + i % 8, customer=1 + i % 5, casetaskevent=1 + i % 15,
            item=1 + i % 3, subsidiary=1 + i % 3, trandate=date(2026, 1, 5) + timedelta(i),
            hours=15 * (1 + rng.randrange(32)), memo=f"Work item {i + 1}", isbillable=True,
            approvalstatus="Approved")  # fmt: skip
