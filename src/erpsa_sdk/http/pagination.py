"""Pagination strategies: pure next-page steps over raw pages, with a JSON-able cursor.

A strategy never sends anything. Given a cursor it says which request to make
(:meth:`PageStrategy.request`); given the raw decoded page it says which raw items the page
holds and what the next cursor is (:meth:`PageStrategy.step`). Decisions are made on the raw
page, never on a filtered count. The pagers in :mod:`erpsa_sdk.http._pager` do the I/O and
the guards (max pages, the same page twice, next links on the configured origin).

Strategies: :class:`OffsetLimit` (offset / limit with a has-more flag), :class:`NextLink`
(a next URL in the body: OData v4 ``@odata.nextLink``, OData v2 ``d.__next``, a
``nextRecordsUrl``; relative or absolute), :class:`PageNumber` (page / per_page with a page
count) and :class:`KeysetSeek` (every page a fresh query after the last (timestamp, id) seen).

Example:
    >>> s = OffsetLimit("/items", limit=2)
    >>> s.request(None).params
    {'offset': 0, 'limit': 2}
    >>> step = s.step({"offset": 0}, {"items": [{"id": 1}, {"id": 2}], "hasMore": True})
    >>> len(step.items), step.cursor, step.more
    (2, {'offset': 2}, True)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import httpx2

from erpsa_sdk.errors import ConfigurationError, ResponseFormatError

__all__ = [
    "Cursor",
    "KeyPath",
    "KeysetSeek",
    "KeysetWindow",
    "NextLink",
    "OffsetLimit",
    "PageNumber",
    "PageRequest",
    "PageStrategy",
    "Step",
    "get_path",
]

Cursor = dict[str, Any]
"""A JSON-able position: the runner persists it and a pager resumes from it."""

KeyPath = str | Sequence[str]
"""One key (``"@odata.nextLink"``, dots are not split) or a path of keys (``("d", "results")``)."""


def get_path(page: Any, path: KeyPath, *, required: bool = True) -> Any:
    """Read ``path`` from a decoded page; a missing required key is a ``ResponseFormatError``.

    Example:
        >>> get_path({"d": {"results": [1]}}, ("d", "results"))
        [1]
        >>> get_path({"@odata.nextLink": "u"}, "@odata.nextLink")
        'u'
        >>> get_path({}, "next", required=False) is None
        True
    """
    keys = (path,) if isinstance(path, str) else tuple(path)
    node = page
    for key in keys:
        if not isinstance(node, Mapping) or key not in node:
            if required:
                raise ResponseFormatError(f"page has no {'.'.join(keys)!r} field")
            return None
        node = node[key]
    return node


def _items(page: Any, path: KeyPath | None) -> list[Any]:
    items = page if path is None else get_path(page, path)
    if not isinstance(items, list):
        raise ResponseFormatError(f"page items are a {type(items).__name__}, expected a list")
    return items


@dataclass(frozen=True)
class PageRequest:
    """The request for one page: method, URL (relative to the client's base URL, or absolute),
    query parameters and an optional JSON body (for queries sent as POST).

    Example:
        >>> PageRequest(url="/items", params={"page": 2})
        PageRequest(url='/items', params={'page': 2}, method='GET', json=None)
    """

    url: str
    params: dict[str, Any] = field(default_factory=dict)
    method: str = "GET"
    json: Any = None


@dataclass(frozen=True)
class Step:
    """What one raw page says: its raw items, the next cursor and whether to go on.

    When ``more`` is false, ``cursor`` is where a later run resumes (for keyset reads, the
    incremental position; for the others, the position after the last item).

    Example:
        >>> Step(items=[], cursor={"offset": 0}, more=False).more
        False
    """

    items: list[Any]
    cursor: Cursor
    more: bool


@runtime_checkable
class PageStrategy(Protocol):
    """How one endpoint pages. Pure: no I/O, no clock other than the ``now`` passed in.

    Example:
        >>> isinstance(PageNumber("/p"), PageStrategy)
        True
    """

    def start(self, cursor: Cursor | None, *, now: datetime) -> Cursor:
        """The cursor of the first page to read (``cursor`` is a saved one, or ``None``)."""
        ...

    def request(self, cursor: Cursor | None) -> PageRequest:
        """The request that reads the page at ``cursor``."""
        ...

    def step(self, cursor: Cursor, page: Any, *, page_url: str = "") -> Step:
        """Decide from the raw decoded page (``page_url``: the absolute URL it came from)."""
        ...


@dataclass(frozen=True)
class OffsetLimit:
    """Offset / limit paging with a has-more flag in the body.

    The next offset is the current one plus the number of raw items on the page, so a server
    that returns fewer than ``limit`` items while saying there are more loses nothing. A page
    that says "more" but holds no item is an error, not an endless loop.

    Example:
        >>> s = OffsetLimit("/v1/projects", limit=50, items="data", has_more="has_more")
        >>> s.step({"offset": 50}, {"data": [{}], "has_more": False})
        Step(items=[{}], cursor={'offset': 51}, more=False)
    """

    path: str
    limit: int = 100
    params: Mapping[str, Any] = field(default_factory=dict)
    items: KeyPath | None = "items"
    has_more: KeyPath = "hasMore"
    offset_param: str = "offset"
    limit_param: str = "limit"

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ConfigurationError(f"limit must be >= 1, got {self.limit}")

    def start(self, cursor: Cursor | None, *, now: datetime | None = None) -> Cursor:
        return dict(cursor) if cursor else {"offset": 0}

    def request(self, cursor: Cursor | None) -> PageRequest:
        offset = int((cursor or {}).get("offset", 0))
        params = {**self.params, self.offset_param: offset, self.limit_param: self.limit}
        return PageRequest(url=self.path, params=params)

    def step(self, cursor: Cursor, page: Any, *, page_url: str = "") -> Step:
        items = _items(page, self.items)
        has_more = get_path(page, self.has_more)
        if not isinstance(has_more, bool):
            raise ResponseFormatError(f"{self.has_more!r} is {has_more!r}, expected a boolean")
        if has_more and not items:
            raise ResponseFormatError("the server says there are more items but sent none")
        return Step(items, {"offset": int(cursor.get("offset", 0)) + len(items)}, has_more)


@dataclass(frozen=True)
class NextLink:
    """Follow a next URL found in the body until there is none.

    Relative links are resolved against the URL of the page that held them. The pager checks
    that every next link stays on the client's origin before anything is sent.

    Common shapes: OData v4 ``items="value", next="@odata.nextLink"``; OData v2
    ``items=("d", "results"), next=("d", "__next")``; a query API with
    ``items="records", next="nextRecordsUrl"``.

    Example:
        >>> s = NextLink("/odata/Projects", items="value", next="@odata.nextLink")
        >>> step = s.step({}, {"value": [1], "@odata.nextLink": "Projects?$skiptoken=2"},
        ...               page_url="https://h.example/odata/Projects")
        >>> step.cursor, step.more
        ({'url': 'https://h.example/odata/Projects?$skiptoken=2'}, True)
        >>> s.request(step.cursor).url
        'https://h.example/odata/Projects?$skiptoken=2'
    """

    path: str
    params: Mapping[str, Any] = field(default_factory=dict)
    items: KeyPath | None = "value"
    next: KeyPath = "@odata.nextLink"

    def start(self, cursor: Cursor | None, *, now: datetime | None = None) -> Cursor:
        return dict(cursor) if cursor else {"url": None}

    def request(self, cursor: Cursor | None) -> PageRequest:
        url = (cursor or {}).get("url")
        if url is None:
            return PageRequest(url=self.path, params=dict(self.params))
        return PageRequest(url=str(url))

    def step(self, cursor: Cursor, page: Any, *, page_url: str = "") -> Step:
        items = _items(page, self.items)
        link = get_path(page, self.next, required=False)
        if link is None or link == "":
            return Step(items, {"url": None, "done": True}, False)
        if not isinstance(link, str):
            raise ResponseFormatError(f"next link is a {type(link).__name__}, expected a string")
        absolute = str(httpx2.URL(page_url).join(link)) if page_url else link
        return Step(items, {"url": absolute}, True)


@dataclass(frozen=True)
class PageNumber:
    """Page / per-page paging with a page count in the body.

    Example:
        >>> s = PageNumber("/time_entries", per_page=25, page_count=("meta", "total_pages"))
        >>> s.request({"page": 3}).params
        {'page': 3, 'per_page': 25}
        >>> s.step({"page": 3}, {"items": [], "meta": {"total_pages": 3}}).more
        False
    """

    path: str
    per_page: int = 100
    params: Mapping[str, Any] = field(default_factory=dict)
    items: KeyPath | None = "items"
    page_count: KeyPath = ("meta", "total_pages")
    page_param: str = "page"
    per_page_param: str = "per_page"
    first_page: int = 1

    def __post_init__(self) -> None:
        if self.per_page < 1:
            raise ConfigurationError(f"per_page must be >= 1, got {self.per_page}")

    def start(self, cursor: Cursor | None, *, now: datetime | None = None) -> Cursor:
        return dict(cursor) if cursor else {"page": self.first_page}

    def request(self, cursor: Cursor | None) -> PageRequest:
        page = int((cursor or {}).get("page", self.first_page))
        params = {**self.params, self.page_param: page, self.per_page_param: self.per_page}
        return PageRequest(url=self.path, params=params)

    def step(self, cursor: Cursor, page: Any, *, page_url: str = "") -> Step:
        items = _items(page, self.items)
        count = get_path(page, self.page_count)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ResponseFormatError(f"page count {count!r} is not a non-negative integer")
        number = int(cursor.get("page", self.first_page))
        pages_seen = number - self.first_page + 1
        return Step(items, {"page": number + 1}, pages_seen < count)


@dataclass(frozen=True)
class KeysetWindow:
    """One keyset query: rows ordered by (timestamp, id), strictly after ``after`` (when set)
    and modified strictly before ``before`` (the walk's horizon), at most ``limit`` of them.

    Example:
        >>> KeysetWindow(after=("2026-01-01T00:00:00+00:00", "7"),
        ...              before="2026-02-01T00:00:00+00:00", limit=100).after_id
        '7'
    """

    after: tuple[Any, Any] | None
    before: str
    limit: int

    @property
    def after_timestamp(self) -> Any:
        """The last timestamp read, or ``None`` on the first page."""
        return self.after[0] if self.after else None

    @property
    def after_id(self) -> Any:
        """The last id read at that timestamp, or ``None`` on the first page."""
        return self.after[1] if self.after else None


def _default_keyset_params(window: KeysetWindow) -> dict[str, Any]:
    params: dict[str, Any] = {"modified_before": window.before, "limit": window.limit}
    if window.after is not None:
        params["after_modified"] = window.after_timestamp
        params["after_id"] = window.after_id
    return params


@dataclass(frozen=True)
class KeysetSeek:
    """Keyset (seek) reads: every page is a fresh query after the last (timestamp, id) seen.

    No page depends on the server keeping a result set stable, so rows inserted or updated
    while reading are not skipped and pages never shift. The server must order by
    (timestamp, id) and apply ``(ts, id) > after`` and ``ts < before``; ``query`` turns a
    :class:`KeysetWindow` into the vendor's query parameters (a filter expression, a query).

    The walk is bounded above by a **horizon** fixed when it starts (``now - lag``): a row
    modified at or after the horizon is left to the next run, so an update stamped "now" can
    never land behind the reader's position. The cursor holds only (timestamp, id) and the
    horizon: its size does not grow with the number of rows or the size of a timestamp tie.
    When a walk ends the cursor is the resume point of the next incremental run.

    Example:
        >>> from datetime import UTC, datetime
        >>> s = KeysetSeek("/rows", limit=2)
        >>> c = s.start(None, now=datetime(2026, 1, 1, tzinfo=UTC))
        >>> c
        {'after': None, 'horizon': '2026-01-01T00:00:00+00:00'}
        >>> page = {"items": [{"id": 1, "modified": "2025-12-01"},
        ...                   {"id": 2, "modified": "2025-12-01"}]}
        >>> s.step(c, page).cursor
        {'after': ['2025-12-01', 2], 'horizon': '2026-01-01T00:00:00+00:00'}
        >>> s.step(c, {"items": []})
        Step(items=[], cursor={'after': None, 'horizon': None}, more=False)
    """

    path: str
    limit: int = 1000
    query: Callable[[KeysetWindow], Mapping[str, Any]] = _default_keyset_params
    items: KeyPath | None = "items"
    timestamp_field: str = "modified"
    id_field: str = "id"
    lag: timedelta = timedelta(0)
    short_page_ends: bool = False
    """Stop at a page shorter than ``limit`` (only when the server never caps below it)."""
    method: str = "GET"

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ConfigurationError(f"limit must be >= 1, got {self.limit}")

    def start(self, cursor: Cursor | None, *, now: datetime) -> Cursor:
        after = (cursor or {}).get("after")
        horizon = (cursor or {}).get("horizon")
        if horizon is None:  # a new walk (first run, or the next incremental run)
            horizon = (now - self.lag).isoformat()
        return {"after": after, "horizon": horizon}

    def request(self, cursor: Cursor | None) -> PageRequest:
        if not cursor or cursor.get("horizon") is None:
            raise ConfigurationError("call start() first: a keyset walk needs its horizon")
        after = cursor.get("after")
        window = KeysetWindow(
            after=(after[0], after[1]) if after else None,
            before=str(cursor["horizon"]),
            limit=self.limit,
        )
        params = dict(self.query(window))
        if self.method == "GET":
            return PageRequest(url=self.path, params=params)
        return PageRequest(url=self.path, method=self.method, json=params)

    def step(self, cursor: Cursor, page: Any, *, page_url: str = "") -> Step:
        items = _items(page, self.items)
        after = cursor.get("after")
        if not items:
            return Step(items, {"after": after, "horizon": None}, False)
        last = items[-1]
        if not isinstance(last, Mapping):
            raise ResponseFormatError("keyset rows must be objects")
        key = [
            get_path(last, self.timestamp_field),
            get_path(last, self.id_field),
        ]
        if after is not None:
            try:
                advanced = tuple(key) > tuple(after)
            except TypeError:
                advanced = key != list(after)
            if not advanced:
                raise ResponseFormatError(
                    f"keyset did not advance (last row {key!r} is not after {after!r}): "
                    "the server ignored the seek filter or its ordering"
                )
        if self.short_page_ends and len(items) < self.limit:
            return Step(items, {"after": key, "horizon": None}, False)
        return Step(items, {"after": key, "horizon": cursor["horizon"]}, True)
