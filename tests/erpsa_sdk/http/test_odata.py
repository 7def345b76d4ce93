"""OData v4 helpers: literals, query strings, preferences, counts, keyset paging over next links."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from erpsa_sdk.clock import SimClock
from erpsa_sdk.errors import ConfigurationError, ResponseFormatError
from erpsa_sdk.http import ApiClient, Pager
from erpsa_sdk.http.odata import (
    ODataCount,
    ODataKeyset,
    ODataQuery,
    keyset_filter,
    literal,
    parse_preferences,
    prefer,
    read_count,
    timestamp,
)


@given(st.text())
def test_string_literals_round_trip(text: str) -> None:
    lit = literal(text)
    assert lit.startswith("'")
    assert lit.endswith("'")
    assert lit[1:-1].replace("''", "'") == text


@given(
    st.dictionaries(
        st.sampled_from(["$select", "$filter", "$orderby", "$expand"]),
        st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1),
    )
)
def test_query_strings_decode_to_the_options(options: dict[str, str]) -> None:
    q = ODataQuery(extra=options)
    decoded = {k: v[0] for k, v in parse_qs(q.query_string(), keep_blank_values=True).items()}
    expected = dict(options)
    # parse_qs turns '+' into a space; the builder never emits a raw '+'.
    assert "+" not in q.query_string()
    assert decoded == expected


def test_literals_refuse_floats_and_naive_times() -> None:
    with pytest.raises(ConfigurationError):
        literal(0.1)
    with pytest.raises(ConfigurationError):
        timestamp(datetime(2026, 1, 1))  # naive on purpose
    assert literal(Decimal("1.10")) == "1.10"


@given(st.integers(1, 5000), st.sampled_from(["*", "Microsoft.Dynamics.CRM.totalrecordcount"]))
def test_preferences_round_trip(size: int, annotations: str) -> None:
    header = prefer(maxpagesize=size, annotations=annotations, return_representation=True)
    parsed = parse_preferences(header)
    assert parsed["odata.maxpagesize"] == str(size)
    assert parsed["odata.include-annotations"] == annotations
    assert "return" in parsed


def test_counts_report_the_cap_honestly() -> None:
    assert read_count({"value": []}) is None
    assert read_count({"@odata.count": 4999}, cap=5000) == ODataCount(4999, capped=False)
    assert read_count({"@odata.count": 5000}, cap=5000) == ODataCount(5000, capped=None)
    with pytest.raises(ResponseFormatError):
        read_count({"@odata.count": "12"})


def test_keyset_filter_shapes() -> None:
    assert keyset_filter("m", "i", after=None, before=None) is None
    assert keyset_filter("m", "i", after=None, before="T") == "m lt T"


class _Server:
    """An OData service over rows (ts, id) that pages with an opaque next link encoding the
    last key, like a paging cookie."""

    def __init__(self, rows: list[tuple[str, str]], page: int) -> None:
        self.rows = rows
        self.page = page
        self.requests: list[str] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        raw = request.url.raw_path.decode()
        self.requests.append(raw)
        q = {k: v[-1] for k, v in parse_qs(raw.partition("?")[2]).items()}
        flt = q.get("$filter", "")
        after = None
        if "gt" in flt:
            ts = flt.split("m gt ")[1].split(" ")[0]
            ident = flt.split("i gt ")[1].split(")")[0].strip("'")
            after = (ts, ident)
        before = flt.split("m lt ")[1].split(")")[0] if "m lt " in flt else "9"
        if "$skiptoken" in q:
            after = tuple(json.loads(unquote(q["$skiptoken"])))
        rows = sorted(r for r in self.rows if r[0] < before and (after is None or r > after))
        page, rest = rows[: self.page], rows[self.page :]
        body: dict[str, Any] = {"value": [{"m": ts, "i": i} for ts, i in page]}
        if rest:
            base = raw.split("&$skiptoken")[0]
            token = json.dumps(list(page[-1]))
            body["@odata.nextLink"] = f"https://svc.example{base}&$skiptoken={token}"
        return httpx2.Response(200, json=body)


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(
                ["2026-01-01T00:00:01Z", "2026-01-01T00:00:02Z", "2026-01-01T00:00:03Z"]
            ),
            st.text("abcdef0123", min_size=1, max_size=4),
        ),
        unique=True,
        max_size=30,
    ),
    page=st.integers(1, 6),
    stop=st.integers(0, 6),
)
def test_keyset_walk_yields_every_row_once_and_resumes_anywhere(
    rows: list[tuple[str, str]], page: int, stop: int
) -> None:
    clock = SimClock(start=datetime(2026, 1, 2, tzinfo=UTC))
    server = _Server(rows, page)
    client = ApiClient(
        base_url="https://svc.example/api/", transport=httpx2.MockTransport(server), clock=clock
    )
    strategy = ODataKeyset(
        "things",
        ODataQuery(select=("m", "i")),
        timestamp_field="m",
        id_field="i",
        id_literal=literal,
    )
    full = [(r["m"], r["i"]) for r in Pager(client, strategy)]
    assert full == sorted(rows)
    assert all("$skip=" not in unquote(t) for t in server.requests)
    # Resume from the cursor saved after `stop` pages: the rest of the walk, nothing else.
    pager = Pager(client, strategy)
    head: list[tuple[str, str]] = []
    pages = pager.iter_pages()
    for _ in range(stop):
        got = next(pages, None)
        if got is None:
            break
        head.extend((r["m"], r["i"]) for r in got.items)
    next(pages, None)
    cursor = json.loads(json.dumps(pager.cursor))
    if pager.done:
        return
    tail = [(r["m"], r["i"]) for r in Pager(client, strategy, cursor=cursor)]
    assert head + tail == full


def test_a_walk_after_the_horizon_leaves_new_rows_to_the_next_run() -> None:
    clock = SimClock(start=datetime(2026, 1, 1, 0, 0, 2, tzinfo=UTC))
    rows = [("2026-01-01T00:00:01Z", "a"), ("2026-01-01T00:00:03Z", "b")]
    server = _Server(rows, 5)
    client = ApiClient(
        base_url="https://svc.example/api/", transport=httpx2.MockTransport(server), clock=clock
    )
    strategy = ODataKeyset(
        "things", timestamp_field="m", id_field="i", id_literal=literal, lag=timedelta(0)
    )
    pager = Pager(client, strategy)
    assert [r["i"] for r in pager] == ["a"]
    clock.advance(5)
    assert [r["i"] for r in Pager(client, strategy, cursor=pager.cursor)] == ["b"]


def test_a_keyset_that_does_not_advance_is_an_error() -> None:
    s = ODataKeyset("x", timestamp_field="m", id_field="i")
    cursor = {"after": ["2026-01-02T00:00:00Z", "b"], "horizon": "z", "next": None}
    with pytest.raises(ResponseFormatError, match="did not advance"):
        s.step(cursor, {"value": [{"m": "2026-01-01T00:00:00Z", "i": "c"}]})
    with pytest.raises(ResponseFormatError, match="empty page"):
        s.step(cursor, {"value": [], "@odata.nextLink": "https://svc.example/x"})
