"""The incremental SEEK read of Kantata lists: pure decisions, no I/O.

Kantata lists cannot be paged safely while rows change (offset pages shift, and rows that share
an ``updated_at`` second come back in no stable order), so an incremental read never pages:

1. Every page is a fresh query ``updated_after=<cursor second − 1 s>&order=updated_at:asc``;
   rows earlier than the cursor's second, and ids already emitted at that second, are dropped
   on the client (whether ``updated_after`` is inclusive is unverified: both work, and an
   inclusive server is detected from the rows it returns).
2. When one second holds a full page of rows, that second is walked on its own with
   ``updated_after`` / ``updated_before`` bounds and ``page`` / ``per_page``. A walk is complete
   only when the ids it saw equal ``meta.count`` on its first *and* its last page. Rows of one
   second come back in no stable order, so a walk cycles through the pages until it has seen
   them all; when the count changes (a row left the second) it starts again (rows only ever
   leave a past second, so this converges).
3. The cursor is ``(second, ids emitted at that second)``: bounded by the largest tie, never
   by the number of rows, and JSON-able. A read resumed from it keeps the same guarantee.

Examples:
    >>> from datetime import UTC, datetime
    >>> seek = SeekPlan(None, per_page=3)
    >>> seek.next_params()
    {'order': 'updated_at:asc', 'per_page': '3', 'page': '1'}
    >>> t = "2026-01-05T09:00:00+00:00"
    >>> emitted = seek.feed([("1", t), ("2", t)], {"count": 2, "page_count": 1, "page_number": 1})
    >>> emitted, seek.cursor
    (['1', '2'], {'ts': '2026-01-05T09:00:00+00:00', 'ids': ['1', '2'], 'inclusive': None})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from erpsa_sdk.errors import ErpsaError, ResponseFormatError

__all__ = ["FIRST_WINDOW", "MAX_SHRINKS", "MAX_TIE_WALKS", "ORIGIN", "SeekPlan", "parse_timestamp"]

#: Re-walks of one tie second before giving up (each walk sees the second's rows afresh).
MAX_TIE_WALKS = 64
#: The ``updated_at`` window a read falls back to after a server timeout (then halved again).
FIRST_WINDOW = timedelta(days=64)
#: Timeouts in a row after which the read gives up and raises the timeout.
MAX_SHRINKS = 6
#: Where the first window starts when the read has no cursor yet.
ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)

_SECOND = timedelta(seconds=1)


def parse_timestamp(value: Any) -> datetime:
    """An aware UTC datetime from a Kantata timestamp (``2021-02-12T16:10:02-08:00``).

    Examples:
        >>> parse_timestamp("2021-02-12T16:10:02-08:00").isoformat()
        '2021-02-13T00:10:02+00:00'
    """
    if not isinstance(value, str) or not value:
        raise ResponseFormatError(f"updated_at is missing or not a string: {value!r}")
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ResponseFormatError(f"updated_at is not ISO 8601: {value!r}") from exc
    if parsed.tzinfo is None:
        raise ResponseFormatError(f"updated_at has no UTC offset: {value!r}")
    if parsed.tzinfo is not UTC:  # "+00:00" parses to UTC itself: nothing to convert
        parsed = parsed.astimezone(UTC)
    # replace() is slow (keyword arguments): only when there is a fraction to drop.
    return parsed.replace(microsecond=0) if parsed.microsecond else parsed


def _fmt(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="seconds")


def _second(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(microsecond=0)


class SeekPlan:
    """One incremental walk over a Kantata list, as a state machine.

    Call :meth:`next_params` for the query of the next request (``None``: the walk is over),
    send it, then :meth:`feed` the page's rows as ``(id, updated_at)`` pairs in ``results``
    order plus its ``meta``; ``feed`` returns the ids to emit, in order. :attr:`cursor` is the
    resume position after the last fed page.

    Parameters:
        cursor: a previous :attr:`cursor` (``None`` reads everything).
        per_page: page size (Kantata caps it at 200).
        inclusive: whether the server's ``updated_after`` includes its bound (``None``:
            unknown, detected from the rows returned).

    Examples:
        >>> plan = SeekPlan({"ts": "2026-01-05T09:00:00+00:00", "ids": ["1"]}, per_page=200)
        >>> plan.next_params()["updated_after"]
        '2026-01-05T08:59:59+00:00'
    """

    def __init__(
        self, cursor: Mapping[str, Any] | None, *, per_page: int, inclusive: bool | None = None
    ) -> None:
        if not 1 <= per_page <= 200:
            raise ValueError("per_page must be between 1 and 200")
        self.per_page = per_page
        self.ts: datetime | None = None
        self.ids: set[str] = set()
        self.inclusive = inclusive
        if cursor:
            if cursor.get("ts"):
                self.ts = parse_timestamp(cursor["ts"])
            self.ids = {str(i) for i in cursor.get("ids", ())}
            if cursor.get("inclusive") is not None:
                self.inclusive = bool(cursor["inclusive"])
        #: The ``updated_at`` span one query covers after a server timeout (``None``: all).
        self.window: timedelta | None = None
        if cursor and cursor.get("window"):
            self.window = timedelta(seconds=float(cursor["window"]))
        #: Rows updated from here on are left to an unbounded last query (the client's now).
        self.horizon: datetime | None = None
        self._upper: datetime | None = None
        self._shrinks = 0
        self.mode = "seek"  # seek | tie | skip | done
        self._tie_page = 1
        self._tie_seen: set[str] = set()
        self._tie_first_count: int | None = None
        self._tie_requests = 0
        self._tie_walks = 0
        self._stalled = 0
        self.requests = 0
        #: Ids of the tie second seen by the current walk and not emitted yet (their records
        #: must be kept by the caller until :meth:`feed` emits them).
        self.pending: set[str] = set()

    # ------------------------------------------------------------------ state

    @property
    def done(self) -> bool:
        """Whether the walk is over.

        Examples:
            >>> SeekPlan(None, per_page=5).done
            False
        """
        return self.mode == "done"

    @property
    def cursor(self) -> dict[str, Any]:
        """The JSON-able resume position: the last second and the ids emitted at it.

        Examples:
            >>> SeekPlan(None, per_page=5).cursor
            {'ts': None, 'ids': [], 'inclusive': None}
        """
        out: dict[str, Any] = {
            "ts": _fmt(self.ts) if self.ts else None,
            "ids": sorted(self.ids, key=lambda i: (len(i), i)),
            "inclusive": self.inclusive,
        }
        if self.window is not None:
            out["window"] = self.window.total_seconds()
        return out

    def shrink(self) -> bool:
        """The server timed out (Kantata cuts requests off after 3 minutes): ask for half the
        ``updated_at`` span from now on (the first time: :data:`FIRST_WINDOW`).

        Returns ``False`` once :data:`MAX_SHRINKS` timeouts came in a row: the caller then
        raises the timeout (the server is down, not overloaded by the query).

        Examples:
            >>> plan = SeekPlan(None, per_page=200)
            >>> plan.shrink(), plan.shrink()
            (True, True)
            >>> plan.window.days
            32
        """
        self._shrinks += 1
        if self._shrinks > MAX_SHRINKS:
            return False
        self.window = FIRST_WINDOW if self.window is None else self.window / 2
        self.window = max(self.window, _SECOND)
        return True

    def _window_end(self) -> datetime | None:
        if self.window is None or self.horizon is None:
            return None
        upper = _second((self.ts or ORIGIN) + self.window)
        return upper if upper < self.horizon else None

    def _at_least(self, ts: datetime) -> str:
        return _fmt(ts if self.inclusive else ts - _SECOND)

    def _after(self, ts: datetime) -> str:
        return _fmt(ts + _SECOND if self.inclusive else ts)

    def next_params(self) -> dict[str, str] | None:
        """Query parameters of the next request, or ``None`` when the walk is over.

        Examples:
            >>> SeekPlan(None, per_page=50).next_params()["per_page"]
            '50'
        """
        base = {"order": "updated_at:asc", "per_page": str(self.per_page)}
        if self.mode == "done":
            return None
        if self.mode == "tie":
            assert self.ts is not None
            return {
                **base,
                "updated_after": self._at_least(self.ts),
                "updated_before": _fmt(self.ts + _SECOND),
                "page": str(self._tie_page),
            }
        params = {**base, "page": "1"}
        if self.ts is not None:
            params["updated_after"] = (
                self._after(self.ts) if self.mode == "skip" else self._at_least(self.ts)
            )
        self._upper = self._window_end()
        if self._upper is not None:
            params["updated_before"] = _fmt(self._upper)
        return params

    # ------------------------------------------------------------------- feed

    def feed(self, rows: Sequence[tuple[str, str]], meta: Mapping[str, Any]) -> list[str]:
        """Take one page (``(id, updated_at)`` in ``results`` order); return the ids to emit.

        Examples:
            >>> plan = SeekPlan(None, per_page=200)
            >>> plan.feed([("9", "2026-01-05T09:00:00Z")], {"count": 1})
            ['9']
            >>> plan.done
            True
        """
        self.requests += 1
        self._shrinks = 0
        seconds: dict[str, datetime] = {}  # rows of one second share their parsed stamp
        parsed = []
        for rid, ts in rows:
            at = seconds.get(ts)
            if at is None:
                at = seconds[ts] = parse_timestamp(ts)
            parsed.append((str(rid), at))
        if self.mode == "tie":
            return self._feed_tie(parsed, meta)
        return self._feed_seek(parsed)

    def _emit(self, rows: list[tuple[str, datetime]]) -> list[str]:
        # Within a page, rows come out in (updated_at, id) order, whatever order the server
        # chose for rows of one second: two walks of the same data yield the same sequence.
        out: list[str] = []
        for rid, ts in sorted(rows, key=lambda r: (r[1], len(r[0]), r[0])):
            if self.ts is None or ts > self.ts:
                self.ts = ts
                self.ids = set()
            self.ids.add(rid)
            out.append(rid)
        return out

    def _feed_seek(self, rows: list[tuple[str, datetime]]) -> list[str]:
        floor = self.ts
        skipping = self.mode == "skip"
        if floor is not None and self.inclusive is None:
            # A row at the requested bound itself shows that updated_after is inclusive.
            bound = floor if skipping else floor - _SECOND
            if any(ts == bound for _, ts in rows):
                self.inclusive = True
        kept = [
            (rid, ts)
            for rid, ts in rows
            if floor is None or not (ts < floor or (ts == floor and rid in self.ids))
        ]
        if len(rows) < self.per_page:
            out = self._emit(kept)
            upper = self._upper
            if upper is None:
                self.mode = "done"
                return out
            # The window is read completely: every row before its end has come out. Move the
            # cursor there and try a wider window next.
            if self.ts is None or self.ts < upper:
                self.ts, self.ids = upper, set()
            assert self.window is not None
            self.window *= 2
            self.mode = "seek"
            return out
        newest = max(ts for _, ts in rows)
        if floor is None or newest > floor:
            self._stalled = 0
            self.mode = "seek"
            # The page's last second may continue on the next page: hold it back, so each
            # second comes out whole, and ask again from the last complete second.
            out = self._emit([r for r in kept if r[1] < newest])
            if not out:
                # Nothing complete beyond the cursor: move to that second (all rows before it
                # are emitted), or walk it on its own when it fills the page by itself.
                self.ts, self.ids = newest, set()
                if sum(ts == newest for _, ts in rows) >= self.per_page:
                    self._start_tie()
            return out
        self._stalled += 1
        if self._stalled > 3:
            raise ResponseFormatError(
                "the server keeps answering rows at or behind the cursor; "
                "its updated_after / order handling is not what this reader expects"
            )
        if skipping or any(ts < floor for _, ts in rows):
            # A full page of rows at or behind the bound: the server includes it; the next
            # query uses the stricter bound (and returns this page's new rows again).
            self.inclusive = True
        else:
            # A full page inside the cursor's own second: walk that second on its own; its new
            # rows come out together when the walk is complete.
            self._start_tie()
            self.pending.update(rid for rid, _ in kept)
        return []

    def _start_tie(self) -> None:
        self.mode = "tie"
        self._tie_page = 1
        self._tie_seen = set()
        self._tie_first_count = None
        self._tie_requests = 0
        self._tie_walks += 1
        if self._tie_walks > MAX_TIE_WALKS:
            raise ErpsaError(
                f"the rows updated at {_fmt(self.ts) if self.ts else '?'} kept changing for "
                f"{MAX_TIE_WALKS} walks; retry the read later"
            )

    def _feed_tie(self, rows: list[tuple[str, datetime]], meta: Mapping[str, Any]) -> list[str]:
        assert self.ts is not None
        try:
            count = int(meta["count"])
            page_count = int(meta["page_count"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ResponseFormatError(f"list response without usable meta: {meta!r}") from exc
        # New rows of the second are held until the walk is complete, then emitted together
        # in id order (the server's order within one second is not stable).
        self.pending.update(rid for rid, ts in rows if ts == self.ts and rid not in self.ids)
        if self._tie_first_count is None:
            self._tie_first_count = count
        elif count != self._tie_first_count:
            # A row left the second during this walk: what was seen may be stale. Walk again.
            self._start_tie()
            return []
        self._tie_seen.update(rid for rid, _ in rows)
        self._tie_requests += 1
        if len(self._tie_seen) == count:
            # Same count on the walk's first and last page, every one of them seen.
            self.mode = "skip"
            out = sorted(self.pending, key=lambda i: (len(i), i))
            self.ids.update(out)
            self.pending = set()
            return out
        if self._tie_requests > 4 * max(page_count, 1) + 4:
            self._start_tie()
        else:
            # Rows of one second come back in no stable order: keep cycling through the pages
            # until every row has been seen (or the count changes).
            self._tie_page = self._tie_page + 1 if self._tie_page < page_count else 1
        return []
