"""Lazy pagers over a :class:`~erpsa_sdk.http.pagination.PageStrategy`: :class:`Pager` (sync)
and :class:`AsyncPager` (async), sharing every decision through :class:`_Walk`.

A pager holds one page at a time (constant memory), validates each page once into canonical
objects (bad records come out as :class:`~erpsa_sdk.models.Rejected`, nothing is dropped), and
moves its JSON-able cursor past a page only after every item of that page was handed over.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx2
import pydantic

from erpsa_sdk.errors import ConfigurationError, ResponseFormatError
from erpsa_sdk.http.classify import parse_json
from erpsa_sdk.http.origin import check_origin
from erpsa_sdk.http.pagination import Cursor, PageRequest, PageStrategy
from erpsa_sdk.http.redaction import redact_text, redact_url
from erpsa_sdk.models.refs import Rejected, SourceRef

if TYPE_CHECKING:  # pragma: no cover
    import pandas
    import polars

    from erpsa_sdk.clock import Clock
    from erpsa_sdk.http._client import ApiClient, AsyncApiClient

__all__ = ["DEFAULT_MAX_PAGES", "AsyncPager", "Page", "Pager"]

T = TypeVar("T")

_LOG = logging.getLogger("erpsa_sdk.http")

DEFAULT_MAX_PAGES = 100_000
"""A guard, not a target: a walk that needs more pages than this is stopped with an error."""

_CYCLE_WINDOW = 1024  # how many recent cursors a pager remembers to detect a paging cycle


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page as handed to the caller.

    Attributes:
        number: 1-based page number within this pager.
        items: canonical objects (or raw dicts without a model) and :class:`Rejected` records.
        raw_count: the number of raw items the server sent (decisions use this count).
        rejected: how many of ``items`` are :class:`Rejected`.
        cursor: the cursor *after* this page (what the pager resumes from once it is handed over).

    Example:
        >>> Page(number=1, items=[], raw_count=0, rejected=0, cursor={"offset": 0}).raw_count
        0
    """

    number: int
    items: list[T | Rejected]
    raw_count: int
    rejected: int
    cursor: Cursor


