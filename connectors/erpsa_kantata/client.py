"""Kantata OX API v1 clients: :class:`Kantata` (sync) and :class:`AsyncKantata` (async).

Both are thin shells over :mod:`erpsa_kantata._core` and :mod:`erpsa_kantata._seek`: they send,
await and nothing else. Reads are incremental SEEK walks with a resumable cursor; creates carry
their external reference inline and are retried only after a look-up by EntityKey
(``LOOKUP_THEN_CREATE``); a 401 raises ``AuthError`` at once (tokens cannot be refreshed).

Examples:
    >>> import httpx2
    >>> from erpsa_kantata.simulator import KantataSimulator
    >>> from erpsa_sdk.models import TimeEntry
    >>> sim = KantataSimulator(seed=1)
    >>> with Kantata(token=sim.token, transport=httpx2.MockTransport(sim)) as kantata:
    ...     pager = kantata.read(TimeEntry)
    ...     entries = list(pager)
    >>> len(entries), sorted({e.bill_rate.currency for e in entries})
    (12, ['EUR', 'JPY', 'USD'])
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import httpx2
from pydantic import SecretStr

from erpsa_kantata import _core
from erpsa_kantata._seek import SeekPlan, parse_timestamp
from erpsa_kantata.resources import (
    Envelope,
    ResourceSpec,
    decoded_json,
    parse_envelope,
    parse_error,
    spec_for,
)
from erpsa_sdk.auth import bearer
from erpsa_sdk.clock import Clock
from erpsa_sdk.connector import Deletion
from erpsa_sdk.errors import NotFoundError, ResponseFormatError, ServerError, Timeout
from erpsa_sdk.http import (
    ApiClient,
    AsyncApiClient,
    GovernorHook,
    Page,
    RetryPolicy,
    WriteSafety,
)
from erpsa_sdk.models import CanonicalModel, EntityKey, Rejected

__all__ = ["BASE_URL", "AsyncKantata", "AsyncKantataPager", "Kantata", "KantataPager"]

BASE_URL = "https://api.mavenlink.com/api/v1/"
MAX_PER_PAGE = 200

T = TypeVar("T")
Record = dict[str, Any]
_Step = Callable[[SeekPlan, Any], list[Any]]


def _path(collection: str, record_id: str | None = None) -> str:
    return collection if record_id is None else f"{collection}/{record_id}"


class _PagerBase(Generic[T]):
    def __init__(self, what: str, plan: SeekPlan) -> None:
        self._what = what
        self._plan = plan
        self._cursor: dict[str, Any] | None = plan.cursor if plan.ts else None
        self.pages_read = 0

    @property
    def cursor(self) -> dict[str, Any] | None:
        """The JSON-able resume position after the last page handed over (``since=``)."""
        return self._cursor

    @property
    def requests(self) -> int:
        """HTTP requests this pager has sent."""
        return self._plan.requests

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self._what}, pages_read={self.pages_read}, "
            f"requests={self.requests}, cursor={self._cursor!r})"
        )


class KantataPager(_PagerBase[T]):
    """A lazy incremental read: items, pages, and a cursor to resume from.

    ``iter_pages()`` yields one :class:`~erpsa_sdk.http.Page` per request that produced items;
    :attr:`cursor` moves past a page once it is handed over, that is when the caller asks for
    the next one (each page also carries the cursor after it in ``page.cursor``).

    Examples:
        >>> import httpx2
        >>> from erpsa_kantata.simulator import KantataSimulator
        >>> from erpsa_sdk.models import Customer
        >>> sim = KantataSimulator(seed=1)
        >>> k = Kantata(token=sim.token, transport=httpx2.MockTransport(sim))
        >>> pager = k.read(Customer)
        >>> [c.name for c in pager], pager.cursor["ts"] is not None
        (['Northwind Traders', 'Contoso Japan KK'], True)
    """

    def __init__(
        self,
        what: str,
        plan: SeekPlan,
        fetch: Callable[[dict[str, str]], Any],
        step: Callable[[SeekPlan, Any], list[T]],
    ) -> None:
        super().__init__(what, plan)
        self._fetch = fetch
        self._step = step

    def iter_pages(self) -> Iterator[Page[T]]:
        """One page of items per request (pages whose rows were all seen before are skipped)."""
        plan = self._plan
        while (params := plan.next_params()) is not None:
            try:
                body = self._fetch(params)
            except (ServerError, Timeout) as exc:
                # The 3-minute server timeout: ask for a narrower updated_at range.
                if not (_timed_out(exc) and plan.shrink()):
                    raise
                continue
            items = self._step(plan, body)
            self.pages_read += 1
            after = plan.cursor
            if items:
                yield _page(self.pages_read, items, after)
            # Handed over once the caller asks for more: only then does the cursor move.
            self._cursor = after

    def __iter__(self) -> Iterator[T]:
        plan = self._plan
        while (params := plan.next_params()) is not None:
            try:
                body = self._fetch(params)
            except (ServerError, Timeout) as exc:
                # The 3-minute server timeout: ask for a narrower updated_at range.
                if not (_timed_out(exc) and plan.shrink()):
                    raise
                continue
            items = self._step(plan, body)
            self.pages_read += 1
            yield from items
            # Not held across the next request: a page's items alive while the next page is
            # decoded get promoted to older GC generations, and full collections come sooner.
            del items
            self._cursor = plan.cursor

    def to_pandas(self) -> Any:
        """All remaining canonical items as a pandas DataFrame (needs the ``pandas`` extra).

        Examples:
            >>> import httpx2
            >>> from erpsa_kantata.simulator import KantataSimulator
            >>> from erpsa_sdk.models import Expense
            >>> sim = KantataSimulator(seed=1)
            >>> k = Kantata(token=sim.token, transport=httpx2.MockTransport(sim))
            >>> df = k.read(Expense).to_pandas()
            >>> sorted(df["amount_currency"])
            ['EUR', 'JPY', 'USD']
        """
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - the extra is installed in dev
            raise ImportError(
                "to_pandas() needs the 'pandas' extra: pip install erpsa-sdk[pandas]"
            ) from exc
        return pd.DataFrame([_flat(item) for item in self])


def _timed_out(exc: Exception) -> bool:
    # A gateway timeout or no answer in time: the query was too heavy (Kantata stops at 3 min).
    return isinstance(exc, Timeout) or getattr(exc, "status", None) == 504


def _page(number: int, items: list[Any], cursor: dict[str, Any] | None) -> Page[Any]:
    rejected = sum(isinstance(i, Rejected) for i in items)
    return Page(
        number=number, items=items, raw_count=len(items), rejected=rejected, cursor=cursor or {}
    )


def _only(env: Envelope) -> Record:
    """The one record an answer about a single record holds."""
    records = env.records()
    if not records or not isinstance(records[0], Mapping):
        raise ResponseFormatError("the answer holds no record")
    return dict(records[0])


def _first_match(
    records: Sequence[Mapping[str, Any]], *, subject: bool
) -> tuple[Mapping[str, Any], str | None]:
    """The lowest-id record of a look-up answer and, for references, its subject id."""
    try:
        first = min(records, key=lambda r: int(r["id"]))
        return first, (str(first["subject_id"]) if subject else None)
    except (KeyError, TypeError, ValueError) as exc:
        raise ResponseFormatError(f"a look-up answer without a usable id: {exc!r}") from exc


def _flat(item: Any) -> dict[str, Any]:
    if not isinstance(item, CanonicalModel):
        return {"rejected": True, "raw": getattr(item, "raw", item)}
    row: dict[str, Any] = {}
    for name in type(item).model_fields:
        value = getattr(item, name)
        if hasattr(value, "amount") and hasattr(value, "currency"):
            row[f"{name}_amount"] = value.amount
            row[f"{name}_currency"] = value.currency
        elif name not in {"source_refs", "warnings"}:
            row[name] = value
    return row


class AsyncKantataPager(_PagerBase[T]):
    """Async twin of :class:`KantataPager` (``async for``, ``aiter_pages()``).

    Examples:
        >>> import asyncio, httpx2
        >>> from erpsa_kantata.simulator import KantataSimulator
        >>> from erpsa_sdk.models import Customer
        >>> sim = KantataSimulator(seed=1)
        >>> async def main():
        ...     async with AsyncKantata(token=sim.token, transport=httpx2.MockTransport(sim)) as k:
        ...         return [c.name async for c in k.read(Customer)]
        >>> asyncio.run(main())
        ['Northwind Traders', 'Contoso Japan KK']
    """

    def __init__(
        self,
        what: str,
        plan: SeekPlan,
        fetch: Callable[[dict[str, str]], Awaitable[Any]],
        step: Callable[[SeekPlan, Any], list[T]],
    ) -> None:
        super().__init__(what, plan)
        self._fetch = fetch
        self._step = step

    async def aiter_pages(self) -> AsyncIterator[Page[T]]:
        """One page of items per request."""
        plan = self._plan
        while (params := plan.next_params()) is not None:
            try:
                body = await self._fetch(params)
            except (ServerError, Timeout) as exc:
                # The 3-minute server timeout: ask for a narrower updated_at range.
                if not (_timed_out(exc) and plan.shrink()):
                    raise
                continue
            items = self._step(plan, body)
            self.pages_read += 1
            after = plan.cursor
            if items:
                yield _page(self.pages_read, items, after)
            # Handed over once the caller asks for more: only then does the cursor move.
            self._cursor = after

    async def __aiter__(self) -> AsyncIterator[T]:
        plan = self._plan
        while (params := plan.next_params()) is not None:
            try:
                body = await self._fetch(params)
            except (ServerError, Timeout) as exc:
                # The 3-minute server timeout: ask for a narrower updated_at range.
                if not (_timed_out(exc) and plan.shrink()):
                    raise
                continue
            items = self._step(plan, body)
            self.pages_read += 1
            for item in items:
                yield item
            del items  # not held across the next request (see KantataPager.__iter__)
            self._cursor = plan.cursor


class _Shared:
    """Settings and pure request planning shared by both clients."""

    def __init__(self, tenant: str, per_page: int, inclusive: bool | None, context: Any) -> None:
        if not 1 <= per_page <= MAX_PER_PAGE:
            raise ValueError(f"per_page must be 1..{MAX_PER_PAGE}")
        self.tenant = tenant
        self.per_page = per_page
        self.inclusive = inclusive
        self.context = context

    def plan(self, since: Mapping[str, Any] | None, now: datetime) -> SeekPlan:
        plan = SeekPlan(since, per_page=self.per_page, inclusive=self.inclusive)
        plan.horizon = now
        return plan

    def model_step(
        self, spec: ResourceSpec, include: Sequence[str], filters: Mapping[str, Any], related: bool
    ) -> tuple[Callable[[dict[str, str]], dict[str, str]], Callable[[SeekPlan, Any], list[Any]]]:
        def params(base: dict[str, str]) -> dict[str, str]:
            return _core.read_params(spec, base, include=include, filters=filters)

        held = _core.Held(spec.collection)

        def step(plan: SeekPlan, body: Any) -> list[Any]:
            env = held.envelope(plan, parse_envelope(body))
            ids = plan.feed(_core.seek_rows(env), env.meta)
            env = held.release(plan, env, ids)
            items = _core.page_items(spec, env, ids, self.tenant, context=self.context)
            if related:
                return _core.related_items(spec, env, items, include, self.tenant)
            return items

        return params, step

    def deletion_step(
        self, spec: ResourceSpec, since: Mapping[str, Any] | None, now: datetime
    ) -> tuple[Callable[[dict[str, str]], dict[str, str]], Callable[[SeekPlan, Any], list[Any]]]:
        if since and since.get("ts") and now - parse_timestamp(since["ts"]) > _core.EVENT_RETENTION:
            raise _core.DeletionFeedExpired(
                f"the deletion cursor ({since['ts']}) is older than Kantata's "
                f"{_core.EVENT_RETENTION.days}-day event retention; run a full enumeration"
            )
        event = f"{spec.singular}:deleted"

        def params(base: dict[str, str]) -> dict[str, str]:
            return {**base, "event_type": event}

        held = _core.Held("subscribed_events")

        def step(plan: SeekPlan, body: Any) -> list[Any]:
            env = held.envelope(plan, parse_envelope(body))
            ids = plan.feed(_core.seek_rows(env), env.meta)
            env = held.release(plan, env, ids)
            return _core.deletion_items(env, ids, self.tenant)

        return params, step


class Kantata:
    """Synchronous Kantata OX client for one account (one OAuth token).

    Parameters:
        token: the OAuth 2.0 access token (never expires; kept as a ``SecretStr``).
        tenant: the account name put on every ``SourceRef`` and error.
        base_url: the API root (``https://api.mavenlink.com/api/v1/``).
        transport: an ``httpx2`` transport (``MockTransport(KantataSimulator())`` in tests).
        clock: the clock for backoff sleeps and the 9-day event retention check.
        governor: the limits governor hook (scope: token and endpoint class).
        retry: the retry policy (Kantata sends no ``Retry-After``: backoff decides).
        per_page: page size of reads (max 200).
        updated_after_inclusive: whether ``updated_after`` includes its bound (``None``:
            detected).
        context: a pydantic validation context (for example a tenant extension schema).

    Examples:
        >>> import httpx2
        >>> from erpsa_kantata.simulator import KantataSimulator
        >>> sim = KantataSimulator(seed=1)
        >>> k = Kantata(token=sim.token, tenant="acme", transport=httpx2.MockTransport(sim))
        >>> k
        Kantata(base_url='https://api.mavenlink.com/api/v1/', tenant='acme')
        >>> k.get("workspaces", next(iter(sim.records("workspaces"))))["currency"]
        'USD'
    """

    def __init__(
        self,
        *,
        token: str | SecretStr,
        tenant: str = "default",
        base_url: str = BASE_URL,
        transport: httpx2.BaseTransport | None = None,
        clock: Clock | None = None,
        governor: GovernorHook | None = None,
        retry: RetryPolicy | None = None,
        per_page: int = MAX_PER_PAGE,
        updated_after_inclusive: bool | None = None,
        context: Any = None,
    ) -> None:
        self._shared = _Shared(tenant, per_page, updated_after_inclusive, context)
        self.http = ApiClient(
            base_url=base_url,
            tenant=tenant,
            auth=bearer(token, tenant=tenant),
            governor=governor,
            clock=clock,
            retry=retry,
            error_parser=parse_error,
            request_id_headers=("X-Request-Id",),
            transport=transport,
        )

    @property
    def tenant(self) -> str:
        """The account name on refs and errors."""
        return self._shared.tenant

    # ------------------------------------------------------------------ reads

    def _json(self, path: str, params: Mapping[str, str]) -> Any:
        return decoded_json(self.http.request("GET", path, params=params))

    def get(self, collection: str, record_id: str, *, include: Sequence[str] = ()) -> Record:
        """One record by id (404 raises ``NotFoundError``).

        Examples:
            >>> import httpx2
            >>> from erpsa_kantata.simulator import KantataSimulator
            >>> sim = KantataSimulator(seed=1)
            >>> k = Kantata(token=sim.token, transport=httpx2.MockTransport(sim))
            >>> k.get("users", next(iter(sim.records("users"))))["full_name"]
            'Ada Lovelace'
        """
        params = {"include": ",".join(include)} if include else {}
        env = parse_envelope(self._json(_path(collection, record_id), params))
        return _only(env)

    def list(self, collection: str, **filters: Any) -> Iterator[Record]:
        """Every record of a plain listing, walking ``page`` / ``per_page`` to the last page.

        For small, stable lists (look-ups); incremental reads use :meth:`read`.

        Examples:
            >>> import httpx2
            >>> from erpsa_kantata.simulator import KantataSimulator
            >>> sim = KantataSimulator(seed=1)
            >>> k = Kantata(token=sim.token, transport=httpx2.MockTransport(sim))
            >>> len(list(k.list("users")))
            5
        """
        page = 1
        params = {k: str(v) for k, v in filters.items()}
        params.setdefault("per_page", str(MAX_PER_PAGE))
        while True:
            env = parse_envelope(self._json(collection, {**params, "page": str(page)}))
            yield from (dict(r) for r in env.records())
            if env.last_page or not env.results:
                return
            page += 1

    def read(
        self,
        model: type[Any],
        *,
        since: Mapping[str, Any] | None = None,
        include: Sequence[str] = (),
        **filters: Any,
    ) -> KantataPager[Any]:
        """Incremental SEEK read of a canonical type from ``since`` (everything when ``None``).

        Archived workspaces and their entries are included. Filters are Kantata's
        (``workspace_id=``, ``approved=``, ``date_performed_between=``...).

        Examples:
            >>> import httpx2
            >>> from erpsa_kantata.simulator import KantataSimulator
            >>> from erpsa_sdk.models import Project
            >>> sim = KantataSimulator(seed=1)
            >>> k = Kantata(token=sim.token, transport=httpx2.MockTransport(sim))
            >>> sorted(p.currency for p in k.read(Project))
            ['EUR', 'JPY', 'USD']
        """
        return self.read_spec(spec_for(model), since=since, include=include, **filters)

    def read_spec(
        self,
        spec: ResourceSpec,
        *,
        since: Mapping[str, Any] | None = None,
        include: Sequence[str] = (),
        **filters: Any,
    ) -> KantataPager[Any]:
        """:meth:`read` for an explicit :class:`~erpsa_kantata.resources.ResourceSpec`.

        Examples:
            >>> import httpx2
            >>> from erpsa_kantata.resources import RESOURCES
            >>> from erpsa_kantata.simulator import KantataSimulator
            >>> sim = KantataSimulator(seed=1)
            >>> k = Kantata(token=sim.token, transport=httpx2.MockTransport(sim))
            >>> len(list(k.read_spec(RESOURCES["Milestone"])))
            3
        """
        params, step = self._shared.model_step(spec, include, filters, related=False)
        return KantataPager(
            f"{spec.collection}",
            self._shared.plan(since, self.http.clock.now()),
            lambda base: self._json(spec.collection, params(base)),
            step,
        )

    def read_related(
        self,
        model: type[Any],
        *,
        include: Sequence[str],
        since: Mapping[str, Any] | None = None,
        **filters: Any,
    ) -> KantataPager[_core.Related]:
        """Like :meth:`read`, each item with its side-loaded records as canonical objects.

        One request per page: ``include=user,workspace`` side-loads users and workspaces.

        Examples:
            >>> import httpx2
            >>> from erpsa_kantata.simulator import KantataSimulator
            >>> from erpsa_sdk.models import TimeEntry
            >>> sim = KantataSimulator(seed=1)
            >>> k = Kantata(token=sim.token, transport=httpx2.MockTransport(sim))
            >>> first = next(iter(k.read_related(TimeEntry, include=("user", "workspace"))))
            >>> type(first.one("user")).__name__, type(first.one("workspace")).__name__
            ('Resource', 'Project')
        """
        spec = spec_for(model)
        params, step = self._shared.model_step(spec, include, filters, related=True)
        return KantataPager(
            f"{spec.collection} include={','.join(include)}",
            self._shared.plan(since, self.http.clock.now()),
            lambda base: self._json(spec.collection, params(base)),
            step,
        )

    def read_deletions(
        self, model: type[Any], *, since: Mapping[str, Any] | None = None
    ) -> KantataPager[Deletion | Rejected]:
        """Deletions from the subscribed events feed (``<type>:deleted``, kept 9 days).

        Raises :class:`~erpsa_kantata._core.DeletionFeedExpired` when ``since`` is older than
        the retention: events may be gone, so a full enumeration must decide.

        Examples:
            >>> import httpx2
            >>> from erpsa_kantata.simulator import KantataSimulator
            >>> from erpsa_sdk.models import TimeEntry
            >>> sim = KantataSimulator(seed=1)
            >>> sim.delete("time_entries", next(iter(sim.records("time_entries"))))
            >>> k = Kantata(token=sim.token, transport=httpx2.MockTransport(sim))
            >>> len(list(k.read_deletions(TimeEntry)))
            1
        """
        spec = spec_for(model)
        params, step = self._shared.deletion_step(spec, since, self.http.clock.now())
        return KantataPager(
            "subscribed_events",
            self._shared.plan(since, self.http.clock.now()),
            lambda base: self._json("subscribed_events", params(base)),
            step,
        )

    def find(self, model: type[Any], entity_key: EntityKey) -> Record | None:
        """The record carrying ``entity_key`` as its ``erpsa`` external reference, or ``None``.

        Examples:
            >>> import httpx2
            >>> from erpsa_kantata.simulator import KantataSimulator
            >>> from erpsa_sdk.models import Customer, EntityKey
            >>> sim = KantataSimulator(seed=1)
            >>> k = Kantata(token=sim.token, transport=httpx2.MockTransport(sim))
            >>> ek = EntityKey(namespace="demo", system="crm", tenant="t", source_id="1",
            ...                object_type="customer")
            >>> k.find(Customer, ek) is None
            True
        """
        spec = spec_for(model)
        path, params = _core.lookup_params(spec, entity_key)
        env = parse_envelope(self._json(path, params))
        records = env.records()
        if not records:
            return None
        first, subject = _first_match(records, subject=path != spec.collection)
        if subject is None:
            return dict(first)
        try:
            # With the read's side-loads, so list foreign keys (workspace_group_ids) compare.
            return self.get(spec.collection, subject, include=spec.includes)
        except NotFoundError:
            return None

    # ----------------------------------------------------------------- writes

    def create(
        self, model: type[Any], attrs: Mapping[str, Any], *, entity_key: EntityKey
    ) -> Record:
        """Create a record with its external reference inline (``LOOKUP_THEN_CREATE``).

        A lost response is never answered by a blind re-POST: the retry first looks the record
        up by ``entity_key`` and returns it when the lost create had committed.

        Examples:
            >>> import httpx2
            >>> from erpsa_kantata.simulator import KantataSimulator
            >>> from erpsa_sdk.models import Customer, EntityKey
            >>> sim = KantataSimulator(seed=1)
            >>> k = Kantata(token=sim.token, transport=httpx2.MockTransport(sim))
            >>> ek = EntityKey(namespace="demo", system="crm", tenant="t", source_id="1",
            ...                object_type="customer")
            >>> k.create(Customer, {"name": "Initech"}, entity_key=ek)["name"]
            'Initech'
            >>> k.find(Customer, ek)["name"]
            'Initech'
        """
        spec = spec_for(model)

        def lookup() -> httpx2.Response | None:
            found = self.find(model, entity_key)
            if found is None:
                return None
            body = {
                "count": 1,
                "results": [{"key": spec.collection, "id": found["id"]}],
                spec.collection: {found["id"]: found},
            }
            where = httpx2.Request("GET", f"{self.http.base_url}{spec.collection}/{found['id']}")
            return httpx2.Response(200, json=body, request=where)

        response = self.http.request(
            "POST",
            spec.collection,
            json=_core.create_body(spec, attrs, entity_key),
            safety=WriteSafety.LOOKUP_THEN_CREATE,
            lookup=lookup,
        )
        return _only(parse_envelope(decoded_json(response)))

    def update(
        self, collection: str, record_id: str, attrs: Mapping[str, Any], *, singular: str
    ) -> Record:
        """Update a record by id (``PUT``: repeating it is harmless, so it is retried).

        Examples:
            >>> import httpx2
            >>> from erpsa_kantata.simulator import KantataSimulator
            >>> sim = KantataSimulator(seed=1)
            >>> k = Kantata(token=sim.token, transport=httpx2.MockTransport(sim))
            >>> gid = next(iter(sim.records("workspace_groups")))
            >>> k.update("workspace_groups", gid, {"name": "Northwind Ltd"},
            ...          singular="workspace_group")["name"]
            'Northwind Ltd'
        """
        response = self.http.request(
            "PUT",
            _path(collection, record_id),
            json={singular: dict(attrs)},
            safety=WriteSafety.NATURAL_UPSERT,
        )
        return _only(parse_envelope(decoded_json(response)))

    def delete(self, collection: str, record_id: str) -> bool:
        """Delete a record by id; ``False`` when it was already gone (404).

        Examples:
            >>> import httpx2
            >>> from erpsa_kantata.simulator import KantataSimulator
            >>> sim = KantataSimulator(seed=1)
            >>> k = Kantata(token=sim.token, transport=httpx2.MockTransport(sim))
            >>> te = next(iter(sim.records("time_entries")))
            >>> k.delete("time_entries", te), k.delete("time_entries", te)
            (True, False)
        """
        try:
            self.http.request(
                "DELETE", _path(collection, record_id), safety=WriteSafety.NATURAL_UPSERT
            )
        except NotFoundError:
            return False
        return True

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()

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
        return f"Kantata(base_url={self.http.base_url!r}, tenant={self.tenant!r})"


class AsyncKantata:
    """Async twin of :class:`Kantata` (same parameters, awaitable methods).

    Examples:
        >>> import asyncio, httpx2
        >>> from erpsa_kantata.simulator import KantataSimulator
        >>> sim = KantataSimulator(seed=1)
        >>> async def main():
        ...     async with AsyncKantata(token=sim.token, transport=httpx2.MockTransport(sim)) as k:
        ...         return await k.get("users", next(iter(sim.records("users"))))
        >>> asyncio.run(main())["full_name"]
        'Ada Lovelace'
    """

    def __init__(
        self,
        *,
        token: str | SecretStr,
        tenant: str = "default",
        base_url: str = BASE_URL,
        transport: httpx2.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        governor: GovernorHook | None = None,
        retry: RetryPolicy | None = None,
        per_page: int = MAX_PER_PAGE,
        updated_after_inclusive: bool | None = None,
        context: Any = None,
    ) -> None:
        self._shared = _Shared(tenant, per_page, updated_after_inclusive, context)
        self.http = AsyncApiClient(
            base_url=base_url,
            tenant=tenant,
            auth=bearer(token, tenant=tenant),
            governor=governor,
            clock=clock,
            retry=retry,
            error_parser=parse_error,
            request_id_headers=("X-Request-Id",),
            transport=transport,
        )

    @property
    def tenant(self) -> str:
        """The account name on refs and errors."""
        return self._shared.tenant

    async def _json(self, path: str, params: Mapping[str, str]) -> Any:
        return decoded_json(await self.http.request("GET", path, params=params))

    async def get(self, collection: str, record_id: str, *, include: Sequence[str] = ()) -> Record:
        """One record by id (404 raises ``NotFoundError``)."""
        params = {"include": ",".join(include)} if include else {}
        env = parse_envelope(await self._json(_path(collection, record_id), params))
        return _only(env)

    def read(
        self,
        model: type[Any],
        *,
        since: Mapping[str, Any] | None = None,
        include: Sequence[str] = (),
        **filters: Any,
    ) -> AsyncKantataPager[Any]:
        """Incremental SEEK read (see :meth:`Kantata.read`)."""
        spec = spec_for(model)
        params, step = self._shared.model_step(spec, include, filters, related=False)
        return AsyncKantataPager(
            spec.collection,
            self._shared.plan(since, self.http.clock.now()),
            lambda base: self._json(spec.collection, params(base)),
            step,
        )

    def read_related(
        self,
        model: type[Any],
        *,
        include: Sequence[str],
        since: Mapping[str, Any] | None = None,
        **filters: Any,
    ) -> AsyncKantataPager[_core.Related]:
        """Like :meth:`read`, with side-loaded records typed (see :meth:`Kantata.read_related`)."""
        spec = spec_for(model)
        params, step = self._shared.model_step(spec, include, filters, related=True)
        return AsyncKantataPager(
            f"{spec.collection} include={','.join(include)}",
            self._shared.plan(since, self.http.clock.now()),
            lambda base: self._json(spec.collection, params(base)),
            step,
        )

    def read_deletions(
        self, model: type[Any], *, since: Mapping[str, Any] | None = None
    ) -> AsyncKantataPager[Deletion | Rejected]:
        """Deletions from subscribed events (see :meth:`Kantata.read_deletions`)."""
        spec = spec_for(model)
        params, step = self._shared.deletion_step(spec, since, self.http.clock.now())
        return AsyncKantataPager(
            "subscribed_events",
            self._shared.plan(since, self.http.clock.now()),
            lambda base: self._json("subscribed_events", params(base)),
            step,
        )

    async def find(self, model: type[Any], entity_key: EntityKey) -> Record | None:
        """The record carrying ``entity_key`` (see :meth:`Kantata.find`)."""
        spec = spec_for(model)
        path, params = _core.lookup_params(spec, entity_key)
        env = parse_envelope(await self._json(path, params))
        records = env.records()
        if not records:
            return None
        first, subject = _first_match(records, subject=path != spec.collection)
        if subject is None:
            return dict(first)
        try:
            return await self.get(spec.collection, subject, include=spec.includes)
        except NotFoundError:
            return None

    async def create(
        self, model: type[Any], attrs: Mapping[str, Any], *, entity_key: EntityKey
    ) -> Record:
        """Create with the external reference inline (see :meth:`Kantata.create`)."""
        spec = spec_for(model)

        async def lookup() -> httpx2.Response | None:
            found = await self.find(model, entity_key)
            if found is None:
                return None
            body = {
                "count": 1,
                "results": [{"key": spec.collection, "id": found["id"]}],
                spec.collection: {found["id"]: found},
            }
            where = httpx2.Request("GET", f"{self.http.base_url}{spec.collection}/{found['id']}")
            return httpx2.Response(200, json=body, request=where)

        response = await self.http.request(
            "POST",
            spec.collection,
            json=_core.create_body(spec, attrs, entity_key),
            safety=WriteSafety.LOOKUP_THEN_CREATE,
            lookup=lookup,
        )
        return _only(parse_envelope(decoded_json(response)))

    async def update(
        self, collection: str, record_id: str, attrs: Mapping[str, Any], *, singular: str
    ) -> Record:
        """Update a record by id (see :meth:`Kantata.update`)."""
        response = await self.http.request(
            "PUT",
            _path(collection, record_id),
            json={singular: dict(attrs)},
            safety=WriteSafety.NATURAL_UPSERT,
        )
        return _only(parse_envelope(decoded_json(response)))

    async def delete(self, collection: str, record_id: str) -> bool:
        """Delete a record by id; ``False`` when already gone."""
        try:
            await self.http.request(
                "DELETE", _path(collection, record_id), safety=WriteSafety.NATURAL_UPSERT
            )
        except NotFoundError:
            return False
        return True

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self.http.aclose()

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
        return f"AsyncKantata(base_url={self.http.base_url!r}, tenant={self.tenant!r})"
