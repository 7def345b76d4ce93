"""Vendor-neutral OData v4 helpers: literals, query options, preferences, keyset paging, counts.

Pure functions and frozen dataclasses only; nothing here sends a request. Connectors for OData
v4 services (Dataverse, SAP RAP services) build their URLs with :class:`ODataQuery`, page with
:class:`ODataKeyset` (keyset windows whose pages follow the server's ``@odata.nextLink``
unchanged) or the transport's :class:`~erpsa_sdk.http.NextLink`, and read counts with
:func:`read_count`, which says when a server capped the count instead of pretending it is
exact.

Examples:
    >>> q = ODataQuery(select=("name", "accountid"), filter="contains(name,'sample')",
    ...                orderby=("name",), count=True)
    >>> q.query_string()
    "$select=name,accountid&$filter=contains(name,'sample')&$orderby=name&$count=true"
    >>> literal("O'Neil"), literal(None), literal(True)
    ("'O''Neil'", 'null', 'true')
    >>> prefer(maxpagesize=500, annotations="*")
    'odata.maxpagesize=500,odata.include-annotations="*"'
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from erpsa_sdk.errors import ConfigurationError, ResponseFormatError
from erpsa_sdk.http.pagination import Cursor, PageRequest, Step

# Commas inside a quoted value (an annotation list) do not separate preferences.
_PREF_SPLIT = re.compile(r',(?=(?:[^"]*"[^"]*")*[^"]*$)')

__all__ = [
    "NEXT_LINK",
    "ODataCount",
    "ODataKeyset",
    "ODataQuery",
    "and_",
    "keyset_filter",
    "literal",
    "parse_preferences",
    "prefer",
    "read_count",
    "timestamp",
]

NEXT_LINK = "@odata.nextLink"
"""The OData v4 next-page annotation."""

# Characters left as they are in query option values: OData syntax that servers expect raw.
_SAFE = "$,()'=:*/@;-._~"


def timestamp(value: datetime) -> str:
    """An OData ``DateTimeOffset`` literal in UTC with second precision (``...Z``).

    Examples:
        >>> from datetime import timezone, timedelta
        >>> timestamp(datetime(2026, 3, 1, 14, 30, 5, 999, tzinfo=timezone(timedelta(hours=2))))
        '2026-03-01T12:30:05Z'
    """
    if value.tzinfo is None:
        raise ConfigurationError("OData timestamps need an aware datetime")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def literal(value: Any) -> str:
    """``value`` as an OData v4 URL literal.

    Strings are single-quoted with ``'`` doubled; GUIDs, numbers and dates are bare; ``None``
    is ``null``; booleans are ``true`` / ``false``. Floats are refused: pass a ``Decimal``.

    Examples:
        >>> import uuid
        >>> literal(uuid.UUID(int=1)), literal(Decimal("10.50")), literal(date(2026, 1, 2))
        ('00000000-0000-0000-0000-000000000001', '10.50', '2026-01-02')
        >>> literal(1.5)
        Traceback (most recent call last):
        ...
        erpsa_sdk.errors.ConfigurationError: OData literals take Decimal, not float
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        raise ConfigurationError("OData literals take Decimal, not float")
    if isinstance(value, int | Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise ConfigurationError(f"no OData literal for a {type(value).__name__}")


def and_(*clauses: str | None) -> str | None:
    """Join filter clauses with ``and`` (each parenthesised); empty clauses are skipped.

    Examples:
        >>> and_("a eq 1", None, "b eq 2")
        '(a eq 1) and (b eq 2)'
        >>> and_("a eq 1"), and_() is None
        ('a eq 1', True)
    """
    parts = [c for c in clauses if c]
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return " and ".join(f"({c})" for c in parts)


@dataclass(frozen=True)
class ODataQuery:
    """The system query options of one OData v4 request.

    Parameters:
        select: properties to return (``$select``).
        filter: a filter expression (``$filter``); build literals with :func:`literal`.
        expand: navigation properties to expand, each optionally with nested options
            (``"parent($select=name)"``).
        orderby: ``"name"`` or ``"name desc"`` items (``$orderby``).
        top: ``$top`` (servers may ignore it together with a page-size preference).
        count: ask for ``@odata.count`` (``$count=true``).
        extra: other query parameters, passed through.

    Examples:
        >>> q = ODataQuery(select=("name",)).where("statecode eq 0").where("revenue gt 5")
        >>> q.params()
        {'$select': 'name', '$filter': '(statecode eq 0) and (revenue gt 5)'}
        >>> q.url("accounts")
        'accounts?$select=name&$filter=(statecode%20eq%200)%20and%20(revenue%20gt%205)'
    """

    select: tuple[str, ...] = ()
    filter: str | None = None
    expand: tuple[str, ...] = ()
    orderby: tuple[str, ...] = ()
    top: int | None = None
    count: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.top is not None and self.top < 1:
            raise ConfigurationError(f"$top must be >= 1, got {self.top}")

    def where(self, clause: str | None) -> ODataQuery:
        """A copy whose filter also requires ``clause``."""
        return replace(self, filter=and_(self.filter, clause))

    def params(self) -> dict[str, str]:
        """The options as a plain mapping (``$select`` etc.), in a stable order."""
        out: dict[str, str] = {}
        if self.select:
            out["$select"] = ",".join(self.select)
        if self.filter:
            out["$filter"] = self.filter
        if self.expand:
            out["$expand"] = ",".join(self.expand)
        if self.orderby:
            out["$orderby"] = ",".join(self.orderby)
        if self.top is not None:
            out["$top"] = str(self.top)
        if self.count:
            out["$count"] = "true"
        out.update(self.extra)
        return out

    def query_string(self) -> str:
        """The options as a query string: ``$`` and OData punctuation stay readable, spaces
        and other characters are percent-encoded."""
        return "&".join(f"{k}={quote(v, safe=_SAFE)}" for k, v in self.params().items())

    def url(self, path: str) -> str:
        """``path`` with the query string appended (when there is one)."""
        qs = self.query_string()
        return f"{path}?{qs}" if qs else path


def prefer(
    *,
    maxpagesize: int | None = None,
    annotations: str | None = None,
    return_representation: bool = False,
    extra: Sequence[str] = (),
) -> str:
    """The value of a ``Prefer`` header.

    Examples:
        >>> prefer(return_representation=True)
        'return=representation'
        >>> prefer(maxpagesize=0)
        Traceback (most recent call last):
        ...
        erpsa_sdk.errors.ConfigurationError: odata.maxpagesize must be >= 1, got 0
    """
    parts: list[str] = []
    if return_representation:
        parts.append("return=representation")
    if maxpagesize is not None:
        if maxpagesize < 1:
            raise ConfigurationError(f"odata.maxpagesize must be >= 1, got {maxpagesize}")
        parts.append(f"odata.maxpagesize={maxpagesize}")
    if annotations is not None:
        parts.append(f'odata.include-annotations="{annotations}"')
    parts.extend(extra)
    return ",".join(parts)


def parse_preferences(header: str | None) -> dict[str, str]:
    """A ``Prefer`` / ``Preference-Applied`` value as ``{name: value}`` (quotes removed).

    Examples:
        >>> parse_preferences('odata.maxpagesize=2, odata.include-annotations="*"')
        {'odata.maxpagesize': '2', 'odata.include-annotations': '*'}
        >>> parse_preferences(None)
        {}
    """
    out: dict[str, str] = {}
    for part in _PREF_SPLIT.split(header or ""):
        name, _, value = part.strip().partition("=")
        if name:
            out[name.strip().lower()] = value.strip().strip('"')
    return out


@dataclass(frozen=True)
class ODataCount:
    """A row count as the server reported it.

    ``value`` is what the server sent; ``capped`` is ``True`` when the server said the real
    number is larger (it stopped counting), ``False`` when it said it is exact, ``None`` when
    it did not say. ``total`` is the server's total record count annotation, when sent.

    Examples:
        >>> ODataCount(5000, capped=True).exact
        False
    """

    value: int
    capped: bool | None = None
    total: int | None = None

    @property
    def exact(self) -> bool:
        """Whether ``value`` is known to be the real number of rows."""
        return self.capped is False


def read_count(
    page: Any,
    *,
    total_annotation: str | None = None,
    capped_annotation: str | None = None,
    cap: int | None = None,
) -> ODataCount | None:
    """The ``@odata.count`` of a page (``None`` when absent), with the server's own cap
    annotations when it sent them. A server with a documented ``cap`` that reports exactly
    ``cap`` without saying more is reported as possibly capped (``capped=None``).

    Examples:
        >>> read_count({"@odata.count": 10, "value": []}, cap=5000)
        ODataCount(value=10, capped=False, total=None)
        >>> read_count({"@odata.count": 5000, "value": []}, cap=5000)
        ODataCount(value=5000, capped=None, total=None)
        >>> read_count({"@odata.count": 5000, "x.limitexceeded": True, "x.total": 5000},
        ...            total_annotation="x.total", capped_annotation="x.limitexceeded")
        ODataCount(value=5000, capped=True, total=5000)
    """
    if not isinstance(page, Mapping) or "@odata.count" not in page:
        return None
    value = page["@odata.count"]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ResponseFormatError(f"@odata.count is {value!r}, expected an integer")
    capped: bool | None = None
    if capped_annotation is not None and capped_annotation in page:
        capped = bool(page[capped_annotation])
    elif cap is not None:
        capped = None if value >= cap else False
    total = page.get(total_annotation) if total_annotation is not None else None
    if total is not None and not isinstance(total, int):
        raise ResponseFormatError(f"{total_annotation} is {total!r}, expected an integer")
    return ODataCount(value=value, capped=capped, total=total)


def keyset_filter(
    timestamp_field: str,
    id_field: str,
    *,
    after: tuple[str, str] | None,
    before: str | None,
) -> str | None:
    """The filter of one keyset window: rows strictly after ``after`` = (timestamp literal,
    id literal) in (timestamp, id) order, and strictly before the ``before`` horizon.

    Examples:
        >>> keyset_filter("modifiedon", "accountid", after=("2026-01-01T00:00:00Z", "7"),
        ...               before="2026-02-01T00:00:00Z")  # doctest: +NORMALIZE_WHITESPACE
        '(modifiedon gt 2026-01-01T00:00:00Z or (modifiedon eq 2026-01-01T00:00:00Z
        and accountid gt 7)) and (modifiedon lt 2026-02-01T00:00:00Z)'
    """
    seek = None
    if after is not None:
        ts, ident = after
        seek = f"{timestamp_field} gt {ts} or ({timestamp_field} eq {ts} and {id_field} gt {ident})"
    horizon = f"{timestamp_field} lt {before}" if before is not None else None
    return and_(seek, horizon)


@dataclass(frozen=True)
class ODataKeyset:
    """Incremental keyset reads over an OData v4 entity set, paged by the server.

    Each walk is one query ordered by (timestamp, id), bounded below by the last (timestamp,
    id) read and above by a horizon fixed when the walk starts (``now - lag``, so a row changed
    during the walk is left to the next run and never lands behind the reader). Within a walk
    the pages follow the server's ``@odata.nextLink`` **unchanged** (no ``$skip``, nothing
    appended); the walk ends when a page has no next link. The cursor holds the last key,
    the horizon and the pending next link: constant size, JSON-able, and a saved cursor
    resumes at the next link (or, without one, with a fresh keyset query).

    Parameters:
        path: the entity set, relative to the service root.
        query: the other query options (``$select``, ``$expand``, a base ``$filter``).
        timestamp_field: the keyset's timestamp column (added to ``$select``).
        id_field: the keyset's id column (added to ``$select``).
        id_literal: formats an id for the filter (bare for GUIDs, quoted for strings).
        lag: how far behind ``now`` the horizon is.
        items: the key of the page's item list.

    Examples:
        >>> s = ODataKeyset("accounts", ODataQuery(select=("name",)),
        ...                 timestamp_field="modifiedon", id_field="accountid")
        >>> c = s.start(None, now=datetime(2026, 3, 1, 12, tzinfo=UTC))
        >>> c
        {'after': None, 'horizon': '2026-03-01T12:00:00Z', 'next': None}
        >>> s.request(c).url  # doctest: +NORMALIZE_WHITESPACE
        'accounts?$select=name,modifiedon,accountid&$filter=modifiedon%20lt%202026-03-01T12:00:00Z&$orderby=modifiedon%20asc,accountid%20asc'
        >>> page = {"value": [{"accountid": "a1", "modifiedon": "2026-02-01T00:00:00Z"}],
        ...         "@odata.nextLink": "https://org.example/api/accounts?$skiptoken=x"}
        >>> step = s.step(c, page)
        >>> step.cursor["after"], step.more, s.request(step.cursor).url
        (['2026-02-01T00:00:00Z', 'a1'], True, 'https://org.example/api/accounts?$skiptoken=x')
    """

    path: str
    query: ODataQuery = field(default_factory=ODataQuery)
    timestamp_field: str = "modifiedon"
    id_field: str = "id"
    id_literal: Callable[[str], str] = str
    lag: timedelta = timedelta(0)
    items: str = "value"

    def start(self, cursor: Cursor | None, *, now: datetime) -> Cursor:
        saved = cursor or {}
        horizon = saved.get("horizon")
        if horizon is None:  # a new walk: the first run, or the next incremental run
            horizon = timestamp(now - self.lag)
        return {"after": saved.get("after"), "horizon": horizon, "next": saved.get("next")}

    def request(self, cursor: Cursor | None) -> PageRequest:
        if not cursor or cursor.get("horizon") is None:
            raise ConfigurationError("call start() first: a keyset walk needs its horizon")
        if cursor.get("next"):
            return PageRequest(url=str(cursor["next"]))  # the server's link, as it is
        after = cursor.get("after")
        window = keyset_filter(
            self.timestamp_field,
            self.id_field,
            after=(str(after[0]), self.id_literal(str(after[1]))) if after else None,
            before=str(cursor["horizon"]),
        )
        select = self.query.select
        if select:
            select = (
                *select,
                *(f for f in (self.timestamp_field, self.id_field) if f not in select),
            )
        query = replace(
            self.query,
            select=select,
            orderby=(f"{self.timestamp_field} asc", f"{self.id_field} asc"),
        ).where(window)
        return PageRequest(url=query.url(self.path))

    def step(self, cursor: Cursor, page: Any, *, page_url: str = "") -> Step:
        if not isinstance(page, Mapping) or not isinstance(page.get(self.items), list):
            raise ResponseFormatError(f"OData page has no {self.items!r} list")
        items: list[Any] = page[self.items]
        link = page.get(NEXT_LINK)
        if link is not None and not isinstance(link, str):
            raise ResponseFormatError(f"{NEXT_LINK} is a {type(link).__name__}, not a string")
        after = cursor.get("after")
        if items:
            last = items[-1]
            if not isinstance(last, Mapping) or not {self.timestamp_field, self.id_field} <= set(
                last
            ):
                raise ResponseFormatError(
                    f"keyset rows need {self.timestamp_field!r} and {self.id_field!r}"
                )
            key = [str(last[self.timestamp_field]), str(last[self.id_field])]
            # Timestamps are fixed-width UTC text; ids are compared for change only, since a
            # server may order ids (GUIDs) differently from their text.
            if after is not None and (key[0] < str(after[0]) or key == list(after)):
                raise ResponseFormatError(
                    f"keyset did not advance (last row {key!r} is not after {list(after)!r})"
                )
            after = key
        elif link:
            raise ResponseFormatError("the server sent an empty page with a next link")
        if link:
            return Step(items, {"after": after, "horizon": cursor["horizon"], "next": link}, True)
        return Step(items, {"after": after, "horizon": None, "next": None}, False)