class _Walk(Generic[T]):
    """The pure state of one walk: cursor, guards and per-page validation (no I/O)."""

    def __init__(
        self,
        strategy: PageStrategy,
        *,
        model: type[T] | None,
        cursor: Cursor | None,
        max_pages: int,
        source_ref: Callable[[Any], SourceRef | None] | None,
        origin: str,
        clock: Clock,
    ) -> None:
        if max_pages < 1:
            raise ConfigurationError(f"max_pages must be >= 1, got {max_pages}")
        self.strategy = strategy
        self.model = model
        self.max_pages = max_pages
        self.source_ref = source_ref
        self.origin = origin
        self.clock = clock
        self.saved: Cursor | None = dict(cursor) if cursor is not None else None
        self.cursor: Cursor | None = None  # set when the walk starts
        self.pages_read = 0
        self.done = False
        # Guards, updated when a page is handed over (an abandoned page may be read again).
        # The last page's body itself, not a hash of it: an exact check that costs a length
        # comparison (and a memcmp only for two bodies of the same length), where hashing
        # every body cost about 1 us per record. At most one extra body is held.
        self._last_body: bytes | None = None
        self._pending_body: bytes | None = None
        # The last cursors read (bounded: constant memory); longer cycles hit max_pages.
        self._seen_cursors: dict[bytes, None] = {}
        self._list_adapter: pydantic.TypeAdapter[list[Any]] | None = None
        self._item_adapter: pydantic.TypeAdapter[Any] | None = None
        self._may_reject = True
        if model is not None:
            self._list_adapter = pydantic.TypeAdapter(list[model])  # type: ignore[valid-type]
            self._item_adapter = pydantic.TypeAdapter(model)

    def current(self) -> Cursor | None:
        return self.cursor if self.cursor is not None else self.saved

    def next_request(self) -> PageRequest | None:
        if self.done:
            return None
        if self.cursor is None:
            self.cursor = self.strategy.start(self.saved, now=self.clock.now())
        if self.pages_read >= self.max_pages:
            raise ResponseFormatError(
                f"stopped after max_pages={self.max_pages} pages without reaching the end; "
                "raise max_pages if the result set is really this large"
            )
        if self._cursor_digest() in self._seen_cursors:
            raise ResponseFormatError(
                f"pagination loops: cursor {self._cursor_text()} was already read"
            )
        request = self.strategy.request(self.cursor)
        url = httpx2.URL(request.url)  # parsed once, for the test and the check
        if url.is_absolute_url:
            # Checked before anything is sent: no credential ever goes to another host.
            check_origin(url, allowed=[self.origin])
        return request

    def accept(self, response: httpx2.Response) -> tuple[Page[T], Cursor, bool]:
        body = response.content
        if body == self._last_body:
            raise ResponseFormatError(
                f"the server returned the same page twice ({redact_url(response.request.url)}); "
                "stopping instead of looping"
            )
        self._pending_body = body
        raw_page = parse_json(response)
        assert self.cursor is not None
        step = self.strategy.step(self.cursor, raw_page, page_url=str(response.request.url))
        items = self._validate(step.items)
        rejected = sum(isinstance(i, Rejected) for i in items) if self._may_reject else 0
        if _LOG.isEnabledFor(logging.DEBUG):  # the cursor text costs a dump and a redaction
            _LOG.debug(
                "%s page %d: %d raw items, %d rejected, next %s%s",
                type(self.strategy).__name__,
                self.pages_read + 1,
                len(step.items),
                rejected,
                redact_text(json.dumps(step.cursor, default=str)),
                "" if step.more else " (last page)",
            )
        page = Page(
            number=self.pages_read + 1,
            items=items,
            raw_count=len(step.items),
            rejected=rejected,
            cursor=step.cursor,
        )
        return page, step.cursor, step.more

    def commit(self, cursor: Cursor, more: bool) -> None:
        """Move past a page: only called once all of its items were handed over."""
        self._seen_cursors[self._cursor_digest()] = None
        if len(self._seen_cursors) > _CYCLE_WINDOW:
            del self._seen_cursors[next(iter(self._seen_cursors))]
        self._last_body, self._pending_body = self._pending_body, None
        self.pages_read += 1
        self.cursor = cursor
        self.done = not more

    def _validate(self, raw_items: list[Any]) -> list[T | Rejected]:
        self._may_reject = True  # unless the whole page validated in one pass
        if self._list_adapter is None or self._item_adapter is None:
            return list(raw_items)
        try:
            # Fast path: one validation for the whole page, straight from the decoded items.
            valid: list[T | Rejected] = self._list_adapter.validate_python(raw_items)
            self._may_reject = False
            return valid
        except pydantic.ValidationError:
            self._may_reject = True
        out: list[T | Rejected] = []
        for raw in raw_items:  # the already-decoded items, one by one: no second request
            try:
                out.append(self._item_adapter.validate_python(raw))
            except pydantic.ValidationError as exc:
                ref = self.source_ref(raw) if self.source_ref is not None else None
                errors = [
                    {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
                    for e in exc.errors(include_url=False, include_input=False)
                ]
                out.append(Rejected(source_ref=ref, raw=raw, errors=errors))
        return out

    def _cursor_digest(self) -> bytes:
        return _digest(json.dumps(self.cursor, sort_keys=True, default=str).encode())

    def _cursor_text(self) -> str:
        return redact_text(json.dumps(self.current(), default=str))

    def repr(self, cls: str) -> str:
        strategy = type(self.strategy).__name__
        path = getattr(self.strategy, "path", "?")
        return (
            f"<{cls} {strategy} {path} pages_read={self.pages_read} "
            f"cursor={self._cursor_text()}{' done' if self.done else ''}>"
        )


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


class _FrameMixin:
    """Shared helpers that turn items into DataFrame rows."""

    @staticmethod
    def _rows(items: list[Any]) -> tuple[list[dict[str, Any]], list[Rejected]]:
        rows: list[dict[str, Any]] = []
        rejected: list[Rejected] = []
        for item in items:
            if isinstance(item, Rejected):
                rejected.append(item)
            else:
                rows.append(_row(item))
        return rows, rejected


def _row(item: Any) -> dict[str, Any]:
    """One flat row: money as a Decimal column plus a ``<name>_currency`` column."""
    from erpsa_sdk.models.money import Money

    if isinstance(item, pydantic.BaseModel):
        fields = {name: getattr(item, name) for name in type(item).model_fields}
    elif isinstance(item, dict):
        fields = dict(item)
    else:
        return {"value": item}
    row: dict[str, Any] = {}
    for name, value in fields.items():
        if isinstance(value, Money):
            row[name] = value.amount
            row[f"{name}_currency"] = value.currency
        elif isinstance(value, pydantic.BaseModel):
            row[name] = value.model_dump(mode="python")
        else:
            row[name] = value
    return row


def _import_pandas() -> Any:
    try:
        import pandas
    except ImportError as exc:
        raise ConfigurationError(
            "to_pandas() needs pandas, an optional extra: pip install 'erpsa-sdk[pandas]'"
        ) from exc
    return pandas


def _import_polars() -> Any:
    try:
        import polars
    except ImportError as exc:
        raise ConfigurationError(
            "to_polars() needs polars, an optional extra: pip install 'erpsa-sdk[polars]'"
        ) from exc
    return polars


def _pandas_frame(rows: list[dict[str, Any]], rejected: list[Rejected]) -> pandas.DataFrame:
    pd = _import_pandas()
    frame = pd.DataFrame.from_records(rows)
    frame.attrs["rejected"] = rejected  # kept, never dropped silently
    return frame  # type: ignore[no-any-return]


def _polars_frame(rows: list[dict[str, Any]]) -> polars.DataFrame:
    pl = _import_polars()
    return pl.DataFrame(rows)  # type: ignore[no-any-return]


class Pager(_FrameMixin, Generic[T]):
    """A lazy, constant-memory iterator over every item of every page.

    Iterating yields items (canonical objects when ``model`` is given, else raw dicts) and
    :class:`~erpsa_sdk.models.Rejected` records; :meth:`iter_pages` yields whole pages.
    :attr:`cursor` is JSON-able: persist it, and pass it back as ``cursor=`` to resume.

    Parameters:
        client: the :class:`~erpsa_sdk.http.ApiClient` that sends the page requests.
        strategy: how the endpoint pages (``OffsetLimit``, ``NextLink``, ``PageNumber``, ...).
        model: the pydantic model (or type) each raw item is validated into.
        cursor: a saved cursor to resume from.
        max_pages: guard against endless walks.
        source_ref: ``raw item -> SourceRef`` for rejected records.

    Example:
        >>> import httpx2
        >>> from erpsa_sdk.http import ApiClient, OffsetLimit
        >>> rows = [{"id": i} for i in range(5)]
        >>> def handler(request):
        ...     o, n = int(request.url.params["offset"]), int(request.url.params["limit"])
        ...     return httpx2.Response(200, json={"items": rows[o:o + n], "hasMore": o + n < 5})
        >>> client = ApiClient(base_url="https://api.example",
        ...                    transport=httpx2.MockTransport(handler))
        >>> pager = Pager(client, OffsetLimit("/rows", limit=2))
        >>> ids = [r["id"] for r in pager]
        >>> ids
        [0, 1, 2, 3, 4]
        >>> pager
        <Pager OffsetLimit /rows pages_read=3 cursor={"offset": 5} done>
    """

    def __init__(
        self,
        client: ApiClient,
        strategy: PageStrategy,
        *,
        model: type[T] | None = None,
        cursor: Cursor | None = None,
        max_pages: int = DEFAULT_MAX_PAGES,
        source_ref: Callable[[Any], SourceRef | None] | None = None,
    ) -> None:
        self._client = client
        self._walk: _Walk[T] = _Walk(
            strategy,
            model=model,
            cursor=cursor,
            max_pages=max_pages,
            source_ref=source_ref,
            origin=client.base_url,
            clock=client.clock,
        )

    @property
    def cursor(self) -> Cursor | None:
        """Where the next page starts (a JSON-able dict); ``None`` before a fresh walk starts."""
        current = self._walk.current()
        return dict(current) if current is not None else None

    @property
    def pages_read(self) -> int:
        """Pages handed over so far."""
        return self._walk.pages_read

    @property
    def done(self) -> bool:
        """Whether the last page was read."""
        return self._walk.done

    def iter_pages(self) -> Iterator[Page[T]]:
        """Yield one :class:`Page` at a time; the cursor advances when the next is asked for."""
        walk = self._walk
        while (request := walk.next_request()) is not None:
            response = self._client.request(
                request.method,
                request.url,
                params=request.params or None,
                json=request.json,
                read_only=request.method != "GET",
            )
            page, cursor, more = walk.accept(response)
            yield page
            # Not held across the next request: a page's objects alive while the next page is
            # decoded and validated get promoted to older GC generations, and full
            # collections come sooner. (The caller may still hold the page.)
            del page
            walk.commit(cursor, more)

    def __iter__(self) -> Iterator[T | Rejected]:
        for page in self.iter_pages():
            items = page.items
            del page
            yield from items
            del items  # dropped before the next page is requested (see iter_pages)

    def to_pandas(self) -> pandas.DataFrame:
        """Read every remaining page into a pandas DataFrame (needs ``erpsa-sdk[pandas]``).

        Money fields become a ``Decimal`` column plus a ``<field>_currency`` column; rejected
        records are kept in ``frame.attrs["rejected"]``.
        """
        _import_pandas()  # fail before reading anything
        rows, rejected = self._rows(list(self))
        return _pandas_frame(rows, rejected)

    def to_polars(self) -> polars.DataFrame:
        """Read every remaining page into a polars DataFrame (needs ``erpsa-sdk[polars]``)."""
        _import_polars()
        rows, _ = self._rows(list(self))
        return _polars_frame(rows)

    def __repr__(self) -> str:
        return self._walk.repr(type(self).__name__)


class AsyncPager(_FrameMixin, Generic[T]):
    """Async twin of :class:`Pager`: ``async for item in pager`` and ``pager.iter_pages()``.

    Example:
        >>> import asyncio, httpx2
        >>> from erpsa_sdk.http import AsyncApiClient, PageNumber
        >>> async def handler(request):
        ...     page = int(request.url.params["page"])
        ...     return httpx2.Response(200, json={"items": [page], "meta": {"total_pages": 3}})
        >>> async def main():
        ...     async with AsyncApiClient(base_url="https://api.example",
        ...                               transport=httpx2.MockTransport(handler)) as client:
        ...         return [i async for i in AsyncPager(client, PageNumber("/p", per_page=1))]
        >>> asyncio.run(main())
        [1, 2, 3]
    """

    def __init__(
        self,
        client: AsyncApiClient,
        strategy: PageStrategy,
        *,
        model: type[T] | None = None,
        cursor: Cursor | None = None,
        max_pages: int = DEFAULT_MAX_PAGES,
        source_ref: Callable[[Any], SourceRef | None] | None = None,
    ) -> None:
        self._client = client
        self._walk: _Walk[T] = _Walk(
            strategy,
            model=model,
            cursor=cursor,
            max_pages=max_pages,
            source_ref=source_ref,
            origin=client.base_url,
            clock=client.clock,
        )

    @property
    def cursor(self) -> Cursor | None:
        """Where the next page starts (a JSON-able dict)."""
        current = self._walk.current()
        return dict(current) if current is not None else None

    @property
    def pages_read(self) -> int:
        """Pages handed over so far."""
        return self._walk.pages_read

    @property
    def done(self) -> bool:
        """Whether the last page was read."""
        return self._walk.done

    async def iter_pages(self) -> AsyncIterator[Page[T]]:
        """Yield one :class:`Page` at a time; the cursor advances when the next is asked for."""
        walk = self._walk
        while (request := walk.next_request()) is not None:
            response = await self._client.request(
                request.method,
                request.url,
                params=request.params or None,
                json=request.json,
                read_only=request.method != "GET",
            )
            page, cursor, more = walk.accept(response)
            yield page
            del page  # not held across the next request (see Pager.iter_pages)
            walk.commit(cursor, more)

    async def __aiter__(self) -> AsyncIterator[T | Rejected]:
        async for page in self.iter_pages():
            items = page.items
            del page
            for item in items:
                yield item
            del items  # dropped before the next page is requested (see Pager.iter_pages)

    async def to_pandas(self) -> pandas.DataFrame:
        """Read every remaining page into a pandas DataFrame (needs ``erpsa-sdk[pandas]``)."""
        _import_pandas()
        rows, rejected = self._rows([item async for item in self])
        return _pandas_frame(rows, rejected)

    async def to_polars(self) -> polars.DataFrame:
        """Read every remaining page into a polars DataFrame (needs ``erpsa-sdk[polars]``)."""
        _import_polars()
        rows, _ = self._rows([item async for item in self])
        return _polars_frame(rows)

    def __repr__(self) -> str:
        return self._walk.repr(type(self).__name__)
