"""Pagination strategies and pagers against stateless fake servers (MockTransport handlers)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from erpsa_sdk.errors import ConfigurationError, ResponseFormatError, SecurityError
from erpsa_sdk.http import (
    ApiClient,
    KeysetSeek,
    NextLink,
    OffsetLimit,
    PageNumber,
    Pager,
    PageStrategy,
)
from erpsa_sdk.models import Rejected
from tests.erpsa_sdk.http._fakes import StepClock

BASE = "https://acme.api.example/v1"
Handler = Callable[[httpx2.Request], httpx2.Response]


def rows(total: int) -> list[dict[str, Any]]:
    # 10 % of rows share one timestamp so keyset ties span pages.
    return [
        {"id": i, "modified": f"2026-01-01T00:00:{(i // 10) if i % 10 else 0:02d}Z"}
        for i in range(total)
    ]


def sort_keyset(data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(data, key=lambda r: (r["modified"], r["id"]))


def offset_server(data: list[dict[str, Any]], cap: int | None = None) -> Handler:
    def handler(request: httpx2.Request) -> httpx2.Response:
        offset, limit = int(request.url.params["offset"]), int(request.url.params["limit"])
        limit = min(limit, cap or limit)
        chunk = data[offset : offset + limit]
        return httpx2.Response(
            200, json={"items": chunk, "hasMore": offset + len(chunk) < len(data)}
        )

    return handler


def page_server(data: list[dict[str, Any]]) -> Handler:
    def handler(request: httpx2.Request) -> httpx2.Response:
        page, per = int(request.url.params["page"]), int(request.url.params["per_page"])
        pages = -(-len(data) // per)
        chunk = data[(page - 1) * per : page * per]
        return httpx2.Response(200, json={"items": chunk, "meta": {"total_pages": pages}})

    return handler


def link_server(data: list[dict[str, Any]], size: int, style: str) -> Handler:
    """OData v4 (absolute link), OData v2 (relative d.__next), records (absolute-path)."""

    def handler(request: httpx2.Request) -> httpx2.Response:
        start = int(request.url.params.get("skip", 0))
        chunk = data[start : start + size]
        more = start + size < len(data)
        nxt = start + size
        if style == "v4":
            body: dict[str, Any] = {"value": chunk}
            if more:
                body["@odata.nextLink"] = f"{BASE}/Things?skip={nxt}"
        elif style == "v2":
            body = {"d": {"results": chunk, **({"__next": f"Things?skip={nxt}"} if more else {})}}
        else:
            body = {"records": chunk, "done": not more}
            if more:
                body["nextRecordsUrl"] = f"/v1/Things?skip={nxt}"
        return httpx2.Response(200, json=body)

    return handler


def keyset_server(data: list[dict[str, Any]]) -> Handler:
    ordered = sort_keyset(data)

    def handler(request: httpx2.Request) -> httpx2.Response:
        p = request.url.params
        limit = int(p["limit"])
        after = (p["after_modified"], int(p["after_id"])) if "after_modified" in p else None
        out = [
            r
            for r in ordered
            if (after is None or (r["modified"], r["id"]) > after)
            and r["modified"] < "9999"  # horizon: all fixture rows are before it
        ][:limit]
        return httpx2.Response(200, json={"items": out})

    return handler


def client(handler: Handler, **kw: Any) -> ApiClient:
    return ApiClient(
        base_url=BASE, transport=httpx2.MockTransport(handler), clock=StepClock(), **kw
    )


def strategies(size: int) -> dict[str, tuple[PageStrategy, Callable[[list[Any]], Handler]]]:
    return {
        "offset": (OffsetLimit("/things", limit=size), offset_server),
        "offset-capped": (
            OffsetLimit("/things", limit=size + 5),
            lambda d: offset_server(d, cap=size),
        ),
        "page": (PageNumber("/things", per_page=size), page_server),
        "odata-v4": (
            NextLink("/Things", items="value", next="@odata.nextLink"),
            lambda d: link_server(d, size, "v4"),
        ),
        "odata-v2": (
            NextLink("/Things", items=("d", "results"), next=("d", "__next")),
            lambda d: link_server(d, size, "v2"),
        ),
        "records-url": (
            NextLink("/Things", items="records", next="nextRecordsUrl"),
            lambda d: link_server(d, size, "records"),
        ),
        "keyset": (KeysetSeek("/things", limit=size), keyset_server),
    }


@pytest.mark.parametrize("name", list(strategies(1)))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(total=st.integers(0, 60), size=st.integers(1, 12))
def test_every_item_exactly_once_in_order(name: str, total: int, size: int) -> None:
    strategy, server = strategies(size)[name]
    data = rows(total)
    if name == "keyset":
        data = sort_keyset(data)
    pager = Pager(client(server(data)), strategy)
    assert list(pager) == data
    assert pager.done
    json.dumps(pager.cursor)  # JSON-able at the end too


@pytest.mark.parametrize("name", ["offset", "page", "keyset"])
def test_resume_from_a_saved_cursor_mid_walk(name: str) -> None:
    strategy, server = strategies(4)[name]
    data = rows(30)
    if name == "keyset":
        data = sort_keyset(data)
    first = Pager(client(server(data)), strategy)
    pages = first.iter_pages()
    p1, p2 = next(pages), next(pages)
    # The pager's own cursor moves only when the consumer asks past a page; a runner that
    # processed a page persists page.cursor.
    assert first.cursor == p1.cursor
    saved = json.loads(json.dumps(p2.cursor))
    got = p1.items + p2.items
    rest = list(Pager(client(server(data)), strategy, cursor=saved))
    assert got + rest == data


# --- guards ------------------------------------------------------------------------------------


def repeating_servers() -> dict[str, tuple[PageStrategy, Handler]]:
    data = rows(10)

    def offset_repeats(request: httpx2.Request) -> httpx2.Response:
        offset = min(int(request.url.params["offset"]), 5)  # out of range -> last page again
        return httpx2.Response(200, json={"items": data[offset : offset + 5], "hasMore": True})

    def page_repeats(request: httpx2.Request) -> httpx2.Response:
        page = min(int(request.url.params["page"]), 2)  # claims 9 pages, has 2
        chunk = data[(page - 1) * 5 : page * 5]
        return httpx2.Response(200, json={"items": chunk, "meta": {"total_pages": 9}})

    def link_repeats(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            200, json={"value": data[:5], "@odata.nextLink": f"{BASE}/Things?skip=5"}
        )

    def keyset_ignores_filter(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json={"items": sort_keyset(data)[:5]})

    return {
        "offset": (OffsetLimit("/t", limit=5), offset_repeats),
        "page": (PageNumber("/t", per_page=5), page_repeats),
        "next-link": (NextLink("/Things"), link_repeats),
        "keyset": (KeysetSeek("/t", limit=5), keyset_ignores_filter),
    }


@pytest.mark.parametrize("name", list(repeating_servers()))
def test_a_server_repeating_its_last_page_raises_instead_of_looping(name: str) -> None:
    strategy, handler = repeating_servers()[name]
    calls = []

    def counting(request: httpx2.Request) -> httpx2.Response:
        calls.append(request)
        return handler(request)

    pager = Pager(client(counting), strategy)
    with pytest.raises(ResponseFormatError, match=r"same page twice|loops|did not advance"):
        list(pager)
    assert len(calls) <= 3


def test_max_pages_guard() -> None:
    pager = Pager(client(offset_server(rows(50))), OffsetLimit("/t", limit=5), max_pages=3)
    with pytest.raises(ResponseFormatError, match="max_pages=3"):
        list(pager)
    assert pager.pages_read == 3
    with pytest.raises(ConfigurationError):
        Pager(client(offset_server([])), OffsetLimit("/t"), max_pages=0)


def test_has_more_without_items_and_bad_shapes_are_errors() -> None:
    def liar(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json={"items": [], "hasMore": True})

    with pytest.raises(ResponseFormatError, match="sent none"):
        list(Pager(client(liar), OffsetLimit("/t")))

    def no_flag(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json={"items": [1]})

    with pytest.raises(ResponseFormatError, match="hasMore"):
        list(Pager(client(no_flag), OffsetLimit("/t")))


def test_decisions_use_the_raw_page_not_the_valid_count() -> None:
    class Row(BaseModel):
        id: int

    data = [{"id": i} if i % 3 else {"id": "bad"} for i in range(9)]
    pager = Pager(client(offset_server(data)), OffsetLimit("/t", limit=3), model=Row)
    out = list(pager)
    assert len(out) == 9
    assert sum(isinstance(x, Rejected) for x in out) == 3
    assert pager.cursor == {"offset": 9}


@pytest.mark.parametrize(
    "evil_link",
    [
        "https://evil.example/v1/Things?skip=5",
        "http://acme.api.example/v1/Things?skip=5",  # scheme downgrade
        "https://acme.api.example:8443/v1/Things?skip=5",  # other port
        "//evil.example/v1/Things?skip=5",  # scheme-relative
    ],
)
def test_next_link_to_another_origin_raises_and_sends_no_credential(evil_link: str) -> None:
    seen: list[tuple[str, str | None]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append((str(request.url), request.headers.get("Authorization")))
        return httpx2.Response(200, json={"value": [{"id": 1}], "@odata.nextLink": evil_link})

    auth = httpx2.BasicAuth("integration", "s3cr3t-password")
    pager = Pager(client(handler, auth=auth), NextLink("/Things"))
    got = []
    with pytest.raises(SecurityError, match="leaves the configured origin"):
        got.extend(pager)
    assert got == [{"id": 1}]  # the first page was handed over before the refusal
    assert len(seen) == 1
    assert seen[0][0].startswith(BASE)
    assert seen[0][1] is not None
    assert "s3cr3t" not in repr(pager)


# --- quarantine ----------------------------------------------------------------------------------


class Line(BaseModel):
    id: int
    amount: Decimal


def test_a_1000_item_page_with_two_bad_records_yields_998_and_2_rejected_in_one_request() -> None:
    data: list[dict[str, Any]] = [{"id": i, "amount": f"{i}.50"} for i in range(1000)]
    data[17] = {"id": 17, "amount": "not money"}
    data[933] = {"amount": "1.00"}  # no id
    requests = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        requests.append(request)
        return httpx2.Response(200, json={"items": data, "hasMore": False})

    pager = Pager(client(handler), OffsetLimit("/lines", limit=1000), model=Line)
    out = list(pager)
    assert len(requests) == 1
    good = [x for x in out if isinstance(x, Line)]
    bad = [x for x in out if isinstance(x, Rejected)]
    assert len(good) == 998
    assert len(bad) == 2
    assert [x.raw for x in bad] == [data[17], data[933]]
    assert bad[0].errors[0]["loc"] == ["amount"]
    assert isinstance(out[17], Rejected)
    assert isinstance(out[933], Rejected)
    assert good[0] == Line(id=0, amount=Decimal("0.50"))


def test_the_cursor_moves_past_a_page_only_after_its_rejects_were_handed_over() -> None:
    data = [{"id": i, "amount": "1"} for i in range(6)]
    data[2] = {"id": "x", "amount": "1"}
    pager = Pager(client(offset_server(data)), OffsetLimit("/lines", limit=3), model=Line)
    it = iter(pager)
    taken = [next(it), next(it)]
    assert pager.cursor == {"offset": 0}
    taken.append(next(it))  # the Rejected one, last of page 1
    assert isinstance(taken[-1], Rejected)
    assert pager.cursor == {"offset": 0}  # still not moved: the consumer has not asked for more
    next(it)
    assert pager.cursor == {"offset": 3}


def test_rejected_source_ref_hook() -> None:
    from erpsa_sdk.models import SourceRef

    data = [{"id": "x", "amount": "1"}]

    def ref(raw: Any) -> SourceRef:
        return SourceRef(system="demo", tenant="acme", id=str(raw["id"]))

    pager = Pager(client(offset_server(data)), OffsetLimit("/lines"), model=Line, source_ref=ref)
    (item,) = list(pager)
    assert isinstance(item, Rejected)
    assert item.source_ref is not None
    assert item.source_ref.id == "x"


def test_repr_shows_what_it_pages_the_cursor_and_pages_read() -> None:
    pager = Pager(client(offset_server(rows(7))), OffsetLimit("/things", limit=5))
    assert repr(pager) == "<Pager OffsetLimit /things pages_read=0 cursor=null>"
    next(iter(pager.iter_pages()))
    assert "pages_read=0" in repr(pager)  # the first page is not handed over until asked past
    list(pager)
    assert repr(pager) == '<Pager OffsetLimit /things pages_read=2 cursor={"offset": 7} done>'


def test_keyset_start_fixes_a_horizon_and_resume_starts_a_new_walk() -> None:
    s = KeysetSeek("/t", limit=2)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    c = s.start(None, now=t0)
    assert c == {"after": None, "horizon": t0.isoformat()}
    mid = s.start({"after": ["a", 1], "horizon": "h"}, now=t0)
    assert mid["horizon"] == "h"  # mid-walk resume keeps its horizon
    done = s.start({"after": ["a", 1], "horizon": None}, now=t0)
    assert done == {"after": ["a", 1], "horizon": t0.isoformat()}
    with pytest.raises(ConfigurationError):
        s.request(None)


# --- async twin ----------------------------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(total=st.integers(0, 40), size=st.integers(1, 9))
def test_async_pager_every_item_exactly_once(total: int, size: int) -> None:
    import asyncio

    from erpsa_sdk.http import AsyncApiClient, AsyncPager

    data = rows(total)
    sync_handler = link_server(data, size, "v2")

    async def handler(request: httpx2.Request) -> httpx2.Response:
        return sync_handler(request)

    async def main() -> tuple[list[Any], int]:
        async with AsyncApiClient(base_url=BASE, transport=httpx2.MockTransport(handler)) as c:
            pager: AsyncPager[Any] = AsyncPager(
                c, NextLink("/Things", items=("d", "results"), next=("d", "__next"))
            )
            return [x async for x in pager], pager.pages_read

    got, pages = asyncio.run(main())
    assert got == data
    assert pages == max(1, -(-total // size))


def test_async_pager_refuses_a_foreign_next_link() -> None:
    import asyncio

    from erpsa_sdk.http import AsyncApiClient

    hosts: list[str] = []

    async def handler(request: httpx2.Request) -> httpx2.Response:
        hosts.append(request.url.host)
        return httpx2.Response(200, json={"value": [1], "@odata.nextLink": "https://evil.example/"})

    async def main() -> None:
        async with AsyncApiClient(
            base_url=BASE, auth=httpx2.BasicAuth("u", "p"), transport=httpx2.MockTransport(handler)
        ) as c:
            async for _ in c.paginate(NextLink("/Things")):
                pass

    with pytest.raises(SecurityError):
        asyncio.run(main())
    assert hosts == ["acme.api.example"]


def test_page_decisions_are_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG", logger="erpsa_sdk.http")
    list(Pager(client(offset_server(rows(5))), OffsetLimit("/t", limit=3)))
    pages = [r.getMessage() for r in caplog.records if "OffsetLimit page" in r.getMessage()]
    assert pages == [
        'OffsetLimit page 1: 3 raw items, 0 rejected, next {"offset": 3}',
        'OffsetLimit page 2: 2 raw items, 0 rejected, next {"offset": 5} (last page)',
    ]


def test_a_next_link_cycle_is_detected() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        skip = int(request.url.params.get("skip", 0))
        nxt = {0: 1, 1: 2, 2: 1}[skip]  # 0 -> 1 -> 2 -> 1 -> ...
        return httpx2.Response(
            200, json={"value": [skip, nxt], "@odata.nextLink": f"{BASE}/Things?skip={nxt}"}
        )

    with pytest.raises(ResponseFormatError, match="loops"):
        list(Pager(client(handler), NextLink("/Things")))
