"""``NetSuite`` and ``AsyncNetSuite``: SuiteTalk REST clients for one account.

Reads go through SuiteQL keyset queries (:class:`~erpsa_netsuite._core.SuiteQLKeyset`) and
come back as canonical objects, lazily, page by page; a record that cannot be mapped comes
out as :class:`~erpsa_sdk.models.Rejected`. Writes use the record service by external id
(``PUT …/eid:<key>``). Both clients share every decision through :mod:`erpsa_netsuite._core`.

Examples:
    >>> import httpx2
    >>> from erpsa_netsuite.simulator import NetSuiteSimulator
    >>> sim = NetSuiteSimulator(seed=1)
    >>> ns = NetSuite(sim.config.account_id, auth=bearer(sim.static_token),
    ...               transport=httpx2.MockTransport(sim))
    >>> entries = ns.time_entries.list()
    >>> first = next(iter(entries))
    >>> type(first).__name__, first.duration_minutes > 0
    ('TimeEntry', True)
    >>> entries  # doctest: +ELLIPSIS
    <Pager SuiteQLKeyset suiteql:timebill pages_read=0 cursor={"after": null, "horizon": ...}>
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Generic, TypeVar, cast
from urllib.parse import quote

import httpx2
from pydantic import BaseModel, BeforeValidator

from erpsa_netsuite._core import (
    QUERY_PATH,
    RECORD_PATH,
    ErrorCodes,
    SuiteQLKeyset,
    base_url,
    invalid_login_as_throttle,
    parse_error,
    realm,
)
from erpsa_netsuite.mapping import (
    RecordSpec,
    TenantMapping,
    format_timestamp,
    from_suiteql,
    select_list,
    spec_for,
)
from erpsa_sdk.auth import bearer
from erpsa_sdk.clock import Clock
from erpsa_sdk.errors import ConfigurationError, ResponseFormatError
from erpsa_sdk.http import ApiClient, AsyncApiClient, AsyncPager, Pager, RetryPolicy
from erpsa_sdk.http.hooks import GovernorHook
from erpsa_sdk.http.pagination import Cursor, PageRequest, Step
from erpsa_sdk.http.safety import WriteSafety
from erpsa_sdk.models import SourceRef

__all__ = ["AsyncNetSuite", "NetSuite", "Records", "bearer"]

M = TypeVar("M", bound=BaseModel)

#: The horizon of a look-up by id (far beyond any row's lastmodifieddate, in any time zone).
_FAR_FUTURE = datetime(9000, 1, 1, tzinfo=UTC)

#: Types whose mapping needs the account's currency list.
_NEEDS_CURRENCIES = frozenset({"Customer", "LegalEntity", "Project", "Expense", "Invoice"})


def _transient(
    request: httpx2.Request, call_next: Callable[[httpx2.Request], httpx2.Response]
) -> httpx2.Response:
    # SuiteQL documents "Prefer: transient" as a required header.
    if request.url.path == QUERY_PATH:
        request.headers["Prefer"] = "transient"
    return call_next(request)


async def _atransient(request: httpx2.Request, call_next: Any) -> httpx2.Response:
    if request.url.path == QUERY_PATH:
        request.headers["Prefer"] = "transient"
    response: httpx2.Response = await call_next(request)
    return response


class _Offset:
    """Offset paging for an ad-hoc SuiteQL query (subject to the 100,000-row cap)."""

    def __init__(self, q: str, params: Sequence[str], limit: int) -> None:
        self.q, self.params, self.limit = q, list(params), limit
        self.path = "suiteql"

    def start(self, cursor: Cursor | None, *, now: datetime) -> Cursor:
        return dict(cursor) if cursor else {"offset": 0}

    def request(self, cursor: Cursor | None) -> PageRequest:
        offset = int((cursor or {}).get("offset", 0))
        return PageRequest(
            url=QUERY_PATH,
            method="POST",
            params={"limit": self.limit, "offset": offset},
            json={"q": self.q, "params": self.params},
        )

    def step(self, cursor: Cursor, page: Any, *, page_url: str = "") -> Step:
        if not isinstance(page, Mapping) or not isinstance(page.get("items"), list):
            raise ResponseFormatError("SuiteQL page has no items list")
        if not all(isinstance(row, Mapping) for row in page["items"]):
            raise ResponseFormatError("SuiteQL page has an item that is not an object")
        items = [{k: v for k, v in row.items() if k != "links"} for row in page["items"]]
        more = page.get("hasMore") is True
        return Step(items, {"offset": int(cursor.get("offset", 0)) + self.limit}, more)


class _Core:
    """What both clients share: settings, mapping, strategies (no I/O)."""

    def __init__(
        self,
        account_id: str,
        *,
        mapping: TenantMapping | None,
        page_size: int,
        lag: timedelta,
        error_codes: ErrorCodes,
        origin: str | None,
    ) -> None:
        self.account_id = account_id
        self.tenant = realm(account_id)
        self.base_url = origin or base_url(account_id)
        self.mapping = mapping or TenantMapping(account_id=self.tenant)
        if self.mapping.account_id != self.tenant:
            self.mapping = replace(self.mapping, account_id=self.tenant)
        self.page_size = page_size
        self.lag = lag
        self.error_codes = error_codes
        self.lock = threading.Lock()

    #: ``() -> bool``: whether the governor is at its in-flight limit (set by the connector).
    saturated: Callable[[], bool] | None = None

    def parser(self, response: httpx2.Response) -> Any:
        error = parse_error(response, self.error_codes)
        if self.saturated is not None and response.status_code == 401:
            return invalid_login_as_throttle(error, response.request, saturated=self.saturated())
        return error

    def strategy(
        self, type_name: str, extra_where: str = "", extra_params: Sequence[str] = ()
    ) -> SuiteQLKeyset:
        spec = spec_for(type_name)
        tm = self.mapping
        return SuiteQLKeyset(
            table=spec.table,
            select=select_list(spec, tm, type_name),
            limit=self.page_size,
            timestamp_format=tm.timestamp_format,
            timezone=tm.timezone,
            lag=self.lag,
            extra_where=extra_where,
            extra_params=tuple(extra_params),
        )

    def start_cursor(self, since: datetime | Cursor | None) -> Cursor | None:
        if since is None or isinstance(since, dict):
            return since
        if not isinstance(since, datetime) or since.tzinfo is None:
            raise ConfigurationError("since= takes an aware datetime or a saved cursor")
        start = format_timestamp(
            since - timedelta(seconds=1), self.mapping.timestamp_format, self.mapping.tz
        )
        # Strictly after (since - 1 s, any id): every row modified at or after `since`.
        return {"after": [start, str(2**62)], "horizon": None}

    def single(self, type_name: str, record_id: str, found: Sequence[Any]) -> Any:
        # What a look-up by id read: nothing, or one canonical object (a Rejected is an error).
        if not found:
            return None
        item = found[0]
        if not isinstance(item, spec_for(type_name).model):
            raise ResponseFormatError(f"{type_name} {record_id} cannot be mapped: {item!r}")
        return item

    def no_horizon(self) -> str:
        # A keyset bound no row reaches: a look-up by id must not miss a row changed just now.
        return format_timestamp(_FAR_FUTURE, self.mapping.timestamp_format, self.mapping.tz)

    def item_type(self, type_name: str) -> Any:
        spec = spec_for(type_name)
        reshape = functools.partial(self._reshape, type_name)
        return Annotated[spec.model, BeforeValidator(reshape)]

    def _reshape(self, type_name: str, raw: Any) -> Any:
        if not isinstance(raw, Mapping):
            return raw
        try:
            return from_suiteql(type_name, raw, self.mapping)
        except TypeError as exc:
            # A value of the wrong JSON type: pydantic turns ValueError (not TypeError) into
            # a validation error, so the record comes out Rejected instead of ending the read.
            raise ValueError(str(exc)) from exc

    def source_ref(self, raw: Any) -> SourceRef | None:
        if isinstance(raw, Mapping) and raw.get("id"):
            return SourceRef(system="netsuite", tenant=self.tenant, id=str(raw["id"]))
        return None

    def set_currencies(self, rows: Sequence[Mapping[str, Any]]) -> None:
        table = {str(r["id"]): str(r["symbol"]) for r in rows if r.get("symbol")}
        with self.lock:
            self.mapping = replace(self.mapping, currencies=table)

    def needs_currencies(self, type_name: str) -> bool:
        return type_name in _NEEDS_CURRENCIES and not self.mapping.currencies


CURRENCY_QUERY = "SELECT id, symbol FROM currency ORDER BY id"


class Records(Generic[M]):
    """One canonical type of one account: ``list`` (keyset reads) and ``get``.

    Examples:
        >>> import httpx2
        >>> from erpsa_netsuite.simulator import NetSuiteSimulator
        >>> sim = NetSuiteSimulator(seed=1)
        >>> ns = NetSuite(sim.config.account_id, auth=bearer(sim.static_token),
        ...               transport=httpx2.MockTransport(sim))
        >>> [le.base_currency for le in ns.legal_entities.list()]
        ['USD', 'GBP', 'EUR']
    """

    def __init__(self, client: NetSuite, type_name: str) -> None:
        self._client = client
        self.type_name = type_name
        self.spec: RecordSpec = spec_for(type_name)

    def list(
        self,
        *,
        since: datetime | Cursor | None = None,
        where: str = "",
        params: Sequence[str] = (),
        max_pages: int = 100_000,
    ) -> Pager[M]:
        """Every record changed at or after ``since`` (a datetime, or a saved cursor), lazily.

        ``where`` adds a SuiteQL condition with ``?`` bound to ``params`` (values as text).
        """
        core = self._client.core
        if core.needs_currencies(self.type_name):
            self._client.load_currencies()
        strategy = core.strategy(self.type_name, where, params)
        pager: Pager[M] = Pager(
            self._client.api,
            strategy,
            model=core.item_type(self.type_name),
            cursor=core.start_cursor(since),
            max_pages=max_pages,
            source_ref=core.source_ref,
        )
        return pager

    def get(self, record_id: str) -> M | None:
        """The record with this internal id as a canonical object, or ``None``.

        Unlike a keyset walk, ``get`` has no horizon: a record changed a moment ago (within
        the walk's ``lag``) is found too.
        """
        core = self._client.core
        unbounded = {"after": None, "horizon": core.no_horizon()}
        found = list(self.list(since=unbounded, where="id = ?", params=[str(record_id)]))
        return cast("M | None", core.single(self.type_name, record_id, found))

    def __repr__(self) -> str:
        return f"<Records {self.type_name} ({self.spec.record}) of {self._client.core.tenant}>"


class NetSuite:
    """A synchronous SuiteTalk REST client for one NetSuite account.

    Parameters:
        account_id: the account id (``1234567``, sandbox ``1234567_SB1``).
        auth: an ``httpx2.Auth``: :func:`erpsa_sdk.auth.presets.netsuite_m2m` (recommended),
            :func:`~erpsa_sdk.auth.presets.netsuite_tba` (existing integrations), or
            :func:`~erpsa_sdk.auth.bearer`.
        mapping: the tenant's :class:`~erpsa_netsuite.mapping.TenantMapping`.
        governor: the limits governor holding this integration's share of the account's
            concurrency limit.
        page_size: SuiteQL rows per page (at most 1000).
        lag: how far behind "now" a keyset walk stops (covers clock skew).
        base_url: override the account origin (the simulator over loopback).
        error_codes: the vendor codes that mean "posted" or "closed period" here.
        transport: an ``httpx2`` transport (``MockTransport(simulator)`` in tests).
        clock: the clock for sleeps, horizons and tokens.
        retry: the :class:`erpsa_sdk.http.RetryPolicy`.

    Examples:
        >>> import httpx2
        >>> from erpsa_netsuite.simulator import NetSuiteSimulator
        >>> sim = NetSuiteSimulator(seed=1)
        >>> with NetSuite(sim.config.account_id, auth=bearer(sim.static_token),
        ...               transport=httpx2.MockTransport(sim)) as ns:
        ...     rows = list(ns.suiteql("SELECT id, name FROM subsidiary WHERE country = ?",
        ...                            ["GB"]))
        >>> rows
        [{'id': '2', 'name': 'Acme UK'}]
    """

    def __init__(
        self,
        account_id: str,
        *,
        auth: httpx2.Auth | None = None,
        mapping: TenantMapping | None = None,
        governor: GovernorHook | None = None,
        page_size: int = 1000,
        lag: timedelta = timedelta(seconds=5),
        error_codes: ErrorCodes | None = None,
        base_url: str | None = None,
        transport: httpx2.BaseTransport | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.core = _Core(
            account_id,
            mapping=mapping,
            page_size=page_size,
            lag=lag,
            error_codes=error_codes or ErrorCodes(),
            origin=base_url,
        )
        self.api = ApiClient(
            base_url=self.core.base_url,
            tenant=self.core.tenant,
            auth=auth,
            governor=governor,
            clock=clock,
            retry=retry,
            error_parser=self.core.parser,
            middleware=[_transient],
            transport=transport,
        )
        self.time_entries: Records[Any] = Records(self, "TimeEntry")
        self.customers: Records[Any] = Records(self, "Customer")
        self.legal_entities: Records[Any] = Records(self, "LegalEntity")
        self.resources: Records[Any] = Records(self, "Resource")
        self.projects: Records[Any] = Records(self, "Project")
        self.tasks: Records[Any] = Records(self, "ProjectTask")
        self.expenses: Records[Any] = Records(self, "Expense")
        self.invoices: Records[Any] = Records(self, "Invoice")

    @property
    def mapping(self) -> TenantMapping:
        """The tenant mapping in use (currencies filled once loaded)."""
        return self.core.mapping

    def records(self, type_name: str) -> Records[Any]:
        """The :class:`Records` of a canonical type name (``"TimeEntry"``)."""
        return Records(self, type_name)

    def load_currencies(self) -> None:
        """Read the account's currency list once (id -> ISO code) for money mappings."""
        self.core.set_currencies([r for r in self.suiteql(CURRENCY_QUERY) if isinstance(r, dict)])

    def suiteql(self, q: str, params: Sequence[str] = (), *, limit: int = 1000) -> Pager[Any]:
        """Run an ad-hoc SuiteQL query: rows as dicts of strings, paged by offset.

        Offset paging is capped at 100,000 rows by NetSuite; use ``Records.list`` for more.
        """
        return Pager(self.api, _Offset(q, [str(p) for p in params], limit))

    # --------------------------------------------------------------- record service

    def record_url(self, record: str, ident: str) -> str:
        """``/services/rest/record/v1/<record>/<id or eid:…>`` (the external id URL-quoted)."""
        return record_path(record, ident)

    def get_record(
        self, record: str, ident: str, *, fields: Sequence[str] | None = None
    ) -> dict[str, Any] | None:
        """The raw REST record (``None`` when it does not exist)."""
        from erpsa_sdk.errors import NotFoundError

        params = {"fields": ",".join(fields)} if fields else None
        try:
            body = self.api.request_json("GET", self.record_url(record, ident), params=params)
        except NotFoundError:
            return None
        return dict(body)

    def expand_records(self, record: str, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Full records for known ids (``?expandRecords=true&ids=…``)."""
        body = self.api.request_json(
            "GET",
            f"{RECORD_PATH}/{record}",
            params={"expandRecords": "true", "ids": ",".join(ids)},
        )
        return [dict(item) for item in body.get("items", [])]

    def put_by_external_id(self, record: str, external_id: str, body: Mapping[str, Any]) -> str:
        """Upsert by external id (``NATURAL_UPSERT``); returns the internal id."""
        response = self.api.request(
            "PUT",
            self.record_url(record, f"eid:{external_id}"),
            json=dict(body),
            safety=WriteSafety.NATURAL_UPSERT,
        )
        return _id_from_location(response)

    def patch_record(self, record: str, ident: str, body: Mapping[str, Any]) -> None:
        """Update fields of an existing record (a PATCH is repeatable: ``NATURAL_UPSERT``)."""
        self.api.request(
            "PATCH",
            self.record_url(record, ident),
            json=dict(body),
            safety=WriteSafety.NATURAL_UPSERT,
        )

    def delete_record(self, record: str, ident: str) -> bool:
        """Delete a record; ``False`` when it did not exist (a repeated delete is harmless)."""
        from erpsa_sdk.errors import NotFoundError

        try:
            self.api.request(
                "DELETE", self.record_url(record, ident), safety=WriteSafety.NATURAL_UPSERT
            )
        except NotFoundError:
            return False
        return True

    def close(self) -> None:
        """Close the connection pool."""
        self.api.close()

    def __enter__(self) -> NetSuite:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"NetSuite(account_id={self.core.tenant!r})"


def record_path(record: str, ident: str) -> str:
    """``/services/rest/record/v1/<record>/<id or eid:…>`` with the external id URL-quoted.

    Examples:
        >>> record_path("timebill", "eid:acme_x1")
        '/services/rest/record/v1/timebill/eid:acme_x1'
    """
    if ident.startswith("eid:"):
        ident = "eid:" + quote(ident[4:], safe="")
    return f"{RECORD_PATH}/{record}/{ident}"


def _id_from_location(response: httpx2.Response) -> str:
    location = response.headers.get("Location", "")
    rid = location.rstrip("/").rsplit("/", 1)[-1]
    if not rid.isdigit():
        raise ResponseFormatError(
            f"write answered {response.status_code} without a record Location"
        )
    return rid


class AsyncRecords(Generic[M]):
    """Async twin of :class:`Records`: ``pager = await records.list()``, then ``async for``.

    Examples:
        >>> import asyncio, httpx2
        >>> from erpsa_netsuite.simulator import NetSuiteSimulator
        >>> sim = NetSuiteSimulator(seed=1)
        >>> async def main():
        ...     async with AsyncNetSuite(sim.config.account_id, auth=bearer(sim.static_token),
        ...                              transport=httpx2.MockTransport(sim)) as ns:
        ...         return [p.name async for p in await ns.projects.list()][:2]
        >>> asyncio.run(main())
        ['Implementation 1', 'Implementation 2']
    """

    def __init__(self, client: AsyncNetSuite, type_name: str) -> None:
        self._client = client
        self.type_name = type_name
        self.spec: RecordSpec = spec_for(type_name)

    async def list(
        self,
        *,
        since: datetime | Cursor | None = None,
        where: str = "",
        params: Sequence[str] = (),
        max_pages: int = 100_000,
    ) -> AsyncPager[M]:
        """Like :meth:`Records.list` (awaited once to load what the mapping needs)."""
        core = self._client.core
        if core.needs_currencies(self.type_name):
            await self._client.load_currencies()
        pager: AsyncPager[M] = AsyncPager(
            self._client.api,
            core.strategy(self.type_name, where, params),
            model=core.item_type(self.type_name),
            cursor=core.start_cursor(since),
            max_pages=max_pages,
            source_ref=core.source_ref,
        )
        return pager

    async def get(self, record_id: str) -> M | None:
        """Like :meth:`Records.get`: the record with this internal id, or ``None``.

        Examples:
            >>> import asyncio, httpx2
            >>> from erpsa_netsuite.simulator import NetSuiteSimulator
            >>> sim = NetSuiteSimulator(seed=1)
            >>> async def main():
            ...     async with AsyncNetSuite(sim.config.account_id, auth=bearer(sim.static_token),
            ...                              transport=httpx2.MockTransport(sim)) as ns:
            ...         return await ns.legal_entities.get("2")
            >>> asyncio.run(main()).name
            'Acme UK'
        """
        core = self._client.core
        unbounded = {"after": None, "horizon": core.no_horizon()}
        pager = await self.list(since=unbounded, where="id = ?", params=[str(record_id)])
        found = [item async for item in pager]
        return cast("M | None", core.single(self.type_name, record_id, found))


class AsyncNetSuite:
    """Asynchronous twin of :class:`NetSuite` (same arguments; ``await`` the calls).

    Examples:
        >>> import asyncio, httpx2
        >>> from erpsa_netsuite.simulator import NetSuiteSimulator
        >>> sim = NetSuiteSimulator(seed=1)
        >>> async def main():
        ...     async with AsyncNetSuite(sim.config.account_id, auth=bearer(sim.static_token),
        ...                              transport=httpx2.MockTransport(sim)) as ns:
        ...         return await ns.get_record("subsidiary", "2", fields=["name"])
        >>> asyncio.run(main())["name"]
        'Acme UK'
    """

    def __init__(
        self,
        account_id: str,
        *,
        auth: httpx2.Auth | None = None,
        mapping: TenantMapping | None = None,
        governor: GovernorHook | None = None,
        page_size: int = 1000,
        lag: timedelta = timedelta(seconds=5),
        error_codes: ErrorCodes | None = None,
        base_url: str | None = None,
        transport: httpx2.AsyncBaseTransport | httpx2.BaseTransport | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.core = _Core(
            account_id,
            mapping=mapping,
            page_size=page_size,
            lag=lag,
            error_codes=error_codes or ErrorCodes(),
            origin=base_url,
        )
        self.api = AsyncApiClient(
            base_url=self.core.base_url,
            tenant=self.core.tenant,
            auth=auth,
            governor=governor,
            clock=clock,
            retry=retry,
            error_parser=self.core.parser,
            middleware=[_atransient],
            transport=transport,  # type: ignore[arg-type]
        )
        self.time_entries: AsyncRecords[Any] = AsyncRecords(self, "TimeEntry")
        self.customers: AsyncRecords[Any] = AsyncRecords(self, "Customer")
        self.legal_entities: AsyncRecords[Any] = AsyncRecords(self, "LegalEntity")
        self.resources: AsyncRecords[Any] = AsyncRecords(self, "Resource")
        self.projects: AsyncRecords[Any] = AsyncRecords(self, "Project")
        self.tasks: AsyncRecords[Any] = AsyncRecords(self, "ProjectTask")
        self.expenses: AsyncRecords[Any] = AsyncRecords(self, "Expense")
        self.invoices: AsyncRecords[Any] = AsyncRecords(self, "Invoice")

    async def load_currencies(self) -> None:
        """Read the account's currency list once (id -> ISO code)."""
        rows = [row async for row in self.suiteql(CURRENCY_QUERY) if isinstance(row, dict)]
        self.core.set_currencies(rows)

    def suiteql(self, q: str, params: Sequence[str] = (), *, limit: int = 1000) -> AsyncPager[Any]:
        """Run an ad-hoc SuiteQL query (rows as dicts of strings, offset paging)."""
        return AsyncPager(self.api, _Offset(q, [str(p) for p in params], limit))

    async def get_record(
        self, record: str, ident: str, *, fields: Sequence[str] | None = None
    ) -> dict[str, Any] | None:
        """The raw REST record (``None`` when it does not exist)."""
        from erpsa_sdk.errors import NotFoundError

        params = {"fields": ",".join(fields)} if fields else None
        url = record_path(record, ident)
        try:
            body = await self.api.request_json("GET", url, params=params)
        except NotFoundError:
            return None
        return dict(body)

    async def put_by_external_id(
        self, record: str, external_id: str, body: Mapping[str, Any]
    ) -> str:
        """Upsert by external id (``NATURAL_UPSERT``); returns the internal id."""
        url = record_path(record, f"eid:{external_id}")
        response = await self.api.request(
            "PUT", url, json=dict(body), safety=WriteSafety.NATURAL_UPSERT
        )
        return _id_from_location(response)

    async def patch_record(self, record: str, ident: str, body: Mapping[str, Any]) -> None:
        """Update fields of an existing record (``NATURAL_UPSERT``)."""
        await self.api.request(
            "PATCH", record_path(record, ident), json=dict(body), safety=WriteSafety.NATURAL_UPSERT
        )

    async def delete_record(self, record: str, ident: str) -> bool:
        """Delete a record; ``False`` when it did not exist."""
        from erpsa_sdk.errors import NotFoundError

        try:
            await self.api.request(
                "DELETE", record_path(record, ident), safety=WriteSafety.NATURAL_UPSERT
            )
        except NotFoundError:
            return False
        return True

    async def expand_records(self, record: str, ids: Sequence[str]) -> list[dict[str, Any]]:
        """Full records for known ids (``?expandRecords=true&ids=…``)."""
        body = await self.api.request_json(
            "GET",
            f"{RECORD_PATH}/{record}",
            params={"expandRecords": "true", "ids": ",".join(ids)},
        )
        return [dict(item) for item in body.get("items", [])]

    def records(self, type_name: str) -> AsyncRecords[Any]:
        """The :class:`AsyncRecords` of a canonical type name (``"TimeEntry"``)."""
        return AsyncRecords(self, type_name)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.api.aclose()

    async def __aenter__(self) -> AsyncNetSuite:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncNetSuite(account_id={self.core.tenant!r})"
