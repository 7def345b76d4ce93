"""``Dynamics365`` and ``AsyncDynamics365``: Dataverse Web API clients for one environment.

Both are thin shells over one sans-IO core (:class:`_Core`): URLs, headers, the reading of
write answers and the read strategies are decided there; the shells only send and await.

* Reads are lazy pagers. :meth:`Dynamics365.read` walks a table incrementally by a
  ``modifiedon`` keyset (pages follow ``@odata.nextLink`` unchanged, sized by
  ``Prefer: odata.maxpagesize``) and yields canonical objects or ``Rejected`` records;
  :meth:`Dynamics365.query` pages any OData query as plain rows; :meth:`Dynamics365.count`
  says when Dataverse capped the count at 5,000.
* Writes address rows by id: :meth:`Dynamics365.upsert` is ``PATCH <set>(<id>)`` (an upsert
  without preconditions, ``create`` with ``If-None-Match: *``, ``update`` with ``If-Match``),
  :meth:`Dynamics365.upsert_by_key` the same by an alternate key; both are retried safely.

Examples:
    >>> import httpx2
    >>> from erpsa_dynamics365.simulator import DataverseSimulator
    >>> from erpsa_sdk.models import Resource
    >>> sim = DataverseSimulator(seed=1)
    >>> d365 = Dynamics365(sim.environment_url, auth=bearer(sim.api_token),
    ...                    transport=httpx2.MockTransport(sim), clock=sim.clock)
    >>> sorted(r.name for r in d365.read(Resource))[:2]
    ['Ada Lovelace', 'Alan Turing']
    >>> d365.count("accounts")
    ODataCount(value=5, capped=False, total=5)
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from types import TracebackType
from typing import Annotated, Any, Literal, Self, TypeVar
from urllib.parse import quote

import httpx2
from pydantic import BaseModel, BeforeValidator

from erpsa_dynamics365._core import (
    SERVICE_PROTECTION,
    ErrorCodes,
    api_root,
    parse_error,
)
from erpsa_dynamics365._schema import TableSpec
from erpsa_dynamics365.mapping import (
    SYSTEM,
    TenantMapping,
    from_row,
    select_columns,
    table_for,
)
from erpsa_sdk.auth import bearer
from erpsa_sdk.clock import Clock, SystemClock
from erpsa_sdk.errors import ConfigurationError, NotFoundError, ResponseFormatError
from erpsa_sdk.http import (
    ApiClient,
    AsyncApiClient,
    AsyncPager,
    GovernorHook,
    NextLink,
    Pager,
    RetryPolicy,
    WriteSafety,
    parse_json,
)
from erpsa_sdk.http.odata import (
    ODataCount,
    ODataKeyset,
    ODataQuery,
    literal,
    prefer,
    read_count,
)
from erpsa_sdk.limits import Governor, Limit, LimitBackend, Scope
from erpsa_sdk.models import SourceRef

__all__ = ["AsyncDynamics365", "Dynamics365", "WriteAnswer", "bearer"]

M = TypeVar("M", bound=BaseModel)
Mode = Literal["upsert", "create", "update"]

MAX_PAGE_SIZE = 5000
COUNT_CAP = 5000
_TOTAL = "Microsoft.Dynamics.CRM.totalrecordcount"
_CAPPED = "Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"
_ODATA_HEADERS = {"Accept": "application/json", "OData-MaxVersion": "4.0", "OData-Version": "4.0"}
#: How far behind now incremental walks stop: a row becomes visible when its transaction
#: commits, which can be after the ``modifiedon`` it carries; with no lag such a row can land
#: behind an already-passed horizon and never be read (the NetSuite connector also uses 5 s).
DEFAULT_LAG = timedelta(seconds=5)
#: A retry after Retry-After waits it in full, up to the 5-minute window.
DEFAULT_RETRY = RetryPolicy(max_retry_after=300.0, budget=900.0)


@dataclass(frozen=True)
class WriteAnswer:
    """What Dataverse answered to a write.

    ``created`` is ``True`` / ``False`` when the answer says so (201 / 200 with
    ``return=representation``), ``None`` for a bare 204. ``row`` is the representation.

    Examples:
        >>> WriteAnswer(status=201, row_id="r1", created=True).created
        True
    """

    status: int
    row_id: str
    created: bool | None = None
    etag: str | None = None
    row: Mapping[str, Any] | None = None


def _key_segment(key: Mapping[str, Any]) -> str:
    if not key:
        raise ConfigurationError("an alternate key needs at least one column")
    return ",".join(f"{col}={quote(literal(val), safe=chr(39))}" for col, val in key.items())


class _Core:
    """Everything both clients share, without I/O."""

    def __init__(
        self,
        environment_url: str,
        *,
        mapping: TenantMapping | None,
        page_size: int,
        lag: timedelta,
        error_codes: ErrorCodes | None,
    ) -> None:
        url = httpx2.URL(environment_url)
        if not url.host:
            raise ConfigurationError(f"not an environment URL: {environment_url!r}")
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ConfigurationError(f"page_size must be 1 to {MAX_PAGE_SIZE}, got {page_size}")
        self.environment_url = environment_url.rstrip("/")
        self.api_root = api_root(self.environment_url)
        self.tenant = url.host
        self.mapping = mapping or TenantMapping()
        self.page_size = page_size
        self.lag = lag
        self.error_codes = error_codes or ErrorCodes()
        self.reference_data_loaded = False

    def parser(self, response: httpx2.Response) -> Any:
        content = response.content
        if response.status_code < 300 and content.lstrip()[:8] == b'{"error"':
            return ResponseFormatError(
                f"Dataverse answered {response.status_code} with an error body"
            )
        return parse_error(response, self.error_codes)

    def governor(
        self,
        limits: Sequence[Limit] | None,
        user: str,
        share: float,
        clock: Clock,
        backend: LimitBackend | None,
    ) -> Governor:
        return Governor(
            list(limits or SERVICE_PROTECTION),
            scopes=Scope.environment_user(self.tenant, user),
            share=share,
            clock=clock,
            backend=backend,
        )

    def page_prefer(self, request: httpx2.Request) -> None:
        # Every collection read states its page size; a later page keeps the same one.
        if request.method == "GET" and "prefer" not in request.headers:
            request.headers["Prefer"] = prefer(maxpagesize=self.page_size)

    def expand(self, spec: TableSpec) -> tuple[str, ...]:
        # Currency codes and category names arrive with the row: no second lookup.
        out: list[str] = []
        if spec.lookup("transactioncurrencyid") is not None:
            out.append("transactioncurrencyid($select=isocurrencycode)")
        if spec.lookup("msdyn_ExpenseCategory") is not None:
            out.append("msdyn_ExpenseCategory($select=msdyn_name)")
        return tuple(out)

    def keyset(self, type_name: str, base: ODataQuery | None) -> ODataKeyset:
        spec = table_for(type_name)
        query = replace(
            base or ODataQuery(),
            select=select_columns(type_name, self.mapping),
            expand=self.expand(spec),
        )
        return ODataKeyset(
            spec.entity_set, query, timestamp_field="modifiedon", id_field=spec.pk, lag=self.lag
        )

    def item_type(self, model: type[M]) -> Any:
        reshape = functools.partial(self._reshape, model.__name__)
        return Annotated[model, BeforeValidator(reshape)]

    def _reshape(self, type_name: str, raw: Any) -> Any:
        if not isinstance(raw, Mapping):
            return raw
        try:
            return from_row(type_name, raw, self.mapping, tenant=self.tenant)
        except TypeError as exc:
            # A value of the wrong JSON type: pydantic turns ValueError (not TypeError) into
            # a validation error, so the record comes out Rejected instead of ending the read.
            raise ValueError(str(exc)) from exc

    def source_ref_of(self, type_name: str) -> Callable[[Any], SourceRef | None]:
        pk = table_for(type_name).pk

        def ref(raw: Any) -> SourceRef | None:
            if isinstance(raw, Mapping) and raw.get(pk):
                return SourceRef(system=SYSTEM, tenant=self.tenant, id=str(raw[pk]))
            return None

        return ref

    def write_headers(
        self, mode: Mode, if_match: str | None, representation: bool
    ) -> dict[str, str]:
        headers = {"Prefer": prefer(return_representation=True)} if representation else {}
        if mode == "create":
            headers["If-None-Match"] = "*"
        elif mode == "update":
            headers["If-Match"] = if_match or "*"
        elif if_match is not None:
            raise ConfigurationError("if_match= applies to mode='update'")
        return headers

    def answer(self, response: httpx2.Response, row_id: str | None = None) -> WriteAnswer:
        status = response.status_code
        row: Mapping[str, Any] | None = None
        if status in (200, 201) and response.content:
            body = parse_json(response)
            row = body if isinstance(body, Mapping) else None
        entity = response.headers.get("OData-EntityId", "")
        if row_id is None:
            row_id = entity.rsplit("(", 1)[-1].rstrip(")") if "(" in entity else None
        if row_id is None:
            raise ResponseFormatError("Dataverse did not say which row it wrote (OData-EntityId)")
        created = True if status == 201 else False if status == 200 else None
        return WriteAnswer(status, row_id, created, response.headers.get("ETag"), row)

    def set_reference_data(self, currencies: Any, categories: Any) -> None:
        try:
            cur = {str(r["transactioncurrencyid"]): str(r["isocurrencycode"]) for r in currencies}
            cat = {str(r["msdyn_expensecategoryid"]): str(r["msdyn_name"]) for r in categories}
        except (KeyError, TypeError) as exc:
            raise ResponseFormatError(f"malformed reference data row: missing {exc}") from exc
        self.mapping = replace(self.mapping, currencies=cur, expense_categories=cat)
        self.reference_data_loaded = True


def _count_query(entity_set: str, filter: str | None) -> tuple[str, dict[str, str]]:
    q = ODataQuery(filter=filter, count=True, select=())
    headers = {"Prefer": prefer(maxpagesize=1, annotations=f"{_TOTAL},{_CAPPED}")}
    return q.url(entity_set), headers


def _counted(body: Any) -> ODataCount:
    found = read_count(
        body, total_annotation=f"@{_TOTAL}", capped_annotation=f"@{_CAPPED}", cap=COUNT_CAP
    )
    if found is None:
        raise ResponseFormatError("the answer to $count=true has no @odata.count")
    return found


class Dynamics365:
    """Synchronous Dataverse Web API client for one environment.

    Parameters:
        environment_url: ``https://<env>.<region>.dynamics.com``.
        auth: an ``httpx2.Auth``; see :func:`erpsa_dynamics365.entra_auth` (client secret or
            certificate) or :func:`~erpsa_sdk.auth.bearer`.
        mapping: the tenant's :class:`~erpsa_dynamics365.mapping.TenantMapping`.
        page_size: ``Prefer: odata.maxpagesize`` (1 to 5,000).
        user: the calling user (application user id) the limits are counted for.
        limits: the limits to govern by (default: the documented service protection).
        share: the fraction of the limits this client may use.
        governor: a ready governor (overrides ``limits`` / ``share``).
        backend: a shared limits backend (several processes, one budget).
        lag: how far behind now an incremental walk's horizon is (default 5 s, so a row
            whose ``modifiedon`` was stamped before a late commit is not left behind the
            cursor; ``timedelta(0)`` only where commits are known to be instant).
        error_codes: vendor codes given meaning (:class:`~erpsa_dynamics365.ErrorCodes`).
        clock: the clock for sleeps, tokens and horizons (a ``SimClock`` in tests).
        retry: the retry policy (default: ``Retry-After`` waited in full, up to 300 s).
        transport: an ``httpx2`` transport (``MockTransport(simulator)`` in tests).
        timeout: seconds per request.

    Examples:
        >>> import httpx2
        >>> from erpsa_dynamics365.simulator import DataverseSimulator
        >>> sim = DataverseSimulator()
        >>> d365 = Dynamics365(sim.environment_url, auth=bearer(sim.api_token),
        ...                    transport=httpx2.MockTransport(sim), clock=sim.clock, page_size=2)
        >>> rows = d365.query("accounts", ODataQuery(select=("name",), orderby=("name",)))
        >>> [r["name"] for r in rows][:3], rows.pages_read
        (['Adventure Works', 'Fabrikam Japan', 'Fourth Coffee'], 3)
    """

    def __init__(
        self,
        environment_url: str,
        *,
        auth: httpx2.Auth | None = None,
        mapping: TenantMapping | None = None,
        page_size: int = 1000,
        user: str = "application-user",
        limits: Sequence[Limit] | None = None,
        share: float = 1.0,
        governor: GovernorHook | None = None,
        backend: LimitBackend | None = None,
        lag: timedelta = DEFAULT_LAG,
        error_codes: ErrorCodes | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx2.BaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._core = _Core(
            environment_url, mapping=mapping, page_size=page_size, lag=lag, error_codes=error_codes
        )
        clock = clock or SystemClock()
        core = self._core

        def page_prefer(
            request: httpx2.Request, call_next: Callable[[httpx2.Request], httpx2.Response]
        ) -> httpx2.Response:
            core.page_prefer(request)
            return call_next(request)

        self._http = ApiClient(
            base_url=core.api_root,
            tenant=core.tenant,
            auth=auth,
            governor=governor or core.governor(limits, user, share, clock, backend),
            clock=clock,
            retry=retry or DEFAULT_RETRY,
            error_parser=core.parser,
            middleware=[page_prefer],
            transport=transport,
            timeout=timeout,
            headers=_ODATA_HEADERS,
            limits=httpx2.Limits(max_connections=64, max_keepalive_connections=16),
        )

    @property
    def tenant(self) -> str:
        """The environment host (the tenant name on every error and SourceRef)."""
        return self._core.tenant

    @property
    def mapping(self) -> TenantMapping:
        """The tenant mapping (with currencies and categories once loaded)."""
        return self._core.mapping

    @property
    def http(self) -> ApiClient:
        """The underlying :class:`~erpsa_sdk.http.ApiClient` (for calls this class lacks)."""
        return self._http

    def query(self, entity_set: str, query: ODataQuery | None = None) -> Pager[dict[str, Any]]:
        """Rows of any OData query, page by page, following ``@odata.nextLink`` unchanged.

        Examples:
            >>> import httpx2
            >>> from erpsa_dynamics365.simulator import DataverseSimulator
            >>> sim = DataverseSimulator()
            >>> d365 = Dynamics365(sim.environment_url, auth=bearer(sim.api_token),
            ...                    transport=httpx2.MockTransport(sim), clock=sim.clock)
            >>> [r["isocurrencycode"] for r in d365.query("transactioncurrencies",
            ...     ODataQuery(select=("isocurrencycode",), filter="isocurrencycode eq 'EUR'"))]
            ['EUR']
        """
        path = (query or ODataQuery()).url(entity_set)
        return Pager(self._http, NextLink(path, items="value", next="@odata.nextLink"))

    def count(self, entity_set: str, filter: str | None = None) -> ODataCount:
        """The row count; ``capped`` is ``True`` when Dataverse stopped counting at 5,000.

        Examples:
            >>> from erpsa_dynamics365.simulator import DataverseSimulator
            >>> DataverseSimulator().client().count("accounts", "statecode eq 0").exact
            True
        """
        url, headers = _count_query(entity_set, filter)
        return _counted(self._http.request_json("GET", url, headers=headers))

    def read(
        self, model: type[M], *, since: dict[str, Any] | None = None, filter: str | None = None
    ) -> Pager[M]:
        """Rows of ``model``'s table changed after the cursor ``since``, as canonical objects
        (``Rejected`` for rows that cannot be mapped), lazily; ``filter`` narrows the walk.

        Examples:
            >>> from erpsa_dynamics365.simulator import DataverseSimulator
            >>> from erpsa_sdk.models import TimeEntry
            >>> pager = DataverseSimulator().client(page_size=3).read(TimeEntry)
            >>> len(list(pager)), sorted(pager.cursor)
            (8, ['after', 'horizon', 'next'])
        """
        name = model.__name__
        return Pager(
            self._http,
            self._core.keyset(name, ODataQuery(filter=filter)),
            model=self._core.item_type(model),
            cursor=since,
            source_ref=self._core.source_ref_of(name),
        )

    def get(
        self, entity_set: str, row_id: str, *, select: Sequence[str] = ()
    ) -> dict[str, Any] | None:
        """One row by id, or ``None`` when it does not exist.

        Examples:
            >>> from erpsa_dynamics365.simulator import DataverseSimulator
            >>> d365 = DataverseSimulator().client()
            >>> d365.get("accounts", "00000000-0000-0000-0000-000000000009") is None
            True
        """
        url = ODataQuery(select=tuple(select)).url(f"{entity_set}({row_id})")
        try:
            row: dict[str, Any] = self._http.request_json("GET", url)
        except NotFoundError:
            return None
        return row

    def upsert(
        self,
        entity_set: str,
        row_id: str,
        body: Mapping[str, Any],
        *,
        mode: Mode = "upsert",
        if_match: str | None = None,
        representation: bool = True,
    ) -> WriteAnswer:
        """``PATCH <set>(<id>)``: ``upsert`` (no precondition), ``create`` (``If-None-Match:
        *``; 412 raises ``ConflictError`` when the row exists) or ``update`` (``If-Match``;
        404 raises ``NotFoundError`` when it does not, 412 on an ETag mismatch). Addressed by
        id, so a retry after a lost answer is harmless (``NATURAL_UPSERT``).

        Examples:
            >>> from erpsa_dynamics365.simulator import DataverseSimulator
            >>> d365 = DataverseSimulator().client()
            >>> rid = "6f1c3a52-4f2e-5d7a-9a51-0d8e7c2b1a01"
            >>> d365.upsert("accounts", rid, {"name": "A"}).status
            201
            >>> d365.upsert("accounts", rid, {"name": "B"}, representation=False).status
            204
        """
        headers = self._core.write_headers(mode, if_match, representation)
        response = self._http.request(
            "PATCH",
            f"{entity_set}({row_id})",
            json=dict(body),
            headers=headers,
            safety=WriteSafety.NATURAL_UPSERT,
        )
        return self._core.answer(response, row_id)

    def upsert_by_key(
        self,
        entity_set: str,
        key: Mapping[str, Any],
        body: Mapping[str, Any],
        *,
        mode: Mode = "upsert",
        representation: bool = True,
    ) -> WriteAnswer:
        """The same upsert, addressed by an alternate key the tenant defined and activated
        (``accounts(accountnumber='A-1')``); the key columns are not repeated in the body.

        Examples:
            >>> from erpsa_dynamics365.simulator import DataverseSimulator
            >>> d365 = DataverseSimulator().client()
            >>> d365.upsert_by_key("accounts", {"accountnumber": "A-1"}, {"name": "A"}).created
            True
        """
        headers = self._core.write_headers(mode, None, representation)
        payload = {k: v for k, v in body.items() if k not in key}
        response = self._http.request(
            "PATCH",
            f"{entity_set}({_key_segment(key)})",
            json=payload,
            headers=headers,
            safety=WriteSafety.NATURAL_UPSERT,
        )
        return self._core.answer(response)

    def create(self, entity_set: str, body: Mapping[str, Any]) -> WriteAnswer:
        """``POST <set>``: a plain create. Dataverse does not de-duplicate it, so it is never
        retried (``UNSAFE``): prefer :meth:`upsert` by a UUIDv5 id.

        Examples:
            >>> from erpsa_dynamics365.simulator import DataverseSimulator
            >>> DataverseSimulator().client().create("accounts", {"name": "New"}).status
            201
        """
        response = self._http.request(
            "POST",
            entity_set,
            json=dict(body),
            headers={"Prefer": prefer(return_representation=True)},
            safety=WriteSafety.UNSAFE,
        )
        return self._core.answer(response)

    def delete(self, entity_set: str, row_id: str) -> bool:
        """Delete a row; ``False`` when it did not exist (also after a lost answer).

        Examples:
            >>> from erpsa_dynamics365.simulator import DataverseSimulator
            >>> d365 = DataverseSimulator().client()
            >>> row = d365.create("accounts", {"name": "Temp"}).row_id
            >>> d365.delete("accounts", row), d365.delete("accounts", row)
            (True, False)
        """
        try:
            self._http.request(
                "DELETE", f"{entity_set}({row_id})", safety=WriteSafety.NATURAL_UPSERT
            )
        except NotFoundError:
            return False
        return True

    def alternate_keys(self, logical_name: str) -> list[dict[str, Any]]:
        """The table's alternate keys (``KeyAttributes``, ``EntityKeyIndexStatus``).

        Examples:
            >>> from erpsa_dynamics365.simulator import DataverseSimulator
            >>> keys = DataverseSimulator().client().alternate_keys("account")
            >>> [k["KeyAttributes"] for k in keys]
            [['accountnumber']]
        """
        body = self._http.request_json(
            "GET", f"EntityDefinitions(LogicalName='{logical_name}')/Keys"
        )
        return list(body.get("value", []))

    def load_reference_data(self, *, force: bool = False) -> TenantMapping:
        """Load the environment's currencies and expense categories into the mapping (once).

        Examples:
            >>> from erpsa_dynamics365.simulator import DataverseSimulator
            >>> sorted(DataverseSimulator().client().load_reference_data().currencies.values())
            ['EUR', 'GBP', 'JPY', 'USD']
        """
        if force or not self._core.reference_data_loaded:
            cur = list(
                self.query(
                    "transactioncurrencies",
                    ODataQuery(select=("transactioncurrencyid", "isocurrencycode")),
                )
            )
            cat = list(
                self.query(
                    "msdyn_expensecategories",
                    ODataQuery(select=("msdyn_expensecategoryid", "msdyn_name")),
                )
            )
            self._core.set_reference_data(cur, cat)
        return self._core.mapping

    def close(self) -> None:
        """Close the connection pool."""
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
        return f"Dynamics365(environment={self._core.tenant!r})"


class AsyncDynamics365:
    """Async twin of :class:`Dynamics365` (same parameters, awaitable methods).

    Examples:
        >>> import asyncio, httpx2
        >>> from erpsa_dynamics365.simulator import DataverseSimulator
        >>> from erpsa_sdk.models import Customer
        >>> sim = DataverseSimulator()
        >>> async def main():
        ...     async with AsyncDynamics365(sim.environment_url, auth=bearer(sim.api_token),
        ...             transport=httpx2.MockTransport(sim), clock=sim.clock) as d365:
        ...         names = [c.name async for c in d365.read(Customer)]
        ...         return len(names), (await d365.count("accounts")).value
        >>> asyncio.run(main())
        (5, 5)
    """

    def __init__(
        self,
        environment_url: str,
        *,
        auth: httpx2.Auth | None = None,
        mapping: TenantMapping | None = None,
        page_size: int = 1000,
        user: str = "application-user",
        limits: Sequence[Limit] | None = None,
        share: float = 1.0,
        governor: GovernorHook | None = None,
        backend: LimitBackend | None = None,
        lag: timedelta = DEFAULT_LAG,
        error_codes: ErrorCodes | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._core = _Core(
            environment_url, mapping=mapping, page_size=page_size, lag=lag, error_codes=error_codes
        )
        clock = clock or SystemClock()
        core = self._core

        async def page_prefer(
            request: httpx2.Request,
            call_next: Callable[[httpx2.Request], Awaitable[httpx2.Response]],
        ) -> httpx2.Response:
            core.page_prefer(request)
            return await call_next(request)

        self._http = AsyncApiClient(
            base_url=core.api_root,
            tenant=core.tenant,
            auth=auth,
            governor=governor or core.governor(limits, user, share, clock, backend),
            clock=clock,
            retry=retry or DEFAULT_RETRY,
            error_parser=core.parser,
            middleware=[page_prefer],
            transport=transport,
            timeout=timeout,
            headers=_ODATA_HEADERS,
            limits=httpx2.Limits(max_connections=64, max_keepalive_connections=16),
        )

    @property
    def tenant(self) -> str:
        """The environment host."""
        return self._core.tenant

    @property
    def mapping(self) -> TenantMapping:
        """The tenant mapping."""
        return self._core.mapping

    def query(self, entity_set: str, query: ODataQuery | None = None) -> AsyncPager[dict[str, Any]]:
        """Rows of any OData query (see :meth:`Dynamics365.query`).

        Examples:
            >>> import asyncio, httpx2
            >>> from erpsa_dynamics365.simulator import DataverseSimulator
            >>> sim = DataverseSimulator()
            >>> def client():
            ...     return AsyncDynamics365(sim.environment_url, auth=bearer(sim.api_token),
            ...                             transport=httpx2.MockTransport(sim), clock=sim.clock)
            >>> async def main():
            ...     async with client() as d365:
            ...         return [r["cdm_name"] async for r in d365.query("cdm_companies", ODataQuery(
            ...             select=("cdm_name",), filter="cdm_companycode eq 'GBPM'"))]
            >>> asyncio.run(main())
            ['Contoso UK']
        """
        path = (query or ODataQuery()).url(entity_set)
        return AsyncPager(self._http, NextLink(path, items="value", next="@odata.nextLink"))

    async def count(self, entity_set: str, filter: str | None = None) -> ODataCount:
        """The row count, honest about the 5,000 cap (see :meth:`Dynamics365.count`).

        Examples:
            >>> import asyncio, httpx2
            >>> from erpsa_dynamics365.simulator import DataverseSimulator
            >>> sim = DataverseSimulator()
            >>> def client():
            ...     return AsyncDynamics365(sim.environment_url, auth=bearer(sim.api_token),
            ...                             transport=httpx2.MockTransport(sim), clock=sim.clock)
            >>> async def main():
            ...     async with client() as d365:
            ...         return await d365.count("invoices")
            >>> asyncio.run(main()).value
            2
        """
        url, headers = _count_query(entity_set, filter)
        return _counted(await self._http.request_json("GET", url, headers=headers))

    def read(
        self, model: type[M], *, since: dict[str, Any] | None = None, filter: str | None = None
    ) -> AsyncPager[M]:
        """Canonical objects of ``model`` changed after ``since`` (see :meth:`Dynamics365.read`).

        Examples:
            >>> import asyncio, httpx2
            >>> from erpsa_dynamics365.simulator import DataverseSimulator
            >>> sim = DataverseSimulator()
            >>> def client():
            ...     return AsyncDynamics365(sim.environment_url, auth=bearer(sim.api_token),
            ...                             transport=httpx2.MockTransport(sim), clock=sim.clock)
            >>> from erpsa_sdk.models import Invoice
            >>> async def main():
            ...     async with client() as d365:
            ...         return [i.number async for i in d365.read(Invoice)]
            >>> sorted(asyncio.run(main()))
            ['INV-00001', 'INV-00002']
        """
        name = model.__name__
        return AsyncPager(
            self._http,
            self._core.keyset(name, ODataQuery(filter=filter)),
            model=self._core.item_type(model),
            cursor=since,
            source_ref=self._core.source_ref_of(name),
        )

    async def get(
        self, entity_set: str, row_id: str, *, select: Sequence[str] = ()
    ) -> dict[str, Any] | None:
        """One row by id, or ``None``.

        Examples:
            >>> import asyncio, httpx2
            >>> from erpsa_dynamics365.simulator import DataverseSimulator
            >>> sim = DataverseSimulator()
            >>> def client():
            ...     return AsyncDynamics365(sim.environment_url, auth=bearer(sim.api_token),
            ...                             transport=httpx2.MockTransport(sim), clock=sim.clock)
            >>> async def main():
            ...     async with client() as d365:
            ...         return await d365.get("accounts", "00000000-0000-0000-0000-000000000009")
            >>> asyncio.run(main()) is None
            True
        """
        url = ODataQuery(select=tuple(select)).url(f"{entity_set}({row_id})")
        try:
            row: dict[str, Any] = await self._http.request_json("GET", url)
        except NotFoundError:
            return None
        return row

    async def upsert(
        self,
        entity_set: str,
        row_id: str,
        body: Mapping[str, Any],
        *,
        mode: Mode = "upsert",
        if_match: str | None = None,
        representation: bool = True,
    ) -> WriteAnswer:
        """``PATCH <set>(<id>)`` (see :meth:`Dynamics365.upsert`).

        Examples:
            >>> import asyncio, httpx2
            >>> from erpsa_dynamics365.simulator import DataverseSimulator
            >>> sim = DataverseSimulator()
            >>> def client():
            ...     return AsyncDynamics365(sim.environment_url, auth=bearer(sim.api_token),
            ...                             transport=httpx2.MockTransport(sim), clock=sim.clock)
            >>> async def main():
            ...     async with client() as d365:
            ...         rid = "6f1c3a52-4f2e-5d7a-9a51-0d8e7c2b1a02"
            ...         return (await d365.upsert("accounts", rid, {"name": "A"})).status
            >>> asyncio.run(main())
            201
        """
        headers = self._core.write_headers(mode, if_match, representation)
        response = await self._http.request(
            "PATCH",
            f"{entity_set}({row_id})",
            json=dict(body),
            headers=headers,
            safety=WriteSafety.NATURAL_UPSERT,
        )
        return self._core.answer(response, row_id)

    async def upsert_by_key(
        self,
        entity_set: str,
        key: Mapping[str, Any],
        body: Mapping[str, Any],
        *,
        mode: Mode = "upsert",
        representation: bool = True,
    ) -> WriteAnswer:
        """Upsert by an alternate key (see :meth:`Dynamics365.upsert_by_key`).

        Examples:
            >>> import asyncio, httpx2
            >>> from erpsa_dynamics365.simulator import DataverseSimulator
            >>> sim = DataverseSimulator()
            >>> def client():
            ...     return AsyncDynamics365(sim.environment_url, auth=bearer(sim.api_token),
            ...                             transport=httpx2.MockTransport(sim), clock=sim.clock)
            >>> async def main():
            ...     async with client() as d365:
            ...         key = {"accountnumber": "ACC-1000"}
            ...         return (await d365.upsert_by_key("accounts", key, {"name": "B"})).created
            >>> asyncio.run(main())
            False
        """
        headers = self._core.write_headers(mode, None, representation)
        payload = {k: v for k, v in body.items() if k not in key}
        response = await self._http.request(
            "PATCH",
            f"{entity_set}({_key_segment(key)})",
            json=payload,
            headers=headers,
            safety=WriteSafety.NATURAL_UPSERT,
        )
        return self._core.answer(response)

    async def delete(self, entity_set: str, row_id: str) -> bool:
        """Delete a row; ``False`` when it did not exist.

        Examples:
            >>> import asyncio, httpx2
            >>> from erpsa_dynamics365.simulator import DataverseSimulator
            >>> sim = DataverseSimulator()
            >>> def client():
            ...     return AsyncDynamics365(sim.environment_url, auth=bearer(sim.api_token),
            ...                             transport=httpx2.MockTransport(sim), clock=sim.clock)
            >>> async def main():
            ...     async with client() as d365:
            ...         return await d365.delete("accounts", "00000000-0000-0000-0000-000000000009")
            >>> asyncio.run(main())
            False
        """
        try:
            await self._http.request(
                "DELETE", f"{entity_set}({row_id})", safety=WriteSafety.NATURAL_UPSERT
            )
        except NotFoundError:
            return False
        return True

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
        return f"AsyncDynamics365(environment={self._core.tenant!r})"
